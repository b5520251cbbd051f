//! One CODEOWNERS pattern (gitignore rules with GitHub's differences) compiled to path
//! segments: a leading or middle `/` anchors to the root, otherwise the pattern matches
//! at any depth; a trailing `/` matches only a directory's whole tree; a pattern that
//! names a directory owns everything below it, except when its last segment is a bare
//! `*` (`docs/*` owns `docs/a.md`, not `docs/sub/b.md`). `*` and `?` stay within a
//! segment, `**` spans segments, `{ }` are literal, matching is case-sensitive.
//! A backslash makes the next character literal (`\*`, `\?`, `\ `, `\[`, `\!`, `\\`; an
//! escaped `/` is still a separator, since no path segment can hold one).
//!
//! Matching is a small dynamic programme over (pattern segments × path segments), so
//! no pattern can make it exponential.

/// A pattern segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Seg {
    /// `**`: zero or more segments (one or more when last).
    Any,
    /// A segment with no wildcard.
    Literal(String),
    /// A segment with `*` or `?`.
    Wild(String),
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(super) struct Pattern {
    pub segs: Vec<Seg>,
    /// Matches the path itself (no trailing `/`).
    pub whole: bool,
    /// Matches everything below a directory it matches.
    pub below: bool,
}

/// One character of a pattern and whether a backslash made it literal.
type Unit = (char, bool);

/// The characters of `pattern` with their escapes resolved. A trailing lone backslash
/// (refused by the line parser before this) stays a literal backslash.
pub(super) fn units(pattern: &str) -> Vec<Unit> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(next) => out.push((next, true)),
                None => out.push(('\\', true)),
            }
        } else {
            out.push((c, false));
        }
    }
    out
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "a predicate over slices of units"
)]
fn is_sep(u: &Unit) -> bool {
    u.0 == '/'
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "a predicate over slices of units"
)]
fn is_wild(u: &Unit) -> bool {
    !u.1 && matches!(u.0, '*' | '?')
}

/// Compiles `pattern` (already checked for `!`, `[ ]`, a leading `\#` and a trailing `\`).
pub(super) fn compile(pattern: &str) -> Result<Pattern, String> {
    let all = units(pattern);
    let dir_only = all.last().is_some_and(is_sep);
    let mut end = all.len();
    while end > 0 && is_sep(&all[end - 1]) {
        end -= 1;
    }
    let trimmed = &all[..end];
    let anchored = trimmed.iter().any(is_sep);
    let start = trimmed.iter().take_while(|u| is_sep(u)).count();
    let body = &trimmed[start..];
    if body.is_empty() {
        return Err(format!("`{pattern}` matches no file; line skipped"));
    }
    let mut segs = Vec::new();
    if !anchored {
        segs.push(Seg::Any);
    }
    for segment in body.split(is_sep) {
        if segment.is_empty() {
            return Err(format!(
                "`{pattern}`: empty path segment `//`; line skipped"
            ));
        }
        let seg = if segment == [('*', false), ('*', false)] {
            Seg::Any
        } else if segment.iter().any(is_wild) {
            // gitignore: `**` inside a segment is an ordinary `*`. Escaped `*`, `?` and
            // `\` keep their backslash for [`wild`]; other escaped characters are plain.
            let mut s = String::with_capacity(segment.len());
            let mut last_star = false;
            for &(c, escaped) in segment {
                let star = c == '*' && !escaped;
                if !(star && last_star) {
                    if escaped && matches!(c, '*' | '?' | '\\') {
                        s.push('\\');
                    }
                    s.push(c);
                }
                last_star = star;
            }
            Seg::Wild(s)
        } else {
            Seg::Literal(segment.iter().map(|u| u.0).collect())
        };
        if seg == Seg::Any && segs.last() == Some(&Seg::Any) {
            continue;
        }
        segs.push(seg);
    }
    let last_is_star = body.rsplit(is_sep).next() == Some(&[('*', false)][..]);
    Ok(Pattern {
        segs,
        whole: !dir_only,
        below: dir_only || !last_is_star,
    })
}

impl Pattern {
    /// Whether the pattern owns the path whose segments are `comps`.
    pub(super) fn matches(&self, comps: &[&str], dp: &mut Vec<bool>) -> bool {
        let n = comps.len();
        let width = n + 1;
        dp.clear();
        dp.resize(width * (self.segs.len() + 1), false);
        dp[0] = true;
        for (i, seg) in self.segs.iter().enumerate() {
            let (row, next) = (i * width, (i + 1) * width);
            match seg {
                Seg::Any => {
                    let last = i + 1 == self.segs.len();
                    let mut seen = false;
                    for j in 0..=n {
                        if last {
                            // Trailing `**`: one or more segments.
                            dp[next + j] = seen;
                            seen |= dp[row + j];
                        } else {
                            seen |= dp[row + j];
                            dp[next + j] = seen;
                        }
                    }
                }
                Seg::Literal(l) => {
                    for j in 0..n {
                        dp[next + j + 1] = dp[row + j] && comps[j] == l;
                    }
                }
                Seg::Wild(w) => {
                    for j in 0..n {
                        dp[next + j + 1] = dp[row + j] && wild(w, comps[j]);
                    }
                }
            }
        }
        let done = self.segs.len() * width;
        (self.whole && dp[done + n]) || (self.below && (1..n).any(|k| dp[done + k]))
    }
}

/// `*` (any run of characters) and `?` (one character) within one segment; `\x` is a
/// literal `x` (a trailing lone `\` is a literal backslash).
pub(super) fn wild(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        let escaped = pi + 1 < p.len() && p[pi] == b'\\';
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == b'?' {
            pi += 1;
            ti += char_len(t[ti]);
        } else if escaped && p[pi + 1] == t[ti] {
            pi += 2;
            ti += 1;
        } else if !escaped && pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            // Let the last `*` take one more character and retry.
            let st = st + char_len(t[st]);
            star = Some((sp, st));
            pi = sp + 1;
            ti = st;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len() && ti == t.len()
}

/// Length of the UTF-8 character that starts with `b`.
fn char_len(b: u8) -> usize {
    match b {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_within_a_segment() {
        for (p, t, want) in [
            ("*.js", "a.js", true),
            ("*.js", ".js", true),
            ("*.js", "a.jsx", false),
            ("a?c", "abc", true),
            ("a?c", "aéc", true),
            ("a?c", "ac", false),
            ("*", "", true),
            ("*x*y", "axbxy", true),
            ("é*", "éa", true),
            ("f\\*o", "f*o", true),
            ("f\\*o", "foo", false),
            ("*\\?", "a?", true),
            ("*\\?", "ab", false),
            ("\\\\*", "\\x", true),
            ("a*\\*", "abc*", true),
            ("a*\\*", "abc", false),
        ] {
            assert_eq!(wild(p, t), want, "{p} {t}");
        }
    }
}
