//! The typed context of a verified token (what ran, where, for whom), and its
//! cross-check against the run's `GITHUB_*` variables.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::{EnvFn, OidcError};

/// The claims of a verified Actions ID token. Serialized with GitHub's claim names, so
/// an audit record's `context` reads like the token. Claims jitaa does not model stay
/// in [`Context::other`]. `sub` is kept for the record but never parsed for a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    #[serde(rename = "iss")]
    pub issuer: String,
    #[serde(rename = "aud", deserialize_with = "one_or_many")]
    pub audience: Vec<String>,
    pub repository: String,
    pub repository_id: String,
    #[serde(rename = "repository_owner")]
    pub owner: String,
    #[serde(rename = "repository_owner_id")]
    pub owner_id: String,
    pub actor: String,
    pub actor_id: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub ref_type: String,
    pub sha: String,
    pub event_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub workflow: String,
    pub workflow_ref: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_sha: Option<String>,
    pub job_workflow_ref: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_workflow_sha: Option<String>,
    pub run_id: String,
    pub run_number: String,
    pub run_attempt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner_environment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_visibility: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_protected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    pub iat: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Every other claim GitHub sent (enterprise, environment_node_id, check_run_id, ...).
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// String claims a usable token must carry.
const REQUIRED: &[&str] = &[
    "repository",
    "repository_id",
    "repository_owner",
    "repository_owner_id",
    "actor",
    "actor_id",
    "ref",
    "ref_type",
    "sha",
    "event_name",
    "workflow",
    "workflow_ref",
    "job_workflow_ref",
    "run_id",
    "run_number",
    "run_attempt",
];

/// String claims that may be absent but, when present, must be strings.
const OPTIONAL: &[&str] = &[
    "environment",
    "workflow_sha",
    "job_workflow_sha",
    "runner_environment",
    "head_ref",
    "base_ref",
    "repository_visibility",
    "ref_protected",
    "sub",
    "jti",
];

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

impl Context {
    /// Builds the context from verified claims, naming the first claim that is missing
    /// or of the wrong JSON type (every claim a string except exp, iat, nbf).
    pub fn from_claims(claims: &Map<String, Value>) -> Result<Context, OidcError> {
        for name in REQUIRED {
            match claims.get(*name) {
                Some(Value::String(_)) => {}
                Some(other) => return Err(wrong_type(name, other)),
                None => return Err(OidcError::claim(name, "is missing")),
            }
        }
        for name in OPTIONAL {
            match claims.get(*name) {
                None | Some(Value::String(_)) => {}
                Some(other) => return Err(wrong_type(name, other)),
            }
        }
        serde_json::from_value(Value::Object(claims.clone()))
            .map_err(|e| OidcError::Malformed(format!("claims do not form a context: {e}")))
    }

    /// `(claim, value)` rows for display, in a fixed order, extra claims last.
    pub fn rows(&self) -> Vec<(String, String)> {
        let mut rows = Vec::new();
        if let Ok(Value::Object(m)) = serde_json::to_value(self) {
            let first = [
                "repository",
                "repository_id",
                "repository_owner",
                "repository_owner_id",
                "actor",
                "actor_id",
                "event_name",
                "ref",
                "ref_type",
                "sha",
                "environment",
                "workflow",
                "workflow_ref",
                "job_workflow_ref",
                "run_id",
                "run_number",
                "run_attempt",
            ];
            for k in first {
                if let Some(v) = m.get(k) {
                    rows.push((k.to_string(), display(v)));
                }
            }
            for (k, v) in &m {
                if !first.contains(&k.as_str()) {
                    rows.push((k.clone(), display(v)));
                }
            }
        }
        rows
    }
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn wrong_type(name: &str, v: &Value) -> OidcError {
    let kind = match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    OidcError::claim(name, format!("is {kind}; GitHub sends a string"))
}

/// The `GITHUB_*` variables that must agree with the token, and their claims.
pub(super) const CROSS_CHECKED: &[(&str, &str)] = &[
    ("GITHUB_REPOSITORY", "repository"),
    ("GITHUB_SHA", "sha"),
    ("GITHUB_REF", "ref"),
    ("GITHUB_RUN_ID", "run_id"),
    ("GITHUB_RUN_ATTEMPT", "run_attempt"),
];

/// Each of `GITHUB_REPOSITORY`, `GITHUB_SHA`, `GITHUB_REF`, `GITHUB_RUN_ID` and
/// `GITHUB_RUN_ATTEMPT` that is set must equal its claim; the first mismatch is an
/// integrity failure naming both sides.
pub fn cross_check(ctx: &Context, env: EnvFn) -> Result<(), OidcError> {
    for (var, claim) in CROSS_CHECKED {
        let Some(value) = env(var) else { continue };
        let claimed = match *claim {
            "repository" => &ctx.repository,
            "sha" => &ctx.sha,
            "ref" => &ctx.git_ref,
            "run_id" => &ctx.run_id,
            _ => &ctx.run_attempt,
        };
        if &value != claimed {
            return Err(OidcError::Mismatch {
                var: var.to_string(),
                env_value: value,
                claim: claim.to_string(),
                claim_value: claimed.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Map<String, Value> {
        let text = include_str!("../../tests/data/oidc/claims.push-branch.json");
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn real_claims_become_a_context_and_round_trip() {
        let ctx = Context::from_claims(&fixture()).unwrap();
        assert_eq!(ctx.repository, "everycure-org/matrix");
        assert_eq!(ctx.owner_id, "162148032");
        assert_eq!(ctx.git_ref, "refs/heads/infra");
        assert_eq!(ctx.audience, vec!["https://github.com/everycure-org"]);
        assert_eq!(ctx.environment, None);
        assert_eq!(ctx.iat, 1725377367);
        let back: Context = serde_json::from_value(serde_json::to_value(&ctx).unwrap()).unwrap();
        assert_eq!(back, ctx);
        // Every claim of the token survives into the record.
        let json = serde_json::to_value(&ctx).unwrap();
        for k in fixture().keys() {
            assert!(json.get(k).is_some(), "claim {k} lost");
        }
    }

    #[test]
    fn unknown_claims_are_kept() {
        let mut c = fixture();
        c.insert("check_run_id".into(), Value::String("42".into()));
        let ctx = Context::from_claims(&c).unwrap();
        assert_eq!(
            ctx.other.get("check_run_id"),
            Some(&Value::String("42".into()))
        );
    }

    #[test]
    fn a_mistyped_or_missing_claim_is_named() {
        let mut c = fixture();
        c.insert("run_id".into(), Value::from(10685993555u64));
        let e = Context::from_claims(&c).unwrap_err();
        assert!(e.to_string().contains("`run_id` is a number"), "{e}");
        let mut c = fixture();
        c.remove("sha");
        let e = Context::from_claims(&c).unwrap_err();
        assert!(e.to_string().contains("`sha` is missing"), "{e}");
        let mut c = fixture();
        c.insert("environment".into(), Value::Bool(true));
        assert!(Context::from_claims(&c).is_err());
    }

    #[test]
    fn cross_check_names_the_variable_and_both_values() {
        let ctx = Context::from_claims(&fixture()).unwrap();
        let agree = |k: &str| match k {
            "GITHUB_SHA" => Some("e75edcc5b6cb88fc32f8d65d1da2655576b905ca".to_string()),
            "GITHUB_RUN_ATTEMPT" => Some("1".to_string()),
            _ => None,
        };
        assert!(cross_check(&ctx, &agree).is_ok());
        for (var, claim) in CROSS_CHECKED {
            let env = |k: &str| (k == *var).then(|| "something-else".to_string());
            let e = cross_check(&ctx, &env).unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.starts_with(&format!(
                    "{var}=something-else but the OIDC token says {claim}="
                )),
                "{msg}"
            );
            assert_eq!(e.code(), crate::exit::Code::Integrity);
        }
    }
}
