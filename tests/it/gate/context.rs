//! `jitaa gate` end to end, where the facts come from: the environment and its team
//! rule, OIDC required or optional, signers the policy names, and a protected base that
//! is not in the checkout (read through the contents API).

use crate::support::{POLICY, REPO, World};
use serde_json::json;

const PRODUCTION: &str = "version: 1
audit:
  signing: [ssh]
rules:
  - name: production
    match: { environment: production }
    approvals: 2
    approvers: [\"@acme/sre\"]
";

#[test]
fn an_environment_rule_needs_two_members_of_the_listed_team() {
    let w = World::new(PRODUCTION);
    w.hub.add_team("acme", "sre", &["carol", "dave"]);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    w.hub
        .oidc()
        .set_claims(json!({"environment": "production"}));
    let gate = w.gate(&sha).arg("--environment").arg("production").spawn();
    w.wait_for_request(pr);
    w.hub.comment_as("bob", REPO, pr, "/approve").unwrap(); // not in the team
    w.hub.comment_as("dave", REPO, pr, "/approve").unwrap();
    w.hub.comment_as("carol", REPO, pr, "/approve").unwrap();
    let done = gate.finish();
    done.assert_code(0);
    let mut who: Vec<&str> = done.outputs["approvers"].split(',').collect();
    who.sort_unstable();
    assert_eq!(who, ["carol", "dave"], "bob is not in @acme/sre");
    let rec = w.last_record();
    assert_eq!(rec["rule"]["name"], "production");
    assert_eq!(rec["subject"]["environment"], "production");
    assert_eq!(rec["context"]["environment"], "production");
    let checks = w.hub.check_runs(REPO, &sha);
    assert_eq!(checks[0].name, "jitaa / production");
    w.assert_verifies();
}

#[test]
fn an_environment_flag_the_token_contradicts_is_an_integrity_failure() {
    let w = World::new(PRODUCTION);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    w.hub.oidc().set_claims(json!({"environment": "staging"}));
    let done = w.gate(&sha).arg("--environment").arg("production").run();
    done.assert_code(4);
    assert!(
        done.stderr.contains("environment=staging"),
        "{}",
        done.stderr
    );
    assert!(w.bodies(pr).is_empty());
}

#[test]
fn without_a_token_oidc_required_refuses_and_optional_records_env() {
    let w = World::new(POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    let done = w
        .gate(&sha)
        .without_env("ACTIONS_ID_TOKEN_REQUEST_URL")
        .without_env("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .run();
    done.assert_code(2);
    assert!(done.stderr.contains("id-token: write"), "{}", done.stderr);
    assert!(w.bodies(pr).is_empty(), "nothing asked");

    let w = World::new(&POLICY.replace("oidc: required", "oidc: optional"));
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    let gate = w
        .gate(&sha)
        .without_env("ACTIONS_ID_TOKEN_REQUEST_URL")
        .without_env("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .spawn();
    w.wait_for_request(pr);
    w.hub.comment_as("bob", REPO, pr, "/approve").unwrap();
    gate.finish().assert_code(0);
    let rec = w.last_record();
    assert_eq!(rec["context_source"], "env");
    assert_eq!(rec["context"]["sha"], sha.as_str());
    w.assert_verifies();
}

#[test]
fn a_configured_signer_that_cannot_sign_is_an_error_not_a_skip() {
    let w = World::new(POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    let done = w.gate(&sha).without_env("JITAA_SIGNING_KEY").run();
    done.assert_code(2);
    assert!(done.stderr.contains("JITAA_SIGNING_KEY"), "{}", done.stderr);
    assert!(w.bodies(pr).is_empty());
    assert!(w.records().is_empty());
}

#[test]
fn github_oidc_signatures_carry_the_record_digest_as_audience() {
    let w = World::new(&POLICY.replace("signing: [ssh]", "signing: [ssh, github-oidc]"));
    let sha = w.commit("feature", &[("docs/guide.md", "v2\n")]);
    w.open_pr(&sha, &["docs/guide.md"]);
    w.gate(&sha).run().assert_code(0);
    let rec = w.records().pop().unwrap();
    let sigs = rec["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 2);
    let token = sigs[1]["token"].as_str().unwrap();
    let claims = token.split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        claims["aud"],
        format!("jitaa:{}", rec["digest"].as_str().unwrap())
    );
}

#[test]
fn a_base_missing_from_the_checkout_is_read_through_the_contents_api() {
    let w = World::new(POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let base = "f".repeat(40); // not in origin: git cannot fetch it
    let pr = w.hub.add_pr(
        REPO,
        fakehub::PrSpec {
            author: "alice".into(),
            head_sha: sha.clone(),
            base_sha: base.clone(),
            files: vec!["src/app.rs".into()],
            ..fakehub::PrSpec::default()
        },
    );
    let api_policy = "version: 1\naudit:\n  signing: [ssh]\nrules:\n  - name: from-the-api\n    approvals: 1\n    approvers: [\"@dave\"]\n";
    w.hub
        .set_file(REPO, &base, "ops/policy.yml", api_policy.as_bytes());
    let gate = w.gate(&sha).arg("--policy").arg("ops/policy.yml").spawn();
    w.wait_for_request(pr);
    w.hub.comment_as("dave", REPO, pr, "/approve").unwrap();
    let done = gate.finish();
    done.assert_code(0);
    assert_eq!(w.last_record()["rule"]["name"], "from-the-api");
    w.assert_verifies();
}
