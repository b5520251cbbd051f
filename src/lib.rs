//! jitaa — Just-In-Time Action Approval. See ARCHITECTURE.md for the map.
//!
//! The binary is [`main`] (the command layer, `src/commands/`). The public modules are
//! the surface the integration tests and benchmarks drive; everything else is
//! `pub(crate)`, so `dead_code` sees what nothing calls.

// `pub` only where the library's surface needs it.
#![warn(unreachable_pub)]
// No unsafe code but one audited `allow`: mapping pack files read-only
// (`audit::chain::packs::map`).
#![deny(unsafe_code)]

#[allow(
    clippy::disallowed_macros,
    reason = "writes GitHub Actions workflow commands to stdout"
)]
pub(crate) mod actions;
pub(crate) mod approval;
pub mod audit;
pub mod base;
pub mod codeowners;
#[allow(
    clippy::disallowed_macros,
    reason = "the command layer prints the results"
)]
pub mod commands;
pub(crate) mod decide;
pub mod exit;
pub(crate) mod gate;
pub mod github;
pub mod hook;
pub mod keys;
pub(crate) mod logging;
pub mod oidc;
pub mod policy;
pub(crate) mod progress;
pub mod repo;
pub(crate) mod request;
pub mod runtime;

pub use commands::main;
