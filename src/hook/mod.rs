//! The pre-push hook flow: developers get the gate on their own machine, before a push
//! to a protected branch leaves it (`jitaa hook pre-push`). Also `jitaa hook install`.
//!
//! Map: `protocol` (git's stdin) → `scope` (which updates are gated, no network) →
//! `crate::base` (the rules at the remote tip) and `base` (changed paths) →
//! `crate::audit::approvals` (a grant on the audit branch) / `pr` (approval engine over
//! the PR) → `message` (blocked) or `record` (push record). `flow` ties them together.

pub mod base;
pub mod error;
pub mod flow;
pub mod install;
pub mod message;
pub mod pr;
pub mod protocol;
pub mod record;
pub mod scope;

use std::io::IsTerminal;
use std::path::Path;

use crate::cli::{Format, Global, HookInstallArgs, HookPrePushArgs};
use crate::exit::{Code, Failure};
use crate::repo::Repo;

pub use error::HookError;
pub use flow::{AllowedRef, Push, Summary, run};

/// The ref updates of this push: git's stdin lines, else (none given and
/// `PRE_COMMIT_TO_REF` set) the one update the pre-commit framework describes.
pub fn updates_from(
    stdin: &str,
    get: impl Fn(&str) -> Option<String>,
) -> Result<Vec<protocol::RefUpdate>, HookError> {
    let updates = protocol::parse(stdin)?;
    if !updates.is_empty() || get("PRE_COMMIT_TO_REF").is_none() {
        return Ok(updates);
    }
    protocol::from_pre_commit(&get)
        .map(|u| vec![u])
        .ok_or(HookError::PreCommitEnv)
}

/// git2 cannot open SHA-256 repositories: unprotected pushes still pass (scope read
/// through the git CLI); protected ones are refused, since approvals cannot be checked.
fn sha256_fallback(
    global: &Global,
    remote: &str,
    updates: &[protocol::RefUpdate],
    open_error: Failure,
) -> Result<Code, Failure> {
    let dir = global.repo.clone().unwrap_or_else(|| ".".into());
    let gated = scope::gated_by_cli(&dir, remote, updates)?;
    if gated.is_empty() {
        return Ok(Code::Ok);
    }
    let refs: Vec<&str> = gated.iter().map(|u| u.remote_ref.as_str()).collect();
    Err(Failure::usage(format!(
        "{}\njitaa cannot read this repository's objects (SHA-256 object format), so it cannot check approvals for {}; the push is blocked",
        open_error.message,
        refs.join(", ")
    )))
}

/// `jitaa hook pre-push REMOTE URL`, with git's ref lines on stdin.
pub fn cmd_pre_push(global: &Global, args: &HookPrePushArgs) -> Result<Code, Failure> {
    let stdin = std::io::stdin();
    let input = if stdin.is_terminal() {
        String::new()
    } else {
        std::io::read_to_string(stdin)
            .map_err(|e| Failure::usage(format!("reading the pre-push lines on stdin: {e}")))?
    };
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let updates = updates_from(&input, env)?;
    if updates.is_empty() {
        return Ok(Code::Ok);
    }
    let remote = args.remote.clone().ok_or_else(|| {
        Failure::usage("REMOTE: missing; git passes it to the hook (or set PRE_COMMIT_REMOTE_NAME)")
    })?;
    let url = args.url.clone().unwrap_or_else(|| remote.clone());
    let repo = match Repo::discover(global.repo.as_deref()).map_err(Failure::from) {
        Ok(r) => r,
        Err(e) if e.message.contains("object format") => {
            return sha256_fallback(global, &remote, &updates, e);
        }
        Err(e) => return Err(e),
    };
    let summary = run(
        &repo,
        Push {
            remote: &remote,
            url: &url,
            updates: &updates,
        },
    )?;
    if let Summary::Allowed(list) = summary {
        for a in &list {
            let rec = a
                .record
                .as_ref()
                .map(|r| format!("; push record {} on the audit branch", r.id))
                .unwrap_or_default();
            eprintln!("jitaa: push to `{}` allowed: {}{rec}", a.branch, a.how);
            if let Some(crate::audit::Outcome::Pending { reason }) = &a.published {
                eprintln!("jitaa: warning: {reason}");
            }
        }
        if global.format == Format::Json {
            let items: Vec<serde_json::Value> = list
                .iter()
                .map(|a| {
                    serde_json::json!({
                        "ref": a.update.remote_ref,
                        "sha": a.update.local_sha,
                        "allowed": a.how,
                        "record": a.record.as_ref().map(|r| &r.id),
                        "digest": a.record.as_ref().map(|r| &r.digest),
                    })
                })
                .collect();
            println!("{}", serde_json::json!({"allowed": items}));
        }
    }
    Ok(Code::Ok)
}

/// `jitaa hook install [--force]`.
pub fn cmd_install(global: &Global, args: &HookInstallArgs) -> Result<Code, Failure> {
    let dir = global.repo.clone().unwrap_or_else(|| ".".into());
    let exe = std::env::current_exe()
        .map_err(|e| Failure::unreachable(format!("locating the jitaa binary: {e}")))?;
    let done = install::install(Path::new(&dir), &exe, args.force)?;
    let (what, path, kept) = match &done {
        install::Installed::Fresh(p) => ("installed", p, None),
        install::Installed::Updated(p) => ("updated", p, None),
        install::Installed::Chained { hook, kept } => ("installed (chained)", hook, Some(kept)),
    };
    if global.format == Format::Json {
        println!(
            "{}",
            serde_json::json!({"result": what, "hook": path, "kept": kept})
        );
    } else {
        println!("{what}: {}", path.display());
        if let Some(kept) = kept {
            println!(
                "your earlier hook now lives at {} and runs first",
                kept.display()
            );
        }
    }
    Ok(Code::Ok)
}

#[cfg(test)]
mod tests;
