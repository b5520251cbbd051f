//! Unit tests of the hook's pure parts: choosing stdin or PRE_COMMIT_* input, which
//! updates are gated, grant integrity checks, and the blocked message.

use super::message::{self, Blocked};
use super::protocol::RefUpdate;
use super::scope;
use super::updates_from;
use crate::audit::record::{Actor, Decision, Draft, GENESIS, Kind, Subject};
use crate::audit::{AllowedSigners, Signers, SshSigner};
use crate::codeowners::{Owner, PathOwners};
use crate::policy::{Policy, Rule};

const A: &str = "1111111111111111111111111111111111111111";
const Z: &str = "0000000000000000000000000000000000000000";

fn update(branch: &str) -> RefUpdate {
    RefUpdate {
        local_ref: format!("refs/heads/{branch}"),
        local_sha: A.into(),
        remote_ref: format!("refs/heads/{branch}"),
        remote_sha: Z.into(),
    }
}

#[test]
fn stdin_lines_win_and_pre_commit_variables_fill_in_only_when_stdin_is_empty() {
    let vars = |k: &str| match k {
        "PRE_COMMIT_TO_REF" => Some(A.to_string()),
        "PRE_COMMIT_FROM_REF" => Some(String::new()),
        "PRE_COMMIT_REMOTE_BRANCH" => Some("main".to_string()),
        _ => None,
    };
    let u = updates_from("", vars).unwrap();
    assert_eq!(u.len(), 1);
    assert_eq!(u[0].remote_ref, "refs/heads/main");
    assert!(u[0].is_new());
    let from_stdin = updates_from(&format!("refs/heads/x {A} refs/heads/x {Z}\n"), vars).unwrap();
    assert_eq!(from_stdin[0].remote_ref, "refs/heads/x");
    assert!(updates_from("", |_| None).unwrap().is_empty());
    let bad = |k: &str| (k == "PRE_COMMIT_TO_REF").then(|| "nothex".to_string());
    assert!(
        updates_from("", bad).is_err(),
        "half-set variables fail closed"
    );
}

#[test]
fn only_protected_branches_are_gated_and_tags_never_are() {
    let policy = Policy::parse(
        "p.yml",
        b"version: 1\nprotected_branches: [main, \"release/*\"]\n",
    )
    .unwrap();
    let mut tag = update("v1");
    tag.remote_ref = "refs/tags/v1".into();
    let all = [update("main"), update("feature"), update("release/2"), tag];
    let gated = scope::protected(&policy, Some("main"), &all);
    let refs: Vec<&str> = gated.iter().map(|u| u.remote_ref.as_str()).collect();
    assert_eq!(refs, ["refs/heads/main", "refs/heads/release/2"]);
    // No protected_branches: only the default branch.
    let gated = scope::protected(&Policy::builtin(), Some("trunk"), &all);
    assert!(gated.is_empty());
    let gated = scope::protected(&Policy::builtin(), Some("main"), &all);
    assert_eq!(gated.len(), 1);
}

fn signed_grant(key: &crate::keys::SigningKey) -> serde_json::Value {
    let mut d = Draft::new(
        Kind::Decision,
        "acme/api",
        Subject {
            sha: A.into(),
            git_ref: Some("refs/heads/main".into()),
            environment: None,
        },
        Actor {
            login: "bob".into(),
            id: 2,
        },
    );
    d.decision = Some(Decision::Approved);
    let payload = d.to_payload(GENESIS);
    let jcs = payload.jcs().unwrap();
    let digest = payload.digest().unwrap();
    let copy = crate::keys::SigningKey::from_openssh(
        &key.key.to_openssh(ssh_key::LineEnding::LF).unwrap(),
        "k",
    )
    .unwrap();
    let sigs = Signers::ssh(SshSigner::Key(copy))
        .sign_record(&jcs, &digest)
        .unwrap();
    serde_json::json!({"payload": payload, "digest": digest, "signatures": sigs})
}

fn key(dir: &std::path::Path, principal: &str) -> (crate::keys::SigningKey, String) {
    let g = crate::keys::generate(dir, principal).unwrap();
    let text = std::fs::read_to_string(&g.private_path).unwrap();
    (
        crate::keys::SigningKey::from_openssh(&text, "k").unwrap(),
        g.allowed_signers_line,
    )
}

#[test]
fn grant_checks_recompute_the_digest_and_verify_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let (k, line) = key(&dir.path().join("a"), "jitaa@acme");
    let (_, other_line) = key(&dir.path().join("b"), "jitaa@acme");
    let trust = |keys: Option<AllowedSigners>| crate::base::Trust {
        certifiers: keys,
        certifiers_file: ".github/jitaa-allowed-signers".into(),
        keyless: None,
    };
    let trusted = trust(Some(AllowedSigners::parse(&line, "trusted").unwrap()));
    let untrusted = trust(Some(AllowedSigners::parse(&other_line, "other").unwrap()));
    let check = |doc: &serde_json::Value, t: &crate::base::Trust| {
        crate::audit::approvals::certify(doc, t, "bob").map_err(|e| e.to_string())
    };
    let doc = signed_grant(&k);
    assert!(check(&doc, &trusted).is_ok());
    let e = check(&doc, &trust(None)).unwrap_err();
    assert!(
        e.contains("no trusted keys"),
        "without trusted keys no grant counts: {e}"
    );
    let e = check(&doc, &untrusted).unwrap_err();
    assert!(e.contains("not in the trusted"), "{e}");

    let mut altered = doc.clone();
    altered["payload"]["subject"]["sha"] = "2".repeat(40).into();
    let e = check(&altered, &trusted).unwrap_err();
    assert!(e.contains("digest mismatch"), "{e}");
    let jcs = crate::audit::record::jcs(&altered["payload"]).unwrap();
    altered["digest"] = crate::audit::record::digest_of(&jcs).into();
    let e = check(&altered, &trusted).unwrap_err();
    assert!(e.contains("does not match"), "{e}");

    let mut stripped = doc.clone();
    stripped["signatures"] = serde_json::json!([]);
    assert!(check(&stripped, &trusted).is_err());
    let mut odd = doc;
    odd["signatures"] = serde_json::json!([{"type": "pgp", "sig": "x"}]);
    assert!(check(&odd, &trusted).is_err());
}

#[test]
fn the_blocked_message_names_owners_paths_and_the_command() {
    let rule = Rule::builtin("default");
    let paths = vec![
        PathOwners {
            path: "src/lib.rs".into(),
            owners: vec![
                Owner::User("alice".into()),
                Owner::Team {
                    org: "acme".into(),
                    slug: "core".into(),
                },
            ],
            line: Some(3),
        },
        PathOwners {
            path: "notes.txt".into(),
            owners: Vec::new(),
            line: None,
        },
    ];
    let search = crate::audit::approvals::Search {
        found: None,
        rejected: vec!["grant X expired at 2026-11-25T12:00:00Z".into()],
    };
    let m = message::render(&Blocked {
        github: None,
        branch: "main",
        sha: A,
        delete: false,
        rule: &rule,
        source: ".github/jitaa.yml at origin/main 123".into(),
        paths: &paths,
        audit_branch: "jitaa/audit",
        grants: &search,
        pr: Some(&super::pr::PrVerdict::NoPr),
    });
    assert!(m.contains("`main` is blocked"), "{m}");
    assert!(
        m.contains("src/lib.rs: @alice @acme/core (CODEOWNERS line 3)"),
        "{m}"
    );
    assert!(m.contains("notes.txt: no code owner"), "{m}");
    assert!(m.contains("grant X expired"), "{m}");
    assert!(m.ends_with("jitaa request --ref main --wait"), "{m}");
}
