//! The audit branch (issue 6): signed, hash-chained records that auditors can verify
//! without jitaa. Owns the record format and its JCS digest (`record`), SSHSIG and OIDC
//! signing seams (`sign`), trusted keys and signature checks (`trust`), the git2 store
//! (`store`), walking the branch (`chain`), publishing with re-linking on races
//! (`publish`), verification (`verify`), whether a record approves something
//! (`approvals`, the one rule every flow uses) and the `jitaa audit` commands (`cmd`).

pub mod approvals;
pub mod chain;
pub mod cmd;
pub mod publish;
pub mod record;
pub mod sign;
pub mod store;
pub mod trust;
pub mod verify;
pub mod wiring;

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

/// Errors of the audit module; each maps onto an exit code of DESIGN.md.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Bad configuration or arguments (exit 2).
    #[error("{0}")]
    Config(String),
    /// A signer failed (exit 5: nothing was written).
    #[error("{0}")]
    Sign(String),
    /// git failed (exit 5).
    #[error("{0}")]
    Git(String),
    /// The branch is not what it must be (exit 4).
    #[error("{0}")]
    Integrity(String),
    /// Verification found a bad record (exit 4).
    #[error("{0}")]
    Verify(#[from] VerifyError),
    /// An invariant of jitaa itself broke (exit 5).
    #[error("{0}")]
    Internal(String),
}

impl From<AuditError> for Failure {
    fn from(e: AuditError) -> Failure {
        let msg = e.to_string();
        match e {
            AuditError::Config(_) => Failure::usage(msg),
            AuditError::Integrity(_) | AuditError::Verify(_) => Failure::integrity(msg),
            AuditError::Sign(_) | AuditError::Git(_) | AuditError::Internal(_) => {
                Failure::unreachable(msg)
            }
        }
    }
}
