//! Keyless `github-oidc` record signatures: a token whose audience is `jitaa:<digest>`,
//! verified by `jitaa audit verify` against the JWKS archived on the audit branch, with
//! no network. Forged, re-used and foreign-issuer tokens are refused.

mod audit_support;

use audit_support::*;
use jitaa::audit::{OidcSigner, Store};

/// Signs like a job would: asks the issuer for a token with the requested audience.
struct Minting(fakehub::oidc::Issuer);

impl OidcSigner for Minting {
    fn token_for(&self, audience: &str) -> Result<String, String> {
        Ok(self.0.mint(audience))
    }
}

/// Hands out one fixed token whatever the audience: a token re-used from another record.
struct Replaying(String);

impl OidcSigner for Replaying {
    fn token_for(&self, _audience: &str) -> Result<String, String> {
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

fn verify_with_issuer(f: &Fixture, issuer_url: &str) -> std::process::Output {
    isolate_git();
    std::process::Command::new(env!("CARGO_BIN_EXE_jitaa"))
        .arg("--repo")
        .arg(&f.dir)
        .args(["audit", "verify", "--allowed-signers"])
        .arg(&f.key.allowed)
        .env("JITAA_OIDC_ISSUER", issuer_url)
        .output()
        .expect("jitaa runs")
}

#[test]
fn records_signed_by_the_issuer_verify_offline_against_the_archived_keys() {
    let (issuer, url) = fakehub::oidc::serve_standalone();
    let f = Fixture::new();
    let repo = f.repo();
    let store = Store::new(&repo, BRANCH).unwrap();
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
    let store = Store::new(&repo, BRANCH).unwrap();
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
    let store = Store::new(&repo, BRANCH).unwrap();
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
