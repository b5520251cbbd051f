//! The hook's typed errors. None of them ever lets a push through; which exit code each
//! ends with (DESIGN.md: a missing approval 1, bad input or configuration 2, git or
//! GitHub unreachable 5) is decided in `crate::commands::codes` (the command layer).

use std::path::PathBuf;

use crate::audit::AuditError;
use crate::exit::Failure;
use crate::github::GitHubError;
use crate::hook::install::Manager;
use crate::hook::protocol::ProtocolError;
use crate::repo::RepoError;

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    // --- input and configuration
    /// git's stdin was not the pre-push protocol.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The pre-commit framework's variables do not describe a push.
    #[error(
        "PRE_COMMIT_TO_REF, PRE_COMMIT_FROM_REF and PRE_COMMIT_REMOTE_BRANCH do not describe a push (object names must be 40 or 64 hex digits)"
    )]
    PreCommitEnv,
    /// A protected push through a URL, not a named remote.
    #[error(
        "`{0}` is not a configured remote: pushes to protected branches go through a named remote (`git remote add NAME URL`), so the audit branch can be fetched from and pushed to it"
    )]
    NotARemote(String),
    #[error("cannot tell {0}'s default branch; run `git remote set-head {0} --auto`")]
    NoDefaultBranch(String),
    /// An object name from git's stdin that is not an object id.
    #[error("object name `{0}` is not a git object id")]
    ObjectName(String),
    #[error("reading git config")]
    GitConfig(#[source] git2::Error),
    /// `hook install` outside a repository (`stderr` is what git said).
    #[error("{}: not a git repository ({stderr})", dir.display())]
    NotARepository { dir: PathBuf, stderr: String },
    /// A hook manager owns the hook; `force` says whether `--force` was given.
    #[error("{}", crate::hook::install::managed_message(hook, *manager, *force))]
    Managed {
        hook: PathBuf,
        manager: Manager,
        force: bool,
    },
    /// Another program's pre-push hook is in the way (no `--force`).
    #[error(
        "{} already holds another pre-push hook; jitaa leaves it alone.\n\
To keep it and run jitaa after it, run `jitaa hook install --force`: your hook moves to \
pre-push.local and the new hook runs it first (same arguments and stdin), then jitaa.\n\
Or call `jitaa hook pre-push \"$@\"` yourself at the end of your hook, passing git's stdin on.",
        .0.display()
    )]
    ForeignHook(PathBuf),
    /// `pre-push.local` exists already, so the foreign hook cannot be kept there.
    #[error(
        "{} exists too; move one of the two hooks away first, nothing was changed",
        .0.display()
    )]
    KeptExists(PathBuf),
    /// Writing the hook; `what` names the file operation (`writing PATH`).
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },

    // --- git, GitHub and the audit branch
    /// `command` (`git`, `git fetch`) could not run.
    #[error("running {command}")]
    GitCommand {
        command: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("git fetch {remote} {branch}: {stderr}")]
    Fetch {
        remote: String,
        branch: String,
        stderr: String,
    },
    #[error("git fetch {remote} {branch}: no FETCH_HEAD")]
    NoFetchHead { remote: String, branch: String },
    /// The remote tip git named is not here even after a fetch.
    #[error(
        "{remote}'s {branch} is at {sha}, which is not here even after `git fetch {remote} {branch}`"
    )]
    NotFetched {
        remote: String,
        branch: String,
        sha: String,
    },
    #[error("pushed commit {0} is not here")]
    PushedCommitMissing(String),
    /// A libgit2 call failed; `what` says what was being read.
    #[error("{what}")]
    Git {
        what: String,
        #[source]
        source: git2::Error,
    },
    /// The paths a push changes could not be read (the commits were checked first).
    #[error(transparent)]
    Paths(RepoError),
    /// Reading the repository.
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// GitHub could not confirm an approval.
    #[error("no approval could be confirmed, so the push is blocked")]
    GitHub(#[source] GitHubError),
    /// GitHub could not be asked about the pull request: the blocked message (the rule,
    /// who can approve, what to run) says so and how to let jitaa ask.
    #[error("{github}\nno approval could be confirmed, so the push is blocked:\n{blocked}")]
    GitHubUnavailable {
        github: GitHubError,
        blocked: String,
    },
    /// The repository name is not `owner/name`.
    #[error(transparent)]
    RepositoryName(GitHubError),
    #[error("waiting on GitHub")]
    Runtime(#[source] crate::runtime::RuntimeError),
    /// The rules, keys or signing key of other modules (`crate::base`, `crate::keys`),
    /// which still word their failures and exit codes themselves.
    #[error(transparent)]
    Upstream(#[from] Failure),
    /// An invariant of the hook broke.
    #[error("{0}")]
    Internal(&'static str),

    // --- the decision
    /// The push lacks a valid approval; one message per blocked update.
    #[error("{}", .0.join("\n\n"))]
    Blocked(Vec<String>),
}
