//! `jitaa gate` end to end, where the request and the rules live when there is no pull
//! request: a request issue (reused on re-runs), the last approved deployment as the
//! base of a workflow_dispatch run, and a shallow checkout that lacks the base commit.

use crate::support::{POLICY, REPO, World, git, git_raw};

#[test]
fn without_a_pr_the_request_goes_to_a_request_issue_reused_on_reruns() {
    let w = World::new(POLICY);
    let before = w.main.clone();
    let sha = w.commit("topic", &[("src/app.rs", "v2\n")]);
    let gate = w
        .gate(&sha)
        .push_event(&sha, "topic", &before)
        .arg("--timeout")
        .arg("1s")
        .spawn();
    gate.finish().assert_code(3);
    let issues = w.hub.issues(REPO);
    assert_eq!(issues.len(), 1);
    let issue = issues[0].0;

    let gate = w
        .gate(&sha)
        .push_event(&sha, "topic", &before)
        .attempt(2)
        .spawn();
    w.wait_for_requests(issue, 2);
    w.hub.comment_as("carol", REPO, issue, "/approve").unwrap();
    let done = gate.finish();
    done.assert_code(0);
    assert_eq!(w.hub.issues(REPO).len(), 1, "the issue was reused");
    let rec = w.last_record();
    assert_eq!(rec["decision"], "approved");
    assert_eq!(rec["subject"]["ref"], "refs/heads/topic");
    w.assert_verifies();
}

#[test]
fn workflow_dispatch_reads_the_rules_at_the_last_approved_deployment() {
    let w = World::new(POLICY);
    // sha1 carries a policy that lets production deploy without approvals; it is
    // approved under main's policy first (one owner).
    let relaxed = "version: 1\naudit:\n  signing: [ssh]\nrules:\n  - name: relaxed-at-last-deploy\n    match: { environment: production }\n    approvals: 0\n";
    let sha1 = w.commit(
        "feature",
        &[("src/app.rs", "v2\n"), (".github/jitaa.yml", relaxed)],
    );
    let pr = w.open_pr(&sha1, &["src/app.rs", ".github/jitaa.yml"]);
    let gate = w.gate(&sha1).environment("production").spawn();
    w.wait_for_request(pr);
    w.hub.comment_as("bob", REPO, pr, "/approve").unwrap();
    gate.finish().assert_code(0);
    assert_eq!(w.last_record()["rule"]["name"], "default");

    let sha2 = w.commit("feature", &[("src/app.rs", "v3\n")]);
    let done = w
        .gate(&sha2)
        .event("workflow_dispatch", "refs/heads/feature")
        .environment("production")
        .run();
    done.assert_code(0);
    assert!(
        done.stdout.contains("last approved deployment"),
        "{}",
        done.stdout
    );
    let rec = w.last_record();
    assert_eq!(rec["decision"], "auto");
    assert_eq!(rec["rule"]["name"], "relaxed-at-last-deploy");
    w.assert_verifies();
}

#[test]
fn workflow_dispatch_without_an_earlier_deployment_uses_the_default_branch() {
    let w = World::new(POLICY);
    let sha = w.commit(
        "feature",
        &[
            ("src/app.rs", "v2\n"),
            (
                ".github/jitaa.yml",
                "version: 1\naudit:\n  signing: [ssh]\ndefaults:\n  approvals: 0\n",
            ),
        ],
    );
    let done = w
        .gate(&sha)
        .event("workflow_dispatch", "refs/heads/feature")
        .environment("production")
        .arg("--timeout")
        .arg("1s")
        .run();
    done.assert_code(3);
    assert!(
        done.stdout.contains("the default branch `main`"),
        "{}",
        done.stdout
    );
    w.assert_verifies();
}

#[test]
fn a_shallow_checkout_fetches_the_base_commit() {
    let w = World::new(POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    let shallow = w.tmp.path().join("shallow");
    let url = format!("file://{}", w.origin.display());
    git(
        w.tmp.path(),
        &[
            "clone", "--quiet", "--depth", "1", "--branch", "feature", &url, "shallow",
        ],
    );
    let main = w.main.clone();
    assert!(
        !git_raw(&shallow, &["cat-file", "-e", &main])
            .status
            .success(),
        "the base is not in the shallow clone"
    );
    let gate = w
        .gate(&sha)
        .arg("--repo")
        .arg(shallow.to_str().unwrap())
        .spawn();
    w.wait_for_request(pr);
    w.hub.comment_as("bob", REPO, pr, "/approve").unwrap();
    let done = gate.finish();
    done.assert_code(0);
    assert!(
        done.stdout
            .contains("policy .github/jitaa.yml and CODEOWNERS read at pull request #1's base"),
        "{}",
        done.stdout
    );
    assert_eq!(w.last_record()["rule"]["name"], "default");
    w.assert_verifies();
}
