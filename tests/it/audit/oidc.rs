//! Keyless `github-oidc` record signatures: a token whose audience is `jitaa:<digest>`,
//! verified by `jitaa audit verify` against the JWKS archived on the audit branch, with
//! no network. Forged, re-used and foreign-issuer tokens are refused.

use crate::support::jitaa;
use crate::support::records::{AUDIT, Fixture, draft, id_of, read_at};
use crate::support::{stderr, stdout};
use jitaa::audit::{OidcSigner, Store};

/// Signs like a job would: asks the issuer for a token with the requested audience.
struct Minting(fakehub::oidc::Issuer);

impl OidcSigner for Minting {
    fn token_for(&self, audience: &str) -> Result<String, jitaa::oidc::OidcError> {
        Ok(self.0.mint(audience))
    }
}

/// Hands out one fixed token whatever the audience: a token re-used from another record.
struct Replaying(String);

impl OidcSigner for Replaying {
    fn token_for(&self, _audience: &str) -> Result<String, jitaa::oidc::OidcError> {
        Ok(self.0.clone())
    }
}

fn recent_draft(i: usize, jwks: &fakehub::oidc::Issuer) -> jitaa::audit::Draft {
    let mut d = draft(i);
    d.time = chrono::Utc::now();
    d.expires_at = Some(d.time + chrono::Duration::minutes(15));
    d.jwks = Some(jwks.jwks().to_string());
    d
}

/// `jitaa audit verify --allowed-signers TRUSTED` with `JITAA_OIDC_ISSUER`.
fn verify_with_issuer(f: &Fixture, issuer_url: &str) -> std::process::Output {
    verify_args(f, issuer_url, &[])
}

#[test]
fn records_signed_by_the_issuer_verify_offline_against_the_archived_keys() {
    let (issuer, url) = fakehub::oidc::serve_standalone();
    let f = Fixture::new();
    let repo = f.repo();
    let store = Store::new(&repo, AUDIT).unwrap();
    let mut signers = f.key.signers();
    signers.oidc = Some(Box::new(Minting(issuer.clone())));
    for i in 0..3 {
        store.append(&recent_draft(i, &issuer), &signers).unwrap();
    }
    let out = verify_with_issuer(&f, &url);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("verified 3 records"),
        "{}",
        stdout(&out)
    );

    // Verification needs no network: the same branch verifies with the issuer gone,
    // as long as the configured issuer name is the same.
    let gone = "http://127.0.0.1:9";
    let out = verify_with_issuer(&f, gone);
    assert_eq!(
        out.status.code(),
        Some(4),
        "another issuer name must not verify"
    );
}

#[test]
fn a_token_replayed_from_another_record_is_refused() {
    let (issuer, url) = fakehub::oidc::serve_standalone();
    let f = Fixture::new();
    let repo = f.repo();
    let store = Store::new(&repo, AUDIT).unwrap();
    let stale = issuer
        .mint("jitaa:sha256:0000000000000000000000000000000000000000000000000000000000000000");
    let mut signers = f.key.signers();
    signers.oidc = Some(Box::new(Replaying(stale)));
    store.append(&recent_draft(0, &issuer), &signers).unwrap();
    let out = verify_with_issuer(&f, &url);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("github-oidc"), "{}", stderr(&out));
}

#[test]
fn a_token_from_a_key_that_was_never_archived_is_refused() {
    let (issuer, url) = fakehub::oidc::serve_standalone();
    let f = Fixture::new();
    let repo = f.repo();
    let store = Store::new(&repo, AUDIT).unwrap();
    let mut signers = f.key.signers();
    signers.oidc = Some(Box::new(Minting(issuer.clone())));
    // Archive the keys, then rotate: the new key signs but is not in jwks/.
    let d = recent_draft(0, &issuer);
    issuer.rotate_dropping_old();
    store.append(&d, &signers).unwrap();
    let out = verify_with_issuer(&f, &url);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("not archived"), "{}", stderr(&out));
}

/// `jitaa audit verify --allowed-signers TRUSTED EXTRA...` with `JITAA_OIDC_ISSUER`.
fn verify_args(f: &Fixture, issuer_url: &str, extra: &[&str]) -> std::process::Output {
    jitaa()
        .arg("--repo")
        .arg(&f.dir)
        .args(["audit", "verify", "--allowed-signers"])
        .arg(&f.key.allowed)
        .args(extra)
        .env("JITAA_OIDC_ISSUER", issuer_url)
        .output()
        .expect("jitaa runs")
}

/// Signers with only a `github-oidc` token: the commit is not signed.
fn keyless(issuer: &fakehub::oidc::Issuer) -> jitaa::audit::Signers {
    jitaa::audit::Signers {
        ssh: None,
        oidc: Some(Box::new(Minting(issuer.clone()))),
    }
}

/// An issuer named `url` (its `iss`) that signs with a key `url`'s real issuer never
/// published: the attacker's own RSA key.
fn impostor(url: &str) -> fakehub::oidc::Issuer {
    let evil = fakehub::oidc::Issuer::new();
    evil.rotate_dropping_old();
    evil.set_base_url(url);
    evil
}

/// Issue 17, item 6: one unsigned commit archives the attacker's own key in `jwks/` and
/// adds an "approved" record whose only signature is a token signed with that key.
/// A key found only in the branch's archive proves nothing: exit 4, naming the record,
/// with and without `--expect-head`.
#[test]
fn a_record_signed_only_by_a_key_the_branch_itself_archived_is_refused() {
    let (issuer, url) = fakehub::oidc::serve_standalone();
    let f = Fixture::new();
    let digests = f.append(2);
    let evil = impostor(&url);
    assert_ne!(evil.current_kid(), issuer.current_kid());
    let repo = f.repo();
    let store = Store::new(&repo, AUDIT).unwrap();
    let forged = store
        .append(&recent_draft(7, &evil), &keyless(&evil))
        .unwrap();
    let tree = repo.find_commit(forged.commit).unwrap().tree_id();
    let archived = read_at(&repo, tree, &format!("jwks/{}.json", evil.current_kid()));
    assert!(archived.starts_with(b"{"), "the forged key is archived");
    for extra in [vec![], vec!["--expect-head", digests[1].as_str()]] {
        let out = verify_args(&f, &url, &extra);
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(4),
            "{extra:?}: {err}{}",
            stdout(&out)
        );
        assert!(err.contains(&id_of(&forged.path)), "{err}");
        assert!(err.contains("not trusted"), "{err}");
        assert!(err.contains(&evil.current_kid()), "{err}");
    }
    // The same forgery with the issuer unreachable: nothing trusted can vouch for the
    // key, so verification fails closed and says how to check it offline.
    let g = Fixture::new();
    g.append(1);
    let offline = "http://127.0.0.1:9";
    let evil = impostor(offline);
    let repo = g.repo();
    let store = Store::new(&repo, AUDIT).unwrap();
    store
        .append(&recent_draft(3, &evil), &keyless(&evil))
        .unwrap();
    let out = verify_args(&g, offline, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("--jwks FILE"), "{err}");
}

/// The legitimate keyless path: a record whose only signature is a `github-oidc`
/// token (its commit unsigned) verifies when the token's key comes from outside the
/// branch: `--jwks FILE` (no network), or the issuer's live JWKS.
#[test]
fn a_keyless_record_verifies_with_the_key_from_jwks_file_or_the_live_issuer() {
    let (issuer, url) = fakehub::oidc::serve_standalone();
    let f = Fixture::new();
    f.append(1);
    let repo = f.repo();
    let store = Store::new(&repo, AUDIT).unwrap();
    store
        .append(&recent_draft(1, &issuer), &keyless(&issuer))
        .unwrap();
    let out = verify_args(&f, &url, &[]);
    assert_eq!(out.status.code(), Some(0), "live: {}", stderr(&out));
    let fetched = issuer.jwks_fetches();
    assert!(fetched >= 1, "the live JWKS was read");

    // Offline: the issuer's name is the same, nothing answers there.
    let offline = "http://127.0.0.1:9";
    let g = Fixture::new();
    let quiet = fakehub::oidc::Issuer::new();
    quiet.set_base_url(offline);
    let repo = g.repo();
    let store = Store::new(&repo, AUDIT).unwrap();
    for i in 0..3 {
        store
            .append(&recent_draft(i, &quiet), &keyless(&quiet))
            .unwrap();
    }
    let jwks = g.tmp.path().join("jwks.json");
    std::fs::write(&jwks, quiet.jwks().to_string()).unwrap();
    let out = verify_args(&g, offline, &["--jwks", jwks.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "--jwks: {}", stderr(&out));
    assert!(
        stdout(&out).contains("verified 3 records"),
        "{}",
        stdout(&out)
    );
    // --issuer names the issuer as JITAA_OIDC_ISSUER does.
    let out = verify_args(
        &g,
        "http://127.0.0.1:1",
        &["--issuer", offline, "--jwks", jwks.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "--issuer: {}", stderr(&out));
    // An issuer that is not https (off loopback) is a usage error, before any request.
    let out = verify_args(&g, offline, &["--issuer", "http://issuer.example.com"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--issuer"), "{}", stderr(&out));
    // Without it, nothing vouches for the archived key: fail closed.
    let out = verify_args(&g, offline, &[]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("--jwks FILE"), "{}", stderr(&out));
    // A JWKS file with another key under the same kid vouches for nothing.
    let swapped = impostor(offline)
        .jwks()
        .to_string()
        .replace(&impostor(offline).current_kid(), &quiet.current_kid());
    std::fs::write(&jwks, swapped).unwrap();
    let out = verify_args(&g, offline, &["--jwks", jwks.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("different key"), "{}", stderr(&out));
    // A --jwks file that is not a JWKS is a usage error naming it.
    std::fs::write(&jwks, "{\"nokeys\": 1}").unwrap();
    let out = verify_args(&g, offline, &["--jwks", jwks.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("jwks.json"), "{}", stderr(&out));
}

/// A key archived by a commit carrying a certifier's `ssh` signature vouches for later
/// keyless records signed with it, with no network.
#[test]
fn a_key_archived_by_a_certifier_signed_commit_needs_no_network() {
    let offline = "http://127.0.0.1:9";
    let quiet = fakehub::oidc::Issuer::new();
    quiet.set_base_url(offline);
    let f = Fixture::new();
    let repo = f.repo();
    let store = Store::new(&repo, AUDIT).unwrap();
    let mut signers = f.key.signers();
    signers.oidc = Some(Box::new(Minting(quiet.clone())));
    store.append(&recent_draft(0, &quiet), &signers).unwrap();
    for i in 1..3 {
        store
            .append(&recent_draft(i, &quiet), &keyless(&quiet))
            .unwrap();
    }
    let out = verify_args(&f, offline, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("verified 3 records"),
        "{}",
        stdout(&out)
    );
}
