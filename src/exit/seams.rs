//! Which exit code of DESIGN.md each module's error ends the process with, and the
//! message the user reads: the one place that decides it. The modules only say what
//! went wrong (typed errors, with their causes as sources); here every variant is
//! named, so a new one cannot slip through without a decision. Where a module's value
//! came from a flag (`--ref`, `--repo`, `--jwks`), the flag is named here, not there.
//!
//! Codes: 0 ok, 1 denied or blocked, 2 usage or invalid policy, 3 timed out, 4
//! integrity, 5 unreachable. Fail closed: whatever is not clearly the user's input or
//! a broken chain is 5, never an approval.

use super::{Code, Failure};
use crate::audit::AuditError;
use crate::github::GitHubError;
use crate::hook::HookError;
use crate::oidc::OidcError;
use crate::policy::PolicyError;

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

impl From<HookError> for Failure {
    fn from(e: HookError) -> Failure {
        let msg = e.to_string();
        match e {
            HookError::Protocol(_) | HookError::Config(_) => Failure::usage(msg),
            HookError::Git(_) => Failure::unreachable(msg),
            HookError::Blocked(_) => Failure::denied(msg),
        }
    }
}

impl From<OidcError> for Failure {
    fn from(e: OidcError) -> Failure {
        Failure::new(e.code(), e.to_string())
    }
}

impl OidcError {
    /// The exit code for this error: configuration 2, the runner or issuer out of
    /// reach 5, and every refused token 4.
    pub fn code(&self) -> Code {
        match self {
            OidcError::Config { .. } => Code::Usage,
            OidcError::Unreachable { .. } => Code::Unreachable,
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
