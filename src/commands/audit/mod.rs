//! `jitaa audit log|show|export|verify`: read the local audit branch, else
//! `<remote>/<branch>`, or `--ref`, with the policy's audit settings from the default
//! branch and, for `verify`, the OIDC verifier for `github-oidc` signatures.

mod keys;
mod rows;

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::{Format, Global};
use crate::audit::chain::stream;
use crate::audit::record::Decision;
use crate::audit::verify::{VerifyOptions, verify};
use crate::audit::wiring::{RecordTokenVerifier, policy_audit_from_default_branch};
use crate::audit::{AuditError, Settings};
use crate::exit::{Code, Failure};
use crate::oidc;
use crate::repo::Repo;

use keys::{pusher_keys, resolve_tip, trusted_keys, window};
use rows::{full_json, in_window, involves, row, write_csv, write_json, write_table};

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The audit branch (default: the policy's audit.branch, else jitaa/audit).
    #[arg(long, global = true, value_name = "BRANCH")]
    pub branch: Option<String>,
    /// Read this ref instead of the local branch or origin/BRANCH.
    #[arg(long = "ref", global = true, value_name = "REF")]
    pub git_ref: Option<String>,
    #[command(subcommand)]
    pub command: AuditCmd,
}

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// List records (table, json or csv via --format).
    #[command(
        after_help = "Example:\n  jitaa audit log --since 2026-11-01 --actor alice --decision approved --format json"
    )]
    Log(AuditLogArgs),
    /// Print one record (by id or digest) with its commit.
    #[command(after_help = "Example:\n  jitaa audit show 01JD0000000000000000000000")]
    Show(AuditShowArgs),
    /// One row per decision, for an auditor's sample (csv or json).
    #[command(
        after_help = "Example:\n  jitaa audit export --since 2026-10-01 --until 2026-12-31 --format csv"
    )]
    Export(AuditExportArgs),
    /// Recompute digests, walk the chain, check every signature (exit 4 when broken).
    #[command(
        after_help = "Examples:\n  jitaa audit verify --allowed-signers .github/jitaa-allowed-signers --expect-head sha256:<digest>\n  jitaa audit verify --allowed-signers certifiers --pusher-signers developers --jwks github-jwks.json"
    )]
    Verify(AuditVerifyArgs),
}

#[derive(Debug, Args)]
pub struct AuditLogArgs {
    /// Only records at or after T (RFC 3339, 2026-11-25, or a duration ago like 7d).
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only records at or before T.
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// Only records where LOGIN requested or approved.
    #[arg(long, value_name = "LOGIN")]
    pub actor: Option<String>,
    /// Only records for this environment.
    #[arg(long, value_name = "ENV")]
    pub environment: Option<String>,
    /// Only this decision: approved, denied, expired, cancelled, auto.
    #[arg(long, value_name = "D")]
    pub decision: Option<String>,
}

#[derive(Debug, Args)]
pub struct AuditShowArgs {
    /// The record id (ULID) or its digest.
    pub id: String,
}

#[derive(Debug, Args)]
pub struct AuditExportArgs {
    /// Only decisions at or after T.
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only decisions at or before T.
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
}

#[derive(Debug, Args)]
pub struct AuditVerifyArgs {
    /// A digest you saw earlier: fails unless it is still in the chain.
    #[arg(long, value_name = "DIGEST")]
    pub expect_head: Option<String>,
    /// Certifiers' keys: trusted for every record (default: the policy's
    /// audit.allowed_signers on the default branch).
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<PathBuf>,
    /// Developers' keys, trusted for `push` records only (default: the policy's
    /// audit.pusher_signers on the default branch; when --allowed-signers is given
    /// without --pusher-signers, no pusher key is trusted).
    #[arg(long, value_name = "FILE")]
    pub pusher_signers: Option<PathBuf>,
    /// The issuer's keys for `github-oidc` signatures, as a JWKS document (repeatable;
    /// no network then). Default: the issuer's live JWKS, fetched when a record needs
    /// it. A key archived only in the branch's jwks/ is never trusted on its own.
    #[arg(long, value_name = "FILE")]
    pub jwks: Vec<PathBuf>,
    /// The OIDC issuer tokens must name (default: JITAA_OIDC_ISSUER, else GitHub's).
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
}

/// `jitaa audit ...` with the policy's settings and the OIDC verifier wired in: for
/// `verify`, `--jwks FILE` when given (no network), else the issuer's live JWKS; the
/// issuer is `--issuer`, else `JITAA_OIDC_ISSUER`, else GitHub's.
pub(super) fn run(global: &Global, args: &AuditArgs) -> Result<Code, Failure> {
    let repo = Repo::discover(global.repo.as_deref())?;
    let audit = policy_audit_from_default_branch(&repo)?;
    let settings = Settings::from(&audit);
    let (files, flag): (&[PathBuf], Option<&str>) = match &args.command {
        AuditCmd::Verify(v) => (&v.jwks, v.issuer.as_deref()),
        _ => (&[], None),
    };
    let issuer = match flag {
        Some(url) => {
            oidc::check_url(url.trim(), "--issuer").map_err(Failure::from)?;
            url.to_string()
        }
        None => oidc::process_env("JITAA_OIDC_ISSUER")
            .unwrap_or_else(|| oidc::DEFAULT_ISSUER.to_string()),
    };
    let verifier = if files.is_empty() {
        RecordTokenVerifier::live(&issuer)
    } else {
        RecordTokenVerifier::with_files(&issuer, files)?
    };
    audit_with(
        global,
        args,
        &settings,
        Some(&audit.pusher_signers),
        Some(&verifier),
    )
}

/// Runs one `jitaa audit` command. `settings` carries the policy's audit section and
/// `pusher_signers` its `audit.pusher_signers` path; `oidc` verifies `github-oidc`
/// signatures and says which keys are trusted; without one such a signature is a
/// verification failure, never a pass.
fn audit_with(
    global: &Global,
    args: &AuditArgs,
    settings: &Settings,
    pusher_signers: Option<&str>,
    oidc: Option<&dyn crate::audit::OidcVerifier>,
) -> Result<Code, Failure> {
    let format = match &args.command {
        AuditCmd::Log(_) => global.format(
            "jitaa audit log",
            &[Format::Table, Format::Json, Format::Csv],
        )?,
        AuditCmd::Show(_) => global.format("jitaa audit show", &[Format::Json])?,
        AuditCmd::Export(_) => global.format("jitaa audit export", &[Format::Csv, Format::Json])?,
        AuditCmd::Verify(_) => {
            global.format("jitaa audit verify", &[Format::Table, Format::Json])?
        }
    };
    let repo = Repo::discover(global.repo.as_deref())?;
    let mut settings = settings.clone();
    if let Some(b) = &args.branch {
        settings.branch = b.clone();
    }
    let (tip, source) = resolve_tip(repo.git(), &settings, args.git_ref.as_deref())?;
    // Rows are written as the records are read (a long branch streams): buffered.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let io = |e: std::io::Error| Failure::unreachable(format!("writing output: {e}"));
    match &args.command {
        AuditCmd::Log(a) => {
            let (since, until) = window(a.since.as_deref(), a.until.as_deref())?;
            let decision = a
                .decision
                .as_deref()
                .map(|d| {
                    d.parse::<Decision>()
                        .map_err(|e| Failure::usage(format!("--decision: {e}")))
                })
                .transpose()?;
            let items = stream(repo.git(), tip)?.filter(|l| {
                l.as_ref().map_or(true, |l| {
                    in_window(l, since, until)
                        && decision.is_none_or(|d| l.record.payload.decision == Some(d))
                        && a.environment.as_deref().is_none_or(|e| {
                            l.record.payload.subject.environment.as_deref() == Some(e)
                        })
                        && a.actor.as_deref().is_none_or(|who| involves(l, who))
                })
            });
            match format {
                Format::Json => write_json(&mut out, items.map(|l| l.map(|l| full_json(&l))))?,
                Format::Csv => write_csv(&mut out, items)?,
                Format::Table => write_table(&mut out, items)?,
            }
        }
        AuditCmd::Show(a) => {
            let found = stream(repo.git(), tip)?
                .find(|l| {
                    l.as_ref().map_or(true, |l| {
                        l.record.payload.id == a.id || l.record.digest == a.id
                    })
                })
                .transpose()?
                .ok_or_else(|| Failure::usage(format!("no record `{}` on {source}", a.id)))?;
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&full_json(&found)).unwrap_or_default()
            )
            .map_err(io)?;
        }
        AuditCmd::Export(a) => {
            let (since, until) = window(a.since.as_deref(), a.until.as_deref())?;
            let items = stream(repo.git(), tip)?.filter(|l| {
                l.as_ref().map_or(true, |l| {
                    l.record.payload.decision.is_some() && in_window(l, since, until)
                })
            });
            if format == Format::Json {
                let rows = items.map(|l| {
                    l.map(|l| {
                        Value::Object(
                            row(&l)
                                .into_iter()
                                .map(|(k, v)| (k.to_string(), Value::String(v)))
                                .collect(),
                        )
                    })
                });
                write_json(&mut out, rows)?;
            } else {
                write_csv(&mut out, items)?;
            }
        }
        AuditCmd::Verify(a) => {
            // A malformed digest is a usage error (2), not a broken chain (4).
            if let Some(h) = &a.expect_head
                && !crate::audit::record::is_digest(h)
            {
                return Err(Failure::usage(format!(
                    "--expect-head `{h}` is not a sha256:<64 hex> digest"
                )));
            }
            let trusted = trusted_keys(&repo, &settings, a.allowed_signers.as_deref())?;
            let pushers = pusher_keys(
                &repo,
                &settings,
                pusher_signers,
                a.pusher_signers.as_deref(),
                a.allowed_signers.is_some(),
            )?;
            for s in trusted.skipped.iter().chain(&pushers.skipped) {
                eprintln!("jitaa: warning: {s}");
            }
            let opts = VerifyOptions {
                trusted: &trusted,
                pushers: &pushers,
                expect_head: a.expect_head.clone(),
                oidc,
            };
            // verify reads every object once (each worker keeps what it read of a
            // commit, the chain walk its trees): libgit2's object cache, up to 256 MB
            // for each thread's repository handle, would only hold memory.
            git2::opts::enable_caching(false);
            let v = verify(repo.git(), tip, &opts).map_err(AuditError::from)?;
            if format == Format::Json {
                writeln!(out, "{}", json!({"verified": true, "records": v.records, "head": v.head, "commit": v.head_commit.to_string(), "ref": source})).map_err(io)?;
            } else {
                writeln!(
                    out,
                    "verified {} records on {source}; head {} (commit {})",
                    v.records, v.head, v.head_commit
                )
                .map_err(io)?;
            }
        }
    }
    out.flush().map_err(io)?;
    Ok(Code::Ok)
}
