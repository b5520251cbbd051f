//! `jitaa completions SHELL` and `jitaa man [--out-dir DIR]`: the command line's own
//! documentation, generated from the clap definitions.

use std::path::PathBuf;

use clap::Args;

use crate::exit::{Code, Failure};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write jitaa.1 and a page per subcommand (jitaa-gate.1, ...) here instead.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

pub(super) fn completions(args: &CompletionsArgs, mut cmd: clap::Command) -> Code {
    clap_complete::generate(args.shell, &mut cmd, "jitaa", &mut std::io::stdout());
    Code::Ok
}

pub(super) fn man(args: &ManArgs, cmd: clap::Command) -> Result<Code, Failure> {
    match &args.out_dir {
        Some(dir) => {
            let failed =
                |e: std::io::Error| Failure::usage(format!("--out-dir {}: {e}", dir.display()));
            std::fs::create_dir_all(dir).map_err(failed)?;
            clap_mangen::generate_to(cmd, dir).map_err(failed)?;
            eprintln!("wrote the man pages to {}", dir.display());
        }
        None => clap_mangen::Man::new(cmd)
            .render(&mut std::io::stdout())
            .map_err(|e| Failure::unreachable(format!("writing the man page: {e}")))?,
    }
    Ok(Code::Ok)
}
