//! Puts the git commit into `jitaa --version`. Never fails: without git, outside a git
//! checkout, or inside someone else's repository (a crate unpacked under another tree),
//! the version says `commit unknown`. `JITAA_BUILD_COMMIT` overrides (a source tarball).
#![allow(
    clippy::disallowed_macros,
    reason = "a build script, test or benchmark prints its own report"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=JITAA_BUILD_COMMIT");
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let ours = git(&dir, &["rev-parse", "--show-toplevel"])
        .and_then(|top| Path::new(&top).canonicalize().ok())
        .is_some_and(|top| dir.canonicalize().is_ok_and(|d| d == top));
    let commit = match std::env::var("JITAA_BUILD_COMMIT") {
        Ok(c) if !c.trim().is_empty() => Some(c.trim().to_string()),
        _ if ours => {
            // Rebuild the version when HEAD moves: HEAD itself, the branch it names, packed refs.
            let mut watch = vec!["HEAD".to_string()];
            if let Some(branch) = git(&dir, &["symbolic-ref", "-q", "HEAD"]) {
                watch.push(branch);
            }
            watch.push("packed-refs".to_string());
            for name in watch {
                if let Some(p) = git(
                    &dir,
                    &["rev-parse", "--path-format=absolute", "--git-path", &name],
                ) && Path::new(&p).exists()
                {
                    println!("cargo:rerun-if-changed={p}");
                }
            }
            git(&dir, &["rev-parse", "--short=12", "HEAD"])
        }
        _ => None,
    };
    let commit = commit.unwrap_or_else(|| "commit unknown".to_string());
    println!("cargo:rustc-env=JITAA_VERSION_LONG={version} ({commit})");
}
