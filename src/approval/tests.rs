//! Table tests of eligibility and counting: refusals, approvers, reviews, latest-wins.
//! Each test is a table of [`Case`]s (given a rule and a request, these events, decided
//! at this minute: expect this); a failure names its case.

use super::testkit::Expect::*;
use super::testkit::*;
use super::*;
use crate::policy::{Coverage, Rule};

#[test]
fn a_code_owner_approves_and_the_grant_lasts_ttl_from_that_event() {
    let rule = rule(1, &[], Coverage::Any);
    let request = request(&[SRC]);
    check(vec![Case {
        name: "bob owns the path and approves at minute 3",
        rule: &rule,
        request: &request,
        comments: vec![comment(10, "bob", "/approve", 3)],
        reviews: vec![],
        now: 5,
        expect: vec![
            Approved(&["bob"]),
            Auto(false),
            ApprovedAt(3),
            ValidUntil(18),
            FirstVia(Via::Comment),
            ExitCode(crate::exit::Code::Ok),
            FirstAck(AckVerdict::Accepted),
        ],
    }]);
}

#[test]
fn zero_approvals_is_auto_approved_at_posting() {
    let rule = rule(0, &[], Coverage::All);
    let request = request(&[("x", &[])]);
    check(vec![Case {
        name: "approvals: 0, nobody said anything",
        rule: &rule,
        request: &request,
        comments: vec![],
        reviews: vec![],
        now: 0,
        expect: vec![
            Auto(true),
            ApprovedAt(0),
            ValidUntil(15),
            RecordWord(Some("auto")),
        ],
    }]);
}

#[test]
fn refusals_name_their_reason() {
    let rule = rule(1, &[], Coverage::Any);
    let request = request(&[SRC]);
    // Each comment alone, decided after the deadline: refused, so the request expired.
    let refused = |name, c: Comment, is: fn(&Refusal) -> bool| Case {
        name,
        rule: &rule,
        request: &request,
        expect: vec![Refused(c.id, is), Expired(30)],
        comments: vec![c],
        reviews: vec![],
        now: 40,
    };
    check(vec![
        refused(
            "before the request",
            comment(1, "bob", "/approve", -1),
            |r| matches!(r, Refusal::BeforeRequest { .. }),
        ),
        refused("at the deadline", comment(2, "bob", "/approve", 30), |r| {
            matches!(r, Refusal::AfterDeadline { .. })
        }),
        refused("edited", edited(comment(4, "bob", "/approve", 2), 3), |r| {
            matches!(r, Refusal::Edited { .. })
        }),
        refused(
            "an author GitHub marks as a bot",
            from_bot(comment(5, "bob", "/approve", 2)),
            |r| matches!(r, Refusal::Bot { .. }),
        ),
        refused(
            "a [bot] login",
            comment(6, "dependabot[bot]", "/approve", 2),
            |r| matches!(r, Refusal::Bot { .. }),
        ),
        refused("the requester", comment(7, "alice", "/approve", 2), |r| {
            matches!(
                r,
                Refusal::SelfApproval {
                    role: eligibility::SelfRole::Requester,
                    ..
                }
            )
        }),
        refused(
            "the actor, in another case",
            comment(8, "CI-Runner", "/approve", 2),
            |r| {
                matches!(
                    r,
                    Refusal::SelfApproval {
                        role: eligibility::SelfRole::Actor,
                        ..
                    }
                )
            },
        ),
        refused("read permission", comment(9, "eve", "/approve", 2), |r| {
            matches!(
                r,
                Refusal::Permission {
                    permission: Permission::Read,
                    ..
                }
            )
        }),
        refused(
            "no facts about the login",
            comment(11, "mallory", "/approve", 2),
            |r| matches!(r, Refusal::Unresolved { .. }),
        ),
        refused(
            "facts without a permission",
            comment(12, "ghost", "/approve", 2),
            |r| matches!(r, Refusal::Unresolved { .. }),
        ),
        refused(
            "not a code owner of the path",
            comment(13, "dave", "/approve", 2),
            |r| matches!(r, Refusal::NotApprover { .. }),
        ),
        refused(
            "addressed to another request",
            comment(14, "bob", &format!("/approve {OTHER_ID}"), 2),
            |r| matches!(r, Refusal::OtherRequest { .. }),
        ),
    ]);
}

#[test]
fn same_second_as_the_request_counts_only_after_its_comment() {
    let rule = rule(1, &[], Coverage::Any);
    let unknown = request(&[SRC]);
    let known = Request {
        comment_id: Some(50),
        ..request(&[SRC])
    };
    let case = |name, request, id| Case {
        name,
        rule: &rule,
        request,
        comments: vec![comment(id, "bob", "/approve", 0)],
        reviews: vec![],
        now: 1,
        expect: vec![],
    };
    check(vec![
        Case {
            expect: vec![Approved(&["bob"])],
            ..case("the request's comment id unknown", &unknown, 50)
        },
        Case {
            expect: vec![Refused(50, |r| matches!(r, Refusal::BeforeRequest { .. }))],
            ..case("the request's own comment", &known, 50)
        },
        Case {
            expect: vec![Approved(&["bob"])],
            ..case("a later comment id in the same second", &known, 51)
        },
    ]);
}

#[test]
fn self_approval_allows_the_requester_when_on() {
    let off = rule(1, &["@alice"], Coverage::Any);
    let on = Rule {
        self_approval: true,
        ..off.clone()
    };
    let request = request(&[SRC]);
    let case = |name, rule, expect| Case {
        name,
        rule,
        request: &request,
        comments: vec![comment(1, "alice", "/approve", 1)],
        reviews: vec![],
        now: 2,
        expect,
    };
    check(vec![
        case("self_approval off", &off, vec![Missing(1)]),
        case("self_approval on", &on, vec![Approved(&["alice"])]),
    ]);
}

#[test]
fn listed_approvers_by_user_or_team_case_insensitively() {
    let rule = rule(2, &["@acme/sre", "@Bob"], Coverage::Any);
    let request = request(&[SRC]);
    check(vec![
        Case {
            name: "a team member and a listed user in other letter case",
            rule: &rule,
            request: &request,
            comments: vec![
                comment(1, "sre1", "/approve", 1),
                comment(2, "BOB", "/APPROVE", 4),
            ],
            reviews: vec![],
            now: 5,
            // Approved at the event that completed the quorum.
            expect: vec![Approved(&["sre1", "BOB"]), ApprovedAt(4)],
        },
        Case {
            name: "carol owns nothing listed: the reply says who the rule needs",
            rule: &rule,
            request: &request,
            comments: vec![comment(3, "carol", "/approve", 1)],
            reviews: vec![],
            now: 5,
            expect: vec![RefusalSays(3, &["@acme/sre", "@Bob"])],
        },
    ]);
}

#[test]
fn codeowners_by_user_or_team_and_emails_never_match() {
    let rule = rule(1, &[], Coverage::Any);
    let docs = request(&[DOCS]);
    let email = request(&[("src/x", &["bob@example.com"])]);
    check(vec![
        Case {
            name: "carol is in the owning team",
            rule: &rule,
            request: &docs,
            comments: vec![comment(1, "carol", "/approve", 1)],
            reviews: vec![],
            now: 2,
            expect: vec![Approved(&["carol"])],
        },
        Case {
            name: "an email owner matches no login",
            rule: &rule,
            request: &email,
            comments: vec![comment(1, "bob", "/approve", 1)],
            reviews: vec![],
            now: 2,
            expect: vec![RefusalSays(1, &["email"]), Note("nobody can approve")],
        },
    ]);
}

#[test]
fn reviews_count_on_the_requests_sha_in_either_case() {
    let rule = rule(1, &[], Coverage::Any);
    let request = request(&[SRC]);
    let case = |name, review, expect| Case {
        name,
        rule: &rule,
        request: &request,
        comments: vec![],
        reviews: vec![review],
        now: 2,
        expect,
    };
    // Reviews get no comment acks.
    let counted = || vec![Approved(&["bob"]), FirstVia(Via::Review), Acks(0)];
    check(vec![
        case("APPROVED", review(1, "bob", "APPROVED", SHA, 1), counted()),
        case("approved", review(1, "bob", "approved", SHA, 1), counted()),
        case(
            "an approval of another commit",
            review(1, "bob", "APPROVED", "deadbeef", 1),
            vec![
                Missing(1),
                Event(0, |s| {
                    matches!(
                        s,
                        explain::Status::Refused {
                            reason: Refusal::OtherCommit { .. },
                            ..
                        }
                    )
                }),
            ],
        ),
        case(
            "a pending review, not submitted",
            Review {
                submitted_at: None,
                ..review(2, "bob", "PENDING", SHA, 1)
            },
            vec![Missing(1)],
        ),
    ]);
}

#[test]
fn changes_requested_withdraws_and_commented_does_not() {
    let rule = rule(2, &["@bob", "@carol"], Coverage::Any);
    let request = request(&[SRC]);
    // bob approves at 1, then reviews at 2; carol approves at 9.
    let case = |name, review, expect| Case {
        name,
        rule: &rule,
        request: &request,
        comments: vec![
            comment(1, "bob", "/approve", 1),
            comment(9, "carol", "/approve", 9),
        ],
        reviews: vec![review],
        now: 10,
        expect,
    };
    check(vec![
        case(
            "CHANGES_REQUESTED withdraws",
            review(2, "bob", "changes_requested", SHA, 2),
            vec![Missing(1)],
        ),
        case(
            "COMMENTED keeps",
            review(2, "bob", "COMMENTED", SHA, 2),
            vec![Approved(&["bob", "carol"])],
        ),
        case(
            "CHANGES_REQUESTED of another commit counts for nothing",
            review(2, "bob", "CHANGES_REQUESTED", "0ff", 2),
            vec![Approved(&["bob", "carol"])],
        ),
    ]);
}

#[test]
fn latest_command_wins_and_cancel_withdraws() {
    let rule = rule(2, &["@bob", "@carol"], Coverage::Any);
    let request = request(&[SRC]);
    let case = |name, comments, now, expect| Case {
        name,
        rule: &rule,
        request: &request,
        comments,
        reviews: vec![],
        now,
        expect,
    };
    check(vec![
        case(
            "cancel withdraws",
            vec![
                comment(1, "bob", "/approve", 1),
                comment(2, "bob", "/approve cancel", 2),
                comment(3, "carol", "/approve", 3),
            ],
            4,
            vec![Missing(1), Event(1, |s| *s == explain::Status::Withdrew)],
        ),
        case(
            "in the same second the comment id orders them",
            vec![
                comment(5, "bob", "/approve cancel", 1),
                comment(4, "bob", "/approve", 1),
                comment(6, "carol", "/approve", 3),
            ],
            4,
            vec![Missing(1)],
        ),
        case(
            "re-approving after a cancel counts again",
            vec![
                comment(1, "bob", "/approve", 1),
                comment(2, "bob", "/approve cancel", 2),
                comment(3, "bob", "/approve", 3),
                comment(4, "carol", "/approve", 4),
            ],
            5,
            vec![Approved(&["bob", "carol"])],
        ),
        case(
            "within one comment the last line wins",
            vec![
                comment(1, "bob", "/approve\n/approve cancel", 1),
                comment(2, "carol", "/approve", 2),
            ],
            3,
            vec![Missing(1)],
        ),
        case(
            "a last line addressed to another request does not count here",
            vec![
                comment(1, "bob", &format!("/approve\n/approve {OTHER_ID}"), 1),
                comment(2, "carol", "/approve", 2),
            ],
            3,
            vec![Approved(&["bob", "carol"])],
        ),
    ]);
}

#[test]
fn approvals_are_counted_per_distinct_person() {
    let rule = rule(2, &[], Coverage::Any);
    let request = request(&[SRC]);
    check(vec![Case {
        name: "bob by comment twice, by id in other case, and by review",
        rule: &rule,
        request: &request,
        comments: vec![
            comment(1, "bob", "/approve", 1),
            comment(2, "Bob", &format!("/approve {}", ID.to_lowercase()), 2),
            comment(1, "bob", "/approve", 1),
        ],
        reviews: vec![review(3, "bob", "APPROVED", SHA, 3)],
        now: 4,
        // One ack per comment id.
        expect: vec![Missing(1), Acks(2)],
    }]);
}
