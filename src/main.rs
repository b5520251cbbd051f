//! The `jitaa` binary: parse the command line, set up logging, dispatch, exit.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use jitaa::cli::{Cli, Command, Format, Global, PolicyCmd};
use jitaa::exit::{Code, code_of};

/// The version with the commit it was built from (build.rs).
const VERSION: &str = env!("JITAA_VERSION_LONG");

/// The command line with the build's version, for parsing, completions and man pages.
fn cli_command() -> clap::Command {
    Cli::command().version(VERSION)
}

fn main() -> ExitCode {
    let cli = Cli::from_arg_matches(&cli_command().get_matches()).unwrap_or_else(|e| e.exit());
    jitaa::logging::init(cli.global.verbose);
    match run(&cli.global, cli.command) {
        Ok(code) => ExitCode::from(code.as_i32() as u8),
        Err(err) => {
            let code = code_of(&err);
            eprintln!("jitaa: {err:#}");
            ExitCode::from(code.as_i32() as u8)
        }
    }
}

fn run(global: &Global, command: Command) -> anyhow::Result<Code> {
    match command {
        Command::Hook(jitaa::cli::HookCmd::Install(args)) => {
            Ok(jitaa::hook::cmd_install(global, &args)?)
        }
        Command::Hook(jitaa::cli::HookCmd::PrePush(args)) => {
            Ok(jitaa::hook::cmd_pre_push(global, &args)?)
        }
        Command::Policy(PolicyCmd::Check(args)) => Ok(jitaa::policy::cmd::check(global, &args)?),
        Command::Policy(PolicyCmd::Explain(args)) => {
            Ok(jitaa::policy::cmd::explain(global, &args)?)
        }
        Command::Keygen(args) => {
            let g = jitaa::keys::generate(&args.out, &args.principal)?;
            if global.format == Format::Json {
                println!(
                    "{}",
                    serde_json::json!({
                        "private_key": g.private_path,
                        "public_key": g.public_path,
                        "allowed_signers": g.allowed_signers_path,
                        "allowed_signers_line": g.allowed_signers_line,
                    })
                );
            } else {
                println!("wrote {}", g.private_path.display());
                println!("wrote {}", g.public_path.display());
                println!("wrote {}", g.allowed_signers_path.display());
                println!("allowed_signers line:\n{}", g.allowed_signers_line);
                println!(
                    "Keep the private key secret: set it as the JITAA_SIGNING_KEY secret, and commit the allowed_signers line where your policy's audit.allowed_signers points."
                );
            }
            Ok(Code::Ok)
        }
        Command::Oidc(jitaa::cli::OidcCmd::Verify(args)) => jitaa::oidc::cmd::verify(global, &args),
        Command::Gate(args) => Ok(jitaa::gate::cmd(global, &args)?),
        Command::Request(args) => Ok(jitaa::request::cmd::run(global, &args)?),
        Command::Audit(args) => Ok(jitaa::audit::wiring::run(global, &args)?),
        Command::Completions(args) => {
            let mut cmd = cli_command();
            clap_complete::generate(args.shell, &mut cmd, "jitaa", &mut std::io::stdout());
            Ok(Code::Ok)
        }
        Command::Man(args) => {
            match &args.out_dir {
                Some(dir) => {
                    std::fs::create_dir_all(dir)?;
                    clap_mangen::generate_to(cli_command(), dir)?;
                    eprintln!("wrote the man pages to {}", dir.display());
                }
                None => clap_mangen::Man::new(cli_command()).render(&mut std::io::stdout())?,
            }
            Ok(Code::Ok)
        }
    }
}
