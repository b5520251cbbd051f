//! The hook's typed errors and the exit codes they end with (DESIGN.md): a missing
//! approval is 1, bad input or configuration 2, git or GitHub unreachable 5. None of
//! them ever lets a push through.

use crate::exit::Failure;
use crate::hook::protocol::ProtocolError;

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// git's stdin was not the pre-push protocol (exit 2).
    #[error("{0}")]
    Protocol(#[from] ProtocolError),
    /// Arguments or configuration the hook cannot work with (exit 2).
    #[error("{0}")]
    Config(String),
    /// A `git` command failed or could not run (exit 5).
    #[error("{0}")]
    Git(String),
    /// The push lacks a valid approval (exit 1); the message says what is missing.
    #[error("{0}")]
    Blocked(String),
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
