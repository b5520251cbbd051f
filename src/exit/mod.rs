//! Exit codes of DESIGN.md and the one error type that carries them to `main`.
//!
//! Modules keep their own typed errors; at a flow's seam they become a [`Failure`],
//! which says which exit code the process ends with. Which code each module error
//! ends with is decided in one place, the command layer's `codes.rs`, where every
//! variant is named and whatever is not clearly the user's input or a broken chain is
//! [`Code::Unreachable`]: an unexpected error never approves.

use std::fmt;

/// The process exit codes of the design contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// approved / allowed / verified
    Ok = 0,
    /// denied, or push blocked for want of a valid approval
    Denied = 1,
    /// usage error, or invalid policy/config
    Usage = 2,
    /// timed out waiting; no decision
    TimedOut = 3,
    /// OIDC token invalid or inconsistent, audit chain or signature broken
    Integrity = 4,
    /// GitHub or git unreachable after retries
    Unreachable = 5,
}

impl Code {
    pub fn as_i32(self) -> i32 {
        self as i32
    }
}

/// An error that ends the process with a chosen exit code and a message for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: Code,
    pub message: String,
}

impl Failure {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }
    pub fn denied(message: impl Into<String>) -> Self {
        Self::new(Code::Denied, message)
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Code::Usage, message)
    }
    pub fn timed_out(message: impl Into<String>) -> Self {
        Self::new(Code::TimedOut, message)
    }
    pub fn integrity(message: impl Into<String>) -> Self {
        Self::new(Code::Integrity, message)
    }
    pub fn unreachable(message: impl Into<String>) -> Self {
        Self::new(Code::Unreachable, message)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// An error's message followed by each of its causes, `: `-separated, as anyhow's `{:#}`
/// prints a chain; a git error by its message alone (its `Display` appends libgit2's
/// class and code, which users never saw).
pub fn full_message(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        out.push_str(": ");
        match e.downcast_ref::<git2::Error>() {
            Some(g) => out.push_str(g.message()),
            None => out.push_str(&e.to_string()),
        }
        next = e.source();
    }
    out
}

/// `err` as the flag its value came from: `--sha nothex: ...`, keeping the code.
pub fn for_flag(flag: &str, err: impl Into<Failure>) -> Failure {
    let f = err.into();
    Failure::new(f.code, format!("{flag} {}", f.message))
}
