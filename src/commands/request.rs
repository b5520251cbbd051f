//! `jitaa request --ref REF [--sha SHA] [--wait]`: ask for approval of a push ahead of time.

use std::time::Duration;

use clap::Args;

use super::{Format, Global, Stdout, parse_duration};
use crate::exit::{Code, Failure};

#[derive(Debug, Args)]
pub struct RequestArgs {
    /// The branch the push goes to (`main`).
    #[arg(long = "ref", value_name = "REF")]
    pub git_ref: String,
    /// The commit to approve (default HEAD).
    #[arg(long, value_name = "SHA")]
    pub sha: Option<String>,
    /// Wait until the grant is on the audit branch (`jitaa decide` writes it when a
    /// code owner approves; this process never certifies its own grant).
    #[arg(long)]
    pub wait: bool,
    /// How long to wait (default: the rule's timeout).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// The longest pause between polls while idle (default 2s).
    #[arg(long, value_name = "DUR", value_parser = parse_duration)]
    pub poll: Option<Duration>,
}

pub(super) async fn run(global: &Global, args: &RequestArgs) -> Result<Code, Failure> {
    global.format("jitaa request", &[Format::Table])?;
    let options = crate::request::flow::Options {
        repo: global.repo.clone(),
        git_ref: args.git_ref.clone(),
        sha: args.sha.clone(),
        wait: args.wait,
        timeout: args.timeout,
        poll: args.poll,
    };
    crate::request::flow::run(&options, &Stdout).await
}
