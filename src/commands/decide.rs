//! `jitaa decide`: decide pending requests on GitHub events, holding no runner.

use clap::Args;

use super::{Format, Global, Stdout};
use crate::exit::{Code, Failure};

/// Everything comes from the event (`GITHUB_EVENT_NAME`, `GITHUB_EVENT_PATH`) and the
/// default branch's policy.
#[derive(Debug, Args)]
pub struct DecideArgs {}

pub(super) async fn run(global: &Global, _args: &DecideArgs) -> Result<Code, Failure> {
    // Its results are records, check runs and comments; its stdout is a log.
    global.format("jitaa decide", &[Format::Table])?;
    let options = crate::decide::Options {
        repo: global.repo.clone(),
    };
    crate::decide::run(&options, &Stdout).await
}
