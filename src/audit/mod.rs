//! The audit branch: signed, hash-chained records that auditors can verify
//! without jitaa. Owns the record format and its JCS digest (`record`), SSHSIG and OIDC
//! signing seams (`sign`), trusted keys and signature checks (`trust`), the git2 store
//! (`store`), walking the branch (`chain`), publishing with re-linking on races
//! (`publish`), verification (`verify`), whether a record approves something
//! (`approvals`, the one rule every flow uses) and the `jitaa audit` commands (`cmd`).

pub mod approvals;
pub mod chain;
pub mod once;
pub mod publish;
pub mod record;
pub mod sign;
pub mod store;
#[cfg(test)]
pub(crate) mod testkit;
pub mod trust;
pub mod verify;
pub mod wiring;

use std::path::PathBuf;

use git2::Oid;

use crate::exit::Failure;

pub use publish::{Outcome, Publisher, append_and_publish};
pub use record::{Actor, Approval, ContextSource, Decision, Draft, Kind, Record, RuleRef, Subject};
pub use sign::{OidcSigner, Signers, SshSigner};
pub use store::{Appended, Store};
pub use trust::{AllowedSigners, OidcVerifier};
pub use verify::{Verified, VerifyError, VerifyOptions, verify, verify_on};

/// The default audit branch (policy `audit.branch`).
pub const DEFAULT_BRANCH: &str = "jitaa/audit";
/// The default remote records are pushed to (policy `audit.remote`).
pub const DEFAULT_REMOTE: &str = "origin";

/// Where the audit branch lives: from the policy's `audit` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub branch: String,
    pub remote: String,
    /// The policy's `audit.allowed_signers`: a path read from the default branch.
    pub allowed_signers: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            branch: DEFAULT_BRANCH.into(),
            remote: DEFAULT_REMOTE.into(),
            allowed_signers: None,
        }
    }
}

/// Errors of the audit module. Each says what failed, with what it was about, and keeps
/// the error it came from as its source; `crate::commands::codes` (the command layer) chooses the exit code.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    // --- configuration and arguments
    /// `audit.branch` is not a branch name.
    #[error("audit.branch: `{0}` is not a valid branch name")]
    BranchName(String),
    /// Nothing to sign a record with.
    #[error(
        "no signer: set JITAA_SIGNING_KEY, configure a git SSH signing key, or enable github-oidc"
    )]
    NoSigner,
    /// `git config user.signingkey` (or the file it names, `origin`) is not an SSH public key.
    #[error("{origin}: not an SSH public key")]
    SigningKey {
        origin: String,
        #[source]
        source: ssh_key::Error,
    },
    /// The public key file `user.signingkey` names cannot be read.
    #[error("git config user.signingkey: cannot read public key {}", path.display())]
    SigningKeyFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A JWKS file given to trust `github-oidc` keys cannot be used.
    #[error("{}", path.display())]
    JwksFile {
        path: PathBuf,
        #[source]
        source: JwksFileError,
    },
    /// The policy or keys read from the default branch (`crate::base`, which still
    /// words its own failures and their exit codes).
    #[error(transparent)]
    Upstream(Failure),

    // --- signing: nothing was written
    #[error("SSH signing failed")]
    SshSign(#[source] ssh_key::Error),
    /// Running `ssh-keygen`, or the temporary key file it reads.
    #[error("{what}")]
    SignIo {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("ssh-keygen -Y sign -f {} failed: {stderr}", key.display())]
    SshKeygen { key: PathBuf, stderr: String },
    #[error("GitHub OIDC token")]
    OidcToken(#[source] crate::oidc::OidcError),

    // --- git
    /// A libgit2 call failed; `what` says what was being done.
    #[error("{what}")]
    Git {
        what: String,
        #[source]
        source: git2::Error,
    },
    /// The `git` command could not run.
    #[error("running git {command}")]
    GitCommand {
        command: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// `git fetch` of the audit branch failed.
    #[error("git fetch {remote} {branch}: {stderr}")]
    Fetch {
        remote: String,
        branch: String,
        stderr: String,
    },
    /// Other writers kept moving the branch.
    #[error("{ref_name}: the branch kept moving; gave up after {attempts} attempts")]
    KeptMoving { ref_name: String, attempts: usize },
    #[error("{0}: the branch kept moving while re-linking")]
    RelinkKeptMoving(String),
    /// A record that must be on the remote before anything else is written is not.
    #[error("{what} could not be published: {reason}")]
    NotPublished { what: String, reason: String },

    // --- the branch is not what it must be
    /// An audit commit breaks the branch's rules.
    #[error("audit commit {commit}")]
    Chain {
        commit: Oid,
        #[source]
        source: chain::ChainError,
    },
    /// A record file on the branch is not a record.
    #[error("audit commit {commit}: {path}")]
    RecordJson {
        commit: Oid,
        path: String,
        #[source]
        source: serde_json::Error,
    },
    /// The JWKS to archive beside a record is unusable.
    #[error("JWKS: not JSON")]
    JwksNotJson(#[source] serde_json::Error),
    #[error("JWKS: no `keys` array")]
    JwksNoKeys,
    #[error("JWKS: kid `{0}` is not a safe file name")]
    UnsafeKid(String),
    /// Verification found a bad record.
    #[error(transparent)]
    Verify(#[from] VerifyError),

    // --- invariants of jitaa itself
    #[error("encoding {what}")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("canonicalising payload")]
    Canonical(#[source] serde_json::Error),
    #[error("payload.time")]
    RecordTime(#[source] record::TimeError),
    #[error("{0}")]
    Internal(&'static str),
}

/// Why a `--jwks FILE` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JwksFileError {
    #[error("cannot read")]
    Read(#[source] std::io::Error),
    #[error("{size} bytes, over the {limit}-byte limit")]
    TooLarge { size: u64, limit: u64 },
    #[error(transparent)]
    Document(#[from] crate::oidc::DocumentError),
    #[error("keys: no key jitaa can use (a JWKS of RSA keys, as the issuer's jwks_uri serves)")]
    NoUsableKey,
}
