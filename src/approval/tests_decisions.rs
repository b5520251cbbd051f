//! Table tests of decisions: deny, coverage, timeout, acknowledgements and explanations.
//! Each test is a table of [`Case`]s (given a rule and a request, these events, decided
//! at this minute: expect this); a failure names its case.

use super::testkit::Expect::*;
use super::testkit::*;
use super::*;
use crate::policy::Coverage;

#[test]
fn an_eligible_deny_ends_the_request_at_once() {
    let rule = rule(2, &["@bob", "@carol", "@dave"], Coverage::Any);
    let request = request(&[SRC]);
    let case = |name, comments, expect| Case {
        name,
        rule: &rule,
        request: &request,
        comments,
        reviews: vec![],
        now: 5,
        expect,
    };
    check(vec![
        case(
            "carol denies after bob approved; later approvals come after the decision",
            vec![
                comment(1, "bob", "/approve", 1),
                comment(2, "carol", "/deny breaks prod", 2),
                comment(3, "carol", "/approve", 3),
                comment(4, "dave", "/approve", 4),
            ],
            vec![
                ExitCode(crate::exit::Code::Denied),
                Denied {
                    login: "carol",
                    reason: Some("breaks prod"),
                    at: 2,
                },
                Event(2, |s| *s == explain::Status::AfterDecision),
            ],
        ),
        case(
            "an edited deny still stands (fail closed)",
            vec![edited(comment(2, "carol", "/deny", 2), 3)],
            vec![IsDenied],
        ),
        case(
            "an ineligible deny does not count",
            vec![
                comment(2, "eve", "/deny", 2),
                comment(3, "bob", "/approve", 3),
                comment(4, "dave", "/approve", 4),
            ],
            vec![
                Approved(&["bob", "dave"]),
                Refused(2, |r| matches!(r, Refusal::Permission { .. })),
            ],
        ),
        Case {
            now: 6,
            ..case(
                "a deny after the approval was granted does not revoke it",
                vec![
                    comment(3, "bob", "/approve", 3),
                    comment(4, "dave", "/approve", 4),
                    comment(5, "carol", "/deny", 5),
                ],
                vec![Approved(&["bob", "dave"])],
            )
        },
    ]);
}

#[test]
fn codeowners_all_needs_every_path_covered() {
    let rule = rule(1, &[], Coverage::All);
    let src_and_docs = request(&[SRC, DOCS]);
    let unowned = request(&[SRC, ("x", &[])]);
    let email = request(&[SRC, ("y", &["ops@example.com"])]);
    let bob = || vec![comment(1, "bob", "/approve", 1)];
    let case = |name, request, comments, now, expect| Case {
        name,
        rule: &rule,
        request,
        comments,
        reviews: vec![],
        now,
        expect,
    };
    check(vec![
        case(
            "bob covers src/ only",
            &src_and_docs,
            bob(),
            2,
            vec![
                Missing(0),
                Uncovered(&["docs/a.md"]),
                Suggest(&["@acme/docs"]),
            ],
        ),
        case(
            "carol covers docs/",
            &src_and_docs,
            [bob(), vec![comment(2, "carol", "/approve", 2)]].concat(),
            3,
            vec![Approved(&["bob", "carol"])],
        ),
        case(
            "an unowned path is covered by any counted approver",
            &unowned,
            bob(),
            2,
            vec![Approved(&["bob"])],
        ),
        case(
            "an email-only path never is",
            &email,
            bob(),
            2,
            vec![Missing(0), Note("never be met")],
        ),
    ]);
}

#[test]
fn listed_approvers_plus_codeowners_all_like_the_production_example() {
    let rule = rule(2, &["@acme/sre"], Coverage::All);
    let request = request(&[SRC]);
    let sre = || {
        vec![
            comment(1, "sre1", "/approve", 1),
            comment(2, "sre2", "/approve", 2),
        ]
    };
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
            "two from the team, the path's owner missing",
            sre(),
            3,
            vec![Missing(0), UncoveredCount(1), FirstSuggest("@bob")],
        ),
        case(
            "and the owner",
            [sre(), vec![comment(3, "bob", "/approve", 3)]].concat(),
            4,
            vec![Approved(&["sre1", "sre2", "bob"])],
        ),
        case(
            "the owner covers his path but does not count toward the two",
            vec![
                comment(1, "sre1", "/approve", 1),
                comment(3, "bob", "/approve", 3),
            ],
            4,
            vec![Missing(1)],
        ),
    ]);
}

#[test]
fn timeout_expires_and_late_events_never_count() {
    let rule = rule(1, &[], Coverage::Any);
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
            "nothing yet, before the deadline",
            vec![],
            29,
            vec![Missing(1)],
        ),
        case(
            "an approval at the deadline",
            vec![comment(1, "bob", "/approve", 30)],
            31,
            vec![Expired(30), ExitCode(crate::exit::Code::TimedOut)],
        ),
        case(
            "decided before the deadline: still approved when asked later",
            vec![comment(1, "bob", "/approve", 29)],
            90,
            vec![Approved(&["bob"])],
        ),
    ]);
}

#[test]
fn acks_cover_command_comments_only_and_explanations_serialise() {
    let rule = rule(1, &[], Coverage::Any);
    let request = request(&[SRC]);
    let message = "@eve has read permission on the repository; write or higher is needed";
    check(vec![Case {
        name: "a plain comment, eve's refused approval, and a quote",
        rule: &rule,
        request: &request,
        comments: vec![
            comment(1, "bob", "looks good", 1),
            comment(2, "eve", "/approve", 2),
            comment(3, "bob", "> /approve\nnot /approve", 2),
        ],
        reviews: vec![],
        now: 3,
        expect: vec![
            Acks(1),
            Ignored(2),
            Json("/decision/decision", "pending".into()),
            Json("/acknowledgements/0/ack", "refused".into()),
            Json("/acknowledgements/0/reason/refusal", "permission".into()),
            Json("/explanation/events/0/status", "refused".into()),
            Json("/acknowledgements/0/message", message.into()),
            Json("/explanation/events/0/message", message.into()),
            Renders(&["@eve has read permission"]),
            Renders(&["1 more approver needed", "ask @bob"]),
        ],
    }]);
}

#[test]
fn permission_and_review_state_parsing() {
    for (text, want) in [
        ("WRITE", Some(Permission::Write)),
        ("push", Some(Permission::Write)),
        ("custom-role", None),
    ] {
        assert_eq!(text.parse::<Permission>().ok(), want, "{text}");
    }
    assert!(Permission::Triage < Permission::Write && Permission::Maintain > Permission::Write);
    for (text, want) in [
        ("changes_requested", ReviewState::ChangesRequested),
        ("DISMISSED", ReviewState::Dismissed),
    ] {
        assert_eq!(ReviewState::from_api(text), want, "{text}");
    }
}

#[test]
fn the_flow_is_told_whose_facts_and_which_teams_to_resolve() {
    let bot = from_bot(comment(3, "renovate[bot]", "/approve", 1));
    let events = Events {
        comments: vec![
            comment(1, "Bob", "/approve", 1),
            comment(2, "zed", "hi", 1),
            bot,
        ],
        reviews: vec![
            review(4, "carol", "commented", SHA, 1),
            review(5, "dave", "APPROVED", SHA, 1),
        ],
    };
    assert_eq!(eligibility::logins_to_resolve(&events), ["bob", "dave"]);
    let r = rule(1, &["@Acme/SRE", "@bob"], Coverage::All);
    let teams = eligibility::teams_to_resolve(&r, &request(&[SRC, DOCS]));
    assert_eq!(
        teams,
        [
            ("acme".to_string(), "docs".to_string()),
            ("acme".to_string(), "sre".to_string())
        ]
    );
}

#[test]
fn summaries_say_who_and_why() {
    let rule = rule(1, &[], Coverage::Any);
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
            "approved",
            vec![comment(1, "bob", "/approve", 1)],
            2,
            vec![SummaryStarts(
                "approved by @bob; valid until 2026-11-25T12:16:00Z",
            )],
        ),
        case(
            "denied",
            vec![comment(1, "bob", "/deny not today", 1)],
            2,
            vec![
                Summary("denied by @bob: not today"),
                Fails(crate::exit::Code::Denied, "denied by @bob: not today"),
            ],
        ),
        case(
            "expired",
            vec![],
            31,
            vec![
                Summary("expired at 2026-11-25T12:30:00Z with no decision"),
                Renders(&["path src/lib.rs (@bob): not covered"]),
            ],
        ),
    ]);
}
