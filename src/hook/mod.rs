//! The pre-push hook flow: developers get the gate on their own machine, before a push
//! to a protected branch leaves it. Also `jitaa hook install`.

pub mod install;
pub mod protocol;

use std::path::Path;

use crate::cli::{Format, Global, HookInstallArgs};
use crate::exit::{Code, Failure};

/// `jitaa hook install [--force]`.
pub fn cmd_install(global: &Global, args: &HookInstallArgs) -> Result<Code, Failure> {
    let dir = global.repo.clone().unwrap_or_else(|| ".".into());
    let exe = std::env::current_exe()
        .map_err(|e| Failure::unreachable(format!("locating the jitaa binary: {e}")))?;
    let done = install::install(Path::new(&dir), &exe, args.force)?;
    let (what, path, kept) = match &done {
        install::Installed::Fresh(p) => ("installed", p, None),
        install::Installed::Updated(p) => ("updated", p, None),
        install::Installed::Chained { hook, kept } => ("installed (chained)", hook, Some(kept)),
    };
    if global.format == Format::Json {
        println!(
            "{}",
            serde_json::json!({"result": what, "hook": path, "kept": kept})
        );
    } else {
        println!("{what}: {}", path.display());
        if let Some(kept) = kept {
            println!(
                "your earlier hook now lives at {} and runs first",
                kept.display()
            );
        }
    }
    Ok(Code::Ok)
}
