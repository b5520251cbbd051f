//! `jitaa hook pre-push` run directly (as git would run it), for exit codes and inputs
//! that `git push` hides: 1 blocked, 2 bad input or policy, 5 GitHub unreachable; the
//! pre-commit framework's variables; a remote tip that is not here yet; SHA-256 repos.

use crate::support::{World, git, git_raw, jitaa, run_with_stdin, text, write};

fn line(local: &str, remote: &str, branch: &str) -> String {
    format!("refs/heads/{branch} {local} refs/heads/{branch} {remote}\n")
}

#[test]
fn exit_codes_blocked_1_and_nothing_to_push_0_and_bad_stdin_2() {
    let w = World::with_hook();
    let sha = w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "change");
    let out = w.jitaa(
        &["hook", "pre-push", "origin", "/x"],
        Some(&line(&sha, &w.main, "main")),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("jitaa request --ref main --wait"));

    let out = w.jitaa(&["hook", "pre-push", "origin", "/x"], Some(""));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = w.jitaa(
        &["hook", "pre-push", "origin", "/x"],
        Some("refs/heads/main abc refs/heads/main def\n"),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("stdin line 1"), "{}", text(&out));
}

#[test]
fn github_unreachable_blocks_with_exit_5() {
    let w = World::with_hook();
    let sha = w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "change");
    let out = run_with_stdin(
        w.terminal("bob")
            .env("GITHUB_API_URL", "http://127.0.0.1:9")
            .args(["hook", "pre-push", "origin", "/x"]),
        Some(&line(&sha, &w.main, "main")),
    );
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(text(&out).contains("push is blocked"), "{}", text(&out));
}

#[test]
fn the_remote_tip_is_fetched_when_missing_and_its_invalid_policy_is_exit_2() {
    let w = World::with_hook();
    // Someone else pushes a broken policy to main; this clone has not fetched it.
    let other = w.tmp.path().join("other");
    git(
        w.tmp.path(),
        &[
            "clone",
            "-q",
            w.origin.to_str().unwrap(),
            other.to_str().unwrap(),
        ],
    );
    write(&other, ".github/jitaa.yml", "version: 1\nbogus: true\n");
    git(&other, &["commit", "-q", "-am", "broken policy"]);
    git(&other, &["push", "-q", "origin", "main"]);
    let theirs = git(&other, &["rev-parse", "HEAD"]);
    assert!(git_raw(&w.work, &["cat-file", "-e", &theirs]).status.code() != Some(0));

    let mine = w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "change");
    let out = w.jitaa(
        &["hook", "pre-push", "origin", "/x"],
        Some(&line(&mine, &theirs, "main")),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains(".github/jitaa.yml:2"), "{}", text(&out));
    assert!(
        git_raw(&w.work, &["cat-file", "-e", &theirs])
            .status
            .success()
    );
}

#[test]
fn pre_commit_variables_are_used_when_stdin_is_empty() {
    let w = World::with_hook();
    let sha = w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "change");
    let run = |branch: &str| {
        run_with_stdin(
            w.terminal("bob")
                .env("PRE_COMMIT_TO_REF", &sha)
                .env("PRE_COMMIT_FROM_REF", &w.main)
                .env("PRE_COMMIT_REMOTE_BRANCH", format!("refs/heads/{branch}"))
                .env("PRE_COMMIT_LOCAL_BRANCH", "refs/heads/main")
                .env("PRE_COMMIT_REMOTE_NAME", "origin")
                .env("PRE_COMMIT_REMOTE_URL", w.origin.to_str().unwrap())
                .args(["hook", "pre-push"]),
            None,
        )
    };
    let out = run("main");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = run("topic");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn without_a_local_copy_of_the_default_branch_the_policy_is_fetched_not_guessed() {
    let w = World::with_hook();
    git(&w.work, &["remote", "set-head", "origin", "--delete"]);
    for r in ["main", "release/1"] {
        git(
            &w.work,
            &["update-ref", "-d", &format!("refs/remotes/origin/{r}")],
        );
    }
    git(&w.work, &["checkout", "-q", "-b", "release/9"]);
    let sha = w.commit_local(&[("src/lib.rs", "pub fn nine() {}\n")], "release");
    // release/* is protected only by the policy on origin's main.
    let zero = "0".repeat(40);
    let out = w.jitaa(
        &["hook", "pre-push", "origin", "/x"],
        Some(&line(&sha, &zero, "release/9")),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = w.jitaa(
        &["hook", "pre-push", "origin", "/x"],
        Some(&line(&sha, &zero, "topic")),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn an_allowed_push_with_no_signing_key_goes_through_unrecorded_and_says_so() {
    // DESIGN.md: without a signing key an approved push still goes through, with a note
    // that the hook wrote no record (the hook's record certifies nothing).
    let w = World::with_hook();
    git(&w.work, &["config", "--unset", "gpg.format"]);
    let sha = w.commit_local(&[("docs/guide.md", "# Guide\n\nMore.\n")], "docs");
    let out = w.jitaa(
        &["hook", "pre-push", "origin", "/x"],
        Some(&line(&sha, &w.main, "main")),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("wrote no push record"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("JITAA_SIGNING_KEY"), "{}", text(&out));
    assert!(w.payloads().is_empty());
}

#[test]
fn sha256_repositories_pass_unprotected_pushes_and_refuse_protected_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let origin = tmp.path().join("origin.git");
    let work = tmp.path().join("work");
    for d in [&origin, &work] {
        std::fs::create_dir_all(d).unwrap();
    }
    git(
        &origin,
        &[
            "init",
            "-q",
            "--bare",
            "--object-format=sha256",
            "-b",
            "main",
        ],
    );
    git(
        &work,
        &["init", "-q", "--object-format=sha256", "-b", "main"],
    );
    git(
        &work,
        &["remote", "add", "origin", origin.to_str().unwrap()],
    );
    write(&work, "a.txt", "a\n");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "a"]);
    git(&work, &["push", "-q", "origin", "main"]);
    git(&work, &["fetch", "-q", "origin"]);
    let sha = git(&work, &["rev-parse", "HEAD"]);
    assert_eq!(sha.len(), 64);
    let zero = "0".repeat(64);
    let run = |branch: &str| {
        run_with_stdin(
            jitaa()
                .current_dir(&work)
                .args(["hook", "pre-push", "origin", "/x"]),
            Some(&line(&sha, &zero, branch)),
        )
    };
    let out = run("topic");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run("main");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("SHA-256"), "{}", text(&out));
}
