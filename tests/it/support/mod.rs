//! One small world for every integration test (and the benches that include it with
//! `#[path]`): the real `jitaa` binary and real git in temp dirs, a GitHub stand-in
//! (fakehub, with its OIDC issuer) on 127.0.0.1, keys, and the audit records they write.
//!
//! - [`process`]: `git` and `jitaa` commands that never read the caller's git config or
//!   GitHub/Actions variables, and the output helpers.
//! - [`keys`]: certifier keys (`jitaa keygen`'s code) and ssh-keygen keys.
//! - [`records`]: drafts, grants, reading and rewriting an audit branch, and the
//!   repository-with-a-key [`Fixture`] of the audit tests.
//! - [`world`]: the [`World`]: a stand-in, a bare `origin` and a checkout with policy,
//!   CODEOWNERS and trusted keys on `main`; for CI (`World::new`) or for a developer's
//!   clone with the pre-push hook installed (`World::with_hook`).
//! - [`gate`]: a `jitaa gate` run as GitHub Actions would start it, and how it ended.
//! - [`hub`]: what the stand-in saw: comments, reactions, request comments and issues.
//!
//! ```ignore
//! let w = World::new(POLICY);
//! let sha = w.commit("feature", &[("src/app.rs", "v2")]);
//! let pr = w.open_pr(&sha, &["src/app.rs"]);
//! let gate = w.gate(&sha).spawn();
//! w.wait_for_request(pr);
//! w.hub.comment_as("bob", REPO, pr, "/approve");
//! gate.finish().assert_code(0);
//! ```
#![allow(dead_code, unused_imports)]

pub mod decide;
pub mod gate;
pub mod hub;
pub mod keys;
pub mod process;
pub mod records;
pub mod world;

pub use decide::{DECIDE_WORKFLOW, Decide, KEYLESS_POLICY};
pub use gate::{Done, Gate, Running};
pub use keys::{Key, signers_line, ssh_keygen};
pub use process::{
    bin, git, git_cmd, git_raw, in_child, isolated, jitaa, run_with_stdin, stderr, stdout,
    test_name, text, wait_for_exit, write,
};
pub use records::{AUDIT, Fixture, draft};
pub use world::{CODEOWNERS, HOOK_CODEOWNERS, HOOK_POLICY, POLICY, World};

pub const REPO: &str = "acme/api";
pub const BOT: &str = "github-actions[bot]";
