//! The pre-push hook flow: developers get the gate on their own machine, before a push
//! to a protected branch leaves it (`jitaa hook pre-push`). Also `jitaa hook install`.
//!
//! Map: `protocol` (git's stdin) → `scope` (which updates are gated, no network) →
//! `crate::base` (the rules at the remote tip) and `base` (changed paths) →
//! `crate::audit::approvals` (a grant on the audit branch) / `pr` (approval engine over
//! the PR) → `message` (blocked) or `record` (push record). `flow` ties them together.

pub mod base;
pub mod error;
pub mod flow;
pub mod install;
pub mod message;
pub mod pr;
pub mod protocol;
pub mod record;
pub mod scope;

pub use error::HookError;
pub use flow::{AllowedRef, Push, Summary, run};

/// The ref updates of this push: git's stdin lines, else (none given and
/// `PRE_COMMIT_TO_REF` set) the one update the pre-commit framework describes.
pub fn updates_from(
    stdin: &str,
    get: impl Fn(&str) -> Option<String>,
) -> Result<Vec<protocol::RefUpdate>, HookError> {
    let updates = protocol::parse(stdin)?;
    if !updates.is_empty() || get("PRE_COMMIT_TO_REF").is_none() {
        return Ok(updates);
    }
    protocol::from_pre_commit(&get)
        .map(|u| vec![u])
        .ok_or(HookError::PreCommitEnv)
}

#[cfg(test)]
mod tests;
