//! The hook's typed errors. None of them ever lets a push through; which exit code each
//! ends with (DESIGN.md: a missing approval 1, bad input or configuration 2, git or
//! GitHub unreachable 5) is decided in `crate::exit::seams`.

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
