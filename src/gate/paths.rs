//! The changed paths of the change under approval: the PR files API, else (or past
//! GitHub's 3,000-file cap) the git diff from the merge base of the protected base and
//! the sha.

use crate::base::Base;
use crate::exit::Failure;
use crate::github::{GitHub, PrFiles, PullRequest, RepoName};
use crate::repo::Repo;
use crate::request::gh_fail;

/// The changed paths: the PR files API, else (or past GitHub's 3,000-file cap) the git
/// diff from the merge base of `base` and `sha`.
pub(crate) async fn changed_paths<G: GitHub>(
    repo: &Repo,
    client: &G,
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
pub(super) fn git_paths(repo: &Repo, from: &str, to: &str) -> Result<Vec<String>, Failure> {
    let (f, t) = (repo.present(from)?, repo.present(to)?);
    let start = repo.merge_base(f, t).unwrap_or(f);
    Ok(repo.changed_paths(start, t)?)
}
