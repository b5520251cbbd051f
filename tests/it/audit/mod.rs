//! The audit branch: what `jitaa audit verify` catches, what stock tools verify, keyless
//! `github-oidc` signatures, git SSH signing keys, and concurrent writers.

mod concurrent;
mod hook_signing;
mod oidc;
mod stock;
mod tamper;
