//! `jitaa keygen`: write an Ed25519 OpenSSH key pair and its allowed_signers line.

use std::path::PathBuf;

use clap::Args;

use super::{Format, Global};
use crate::exit::{Code, Failure};

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write jitaa_ed25519, jitaa_ed25519.pub and allowed_signers.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// The principal (key comment) records are signed as.
    #[arg(long, default_value = crate::keys::DEFAULT_PRINCIPAL)]
    pub principal: String,
}

pub(super) fn run(global: &Global, args: &KeygenArgs) -> Result<Code, Failure> {
    let format = global.format("jitaa keygen", &[Format::Table, Format::Json])?;
    let g = crate::keys::generate(&args.out, &args.principal)?;
    if format == Format::Json {
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
