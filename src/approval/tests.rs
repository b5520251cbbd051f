//! Table tests of eligibility and counting: refusals, approvers, reviews, latest-wins.

use super::testkit::*;
use super::*;
use crate::policy::Coverage;

#[test]
fn a_code_owner_approves_and_the_grant_lasts_ttl_from_that_event() {
    let o = run(
        &rule(1, &[], Coverage::Any),
        &request(&[SRC]),
        vec![comment(10, "bob", "/approve", 3)],
        vec![],
        5,
    );
    assert_eq!(approved_by(&o), ["bob"]);
    let Decision::Approved {
        approved_at,
        valid_until,
        auto,
        approvals,
    } = &o.decision
    else {
        unreachable!()
    };
    assert!(!auto);
    assert_eq!(*approved_at, at(3, 0));
    assert_eq!(*valid_until, at(18, 0));
    assert_eq!(approvals[0].via, Via::Comment);
    assert!(matches!(o.decision, Decision::Approved { .. }));
    assert_eq!(o.acknowledgements[0].verdict, AckVerdict::Accepted);
}

#[test]
fn zero_approvals_is_auto_approved_at_posting() {
    let o = run(
        &rule(0, &[], Coverage::All),
        &request(&[("x", &[])]),
        vec![],
        vec![],
        0,
    );
    let Decision::Approved {
        auto,
        approved_at,
        valid_until,
        ..
    } = o.decision
    else {
        panic!()
    };
    assert!(auto);
    assert_eq!((approved_at, valid_until), (at(0, 0), at(15, 0)));
    assert!(matches!(o.decision, Decision::Approved { auto: true, .. }));
}

#[test]
fn refusals_name_their_reason() {
    let r = rule(1, &[], Coverage::Any);
    let req = request(&[SRC]);
    let mut edited = comment(4, "bob", "/approve", 2);
    edited.updated_at = at(3, 0);
    let mut bot = comment(5, "bob", "/approve", 2);
    bot.author.is_bot = true;
    type Check = fn(&Refusal) -> bool;
    let cases: Vec<(Comment, Check)> = vec![
        (comment(1, "bob", "/approve", -1), |r| {
            matches!(r, Refusal::BeforeRequest { .. })
        }),
        (comment(2, "bob", "/approve", 30), |r| {
            matches!(r, Refusal::AfterDeadline { .. })
        }),
        (edited, |r| matches!(r, Refusal::Edited { .. })),
        (bot, |r| matches!(r, Refusal::Bot { .. })),
        (comment(6, "dependabot[bot]", "/approve", 2), |r| {
            matches!(r, Refusal::Bot { .. })
        }),
        (comment(7, "alice", "/approve", 2), |r| {
            matches!(
                r,
                Refusal::SelfApproval {
                    role: eligibility::SelfRole::Requester,
                    ..
                }
            )
        }),
        (comment(8, "CI-Runner", "/approve", 2), |r| {
            matches!(
                r,
                Refusal::SelfApproval {
                    role: eligibility::SelfRole::Actor,
                    ..
                }
            )
        }),
        (comment(9, "eve", "/approve", 2), |r| {
            matches!(
                r,
                Refusal::Permission {
                    permission: Permission::Read,
                    ..
                }
            )
        }),
        (comment(11, "mallory", "/approve", 2), |r| {
            matches!(r, Refusal::Unresolved { .. })
        }),
        (comment(12, "ghost", "/approve", 2), |r| {
            matches!(r, Refusal::Unresolved { .. })
        }),
        (comment(13, "dave", "/approve", 2), |r| {
            matches!(r, Refusal::NotApprover { .. })
        }),
        (
            comment(14, "bob", &format!("/approve {OTHER_ID}"), 2),
            |r| matches!(r, Refusal::OtherRequest { .. }),
        ),
    ];
    for (c, want) in cases {
        let id = c.id;
        let o = run(&r, &req, vec![c], vec![], 40);
        let reason = refusal(&o, id);
        assert!(want(&reason), "comment {id}: {reason:?}");
        assert!(!reason.to_string().is_empty());
        assert_eq!(
            o.decision,
            Decision::Expired {
                deadline: at(30, 0)
            },
            "comment {id}"
        );
    }
}

#[test]
fn same_second_as_the_request_counts_only_after_its_comment() {
    let r = rule(1, &[], Coverage::Any);
    let mut req = request(&[SRC]);
    let c = |id| comment(id, "bob", "/approve", 0);
    assert_eq!(approved_by(&run(&r, &req, vec![c(50)], vec![], 1)), ["bob"]);
    req.comment_id = Some(50);
    let o = run(&r, &req, vec![c(50)], vec![], 1);
    assert!(matches!(refusal(&o, 50), Refusal::BeforeRequest { .. }));
    assert_eq!(approved_by(&run(&r, &req, vec![c(51)], vec![], 1)), ["bob"]);
}

#[test]
fn self_approval_allows_the_requester_when_on() {
    let mut r = rule(1, &["@alice"], Coverage::Any);
    let req = request(&[SRC]);
    let o = run(
        &r,
        &req,
        vec![comment(1, "alice", "/approve", 1)],
        vec![],
        2,
    );
    assert_eq!(missing_of(&o), 1);
    r.self_approval = true;
    let o = run(
        &r,
        &req,
        vec![comment(1, "alice", "/approve", 1)],
        vec![],
        2,
    );
    assert_eq!(approved_by(&o), ["alice"]);
}

#[test]
fn listed_approvers_by_user_or_team_case_insensitively() {
    let r = rule(2, &["@acme/sre", "@Bob"], Coverage::Any);
    let req = request(&[SRC]);
    let o = run(
        &r,
        &req,
        vec![
            comment(1, "sre1", "/approve", 1),
            comment(2, "BOB", "/APPROVE", 4),
        ],
        vec![],
        5,
    );
    assert_eq!(approved_by(&o), ["sre1", "BOB"]);
    let Decision::Approved { approved_at, .. } = o.decision else {
        unreachable!()
    };
    assert_eq!(approved_at, at(4, 0), "the event that completed the quorum");
    // carol owns nothing listed: refused, and the reply says who the rule needs.
    let o = run(
        &r,
        &req,
        vec![comment(3, "carol", "/approve", 1)],
        vec![],
        5,
    );
    let reason = refusal(&o, 3).to_string();
    assert!(
        reason.contains("@acme/sre") && reason.contains("@Bob"),
        "{reason}"
    );
}

#[test]
fn codeowners_by_user_or_team_and_emails_never_match() {
    let r = rule(1, &[], Coverage::Any);
    let o = run(
        &r,
        &request(&[DOCS]),
        vec![comment(1, "carol", "/approve", 1)],
        vec![],
        2,
    );
    assert_eq!(approved_by(&o), ["carol"]);
    let req = request(&[("src/x", &["bob@example.com"])]);
    let o = run(&r, &req, vec![comment(1, "bob", "/approve", 1)], vec![], 2);
    assert!(refusal(&o, 1).to_string().contains("email"));
    assert!(
        o.explanation
            .notes
            .iter()
            .any(|n| n.contains("nobody can approve"))
    );
}

#[test]
fn reviews_count_on_the_requests_sha_in_either_case() {
    let r = rule(1, &[], Coverage::Any);
    let req = request(&[SRC]);
    for state in ["APPROVED", "approved"] {
        let o = run(&r, &req, vec![], vec![review(1, "bob", state, SHA, 1)], 2);
        assert_eq!(approved_by(&o), ["bob"]);
        let Decision::Approved { approvals, .. } = &o.decision else {
            unreachable!()
        };
        assert_eq!(approvals[0].via, Via::Review);
        assert!(o.acknowledgements.is_empty(), "reviews get no comment acks");
    }
    let o = run(
        &r,
        &req,
        vec![],
        vec![review(1, "bob", "APPROVED", "deadbeef", 1)],
        2,
    );
    assert_eq!(missing_of(&o), 1);
    assert!(matches!(
        o.explanation.events[0].status,
        explain::Status::Refused {
            reason: Refusal::OtherCommit { .. },
            ..
        }
    ));
    let mut pending = review(2, "bob", "PENDING", SHA, 1);
    pending.submitted_at = None;
    assert_eq!(missing_of(&run(&r, &req, vec![], vec![pending], 2)), 1);
}

#[test]
fn changes_requested_withdraws_and_commented_does_not() {
    let r = rule(2, &["@bob", "@carol"], Coverage::Any);
    let req = request(&[SRC]);
    let base = || vec![comment(1, "bob", "/approve", 1)];
    let carol = vec![comment(9, "carol", "/approve", 9)];
    let withdrawn = run(
        &r,
        &req,
        [base(), carol.clone()].concat(),
        vec![review(2, "bob", "changes_requested", SHA, 2)],
        10,
    );
    assert_eq!(missing_of(&withdrawn), 1);
    let kept = run(
        &r,
        &req,
        [base(), carol.clone()].concat(),
        vec![review(2, "bob", "COMMENTED", SHA, 2)],
        10,
    );
    assert_eq!(approved_by(&kept), ["bob", "carol"]);
    // A CHANGES_REQUESTED review of another commit counts for nothing.
    let other = run(
        &r,
        &req,
        [base(), carol].concat(),
        vec![review(2, "bob", "CHANGES_REQUESTED", "0ff", 2)],
        10,
    );
    assert_eq!(approved_by(&other), ["bob", "carol"]);
}

#[test]
fn latest_command_wins_and_cancel_withdraws() {
    let r = rule(2, &["@bob", "@carol"], Coverage::Any);
    let req = request(&[SRC]);
    let o = run(
        &r,
        &req,
        vec![
            comment(1, "bob", "/approve", 1),
            comment(2, "bob", "/approve cancel", 2),
            comment(3, "carol", "/approve", 3),
        ],
        vec![],
        4,
    );
    assert_eq!(missing_of(&o), 1);
    assert_eq!(o.explanation.events[1].status, explain::Status::Withdrew);
    // Same second: the comment id orders them.
    let o = run(
        &r,
        &req,
        vec![
            comment(5, "bob", "/approve cancel", 1),
            comment(4, "bob", "/approve", 1),
            comment(6, "carol", "/approve", 3),
        ],
        vec![],
        4,
    );
    assert_eq!(missing_of(&o), 1);
    // Re-approving after a cancel counts again.
    let o = run(
        &r,
        &req,
        vec![
            comment(1, "bob", "/approve", 1),
            comment(2, "bob", "/approve cancel", 2),
            comment(3, "bob", "/approve", 3),
            comment(4, "carol", "/approve", 4),
        ],
        vec![],
        5,
    );
    assert_eq!(approved_by(&o), ["bob", "carol"]);
    // Within one comment the last line addressed to this request wins.
    let o = run(
        &r,
        &req,
        vec![
            comment(1, "bob", "/approve\n/approve cancel", 1),
            comment(2, "carol", "/approve", 2),
        ],
        vec![],
        3,
    );
    assert_eq!(missing_of(&o), 1);
    let o = run(
        &r,
        &req,
        vec![
            comment(1, "bob", &format!("/approve\n/approve {OTHER_ID}"), 1),
            comment(2, "carol", "/approve", 2),
        ],
        vec![],
        3,
    );
    assert_eq!(approved_by(&o), ["bob", "carol"]);
}

#[test]
fn approvals_are_counted_per_distinct_person() {
    let r = rule(2, &[], Coverage::Any);
    let req = request(&[SRC]);
    let o = run(
        &r,
        &req,
        vec![
            comment(1, "bob", "/approve", 1),
            comment(2, "Bob", &format!("/approve {}", ID.to_lowercase()), 2),
            comment(1, "bob", "/approve", 1),
        ],
        vec![review(3, "bob", "APPROVED", SHA, 3)],
        4,
    );
    assert_eq!(missing_of(&o), 1);
    assert_eq!(o.acknowledgements.len(), 2, "one ack per comment id");
}
