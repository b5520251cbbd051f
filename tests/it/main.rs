//! The integration tests, one binary: the real `jitaa` binary and library against real
//! git repositories in temp dirs and the GitHub stand-in on 127.0.0.1, never the
//! network. One module per topic, all over one [`support`] builder:
//!
//! - `gate`, `request`: a workflow's `jitaa gate` and a developer's `jitaa request`;
//! - `hook`: `git push` through the installed pre-push hook;
//! - `audit`: the audit branch: tampering, stock tools, keyless signatures, writers;
//! - `oidc`, `github`: the Actions ID token and the GitHub client;
//! - `policy`, `codeowners`, `cli_help`, `action_install`: the rest of the contract.
//!
//! Run one topic with a filter: `cargo test --test it gate::` or `hook::push::`.

#![allow(
    clippy::disallowed_macros,
    reason = "tests and measurements print their own reports"
)]
#![allow(
    clippy::format_collect,
    clippy::match_wildcard_for_single_variants,
    clippy::needless_continue,
    reason = "test code favours the plainest spelling of a check over pedantic style"
)]

mod support;

mod action_install;
mod audit;
mod cli_errors;
mod cli_help;
mod codeowners;
mod decide;
mod gate;
mod github;
mod hook;
mod newcomer;
mod oidc;
mod policy;
mod request;
