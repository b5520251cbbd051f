//! `jitaa completions SHELL` and `jitaa man [--out-dir DIR]`: the command line's own
//! documentation, generated from the clap definitions.

use std::path::PathBuf;

use clap::Args;

use crate::exit::Code;

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

pub(super) fn completions(args: &CompletionsArgs, mut cmd: clap::Command) -> anyhow::Result<Code> {
    clap_complete::generate(args.shell, &mut cmd, "jitaa", &mut std::io::stdout());
    Ok(Code::Ok)
}

pub(super) fn man(args: &ManArgs, cmd: clap::Command) -> anyhow::Result<Code> {
    match &args.out_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            clap_mangen::generate_to(cmd, dir)?;
            eprintln!("wrote the man pages to {}", dir.display());
        }
        None => clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?,
    }
    Ok(Code::Ok)
}
