//! Which records count, case by case: trusted (digest and an SSH signature by a
//! certifier key, not the requester's), unexpired, approving, and about the same
//! repository, sha, environment or ref — and for reuse the same rule, policy digest and
//! requester.

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::audit::testkit::{FakeRun, FakeTokens};
use crate::audit::{Actor, AllowedSigners, Draft, RuleRef, Signers, SshSigner, Subject};
use crate::keys::SigningKey;

struct Keys {
    signers: Signers,
    trust: Trust,
    _dir: tempfile::TempDir,
}

fn keys_for(principal: &str) -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let g = crate::keys::generate(dir.path(), principal).unwrap();
    let text = std::fs::read_to_string(&g.private_path).unwrap();
    let key = SigningKey::from_openssh(&text, "test").unwrap();
    Keys {
        signers: Signers::ssh(SshSigner::Key(key)),
        trust: Trust {
            certifiers: Some(AllowedSigners::parse(&g.allowed_signers_line, "test").unwrap()),
            certifiers_file: ".github/jitaa-allowed-signers".into(),
            keyless: None,
        },
        _dir: dir,
    }
}

fn keys() -> Keys {
    keys_for("jitaa@test")
}

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const MAIN: &str = "refs/heads/main";
const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

/// A signed record (not chained: `prev` is genesis), requested by alice under rule `r`.
fn signed(
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
    d.rule = Some(RuleRef {
        name: "r".into(),
        approvals: 1,
        policy_digest: DIGEST.into(),
    });
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

fn deploy(sha: &str, env: &str) -> Subject {
    Subject {
        sha: sha.into(),
        git_ref: Some(MAIN.into()),
        environment: Some(env.into()),
    }
}

fn grant(sha: &str, git_ref: &str) -> Subject {
    Subject {
        sha: sha.into(),
        git_ref: Some(git_ref.into()),
        environment: None,
    }
}

fn approved(k: &Keys, subject: Subject, minutes: i64) -> Record {
    signed(
        &k.signers,
        Kind::Decision,
        Some(Decision::Approved),
        subject,
        Duration::minutes(minutes),
    )
}

fn reuse<'a>(env: &'a str, rule: &'a str, digest: &'a str, requester: &'a str) -> Purpose<'a> {
    Purpose::Reuse {
        environment: Some(env),
        git_ref: MAIN,
        rule,
        policy_digest: digest,
        requester,
    }
}

fn counts(
    records: &[Record],
    repo: &str,
    sha: &str,
    p: Purpose<'_>,
    t: &Trust,
    now: DateTime<Utc>,
) -> bool {
    let r = Records::in_memory(records.to_vec());
    r.find(
        &Query {
            repository: repo,
            sha,
            purpose: p,
        },
        t,
        now,
    )
    .found
    .is_some()
}

#[test]
fn a_trusted_unexpired_approval_of_the_same_deployment_rule_and_requester_is_reused() {
    let k = keys();
    let records = vec![approved(&k, deploy(SHA, "prod"), 5)];
    let now = Utc::now();
    let t = &k.trust;
    assert!(counts(
        &records,
        "acme/api",
        SHA,
        reuse("prod", "r", DIGEST, "alice"),
        t,
        now
    ));
    // GitHub compares environment names and repositories case-insensitively.
    assert!(counts(
        &records,
        "ACME/api",
        SHA,
        reuse("PROD", "r", DIGEST, "alice"),
        t,
        now
    ));
    // Another environment, sha, repository: no.
    assert!(!counts(
        &records,
        "acme/api",
        SHA,
        reuse("staging", "r", DIGEST, "alice"),
        t,
        now
    ));
    assert!(!counts(
        &records,
        "acme/api",
        &"f".repeat(40),
        reuse("prod", "r", DIGEST, "alice"),
        t,
        now
    ));
    assert!(!counts(
        &records,
        "acme/web",
        SHA,
        reuse("prod", "r", DIGEST, "alice"),
        t,
        now
    ));
    // Another rule, policy or requester: the rule in force decides anew (item 5).
    assert!(!counts(
        &records,
        "acme/api",
        SHA,
        reuse("prod", "production", DIGEST, "alice"),
        t,
        now
    ));
    let other = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    assert!(!counts(
        &records,
        "acme/api",
        SHA,
        reuse("prod", "r", other, "alice"),
        t,
        now
    ));
    assert!(!counts(
        &records,
        "acme/api",
        SHA,
        reuse("prod", "r", DIGEST, "erin"),
        t,
        now
    ));
    // After its ttl: no.
    assert!(!counts(
        &records,
        "acme/api",
        SHA,
        reuse("prod", "r", DIGEST, "alice"),
        t,
        now + Duration::minutes(6)
    ));
}

#[test]
fn denied_expired_cancelled_request_and_push_records_are_never_reused_or_grants() {
    let k = keys();
    let now = Utc::now();
    for (kind, decision) in [
        (Kind::Decision, Some(Decision::Denied)),
        (Kind::Decision, Some(Decision::Expired)),
        (Kind::Decision, Some(Decision::Cancelled)),
        (Kind::Request, None),
        (Kind::Push, Some(Decision::Approved)),
        (Kind::Violation, None),
    ] {
        let r = signed(
            &k.signers,
            kind,
            decision,
            deploy(SHA, "prod"),
            Duration::minutes(5),
        );
        assert!(!counts(
            &[r],
            "acme/api",
            SHA,
            reuse("prod", "r", DIGEST, "alice"),
            &k.trust,
            now
        ));
        let g = signed(
            &k.signers,
            kind,
            decision,
            grant(SHA, MAIN),
            Duration::minutes(5),
        );
        assert!(
            !counts(
                &[g],
                "acme/api",
                SHA,
                Purpose::Grant { git_ref: MAIN },
                &k.trust,
                now
            ),
            "{kind:?} {decision:?} is no grant"
        );
    }
}

#[test]
fn an_unexpired_grant_approves_the_push_of_its_sha_to_its_ref_only() {
    let k = keys();
    let now = Utc::now();
    let t = &k.trust;
    let g = vec![approved(&k, grant(SHA, MAIN), 5)];
    let push = |git_ref| Purpose::Grant { git_ref };
    assert!(counts(&g, "acme/api", SHA, push(MAIN), t, now));
    assert!(!counts(
        &g,
        "acme/api",
        SHA,
        push(MAIN),
        t,
        now + Duration::minutes(6)
    ));
    assert!(!counts(
        &g,
        "acme/api",
        SHA,
        push("refs/heads/release"),
        t,
        now
    ));
    assert!(!counts(&g, "acme/api", &"f".repeat(40), push(MAIN), t, now));
    // A deployment's approval is no grant for a push.
    let d = vec![approved(&k, deploy(SHA, "prod"), 5)];
    assert!(!counts(&d, "acme/api", SHA, push(MAIN), t, now));
    // The one valid longest is the one found.
    let both = vec![
        approved(&k, grant(SHA, MAIN), 5),
        approved(&k, grant(SHA, MAIN), 9),
    ];
    let r = Records::in_memory(both);
    let q = Query {
        repository: "acme/api",
        sha: SHA,
        purpose: push(MAIN),
    };
    let found = r.find(&q, t, now).found.unwrap();
    assert!(found.expires_at > now + Duration::minutes(8));
}

#[test]
fn a_tampered_untrusted_or_self_certified_record_never_counts() {
    let k = keys();
    let other = keys();
    let now = Utc::now();
    let good = approved(&k, grant(SHA, MAIN), 5);
    let is = |r: &Record, t: &Trust| {
        counts(
            std::slice::from_ref(r),
            "acme/api",
            SHA,
            Purpose::Grant { git_ref: MAIN },
            t,
            now,
        )
    };
    assert!(is(&good, &k.trust));
    // Signed by a key nobody trusts (a pusher's key, say: it is not a certifier).
    assert!(!is(&good, &other.trust));
    // No trusted keys at all: fail closed.
    assert!(!is(&good, &Trust::default()));
    // The payload changed after signing (digest recomputed to match, signature stale).
    let mut forged = good.clone();
    forged.payload.expires_at = Some(crate::audit::record::format_time(now + Duration::days(30)));
    forged.digest = crate::audit::record::digest_of(&forged.payload.jcs().unwrap());
    assert!(!is(&forged, &k.trust));
    // The payload changed, digest left alone.
    let mut edited = good.clone();
    edited.payload.subject.sha = SHA.to_uppercase();
    assert!(!is(&edited, &k.trust));
    // No signatures.
    let mut bare = good;
    bare.signatures.clear();
    assert!(!is(&bare, &k.trust));
    // Signed by the requester's own key, even a trusted one: nobody certifies their own.
    let alice = keys_for("alice@laptop");
    let own = approved(&alice, grant(SHA, MAIN), 5);
    assert!(!is(&own, &alice.trust));
    let why = Records::in_memory(vec![own])
        .find(
            &Query {
                repository: "acme/api",
                sha: SHA,
                purpose: Purpose::Grant { git_ref: MAIN },
            },
            &alice.trust,
            now,
        )
        .rejected
        .join("\n");
    assert!(why.contains("the requester"), "{why}");
}

#[test]
fn the_last_deployment_is_the_newest_certified_approval_the_caller_accepts() {
    let k = keys();
    let other = keys();
    let old = approved(&k, deploy("a".repeat(40).as_str(), "prod"), -60);
    let new = approved(&k, deploy("b".repeat(40).as_str(), "prod"), -30);
    let untrusted = approved(&other, deploy("c".repeat(40).as_str(), "prod"), 5);
    let r = Records::in_memory(vec![old, new, untrusted]);
    let pick = |accept: &dyn Fn(&str) -> bool| {
        r.last_deployment("acme/api", "Prod", &k.trust, accept)
            .map(|x| x.payload.subject.sha.clone())
    };
    assert_eq!(
        pick(&|_| true),
        Some("b".repeat(40)),
        "expired approvals still mark a deployment"
    );
    assert_eq!(pick(&|s| s.starts_with('a')), Some("a".repeat(40)));
    assert_eq!(
        pick(&|s| s.starts_with('c')),
        None,
        "untrusted records mark nothing"
    );
    assert_eq!(
        r.last_deployment("acme/api", "staging", &k.trust, &|_| true)
            .map(|x| x.payload.id.clone()),
        None
    );
}

#[test]
fn a_record_names_its_branch_in_full_or_short_but_never_another() {
    assert!(same_ref(Some("refs/heads/main"), "refs/heads/main"));
    assert!(same_ref(Some("main"), "refs/heads/main"));
    assert!(!same_ref(Some("refs/heads/main"), "refs/heads/release/1"));
    assert!(!same_ref(Some("release/1"), "refs/heads/main"));
    assert!(!same_ref(Some("refs/tags/main"), "refs/heads/main"));
    assert!(!same_ref(None, "refs/heads/main"));
}

#[test]
fn the_requester_is_recognised_in_a_principal() {
    assert!(is_requester("alice", "Alice"));
    assert!(is_requester("alice@laptop", "alice"));
    assert!(!is_requester("jitaa@acme", "alice"));
    assert!(!is_requester("alice", ""));
}

fn keyless_trust(workflows: &[&str]) -> Trust {
    Trust {
        certifiers: None,
        certifiers_file: ".github/jitaa-allowed-signers".into(),
        keyless: (!workflows.is_empty()).then(|| crate::base::Keyless {
            workflows: workflows.iter().map(|w| (*w).to_string()).collect(),
            default_branch: "main".into(),
            tokens: std::sync::Arc::new(FakeTokens { kids: vec!["k1"] }),
        }),
    }
}

fn keyless_record(kid: &'static str, repository: &'static str, jwr: &'static str) -> Record {
    let signers = Signers {
        ssh: None,
        oidc: Some(Box::new(FakeRun {
            kid,
            repository,
            job_workflow_ref: jwr,
        })),
    };
    approved_with(&signers, deploy(SHA, "prod"))
}

fn approved_with(signers: &Signers, subject: Subject) -> Record {
    signed(
        signers,
        Kind::Decision,
        Some(Decision::Approved),
        subject,
        Duration::minutes(5),
    )
}

#[test]
fn a_token_of_a_trusted_workflow_on_the_default_branch_certifies_and_no_other_run_does() {
    const WF: &str = ".github/workflows/jitaa.yml";
    let trust = keyless_trust(&[WF]);
    let now = Utc::now();
    let p = reuse("prod", "r", DIGEST, "alice");
    let case = |r: Record| {
        let doc = serde_json::to_value(&r).unwrap();
        (
            counts(&[r], "acme/api", SHA, p, &trust, now),
            certify(&doc, &trust, "alice")
                .map(|_| ())
                .map_err(|e| e.to_string()),
        )
    };
    let ok = case(keyless_record(
        "k1",
        "acme/api",
        "acme/api/.github/workflows/jitaa.yml@refs/heads/main",
    ));
    assert_eq!(ok, (true, Ok(())));
    // GitHub compares owner/name case-insensitively; the file and the ref are exact.
    assert!(
        case(keyless_record(
            "k1",
            "acme/api",
            "Acme/API/.github/workflows/jitaa.yml@refs/heads/main"
        ))
        .0
    );
    for (kid, repo, jwr, why) in [
        (
            "k1",
            "acme/api",
            "acme/api/.github/workflows/jitaa.yml@refs/heads/feature",
            "not a trusted workflow on the default branch",
        ),
        (
            "k1",
            "acme/api",
            "acme/api/.github/workflows/jitaa.yml@refs/pull/7/merge",
            "not a trusted workflow on the default branch",
        ),
        (
            "k1",
            "acme/api",
            "acme/api/.github/workflows/jitaa.yml@refs/heads/main-x",
            "not a trusted workflow",
        ),
        (
            "k1",
            "acme/api",
            "acme/api/.github/workflows/other.yml@refs/heads/main",
            "not a trusted workflow",
        ),
        (
            "k1",
            "acme/api",
            "acme/api/.github/workflows/jitaa.yaml@refs/heads/main",
            "not a trusted workflow",
        ),
        (
            "k1",
            "acme/api",
            "evil/api/.github/workflows/jitaa.yml@refs/heads/main",
            "not a trusted workflow",
        ),
        (
            "k1",
            "acme/api",
            "acme/api-x/.github/workflows/jitaa.yml@refs/heads/main",
            "not a trusted workflow",
        ),
        (
            "k1",
            "evil/api",
            "evil/api/.github/workflows/jitaa.yml@refs/heads/main",
            "the token is of repository evil/api",
        ),
        (
            "k9",
            "acme/api",
            "acme/api/.github/workflows/jitaa.yml@refs/heads/main",
            "its key `k9` is not in the issuer's JWKS",
        ),
    ] {
        let (counted, why_not) = case(keyless_record(kid, repo, jwr));
        assert!(!counted, "{jwr} with {kid} must not count");
        let msg = why_not.unwrap_err();
        assert!(msg.contains(why), "{jwr}: {msg}");
    }
    // No trusted workflows: a token proves nothing (fail closed).
    let none = keyless_trust(&[]);
    let r = keyless_record(
        "k1",
        "acme/api",
        "acme/api/.github/workflows/jitaa.yml@refs/heads/main",
    );
    assert!(!counts(
        std::slice::from_ref(&r),
        "acme/api",
        SHA,
        p,
        &none,
        now
    ));
    let msg = certify(&serde_json::to_value(&r).unwrap(), &none, "alice")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("no trusted keys"), "{msg}");
}

#[test]
fn a_keyless_record_altered_after_signing_never_counts() {
    let trust = keyless_trust(&[".github/workflows/jitaa.yml"]);
    let r = keyless_record(
        "k1",
        "acme/api",
        "acme/api/.github/workflows/jitaa.yml@refs/heads/main",
    );
    // The digest recomputed, but the token was made for another record's digest.
    let mut other = r.clone();
    other.payload.subject.sha = "f".repeat(40);
    let jcs = other.payload.jcs().unwrap();
    other.digest = crate::audit::record::digest_of(&jcs);
    let msg = certify(&serde_json::to_value(&other).unwrap(), &trust, "alice")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("audience"), "{msg}");
}
