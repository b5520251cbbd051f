//! Auditors need no jitaa: stock `ssh-keygen -Y verify` accepts record signatures over
//! the JCS bytes, `git verify-commit` (gpg.format=ssh) accepts the audit commits, and
//! the hand-verification script in the branch README (and the project README) works —
//! and fails on a tampered branch. Also: log/show/export output and filters.

use std::process::Command;

use crate::support::records::{
    AUDIT, Fixture, audit_in, chain, edit_tree, read_at, record_paths, rewrite_signed, trees,
};
use crate::support::{git, git_cmd, isolated, jitaa, stderr, stdout};

pub(super) fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
        || Command::new("which")
            .arg(tool)
            .output()
            .is_ok_and(|o| o.status.success())
}

#[test]
fn ssh_keygen_verifies_a_record_signature_over_its_jcs_bytes() {
    let f = Fixture::new();
    f.append(1);
    let repo = f.repo();
    let path = &record_paths(&repo)[0];
    let rec: jitaa::audit::Record =
        serde_json::from_slice(&read_at(&repo, trees(&repo)[0], path)).unwrap();
    let jitaa::audit::record::Signature::Ssh { principal, sig } = &rec.signatures[0] else {
        panic!("ssh signature first")
    };
    let dir = f.tmp.path();
    std::fs::write(dir.join("rec.sig"), sig).unwrap();
    std::fs::write(dir.join("rec.jcs"), rec.payload.jcs().unwrap()).unwrap();
    let run = |data: &str, principal: &str| {
        Command::new("sh")
            .current_dir(dir)
            .arg("-c")
            .arg(format!(
                "ssh-keygen -Y verify -f '{}' -I '{principal}' -n jitaa-audit -s rec.sig < {data}",
                f.key.allowed.display()
            ))
            .output()
            .unwrap()
    };
    let ok = run("rec.jcs", principal);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        String::from_utf8_lossy(&ok.stdout)
            .contains("Good \"jitaa-audit\" signature for jitaa@acme")
    );
    std::fs::write(dir.join("other.jcs"), b"{}").unwrap();
    assert!(
        !run("other.jcs", principal).status.success(),
        "other bytes must not verify"
    );
    assert!(
        !run("rec.jcs", "nobody").status.success(),
        "other principal must not verify"
    );
}

#[test]
fn git_verify_commit_accepts_every_audit_commit() {
    let f = Fixture::new();
    f.append(3);
    let repo = f.repo();
    for c in chain(&repo) {
        let out = git_cmd(&f.dir)
            .args(["-c", "gpg.format=ssh", "-c"])
            .arg(format!(
                "gpg.ssh.allowedSignersFile={}",
                f.key.allowed.display()
            ))
            .args(["verify-commit", &c.to_string()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "verify-commit {c}: {err}");
        assert!(err.contains("Good \"git\" signature"), "{err}");
    }
}

/// The ```sh block of a README that walks the whole chain.
pub(super) fn chain_script(readme: &str) -> String {
    readme
        .split("```sh\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .find(|b| b.contains("for c in $(git rev-list"))
        .expect("a chain script in the README")
        .to_string()
}

pub(super) fn run_script(f: &Fixture, script: &str) -> std::process::Output {
    std::fs::copy(&f.key.allowed, f.dir.join("trusted_signers")).unwrap();
    isolated(&mut Command::new("bash"))
        .current_dir(&f.dir)
        .env("B", AUDIT)
        .arg("-c")
        .arg(script)
        .output()
        .unwrap()
}

#[test]
fn the_readme_hand_verification_script_passes_and_catches_tampering() {
    if !have("jq") {
        eprintln!("skipping: jq is not installed");
        return;
    }
    let f = Fixture::new();
    let digests = f.append(4);
    let branch_readme = jitaa::audit::store::BRANCH_README;
    let project_readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    // The README on the branch is the one jitaa wrote.
    let repo = f.repo();
    assert_eq!(
        read_at(&repo, trees(&repo)[0], "README.md"),
        branch_readme.as_bytes()
    );
    for readme in [branch_readme, project_readme.as_str()] {
        let script = chain_script(readme);
        let out = run_script(&f, &script);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "script failed: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains(&format!("head {}", digests[3])), "{text}");
    }
    // Tamper: flip a byte in record 1 (history rewritten, commits re-signed by an insider).
    let paths = record_paths(&repo);
    let mut trees = trees(&repo);
    let text = String::from_utf8(read_at(&repo, trees[1], &paths[1]))
        .unwrap()
        .replacen("carol", "carpl", 1);
    for t in trees.iter_mut().skip(1) {
        *t = edit_tree(&repo, *t, &paths[1], Some(text.as_bytes()));
    }
    rewrite_signed(&repo, &trees, Some(&f.key));
    let out = run_script(&f, &chain_script(branch_readme));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains(&format!("BAD digest {}", paths[1])), "{text}");
}

#[test]
fn log_show_and_export_filter_and_format_records() {
    let f = Fixture::new();
    let digests = f.append(8);
    // table
    let out = f.jitaa(&["log"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 9, "{}", stdout(&out));
    // filters: environment production = even i; decision denied = i%4==3; actor alice = i%3==0
    let json = |args: &[&str]| -> Vec<serde_json::Value> {
        let mut a = vec!["log"];
        a.extend_from_slice(args);
        let out = jitaa()
            .arg("--repo")
            .arg(&f.dir)
            .arg("--format")
            .arg("json")
            .arg("audit")
            .args(&a)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    assert_eq!(json(&["--environment", "production"]).len(), 4);
    assert_eq!(json(&["--decision", "denied"]).len(), 2);
    assert_eq!(json(&["--actor", "alice"]).len(), 3);
    assert_eq!(
        json(&["--actor", "bob"]).len(),
        8,
        "approvers count as actors"
    );
    assert_eq!(
        json(&[
            "--since",
            "2026-11-25T12:03:00Z",
            "--until",
            "2026-11-25T12:05:00Z"
        ])
        .len(),
        3
    );
    let all = json(&[]);
    assert_eq!(all[7]["digest"], digests[7]);
    assert!(all[0]["commit"].as_str().unwrap().len() == 40);
    // show
    let id = all[2]["payload"]["id"].as_str().unwrap();
    let out = f.jitaa(&["show", id]);
    assert!(stdout(&out).contains(&digests[2]), "{}", stdout(&out));
    assert_eq!(
        f.jitaa(&["show", "01NOSUCHRECORD0000000000000"])
            .status
            .code(),
        Some(2)
    );
    // export csv: header + one row per decision
    let out = jitaa()
        .arg("--repo")
        .arg(&f.dir)
        .args([
            "audit",
            "export",
            "--since",
            "2026-11-25",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut rdr = csv::Reader::from_reader(out.stdout.as_slice());
    let headers = rdr.headers().unwrap().clone();
    for col in [
        "time",
        "repository",
        "sha",
        "ref",
        "environment",
        "requester",
        "approvers",
        "rule",
        "decision",
        "expires_at",
        "digest",
        "commit",
    ] {
        assert!(headers.iter().any(|h| h == col), "missing column {col}");
    }
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 8);
    let d = headers.iter().position(|h| h == "digest").unwrap();
    assert_eq!(&rows[5][d], digests[5].as_str());
    // bad flags are usage errors naming the flag
    let out = f.jitaa(&["log", "--since", "yesterdayish"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--since"));
}

#[test]
fn commands_read_the_remote_tracking_branch_and_ref() {
    let f = Fixture::new();
    f.append(2);
    let clone = f.tmp.path().join("clone");
    git(f.tmp.path(), &["init", "-q", clone.to_str().unwrap()]);
    git(
        &clone,
        &["remote", "add", "origin", f.dir.to_str().unwrap()],
    );
    git(
        &clone,
        &[
            "fetch",
            "-q",
            "origin",
            "+refs/heads/jitaa/audit:refs/remotes/origin/jitaa/audit",
        ],
    );
    let allowed = f.key.allowed.to_str().unwrap();
    let out = audit_in(&clone, &["verify", "--allowed-signers", allowed]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("origin/jitaa/audit"),
        "{}",
        stdout(&out)
    );
    let out = audit_in(
        &clone,
        &[
            "verify",
            "--allowed-signers",
            allowed,
            "--ref",
            "origin/jitaa/audit~1",
        ],
    );
    assert!(
        stdout(&out).contains("verified 1 records"),
        "{}",
        stdout(&out)
    );
    let out = audit_in(&clone, &["--branch", "nope", "log"]);
    assert_eq!(out.status.code(), Some(2));
    let out = audit_in(&clone, &["verify"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "no trusted keys is a usage error"
    );
}
