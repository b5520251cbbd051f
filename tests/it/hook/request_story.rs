//! The developer's story across the hook, `jitaa request` and `jitaa decide`: a push to
//! main is blocked, the developer runs the command the message names, the code owner
//! approves on the request issue, the default branch's decide writes the grant, and the
//! same push goes through — the grant is exactly what the hook accepts. The developer's
//! own process never writes it. Deleting a protected branch goes the same way with an
//! all-zero sha.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::{REPO, World, text};

/// Starts `jitaa request ARGS --wait` as bob, polling fast. It only asks and watches:
/// bob holds no certifier key.
fn request(w: &World, args: &[&str]) -> Child {
    let mut cmd = w.terminal("bob");
    cmd.arg("--repo")
        .arg(&w.work)
        .arg("request")
        .args(args)
        .args(["--wait", "--poll", "200ms"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().expect("jitaa request runs")
}

/// Waits for the request comment on a new issue, then has `login` comment `body`, on
/// which the default branch's decide runs (in a CI checkout, with the certifier key).
fn answer(w: &World, child: &mut Child, login: &str, body: &str) {
    let start = Instant::now();
    loop {
        let asked = w
            .hub
            .issues(REPO)
            .into_iter()
            .map(|(n, ..)| n)
            .find(|n| w.hub.comments(REPO, *n).iter().any(|c| c.user == "bob"));
        if let Some(n) = asked {
            w.comment_and_decide(login, n, body).assert_code(0);
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("jitaa request ended before asking: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no request posted"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn finish(child: Child) -> (i32, String) {
    let out = child.wait_with_output().expect("jitaa request ends");
    (out.status.code().unwrap_or(-1), text(&out))
}

#[test]
fn blocked_then_requested_then_approved_then_pushed() {
    let w = World::with_hook();
    let sha = w.commit_local(
        &[("src/lib.rs", "pub fn one() -> u32 { 2 }\n")],
        "change one",
    );

    let blocked = w.push(&["origin", "main"]);
    assert!(!blocked.status.success(), "{}", text(&blocked));
    assert!(
        text(&blocked).contains("jitaa request --ref main --wait"),
        "{}",
        text(&blocked)
    );
    assert_ne!(w.remote_sha("main").as_deref(), Some(sha.as_str()));

    let mut child = request(&w, &["--ref", "main", "--timeout", "1m"]);
    answer(&w, &mut child, "alice", "/approve");
    let (code, out) = finish(child);
    assert_eq!(code, 0, "{out}");

    let pushed = w.push(&["origin", "main"]);
    assert!(pushed.status.success(), "{}", text(&pushed));
    assert_eq!(w.remote_sha("main").as_deref(), Some(sha.as_str()));
    let records = w.payloads();
    let kinds: Vec<&str> = records.iter().filter_map(|r| r["kind"].as_str()).collect();
    assert!(
        kinds.contains(&"decision") && kinds.contains(&"push"),
        "{kinds:?}"
    );
    let v = w.verify_audit();
    assert!(v.status.success(), "{}", text(&v));
}

#[test]
fn a_self_approval_does_not_open_the_push() {
    let w = World::with_hook();
    w.commit_local(
        &[("src/lib.rs", "pub fn one() -> u32 { 3 }\n")],
        "change one",
    );
    let mut child = request(&w, &["--ref", "main", "--timeout", "2s"]);
    answer(&w, &mut child, "bob", "/approve");
    let (code, out) = finish(child);
    assert_eq!(code, 3, "bob cannot approve his own push: {out}");
    assert!(!w.push(&["origin", "main"]).status.success());
}

#[test]
fn deleting_a_protected_branch_needs_a_grant_for_the_zero_sha() {
    let w = World::with_hook();
    let blocked = w.push(&["origin", ":release/1"]);
    assert!(!blocked.status.success(), "{}", text(&blocked));
    assert!(w.remote_sha("release/1").is_some());

    let zero = "0".repeat(40);
    let mut child = request(
        &w,
        &["--ref", "release/1", "--sha", &zero, "--timeout", "1m"],
    );
    answer(&w, &mut child, "alice", "/approve");
    let (code, out) = finish(child);
    assert_eq!(code, 0, "{out}");

    let deleted = w.push(&["origin", ":release/1"]);
    assert!(deleted.status.success(), "{}", text(&deleted));
    assert!(w.remote_sha("release/1").is_none());
}

#[test]
fn without_decide_no_grant_appears_and_the_push_stays_blocked() {
    // An owner's comment that no decide run judges approves nothing: bob's own process
    // never writes the grant.
    let w = World::with_hook();
    w.commit_local(
        &[("src/lib.rs", "pub fn one() -> u32 { 4 }\n")],
        "change one",
    );
    let mut child = request(&w, &["--ref", "main", "--timeout", "3s"]);
    let start = Instant::now();
    let issue = loop {
        if let Some((n, ..)) = w.hub.issues(REPO).into_iter().next() {
            break n;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no request posted"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    w.hub.comment_as("alice", REPO, issue, "/approve").unwrap();
    let _ = child.stdin.take();
    let (code, out) = finish(child);
    assert_eq!(code, 3, "{out}");
    assert!(
        w.payloads().iter().all(|r| r["kind"] != "decision"),
        "no grant was written"
    );
    assert!(!w.push(&["origin", "main"]).status.success());
}

#[test]
fn keyless_a_grant_signed_only_by_decides_token_lets_the_push_through() {
    // No signing key anywhere: decide's GitHub-signed token certifies the grant, and the
    // hook checks it against the issuer's keys, on this protected push only.
    let w = World::with_hook_policy(
        "version: 1
audit:
  signing: [github-oidc]
  trusted_workflows: [.github/workflows/jitaa.yml]
protected_branches: [main]
defaults:
  approvals: 1
  approvers: codeowners
  ttl: 15m
",
    );
    let sha = w.commit_local(
        &[("src/lib.rs", "pub fn one() -> u32 { 5 }\n")],
        "change one",
    );
    assert!(!w.push(&["origin", "main"]).status.success());
    let mut child = request(&w, &["--ref", "main", "--timeout", "1m"]);
    answer(&w, &mut child, "alice", "/approve");
    let (code, out) = finish(child);
    assert_eq!(code, 0, "{out}");
    let grant = w
        .records()
        .into_iter()
        .rev()
        .find(|r| r["payload"]["kind"] == "decision")
        .expect("the grant");
    let sigs = grant["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 1, "{sigs:?}");
    assert_eq!(sigs[0]["type"], "github-oidc");

    let pushed = w.push(&["origin", "main"]);
    assert!(pushed.status.success(), "{}", text(&pushed));
    assert_eq!(w.remote_sha("main").as_deref(), Some(sha.as_str()));
}
