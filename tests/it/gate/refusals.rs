//! `jitaa gate` end to end, what does NOT count: the requester's own approval, a
//! non-owner, an edited comment, an approval for an older sha; and deny and timeout.

use std::time::Duration;

use crate::support::{BOT, POLICY, REPO, World};

fn replies_to(w: &World, pr: u64, login: &str) -> Vec<String> {
    w.bodies(pr)
        .into_iter()
        .filter(|(u, b)| u == BOT && b.starts_with(&format!("@{login} ")))
        .map(|(_, b)| b)
        .collect()
}

fn wait_until(what: &str, f: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn two_approvals_where_the_requester_is_one_need_two_others() {
    let w = World::new(&POLICY.replace("approvals: 1", "approvals: 2"));
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    let gate = w.gate(&sha).spawn();
    w.wait_for_request(pr);
    let mine = w.hub.comment_as("alice", REPO, pr, "/approve").unwrap();
    w.hub.comment_as("bob", REPO, pr, "/approve").unwrap();
    wait_until("a reply to alice", || {
        !replies_to(&w, pr, "alice").is_empty()
    });
    // Several more polls: still one reply, still waiting.
    std::thread::sleep(Duration::from_millis(900));
    let replies = replies_to(&w, pr, "alice");
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(replies[0].contains("self-approval"), "{}", replies[0]);
    assert!(
        w.reactions(mine.id)
            .contains(&"github-actions[bot]:-1".to_string())
    );
    w.hub.comment_as("carol", REPO, pr, "/approve").unwrap();
    let done = gate.finish();
    done.assert_code(0);
    assert_eq!(done.outputs["approvers"], "bob,carol");
    let rec = w.last_record();
    assert_eq!(rec["approvals"].as_array().unwrap().len(), 2);
    assert_eq!(rec["rule"]["approvals"], 2);
    assert_eq!(replies_to(&w, pr, "alice").len(), 1, "never replied twice");
    w.assert_verifies();
}

#[test]
fn a_non_owner_and_a_reader_are_refused_then_an_owner_approves() {
    let w = World::new(POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    let gate = w.gate(&sha).spawn();
    w.wait_for_request(pr);
    w.hub.comment_as("dave", REPO, pr, "/approve").unwrap(); // owns docs/ only
    w.hub.comment_as("mallory", REPO, pr, "/approve").unwrap(); // read permission
    wait_until("replies to dave and mallory", || {
        !replies_to(&w, pr, "dave").is_empty() && !replies_to(&w, pr, "mallory").is_empty()
    });
    assert!(replies_to(&w, pr, "mallory")[0].contains("read permission"));
    w.hub.comment_as("bob", REPO, pr, "/approve").unwrap();
    let done = gate.finish();
    done.assert_code(0);
    assert_eq!(done.outputs["approvers"], "bob");
    w.assert_verifies();
}

#[test]
fn an_owner_denies() {
    let w = World::new(POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    let gate = w.gate(&sha).spawn();
    w.wait_for_request(pr);
    w.hub
        .comment_as("carol", REPO, pr, "/deny not during the freeze")
        .unwrap();
    let done = gate.finish();
    done.assert_code(1);
    assert!(done.stdout.contains("::error::"), "{}", done.stdout);
    assert_eq!(done.outputs["decision"], "denied");
    let rec = w.last_record();
    assert_eq!(rec["decision"], "denied");
    assert_eq!(rec["reason"], "not during the freeze");
    assert_eq!(done.outputs["record-id"], rec["id"].as_str().unwrap());
    let checks = w.hub.check_runs(REPO, &sha);
    assert_eq!(checks[0].conclusion.as_deref(), Some("failure"));
    w.assert_verifies();
}

#[test]
fn no_decision_before_the_timeout_exits_3() {
    let w = World::new(POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    let started = std::time::Instant::now();
    let done = w.gate(&sha).arg("--timeout").arg("1s").run();
    done.assert_code(3);
    assert!(started.elapsed() < Duration::from_secs(8));
    assert_eq!(done.outputs["decision"], "expired");
    assert_eq!(w.last_record()["decision"], "expired");
    let checks = w.hub.check_runs(REPO, &sha);
    assert_eq!(checks[0].conclusion.as_deref(), Some("timed_out"));
    assert_eq!(w.bodies(pr).len(), 1);
    w.assert_verifies();
}

#[test]
fn an_edited_approval_is_refused() {
    let w = World::new(POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    let gate = w.gate(&sha).arg("--timeout").arg("4s").spawn();
    w.wait_for_request(pr);
    let c = w.hub.comment_as("bob", REPO, pr, "looking").unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    w.hub.edit_comment(c.id, "/approve").unwrap();
    wait_until("a reply to bob", || !replies_to(&w, pr, "bob").is_empty());
    assert!(replies_to(&w, pr, "bob")[0].contains("edited"));
    let done = gate.finish();
    done.assert_code(3);
    assert_eq!(done.outputs["decision"], "expired");
    assert!(
        w.reactions(c.id)
            .contains(&"github-actions[bot]:-1".to_string())
    );
    w.assert_verifies();
}

#[test]
fn an_approval_of_an_older_sha_does_not_count_after_a_new_push() {
    let w = World::new(POLICY);
    let old = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&old, &["src/app.rs"]);
    let first = w.gate(&old).spawn();
    w.wait_for_request(pr);
    w.hub.comment_as("bob", REPO, pr, "/approve").unwrap();
    first.finish().assert_code(0);

    let new = w.commit("feature", &[("src/app.rs", "v3\n")]);
    w.hub.set_pr_head(REPO, pr, &new);
    let gate = w.gate(&new).arg("--timeout").arg("3s").spawn();
    w.wait_for_requests(pr, 2);
    // A review of the old commit, made after the new request: another commit.
    w.hub
        .review_as("carol", REPO, pr, "APPROVED", Some(&old))
        .unwrap();
    let done = gate.finish();
    done.assert_code(3);
    let rec = w.last_record();
    assert_eq!(rec["decision"], "expired");
    assert_eq!(rec["subject"]["sha"], new.as_str());
    w.assert_verifies();
}
