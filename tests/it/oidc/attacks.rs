//! The attack suite: forged, altered and contradicting tokens against the real
//! `jitaa oidc verify` binary, with the stand-in issuer on 127.0.0.1. Every refusal
//! must be exit 4 with a reason that names what was wrong.

use assert_cmd::Command;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fakehub::oidc::{Issuer, serve_standalone};
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use serde_json::{Value, json};

/// `jitaa oidc verify` against `url`, with no ambient GitHub, Actions or jitaa variables.
fn jitaa(url: &str) -> Command {
    let mut cmd = Command::from_std(crate::support::jitaa());
    cmd.env("JITAA_OIDC_ISSUER", url).args(["oidc", "verify"]);
    cmd
}

fn verify(url: &str, token: &str) -> assert_cmd::assert::Assert {
    jitaa(url).arg("-").write_stdin(token).assert()
}

fn refused(url: &str, token: &str, reason: &str) {
    verify(url, token).code(4).stderr(contains(reason));
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[test]
fn a_valid_token_verifies_and_prints_its_context() {
    let (issuer, url) = serve_standalone();
    let token = issuer.mint("jitaa");
    verify(&url, &token)
        .success()
        .stdout(contains("OIDC token verified"))
        .stdout(contains("acme/api"))
        .stdout(contains("refs/heads/main"));
    let out = jitaa(&url)
        .args(["-", "--format", "json"])
        .write_stdin(token.clone())
        .output()
        .unwrap();
    assert!(out.status.success());
    let ctx: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ctx["sha"], "e75edcc5b6cb88fc32f8d65d1da2655576b905ca");
    assert_eq!(ctx["repository_owner_id"], "162148032");
    assert_eq!(ctx["iss"], url);
    // The token given as an argument works too, and so does a custom audience.
    jitaa(&url).arg(&token).assert().success();
    let other = issuer.mint("sts.amazonaws.com");
    jitaa(&url)
        .args([other.as_str(), "--audience", "sts.amazonaws.com"])
        .assert()
        .success();
}

#[test]
fn alg_none_is_refused() {
    let (issuer, url) = serve_standalone();
    refused(
        &url,
        &issuer.mint_with(json!({"alg": "none"}), json!({})),
        "alg is `none`",
    );
    refused(
        &url,
        &issuer.mint_with(json!({"alg": "None"}), json!({})),
        "alg is `None`",
    );
}

#[test]
fn hs256_keyed_with_the_rsa_public_key_is_refused() {
    let (issuer, url) = serve_standalone();
    // mint_with signs HS256 with the current public key's PEM bytes as the HMAC secret.
    refused(
        &url,
        &issuer.mint_with(json!({"alg": "HS256"}), json!({})),
        "alg is `HS256`",
    );
    // Even relabelled as RS256, an HMAC is no RSA signature.
    let hs = issuer.mint_with(json!({"alg": "HS256"}), json!({}));
    let rs = issuer.mint("jitaa");
    let forged = format!(
        "{}.{}",
        rs.rsplit_once('.').unwrap().0,
        hs.rsplit_once('.').unwrap().1
    );
    refused(&url, &forged, "signature does not verify");
}

#[test]
fn wrong_issuer_is_refused() {
    let (issuer, url) = serve_standalone();
    let t = issuer.mint_with(
        json!({}),
        json!({"iss": "https://token.actions.githubusercontent.com"}),
    );
    refused(
        &url,
        &t,
        "issued by `https://token.actions.githubusercontent.com`",
    );
    let t = issuer.mint_with(json!({}), json!({"iss": format!("{url}/")}));
    refused(&url, &t, "expected `http://127.0.0.1");
    let t = issuer.mint_with(json!({}), json!({"iss": null}));
    refused(&url, &t, "issued by `(none)`");
}

#[test]
fn wrong_audience_is_refused() {
    let (issuer, url) = serve_standalone();
    refused(
        &url,
        &issuer.mint("https://github.com/acme"),
        "expected it to contain `jitaa`",
    );
    refused(&url, &issuer.mint("jitaa2"), "audience");
    refused(
        &url,
        &issuer.mint_with(json!({}), json!({"aud": null})),
        "audience is missing",
    );
    // A list that contains the audience is fine.
    let t = issuer.mint_with(json!({}), json!({"aud": ["other", "jitaa"]}));
    verify(&url, &t).success();
}

#[test]
fn expired_tokens_are_refused_beyond_the_leeway() {
    let (issuer, url) = serve_standalone();
    let n = now();
    let t = issuer.mint_with(
        json!({}),
        json!({"iat": n - 420, "nbf": n - 1020, "exp": n - 120}),
    );
    refused(&url, &t, "expired");
    let t = issuer.mint_with(
        json!({}),
        json!({"iat": n - 330, "nbf": n - 930, "exp": n - 30}),
    );
    verify(&url, &t).success();
}

#[test]
fn tokens_from_the_future_are_refused() {
    let (issuer, url) = serve_standalone();
    let n = now();
    let t = issuer.mint_with(json!({}), json!({"nbf": n + 300}));
    refused(&url, &t, "not valid before");
    let t = issuer.mint_with(json!({}), json!({"iat": n + 300, "exp": n + 600}));
    refused(&url, &t, "is in the future");
}

#[test]
fn mistyped_time_claims_do_not_skip_the_check() {
    let (issuer, url) = serve_standalone();
    let t = issuer.mint_with(json!({}), json!({"exp": "99999999999"}));
    refused(&url, &t, "claim `exp` is not a number");
    let t = issuer.mint_with(json!({}), json!({"exp": 99999999999.5}));
    refused(&url, &t, "claim `exp` is not a whole number");
    let t = issuer.mint_with(json!({}), json!({"nbf": null}));
    refused(&url, &t, "claim `nbf` is missing");
}

#[test]
fn unknown_kid_is_refused_and_rotation_is_followed() {
    let (issuer, url) = serve_standalone();
    refused(
        &url,
        &issuer.mint_with(json!({"kid": "nope"}), json!({})),
        "kid `nope` is not among",
    );
    refused(
        &url,
        &issuer.mint_with(json!({"kid": null}), json!({})),
        "no kid",
    );
    let old = issuer.mint("jitaa");
    issuer.rotate();
    verify(&url, &issuer.mint("jitaa")).success();
    verify(&url, &old).success();
    issuer.rotate_dropping_old();
    verify(&url, &issuer.mint("jitaa")).success();
    refused(&url, &old, "is not among the issuer's keys");
}

#[test]
fn a_key_from_another_issuer_under_a_published_kid_is_refused() {
    let (issuer, url) = serve_standalone();
    let rogue = Issuer::new();
    rogue.rotate();
    rogue.set_base_url(&url);
    let t = rogue.mint_with(json!({"kid": issuer.current_kid()}), json!({}));
    refused(&url, &t, "signature does not verify");
}

#[test]
fn tampered_truncated_and_garbage_tokens_are_refused() {
    let (issuer, url) = serve_standalone();
    let good = issuer.mint("jitaa");
    let parts: Vec<&str> = good.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["environment"] = json!("production");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    refused(&url, &tampered, "signature does not verify");
    refused(&url, &good[..good.len() - 8], "the OIDC token");
    refused(
        &url,
        &format!("{}.{}", parts[0], parts[1]),
        "3 dot-separated parts",
    );
    refused(&url, &format!("{}.{}.", parts[0], parts[1]), "no signature");
    refused(&url, "garbage", "malformed");
    refused(&url, "", "it is empty");
    refused(&url, "a.b.c", "not base64url");
    refused(&url, &format!("{good}.{}", parts[2]), "this has 4");
}

#[test]
fn claims_that_contradict_the_run_are_refused_naming_the_field() {
    let (issuer, url) = serve_standalone();
    let token = issuer.mint("jitaa");
    let agreeing = [
        ("GITHUB_REPOSITORY", "acme/api"),
        ("GITHUB_SHA", "e75edcc5b6cb88fc32f8d65d1da2655576b905ca"),
        ("GITHUB_REF", "refs/heads/main"),
        ("GITHUB_RUN_ID", "10685993555"),
        ("GITHUB_RUN_ATTEMPT", "1"),
    ];
    let claim = ["repository", "sha", "ref", "run_id", "run_attempt"];
    let mut ok = jitaa(&url);
    ok.envs(agreeing)
        .arg("-")
        .write_stdin(token.clone())
        .assert()
        .success();
    for (i, (var, value)) in agreeing.iter().enumerate() {
        let mut cmd = jitaa(&url);
        cmd.envs(agreeing)
            .env(var, "0ther")
            .arg("-")
            .write_stdin(token.clone());
        cmd.assert().code(4).stderr(contains(format!(
            "{var}=0ther but the OIDC token says {}={value}",
            claim[i]
        )));
    }
}

#[test]
fn insecure_or_unreachable_issuers_fail_closed() {
    let (issuer, _url) = serve_standalone();
    let t = issuer.mint("jitaa");
    jitaa("http://issuer.example.com")
        .arg("-")
        .write_stdin(t.clone())
        .assert()
        .code(2)
        .stderr(contains("only https"));
    jitaa("http://127.0.0.1:1")
        .arg("-")
        .write_stdin(t)
        .assert()
        .code(5)
        .stderr(contains(
            "could not reach http://127.0.0.1:1/.well-known/openid-configuration",
        ));
}

#[test]
fn in_a_job_the_token_is_fetched_masked_and_verified() {
    let (issuer, url) = serve_standalone();
    let out = jitaa(&url)
        .env("GITHUB_ACTIONS", "true")
        .env(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!("{url}/_actions/token?api-version=2.0"),
        )
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", issuer.request_token())
        .env("GITHUB_SHA", "e75edcc5b6cb88fc32f8d65d1da2655576b905ca")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let first = stdout.lines().next().unwrap();
    let token = first.strip_prefix("::add-mask::").expect("mask line first");
    assert_eq!(token.split('.').count(), 3);
    assert!(stdout.contains("acme/api"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(token));
}

#[test]
fn without_id_token_permission_the_fix_is_shown() {
    let (_issuer, url) = serve_standalone();
    jitaa(&url)
        .env("GITHUB_ACTIONS", "true")
        .assert()
        .code(2)
        .stderr(contains("permissions:\n  id-token: write"));
}

#[test]
fn the_token_endpoint_is_retried_then_given_up_on() {
    let (issuer, url) = serve_standalone();
    let job = |cmd: &mut Command| {
        cmd.env(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!("{url}/_actions/token?api-version=2.0"),
        )
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", issuer.request_token());
    };
    issuer.fail_next_token_requests(2, 503);
    let mut cmd = jitaa(&url);
    job(&mut cmd);
    cmd.assert().success();
    assert_eq!(issuer.token_requests(), 3);

    issuer.fail_next_token_requests(10, 502);
    let mut cmd = jitaa(&url);
    job(&mut cmd);
    cmd.assert().code(5).stderr(contains("after 4 attempts"));
    assert_eq!(issuer.token_requests(), 7);

    // A wrong request token is not retried, and is never printed.
    issuer.fail_next_token_requests(0, 503);
    let mut cmd = jitaa(&url);
    job(&mut cmd);
    cmd.env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "wrong-request-token")
        .assert()
        .code(5)
        .stderr(contains("401"))
        .stderr(predicates::str::contains("wrong-request-token").not());
    assert_eq!(issuer.token_requests(), 8);
}
