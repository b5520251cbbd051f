//! Logging through tracing to stderr: `-v` raises the level, `JITAA_LOG` (a tracing
//! filter) overrides it. Secrets are never logged; see `actions::mask` for Actions.

use tracing_subscriber::EnvFilter;

pub fn init(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "jitaa=info,info",
        2 => "jitaa=debug,info",
        _ => "trace",
    };
    let filter = std::env::var("JITAA_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
