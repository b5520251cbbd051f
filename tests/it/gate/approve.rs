//! `jitaa gate` end to end, approvals: a real process against the stand-in and a real
//! bare origin; each test asserts the exit code, the step outputs, the record on
//! origin's audit branch, and that `jitaa audit verify` passes.

use crate::support::{BOT, POLICY, REPO, World};

#[test]
fn a_code_owner_approves_by_comment() {
    let w = World::new(POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    let gate = w.gate(&sha).spawn();
    let request = w.wait_for_request(pr);
    let c = w.hub.comment_as("bob", REPO, pr, "/approve").unwrap();
    let done = gate.finish();
    done.assert_code(0);

    assert_eq!(done.outputs["decision"], "approved");
    assert_eq!(done.outputs["approvers"], "bob");
    let rec = w.last_record();
    assert_eq!(rec["kind"], "decision");
    assert_eq!(rec["decision"], "approved");
    assert_eq!(rec["subject"]["sha"], sha.as_str());
    assert_eq!(rec["requester"]["login"], "alice");
    assert_eq!(rec["approvals"][0]["login"], "bob");
    assert_eq!(rec["approvals"][0]["via"], "comment");
    assert_eq!(rec["rule"]["name"], "default");
    assert_eq!(rec["context_source"], "oidc");
    assert_eq!(rec["context"]["sha"], sha.as_str());
    assert_eq!(done.outputs["record-id"], rec["id"].as_str().unwrap());
    assert_eq!(
        done.outputs["expires-at"],
        rec["expires_at"].as_str().unwrap()
    );
    let records = w.records();
    assert_eq!(
        done.outputs["record-digest"],
        records.last().unwrap()["digest"].as_str().unwrap()
    );
    // A request record came first.
    assert_eq!(records[records.len() - 2]["payload"]["kind"], "request");
    w.assert_verifies();

    // Acknowledged: eyes then +1; the request comment shows the outcome; check run done.
    let reactions = w.reactions(c.id);
    assert_eq!(
        reactions,
        vec!["github-actions[bot]:eyes", "github-actions[bot]:+1"]
    );
    let req = w
        .hub
        .comments(REPO, pr)
        .into_iter()
        .find(|x| x.id == request)
        .unwrap();
    assert!(req.body.contains("Outcome"), "{}", req.body);
    assert_eq!(w.request_comments(pr), 1, "exactly one request comment");
    let checks = w.hub.check_runs(REPO, &sha);
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].conclusion.as_deref(), Some("success"));
    assert!(done.summary.contains("approved"), "{}", done.summary);
    // A status line while waiting: who approved, who is still needed, time left.
    assert!(
        done.stdout
            .contains("waiting: no approvals yet; still needed: 1 more (from "),
        "{}",
        done.stdout
    );
    assert!(done.stdout.contains("left"), "{}", done.stdout);
}

#[test]
fn an_approve_review_counts() {
    let w = World::new(POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    let gate = w.gate(&sha).spawn();
    w.wait_for_request(pr);
    w.hub
        .review_as("carol", REPO, pr, "APPROVED", Some(&sha))
        .unwrap();
    let done = gate.finish();
    done.assert_code(0);
    assert_eq!(done.outputs["approvers"], "carol");
    let rec = w.last_record();
    assert_eq!(rec["approvals"][0]["via"], "review");
    w.assert_verifies();
}

#[test]
fn on_the_merge_commit_of_a_pull_request_a_review_of_its_head_counts() {
    let w = World::new(POLICY);
    let head = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&head, &["src/app.rs"]);
    let merge = w.merge_commit(&head);
    let gate = w.gate(&merge).pr_payload(pr, &head).spawn();
    w.wait_for_request(pr);
    // A review of another commit does not count; one of the head does.
    w.hub
        .review_as("bob", REPO, pr, "APPROVED", Some(&merge))
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    w.hub
        .review_as("carol", REPO, pr, "APPROVED", Some(&head))
        .unwrap();
    let done = gate.finish();
    done.assert_code(0);
    assert_eq!(done.outputs["approvers"], "carol");
    let rec = w.last_record();
    assert_eq!(rec["subject"]["sha"], merge.as_str());
    w.assert_verifies();
}

#[test]
fn an_event_file_naming_an_old_approved_head_does_not_make_its_review_count() {
    let w = World::new(POLICY);
    let old = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&old, &["src/app.rs"]);
    // carol approved the old head; then the PR moved on to a new head.
    w.hub
        .review_as("carol", REPO, pr, "APPROVED", Some(&old))
        .unwrap();
    let new = w.commit("feature", &[("src/app.rs", "v3, unreviewed\n")]);
    w.hub.set_pr_head(REPO, pr, &new);
    let merge = w.merge_commit(&new);
    // A rewritten event file claims the run is for the old, approved head.
    let gate = w
        .gate(&merge)
        .pr_payload(pr, &old)
        .arg("--timeout")
        .arg("3s")
        .spawn();
    let done = gate.finish();
    done.assert_code(3);
    assert_eq!(w.last_record()["decision"], "expired");
}

#[test]
fn without_checks_write_the_gate_reports_a_commit_status() {
    let w = World::new(POLICY);
    w.hub.deny_checks_write(BOT);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    let gate = w.gate(&sha).spawn();
    w.wait_for_request(pr);
    w.hub.comment_as("bob", REPO, pr, "/approve").unwrap();
    gate.finish().assert_code(0);
    assert!(w.hub.check_runs(REPO, &sha).is_empty());
    let states: Vec<String> = w
        .hub
        .statuses(REPO, &sha)
        .into_iter()
        .map(|s| s.state)
        .collect();
    assert_eq!(states, vec!["pending", "success"]);
}

/// `/approve` where no reader sees it: in an indented code block, in HTML comments.
const HIDDEN: [&str; 4] = [
    "    /approve",
    "Will look later.\n\n    /approve",
    "<!-- /approve -->",
    "lgtm?\n<!--\n/approve\n-->",
];

#[test]
fn a_code_owners_hidden_approve_commands_never_approve() {
    let w = World::new(POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    let gate = w.gate(&sha).arg("--timeout").arg("2s").spawn();
    w.wait_for_request(pr);
    let hidden: Vec<u64> = HIDDEN
        .iter()
        .map(|b| w.hub.comment_as("bob", REPO, pr, b).unwrap().id)
        .collect();
    let done = gate.finish();
    done.assert_code(3);
    assert_eq!(done.outputs["decision"], "expired");
    assert_eq!(w.last_record()["decision"], "expired");
    // Not acknowledged either: no command was found in them.
    for id in hidden {
        assert!(
            w.reactions(id).is_empty(),
            "comment {id} was taken as a command"
        );
    }
}

#[test]
fn after_hidden_approve_commands_only_a_visible_one_approves() {
    let w = World::new(POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    let mut gate = w.gate(&sha).spawn();
    w.wait_for_request(pr);
    let hidden: Vec<u64> = HIDDEN
        .iter()
        .map(|b| w.hub.comment_as("bob", REPO, pr, b).unwrap().id)
        .collect();
    // Several polls (every 200 ms) see only the hidden commands.
    std::thread::sleep(std::time::Duration::from_millis(1200));
    if gate.child.try_wait().expect("wait").is_some() {
        let done = gate.finish();
        panic!(
            "the gate ended on hidden commands alone: {} {}",
            done.stdout, done.stderr
        );
    }
    let visible = w.hub.comment_as("bob", REPO, pr, "/approve").unwrap();
    let done = gate.finish();
    done.assert_code(0);
    let rec = w.last_record();
    assert_eq!(rec["approvals"].as_array().map(Vec::len), Some(1));
    assert_eq!(rec["approvals"][0]["login"], "bob");
    let url = rec["approvals"][0]["url"].as_str().unwrap_or_default();
    assert!(
        url.ends_with(&format!("-{}", visible.id)),
        "the approval is not the visible comment: {url}"
    );
    for id in hidden {
        assert!(
            w.reactions(id).is_empty(),
            "comment {id} was taken as a command"
        );
    }
    w.assert_verifies();
}
