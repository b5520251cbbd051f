//! The protected base the rules come from — never the sha under approval: the PR's base
//! sha (API), a push's `before` (must be an ancestor of the sha), for workflow_dispatch
//! and schedule the sha of the environment's last approved deployment on the audit
//! branch, else the default branch tip. Files at the base are read through git (a
//! missing commit is fetched with `git fetch --depth=1 origin <sha>`), else through the
//! GitHub contents API. Also the changed paths: the PR files API, else `git diff`.

use git2::Oid;

use crate::audit::AllowedSigners;
use crate::codeowners::{self, CodeOwners};
use crate::exit::Failure;
use crate::github::{Client, GitHub, PrFiles, PullRequest, RepoName};
use crate::policy::{self, LoadedPolicy, Policy};
use crate::repo::Repo;
use crate::request::gh_fail;

/// The base commit and how it was chosen.
#[derive(Debug, Clone)]
pub struct Base {
    pub sha: String,
    pub why: String,
}

/// Policy, CODEOWNERS and trusted keys as committed at the base.
pub struct AtBase {
    pub policy: LoadedPolicy,
    pub codeowners: Option<CodeOwners>,
    pub trusted: Option<AllowedSigners>,
}

/// Whether `sha` is in the local object database, fetching it (shallow) if not.
pub fn ensure_commit(repo: &Repo, sha: &str) -> bool {
    let Ok(oid) = Oid::from_str(sha) else {
        return false;
    };
    if repo.git().find_commit(oid).is_ok() {
        return true;
    }
    let fetched = repo
        .git_cli()
        .args(["fetch", "--quiet", "--no-tags", "--depth=1", "origin", sha])
        .output();
    match fetched {
        Ok(out) if out.status.success() => repo.git().find_commit(oid).is_ok(),
        Ok(out) => {
            tracing::debug!(
                "git fetch origin {sha}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            false
        }
        Err(e) => {
            tracing::debug!("git fetch origin {sha}: {e}");
            false
        }
    }
}

/// The default branch's tip on `origin`, fetched when the checkout lacks it.
pub fn default_branch_tip(repo: &Repo) -> Result<(String, String), Failure> {
    let name = repo
        .default_branch("origin")
        .unwrap_or_else(|| "main".to_string());
    let remote_ref = format!("refs/remotes/origin/{name}");
    if repo.git().refname_to_id(&remote_ref).is_err() {
        repo.fetch_branch("origin", &name, true);
    }
    let id = repo.git().refname_to_id(&remote_ref).map_err(|e| {
        Failure::unreachable(format!(
            "cannot read the default branch `{name}` from origin ({}): the policy comes from the protected base",
            e.message()
        ))
    })?;
    Ok((name, id.to_string()))
}

/// A push's base: `before`, which must be an ancestor of `sha` (a force-push is refused).
pub fn push_base(repo: &Repo, before: &str, sha: &str) -> Result<Base, Failure> {
    if !ensure_commit(repo, sha) || !ensure_commit(repo, before) {
        return Err(Failure::unreachable(format!(
            "cannot fetch {before} and {sha} from origin to check the push"
        )));
    }
    let (b, s) = (oid(before)?, oid(sha)?);
    let ancestor = b == s || repo.git().graph_descendant_of(s, b).unwrap_or(false);
    if !ancestor {
        return Err(Failure::denied(format!(
            "the push's `before` {before} is not an ancestor of {sha} (a force-push): there is no protected base to read the policy from, so it cannot be approved"
        )));
    }
    Ok(Base {
        sha: before.to_string(),
        why: format!("the push's `before` {}", short(before)),
    })
}

/// A pull request's base (the API's `base.sha`).
pub fn pr_base(pr: &PullRequest) -> Base {
    Base {
        sha: pr.base_sha.clone(),
        why: format!("pull request #{}'s base {}", pr.number, short(&pr.base_sha)),
    }
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

fn oid(sha: &str) -> Result<Oid, Failure> {
    Oid::from_str(sha).map_err(|e| Failure::usage(format!("`{sha}` is not a commit id: {e}")))
}

/// The policy from `--policy PATH` (a path in the repository, read at the base).
fn named_policy(path: &str, bytes: Option<Vec<u8>>, base: &Base) -> Result<LoadedPolicy, Failure> {
    let bytes = bytes.ok_or_else(|| {
        Failure::usage(format!(
            "--policy {path}: no such file at {} (the policy is read at the protected base, not the work tree)",
            base.why
        ))
    })?;
    Ok(LoadedPolicy {
        policy: Policy::parse(path, &bytes)?,
        file: Some(path.to_string()),
        digest: policy::digest(&bytes),
    })
}

/// Reads policy (`policy_path`, else the standard locations), CODEOWNERS and the
/// trusted keys at the base: through git when the commit is (or can be fetched) local,
/// else through the contents API.
pub async fn files_at(
    repo: &Repo,
    client: &Client,
    name: &RepoName,
    base: &Base,
    policy_path: Option<&str>,
) -> Result<AtBase, Failure> {
    if ensure_commit(repo, &base.sha) {
        let commit = oid(&base.sha)?;
        let policy = match policy_path {
            Some(p) => {
                let bytes = match repo.read_file(commit, p, policy::MAX_BYTES)? {
                    crate::repo::FileAt::Found(b) => Some(b),
                    crate::repo::FileAt::Missing => None,
                    crate::repo::FileAt::TooLarge { size } => {
                        return Err(Failure::usage(format!(
                            "--policy {p}: {size} bytes; a policy file may be at most 1 MiB"
                        )));
                    }
                };
                named_policy(p, bytes, base)?
            }
            None => Policy::load_at(repo, commit)?,
        };
        let codeowners = CodeOwners::load_at(repo, commit)?;
        let trusted = crate::request::record::trusted_at(repo, commit, &policy.policy);
        return Ok(AtBase {
            policy,
            codeowners,
            trusted,
        });
    }
    tracing::info!(
        "base {} is not in the checkout: reading it through the GitHub contents API",
        base.sha
    );
    let get = |path: &'static str| async move {
        client
            .file_at(name, path, &base.sha)
            .await
            .map_err(gh_fail("reading the policy at the protected base"))
    };
    let mut loaded = match policy_path {
        Some(p) => {
            let bytes = client
                .file_at(name, p, &base.sha)
                .await
                .map_err(gh_fail("reading the policy at the protected base"))?;
            Some(named_policy(p, bytes, base)?)
        }
        None => None,
    };
    for file in policy::LOCATIONS {
        if loaded.is_some() {
            break;
        }
        if let Some(bytes) = get(file).await? {
            loaded = Some(LoadedPolicy {
                policy: Policy::parse(file, &bytes)?,
                file: Some(file.to_string()),
                digest: policy::digest(&bytes),
            });
            break;
        }
    }
    let policy = loaded.unwrap_or_else(|| LoadedPolicy {
        policy: Policy::builtin(),
        file: None,
        digest: policy::digest(b""),
    });
    let mut codeowners = None;
    for file in codeowners::LOCATIONS {
        if let Some(bytes) = get(file).await? {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            codeowners = Some(CodeOwners::parse(file, &text));
            break;
        }
    }
    let signers_path = policy.policy.audit.allowed_signers.clone();
    let trusted = client
        .file_at(name, &signers_path, &base.sha)
        .await
        .map_err(gh_fail("reading the trusted keys at the protected base"))?
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|t| AllowedSigners::parse(&t, &signers_path).ok());
    Ok(AtBase {
        policy,
        codeowners,
        trusted,
    })
}

/// The changed paths: the PR files API, else (or past GitHub's 3,000-file cap) the git
/// diff from the merge base of `base` and `sha`.
pub async fn changed_paths(
    repo: &Repo,
    client: &Client,
    name: &RepoName,
    pr: Option<&PullRequest>,
    base: &Base,
    sha: &str,
) -> Result<Vec<String>, Failure> {
    if let Some(pr) = pr {
        match client
            .pull_files(name, pr.number)
            .await
            .map_err(gh_fail("listing the pull request's files"))?
        {
            PrFiles::Complete(files) => {
                let mut paths: Vec<String> = files
                    .into_iter()
                    .flat_map(|f| std::iter::once(f.filename).chain(f.previous_filename))
                    .collect();
                paths.sort();
                paths.dedup();
                return Ok(paths);
            }
            PrFiles::Truncated(_) => {
                tracing::info!("the pull request has 3,000+ files: diffing the checkout");
            }
        }
    }
    git_paths(repo, &base.sha, sha)
}

/// `git diff` from the merge base of `from` and `to`, to `to`.
pub fn git_paths(repo: &Repo, from: &str, to: &str) -> Result<Vec<String>, Failure> {
    if !ensure_commit(repo, from) || !ensure_commit(repo, to) {
        return Err(Failure::unreachable(format!(
            "cannot fetch {from} and {to} from origin to list the changed paths"
        )));
    }
    let (f, t) = (oid(from)?, oid(to)?);
    let start = repo.merge_base(f, t).unwrap_or(f);
    repo.changed_paths(start, t)
}
