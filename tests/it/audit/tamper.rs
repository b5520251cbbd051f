//! Tampering with the audit branch is caught by `jitaa audit verify` (exit 4, naming
//! the first bad record and why), and an intact branch verifies.

use crate::support::records::{
    AUDIT, Fixture, chain, draft, edit_tree, id_of, in_layout, read_at, record_paths,
    rewrite_signed, trees,
};
use crate::support::{Key, stderr, stdout};
use jitaa::audit::record::Layout;

fn assert_integrity_failure(out: &std::process::Output, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(4), "exit code; stderr: {err}");
    for n in needles {
        assert!(err.contains(n), "stderr should contain `{n}`: {err}");
    }
}

#[test]
fn an_intact_branch_verifies_and_reports_its_head() {
    let f = Fixture::new();
    let digests = f.append(5);
    let out = f.verify(&["--expect-head", &digests[2]]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("verified 5 records"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains(&digests[4]));
}

#[test]
fn a_flipped_byte_in_a_record_is_a_digest_mismatch() {
    let f = Fixture::new();
    f.append(5);
    let repo = f.repo();
    let paths = record_paths(&repo);
    let mut trees = trees(&repo);
    let original = read_at(&repo, trees[2], &paths[2]);
    let text = String::from_utf8(original).unwrap().replacen(
        "\"login\": \"bob\"",
        "\"login\": \"bog\"",
        1,
    );
    for t in trees.iter_mut().skip(2) {
        *t = edit_tree(&repo, *t, &paths[2], Some(text.as_bytes()));
    }
    rewrite_signed(&repo, &trees, Some(&f.key));
    let out = f.verify(&[]);
    assert_integrity_failure(&out, &[&id_of(&paths[2]), "digest mismatch"]);
}

#[test]
fn an_edit_committed_on_top_is_refused_as_a_changed_record() {
    let f = Fixture::new();
    f.append(3);
    let repo = f.repo();
    let paths = record_paths(&repo);
    let mut trees = trees(&repo);
    let last = *trees.last().unwrap();
    trees.push(edit_tree(&repo, last, &paths[0], Some(b"{}")));
    rewrite_signed(&repo, &trees, Some(&f.key));
    assert_integrity_failure(&f.verify(&[]), &["modifies", &paths[0], "never changed"]);
}

#[test]
fn a_deleted_record_breaks_the_chain_at_its_successor() {
    let f = Fixture::new();
    f.append(5);
    let repo = f.repo();
    let paths = record_paths(&repo);
    let trees = trees(&repo);
    let rewritten: Vec<_> = trees
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 2)
        .map(|(i, t)| {
            if i > 2 {
                edit_tree(&repo, *t, &paths[2], None)
            } else {
                *t
            }
        })
        .collect();
    rewrite_signed(&repo, &rewritten, Some(&f.key));
    assert_integrity_failure(&f.verify(&[]), &[&id_of(&paths[3]), "chain broken"]);
}

#[test]
fn two_reordered_records_break_the_chain() {
    let f = Fixture::new();
    f.append(5);
    let repo = f.repo();
    let paths = record_paths(&repo);
    let mut trees = trees(&repo);
    // Commit 2 now adds record 3, commit 3 adds record 2.
    let rec3 = read_at(&repo, trees[3], &paths[3]);
    trees[2] = edit_tree(&repo, trees[1], &paths[3], Some(&rec3));
    rewrite_signed(&repo, &trees, Some(&f.key));
    assert_integrity_failure(&f.verify(&[]), &[&id_of(&paths[3]), "chain broken"]);
}

#[test]
fn a_forced_rewrite_that_drops_records_is_caught_by_expect_head() {
    let f = Fixture::new();
    let digests = f.append(5);
    let repo = f.repo();
    let commits = chain(&repo);
    // The insider force-moves the branch back two records: the rest is a valid chain.
    repo.reference(&format!("refs/heads/{AUDIT}"), commits[2], true, "force")
        .unwrap();
    let out = f.verify(&[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a truncated chain is still a chain: {}",
        stderr(&out)
    );
    let out = f.verify(&["--expect-head", &digests[4]]);
    assert_integrity_failure(&out, &[&digests[4], "not in the chain", "rewritten"]);
    // An earlier head that survived still proves fine.
    assert_eq!(
        f.verify(&["--expect-head", &digests[1]]).status.code(),
        Some(0)
    );
}

#[test]
fn a_stripped_signature_is_refused() {
    let f = Fixture::new();
    f.append(3);
    let repo = f.repo();
    let paths = record_paths(&repo);
    let mut trees = trees(&repo);
    let mut doc: serde_json::Value =
        serde_json::from_slice(&read_at(&repo, trees[1], &paths[1])).unwrap();
    doc["signatures"] = serde_json::json!([]);
    let bytes = serde_json::to_vec_pretty(&doc).unwrap();
    for t in trees.iter_mut().skip(1) {
        *t = edit_tree(&repo, *t, &paths[1], Some(&bytes));
    }
    rewrite_signed(&repo, &trees, Some(&f.key));
    assert_integrity_failure(&f.verify(&[]), &[&id_of(&paths[1]), "no signature"]);
}

#[test]
fn records_signed_by_a_key_outside_allowed_signers_are_refused_even_if_the_branch_lists_it() {
    let f = Fixture::new();
    let mallory = Key::generate(&f.tmp.path().join("mallory"), "jitaa@acme");
    let repo = f.repo();
    let store = f.store(&repo);
    store.append(&draft(0), &mallory.signers()).unwrap();
    // The branch's own allowed_signers copy lists mallory's key; it is never trusted.
    let copy = read_at(&repo, trees(&repo)[0], "allowed_signers");
    assert!(String::from_utf8_lossy(&copy).contains(&mallory.signing.public_openssh()));
    assert_integrity_failure(&f.verify(&[]), &["not in the trusted allowed signers"]);
    // With the copy as the trust file it would pass: the trust must come from outside.
    let copy_path = f.tmp.path().join("copy");
    std::fs::write(&copy_path, copy).unwrap();
    let out = f.jitaa(&["verify", "--allowed-signers", copy_path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_principal_not_allowed_for_the_key_is_refused() {
    let f = Fixture::new();
    f.append(1);
    let other = f.tmp.path().join("other_principal");
    let line =
        std::fs::read_to_string(&f.key.allowed)
            .unwrap()
            .replacen("jitaa@acme", "someone@else", 1);
    std::fs::write(&other, line).unwrap();
    let out = f.jitaa(&["verify", "--allowed-signers", other.to_str().unwrap()]);
    assert_integrity_failure(&out, &["principal `jitaa@acme` is not allowed"]);
}

#[test]
fn unsigned_commits_and_commits_signed_by_other_keys_are_refused() {
    let f = Fixture::new();
    f.append(2);
    let repo = f.repo();
    let trees = trees(&repo);
    rewrite_signed(&repo, &trees, None);
    assert_integrity_failure(&f.verify(&[]), &["commit is not signed"]);
    let mallory = Key::generate(&f.tmp.path().join("mallory"), "jitaa@acme");
    rewrite_signed(&repo, &trees, Some(&mallory));
    assert_integrity_failure(
        &f.verify(&[]),
        &["commit signature", "not in the trusted allowed signers"],
    );
}

#[test]
fn a_swapped_jwks_key_is_refused() {
    let f = Fixture::new();
    let repo = f.repo();
    let store = f.store(&repo);
    let mut d = draft(0);
    d.jwks = Some(r#"{"keys":[{"kid":"k1","kty":"RSA","n":"AQAB","e":"AQAB"}]}"#.into());
    store.append(&d, &f.key.signers()).unwrap();
    store.append(&draft(1), &f.key.signers()).unwrap();
    let mut trees = trees(&repo);
    assert!(read_at(&repo, trees[0], "jwks/k1.json").starts_with(b"{"));
    // An insider swaps the archived key (to accept tokens they minted) in a new commit.
    let last = *trees.last().unwrap();
    trees.push(edit_tree(
        &repo,
        last,
        "jwks/k1.json",
        Some(br#"{"kid":"k1","kty":"RSA","n":"EVIL","e":"AQAB"}"#),
    ));
    rewrite_signed(&repo, &trees, Some(&f.key));
    assert_integrity_failure(&f.verify(&[]), &["jwks/k1.json", "key swap"]);
}

#[test]
fn a_merge_commit_joining_a_fork_is_refused() {
    let f = Fixture::new();
    f.append(2);
    let repo = f.repo();
    let commits = chain(&repo);
    let sig = git2::Signature::now("m", "m@e").unwrap();
    let a = repo.find_commit(commits[1]).unwrap();
    let b = repo.find_commit(commits[0]).unwrap();
    let merge = repo
        .commit(None, &sig, &sig, "merge", &a.tree().unwrap(), &[&a, &b])
        .unwrap();
    repo.reference(&format!("refs/heads/{AUDIT}"), merge, true, "force")
        .unwrap();
    assert_integrity_failure(&f.verify(&[]), &["merge", "linear"]);
}

#[test]
fn a_forged_github_oidc_token_is_refused() {
    struct Fake;
    impl jitaa::audit::OidcSigner for Fake {
        fn token_for(&self, audience: &str) -> Result<String, jitaa::oidc::OidcError> {
            Ok(format!("header.{audience}.sig"))
        }
    }
    let f = Fixture::new();
    let repo = f.repo();
    let store = f.store(&repo);
    let mut signers = f.key.signers();
    signers.oidc = Some(Box::new(Fake));
    store.append(&draft(0), &signers).unwrap();
    assert_integrity_failure(&f.verify(&[]), &["github-oidc"]);
}

/// A `push` record, as the pre-push hook writes one (`i` varies the subject).
fn push_draft(i: usize) -> jitaa::audit::Draft {
    let mut d = draft(i);
    d.kind = jitaa::audit::Kind::Push;
    d.decision = Some(jitaa::audit::Decision::Approved);
    d.subject.environment = None;
    d
}

/// Issue 17, item 12: developers' keys (pusher signers) sign the hook's `push` records,
/// certifiers' keys everything. A branch with a push record signed by a pusher key and
/// a decision signed by a certifier verifies; a decision signed by a pusher key fails,
/// naming the record and the key's role.
#[test]
fn pusher_keys_sign_push_records_only() {
    let f = Fixture::new();
    let dev = Key::generate(&f.tmp.path().join("dev"), "alice@acme");
    let repo = f.repo();
    let store = f.store(&repo);
    store.append(&draft(0), &f.key.signers()).unwrap();
    store.append(&push_draft(1), &dev.signers()).unwrap();
    store.append(&draft(2), &f.key.signers()).unwrap();
    let certifiers = f.key.allowed.to_str().unwrap();
    let pushers = dev.allowed.to_str().unwrap();
    let out = f.jitaa(&[
        "verify",
        "--allowed-signers",
        certifiers,
        "--pusher-signers",
        pushers,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("verified 3 records"),
        "{}",
        stdout(&out)
    );
    // `--allowed-signers` alone trusts no pusher key.
    let push_path = record_paths(&repo)[1].clone();
    assert_integrity_failure(
        &f.verify(&[]),
        &[&id_of(&push_path), "not in the trusted allowed signers"],
    );

    // A decision (a grant, for the hook and the push check) signed by a pusher key.
    let forged = store.append(&draft(3), &dev.signers()).unwrap();
    let out = f.jitaa(&[
        "verify",
        "--allowed-signers",
        certifiers,
        "--pusher-signers",
        pushers,
    ]);
    assert_integrity_failure(
        &out,
        &[
            &id_of(&forged.path),
            "signatures[0] (ssh, principal alice@acme)",
            "pusher key",
            "not a certifier",
        ],
    );

    // A key listed in both files is a certifier.
    let both = f.tmp.path().join("both");
    std::fs::write(
        &both,
        std::fs::read_to_string(&f.key.allowed).unwrap()
            + &std::fs::read_to_string(&dev.allowed).unwrap(),
    )
    .unwrap();
    let out = f.jitaa(&[
        "verify",
        "--allowed-signers",
        both.to_str().unwrap(),
        "--pusher-signers",
        pushers,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Without flags, both lists come from the policy's files on the default branch:
/// `audit.allowed_signers` and `audit.pusher_signers` (default
/// `.github/jitaa-pusher-signers`).
#[test]
fn pusher_signers_are_read_from_the_default_branch() {
    let f = Fixture::new();
    let dev = Key::generate(&f.tmp.path().join("dev"), "alice@acme");
    let repo = f.repo();
    let mut b = git2::build::TreeUpdateBuilder::new();
    let add = |b: &mut git2::build::TreeUpdateBuilder, path: &str, file: &std::path::Path| {
        let blob = repo.blob(&std::fs::read(file).unwrap()).unwrap();
        b.upsert(path, blob, git2::FileMode::Blob);
    };
    add(&mut b, ".github/jitaa-allowed-signers", &f.key.allowed);
    add(&mut b, ".github/jitaa-pusher-signers", &dev.allowed);
    let empty = repo.treebuilder(None).unwrap().write().unwrap();
    let tree = b
        .create_updated(&repo, &repo.find_tree(empty).unwrap())
        .unwrap();
    let sig = git2::Signature::now("t", "t@e").unwrap();
    repo.commit(
        Some("refs/heads/main"),
        &sig,
        &sig,
        "keys",
        &repo.find_tree(tree).unwrap(),
        &[],
    )
    .unwrap();
    let store = f.store(&repo);
    store.append(&draft(0), &f.key.signers()).unwrap();
    store.append(&push_draft(1), &dev.signers()).unwrap();
    let out = f.jitaa(&["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let forged = store.append(&draft(2), &dev.signers()).unwrap();
    assert_integrity_failure(
        &f.jitaa(&["verify"]),
        &[
            &id_of(&forged.path),
            "pusher key",
            "main:.github/jitaa-pusher-signers:1",
        ],
    );
}

/// Every test above again on a branch written before the bucket level
/// (`records/YYYY/MM/DD/<id>.json`, DESIGN.md): each tampering fails as it does on the
/// bucketed layout, and an intact branch verifies.
mod layout_before_buckets {
    use super::*;

    macro_rules! again {
        ($($test:ident),* $(,)?) => {
            $(
                #[test]
                fn $test() {
                    in_layout(Layout::Flat, super::$test);
                }
            )*
        };
    }

    again!(
        an_intact_branch_verifies_and_reports_its_head,
        a_flipped_byte_in_a_record_is_a_digest_mismatch,
        an_edit_committed_on_top_is_refused_as_a_changed_record,
        a_deleted_record_breaks_the_chain_at_its_successor,
        two_reordered_records_break_the_chain,
        a_forced_rewrite_that_drops_records_is_caught_by_expect_head,
        a_stripped_signature_is_refused,
        records_signed_by_a_key_outside_allowed_signers_are_refused_even_if_the_branch_lists_it,
        a_principal_not_allowed_for_the_key_is_refused,
        unsigned_commits_and_commits_signed_by_other_keys_are_refused,
        a_swapped_jwks_key_is_refused,
        a_merge_commit_joining_a_fork_is_refused,
        a_forged_github_oidc_token_is_refused,
        pusher_keys_sign_push_records_only,
        pusher_signers_are_read_from_the_default_branch,
    );
}
