//! The command layer: the command line of DESIGN.md (clap derive types), one file per
//! subcommand that turns its arguments into the flow's options, prints the result in
//! the `--format` asked for, and the one place where an error becomes an exit code.
//!
//! Nothing below this module parses arguments or prints to stdout (clippy's
//! `disallowed-macros` keeps `println!` here and in `actions.rs`), and the one async
//! runtime is built here.

mod audit;
mod codes;
mod decide;
mod docs;
mod gate;
mod hook;
mod keygen;
mod oidc;
mod policy;
mod request;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::exit::{Code, Failure};

pub use audit::AuditArgs;
pub use decide::DecideArgs;
pub use docs::{CompletionsArgs, ManArgs};
pub use gate::GateArgs;
pub use hook::HookCmd;
pub use keygen::KeygenArgs;
pub use oidc::OidcCmd;
pub use policy::PolicyCmd;
pub use request::RequestArgs;

/// The version with the commit it was built from (build.rs).
const VERSION: &str = env!("JITAA_VERSION_LONG");

/// The command line with the build's version, for parsing, completions and man pages.
fn cli_command() -> clap::Command {
    Cli::command().version(VERSION)
}

/// The `jitaa` process: parse, set up logging, build the runtime, dispatch, exit.
pub fn main() -> ExitCode {
    let cli = Cli::from_arg_matches(&cli_command().get_matches()).unwrap_or_else(|e| e.exit());
    crate::logging::init(cli.global.verbose);
    let code = match run(&cli.global, cli.command) {
        Ok(code) => code,
        Err(err) => {
            let code = err.code;
            eprintln!("jitaa: {err}");
            if cli.global.format == Some(Format::Json) {
                // A program that asked for JSON gets JSON on failure too.
                println!(
                    "{}",
                    serde_json::json!({
                        "error": {"message": err.message, "kind": kind(code)},
                        "code": code.as_i32(),
                    })
                );
            }
            code
        }
    };
    ExitCode::from(u8::try_from(code.as_i32()).unwrap_or(5))
}

/// The exit code's meaning (DESIGN.md), for the JSON error object.
fn kind(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Denied => "denied",
        Code::Usage => "usage",
        Code::TimedOut => "timed_out",
        Code::Integrity => "integrity",
        Code::Unreachable => "unreachable",
    }
}

/// The one async runtime of the process. Multi-threaded (two workers), so that the
/// synchronous parts (the audit store's OIDC signer, the hook's GitHub checks, verify's
/// JWKS fetch) can wait on it from their own thread while its workers drive the I/O.
fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::unreachable(format!("starting the async runtime: {e}")))
}

/// Every error reaches here as a [`Failure`]: each seam's error became one through
/// `codes.rs`, so no error skips its exit code.
fn run(global: &Global, command: Command) -> Result<Code, Failure> {
    let rt = runtime()?;
    let _entered = rt.enter();
    match command {
        Command::Hook(cmd) => hook::run(global, cmd),
        Command::Policy(cmd) => policy::run(global, cmd),
        Command::Keygen(args) => keygen::run(global, &args),
        Command::Oidc(cmd) => rt.block_on(oidc::run(global, cmd)),
        Command::Gate(args) => rt.block_on(gate::run(global, &args)),
        Command::Decide(args) => rt.block_on(decide::run(global, &args)),
        Command::Request(args) => rt.block_on(request::run(global, &args)),
        Command::Audit(args) => audit::run(global, &args),
        Command::Completions(args) => {
            global.format("jitaa completions", &[Format::Table])?;
            Ok(docs::completions(&args, cli_command()))
        }
        Command::Man(args) => {
            global.format("jitaa man", &[Format::Table])?;
            docs::man(&args, cli_command())
        }
    }
}

/// Where a flow's progress lines go: stdout, one line each.
struct Stdout;

impl crate::progress::Progress for Stdout {
    fn say(&self, line: &str) {
        println!("{line}");
    }
}

/// jitaa — Just-In-Time Action Approval.
///
/// Holds a deployment (as a GitHub Actions step) or a push (as a git pre-push hook)
/// until a code owner approves, and writes every decision as a signed, hash-chained
/// record on an audit branch.
#[derive(Debug, Parser)]
#[command(name = "jitaa", version, propagate_version = true)]
#[command(
    after_help = "Example:\n  jitaa policy explain --environment production\n\n\
Exit codes: 0 approved/allowed/verified, 1 denied or blocked, 2 usage or invalid policy,\n\
3 timed out, 4 integrity failure, 5 GitHub or git unreachable."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// The git repository to work in (default: the current repository).
    #[arg(long, global = true, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Output format: table, json or csv, where the command offers it (each command's
    /// help says which; the first it offers is its default). With json, a failure is a
    /// JSON object too: {"error": {"message": ...}, "code": N}.
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// More logging (-v info, -vv debug, -vvv trace); JITAA_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Csv => "csv",
        }
    }
}

impl Global {
    /// The output format for `command`, which prints the formats `offers` (the first is
    /// its default). Asking for one it does not print is a usage error, never ignored.
    fn format(&self, command: &str, offers: &[Format]) -> Result<Format, Failure> {
        let Some(asked) = self.format else {
            return Ok(offers[0]);
        };
        if offers.contains(&asked) {
            return Ok(asked);
        }
        let names: Vec<&str> = offers.iter().map(|f| f.name()).collect();
        let prints = match names.as_slice() {
            [one] => format!("prints {one} only"),
            [init @ .., last] => format!("prints {} or {last}", init.join(", ")),
            [] => "prints nothing".to_string(),
        };
        Err(Failure::usage(format!(
            "--format {}: `{command}` {prints}",
            asked.name()
        )))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The git pre-push hook: gate pushes to protected branches.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  jitaa hook install\n  echo \"refs/heads/main $NEW refs/heads/main $OLD\" | jitaa hook pre-push origin git@github.com:acme/api.git"
    )]
    Hook(HookCmd),
    /// Write an Ed25519 OpenSSH key pair and its allowed_signers line.
    #[command(after_help = "Example:\n  jitaa keygen --out .jitaa-keys --principal jitaa@acme")]
    Keygen(KeygenArgs),
    /// List, show, export and verify the signed audit records.
    #[command(
        after_help = "Examples:\n  jitaa audit log --since 7d --environment production\n  \
jitaa audit export --since 2026-01-01 --format csv > sample.csv\n  \
jitaa audit verify --allowed-signers trusted_signers --expect-head sha256:<digest>"
    )]
    Audit(AuditArgs),
    /// Check a policy file, or explain which rule applies and who may approve.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  jitaa policy check .github/jitaa.yml\n  jitaa policy explain --environment production"
    )]
    Policy(PolicyCmd),
    /// Work with GitHub Actions OIDC tokens.
    #[command(subcommand)]
    #[command(after_help = "Example:\n  echo \"$TOKEN\" | jitaa oidc verify - --format json")]
    Oidc(OidcCmd),
    /// Hold a GitHub Actions step until a code owner approves (exit 0 approved, 1 denied
    /// or cancelled, 3 timed out).
    #[command(after_help = "Example (a workflow step with id-token: write):\n  \
jitaa gate --environment production --timeout 30m")]
    Gate(GateArgs),
    /// Decide a pending request (`gate --no-wait`) when a comment, a review or a check
    /// run button concerns it: in a workflow of the default branch on issue_comment,
    /// check_run and workflow_run events (exit 0 unless something is broken).
    #[command(
        after_help = "Example (.github/workflows/jitaa.yml, on: issue_comment / check_run / workflow_run):\n  \
jitaa decide"
    )]
    Decide(DecideArgs),
    /// Ask for approval of a push ahead of time (posts a request issue).
    #[command(after_help = "Example:\n  jitaa request --ref main --wait   # then git push")]
    Request(RequestArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) to stdout.
    #[command(
        after_help = "Examples:\n  jitaa completions bash > ~/.local/share/bash-completion/completions/jitaa\n  \
jitaa completions zsh > \"${fpath[1]}/_jitaa\"\n  jitaa completions fish > ~/.config/fish/completions/jitaa.fish\n  \
jitaa completions powershell >> $PROFILE"
    )]
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout, or write one page per command to a directory.
    #[command(
        after_help = "Examples:\n  jitaa man | man -l -\n  jitaa man --out-dir /usr/local/share/man/man1"
    )]
    Man(ManArgs),
}

/// Parses a humantime duration (`90s`, `30m`, `1h`) for clap.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s)
        .map_err(|e| format!("`{s}` is not a duration like 90s, 30m or 1h: {e}"))
}
