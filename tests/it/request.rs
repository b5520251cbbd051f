//! `jitaa request` end to end: a developer asks ahead of a push; an owner's `/approve`
//! reaches the default branch's `jitaa decide`, which writes the grant on origin's audit
//! branch; `--wait` exits 0 only once it is there. The requester's own process never
//! writes a grant.

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
fn with_wait_it_exits_0_only_after_decide_wrote_the_grant() {
    let w = World::new(POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let mut child = w
        .request("alice", &["--ref", "main", "--sha", &sha, "--wait"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let issue = w.wait_for_issue();
    // Her own approval is refused (with a reply), and nothing is written.
    w.comment_and_decide("alice", issue, "/approve")
        .assert_code(0);
    assert!(
        w.bodies(issue).iter().any(|(_, b)| b.starts_with("@alice")),
        "{:?}",
        w.bodies(issue)
    );
    std::thread::sleep(Duration::from_millis(600));
    assert!(
        child.try_wait().unwrap().is_none(),
        "still waiting: no grant yet"
    );
    assert!(w.records().is_empty(), "jitaa request wrote nothing itself");

    w.comment_and_decide("bob", issue, "/approve")
        .assert_code(0);
    let (code, stdout, stderr) = finish(child);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("approved: grant"), "{stdout}");
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
    // Written by decide's run (the default branch's workflow), not by alice.
    assert_eq!(
        rec["context"]["job_workflow_ref"],
        crate::support::DECIDE_WORKFLOW
    );
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
    w.comment_and_decide("carol", issue, "/deny not yet")
        .assert_code(0);
    let (code, _, stderr) = finish(child);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("not yet"), "{stderr}");
    assert_eq!(w.last_record()["decision"], "denied");

    let out = w
        .request(
            "alice",
            &["--ref", "main", "--sha", &sha, "--wait", "--timeout", "1s"],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    w.assert_verifies();
}

#[test]
fn an_edited_request_comment_is_not_judged() {
    // A developer's request is what its comment states; once edited, decide will not
    // take it at its word.
    let w = World::new(POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    w.request("alice", &["--ref", "main", "--sha", &sha])
        .output()
        .unwrap();
    let issue = w.wait_for_issue();
    let request = w.hub.comments(REPO, issue)[0].clone();
    // GitHub's timestamps are to the second.
    std::thread::sleep(Duration::from_millis(1100));
    w.hub
        .edit_comment(request.id, &request.body.replace("src/app.rs", "docs/x.md"));
    let done = w.comment_and_decide("bob", issue, "/approve");
    done.assert_code(0);
    assert!(done.stdout.contains("edited"), "{}", done.stdout);
    assert!(w.records().is_empty());
}
