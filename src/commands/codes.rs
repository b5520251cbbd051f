//! Which exit code of DESIGN.md each module's error ends the process with, and the
//! message the user reads: the one place that decides it. The modules only say what
//! went wrong (typed errors, with their causes as sources); here every variant is
//! named, so a new one cannot slip through without a decision. Where a module's value
//! came from a flag (`--ref`, `--repo`, `--jwks`), the flag is named here, not there.
//!
//! Codes: 0 ok, 1 denied or blocked, 2 usage or invalid policy, 3 timed out, 4
//! integrity, 5 unreachable. Fail closed: whatever is not clearly the user's input or
//! a broken chain is 5, never an approval.

use crate::audit::AuditError;
use crate::exit::{Code, Failure, full_message};
use crate::github::GitHubError;
use crate::hook::HookError;
use crate::oidc::OidcError;
use crate::policy::PolicyError;
use crate::repo::RepoError;

impl From<RepoError> for Failure {
    fn from(e: RepoError) -> Failure {
        let code = match &e {
            RepoError::NotARepository { .. }
            | RepoError::NotACommitId { .. }
            | RepoError::Revision { .. }
            | RepoError::NotACommit { .. }
            | RepoError::NoCommit { .. }
            | RepoError::UnknownGitHubRepository { .. } => Code::Usage,
            RepoError::NotFetched { .. } | RepoError::Read { .. } => Code::Unreachable,
        };
        Failure::new(code, repo_message(&e))
    }
}

/// A repository error as the commands word it: `--repo` and `--ref` are their flags.
fn repo_message(e: &RepoError) -> String {
    match e {
        // --repo was given: it names the wrong directory.
        RepoError::NotARepository {
            dir: Some(_),
            source,
        } => format!("--repo {e} ({})", source.message()),
        RepoError::NotARepository { dir: None, source } => format!(
            "{e} ({}); run jitaa inside a git repository, or pass --repo DIR",
            source.message()
        ),
        // The caller that knows which flag the revision came from names it
        // (`exit::for_flag`).
        RepoError::Revision { rev, source } => format!("`{rev}`: {}", source.message()),
        RepoError::NotACommit { rev, source } => {
            format!("`{rev}` is not a commit ({})", source.message())
        }
        _ => full_message(e),
    }
}

impl From<AuditError> for Failure {
    fn from(e: AuditError) -> Failure {
        let code = match &e {
            AuditError::Upstream(f) => return f.clone(),
            AuditError::JwksFile { .. } => {
                return Failure::usage(format!("--jwks {}", full_message(&e)));
            }
            AuditError::BranchName(_)
            | AuditError::NoSigner
            | AuditError::SigningKey { .. }
            | AuditError::SigningKeyFile { .. } => Code::Usage,
            // Nothing was written.
            AuditError::SshSign(_)
            | AuditError::SignIo { .. }
            | AuditError::SshKeygen { .. }
            | AuditError::OidcToken(_) => Code::Unreachable,
            AuditError::Git { .. }
            | AuditError::GitCommand { .. }
            | AuditError::Fetch { .. }
            | AuditError::KeptMoving { .. }
            | AuditError::RelinkKeptMoving(_)
            | AuditError::NotPublished { .. } => Code::Unreachable,
            AuditError::Chain { .. }
            | AuditError::RecordJson { .. }
            | AuditError::JwksNotJson(_)
            | AuditError::JwksNoKeys
            | AuditError::UnsafeKid(_)
            | AuditError::Verify(_) => Code::Integrity,
            // An invariant of jitaa itself broke.
            AuditError::Encode { .. }
            | AuditError::Canonical(_)
            | AuditError::RecordTime(_)
            | AuditError::Internal(_) => Code::Unreachable,
        };
        Failure::new(code, full_message(&e))
    }
}

impl From<HookError> for Failure {
    fn from(e: HookError) -> Failure {
        let code = match e {
            HookError::Repo(e) => return e.into(),
            HookError::Audit(e) => return e.into(),
            HookError::Upstream(f) => return f,
            HookError::RepositoryName(e) => return e.into(),
            HookError::Paths(e) => return Failure::unreachable(repo_message(&e)),
            HookError::GitHub(e) => {
                return Failure::new(
                    e.code(),
                    format!("{e}\nno approval could be confirmed, so the push is blocked"),
                );
            }
            HookError::GitHubUnavailable { ref github, .. } => github.code(),
            HookError::Blocked(_) => Code::Denied,
            HookError::Protocol(_)
            | HookError::PreCommitEnv
            | HookError::NotARemote(_)
            | HookError::NoDefaultBranch(_)
            | HookError::ObjectName(_)
            | HookError::GitConfig(_)
            | HookError::NotARepository { .. }
            | HookError::Managed { .. }
            | HookError::ForeignHook(_)
            | HookError::KeptExists(_)
            | HookError::Io { .. } => Code::Usage,
            HookError::GitCommand { .. }
            | HookError::Fetch { .. }
            | HookError::NoFetchHead { .. }
            | HookError::NotFetched { .. }
            | HookError::PushedCommitMissing(_)
            | HookError::Git { .. }
            | HookError::Runtime(_)
            | HookError::Internal(_) => Code::Unreachable,
        };
        Failure::new(code, full_message(&e))
    }
}

impl From<OidcError> for Failure {
    fn from(e: OidcError) -> Failure {
        Failure::new(e.code(), full_message(&e))
    }
}

impl OidcError {
    /// The exit code for this error: configuration 2, the runner or issuer out of
    /// reach 5, and every refused token 4.
    pub fn code(&self) -> Code {
        match self {
            OidcError::Config { .. } | OidcError::NoTokenPermission => Code::Usage,
            OidcError::Unreachable { .. }
            | OidcError::NoToken
            | OidcError::HttpClient(_)
            | OidcError::Runtime(_)
            | OidcError::JwksUnavailable { .. } => Code::Unreachable,
            OidcError::Malformed(_)
            | OidcError::Algorithm(_)
            | OidcError::MissingKid
            | OidcError::UnknownKid { .. }
            | OidcError::KeyMismatch { .. }
            | OidcError::Signature { .. }
            | OidcError::Claim { .. }
            | OidcError::Issuer { .. }
            | OidcError::Audience { .. }
            | OidcError::Expired { .. }
            | OidcError::NotYetValid { .. }
            | OidcError::IssuedInFuture { .. }
            | OidcError::RecordTime { .. }
            | OidcError::Mismatch { .. }
            | OidcError::IssuerDocument { .. } => Code::Integrity,
        }
    }
}

impl GitHubError {
    /// The exit code for this error: configuration is 2, anything GitHub did not
    /// answer usefully after the bounded retries 5. Never 4, never an approval.
    pub fn code(&self) -> Code {
        match self {
            GitHubError::BadApiUrl { .. }
            | GitHubError::BadRepository { .. }
            | GitHubError::NoToken
            | GitHubError::BadCredentials { .. } => Code::Usage,
            GitHubError::Unreachable { .. }
            | GitHubError::WriteUncertain { .. }
            | GitHubError::Status { .. }
            | GitHubError::Decode { .. }
            | GitHubError::Client(_) => Code::Unreachable,
        }
    }
}

impl From<GitHubError> for Failure {
    fn from(e: GitHubError) -> Failure {
        Failure::new(e.code(), e.to_string())
    }
}

impl From<PolicyError> for Failure {
    fn from(e: PolicyError) -> Failure {
        Failure::usage(format!("invalid policy:\n{e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git_error(msg: &str) -> git2::Error {
        git2::Error::from_str(msg)
    }

    #[test]
    fn repository_errors_name_the_flag_and_keep_gits_words() {
        let rev = || RepoError::Revision {
            rev: "main2".into(),
            source: git_error("revspec 'main2' not found"),
        };
        assert_eq!(
            Failure::from(rev()),
            Failure::usage("`main2`: revspec 'main2' not found")
        );
        // The caller that knows the flag names it; the code stays.
        assert_eq!(
            crate::exit::for_flag("--sha", rev()),
            Failure::usage("--sha `main2`: revspec 'main2' not found")
        );
        let f = Failure::from(RepoError::NotARepository {
            dir: Some("/tmp/x".into()),
            source: git_error("could not find repository"),
        });
        assert_eq!(
            f,
            Failure::usage("--repo /tmp/x: not a git repository (could not find repository)")
        );
        let f = Failure::from(RepoError::NotARepository {
            dir: None,
            source: git_error("could not find repository"),
        });
        assert_eq!(
            f,
            Failure::usage(
                ".: not a git repository (could not find repository); run jitaa inside a git repository, or pass --repo DIR"
            )
        );
        let f = Failure::from(RepoError::Read {
            what: "reading jitaa.yml".into(),
            source: git_error("object not found"),
        });
        assert_eq!(
            f,
            Failure::unreachable("reading jitaa.yml: object not found")
        );
    }

    #[test]
    fn a_cause_is_printed_once() {
        let e = AuditError::SignIo {
            what: "running ssh-keygen",
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        };
        assert_eq!(e.to_string(), "running ssh-keygen");
        let chain = format!("{:#}", anyhow::Error::new(e));
        assert_eq!(chain, "running ssh-keygen: no such file");
    }

    #[test]
    fn the_hook_keeps_the_codes_of_what_it_wraps() {
        let blocked = Failure::from(HookError::Blocked(vec!["a".into(), "b".into()]));
        assert_eq!(blocked, Failure::denied("a\n\nb"));
        let upstream = Failure::integrity("bad chain");
        assert_eq!(
            Failure::from(HookError::Upstream(upstream.clone())),
            upstream
        );
        // A commit the hook already checked but cannot diff is git failing, not usage.
        let paths = Failure::from(HookError::Paths(RepoError::NoCommit {
            id: git2::Oid::ZERO_SHA1,
            source: git_error("object not found"),
        }));
        assert_eq!(paths.code, Code::Unreachable);
        let repo = Failure::from(HookError::Repo(RepoError::NotFetched { sha: "ab".into() }));
        assert_eq!(repo.code, Code::Unreachable);
    }

    #[test]
    fn oidc_configuration_is_usage_and_the_rest_fails_closed() {
        assert_eq!(
            Failure::from(OidcError::NoTokenPermission).code,
            Code::Usage
        );
        assert_eq!(Failure::from(OidcError::NoToken).code, Code::Unreachable);
        assert_eq!(Failure::from(OidcError::MissingKid).code, Code::Integrity);
    }
}
