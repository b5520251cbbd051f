//! jitaa — Just-In-Time Action Approval. See ARCHITECTURE.md for the map.

#[allow(
    clippy::disallowed_macros,
    reason = "writes GitHub Actions workflow commands to stdout"
)]
pub mod actions;
pub mod approval;
pub mod audit;
pub mod base;
pub mod codeowners;
#[allow(
    clippy::disallowed_macros,
    reason = "the command layer prints the results"
)]
pub mod commands;
pub mod exit;
pub mod gate;
pub mod github;
pub mod hook;
pub mod keys;
pub mod logging;
pub mod oidc;
pub mod policy;
pub mod progress;
pub mod repo;
pub mod request;
pub mod runtime;
