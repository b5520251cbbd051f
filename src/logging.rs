//! Logging through tracing to stderr. By default only jitaa's own warnings and notices
//! are shown, as plain lines (`jitaa: warning: …`, `jitaa: GitHub unreachable, retrying
//! (2/6)…`); the libraries underneath (octocrab, hyper, reqwest, tower) stay silent.
//! `-v` raises the level and lets library warnings through, with timestamps and
//! targets; `JITAA_LOG` (a tracing filter, e.g. `jitaa=debug,octocrab=trace`) overrides
//! both. Secrets are never logged; see `actions::mask` for Actions.
//! Colours only when stderr is a terminal and `NO_COLOR` is unset or empty
//! (<https://no-color.org>); clap's help and indicatif follow the same two rules.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::IsTerminal;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The target of lines for the person waiting (`tracing::warn!(target: NOTICE, …)`):
/// shown at the default level as `jitaa: <message>`, without a level word.
pub(crate) const NOTICE: &str = "jitaa::notice";

/// The filter for `-v` given `verbose` times when `JITAA_LOG` is unset.
pub(crate) fn default_filter(verbose: u8) -> &'static str {
    match verbose {
        0 => "jitaa=warn",
        1 => "jitaa=info,warn",
        2 => "jitaa=debug,info",
        _ => "trace",
    }
}

pub(crate) fn init(verbose: u8) {
    let from_env = std::env::var("JITAA_LOG")
        .ok()
        .filter(|f| !f.trim().is_empty());
    let mut bad_env = None;
    let filter = match from_env.as_deref().map(EnvFilter::try_new) {
        Some(Ok(f)) => Some(f),
        Some(Err(e)) => {
            bad_env = Some(e.to_string());
            None
        }
        None => None,
    };
    // Plain lines unless the user asked for more than the default.
    let plain = filter.is_none() && verbose == 0;
    let filter = filter.unwrap_or_else(|| EnvFilter::new(default_filter(verbose)));
    let ansi = colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR"),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = if plain {
        builder.event_format(Plain).try_init()
    } else {
        builder.with_target(true).try_init()
    };
    if let Some(e) = bad_env {
        tracing::warn!("JITAA_LOG is not a tracing filter ({e}); using the default");
    }
}

/// Whether to colour output: on a terminal, unless `NO_COLOR` is set to anything but "".
pub(crate) fn colour(terminal: bool, no_color: Option<OsString>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

/// The default format: `jitaa: warning: message key=value`, one line, no timestamp.
struct Plain;

/// The words before a plain line's message.
fn plain_prefix(level: Level, target: &str, ansi: bool) -> String {
    let (word, paint) = if target == NOTICE {
        ("", "")
    } else {
        match level {
            Level::ERROR => ("error: ", "\x1b[1;31m"),
            Level::WARN => ("warning: ", "\x1b[1;33m"),
            _ => ("", ""),
        }
    };
    let mut out = String::from("jitaa: ");
    if ansi && !word.is_empty() {
        let _ = write!(out, "{paint}{word}\x1b[0m");
    } else {
        out.push_str(word);
    }
    out
}

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        let prefix = plain_prefix(*meta.level(), meta.target(), writer.has_ansi_escapes());
        writer.write_str(&prefix)?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
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

    #[test]
    fn by_default_only_jitaa_speaks() {
        let f = default_filter(0);
        assert_eq!(f, "jitaa=warn", "no library target at the default level");
        // Libraries' warnings only from -v on.
        assert!(default_filter(1).ends_with(",warn"));
    }

    #[test]
    fn plain_lines_say_jitaa_and_the_level_word_and_colour_only_when_asked() {
        assert_eq!(
            plain_prefix(Level::WARN, "jitaa::base", false),
            "jitaa: warning: "
        );
        assert_eq!(
            plain_prefix(Level::ERROR, "jitaa::x", false),
            "jitaa: error: "
        );
        assert_eq!(plain_prefix(Level::WARN, NOTICE, false), "jitaa: ");
        assert_eq!(plain_prefix(Level::WARN, NOTICE, true), "jitaa: ");
        assert!(plain_prefix(Level::WARN, "jitaa::base", true).contains('\x1b'));
        assert!(!plain_prefix(Level::INFO, "jitaa::base", true).contains('\x1b'));
    }
}
