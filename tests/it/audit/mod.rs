//! The audit branch: what `jitaa audit verify` catches, what stock tools verify, keyless
//! `github-oidc` signatures, git SSH signing keys, concurrent writers, and both record layouts (before and after the
//! bucket level).

mod concurrent;
mod hook_signing;
mod layout;
mod oidc;
mod stock;
mod synthetic;
mod tamper;
