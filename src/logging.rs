//! Logging through tracing to stderr: `-v` raises the level, `JITAA_LOG` (a tracing
//! filter) overrides it. Secrets are never logged; see `actions::mask` for Actions.
//! Colours only when stderr is a terminal and `NO_COLOR` is unset or empty
//! (<https://no-color.org>); clap's help and indicatif follow the same two rules.

use std::ffi::OsString;
use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub(crate) fn init(verbose: u8) {
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
    let ansi = colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR"),
    );
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}

/// Whether to colour output: on a terminal, unless `NO_COLOR` is set to anything but "".
pub(crate) fn colour(terminal: bool, no_color: Option<OsString>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_and_never_with_no_color() {
        assert!(colour(true, None));
        assert!(
            colour(true, Some(OsString::new())),
            "an empty NO_COLOR is unset"
        );
        assert!(!colour(true, Some("1".into())));
        assert!(!colour(false, None), "a pipe or a file gets no escapes");
        assert!(!colour(false, Some("1".into())));
    }
}
