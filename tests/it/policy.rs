//! The real `jitaa policy check|explain` binary on real temporary git repositories.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

use crate::support::{git, write};

const POLICY: &str = "version: 1\nrules:\n  - name: production\n    match: { environment: production }\n    approvals: 2\n    approvers: [\"@acme/sre\"]\n    codeowners: all\n  - name: docs-only\n    match: { paths: [\"docs/**\"] }\n    approvals: 0\n";
const CODEOWNERS: &str = "* @global\n*.rs @rustacean @acme/core\n/docs/\n";

/// A repo with policy and CODEOWNERS on `main`, and a `feature` branch changing two files.
fn repo() -> TempDir {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    write(d, ".github/jitaa.yml", POLICY);
    write(d, ".github/CODEOWNERS", CODEOWNERS);
    write(d, "src/lib.rs", "a\n");
    write(d, "README.md", "r\n");
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "init"]);
    git(d, &["checkout", "-q", "-b", "feature"]);
    write(d, "src/lib.rs", "b\n");
    write(d, "docs/guide.md", "g\n");
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "change"]);
    dir
}

/// `jitaa` in `dir`, with no ambient git, GitHub or jitaa variables.
fn jitaa(dir: &Path) -> Command {
    let mut c = Command::from_std(crate::support::jitaa());
    c.current_dir(dir);
    c
}

fn json_of(out: &[u8]) -> Value {
    serde_json::from_slice(out).expect("stdout is JSON")
}

#[test]
fn check_accepts_the_committed_policy() {
    let r = repo();
    jitaa(r.path())
        .args(["policy", "check"])
        .assert()
        .code(0)
        .stdout("ok: .github/jitaa.yml: 2 rules\n");
}

#[test]
fn check_reports_file_line_column_and_exits_2_for_each_kind_of_bad_input() {
    let r = repo();
    for (text, want) in [
        (
            "version: 1\ndefaults:\n  aprovers: codeowners\n",
            "bad.yml:3:3: defaults.aprovers: unknown key; did you mean `approvers`?",
        ),
        (
            "version: 1\ndefaults:\n  approvals: lots\n",
            "bad.yml:3:14: defaults.approvals: expected a whole number, found `lots`",
        ),
        (
            "version: 1\nprotected_branches: [\"release/[\"]\n",
            "bad.yml:2:22: protected_branches: `release/[` is not a valid glob",
        ),
        (
            "version: 1\ndefaults:\n  timeout: tomorrow\n",
            "bad.yml:3:12: defaults.timeout: `tomorrow` is not a duration",
        ),
        (
            "version: 1\ndefaults:\n  approvals: 101\n",
            "bad.yml:3:14: defaults.approvals: 101 is not between 0 and 100",
        ),
        (
            "version: 1\ndefaults:\n  ttl: 0s\n",
            "bad.yml:3:8: defaults.ttl: must be more than zero",
        ),
        ("version: 3\n", "bad.yml:1:10: version: 3 is not supported"),
        (
            "version: 1\nrules:\n  - name: a\n  - name: a\n",
            "bad.yml:4:11: rules[1].name: duplicate rule name `a`",
        ),
        (
            "version: 1\ndefaults:\n  approvers: []\n",
            "bad.yml:3:14: defaults.approvers: empty list",
        ),
        ("", "bad.yml: empty"),
    ] {
        write(r.path(), "bad.yml", text);
        jitaa(r.path())
            .args(["policy", "check", "bad.yml"])
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(want));
    }
    std::fs::write(r.path().join("bad.yml"), b"version: 1\n# \xff\n").unwrap();
    jitaa(r.path())
        .args(["policy", "check", "bad.yml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.yml: not UTF-8"));
    std::fs::write(r.path().join("bad.yml"), vec![b'#'; 2 * 1024 * 1024]).unwrap();
    jitaa(r.path())
        .args(["policy", "check", "bad.yml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("at most 1048576 bytes"));
    jitaa(r.path())
        .args(["policy", "check", "missing.yml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.yml"));
}

#[test]
fn check_without_path_reads_the_work_tree_and_ref_reads_the_commit() {
    let r = repo();
    // The user just edited the policy: `check` sees the edit, not the commit.
    write(r.path(), ".github/jitaa.yml", "version: 9\n");
    jitaa(r.path())
        .args(["policy", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            ".github/jitaa.yml:1:10: version: 9 is not supported",
        ));
    // The committed policy is still good, and says where it was read.
    jitaa(r.path())
        .args(["policy", "check", "--ref", "HEAD"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "ok: .github/jitaa.yml at HEAD (",
        ))
        .stdout(predicate::str::contains("2 rules"));
    git(r.path(), &["commit", "-q", "-am", "break policy"]);
    jitaa(r.path())
        .args(["policy", "check", "--ref", "HEAD"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            ".github/jitaa.yml:1:10: version: 9 is not supported",
        ));
}

#[test]
fn check_reports_codeowners_lines_github_would_ignore() {
    let r = repo();
    write(
        r.path(),
        ".github/CODEOWNERS",
        "* @acme/core\nsrc/ not-an-owner\n",
    );
    jitaa(r.path())
        .args(["policy", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid CODEOWNERS"))
        .stderr(predicate::str::contains(".github/CODEOWNERS:2:"));
    // The committed CODEOWNERS is fine.
    jitaa(r.path())
        .args(["policy", "check", "--ref", "HEAD"])
        .assert()
        .code(0);
}

#[test]
fn check_in_a_repository_without_commits_reads_the_work_tree() {
    let dir = TempDir::new().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    write(dir.path(), ".github/jitaa.yml", POLICY);
    jitaa(dir.path())
        .args(["policy", "check"])
        .assert()
        .code(0)
        .stdout("ok: .github/jitaa.yml: 2 rules\n");
}

#[test]
fn a_format_the_command_does_not_print_is_a_usage_error_and_json_failures_are_json() {
    let r = repo();
    jitaa(r.path())
        .args(["policy", "explain", "--format", "csv"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--format csv: `jitaa policy explain` prints table or json",
        ));
    let out = jitaa(r.path())
        .args(["policy", "check", "missing.yml", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v = json_of(&out.stdout);
    assert_eq!(v["code"], 2);
    assert_eq!(v["error"]["kind"], "usage");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing.yml"),
        "{v}"
    );
}

#[test]
fn explain_text_shows_rule_why_approvers_and_deciding_lines() {
    let r = repo();
    jitaa(r.path())
        .args(["policy", "explain"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("rule:        default"))
        .stdout(predicate::str::contains("rule `docs-only` (line 8) does not match: path `src/lib.rs` matches none of [`docs/**`]"))
        .stdout(predicate::str::contains("approvals:   1 from code owners of the changed paths: @rustacean, @acme/core"))
        .stdout(predicate::str::contains("src/lib.rs  @rustacean @acme/core  (line 2: `*.rs`)"))
        .stdout(predicate::str::contains("docs/guide.md  unowned  (line 3: `/docs/`)"))
        .stdout(predicate::str::contains("README.md").not());
}

#[test]
fn explain_json_has_the_documented_shape() {
    let r = repo();
    let out = jitaa(r.path())
        .args([
            "policy",
            "explain",
            "--environment",
            "production",
            "--format",
            "json",
            "--path",
            "src/lib.rs",
            "--path",
            "docs/guide.md",
            "--path",
            "x/README.md",
        ])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    assert_eq!(v["rule"], "production");
    assert_eq!(v["approvals"], 2);
    assert_eq!(v["approvers"], serde_json::json!(["@acme/sre"]));
    assert_eq!(v["self_approval"], false);
    assert_eq!(v["ttl"], "15m");
    assert_eq!(v["timeout"], "30m");
    assert_eq!(
        v["paths"],
        serde_json::json!([
            {"path": "src/lib.rs", "owners": ["@rustacean", "@acme/core"], "line": 2},
            {"path": "docs/guide.md", "owners": [], "line": 3},
            {"path": "x/README.md", "owners": ["@global"], "line": 1},
        ])
    );
}

#[test]
fn explain_uses_docs_only_rule_when_every_path_is_docs() {
    let r = repo();
    let out = jitaa(r.path())
        .args([
            "policy",
            "explain",
            "--format",
            "json",
            "--path",
            "docs/a.md",
        ])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    assert_eq!(v["rule"], "docs-only");
    assert_eq!(v["approvals"], 0);
    assert_eq!(v["paths"][0]["line"], 3);
}

#[test]
fn explain_ignores_uncommitted_policy_and_codeowners() {
    let r = repo();
    write(
        r.path(),
        ".github/jitaa.yml",
        "version: 1\ndefaults:\n  approvals: 7\n",
    );
    write(r.path(), ".github/CODEOWNERS", "* @mallory\n");
    let out = jitaa(r.path())
        .args([
            "policy",
            "explain",
            "--format",
            "json",
            "--path",
            "src/lib.rs",
        ])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    assert_eq!(v["approvals"], 1, "the work tree's policy must not be read");
    assert_eq!(
        v["paths"][0]["owners"],
        serde_json::json!(["@rustacean", "@acme/core"])
    );
}

#[test]
fn explain_reads_the_given_ref() {
    let r = repo();
    git(r.path(), &["checkout", "-q", "main"]);
    write(r.path(), ".github/CODEOWNERS", "* @newowner\n");
    git(r.path(), &["commit", "-q", "-am", "new owners"]);
    let at = |git_ref: &str| {
        let out = jitaa(r.path())
            .args([
                "policy", "explain", "--format", "json", "--ref", git_ref, "--path", "a.txt",
            ])
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        json_of(&out)["paths"][0]["owners"].clone()
    };
    assert_eq!(at("main"), serde_json::json!(["@newowner"]));
    assert_eq!(at("feature"), serde_json::json!(["@global"]));
    jitaa(r.path())
        .args(["policy", "explain", "--ref", "nope"])
        .assert()
        .code(2);
}

#[test]
fn no_policy_file_means_the_builtin_defaults() {
    let r = repo();
    git(r.path(), &["rm", "-q", ".github/jitaa.yml"]);
    git(r.path(), &["commit", "-q", "-m", "no policy"]);
    jitaa(r.path())
        .args(["policy", "check"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("built-in defaults"));
    let out = jitaa(r.path())
        .args([
            "policy",
            "explain",
            "--format",
            "json",
            "--environment",
            "production",
            "--path",
            "a.rs",
        ])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v = json_of(&out);
    assert_eq!(
        (v["rule"].as_str(), v["approvals"].as_u64()),
        (Some("default"), Some(1))
    );
    assert_eq!(v["self_approval"], false);
}

#[test]
fn help_has_examples() {
    let r = repo();
    for cmd in [
        &["policy", "check", "--help"][..],
        &["policy", "explain", "--help"],
        &["policy", "--help"],
    ] {
        jitaa(r.path())
            .args(cmd)
            .assert()
            .code(0)
            .stdout(predicate::str::contains("Example"));
    }
}

#[test]
fn check_warns_when_a_timeout_outlives_a_hosted_job() {
    let r = repo();
    write(
        r.path(),
        "long.yml",
        "version: 1\ndefaults:\n  timeout: 8h\nrules:\n  - name: quick\n    timeout: 6h\n  - name: overnight\n    timeout: 12h\n",
    );
    // Outside Actions: a plain warning per rule on stderr; still valid (exit 0).
    jitaa(r.path())
        .args(["policy", "check", "long.yml"])
        .env_remove("GITHUB_ACTIONS")
        .assert()
        .code(0)
        .stdout("ok: long.yml: 2 rules\n")
        .stderr(
            predicate::str::contains("warning: rule `overnight`: timeout 12h exceeds the 6h limit")
                .and(predicate::str::contains("rule `default`: timeout 8h"))
                .and(predicate::str::contains("`quick`").not()),
        );
    // In Actions: a ::warning:: annotation.
    jitaa(r.path())
        .args(["policy", "check", "long.yml"])
        .env("GITHUB_ACTIONS", "true")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("::warning::rule `overnight`"));
    // JSON: the warnings are a field, and stdout stays one JSON document.
    let out = jitaa(r.path())
        .args(["policy", "check", "long.yml", "--format", "json"])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let json = json_of(&out.stdout);
    let warnings = json["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 2);
    assert!(warnings[0].as_str().unwrap().contains("`overnight`"));
    // A policy within the limit says nothing.
    jitaa(r.path())
        .args(["policy", "check"])
        .env_remove("GITHUB_ACTIONS")
        .assert()
        .code(0)
        .stderr("");
}
