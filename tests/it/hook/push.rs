//! `git push` through the installed pre-push hook, against a local bare origin and the
//! GitHub stand-in: what gets through, what is blocked and why, and what is recorded.

use crate::support::{HOOK_POLICY, REPO, World, git, signers_line, text, write};

fn assert_blocked(out: &std::process::Output) -> String {
    let t = text(out);
    assert!(!out.status.success(), "push should be blocked:\n{t}");
    assert!(t.contains("is blocked"), "{t}");
    assert!(t.contains("jitaa request --ref"), "{t}");
    t
}

#[test]
fn an_unprotected_branch_passes_with_no_request_to_github_and_no_fetch() {
    let w = World::with_hook();
    git(&w.work, &["checkout", "-q", "-b", "feature"]);
    let sha = w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "feature");
    let _ = std::fs::remove_file(w.work.join(".git/FETCH_HEAD"));
    let out = w.push(&["origin", "feature"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(w.remote_sha("feature").as_deref(), Some(sha.as_str()));
    assert!(w.hub.requests().is_empty(), "{:?}", w.hub.requests());
    assert!(
        !w.work.join(".git/FETCH_HEAD").exists(),
        "the hook fetched something for an unprotected push"
    );
    assert!(w.payloads().is_empty(), "no record for an ungated push");
}

#[test]
fn a_protected_push_without_approval_is_blocked_and_says_who_can_approve() {
    let w = World::with_hook();
    w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "change");
    let out = w.push(&["origin", "main"]);
    let t = assert_blocked(&out);
    assert!(
        t.contains("push to protected branch `main` is blocked"),
        "{t}"
    );
    assert!(t.contains("src/lib.rs: @alice (CODEOWNERS line 1)"), "{t}");
    assert!(t.contains("jitaa request --ref main --wait"), "{t}");
    assert!(t.contains("pull request: none open into main"), "{t}");
    assert_eq!(w.remote_sha("main").as_deref(), Some(w.main.as_str()));
}

#[test]
fn without_a_token_the_blocked_message_still_says_the_rule_who_and_what_to_run() {
    let w = World::with_hook();
    w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "change");
    let out = crate::support::git_cmd(&w.work)
        .env("GITHUB_API_URL", w.hub.url())
        .env_remove("GITHUB_TOKEN")
        .env_remove("GH_TOKEN")
        .args(["push", "origin", "main"])
        .output()
        .unwrap();
    let t = assert_blocked(&out);
    assert!(t.contains("no GitHub token"), "{t}");
    assert!(t.contains("no approval could be confirmed"), "{t}");
    assert!(t.contains("rule `"), "the rule is named:\n{t}");
    assert!(t.contains("src/lib.rs: @alice (CODEOWNERS line 1)"), "{t}");
    assert!(t.contains("gh auth login"), "{t}");
    assert!(t.contains("jitaa request --ref main --wait"), "{t}");
    assert_eq!(w.remote_sha("main").as_deref(), Some(w.main.as_str()));
}

#[test]
fn an_owners_approve_comment_on_the_pr_lets_the_push_through_and_records_it() {
    let w = World::with_hook();
    let sha = w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "change");
    let pr = w.open_pr(&sha, &["src/lib.rs"]);
    // An outsider's word and the author's own do not count.
    w.hub.comment_as("bob", REPO, pr, "/approve").unwrap();
    let t = assert_blocked(&w.push(&["origin", "main"]));
    assert!(t.contains("@bob /approve: not counted"), "{t}");

    w.hub.comment_as("alice", REPO, pr, "/approve").unwrap();
    let out = w.push(&["origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("PR #1 approved"), "{}", text(&out));
    assert_eq!(w.remote_sha("main").as_deref(), Some(sha.as_str()));

    let records = w.payloads();
    assert_eq!(records.len(), 1, "{records:?}");
    let r = &records[0];
    assert_eq!(r["kind"], "push");
    assert_eq!(r["decision"], "approved");
    assert_eq!(r["subject"]["sha"], sha.as_str());
    assert_eq!(r["subject"]["ref"], "refs/heads/main");
    assert_eq!(r["approvals"][0]["login"], "alice");
    assert_eq!(r["requester"]["login"], "bob");
    assert_eq!(r["context_source"], "git");
    assert_eq!(r["context"]["via"]["kind"], "pull_request");
    let v = w.verify_audit();
    assert_eq!(v.status.code(), Some(0), "{}", text(&v));
}

#[test]
fn a_back_dated_commit_on_the_pr_does_not_revive_an_earlier_approve() {
    let w = World::with_hook();
    let first = w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "change");
    let pr = w.open_pr(&first, &["src/lib.rs"]);
    let approve = w.hub.comment_as("alice", REPO, pr, "/approve").unwrap();
    // GitHub's times are whole seconds: the head moves in a later second than the comment.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // A new commit dated an hour before that /approve, pushed to the PR.
    let an_hour_ago = format!("@{} +0000", chrono::Utc::now().timestamp() - 3600);
    let second = w.commit_local_dated(
        &[("src/lib.rs", "pub fn evil() -> u32 { 666 }\n")],
        "unreviewed",
        &an_hour_ago,
    );
    let committed = git(&w.work, &["log", "-1", "--format=%ct", &second]);
    assert!(
        committed.parse::<i64>().unwrap() < chrono::Utc::now().timestamp() - 3000,
        "the commit is back-dated"
    );
    w.hub.set_pr_head(REPO, pr, &second);
    let t = assert_blocked(&w.push(&["origin", "main"]));
    assert!(t.contains("@alice /approve: not counted"), "{t}");
    assert_ne!(w.remote_sha("main").as_deref(), Some(second.as_str()));
    assert!(approve.id > 0);

    // A fresh /approve after the head moved lets it through.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    w.hub.comment_as("alice", REPO, pr, "/approve").unwrap();
    let out = w.push(&["origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("PR #1 approved"), "{}", text(&out));
    assert_eq!(w.remote_sha("main").as_deref(), Some(second.as_str()));
}

#[test]
fn a_pr_head_whose_push_time_github_cannot_tell_counts_reviews_on_the_sha_only() {
    let w = World::with_hook();
    let sha = w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "change");
    let pr = w.open_pr(&sha, &["src/lib.rs"]);
    // The head branch's newest change is to another sha (the list does not show how the
    // head got here): comments cannot be placed after it, so none counts.
    w.hub.force_pr_head(REPO, pr, &w.main);
    w.hub.set_pr_head_unrecorded(REPO, pr, &sha);
    w.hub.comment_as("alice", REPO, pr, "/approve").unwrap();
    let t = assert_blocked(&w.push(&["origin", "main"]));
    assert!(
        t.contains("1 comment(s) with a command not counted: GitHub does not say when"),
        "{t}"
    );
    // An approving review on exactly this sha still counts.
    w.hub
        .review_as("alice", REPO, pr, "APPROVED", Some(&sha))
        .unwrap();
    let out = w.push(&["origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(w.payloads()[0]["approvals"][0]["via"], "review");
}

#[test]
fn an_approving_review_on_the_pushed_sha_lets_the_push_through() {
    let w = World::with_hook();
    let sha = w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "change");
    let pr = w.open_pr(&sha, &["src/lib.rs"]);
    // A review on an older commit does not count.
    w.hub
        .review_as("alice", REPO, pr, "APPROVED", Some(&w.main))
        .unwrap();
    assert_blocked(&w.push(&["origin", "main"]));
    w.hub
        .review_as("alice", REPO, pr, "APPROVED", None)
        .unwrap();
    let out = w.push(&["origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(w.payloads()[0]["approvals"][0]["via"], "review");
}

#[test]
fn a_signed_unexpired_grant_lets_the_push_through_without_asking_github() {
    let w = World::with_hook();
    let sha = w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "change");
    let id = w.grant(&sha, "refs/heads/main", 600);
    let out = w.push(&["origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("grant {id}")),
        "{}",
        text(&out)
    );
    assert!(w.hub.requests().is_empty(), "{:?}", w.hub.requests());
    let records = w.payloads();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1]["kind"], "push");
    assert_eq!(records[1]["context"]["via"]["id"], id.as_str());
    let v = w.verify_audit();
    assert_eq!(v.status.code(), Some(0), "{}", text(&v));
}

#[test]
fn a_grant_for_another_sha_or_branch_does_not_count() {
    let w = World::with_hook();
    let sha = w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "change");
    w.grant(&w.main, "refs/heads/main", 600);
    w.grant(&sha, "refs/heads/release/1", 600);
    assert_blocked(&w.push(&["origin", "main"]));
}

#[test]
fn an_expired_grant_is_refused() {
    let w = World::with_hook();
    let sha = w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "change");
    let id = w.grant(&sha, "refs/heads/main", -60);
    let t = assert_blocked(&w.push(&["origin", "main"]));
    assert!(t.contains(&format!("grant {id} expired at")), "{t}");
    assert_eq!(w.remote_sha("main").as_deref(), Some(w.main.as_str()));
}

#[test]
fn a_tampered_grant_never_counts() {
    let w = World::with_hook();
    let sha = w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "change");
    // A grant for another commit, re-pointed at this one: the digest no longer matches.
    w.grant(&w.main, "refs/heads/main", 600);
    let target = sha.clone();
    w.tamper_tip(move |p| p["subject"]["sha"] = target.clone().into(), false);
    let t = assert_blocked(&w.push(&["origin", "main"]));
    assert!(t.contains("digest mismatch"), "{t}");

    // The same with the digest recomputed: the signature no longer matches.
    let target = sha.clone();
    w.tamper_tip(move |p| p["subject"]["sha"] = target.clone().into(), true);
    let t = assert_blocked(&w.push(&["origin", "main"]));
    assert!(t.contains("signature does not match"), "{t}");
    assert_eq!(w.remote_sha("main").as_deref(), Some(w.main.as_str()));
}

#[test]
fn a_grant_signed_by_an_untrusted_key_does_not_count() {
    let w = World::with_hook();
    let sha = w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "change");
    // Replace the trusted grant key with one main does not list.
    let other = jitaa::keys::generate(&w.tmp.path().join("mallory"), "jitaa@acme").unwrap();
    w.grant_with(&other.private_path, &sha, "refs/heads/main", 600);
    let t = assert_blocked(&w.push(&["origin", "main"]));
    assert!(t.contains("not in the trusted allowed signers"), "{t}");
}

#[test]
fn without_trusted_keys_on_main_a_self_signed_grant_does_not_count() {
    let w = World::with_hook();
    // main loses its allowed_signers file (pushed around the hook, as an admin might).
    git(&w.work, &["rm", "-q", ".github/jitaa-allowed-signers"]);
    git(&w.work, &["commit", "-q", "-m", "drop trusted keys"]);
    git(&w.work, &["push", "-q", "--no-verify", "origin", "main"]);
    git(&w.work, &["fetch", "-q", "origin"]);
    let base = w.remote_sha("main");
    let sha = w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "change");
    // Anyone who can push can sign a grant with a key of their own.
    let mallory = jitaa::keys::generate(&w.tmp.path().join("mallory"), "jitaa@acme").unwrap();
    w.grant_with(&mallory.private_path, &sha, "refs/heads/main", 600);
    let t = assert_blocked(&w.push(&["origin", "main"]));
    assert!(t.contains("no trusted keys"), "{t}");
    assert_eq!(w.remote_sha("main"), base);
}

#[test]
fn a_commit_that_edits_the_policy_to_drop_the_rule_is_still_blocked() {
    let w = World::with_hook();
    let relaxed = HOOK_POLICY.replace("  approvals: 1\n", "  approvals: 0\n");
    assert_ne!(relaxed, HOOK_POLICY);
    w.commit_local(&[(".github/jitaa.yml", &relaxed)], "no more approvals");
    let t = assert_blocked(&w.push(&["origin", "main"]));
    assert!(t.contains("rule `default`"), "{t}");
    assert!(t.contains(".github/jitaa.yml: @alice"), "{t}");
}

#[test]
fn a_commit_that_edits_codeowners_to_own_the_change_is_still_blocked() {
    let w = World::with_hook();
    let sha = w.commit_local(
        &[
            (".github/CODEOWNERS", "* @carol\n"),
            ("src/lib.rs", "pub fn evil() {}\n"),
        ],
        "carol owns everything now",
    );
    let pr = w.open_pr(&sha, &["src/lib.rs"]);
    w.hub.comment_as("carol", REPO, pr, "/approve").unwrap();
    let t = assert_blocked(&w.push(&["origin", "main"]));
    assert!(t.contains("src/lib.rs: @alice"), "{t}");
    assert!(t.contains("@carol /approve: not counted"), "{t}");
}

#[test]
fn a_docs_only_change_is_auto_approved_by_the_rule_and_still_recorded() {
    let w = World::with_hook();
    let sha = w.commit_local(&[("docs/guide.md", "# Guide\n\nMore.\n")], "docs");
    let out = w.push(&["origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("rule `docs-only` needs no approval"));
    assert!(w.hub.requests().is_empty());
    let r = &w.payloads()[0];
    assert_eq!(r["decision"], "auto");
    assert_eq!(r["subject"]["sha"], sha.as_str());
}

#[test]
fn deleting_a_protected_branch_needs_a_grant_for_the_zero_sha() {
    let w = World::with_hook();
    let t = assert_blocked(&w.push(&["origin", ":release/1"]));
    let zero = "0".repeat(40);
    assert!(
        t.contains("deleting protected branch `release/1` is blocked"),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "jitaa request --ref release/1 --sha {zero} --wait"
        )),
        "{t}"
    );
    assert!(w.remote_sha("release/1").is_some());

    w.grant(&zero, "refs/heads/release/1", 600);
    let out = w.push(&["origin", ":release/1"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(w.remote_sha("release/1").is_none());
}

#[test]
fn a_multi_ref_push_with_one_protected_ref_is_blocked_whole() {
    let w = World::with_hook();
    git(&w.work, &["checkout", "-q", "-b", "feature"]);
    w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "feature");
    git(&w.work, &["checkout", "-q", "main"]);
    w.commit_local(&[("src/main.rs", "fn main() {}\n")], "main change");
    let out = w.push(&["origin", "feature", "main", "main:release/2"]);
    let t = assert_blocked(&out);
    assert!(t.contains("`main` is blocked"), "{t}");
    // A new protected branch is gated too (its base is the default branch).
    assert!(t.contains("`release/2` is blocked"), "{t}");
    assert!(w.remote_sha("feature").is_none(), "nothing may be pushed");
    assert!(w.remote_sha("release/2").is_none());
}

#[test]
fn core_hooks_path_is_respected() {
    let w = World::with_hooks_path(Some("githooks"));
    assert!(w.work.join("githooks/pre-push").exists());
    assert!(!w.work.join(".git/hooks/pre-push").exists());
    w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "change");
    assert_blocked(&w.push(&["origin", "main"]));
}

#[test]
fn an_existing_hook_is_kept_chained_and_sees_the_same_stdin() {
    let w = World::with_hook();
    let hooks = w.work.join(".git/hooks");
    let seen = w.tmp.path().join("seen.txt");
    // Replace jitaa's hook with a foreign one, then install again with --force.
    std::fs::write(
        hooks.join("pre-push"),
        format!(
            "#!/bin/sh\necho \"args: $1 $2\" > '{0}'\ncat >> '{0}'\n",
            seen.display()
        ),
    )
    .unwrap();
    let out = w.jitaa(&["hook", "install"], None);
    assert_eq!(out.status.code(), Some(2), "refused without --force");
    let out = w.jitaa(&["hook", "install", "--force"], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(hooks.join("pre-push.local").exists());

    git(&w.work, &["checkout", "-q", "-b", "feature"]);
    let sha = w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "feature");
    let out = w.push(&["origin", "feature"]);
    assert!(out.status.success(), "{}", text(&out));
    let got = std::fs::read_to_string(&seen).unwrap();
    assert!(got.starts_with("args: origin "), "{got}");
    assert!(
        got.contains(&format!(
            "refs/heads/feature {sha} refs/heads/feature {}",
            "0".repeat(40)
        )),
        "{got}"
    );

    // And jitaa still gates after the kept hook.
    git(&w.work, &["checkout", "-q", "main"]);
    w.commit_local(&[("src/lib.rs", "pub fn three() -> u32 { 3 }\n")], "main");
    assert_blocked(&w.push(&["origin", "main"]));
}

#[test]
fn an_approved_push_goes_through_without_a_signing_key_and_says_no_record_was_written() {
    let w = World::with_hook();
    let sha = w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "change");
    let id = w.grant(&sha, "refs/heads/main", 600);
    git(&w.work, &["config", "--unset", "user.signingkey"]);
    let out = w.push(&["origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(w.remote_sha("main").as_deref(), Some(sha.as_str()));
    assert!(
        text(&out).contains(&format!("grant {id}")),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("wrote no push record"),
        "{}",
        text(&out)
    );
    let records = w.payloads();
    assert_eq!(records.len(), 1, "only the grant: {records:?}");
    assert_eq!(records[0]["kind"], "decision");
}

#[test]
fn a_grant_signed_by_a_pusher_key_does_not_count_while_its_push_records_verify() {
    // bob's git key is a pusher key (audit.pusher_signers): it signs his push records,
    // which `audit verify` accepts, but nothing it signs is an approval.
    let w = World::with_hook();
    let docs = w.commit_local(&[("docs/guide.md", "# Guide\n\nMore.\n")], "docs");
    let out = w.push(&["origin", "main"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(w.remote_sha("main").as_deref(), Some(docs.as_str()));
    let v = w.verify_audit();
    assert_eq!(v.status.code(), Some(0), "{}", text(&v));

    let sha = w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "change");
    let bob_key = w.tmp.path().join("keys").join("bob_ed25519");
    w.grant_with(&bob_key, &sha, "refs/heads/main", 600);
    let t = assert_blocked(&w.push(&["origin", "main"]));
    assert!(
        t.contains("not certified by a key of .github/jitaa-allowed-signers"),
        "{t}"
    );
    assert_eq!(w.remote_sha("main").as_deref(), Some(docs.as_str()));
}

#[test]
fn a_grant_the_requester_signed_with_a_certifier_key_of_their_own_does_not_count() {
    // Even a certifier key certifies nothing for its own holder's push: bob's key in
    // allowed_signers (principal bob@…) signing bob's grant.
    let w = World::with_hook();
    let bob_pub =
        std::fs::read_to_string(w.tmp.path().join("keys").join("bob_ed25519.pub")).unwrap();
    let line = signers_line("bob@example.com", &bob_pub);
    let both = format!(
        "{}{line}",
        std::fs::read_to_string(&w.allowed_signers).unwrap()
    );
    write(&w.work, ".github/jitaa-allowed-signers", &both);
    git(&w.work, &["commit", "-q", "-am", "bob certifies"]);
    git(&w.work, &["push", "-q", "--no-verify", "origin", "main"]);
    git(&w.work, &["fetch", "-q", "origin"]);
    let base = w.remote_sha("main");
    let sha = w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "change");
    let bob_key = w.tmp.path().join("keys").join("bob_ed25519");
    w.grant_with(&bob_key, &sha, "refs/heads/main", 600);
    let t = assert_blocked(&w.push(&["origin", "main"]));
    assert!(t.contains("the requester"), "{t}");
    assert_eq!(w.remote_sha("main"), base);
}
