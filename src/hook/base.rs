//! Git reads for a gated update: fetching a missing remote tip (`git fetch REMOTE
//! BRANCH`, through the user's git so credentials just work) and the paths the push
//! changes. Which commit's rules apply is `crate::base`'s decision.

use git2::{Oid, Repository};

use crate::codeowners::{CodeOwners, PathOwners};
use crate::hook::error::HookError;
use crate::repo::Repo;

/// Fetches `refs/heads/BRANCH` from `remote`; `Ok(None)` when the remote has no such
/// branch. The tip is read from FETCH_HEAD, so bare URLs work as well as remote names.
pub fn fetch_branch(repo: &Repo, remote: &str, branch: &str) -> Result<Option<Oid>, HookError> {
    let out = repo
        .git_cli()
        .args(["fetch", "--quiet", "--no-tags", "--end-of-options", remote])
        .arg(format!("refs/heads/{branch}"))
        .output()
        .map_err(|source| HookError::GitCommand {
            command: "git fetch",
            source,
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        if err.contains("couldn't find remote ref") {
            return Ok(None);
        }
        return Err(HookError::Fetch {
            remote: remote.to_string(),
            branch: branch.to_string(),
            stderr: err.trim().to_string(),
        });
    }
    let out = repo
        .git_cli()
        .args(["rev-parse", "--verify", "--quiet", "FETCH_HEAD^{commit}"])
        .output()
        .map_err(|source| HookError::GitCommand {
            command: "git rev-parse",
            source,
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let id = Oid::from_str(text.trim()).map_err(|_| HookError::NoFetchHead {
        remote: remote.to_string(),
        branch: branch.to_string(),
    })?;
    Ok(Some(id))
}

/// `sha` as a commit that exists locally, fetching `branch` from `remote` when the
/// object is missing. An object git named but that even a fetch does not bring is an
/// error (exit 5): the base cannot be read, so nothing is approved.
pub fn ensure_commit(repo: &Repo, remote: &str, branch: &str, sha: &str) -> Result<Oid, HookError> {
    let id = Oid::from_str(sha).map_err(|_| HookError::ObjectName(sha.to_string()))?;
    if repo.git().find_commit(id).is_ok() {
        return Ok(id);
    }
    fetch_branch(repo, remote, branch)?;
    if repo.git().find_commit(id).is_ok() {
        return Ok(id);
    }
    Err(HookError::NotFetched {
        remote: remote.to_string(),
        branch: branch.to_string(),
        sha: sha.to_string(),
    })
}

/// Paths changed from `base` to `head` (every file of `head` without a base).
pub fn changed_paths(repo: &Repo, base: Option<Oid>, head: Oid) -> Result<Vec<String>, HookError> {
    if let Some(b) = base {
        return repo.changed_paths(b, head).map_err(HookError::Paths);
    }
    all_paths(repo.git(), head)
}

fn all_paths(git: &Repository, head: Oid) -> Result<Vec<String>, HookError> {
    let tree = git
        .find_commit(head)
        .and_then(|c| c.tree())
        .map_err(|source| HookError::Git {
            what: format!("reading commit {head}"),
            source,
        })?;
    let diff = git
        .diff_tree_to_tree(None, Some(&tree), None)
        .map_err(|source| HookError::Git {
            what: format!("listing {head}"),
            source,
        })?;
    let mut paths: Vec<String> = diff
        .deltas()
        .filter_map(|d| {
            d.new_file()
                .path()
                .and_then(|p| p.to_str())
                .map(str::to_string)
        })
        .collect();
    paths.sort();
    paths.dedup();
    Ok(paths)
}

/// Each path with its owners under `codeowners` (unowned when there is none).
pub fn owners(codeowners: Option<&CodeOwners>, paths: &[String]) -> Vec<PathOwners> {
    paths
        .iter()
        .map(|p| match codeowners {
            Some(co) => co.owners_of(p),
            None => PathOwners {
                path: p.clone(),
                owners: Vec::new(),
                line: None,
            },
        })
        .collect()
}
