//! `jitaa request` end to end: a developer asks ahead of a push; with `--wait` an
//! owner's approval becomes a grant record on origin's audit branch.

use std::process::Stdio;
use std::time::Duration;

use crate::support::{POLICY, REPO, World, stderr, stdout, wait_for_exit};

/// Waits (up to 20 s) for `jitaa request`: exit code, stdout, stderr.
fn finish(child: std::process::Child) -> (i32, String, String) {
    let out = wait_for_exit(child, Duration::from_secs(20));
    (out.status.code().unwrap_or(-1), stdout(&out), stderr(&out))
}

#[test]
fn without_wait_it_posts_the_request_and_prints_the_issue_url() {
    let w = World::new(POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let out = w
        .request("alice", &["--ref", "main", "--sha", &sha])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let issues = w.hub.issues(REPO);
    assert_eq!(issues.len(), 1);
    let (n, title, ..) = &issues[0];
    assert!(stdout.contains(&format!("/issues/{n}")), "{stdout}");
    assert!(title.contains(&sha[..12]), "{title}");
    let bodies = w.bodies(*n);
    assert_eq!(bodies.len(), 1);
    assert!(bodies[0].1.contains("refs/heads/main"));
    assert!(bodies[0].1.contains("src/app.rs"));
    assert!(w.records().is_empty(), "no decision yet");

    // Asking again reuses the issue.
    let again = w
        .request("alice", &["--ref", "main", "--sha", &sha])
        .output()
        .unwrap();
    assert!(again.status.success());
    assert_eq!(w.hub.issues(REPO).len(), 1);
    assert_eq!(w.bodies(*n).len(), 2);
}

#[test]
fn with_wait_an_owners_approval_becomes_a_grant() {
    let w = World::new(POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let child = w
        .request("alice", &["--ref", "main", "--sha", &sha, "--wait"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let issue = w.wait_for_issue();
    w.hub.comment_as("alice", REPO, issue, "/approve").unwrap();
    std::thread::sleep(Duration::from_millis(400));
    w.hub.comment_as("bob", REPO, issue, "/approve").unwrap();
    let (code, stdout, stderr) = finish(child);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("waiting: no approvals yet"),
        "plain progress lines: {stdout}"
    );
    assert!(stdout.contains("approved"), "{stdout}");
    let rec = w.last_record();
    assert_eq!(rec["kind"], "decision");
    assert_eq!(rec["decision"], "approved");
    assert_eq!(rec["subject"]["sha"], sha.as_str());
    assert_eq!(rec["subject"]["ref"], "refs/heads/main");
    assert!(rec["subject"].get("environment").is_none());
    assert_eq!(rec["requester"]["login"], "alice");
    assert_eq!(rec["approvals"].as_array().unwrap().len(), 1);
    assert_eq!(rec["approvals"][0]["login"], "bob");
    assert!(rec["expires_at"].is_string());
    w.assert_verifies();
}

#[test]
fn with_wait_a_deny_exits_1_and_a_timeout_exits_3() {
    let w = World::new(POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let child = w
        .request("alice", &["--ref", "main", "--sha", &sha, "--wait"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let issue = w.wait_for_issue();
    w.hub
        .comment_as("carol", REPO, issue, "/deny not yet")
        .unwrap();
    let (code, _, stderr) = finish(child);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(w.last_record()["decision"], "denied");

    let out = w
        .request(
            "alice",
            &["--ref", "main", "--sha", &sha, "--wait", "--timeout", "1s"],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(w.last_record()["decision"], "expired");
    w.assert_verifies();
}
