//! The local git repository: reading files and diffs at a commit through git2 (never
//! the work tree), naming the GitHub repository, and running the `git` CLI for
//! fetch and push so users' credential helpers and SSH agents just work.

use std::path::{Path, PathBuf};
use std::process::Command;

use git2::{ObjectType, Oid, Repository};

/// What went wrong reading the local repository. Each variant carries what it was
/// about (the directory, the revision, the commit) and keeps git's error as its source;
/// the command that knows which flag named the value words the advice
/// (`crate::commands::codes` (the command layer) chooses the exit code and the final message).
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// No repository at `dir` (`None`: the current directory, or GIT_DIR).
    #[error("{}: not a git repository", dir.as_deref().map_or_else(|| ".".into(), |d| d.display().to_string()))]
    NotARepository {
        dir: Option<PathBuf>,
        #[source]
        source: git2::Error,
    },
    /// Not 40 (or 64) hex digits.
    #[error("`{sha}` is not a commit id")]
    NotACommitId {
        sha: String,
        #[source]
        source: git2::Error,
    },
    /// The commit is neither local nor fetchable from origin (a shallow checkout).
    #[error(
        "commit {sha} is not in the checkout and `git fetch origin {sha}` did not bring it (use actions/checkout with fetch-depth: 0)"
    )]
    NotFetched { sha: String },
    /// A revision (`HEAD`, `origin/main`, a sha) that does not resolve.
    #[error("`{rev}` is not a revision git knows")]
    Revision {
        rev: String,
        #[source]
        source: git2::Error,
    },
    /// A revision that resolves to something other than a commit.
    #[error("`{rev}` is not a commit")]
    NotACommit {
        rev: String,
        #[source]
        source: git2::Error,
    },
    /// A commit id with no commit (or tree) behind it.
    #[error("commit {id}")]
    NoCommit {
        id: Oid,
        #[source]
        source: git2::Error,
    },
    /// Reading objects that should be there failed.
    #[error("{what}")]
    Read {
        what: String,
        #[source]
        source: git2::Error,
    },
    /// Nothing names the GitHub repository.
    #[error(
        "cannot tell which GitHub repository this is: set GITHUB_REPOSITORY, point remote `{remote}` at GitHub, or run `git config jitaa.repository owner/name`"
    )]
    UnknownGitHubRepository { remote: String },
}

impl RepoError {
    fn read(what: impl Into<String>) -> impl FnOnce(git2::Error) -> RepoError {
        let what = what.into();
        move |source| RepoError::Read { what, source }
    }

    fn no_commit(id: Oid) -> impl FnOnce(git2::Error) -> RepoError {
        move |source| RepoError::NoCommit { id, source }
    }
}

/// An open repository. `git2::Repository` is Send but not Sync: keep it on one thread.
pub struct Repo {
    git: Repository,
}

/// What reading a file at a commit found.
#[derive(Debug, PartialEq, Eq)]
pub enum FileAt {
    Missing,
    /// The blob is `size` bytes, over the caller's cap; its content was not loaded.
    TooLarge {
        size: usize,
    },
    Found(Vec<u8>),
}

impl Repo {
    /// Opens the repository at `dir` (the `--repo` flag), else the one around the
    /// current directory. Ignores GIT_DIR/GIT_WORK_TREE only when `dir` is given.
    pub fn discover(dir: Option<&Path>) -> Result<Repo, RepoError> {
        let found = match dir {
            Some(d) => Repository::discover(d),
            None => Repository::open_from_env(),
        };
        let git = found.map_err(|source| RepoError::NotARepository {
            dir: dir.map(Path::to_path_buf),
            source,
        })?;
        Ok(Repo { git })
    }

    pub fn from_git(git: Repository) -> Repo {
        Repo { git }
    }

    pub fn git(&self) -> &Repository {
        &self.git
    }

    /// The directory git commands should run in (the work tree, else the git dir).
    pub fn dir(&self) -> PathBuf {
        self.git
            .workdir()
            .unwrap_or_else(|| self.git.path())
            .to_path_buf()
    }

    /// `sha` as a local commit, fetching it (shallow) from origin when missing; an
    /// error (exit 5) when even the fetch does not bring it.
    pub fn present(&self, sha: &str) -> Result<Oid, RepoError> {
        let id = Oid::from_str(sha).map_err(|source| RepoError::NotACommitId {
            sha: sha.to_string(),
            source,
        })?;
        if self.git().find_commit(id).is_ok() {
            return Ok(id);
        }
        let fetched = self
            .git_cli()
            .args(["fetch", "--quiet", "--no-tags", "--depth=1", "origin", sha])
            .output();
        if let Ok(out) = &fetched
            && !out.status.success()
        {
            tracing::debug!(
                "git fetch origin {sha}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        self.git()
            .find_commit(id)
            .map(|c| c.id())
            .map_err(|_| RepoError::NotFetched {
                sha: sha.to_string(),
            })
    }

    /// Resolves a revision (`HEAD`, `origin/main`, a sha) to a commit id.
    pub fn commit_id(&self, rev: &str) -> Result<Oid, RepoError> {
        let obj = self
            .git
            .revparse_single(rev)
            .map_err(|source| RepoError::Revision {
                rev: rev.to_string(),
                source,
            })?;
        let commit = obj
            .peel_to_commit()
            .map_err(|source| RepoError::NotACommit {
                rev: rev.to_string(),
                source,
            })?;
        Ok(commit.id())
    }

    /// Reads `path` as committed in `commit`; blobs larger than `max` bytes are reported,
    /// not loaded.
    pub fn read_file(&self, commit: Oid, path: &str, max: usize) -> Result<FileAt, RepoError> {
        let commit = self
            .git
            .find_commit(commit)
            .map_err(RepoError::no_commit(commit))?;
        let tree = commit
            .tree()
            .map_err(RepoError::read(format!("reading tree of {}", commit.id())))?;
        let Ok(entry) = tree.get_path(Path::new(path)) else {
            return Ok(FileAt::Missing);
        };
        if entry.kind() != Some(ObjectType::Blob) {
            return Ok(FileAt::Missing);
        }
        let odb = self
            .git
            .odb()
            .map_err(RepoError::read("opening object database"))?;
        let (size, _) = odb
            .read_header(entry.id())
            .map_err(RepoError::read(format!("reading {path}")))?;
        if size > max {
            return Ok(FileAt::TooLarge { size });
        }
        let blob = self
            .git
            .find_blob(entry.id())
            .map_err(RepoError::read(format!("reading {path}")))?;
        Ok(FileAt::Found(blob.content().to_vec()))
    }

    /// The paths that differ between two commits (added, modified, deleted, both
    /// sides of a rename), sorted and without duplicates.
    pub fn changed_paths(&self, base: Oid, head: Oid) -> Result<Vec<String>, RepoError> {
        let tree_of = |id: Oid| {
            self.git
                .find_commit(id)
                .and_then(|c| c.tree())
                .map_err(RepoError::no_commit(id))
        };
        let (old, new) = (tree_of(base)?, tree_of(head)?);
        let diff = self
            .git
            .diff_tree_to_tree(Some(&old), Some(&new), None)
            .map_err(RepoError::read(format!("diff {base}..{head}")))?;
        let mut paths = Vec::new();
        for delta in diff.deltas() {
            for file in [delta.old_file(), delta.new_file()] {
                if let Some(p) = file.path().and_then(|p| p.to_str()) {
                    paths.push(p.to_string());
                }
            }
        }
        paths.sort();
        paths.dedup();
        Ok(paths)
    }

    /// Every file path in `commit`'s tree, sorted: what deleting a branch removes.
    pub fn all_paths(&self, commit: Oid) -> Result<Vec<String>, RepoError> {
        let tree = self
            .git
            .find_commit(commit)
            .and_then(|c| c.tree())
            .map_err(RepoError::no_commit(commit))?;
        let mut paths = Vec::new();
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() == Some(ObjectType::Blob)
                && let Ok(name) = entry.name()
            {
                paths.push(format!("{dir}{name}"));
            }
            git2::TreeWalkResult::Ok
        })
        .map_err(RepoError::read(format!("listing {commit}")))?;
        paths.sort();
        Ok(paths)
    }

    pub fn merge_base(&self, a: Oid, b: Oid) -> Option<Oid> {
        self.git.merge_base(a, b).ok()
    }

    /// The remote's default branch name (`main`), from `refs/remotes/REMOTE/HEAD`, else
    /// `init.defaultBranch`, else whichever of `main`/`master` exists.
    pub fn default_branch(&self, remote: &str) -> Option<String> {
        let head = format!("refs/remotes/{remote}/HEAD");
        if let Ok(r) = self.git.find_reference(&head)
            && let Ok(Some(target)) = r.symbolic_target()
        {
            let prefix = format!("refs/remotes/{remote}/");
            if let Some(name) = target.strip_prefix(&prefix) {
                return Some(name.to_string());
            }
        }
        for candidate in ["main", "master"] {
            if self
                .git
                .find_reference(&format!("refs/remotes/{remote}/{candidate}"))
                .is_ok()
            {
                return Some(candidate.to_string());
            }
        }
        if let Ok(cfg) = self.git.config()
            && let Ok(name) = cfg.get_string("init.defaultBranch")
        {
            return Some(name);
        }
        for candidate in ["main", "master"] {
            if self
                .git
                .find_reference(&format!("refs/heads/{candidate}"))
                .is_ok()
            {
                return Some(candidate.to_string());
            }
        }
        None
    }

    /// The GitHub repository `owner/name`: GITHUB_REPOSITORY, else the `remote`'s URL
    /// (https or ssh, github.com or GITHUB_SERVER_URL's host), else `git config
    /// jitaa.repository`.
    pub fn github_repository(&self, remote: &str) -> Result<String, RepoError> {
        if let Ok(r) = std::env::var("GITHUB_REPOSITORY")
            && !r.is_empty()
        {
            return Ok(r);
        }
        let server_host = std::env::var("GITHUB_SERVER_URL")
            .ok()
            .and_then(|u| url::Url::parse(&u).ok())
            .and_then(|u| u.host_str().map(str::to_string));
        if let Ok(r) = self.git.find_remote(remote)
            && let Ok(u) = r.url()
            && let Some(name) = repository_from_url(u, server_host.as_deref())
        {
            return Ok(name);
        }
        if let Ok(cfg) = self.git.config()
            && let Ok(name) = cfg.get_string("jitaa.repository")
        {
            return Ok(name);
        }
        Err(RepoError::UnknownGitHubRepository {
            remote: remote.to_string(),
        })
    }

    /// Updates `refs/remotes/REMOTE/BRANCH` from the remote with the `git` CLI (so
    /// credential helpers work); `shallow` fetches only the tip. Returns whether git
    /// succeeded: callers read the ref afterwards and fail closed when it is missing.
    pub fn fetch_branch(&self, remote: &str, branch: &str, shallow: bool) -> bool {
        let spec = format!("+refs/heads/{branch}:refs/remotes/{remote}/{branch}");
        let mut cmd = self.git_cli();
        cmd.args(["fetch", "--quiet", "--no-tags"]);
        if shallow {
            cmd.arg("--depth=1");
        }
        cmd.args(["--end-of-options", remote, &spec])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// A `git` command for this repository with the variables git exports to hooks
    /// cleared, so a nested git runs on this repository and not the caller's.
    pub fn git_cli(&self) -> Command {
        git_cli(&self.dir())
    }
}

/// A `git` command run in `dir`, with GIT_DIR, GIT_WORK_TREE and GIT_INDEX_FILE cleared.
pub fn git_cli(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_PREFIX");
    cmd
}

/// `owner/name` from a remote URL on github.com or `extra_host`:
/// `https://github.com/o/n(.git)`, `git@github.com:o/n.git`, `ssh://git@github.com/o/n`.
pub fn repository_from_url(url: &str, extra_host: Option<&str>) -> Option<String> {
    let host_ok = |h: &str| h.eq_ignore_ascii_case("github.com") || Some(h) == extra_host;
    let path = if let Ok(u) = url::Url::parse(url) {
        if !matches!(u.scheme(), "https" | "http" | "ssh" | "git") || !host_ok(u.host_str()?) {
            return None;
        }
        u.path().trim_start_matches('/').to_string()
    } else {
        // scp-like: [user@]host:owner/name(.git)
        let (left, path) = url.split_once(':')?;
        let host = left.rsplit('@').next()?;
        if !host_ok(host) {
            return None;
        }
        path.to_string()
    };
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let mut parts = path.split('/');
    let (owner, name) = (parts.next()?, parts.next()?);
    if parts.next().is_some() || owner.is_empty() || name.is_empty() {
        return None;
    }
    Some(format!("{owner}/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_from_remote_urls() {
        for (url, want) in [
            ("https://github.com/acme/api.git", Some("acme/api")),
            ("https://github.com/acme/api", Some("acme/api")),
            ("git@github.com:acme/api.git", Some("acme/api")),
            ("ssh://git@github.com/acme/api.git", Some("acme/api")),
            ("https://gitlab.com/acme/api.git", None),
            ("https://github.com/acme", None),
            ("/tmp/origin.git", None),
            ("https://ghe.example.com/acme/api.git", Some("acme/api")),
        ] {
            assert_eq!(
                repository_from_url(url, Some("ghe.example.com")).as_deref(),
                want,
                "{url}"
            );
        }
    }
}
