//! `jitaa oidc verify [TOKEN|-]`: verify a token (given, from stdin, or fetched in a
//! job), check it against the run's `GITHUB_*` variables, and print its context.

use std::io::Read;

use clap::{Args, Subcommand};

use super::{Format, Global};
use crate::exit::{Code, Failure};
use crate::oidc::{Context, MAX_TOKEN_LEN, Verifier, cross_check, process_env, request_token};

#[derive(Debug, Subcommand)]
pub enum OidcCmd {
    /// Verify an Actions OIDC token (RS256 against the issuer's keys, iss, aud, times,
    /// and the run's GITHUB_* variables) and print its context. Exit 4 when invalid.
    #[command(after_help = "Examples:\n  \
jitaa oidc verify                 # in a job with `permissions: id-token: write`: fetch one\n  \
echo \"$TOKEN\" | jitaa oidc verify - --format json\n  \
JITAA_OIDC_ISSUER=https://ghes.example.com/_services/token jitaa oidc verify -")]
    Verify(OidcVerifyArgs),
}

#[derive(Debug, Args)]
pub struct OidcVerifyArgs {
    /// The token, or `-` to read it from stdin (safer: argv is visible to other
    /// processes). Default: request one from the runner (needs id-token: write).
    #[arg(value_name = "TOKEN|-")]
    pub token: Option<String>,
    /// The audience the token must carry.
    #[arg(long, env = "JITAA_OIDC_AUDIENCE", default_value = "jitaa")]
    pub audience: String,
    /// The issuer the token must come from (https; http only on loopback).
    #[arg(
        long,
        env = "JITAA_OIDC_ISSUER",
        default_value = "https://token.actions.githubusercontent.com"
    )]
    pub issuer: String,
}

/// Runs `jitaa oidc verify`. Exit 0 and the context when valid; 4 with the reason when
/// not; 2 for bad configuration; 5 when the issuer or runner is unreachable.
pub(super) async fn run(global: &Global, cmd: OidcCmd) -> Result<Code, Failure> {
    let OidcCmd::Verify(args) = cmd;
    let format = global.format(
        "jitaa oidc verify",
        &[Format::Table, Format::Json, Format::Csv],
    )?;
    let ctx = verify(&args).await?;
    print_context(&ctx, format)?;
    Ok(Code::Ok)
}

async fn verify(args: &OidcVerifyArgs) -> Result<Context, Failure> {
    // Name the flag (or its variable) the user set, not only the variable.
    let issuer = args.issuer.trim().trim_end_matches('/');
    let named = match std::env::var("JITAA_OIDC_ISSUER") {
        Ok(v) if v.trim().trim_end_matches('/') == issuer => "--issuer (JITAA_OIDC_ISSUER)",
        _ => "--issuer",
    };
    crate::oidc::check_url(issuer, named)?;
    let verifier = Verifier::new(&args.issuer, &args.audience)?;
    let token = match args.token.as_deref() {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .take(MAX_TOKEN_LEN as u64 + 1)
                .read_to_string(&mut text)
                .map_err(|e| Failure::usage(format!("TOKEN `-`: cannot read stdin ({e})")))?;
            text
        }
        Some(t) => t.to_string(),
        None => request_token(&args.audience).await?,
    };
    let ctx = verifier.verify(&token).await?;
    cross_check(&ctx, &process_env)?;
    Ok(ctx)
}

/// Control characters in claims would reach the terminal raw: escape them.
fn clean(s: &str) -> String {
    if s.chars().any(char::is_control) {
        s.escape_debug().to_string()
    } else {
        s.to_string()
    }
}

fn print_context(ctx: &Context, format: Format) -> Result<(), Failure> {
    let failed = |e: &dyn std::fmt::Display| Failure::unreachable(format!("writing output: {e}"));
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(ctx).map_err(|e| failed(&e))?
        ),
        Format::Csv => {
            let mut w = csv::Writer::from_writer(std::io::stdout());
            w.write_record(["claim", "value"]).map_err(|e| failed(&e))?;
            for (k, v) in ctx.rows() {
                w.write_record([k, v]).map_err(|e| failed(&e))?;
            }
            w.flush().map_err(|e| failed(&e))?;
        }
        Format::Table => {
            let rows = ctx.rows();
            let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            println!(
                "OIDC token verified: issuer {}, audience {}",
                clean(&ctx.issuer),
                clean(&ctx.audience.join(", "))
            );
            for (k, v) in rows {
                println!("  {:width$}  {}", clean(&k), clean(&v));
            }
        }
    }
    Ok(())
}
