//! `jitaa decide`: decide a pending request when something happens to it, in a workflow
//! of the default branch, so that no runner waits while a person decides.
//!
//! Top to bottom, as [`run`] reads:
//! 1. the event (`event.rs`): a new comment, a button pressed on a jitaa check run, or a
//!    completed run of a one-step `pull_request_review` workflow; anything else exits 0
//!    with nothing written;
//! 2. decide's own run: its verified OIDC token, and the default branch's rules and
//!    trusted keys. A decide whose records would not count (its workflow is not in
//!    `audit.trusted_workflows`, or it runs from another ref, and it has no certifier
//!    key) stops here, exit 2, before writing anything;
//! 3. the pending requests the event concerns (`pending.rs`): their request records on
//!    the audit branch, whose GitHub-signed tokens give the facts of the requesting run;
//! 4. each is judged exactly as the waiting gate would (`judge.rs`): the same protected
//!    base, rules, engine, eligibility, reactions and replies; a button press by X is
//!    X's `/approve` or `/deny` for that request only;
//! 5. on a decision: ONE decision record however many decide runs race
//!    (`audit::once`), the check run completed, the request comment updated, and — when
//!    approved — the requesting workflow run re-run, whose gate reuses the approval.
//!
//! Refusals are replies, never a failed workflow. Infrastructure failures are exit 5
//! and never approve.

pub(crate) mod event;
mod judge;
mod pending;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use crate::audit::OidcVerifier;
use crate::audit::approvals::{self, Records};
use crate::base::{AtDefault, Trust};
use crate::exit::{Code, Failure};
use crate::gate::context::{self, Token};
use crate::github::Client;
use crate::progress::Progress;
use crate::repo::Repo;
use crate::request::record;

use event::Parsed;

/// What `jitaa decide` is asked to do.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    /// The repository's directory (default: the current one).
    pub repo: Option<std::path::PathBuf>,
}

/// The flow, top to bottom.
pub(crate) async fn run(args: &Options, say: &dyn Progress) -> Result<Code, Failure> {
    // 1. The event.
    let name = need("GITHUB_EVENT_NAME")?;
    let path = need("GITHUB_EVENT_PATH")?;
    let bytes = std::fs::read(&path)
        .map_err(|e| Failure::usage(format!("GITHUB_EVENT_PATH {path}: {e}")))?;
    let trigger = match event::parse(&name, &bytes)
        .map_err(|e| Failure::usage(format!("GITHUB_EVENT_PATH {path} ({name} event): {e}")))?
    {
        Parsed::Ignored(why) => {
            say.say(&format!("jitaa decide: nothing to do: {why}"));
            return Ok(Code::Ok);
        }
        Parsed::Trigger(t) => t,
    };

    // 2. Decide's own run and the default branch's rules and keys.
    let repo = Repo::discover(args.repo.as_deref())?;
    let client = Client::from_env(None).map_err(Failure::from)?;
    let token = context::fetch_token().await?;
    let me = context::run(&token, None)?;
    let default = AtDefault::load(&repo, "origin")?;
    let policy = &default.rules.policy.policy;
    let settings = record::settings(policy);
    let signers = record::gate_signers(policy)?;
    let certifier = certifier(&default.trust, &token, &signers, &default.name)?;
    let own = context::for_record(&token, &me, policy)?;
    let records = Records::load(repo.git(), &settings)?;
    let tokens = token_source(&default.trust);

    // 3. The pending requests the event concerns.
    let found = pending::find(&client, &me.repo, &trigger, &records, tokens.as_ref(), say).await?;
    if found.is_empty() {
        say.say("jitaa decide: no pending request of jitaa's is concerned");
        return Ok(Code::Ok);
    }

    // 4–5. Judge each; record, report and restart on a decision.
    let ctx = judge::Ctx {
        repo: &repo,
        client: &client,
        name: &me.repo,
        default: &default,
        records: &records,
        settings: &settings,
        signers: &signers,
        certifier: certifier.as_deref(),
        own: &own,
        trigger: &trigger,
    };
    for p in &found {
        judge::one(&ctx, p, say).await?;
    }
    Ok(Code::Ok)
}

fn need(name: &str) -> Result<String, Failure> {
    crate::oidc::process_env(name).ok_or_else(|| {
        Failure::usage(format!(
            "{name} is not set: `jitaa decide` runs as a step of a GitHub Actions workflow on issue_comment, check_run or workflow_run"
        ))
    })
}

/// Whether decide's records will count as certifications (`audit::approvals` decides):
/// the certifier principal when its `ssh` key certifies, `None` when its token does.
/// Otherwise nothing it wrote would ever let a deployment through: exit 2, before
/// anything is written.
fn certifier(
    trust: &Trust,
    token: &Token,
    signers: &crate::audit::Signers,
    default_branch: &str,
) -> Result<Option<String>, Failure> {
    let key = signers
        .ssh
        .as_ref()
        .map(|s| (s.public_key(), s.principal()));
    let run = match (token, &signers.oidc) {
        (Token::Verified { context, .. }, Some(_)) => Some((
            context.repository.as_str(),
            context.job_workflow_ref.as_str(),
        )),
        _ => None,
    };
    match approvals::writer_certifies(trust, key.as_ref().map(|(k, p)| (k, *p)), run) {
        Some(principal) => Ok(principal),
        None => {
            let trusted = match &trust.keyless {
                Some(k) => format!(
                    "audit.trusted_workflows lists {} (runs on `{default_branch}` only)",
                    k.workflows.join(", ")
                ),
                None => "the policy lists no audit.trusted_workflows".to_string(),
            };
            let this = match token {
                Token::Verified { context, .. } => {
                    format!("this run is `{}`", context.job_workflow_ref)
                }
                Token::Unavailable => {
                    "this run has no OIDC token (give the job `id-token: write`)".to_string()
                }
            };
            Err(Failure::usage(format!(
                "jitaa decide: the records this run would write could never count: {this}; {trusted}; and it has no certifier key of {} (JITAA_SIGNING_KEY). Run decide from a workflow listed in audit.trusted_workflows on the default branch",
                trust.certifiers_file
            )))
        }
    }
}

/// Where request records' token keys come from: the trusted workflows' source (the
/// issuer's JWKS), else the issuer's JWKS fetched for this run.
fn token_source(trust: &Trust) -> Arc<dyn OidcVerifier + Send + Sync> {
    match &trust.keyless {
        Some(k) => Arc::clone(&k.tokens),
        None => Arc::new(crate::audit::wiring::RecordTokenVerifier::live(
            &crate::oidc::process_env("JITAA_OIDC_ISSUER")
                .unwrap_or_else(|| crate::oidc::DEFAULT_ISSUER.to_string()),
        )),
    }
}
