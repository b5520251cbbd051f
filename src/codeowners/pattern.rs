//! Translating one CODEOWNERS pattern (gitignore rules with GitHub's differences) into
//! globs: a leading or middle `/` anchors to the root, otherwise the pattern matches
//! at any depth; a trailing `/` matches only a directory's whole tree; a pattern that
//! names a directory owns everything below it, except when its last segment is a bare
//! `*` (`docs/*` owns `docs/a.md`, not `docs/sub/b.md`). Case-sensitive.

use globset::{Glob, GlobBuilder};

/// The globs a path is matched against for `pattern` (already checked for `!`, `[ ]`, `\`).
pub(super) fn compile(pattern: &str) -> Result<Vec<Glob>, String> {
    let dir_only = pattern.ends_with('/');
    let trimmed = pattern.trim_end_matches('/');
    let anchored = trimmed.contains('/');
    let body = trimmed.trim_start_matches('/');
    if body.is_empty() {
        return Err(format!("`{pattern}` matches no file; line skipped"));
    }
    let mut glob = String::with_capacity(body.len() + 8);
    if !anchored && !body.starts_with("**/") {
        glob.push_str("**/");
    }
    for (i, segment) in body.split('/').enumerate() {
        if i > 0 {
            glob.push('/');
        }
        if segment.is_empty() {
            return Err(format!(
                "`{pattern}`: empty path segment `//`; line skipped"
            ));
        }
        if segment == "**" {
            glob.push_str("**");
            continue;
        }
        // gitignore: `**` inside a segment is an ordinary `*`; `{ }` are literal.
        let mut prev_star = false;
        for c in segment.chars() {
            match c {
                '*' if prev_star => continue,
                '*' => glob.push('*'),
                '{' => glob.push_str("[{]"),
                '}' => glob.push_str("[}]"),
                c => glob.push(c),
            }
            prev_star = c == '*';
        }
    }
    let last = body.rsplit('/').next().unwrap_or(body);
    let mut out = Vec::with_capacity(2);
    if !dir_only {
        out.push(build(&glob, pattern)?);
    }
    if last != "*" && !glob.ends_with("**") {
        out.push(build(&format!("{glob}/**"), pattern)?);
    } else if dir_only && glob.ends_with("**") {
        out.push(build(&glob, pattern)?);
    } else if dir_only {
        // `docs/*/`: directories directly in docs, and everything below them.
        out.push(build(&format!("{glob}/**"), pattern)?);
    }
    Ok(out)
}

fn build(glob: &str, pattern: &str) -> Result<Glob, String> {
    GlobBuilder::new(glob)
        .literal_separator(true)
        .backslash_escape(false)
        .case_insensitive(false)
        .build()
        .map_err(|e| format!("`{pattern}`: {}; line skipped", e.kind()))
}
