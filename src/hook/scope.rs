//! Which ref updates of a push the hook gates, decided from local state only: no fetch,
//! no API call. The policy's `protected_branches` is read from the remote's default
//! branch as last fetched (`refs/remotes/REMOTE/<default>`). When that tip is not known
//! locally the scope fails closed: every branch update is gated until the slow path has
//! fetched the default branch and read its policy.

use git2::Oid;

use crate::hook::HookError;
use crate::hook::protocol::RefUpdate;
use crate::policy::{LoadedPolicy, Policy};
use crate::repo::Repo;

/// The gated part of a push.
#[derive(Debug)]
pub struct Scope {
    /// The remote's default branch name, if it can be told locally.
    pub default_branch: Option<String>,
    /// Its tip as last fetched; `None` when not known locally.
    pub default_tip: Option<Oid>,
    /// The policy at `default_tip` (the built-in defaults when that tip is unknown).
    pub policy: LoadedPolicy,
    /// False when `default_tip` was not known locally: `gated` then holds every branch
    /// update, to be narrowed after a fetch.
    pub known: bool,
    /// The updates that need an approval, in stdin order.
    pub gated: Vec<RefUpdate>,
}

impl Scope {
    /// True when nothing in the push needs checking.
    pub fn is_empty(&self) -> bool {
        self.gated.is_empty()
    }
}

/// Decides the scope of a push to `remote` from local refs and objects only.
pub fn scope(repo: &Repo, remote: &str, updates: &[RefUpdate]) -> Result<Scope, HookError> {
    let default_branch = repo.default_branch(remote);
    let default_tip = default_branch.as_deref().and_then(|d| {
        repo.git()
            .refname_to_id(&format!("refs/remotes/{remote}/{d}"))
            .ok()
            .filter(|id| repo.git().find_commit(*id).is_ok())
    });
    match default_tip {
        Some(tip) => {
            let files = crate::base::GitFiles::new(repo, tip, format!("{remote}'s default branch"));
            let policy = crate::base::rules(&files, None)?.policy;
            let gated = protected(&policy.policy, default_branch.as_deref(), updates);
            Ok(Scope {
                default_branch,
                default_tip,
                policy,
                known: true,
                gated,
            })
        }
        None => Ok(Scope {
            default_branch,
            default_tip: None,
            policy: builtin(),
            known: false,
            gated: updates
                .iter()
                .filter(|u| u.remote_branch().is_some())
                .cloned()
                .collect(),
        }),
    }
}

/// The updates of branches `policy` protects (tags and other refs are never gated).
pub fn protected(
    policy: &Policy,
    default_branch: Option<&str>,
    updates: &[RefUpdate],
) -> Vec<RefUpdate> {
    updates
        .iter()
        .filter(|u| {
            u.remote_branch()
                .is_some_and(|b| policy.is_protected(b, default_branch))
        })
        .cloned()
        .collect()
}

/// The built-in policy, as a loaded one (no file, digest over no bytes).
pub fn builtin() -> LoadedPolicy {
    LoadedPolicy {
        policy: Policy::builtin(),
        file: None,
        digest: crate::policy::digest(b""),
    }
}

/// The same scope for a repository git2 cannot open (the SHA-256 object format), read
/// through the `git` CLI: the gated updates only. Still no network.
pub fn gated_by_cli(
    dir: &std::path::Path,
    remote: &str,
    updates: &[RefUpdate],
) -> Result<Vec<RefUpdate>, HookError> {
    if updates.iter().all(|u| u.remote_branch().is_none()) {
        return Ok(Vec::new());
    }
    let git = |args: &[&str]| -> Option<Vec<u8>> {
        let out = crate::repo::git_cli(dir).args(args).output().ok()?;
        out.status.success().then_some(out.stdout)
    };
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).trim().to_string();
    let head = format!("refs/remotes/{remote}/HEAD");
    let default_branch = git(&["symbolic-ref", "--quiet", &head])
        .map(text)
        .and_then(|t| {
            t.strip_prefix(&format!("refs/remotes/{remote}/"))
                .map(str::to_string)
        })
        .or_else(|| {
            ["main", "master"]
                .into_iter()
                .map(str::to_string)
                .find(|b| {
                    git(&[
                        "rev-parse",
                        "--verify",
                        "--quiet",
                        &format!("refs/remotes/{remote}/{b}"),
                    ])
                    .is_some()
                })
        });
    let Some(d) = default_branch else {
        return Ok(updates
            .iter()
            .filter(|u| u.remote_branch().is_some())
            .cloned()
            .collect());
    };
    let tip = format!("refs/remotes/{remote}/{d}");
    if git(&[
        "rev-parse",
        "--verify",
        "--quiet",
        &format!("{tip}^{{commit}}"),
    ])
    .is_none()
    {
        return Ok(updates
            .iter()
            .filter(|u| u.remote_branch().is_some())
            .cloned()
            .collect());
    }
    let files = crate::base::CliFiles::new(dir, tip);
    let policy = crate::base::rules(&files, None)?.policy.policy;
    Ok(protected(&policy, Some(&d), updates))
}
