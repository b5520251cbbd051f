//! GitHub Actions I/O: step outputs (`GITHUB_OUTPUT`), the job summary
//! (`GITHUB_STEP_SUMMARY`), workflow commands (`::error::`, `::notice::`,
//! `::add-mask::`). Outside Actions these print nothing special.

use std::fs::OpenOptions;
use std::io::Write;

/// True when running as an Actions step.
pub(crate) fn in_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Asks the runner to hide `secret` in every later log line. Call before anything
/// could print it. Multi-line secrets are masked line by line, as the runner needs.
pub(crate) fn mask(secret: &str) {
    if !in_actions() {
        return;
    }
    let mut out = std::io::stdout().lock();
    for line in secret.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let _ = writeln!(out, "::add-mask::{}", escape_data(line));
    }
    let _ = out.flush();
}

/// An `::error::` annotation in Actions; a plain `error:` line elsewhere.
pub(crate) fn error(message: &str) {
    annotate("error", message);
}

/// A `::notice::` annotation in Actions; a plain line elsewhere.
pub(crate) fn notice(message: &str) {
    annotate("notice", message);
}

/// A `::warning::` annotation in Actions; a plain line elsewhere.
pub(crate) fn warning(message: &str) {
    annotate("warning", message);
}

fn annotate(level: &str, message: &str) {
    if in_actions() {
        println!("::{level}::{}", escape_data(message));
    } else {
        eprintln!("{level}: {message}");
    }
}

/// Escapes a workflow command's data as the runner expects (`%`, CR, LF).
pub(crate) fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Writes step outputs to `GITHUB_OUTPUT` (heredoc form, so values may hold newlines).
/// Does nothing when the variable is unset (outside Actions).
pub(crate) fn set_outputs(outputs: &[(&str, String)]) -> std::io::Result<()> {
    let Ok(path) = std::env::var("GITHUB_OUTPUT") else {
        return Ok(());
    };
    if path.is_empty() {
        return Ok(());
    }
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    for (name, value) in outputs {
        let delimiter = heredoc_delimiter(value);
        writeln!(f, "{name}<<{delimiter}\n{value}\n{delimiter}")?;
    }
    Ok(())
}

/// Appends Markdown to the job summary (`GITHUB_STEP_SUMMARY`), if set.
pub(crate) fn append_summary(markdown: &str) -> std::io::Result<()> {
    let Ok(path) = std::env::var("GITHUB_STEP_SUMMARY") else {
        return Ok(());
    };
    if path.is_empty() {
        return Ok(());
    }
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    writeln!(f, "{markdown}")
}

fn heredoc_delimiter(value: &str) -> String {
    let mut n = 0u32;
    loop {
        let d = format!("JITAA_EOF_{n}");
        if !value.lines().any(|l| l == d) {
            return d;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_data_is_escaped() {
        assert_eq!(escape_data("50%\r\nnext"), "50%25%0D%0Anext");
    }

    #[test]
    fn heredoc_delimiter_never_collides_with_the_value() {
        let d = heredoc_delimiter("a\nJITAA_EOF_0\nb");
        assert_eq!(d, "JITAA_EOF_1");
    }
}
