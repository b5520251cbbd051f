//! jitaa — Just-In-Time Action Approval. See ARCHITECTURE.md for the map.

pub mod actions;
pub mod approval;
pub mod audit;
pub mod base;
pub mod cli;
pub mod codeowners;
pub mod exit;
pub mod gate;
pub mod github;
pub mod hook;
pub mod keys;
pub mod logging;
pub mod oidc;
pub mod policy;
pub mod repo;
pub mod request;
