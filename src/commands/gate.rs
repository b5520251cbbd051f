//! `jitaa gate`: hold a GitHub Actions step until the change is approved.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{Format, Global, Stdout, parse_duration};
use crate::exit::{Code, Failure};

#[derive(Debug, Args)]
pub struct GateArgs {
    /// The deployment environment (default: the OIDC token's `environment`).
    #[arg(long, value_name = "ENV")]
    pub environment: Option<String>,
    /// How long to wait for a decision (default: the rule's timeout).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// The longest pause between polls while idle (default 2s).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub poll: Option<Duration>,
    /// A policy file path inside the repository (default .github/jitaa.yml, else
    /// .jitaa.yml). Read at the protected base like the default, never the work tree.
    #[arg(long, value_name = "PATH")]
    pub policy: Option<PathBuf>,
    /// Post the request (with Approve and Deny buttons on the check run), set
    /// `decision=pending` and exit 0 at once; `jitaa decide` records the decision and
    /// re-runs this workflow run, whose gate then reuses the approval.
    #[arg(long)]
    pub no_wait: bool,
}

pub(super) async fn run(global: &Global, args: &GateArgs) -> Result<Code, Failure> {
    // The gate's results are step outputs and the job summary; its stdout is a log.
    global.format("jitaa gate", &[Format::Table])?;
    let options = crate::gate::Options {
        repo: global.repo.clone(),
        environment: args.environment.clone(),
        timeout: args.timeout,
        poll: args.poll,
        policy: args
            .policy
            .as_ref()
            .map(|p| p.to_string_lossy().trim_start_matches("./").to_string()),
        no_wait: args.no_wait,
    };
    crate::gate::run(&options, &Stdout).await
}
