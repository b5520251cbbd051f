//! jitaa — Just-In-Time Action Approval. See ARCHITECTURE.md for the map.

pub mod audit;
pub mod cli;
pub mod codeowners;
pub mod exit;
pub mod keys;
pub mod logging;
pub mod policy;
pub mod repo;
