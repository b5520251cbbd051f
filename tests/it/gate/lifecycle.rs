//! `jitaa gate` end to end, around the wait: cancellation, re-run reuse (within the TTL
//! and not after), the base's policy over the PR's, auto-approval, and pushes to a
//! protected branch without an approval (violation).

use std::time::Duration;

use crate::support::{POLICY, REPO, World};

#[test]
fn sigterm_while_waiting_records_cancelled_and_exits_1() {
    let w = World::new(POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    let gate = w.gate(&sha).spawn();
    w.wait_for_request(pr);
    let sent = std::time::Instant::now();
    gate.signal("TERM");
    let done = gate.finish();
    done.assert_code(1);
    assert!(sent.elapsed() < Duration::from_secs(5), "exits promptly");
    assert_eq!(done.outputs["decision"], "cancelled");
    let rec = w.last_record();
    assert_eq!(rec["decision"], "cancelled");
    assert!(rec["reason"].as_str().unwrap().contains("SIGTERM"));
    let checks = w.hub.check_runs(REPO, &sha);
    assert_eq!(checks[0].conclusion.as_deref(), Some("cancelled"));
    w.assert_verifies();
}

#[test]
fn a_rerun_reuses_the_approval_within_its_ttl() {
    let w = World::new(POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    let gate = w.gate(&sha).spawn();
    w.wait_for_request(pr);
    w.hub.comment_as("bob", REPO, pr, "/approve").unwrap();
    let first = gate.finish();
    first.assert_code(0);
    let records = w.records().len();

    let again = w.gate(&sha).attempt(2).run();
    again.assert_code(0);
    assert!(
        again.stdout.contains("reusing approval record"),
        "{}",
        again.stdout
    );
    assert_eq!(again.outputs["record-id"], first.outputs["record-id"]);
    assert_eq!(again.outputs["approvers"], "bob");
    assert!(again.summary.contains("reused"), "{}", again.summary);
    // No second request, no new record.
    assert_eq!(w.request_comments(pr), 1);
    assert_eq!(w.records().len(), records);
    w.assert_verifies();
}

#[test]
fn after_the_ttl_a_rerun_asks_again() {
    // A ttl long enough for a loaded 2-core machine to record the approval within it.
    let w = World::new(&POLICY.replace("ttl: 15m", "ttl: 4s"));
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    let gate = w.gate(&sha).spawn();
    w.wait_for_request(pr);
    w.hub.comment_as("bob", REPO, pr, "/approve").unwrap();
    gate.finish().assert_code(0);
    std::thread::sleep(Duration::from_millis(4500));

    let again = w.gate(&sha).attempt(2).arg("--timeout").arg("1s").run();
    again.assert_code(3);
    assert!(!again.stdout.contains("reusing"), "{}", again.stdout);
    assert_eq!(w.request_comments(pr), 2, "asked again");
    assert_eq!(w.last_record()["decision"], "expired");
    w.assert_verifies();
}

#[test]
fn a_policy_weakened_inside_the_pr_has_no_effect() {
    let w = World::new(POLICY);
    let weakened = "version: 1\naudit:\n  signing: [ssh]\ndefaults:\n  approvals: 0\n";
    let sha = w.commit(
        "feature",
        &[("src/app.rs", "v2\n"), (".github/jitaa.yml", weakened)],
    );
    let pr = w.open_pr(&sha, &["src/app.rs", ".github/jitaa.yml"]);
    let done = w.gate(&sha).arg("--timeout").arg("1s").run();
    done.assert_code(3);
    assert_eq!(w.bodies(pr).len(), 1, "a request was posted");
    let rec = w.last_record();
    assert_eq!(rec["rule"]["name"], "default");
    assert_eq!(rec["rule"]["approvals"], 1);
    w.assert_verifies();
}

#[test]
fn a_docs_only_change_is_approved_automatically_and_recorded() {
    let w = World::new(POLICY);
    let sha = w.commit("feature", &[("docs/guide.md", "v2\n")]);
    let pr = w.open_pr(&sha, &["docs/guide.md"]);
    let done = w.gate(&sha).run();
    done.assert_code(0);
    assert_eq!(done.outputs["decision"], "auto");
    assert!(w.bodies(pr).is_empty(), "nobody was asked");
    let rec = w.last_record();
    assert_eq!(rec["decision"], "auto");
    assert_eq!(rec["rule"]["name"], "docs-only");
    assert!(rec["expires_at"].is_string());
    w.assert_verifies();
}

#[test]
fn an_unapproved_push_to_main_is_a_violation() {
    let w = World::new(POLICY);
    let before = w.main.clone();
    let sha = w.commit("main", &[("src/app.rs", "v2\n")]);
    let done = w.gate(&sha).push_event(&sha, "main", &before).run();
    done.assert_code(1);
    assert!(done.stdout.contains("::error::"), "{}", done.stdout);
    assert_eq!(done.outputs["decision"], "violation");
    let rec = w.last_record();
    assert_eq!(rec["kind"], "violation");
    assert_eq!(rec["subject"]["ref"], "refs/heads/main");
    assert_eq!(rec["subject"]["sha"], sha.as_str());
    w.assert_verifies();
}

#[test]
fn a_push_to_an_unprotected_branch_is_gated_normally() {
    let w = World::new(POLICY);
    let before = w.main.clone();
    let sha = w.commit("topic", &[("docs/guide.md", "v2\n")]);
    let done = w.gate(&sha).push_event(&sha, "topic", &before).run();
    done.assert_code(0);
    assert_eq!(done.outputs["decision"], "auto");
    w.assert_verifies();
}
