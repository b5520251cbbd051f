//! `jitaa hook pre-push REMOTE URL` (git's ref lines on stdin) and `jitaa hook install`.

use std::io::IsTerminal;
use std::path::Path;

use clap::{Args, Subcommand};

use super::{Format, Global};
use crate::exit::{Code, Failure};
use crate::hook::{Push, Summary, protocol, scope, updates_from};
use crate::repo::Repo;

#[derive(Debug, Subcommand)]
pub enum HookCmd {
    /// Install the pre-push hook into the hooks directory git uses (core.hooksPath aware).
    #[command(
        after_help = "Example:\n  jitaa hook install\n  jitaa hook install --force   # keep and chain an existing pre-push hook"
    )]
    Install(HookInstallArgs),
    /// git's pre-push hook: let a push to a protected branch through only with a valid,
    /// unexpired approval (exit 1 when blocked). Reads git's ref lines on stdin.
    #[command(
        name = "pre-push",
        after_help = "Example (what the installed hook runs):\n  \
echo \"refs/heads/main $(git rev-parse HEAD) refs/heads/main $(git rev-parse origin/main)\" | jitaa hook pre-push origin \"$(git remote get-url origin)\""
    )]
    PrePush(HookPrePushArgs),
}

#[derive(Debug, Args)]
pub struct HookPrePushArgs {
    /// The remote's name as git passes it (default: PRE_COMMIT_REMOTE_NAME).
    #[arg(value_name = "REMOTE", env = "PRE_COMMIT_REMOTE_NAME")]
    pub remote: Option<String>,
    /// The remote's URL as git passes it (default: PRE_COMMIT_REMOTE_URL).
    #[arg(
        value_name = "URL",
        env = "PRE_COMMIT_REMOTE_URL",
        hide_env_values = true
    )]
    pub url: Option<String>,
}

#[derive(Debug, Args)]
pub struct HookInstallArgs {
    /// Keep an existing foreign pre-push hook as pre-push.local and chain it.
    #[arg(long)]
    pub force: bool,
}

pub(super) fn run(global: &Global, cmd: HookCmd) -> Result<Code, Failure> {
    match cmd {
        HookCmd::Install(args) => install(global, &args),
        HookCmd::PrePush(args) => pre_push(global, &args),
    }
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
fn pre_push(global: &Global, args: &HookPrePushArgs) -> Result<Code, Failure> {
    let format = global.format("jitaa hook pre-push", &[Format::Table, Format::Json])?;
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
    let summary = crate::hook::run(
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
        if format == Format::Json {
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
fn install(global: &Global, args: &HookInstallArgs) -> Result<Code, Failure> {
    let format = global.format("jitaa hook install", &[Format::Table, Format::Json])?;
    let dir = global.repo.clone().unwrap_or_else(|| ".".into());
    let exe = std::env::current_exe()
        .map_err(|e| Failure::unreachable(format!("locating the jitaa binary: {e}")))?;
    let done = crate::hook::install::install(Path::new(&dir), &exe, args.force)?;
    let (what, path, kept) = match &done {
        crate::hook::install::Installed::Fresh(p) => ("installed", p, None),
        crate::hook::install::Installed::Updated(p) => ("updated", p, None),
        crate::hook::install::Installed::Chained { hook, kept } => {
            ("installed (chained)", hook, Some(kept))
        }
    };
    if format == Format::Json {
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
