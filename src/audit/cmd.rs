//! The `jitaa audit` commands: `log`, `show`, `export`, `verify`. They read the local
//! audit branch, else `<remote>/<branch>`, or `--ref`.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use git2::{Oid, Repository};
use serde_json::{Value, json};

use super::chain::{Listed, stream};
use super::record::{Decision, parse_time};
use super::trust::AllowedSigners;
use super::verify::{VerifyOptions, verify};
use super::{AuditError, Settings};
use crate::cli::{AuditArgs, AuditCmd, Format, Global};
use crate::exit::{Code, Failure};
use crate::repo::Repo;

/// Runs one `jitaa audit` command. `settings` carries the policy's audit section and
/// `pusher_signers` its `audit.pusher_signers` path; `oidc` verifies `github-oidc`
/// signatures and says which keys are trusted (`wiring::RecordTokenVerifier`); without
/// one such a signature is a verification failure, never a pass.
pub fn run(
    global: &Global,
    args: &AuditArgs,
    settings: &Settings,
    pusher_signers: Option<&str>,
    oidc: Option<&dyn super::OidcVerifier>,
) -> Result<Code, Failure> {
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
            match global.format {
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
            if global.format == Format::Json {
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
            let v = verify(repo.git(), tip, &opts).map_err(AuditError::from)?;
            if global.format == Format::Json {
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

/// `--since` and `--until`, parsed.
type Window = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

fn window(since: Option<&str>, until: Option<&str>) -> Result<Window, Failure> {
    Ok((
        since.map(|s| parse_when(s, "--since")).transpose()?,
        until.map(|s| parse_when(s, "--until")).transpose()?,
    ))
}

/// The commit to read: `--ref`, else the local branch, else `<remote>/<branch>`.
pub fn resolve_tip(
    repo: &Repository,
    settings: &Settings,
    git_ref: Option<&str>,
) -> Result<(Oid, String), Failure> {
    if let Some(r) = git_ref {
        let id = repo
            .revparse_single(r)
            .and_then(|o| o.peel_to_commit())
            .map_err(|e| Failure::usage(format!("--ref {r}: {}", e.message())))?
            .id();
        return Ok((id, r.to_string()));
    }
    let local = format!("refs/heads/{}", settings.branch);
    let remote = format!("refs/remotes/{}/{}", settings.remote, settings.branch);
    for name in [&local, &remote] {
        if let Ok(id) = repo.refname_to_id(name) {
            return Ok((
                id,
                name.trim_start_matches("refs/heads/")
                    .trim_start_matches("refs/remotes/")
                    .to_string(),
            ));
        }
    }
    Err(Failure::usage(format!(
        "no audit branch: neither {} nor {}/{} exists (fetch it, or pass --branch/--ref)",
        settings.branch, settings.remote, settings.branch
    )))
}

/// The default branch's name and tip (the remote's, else the local branch).
pub fn default_branch_tip(repo: &Repo, remote: &str) -> Option<(String, Oid)> {
    let branch = repo.default_branch(remote)?;
    let tip = [
        format!("refs/remotes/{remote}/{branch}"),
        format!("refs/heads/{branch}"),
    ]
    .iter()
    .find_map(|r| repo.git().refname_to_id(r).ok())?;
    Some((branch, tip))
}

/// The policy key `key`'s allowed-signers file at `path` on the default branch.
fn signers_on_default_branch(
    repo: &Repo,
    remote: &str,
    key: &str,
    path: &str,
) -> Result<(String, Option<AllowedSigners>), Failure> {
    let branch = repo
        .default_branch(remote)
        .ok_or_else(|| Failure::usage(format!("{key}: cannot tell the default branch")))?;
    let (branch, commit) = default_branch_tip(repo, remote)
        .ok_or_else(|| Failure::usage(format!("{key}: default branch {branch} not found")))?;
    let files = crate::base::GitFiles::new(repo, commit, format!("the default branch `{branch}`"));
    let found = crate::base::read_keys(&files, path, key, &format!("{branch}:{path}"))?;
    Ok((branch, found))
}

/// `--allowed-signers FILE`, else the policy's `audit.allowed_signers` read from the
/// default branch (never from the audit branch).
pub fn trusted_keys(
    repo: &Repo,
    settings: &Settings,
    file: Option<&Path>,
) -> Result<AllowedSigners, Failure> {
    if let Some(f) = file {
        return AllowedSigners::load(f)
            .map_err(|e| Failure::usage(format!("--allowed-signers: {e}")));
    }
    let Some(path) = &settings.allowed_signers else {
        return Err(Failure::usage(
            "no trusted keys: pass --allowed-signers FILE or set audit.allowed_signers in the policy",
        ));
    };
    match signers_on_default_branch(repo, &settings.remote, "audit.allowed_signers", path)? {
        (_, Some(a)) => Ok(a),
        (branch, None) => Err(Failure::usage(format!(
            "audit.allowed_signers: {path} is missing on {branch}"
        ))),
    }
}

/// Pusher keys (developers', for `push` records only): `--pusher-signers FILE`; none
/// when `--allowed-signers` was given without it; else the policy's
/// `audit.pusher_signers` (`policy_path`) read from the default branch, where a missing
/// file trusts no pusher key.
pub fn pusher_keys(
    repo: &Repo,
    settings: &Settings,
    policy_path: Option<&str>,
    file: Option<&Path>,
    allowed_given: bool,
) -> Result<AllowedSigners, Failure> {
    if let Some(f) = file {
        return AllowedSigners::load(f)
            .map_err(|e| Failure::usage(format!("--pusher-signers: {e}")));
    }
    match policy_path {
        Some(path) if !allowed_given => {
            Ok(
                signers_on_default_branch(repo, &settings.remote, "audit.pusher_signers", path)?
                    .1
                    .unwrap_or_default(),
            )
        }
        _ => Ok(AllowedSigners::default()),
    }
}

/// RFC 3339, a date (`2026-11-25`, midnight UTC), or a duration ago (`7d`, `12h`).
pub fn parse_when(s: &str, flag: &str) -> Result<DateTime<Utc>, Failure> {
    if let Ok(t) = parse_time(s) {
        return Ok(t);
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(t.and_utc());
    }
    if let Ok(d) = humantime::parse_duration(s)
        && let Ok(d) = chrono::Duration::from_std(d)
    {
        return Ok(Utc::now() - d);
    }
    Err(Failure::usage(format!(
        "{flag} `{s}`: expected an RFC 3339 time, a date like 2026-11-25, or a duration like 7d"
    )))
}

fn in_window(l: &Listed, since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> bool {
    let Ok(t) = parse_time(&l.record.payload.time) else {
        return false;
    };
    since.is_none_or(|s| t >= s) && until.is_none_or(|u| t <= u)
}

fn involves(l: &Listed, who: &str) -> bool {
    let who = who.trim_start_matches('@');
    let p = &l.record.payload;
    p.requester.login.eq_ignore_ascii_case(who)
        || p.approvals
            .iter()
            .any(|a| a.login.eq_ignore_ascii_case(who))
}

fn full_json(l: &Listed) -> Value {
    let mut v = serde_json::to_value(&l.record).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert("commit".into(), Value::String(l.commit.to_string()));
        o.insert("path".into(), Value::String(l.path.clone()));
    }
    v
}

/// The export columns: one row per decision.
pub const COLUMNS: [&str; 15] = [
    "time",
    "id",
    "kind",
    "repository",
    "sha",
    "ref",
    "environment",
    "requester",
    "approvers",
    "rule",
    "decision",
    "reason",
    "expires_at",
    "digest",
    "commit",
];

fn row(l: &Listed) -> Vec<(&'static str, String)> {
    let p = &l.record.payload;
    let vals = [
        p.time.clone(),
        p.id.clone(),
        p.kind.to_string(),
        p.repository.clone(),
        p.subject.sha.clone(),
        p.subject.git_ref.clone().unwrap_or_default(),
        p.subject.environment.clone().unwrap_or_default(),
        p.requester.login.clone(),
        p.approvals
            .iter()
            .map(|a| a.login.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        p.rule.as_ref().map(|r| r.name.clone()).unwrap_or_default(),
        p.decision.map(|d| d.to_string()).unwrap_or_default(),
        p.reason.clone().unwrap_or_default(),
        p.expires_at.clone().unwrap_or_default(),
        l.record.digest.clone(),
        l.commit.to_string(),
    ];
    COLUMNS.iter().copied().zip(vals).collect()
}

/// A pretty JSON array, written one element at a time (the bytes
/// `serde_json::to_string_pretty` gives for the whole array).
fn write_json(
    out: &mut impl Write,
    items: impl Iterator<Item = Result<Value, AuditError>>,
) -> Result<(), Failure> {
    let io = |e: std::io::Error| Failure::unreachable(format!("writing output: {e}"));
    let mut first = true;
    for v in items {
        let text = serde_json::to_string_pretty(&v?).unwrap_or_default();
        out.write_all(if first { b"[\n" } else { b",\n" })
            .map_err(io)?;
        first = false;
        for (i, line) in text.lines().enumerate() {
            if i > 0 {
                out.write_all(b"\n").map_err(io)?;
            }
            write!(out, "  {line}").map_err(io)?;
        }
    }
    out.write_all(if first { b"[]\n" } else { b"\n]\n" })
        .map_err(io)
}

fn write_csv(
    out: &mut impl Write,
    items: impl Iterator<Item = Result<Listed, AuditError>>,
) -> Result<(), Failure> {
    let mut w = csv::Writer::from_writer(out);
    let e = |e: csv::Error| Failure::unreachable(format!("writing CSV: {e}"));
    w.write_record(COLUMNS).map_err(e)?;
    for l in items {
        w.write_record(row(&l?).into_iter().map(|(_, v)| v))
            .map_err(e)?;
    }
    w.flush()
        .map_err(|e| Failure::unreachable(format!("writing CSV: {e}")))
}

fn write_table(
    out: &mut impl Write,
    items: impl Iterator<Item = Result<Listed, AuditError>>,
) -> Result<(), Failure> {
    let io = |e: std::io::Error| Failure::unreachable(format!("writing output: {e}"));
    writeln!(
        out,
        "{:<20}  {:<26}  {:<9}  {:<9}  {:<24}  {:<12}  APPROVERS",
        "TIME", "ID", "KIND", "DECISION", "TARGET", "REQUESTER"
    )
    .map_err(io)?;
    let mut none = true;
    for l in items {
        let l = l?;
        none = false;
        let p = &l.record.payload;
        let target = p
            .subject
            .environment
            .clone()
            .or_else(|| p.subject.git_ref.clone())
            .unwrap_or_default();
        let approvers = p
            .approvals
            .iter()
            .map(|a| a.login.as_str())
            .collect::<Vec<_>>()
            .join(",");
        writeln!(
            out,
            "{:<20}  {:<26}  {:<9}  {:<9}  {:<24}  {:<12}  {}",
            p.time,
            p.id,
            p.kind.to_string(),
            p.decision
                .map(|d| d.to_string())
                .unwrap_or_else(|| "-".into()),
            target,
            p.requester.login,
            if approvers.is_empty() {
                "-".into()
            } else {
                approvers
            }
        )
        .map_err(io)?;
    }
    if none {
        writeln!(out, "(no records)").map_err(io)?;
    }
    Ok(())
}
