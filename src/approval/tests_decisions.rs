//! Table tests of decisions: deny, coverage, timeout, acknowledgements and explanations.

use super::testkit::*;
use super::*;
use crate::policy::Coverage;

#[test]
fn an_eligible_deny_ends_the_request_at_once() {
    let r = rule(2, &["@bob", "@carol", "@dave"], Coverage::Any);
    let req = request(&[SRC]);
    let o = run(
        &r,
        &req,
        vec![
            comment(1, "bob", "/approve", 1),
            comment(2, "carol", "/deny breaks prod", 2),
            comment(3, "carol", "/approve", 3),
            comment(4, "dave", "/approve", 4),
        ],
        vec![],
        5,
    );
    assert!(matches!(o.decision, Decision::Denied { .. }));
    let Decision::Denied {
        login,
        reason,
        at: when,
        ..
    } = &o.decision
    else {
        panic!()
    };
    assert_eq!(
        (login.as_str(), reason.as_deref(), *when),
        ("carol", Some("breaks prod"), at(2, 0))
    );
    assert_eq!(
        o.explanation.events[2].status,
        explain::Status::AfterDecision
    );
    // An edited deny still stands (fail closed); an ineligible deny does not count.
    let mut edited = comment(2, "carol", "/deny", 2);
    edited.updated_at = at(3, 0);
    let o = run(&r, &req, vec![edited], vec![], 5);
    assert!(matches!(o.decision, Decision::Denied { .. }));
    let o = run(
        &r,
        &req,
        vec![
            comment(2, "eve", "/deny", 2),
            comment(3, "bob", "/approve", 3),
            comment(4, "dave", "/approve", 4),
        ],
        vec![],
        5,
    );
    assert_eq!(approved_by(&o), ["bob", "dave"]);
    assert!(matches!(refusal(&o, 2), Refusal::Permission { .. }));
    // A deny after the approval was granted does not revoke it.
    let o = run(
        &r,
        &req,
        vec![
            comment(3, "bob", "/approve", 3),
            comment(4, "dave", "/approve", 4),
            comment(5, "carol", "/deny", 5),
        ],
        vec![],
        6,
    );
    assert_eq!(approved_by(&o), ["bob", "dave"]);
}

#[test]
fn codeowners_all_needs_every_path_covered() {
    let r = rule(1, &[], Coverage::All);
    let req = request(&[SRC, DOCS]);
    let o = run(&r, &req, vec![comment(1, "bob", "/approve", 1)], vec![], 2);
    let Decision::Pending {
        missing,
        uncovered,
        suggest,
        ..
    } = &o.decision
    else {
        panic!()
    };
    assert_eq!(
        (*missing, uncovered.as_slice(), suggest.as_slice()),
        (
            0,
            &["docs/a.md".to_string()][..],
            &["@acme/docs".to_string()][..]
        )
    );
    let o = run(
        &r,
        &req,
        vec![
            comment(1, "bob", "/approve", 1),
            comment(2, "carol", "/approve", 2),
        ],
        vec![],
        3,
    );
    assert_eq!(approved_by(&o), ["bob", "carol"]);
    // An unowned path is covered by any counted approver; an email-only path never.
    let o = run(
        &r,
        &request(&[SRC, ("x", &[])]),
        vec![comment(1, "bob", "/approve", 1)],
        vec![],
        2,
    );
    assert_eq!(approved_by(&o), ["bob"]);
    let req = request(&[SRC, ("y", &["ops@example.com"])]);
    let o = run(&r, &req, vec![comment(1, "bob", "/approve", 1)], vec![], 2);
    assert_eq!(missing_of(&o), 0);
    assert!(
        o.explanation
            .notes
            .iter()
            .any(|n| n.contains("never be met"))
    );
}

#[test]
fn listed_approvers_plus_codeowners_all_like_the_production_example() {
    let r = rule(2, &["@acme/sre"], Coverage::All);
    let req = request(&[SRC]);
    let sre = || {
        vec![
            comment(1, "sre1", "/approve", 1),
            comment(2, "sre2", "/approve", 2),
        ]
    };
    let o = run(&r, &req, sre(), vec![], 3);
    let Decision::Pending {
        missing,
        uncovered,
        suggest,
        ..
    } = &o.decision
    else {
        panic!()
    };
    assert_eq!(
        (*missing, uncovered.len(), suggest[0].as_str()),
        (0, 1, "@bob")
    );
    let o = run(
        &r,
        &req,
        [sre(), vec![comment(3, "bob", "/approve", 3)]].concat(),
        vec![],
        4,
    );
    assert_eq!(approved_by(&o), ["sre1", "sre2", "bob"]);
    // The owner covers his path but does not count toward the two approvals.
    let o = run(
        &r,
        &req,
        vec![
            comment(1, "sre1", "/approve", 1),
            comment(3, "bob", "/approve", 3),
        ],
        vec![],
        4,
    );
    assert_eq!(missing_of(&o), 1);
}

#[test]
fn timeout_expires_and_late_events_never_count() {
    let r = rule(1, &[], Coverage::Any);
    let req = request(&[SRC]);
    let o = run(&r, &req, vec![], vec![], 29);
    assert_eq!(missing_of(&o), 1);
    let o = run(
        &r,
        &req,
        vec![comment(1, "bob", "/approve", 30)],
        vec![],
        31,
    );
    assert_eq!(
        o.decision,
        Decision::Expired {
            deadline: at(30, 0)
        }
    );
    assert!(matches!(o.decision, Decision::Expired { .. }));
    // Decided before the deadline: still approved when asked later.
    let o = run(
        &r,
        &req,
        vec![comment(1, "bob", "/approve", 29)],
        vec![],
        90,
    );
    assert_eq!(approved_by(&o), ["bob"]);
}

#[test]
fn acks_cover_command_comments_only_and_explanations_serialise() {
    let r = rule(1, &[], Coverage::Any);
    let req = request(&[SRC]);
    let o = run(
        &r,
        &req,
        vec![
            comment(1, "bob", "looks good", 1),
            comment(2, "eve", "/approve", 2),
            comment(3, "bob", "> /approve\nnot /approve", 2),
        ],
        vec![],
        3,
    );
    assert_eq!(o.acknowledgements.len(), 1);
    assert_eq!(o.explanation.ignored, 2);
    let json = serde_json::to_value(&o).expect("serialises");
    assert_eq!(json["decision"]["decision"], "pending");
    assert_eq!(json["acknowledgements"][0]["ack"], "refused");
    assert_eq!(
        json["acknowledgements"][0]["reason"]["refusal"],
        "permission"
    );
    assert_eq!(json["explanation"]["events"][0]["status"], "refused");
    let message = "@eve has read permission on the repository; write or higher is needed";
    assert_eq!(json["acknowledgements"][0]["message"], message);
    assert_eq!(json["explanation"]["events"][0]["message"], message);
    let text = o.explanation.render();
    assert!(text.contains("@eve has read permission"), "{text}");
    assert!(
        text.contains("1 more approver needed") && text.contains("ask @bob"),
        "{text}"
    );
}

#[test]
fn permission_and_review_state_parsing() {
    assert_eq!("WRITE".parse::<Permission>(), Ok(Permission::Write));
    assert_eq!("push".parse::<Permission>(), Ok(Permission::Write));
    assert!("custom-role".parse::<Permission>().is_err());
    assert!(Permission::Triage < Permission::Write && Permission::Maintain > Permission::Write);
    assert_eq!(
        ReviewState::from_api("changes_requested"),
        ReviewState::ChangesRequested
    );
    assert_eq!(ReviewState::from_api("DISMISSED"), ReviewState::Dismissed);
}

#[test]
fn the_flow_is_told_whose_facts_and_which_teams_to_resolve() {
    let mut bot = comment(3, "renovate[bot]", "/approve", 1);
    bot.author.is_bot = true;
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
    let r = rule(1, &[], Coverage::Any);
    let req = request(&[SRC]);
    let o = run(&r, &req, vec![comment(1, "bob", "/approve", 1)], vec![], 2);
    assert!(
        o.explanation
            .summary
            .starts_with("approved by @bob; valid until 2026-11-25T12:16:00Z")
    );
    let o = run(
        &r,
        &req,
        vec![comment(1, "bob", "/deny not today", 1)],
        vec![],
        2,
    );
    assert_eq!(o.explanation.summary, "denied by @bob: not today");
    let ended = Conclusion::of(&o.decision, std::time::Duration::from_secs(60), Utc::now());
    assert_eq!(
        (
            ended.code(),
            ended.reason(&o.explanation.summary).as_deref()
        ),
        (crate::exit::Code::Denied, Some("not today"))
    );
    let o = run(&r, &req, vec![], vec![], 31);
    assert_eq!(
        o.explanation.summary,
        "expired at 2026-11-25T12:30:00Z with no decision"
    );
    assert!(
        o.explanation
            .render()
            .contains("path src/lib.rs (@bob): not covered")
    );
}
