//! What run the gate is in: the verified OIDC claims (fetched and checked against the
//! run's GITHUB_* variables), or — only when the policy says `oidc: optional` and the job
//! cannot get a token — the environment variables, recorded as `context_source: env`.

use serde_json::{Value, json};

use crate::audit::ContextSource;
use crate::exit::Failure;
use crate::github::RepoName;
use crate::oidc::{self, Context, Verifier};
use crate::policy::{OidcMode, Policy};

/// The run as the gate uses it. With a verified token, every field comes from its claims.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub repo: RepoName,
    pub sha: String,
    /// `refs/heads/main`, `refs/pull/1/merge`, ...
    pub git_ref: String,
    pub event: String,
    pub actor: String,
    pub actor_id: u64,
    pub environment: Option<String>,
    /// `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID`.
    pub run_url: Option<String>,
}

/// The record's `context`: claims or variables, their source, and the JWKS that verified.
#[derive(Debug, Clone)]
pub(crate) struct RecordContext {
    pub value: Value,
    pub source: ContextSource,
    pub jwks: Option<String>,
}

/// The token, verified, or why there is none.
pub(crate) enum Token {
    Verified {
        context: Box<Context>,
        jwks: Option<String>,
    },
    /// The job cannot request a token (no `id-token: write`).
    Unavailable,
}

fn env(name: &str) -> Option<String> {
    oidc::process_env(name)
}

fn need(name: &str) -> Result<String, Failure> {
    env(name).ok_or_else(|| {
        Failure::usage(format!(
            "{name} is not set: `jitaa gate` runs as a GitHub Actions step"
        ))
    })
}

/// Fetches and verifies the token when the runner offers one. An invalid or
/// contradicting token is exit 4; an unreachable runner or issuer exit 5.
pub(crate) async fn fetch_token() -> Result<Token, Failure> {
    if !crate::request::record::oidc_available() {
        return Ok(Token::Unavailable);
    }
    let audience = env("JITAA_OIDC_AUDIENCE").unwrap_or_else(|| oidc::DEFAULT_AUDIENCE.into());
    let token = oidc::request_token(&audience).await?;
    let verifier = Verifier::from_env()?.with_audience(&audience);
    let context = verifier.verify(&token).await.map_err(Failure::from)?;
    oidc::cross_check(&context, &oidc::process_env).map_err(Failure::from)?;
    let jwks = verifier
        .jwks_snapshot()
        .await
        .and_then(|j| serde_json::to_string(&j).ok());
    Ok(Token::Verified {
        context: Box::new(context),
        jwks,
    })
}

/// The run's facts: from the verified claims, else from GITHUB_* variables.
pub(crate) fn run(token: &Token, environment_flag: Option<&str>) -> Result<Run, Failure> {
    let run_url = match (
        env("GITHUB_SERVER_URL"),
        env("GITHUB_REPOSITORY"),
        env("GITHUB_RUN_ID"),
    ) {
        (Some(s), Some(r), Some(id)) => {
            Some(format!("{}/{r}/actions/runs/{id}", s.trim_end_matches('/')))
        }
        _ => None,
    };
    let run = match token {
        Token::Verified { context: c, .. } => {
            let environment = match (environment_flag, c.environment.as_deref()) {
                (Some(flag), Some(claim)) if !flag.eq_ignore_ascii_case(claim) => {
                    return Err(Failure::integrity(format!(
                        "--environment {flag} but the OIDC token says environment={claim}: the job runs in another environment"
                    )));
                }
                (Some(flag), _) => Some(flag.to_string()),
                (None, claim) => claim.map(str::to_string),
            };
            Run {
                repo: RepoName::parse(&c.repository, "the OIDC token's repository")?,
                sha: c.sha.clone(),
                git_ref: c.git_ref.clone(),
                event: c.event_name.clone(),
                actor: c.actor.clone(),
                actor_id: c.actor_id.parse().unwrap_or(0),
                environment,
                run_url,
            }
        }
        Token::Unavailable => Run {
            repo: RepoName::parse(&need("GITHUB_REPOSITORY")?, "GITHUB_REPOSITORY")?,
            sha: need("GITHUB_SHA")?,
            git_ref: need("GITHUB_REF")?,
            event: need("GITHUB_EVENT_NAME")?,
            actor: need("GITHUB_ACTOR")?,
            actor_id: env("GITHUB_ACTOR_ID")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            environment: environment_flag.map(str::to_string),
            run_url,
        },
    };
    if run.sha.len() != 40 || !run.sha.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Failure::usage(format!(
            "GITHUB_SHA `{}` is not a 40-hex commit id",
            run.sha
        )));
    }
    Ok(run)
}

/// The record's context under the policy: the verified claims; without a token, an
/// error unless the policy says `oidc: optional` (then the variables, marked `env`).
pub(crate) fn for_record(
    token: &Token,
    run: &Run,
    policy: &Policy,
) -> Result<RecordContext, Failure> {
    match token {
        Token::Verified { context, jwks } => Ok(RecordContext {
            value: serde_json::to_value(context.as_ref())
                .map_err(|e| Failure::unreachable(format!("serialising the OIDC context: {e}")))?,
            source: ContextSource::Oidc,
            jwks: jwks.clone(),
        }),
        Token::Unavailable if policy.oidc == OidcMode::Optional => Ok(RecordContext {
            value: json!({
                "repository": run.repo.to_string(),
                "sha": run.sha,
                "ref": run.git_ref,
                "event_name": run.event,
                "actor": run.actor,
                "environment": run.environment,
                "run_id": env("GITHUB_RUN_ID"),
                "run_attempt": env("GITHUB_RUN_ATTEMPT"),
                "workflow": env("GITHUB_WORKFLOW"),
            }),
            source: ContextSource::Env,
            jwks: None,
        }),
        Token::Unavailable => Err(Failure::usage(format!(
            "the policy requires a verified OIDC token (oidc: required), but the job cannot request one. Add to the workflow or job:\n\n{}\n\n(or set `oidc: optional` in the policy on the protected base)",
            oidc::PERMISSIONS_HINT
        ))),
    }
}

/// The push event's `before` (GITHUB_EVENT_PATH); `None` when absent or all zeros.
pub(crate) fn push_before() -> Result<Option<String>, Failure> {
    let Some(path) = env("GITHUB_EVENT_PATH") else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Failure::usage(format!("GITHUB_EVENT_PATH {path}: {e}")))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| Failure::usage(format!("GITHUB_EVENT_PATH {path}: not JSON: {e}")))?;
    Ok(v.get("before")
        .and_then(Value::as_str)
        .filter(|b| b.len() == 40 && b.chars().all(|c| c.is_ascii_hexdigit()))
        .filter(|b| b.chars().any(|c| c != '0'))
        .map(str::to_string))
}

/// The pull request of a `pull_request*` event payload: its number and head sha.
pub(crate) fn event_pr() -> Option<(u64, Option<String>)> {
    let path = env("GITHUB_EVENT_PATH")?;
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    let pr = v.get("pull_request")?;
    let head = pr
        .get("head")
        .and_then(|h| h.get("sha"))
        .and_then(Value::as_str)
        .map(str::to_string);
    Some((pr.get("number")?.as_u64()?, head))
}
