//! The verifier in-process against the stand-in issuer: key caching, refetch on
//! rotation and its rate limit, record tokens against an archived JWKS, the token
//! request in a job, and a property test that no input panics the verifier.

use std::time::Duration;

use fakehub::oidc::{Issuer, serve_standalone};
use jitaa::exit::Code;
use jitaa::oidc::{
    JwkSet, OidcError, RECORD_IAT_WINDOW_SECS, Verifier, context_from_actions_with,
    parse_unverified, request_token_with, verify_record_token,
};
use proptest::prelude::*;
use serde_json::json;

fn archived(issuer: &Issuer) -> JwkSet {
    serde_json::from_value(issuer.jwks()).unwrap()
}

#[tokio::test]
async fn keys_are_cached_by_kid() {
    let (issuer, url) = serve_standalone();
    let v = Verifier::new(&url, "jitaa").unwrap();
    for _ in 0..5 {
        v.verify(&issuer.mint("jitaa")).await.unwrap();
    }
    assert_eq!(issuer.jwks_fetches(), 1);
    assert_eq!(issuer.discovery_fetches(), 1);
    let snapshot = v.jwks_snapshot().await.unwrap();
    assert!(snapshot.find(&issuer.current_kid()).is_some());
}

#[tokio::test]
async fn rotation_refetches_once_and_unknown_kids_are_rate_limited() {
    let (issuer, url) = serve_standalone();
    let v = Verifier::new(&url, "jitaa").unwrap();
    v.verify(&issuer.mint("jitaa")).await.unwrap();
    issuer.rotate();
    // A new kid: one refetch, and the token verifies.
    let ctx = v.verify(&issuer.mint("jitaa")).await.unwrap();
    assert_eq!(ctx.repository, "acme/api");
    assert_eq!(issuer.jwks_fetches(), 2);
    // A flood of unknown kids right after: no further fetch.
    for i in 0..20 {
        let t = issuer.mint_with(json!({"kid": format!("forged-{i}")}), json!({}));
        let e = v.verify(&t).await.unwrap_err();
        assert!(matches!(e, OidcError::UnknownKid { .. }), "{e}");
        assert!(e.to_string().contains("at most once every 60 s"), "{e}");
    }
    assert_eq!(issuer.jwks_fetches(), 2);
    // Known kids still verify from the cache meanwhile.
    v.verify(&issuer.mint("jitaa")).await.unwrap();
    assert_eq!(issuer.jwks_fetches(), 2);
}

#[tokio::test]
async fn after_the_interval_an_unknown_kid_refetches_again() {
    let (issuer, url) = serve_standalone();
    let v = Verifier::new(&url, "jitaa")
        .unwrap()
        .with_refetch_interval(Duration::from_millis(200));
    v.verify(&issuer.mint("jitaa")).await.unwrap();
    let forged = issuer.mint_with(json!({"kid": "forged"}), json!({}));
    assert!(v.verify(&forged).await.is_err());
    assert_eq!(issuer.jwks_fetches(), 2);
    assert!(v.verify(&forged).await.is_err());
    assert_eq!(issuer.jwks_fetches(), 2);
    tokio::time::sleep(Duration::from_millis(250)).await;
    issuer.rotate();
    v.verify(&issuer.mint("jitaa")).await.unwrap();
    assert_eq!(issuer.jwks_fetches(), 3);
}

#[tokio::test]
async fn a_discovery_document_for_another_issuer_is_refused() {
    let (issuer, url) = serve_standalone();
    issuer.set_base_url("https://token.actions.githubusercontent.com");
    let v = Verifier::new(&url, "jitaa").unwrap();
    let e = v.verify(&issuer.mint("jitaa")).await.unwrap_err();
    assert_eq!(e.code(), Code::Integrity);
    let e = jitaa::exit::full_message(&e);
    assert!(e.contains("its issuer is"), "{e}");
}

#[test]
fn record_tokens_verify_offline_and_outlive_exp() {
    let issuer = Issuer::new();
    issuer.set_base_url("https://token.actions.githubusercontent.com");
    let jwks = archived(&issuer);
    let digest = "jitaa:sha256:0f1e2d";
    let iss = "https://token.actions.githubusercontent.com";
    // Minted an hour ago, long expired now: still a valid signature of that record.
    let then = chrono::Utc::now() - chrono::Duration::hours(1);
    let t = issuer.mint_with(
        json!({}),
        json!({"aud": digest, "iat": then.timestamp(), "nbf": then.timestamp() - 600,
               "exp": then.timestamp() + 300}),
    );
    let ctx = verify_record_token(&t, &jwks, iss, digest, then).unwrap();
    assert_eq!(ctx.audience, vec![digest]);

    // Another record's digest, a record time far from iat, another issuer: refused.
    let e = verify_record_token(&t, &jwks, iss, "jitaa:sha256:other", then).unwrap_err();
    assert!(matches!(e, OidcError::Audience { .. }));
    let later = then + chrono::Duration::seconds(RECORD_IAT_WINDOW_SECS + 1);
    let e = verify_record_token(&t, &jwks, iss, digest, later).unwrap_err();
    assert!(matches!(e, OidcError::RecordTime { .. }), "{e}");
    let e = verify_record_token(&t, &jwks, "https://evil.example", digest, then).unwrap_err();
    assert!(matches!(e, OidcError::Issuer { .. }));

    // A key missing from the archive: refused without any network.
    issuer.rotate_dropping_old();
    let t2 = issuer.mint_with(json!({}), json!({"aud": digest}));
    let e = verify_record_token(&t2, &jwks, iss, digest, chrono::Utc::now()).unwrap_err();
    assert!(e.to_string().contains("not in the archived JWKS"), "{e}");
    // And with the new key archived, it verifies.
    verify_record_token(&t2, &archived(&issuer), iss, digest, chrono::Utc::now()).unwrap();
}

#[tokio::test]
async fn in_actions_the_token_is_masked_before_it_is_returned() {
    let (issuer, url) = serve_standalone();
    let req = issuer.request_token();
    let env = |k: &str| match k {
        "ACTIONS_ID_TOKEN_REQUEST_URL" => Some(format!("{url}/_actions/token?api-version=2.0")),
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN" => Some(req.clone()),
        "GITHUB_ACTIONS" => Some("true".into()),
        _ => None,
    };
    let mut out = Vec::new();
    let token = request_token_with(&env, "jitaa:sha256:ab cd/ef", &mut out)
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("::add-mask::{token}\n")
    );
    // The audience went through URL-encoded and came back intact.
    let v = Verifier::new(&url, "jitaa:sha256:ab cd/ef").unwrap();
    v.verify(&token).await.unwrap();

    // Outside Actions nothing is printed.
    let env2 = |k: &str| if k == "GITHUB_ACTIONS" { None } else { env(k) };
    let mut out = Vec::new();
    request_token_with(&env2, "jitaa", &mut out).await.unwrap();
    assert!(out.is_empty());
}

#[tokio::test]
async fn context_from_actions_fetches_verifies_and_cross_checks() {
    let (issuer, url) = serve_standalone();
    issuer.set_claims(json!({"environment": "production"}));
    let req = issuer.request_token();
    let env = |sha: &'static str| {
        let url = url.clone();
        let req = req.clone();
        move |k: &str| match k {
            "ACTIONS_ID_TOKEN_REQUEST_URL" => Some(format!("{url}/_actions/token?api-version=2.0")),
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN" => Some(req.clone()),
            "JITAA_OIDC_ISSUER" => Some(url.clone()),
            "GITHUB_SHA" => Some(sha.to_string()),
            _ => None,
        }
    };
    let good = env("e75edcc5b6cb88fc32f8d65d1da2655576b905ca");
    let ctx = context_from_actions_with(&good, "jitaa", &mut Vec::new())
        .await
        .unwrap();
    assert_eq!(ctx.environment.as_deref(), Some("production"));
    let bad = env("0000000000000000000000000000000000000000");
    let e = context_from_actions_with(&bad, "jitaa", &mut Vec::new())
        .await
        .map_err(jitaa::exit::Failure::from)
        .unwrap_err();
    assert_eq!(e.code, Code::Integrity);
    assert!(e.message.starts_with("GITHUB_SHA=0000000000000000000000000000000000000000 but the OIDC token says sha=e75edcc5"), "{}", e.message);
}

fn b64() -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<u8>(), 0..300).prop_map(|b| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        let issuer = Issuer::new();
        let jwks = archived(&issuer);
        prop_assert!(verify_record_token(&s, &jwks, "https://x", "jitaa", chrono::Utc::now()).is_err());
        let _ = parse_unverified(&s);
    }

    #[test]
    fn arbitrary_segments_never_panic(h in b64(), p in b64(), s in b64(), dots in 0usize..5) {
        let issuer = Issuer::new();
        let jwks = archived(&issuer);
        let token = [h, p, s].join(&".".repeat(dots.max(1)));
        prop_assert!(verify_record_token(&token, &jwks, "https://x", "jitaa", chrono::Utc::now()).is_err());
    }

    #[test]
    fn a_valid_header_with_arbitrary_payload_and_signature_never_passes(p in b64(), s in b64()) {
        use base64::Engine;
        let issuer = Issuer::new();
        let jwks = archived(&issuer);
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": issuer.current_kid()}).to_string();
        let h = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header);
        let token = format!("{h}.{p}.{s}");
        prop_assert!(verify_record_token(&token, &jwks, "http://127.0.0.1", "jitaa", chrono::Utc::now()).is_err());
    }

    #[test]
    fn arbitrary_json_claims_signed_by_the_key_never_panic(
        claims in proptest::collection::btree_map("[a-z_]{1,12}", prop_oneof![
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            ".{0,20}".prop_map(serde_json::Value::from),
            Just(serde_json::Value::Null),
            Just(json!(["jitaa"])),
        ], 0..12)
    ) {
        let issuer = Issuer::new();
        let jwks = archived(&issuer);
        let overrides = serde_json::Value::Object(claims.into_iter().collect());
        let token = issuer.mint_with(json!({}), overrides);
        let _ = verify_record_token(&token, &jwks, "http://127.0.0.1", "jitaa", chrono::Utc::now());
    }
}

/// A CA, and a certificate for 127.0.0.1 it signed, made with the openssl CLI.
fn private_ca(dir: &std::path::Path) {
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("the openssl CLI runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509", "-days", "1", "-subj", "/CN=jitaa test CA"][..],
            &ec,
            &["-keyout", "ca.key", "-out", "ca.pem"],
            &["-addext", "basicConstraints=critical,CA:TRUE"],
            &["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req", "-subj", "/CN=127.0.0.1"][..],
            &ec,
            &["-keyout", "server.key", "-out", "server.csr"],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-days",
        "1",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-extfile",
        "ext.cnf",
        "-out",
        "server.pem",
    ]);
}

/// GitHub Enterprise Server behind a private CA: the OIDC client trusts the system's
/// roots (here SSL_CERT_FILE, which the platform store honours), not a bundled list,
/// like the GitHub client. A TLS server (`openssl s_server` on 127.0.0.1) with a
/// certificate from a private CA is reached when that CA is in the store, and refused
/// as an unknown issuer when it is not.
#[test]
fn the_token_request_trusts_a_private_ca_in_the_system_store() {
    let dir = tempfile::tempdir().unwrap();
    private_ca(dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = std::process::Command::new("openssl")
        .args([
            "s_server",
            "-quiet",
            "-www",
            "-cert",
            "server.pem",
            "-key",
            "server.key",
        ])
        .args(["-accept", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl s_server starts");
    let ready = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let run = |store: Option<&std::path::Path>| {
        let mut cmd = crate::support::jitaa();
        cmd.args(["oidc", "verify"])
            .env(
                "ACTIONS_ID_TOKEN_REQUEST_URL",
                format!("https://127.0.0.1:{port}/token?api-version=2.0"),
            )
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token")
            .env_remove("SSL_CERT_DIR")
            .env_remove("GITHUB_ACTIONS");
        match store {
            Some(ca) => cmd.env("SSL_CERT_FILE", ca),
            None => cmd.env_remove("SSL_CERT_FILE"),
        };
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let trusted = run(Some(&dir.path().join("ca.pem")));
    let untrusted = run(None);
    let _ = server.kill();
    let _ = server.wait();
    assert!(ready, "openssl s_server listens on 127.0.0.1:{port}");
    // Trusted: TLS works; the stand-in's page is no token, which is the only complaint.
    assert_eq!(trusted.0, Some(5), "{}", trusted.1);
    assert!(
        trusted.1.contains("answered without a token"),
        "{}",
        trusted.1
    );
    assert!(
        !trusted.1.to_lowercase().contains("certificate"),
        "{}",
        trusted.1
    );
    // Not in the store: the handshake fails, so the endpoint is never reached.
    assert_eq!(untrusted.0, Some(5), "{}", untrusted.1);
    assert!(untrusted.1.contains("could not reach"), "{}", untrusted.1);
    assert!(!untrusted.1.contains("answered without a token"));
}
