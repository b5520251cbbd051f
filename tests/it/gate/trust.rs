//! Whose rules decide and what counts as an approval, tried as a team and as an attacker
//! would, against the stand-in and real git: GitHub's merge button, PRs into unprotected
//! branches, pushes to unprotected branches, dispatches, reuse under another rule, a
//! rewritten event file, and requests nobody could approve.

use crate::support::{REPO, World, git, jitaa};

/// Production needs one code owner's approval; everything else as `POLICY`.
const PRODUCTION: &str = "version: 1
oidc: required
audit:
  signing: [ssh]
defaults:
  approvals: 1
  approvers: codeowners
  timeout: 30m
  ttl: 15m
rules:
  - name: production
    match: { environment: production }
    approvals: 1
";

/// A policy that lets anything through: what an attacker commits.
const WEAK: &str = "version: 1\naudit:\n  signing: [ssh]\ndefaults:\n  approvals: 0\n";

/// Merges `head` into main with a merge commit (as GitHub's merge button does), pushes
/// main, and tells the stand-in PR `pr` was merged; returns (before, merge sha).
fn merge_on_github(w: &World, pr: u64, head: &str) -> (String, String) {
    let before = git(&w.origin, &["rev-parse", "main"]);
    git(&w.work, &["checkout", "--quiet", "main"]);
    git(&w.work, &["reset", "--quiet", "--hard", &before]);
    git(&w.work, &["merge", "--quiet", "--no-ff", "--no-edit", head]);
    git(&w.work, &["push", "--quiet", "origin", "main"]);
    let merge = git(&w.work, &["rev-parse", "HEAD"]);
    w.hub.merge_pr(REPO, pr, &before, &merge, "bob");
    (before, merge)
}

fn kinds(w: &World) -> Vec<String> {
    w.records()
        .iter()
        .map(|r| r["payload"]["kind"].as_str().unwrap_or("?").to_string())
        .collect()
}

#[test]
fn a_pr_reviewed_and_merged_on_github_deploys_after_an_owner_approves_on_the_merged_pr() {
    let w = World::new(PRODUCTION);
    let head = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&head, &["src/app.rs"]);
    w.hub.review_as("bob", REPO, pr, "APPROVED", None).unwrap();
    w.hub
        .review_as("carol", REPO, pr, "APPROVED", None)
        .unwrap();
    let (before, merge) = merge_on_github(&w, pr, &head);

    let gate = w
        .gate(&merge)
        .push_event(&merge, "main", &before)
        .environment("production")
        .spawn();
    w.wait_for_request(pr);
    w.hub.comment_as("carol", REPO, pr, "/approve").unwrap();
    let done = gate.finish();
    done.assert_code(0);
    assert!(
        done.stdout.contains("GitHub merged pull request #1"),
        "{}",
        done.stdout
    );
    let records = w.records();
    assert!(
        !kinds(&w).contains(&"violation".to_string()),
        "{:?}",
        kinds(&w)
    );
    let push = records
        .iter()
        .map(|r| &r["payload"])
        .find(|p| p["kind"] == "push")
        .expect("a push record with the merge's evidence");
    assert_eq!(push["context"]["via"]["number"], 1);
    let reviewers: Vec<&str> = push["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["login"].as_str())
        .collect();
    assert_eq!(reviewers, ["bob", "carol"]);
    let last = w.last_record();
    assert_eq!(last["decision"], "approved");
    assert_eq!(last["rule"]["name"], "production");
    assert_eq!(last["subject"]["environment"], "production");
    w.assert_verifies();
}

#[test]
fn a_push_to_main_that_no_pr_or_grant_covers_is_still_a_violation() {
    let w = World::new(PRODUCTION);
    let before = w.main.clone();
    let sha = w.commit("main", &[("src/app.rs", "v2\n")]);
    let done = w
        .gate(&sha)
        .push_event(&sha, "main", &before)
        .environment("production")
        .run();
    done.assert_code(1);
    assert!(
        done.stdout.contains("jitaa request --ref main --sha")
            || done.stderr.contains("jitaa request --ref main --sha"),
        "says how to ask after the fact: {}{}",
        done.stdout,
        done.stderr
    );
    assert_eq!(w.last_record()["kind"], "violation");
}

#[test]
fn a_pr_into_an_unprotected_branch_is_judged_by_the_default_branchs_rules() {
    let w = World::new(PRODUCTION);
    let evil = w.commit("evil", &[(".github/jitaa.yml", WEAK)]);
    git(&w.work, &["checkout", "--quiet", "-b", "feature", "evil"]);
    let sha = w.commit("feature", &[("infra/main.tf", "x\n")]);
    let pr = w.hub.add_pr(
        REPO,
        fakehub::PrSpec {
            author: "alice".into(),
            head_sha: sha.clone(),
            base_sha: evil,
            base_ref: "evil".into(),
            files: vec!["infra/main.tf".into()],
            ..fakehub::PrSpec::default()
        },
    );
    let done = w
        .gate(&sha)
        .environment("production")
        .arg("--timeout")
        .arg("2s")
        .run();
    done.assert_code(3);
    assert!(
        done.stdout.contains("the default branch `main`") && done.stdout.contains("not protected"),
        "{}",
        done.stdout
    );
    w.wait_for_request(pr);
    assert_eq!(w.last_record()["rule"]["name"], "production");
}

#[test]
fn a_pr_into_a_protected_release_branch_uses_its_own_base() {
    let policy = format!("{PRODUCTION}protected_branches: [main, \"release/*\"]\n");
    let w = World::new(&policy);
    let release = w.commit("release/1", &[("src/app.rs", "r1\n")]);
    git(&w.work, &["checkout", "--quiet", "-b", "fix", "release/1"]);
    let sha = w.commit("fix", &[("src/app.rs", "r2\n")]);
    w.hub.add_pr(
        REPO,
        fakehub::PrSpec {
            author: "alice".into(),
            head_sha: sha.clone(),
            base_sha: release.clone(),
            base_ref: "release/1".into(),
            files: vec!["src/app.rs".into()],
            ..fakehub::PrSpec::default()
        },
    );
    let done = w.gate(&sha).arg("--timeout").arg("1s").run();
    done.assert_code(3);
    assert!(
        done.stdout
            .contains(&format!("pull request #1's base {}", &release[..12])),
        "{}",
        done.stdout
    );
}

#[test]
fn a_push_to_an_unprotected_branch_never_uses_its_own_history_as_the_base() {
    let w = World::new(PRODUCTION);
    let e1 = w.commit("evil", &[(".github/jitaa.yml", WEAK)]);
    let e2 = w.commit("evil", &[("infra/main.tf", "x\n")]);
    let done = w
        .gate(&e2)
        .push_event(&e2, "evil", &e1)
        .environment("production")
        .arg("--timeout")
        .arg("2s")
        .run();
    done.assert_code(3);
    assert!(
        done.stdout.contains("the default branch `main`"),
        "{}",
        done.stdout
    );
}

#[test]
fn a_first_dispatch_on_main_is_judged_by_the_first_parents_rules_then_reused() {
    let w = World::new(PRODUCTION);
    // Merged to main: a change that also weakens the policy. Its own rules never decide.
    let sha = w.commit(
        "main",
        &[(".github/jitaa.yml", WEAK), ("src/app.rs", "v2\n")],
    );
    let gate = w
        .gate(&sha)
        .event("workflow_dispatch", "refs/heads/main")
        .environment("production")
        .spawn();
    let issue = w.wait_for_issue();
    w.hub.comment_as("bob", REPO, issue, "/approve").unwrap();
    let done = gate.finish();
    done.assert_code(0);
    assert!(done.stdout.contains("first parent"), "{}", done.stdout);
    assert_eq!(w.last_record()["rule"]["name"], "production");

    // The same sha dispatched again within the ttl: the approval is reused.
    let again = w
        .gate(&sha)
        .event("workflow_dispatch", "refs/heads/main")
        .environment("production")
        .attempt(2)
        .run();
    again.assert_code(0);
    assert!(
        again.stdout.contains("reusing approval record"),
        "{}",
        again.stdout
    );
    w.assert_verifies();
}

#[test]
fn reuse_never_carries_an_approval_across_rules_or_requesters() {
    let policy = "version: 1
audit:
  signing: [ssh]
rules:
  - name: erin-deploys
    match: { environment: production, actors: [erin] }
    approvals: 0
  - name: production
    match: { environment: production }
    approvals: 1
    approvers: [\"@acme/sre\"]
";
    let w = World::new(policy);
    w.hub.add_user("erin", 6);
    w.hub.set_permission(REPO, "erin", "write");
    w.hub.add_team("acme", "sre", &["bob"]);
    let sha = w.commit("main", &[("src/app.rs", "v2\n")]);
    let mut erin = w
        .gate(&sha)
        .event("workflow_dispatch", "refs/heads/main")
        .environment("production");
    erin.set_run(&sha, "refs/heads/main", "workflow_dispatch", "erin", "1");
    let done = erin.run();
    done.assert_code(0);
    assert_eq!(w.last_record()["decision"], "auto");

    let done = w
        .gate(&sha)
        .event("workflow_dispatch", "refs/heads/main")
        .environment("production")
        .attempt(2)
        .arg("--timeout")
        .arg("2s")
        .run();
    done.assert_code(3);
    assert!(!done.stdout.contains("reusing"), "{}", done.stdout);
}

#[test]
fn a_rewritten_before_in_the_event_file_loses_to_github() {
    let w = World::new(WEAK);
    // main moves on to a strict policy; then a reviewed PR is merged.
    let strict = w.commit("main", &[(".github/jitaa.yml", PRODUCTION)]);
    git(&w.work, &["checkout", "--quiet", "-b", "feature", &strict]);
    let head = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.hub.add_pr(
        REPO,
        fakehub::PrSpec {
            author: "alice".into(),
            head_sha: head.clone(),
            base_sha: strict.clone(),
            files: vec!["src/app.rs".into()],
            ..fakehub::PrSpec::default()
        },
    );
    let (before, merge) = merge_on_github(&w, pr, &head);
    assert_eq!(before, strict);
    // An earlier step rewrote `before` to main's first (weak) commit.
    let done = w
        .gate(&merge)
        .push_event(&merge, "main", &w.main)
        .environment("production")
        .arg("--timeout")
        .arg("2s")
        .run();
    done.assert_code(3);
    assert!(
        done.stdout
            .contains(&format!("the push's `before` {}", &strict[..12])),
        "{}",
        done.stdout
    );
    assert!(done.stdout.contains("GitHub says"), "{}", done.stdout);
}

#[test]
fn a_request_nobody_could_approve_fails_at_once_naming_the_rule() {
    let policy = "version: 1
audit:
  signing: [ssh]
rules:
  - name: only-alice
    match: { environment: production }
    approvals: 1
    approvers: [\"@alice\"]
";
    let w = World::new(policy);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    let done = w.gate(&sha).environment("production").run();
    done.assert_code(2);
    assert!(
        done.stderr.contains("only-alice") && done.stderr.contains("can never be approved"),
        "{}",
        done.stderr
    );
    assert!(w.bodies(pr).is_empty(), "nothing was posted");
}

#[test]
fn the_push_check_counts_a_certifiers_grant_and_never_a_pusher_keys() {
    let w = World::new(PRODUCTION);
    // dave's laptop key signs push records: listed as a pusher key on main.
    let laptop = w.tmp.path().join("laptop");
    let out = jitaa()
        .args([
            "keygen",
            "--out",
            laptop.to_str().unwrap(),
            "--principal",
            "dave@laptop",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let line = std::fs::read_to_string(laptop.join("allowed_signers")).unwrap();
    w.commit("main", &[(".github/jitaa-pusher-signers", &line)]);

    let before = git(&w.origin, &["rev-parse", "main"]);
    let sha = w.commit("main", &[("src/app.rs", "v2\n")]);
    // A grant (requester alice, for 10 minutes) signed with the laptop key.
    w.grant_with(&laptop.join("jitaa_ed25519"), &sha, "refs/heads/main", 600);
    let done = w.gate(&sha).push_event(&sha, "main", &before).run();
    done.assert_code(1);
    assert_eq!(w.last_record()["kind"], "violation");

    // The same push covered by a certifier's grant is approved as a push.
    w.grant(&sha, "refs/heads/main", 600);
    let done = w
        .gate(&sha)
        .push_event(&sha, "main", &before)
        .attempt(2)
        .run();
    done.assert_code(0);
    assert!(done.stdout.contains("grant "), "{}", done.stdout);
    // And `audit verify` refuses the branch: a decision signed only by a pusher key.
    let out = jitaa()
        .args([
            "--repo",
            w.origin.to_str().unwrap(),
            "audit",
            "verify",
            "--allowed-signers",
        ])
        .arg(&w.allowed_signers)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
}

#[test]
fn a_push_to_a_release_branch_matching_protected_branches_uses_its_before() {
    let policy = format!("{PRODUCTION}protected_branches: [main, \"release/*\"]\n");
    let w = World::new(&policy);
    let before = w.commit("release/1", &[("src/app.rs", "r1\n")]);
    let sha = w.commit("release/1", &[("src/app.rs", "r2\n")]);
    w.grant(&sha, "refs/heads/release/1", 600);
    let done = w
        .gate(&sha)
        .push_event(&sha, "release/1", &before)
        .environment("production")
        .arg("--timeout")
        .arg("1s")
        .run();
    done.assert_code(3);
    assert!(
        done.stdout
            .contains(&format!("the push's `before` {}", &before[..12])),
        "{}",
        done.stdout
    );
    assert!(done.stdout.contains("grant "), "{}", done.stdout);
}

#[test]
fn a_force_push_to_main_is_a_recorded_violation() {
    let w = World::new(PRODUCTION);
    // `before` is a commit that is not an ancestor of the pushed sha (a descendant).
    let sha = w.commit("main", &[("src/app.rs", "v2\n")]);
    let elsewhere = w.commit("other", &[("src/app.rs", "x\n")]);
    let done = w
        .gate(&sha)
        .push_event(&sha, "main", &elsewhere)
        .environment("production")
        .run();
    done.assert_code(1);
    assert!(done.stdout.contains("force-push"), "{}", done.stdout);
    let last = w.last_record();
    assert_eq!(last["kind"], "violation");
    assert!(
        last["reason"]
            .as_str()
            .unwrap_or("")
            .contains("not an ancestor"),
        "{last}"
    );
    w.assert_verifies();
}
