//! Which earlier records count: trusted (digest and SSH signature by a trusted key),
//! unexpired, and about the same repository, sha and environment or ref.

use chrono::{Duration, Utc};

use super::record::{is_trusted, reusable};
use crate::audit::{
    Actor, AllowedSigners, Decision, Draft, Kind, Record, Signers, SshSigner, Subject,
};
use crate::keys::SigningKey;

pub(crate) struct Keys {
    pub signers: Signers,
    pub trusted: AllowedSigners,
    _dir: tempfile::TempDir,
}

pub(crate) fn keys() -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let g = crate::keys::generate(dir.path(), "jitaa@test").unwrap();
    let text = std::fs::read_to_string(&g.private_path).unwrap();
    let key = SigningKey::from_openssh(&text, "test").unwrap();
    Keys {
        signers: Signers::ssh(SshSigner::Key(key)),
        trusted: AllowedSigners::parse(&g.allowed_signers_line, "test").unwrap(),
        _dir: dir,
    }
}

/// A signed record (not chained: `prev` is genesis).
pub(crate) fn signed(
    signers: &Signers,
    kind: Kind,
    decision: Option<Decision>,
    subject: Subject,
    expires_in: Duration,
) -> Record {
    let mut d = Draft::new(
        kind,
        "acme/api",
        subject,
        Actor {
            login: "alice".into(),
            id: 1,
        },
    );
    d.decision = decision;
    d.expires_at = Some(Utc::now() + expires_in);
    let payload = d.to_payload(crate::audit::record::GENESIS);
    let jcs = payload.jcs().unwrap();
    let digest = crate::audit::record::digest_of(&jcs);
    let signatures = signers.sign_record(&jcs, &digest).unwrap();
    Record {
        payload,
        digest,
        signatures,
    }
}

pub(crate) fn deploy(sha: &str, env: &str) -> Subject {
    Subject {
        sha: sha.into(),
        git_ref: Some("refs/heads/main".into()),
        environment: Some(env.into()),
    }
}

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

#[test]
fn a_trusted_unexpired_approval_of_the_same_deployment_is_reused() {
    let k = keys();
    let ok = signed(
        &k.signers,
        Kind::Decision,
        Some(Decision::Approved),
        deploy(SHA, "prod"),
        Duration::minutes(5),
    );
    let records = vec![ok.clone()];
    let now = Utc::now();
    assert!(
        reusable(
            &records,
            "acme/api",
            SHA,
            Some("prod"),
            Some(&k.trusted),
            now
        )
        .is_some()
    );
    // Another environment, another sha, another repository: no.
    assert!(
        reusable(
            &records,
            "acme/api",
            SHA,
            Some("staging"),
            Some(&k.trusted),
            now
        )
        .is_none()
    );
    assert!(
        reusable(
            &records,
            "acme/api",
            &"f".repeat(40),
            Some("prod"),
            Some(&k.trusted),
            now
        )
        .is_none()
    );
    assert!(
        reusable(
            &records,
            "acme/web",
            SHA,
            Some("prod"),
            Some(&k.trusted),
            now
        )
        .is_none()
    );
    // After its ttl: no.
    assert!(
        reusable(
            &records,
            "acme/api",
            SHA,
            Some("prod"),
            Some(&k.trusted),
            now + Duration::minutes(6)
        )
        .is_none()
    );
}

#[test]
fn denied_expired_and_request_records_are_never_reused() {
    let k = keys();
    let now = Utc::now();
    for (kind, decision) in [
        (Kind::Decision, Some(Decision::Denied)),
        (Kind::Decision, Some(Decision::Expired)),
        (Kind::Decision, Some(Decision::Cancelled)),
        (Kind::Request, None),
    ] {
        let r = signed(
            &k.signers,
            kind,
            decision,
            deploy(SHA, "prod"),
            Duration::minutes(5),
        );
        assert!(reusable(&[r], "acme/api", SHA, Some("prod"), Some(&k.trusted), now).is_none());
    }
}

#[test]
fn a_tampered_or_untrusted_record_never_counts() {
    let k = keys();
    let other = keys();
    let good = signed(
        &k.signers,
        Kind::Decision,
        Some(Decision::Approved),
        deploy(SHA, "prod"),
        Duration::minutes(5),
    );
    assert!(is_trusted(&good, Some(&k.trusted)));
    // Signed by a key nobody trusts.
    assert!(!is_trusted(&good, Some(&other.trusted)));
    // No trusted keys at all: fail closed.
    assert!(!is_trusted(&good, None));
    // The payload changed after signing (digest recomputed to match, signature stale).
    let mut forged = good.clone();
    forged.payload.expires_at = Some(crate::audit::record::format_time(
        Utc::now() + Duration::days(30),
    ));
    let jcs = forged.payload.jcs().unwrap();
    forged.digest = crate::audit::record::digest_of(&jcs);
    assert!(!is_trusted(&forged, Some(&k.trusted)));
    // The payload changed, digest left alone.
    let mut edited = good.clone();
    edited.payload.subject.environment = Some("staging".into());
    assert!(!is_trusted(&edited, Some(&k.trusted)));
    // No signatures.
    let mut bare = good;
    bare.signatures.clear();
    assert!(!is_trusted(&bare, Some(&k.trusted)));
}
