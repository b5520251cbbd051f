//! `jitaa oidc verify [TOKEN|-]`: verify a token (given, from stdin, or fetched in a
//! job), check it against the run's `GITHUB_*` variables, and print its context.

use std::io::Read;

use crate::cli::{Format, Global, OidcVerifyArgs};
use crate::exit::{Code, Failure};

use super::{Context, Verifier, cross_check, process_env, request_token};

/// Runs `jitaa oidc verify`. Exit 0 and the context when valid; 4 with the reason when
/// not; 2 for bad configuration; 5 when the issuer or runner is unreachable.
pub fn verify(global: &Global, args: &OidcVerifyArgs) -> anyhow::Result<Code> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::unreachable(format!("cannot start the async runtime: {e}")))?;
    let ctx = rt.block_on(run(args))?;
    print_context(&ctx, global.format)?;
    Ok(Code::Ok)
}

async fn run(args: &OidcVerifyArgs) -> Result<Context, Failure> {
    let verifier = Verifier::new(&args.issuer, &args.audience)?;
    let token = match args.token.as_deref() {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .take(super::MAX_TOKEN_LEN as u64 + 1)
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

fn print_context(ctx: &Context, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(ctx)?),
        Format::Csv => {
            let mut w = csv::Writer::from_writer(std::io::stdout());
            w.write_record(["claim", "value"])?;
            for (k, v) in ctx.rows() {
                w.write_record([k, v])?;
            }
            w.flush()?;
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
