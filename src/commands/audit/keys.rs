//! Which commit `audit` reads and which keys `audit verify` trusts, from the flags and
//! the policy on the default branch (never from the audit branch).

use std::path::Path;

use chrono::{DateTime, Utc};
use git2::{Oid, Repository};

use crate::audit::Settings;
use crate::audit::record::parse_time;
use crate::audit::trust::AllowedSigners;
use crate::audit::wiring::default_branch_tip;
use crate::exit::Failure;
use crate::repo::Repo;

/// `--since` and `--until`, parsed.
type Window = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

pub(super) fn window(since: Option<&str>, until: Option<&str>) -> Result<Window, Failure> {
    Ok((
        since.map(|s| parse_when(s, "--since")).transpose()?,
        until.map(|s| parse_when(s, "--until")).transpose()?,
    ))
}

/// The commit to read: `--ref`, else the local branch, else `<remote>/<branch>`.
pub(super) fn resolve_tip(
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
pub(super) fn trusted_keys(
    repo: &Repo,
    settings: &Settings,
    file: Option<&Path>,
) -> Result<AllowedSigners, Failure> {
    if let Some(f) = file {
        return AllowedSigners::load(f).map_err(|e| {
            Failure::usage(format!(
                "--allowed-signers: {}",
                crate::exit::full_message(&e)
            ))
        });
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
pub(super) fn pusher_keys(
    repo: &Repo,
    settings: &Settings,
    policy_path: Option<&str>,
    file: Option<&Path>,
    allowed_given: bool,
) -> Result<AllowedSigners, Failure> {
    if let Some(f) = file {
        return AllowedSigners::load(f).map_err(|e| {
            Failure::usage(format!(
                "--pusher-signers: {}",
                crate::exit::full_message(&e)
            ))
        });
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
pub(super) fn parse_when(s: &str, flag: &str) -> Result<DateTime<Utc>, Failure> {
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
