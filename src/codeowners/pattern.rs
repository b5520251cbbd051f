//! One CODEOWNERS pattern (gitignore rules with GitHub's differences) compiled to path
//! segments: a leading or middle `/` anchors to the root, otherwise the pattern matches
//! at any depth; a trailing `/` matches only a directory's whole tree; a pattern that
//! names a directory owns everything below it, except when its last segment is a bare
//! `*` (`docs/*` owns `docs/a.md`, not `docs/sub/b.md`). `*` and `?` stay within a
//! segment, `**` spans segments, `{ }` are literal, matching is case-sensitive.
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

/// Compiles `pattern` (already checked for `!`, `[ ]`, `\`).
pub(super) fn compile(pattern: &str) -> Result<Pattern, String> {
    let dir_only = pattern.ends_with('/');
    let trimmed = pattern.trim_end_matches('/');
    let anchored = trimmed.contains('/');
    let body = trimmed.trim_start_matches('/');
    if body.is_empty() {
        return Err(format!("`{pattern}` matches no file; line skipped"));
    }
    let mut segs = Vec::new();
    if !anchored {
        segs.push(Seg::Any);
    }
    for segment in body.split('/') {
        if segment.is_empty() {
            return Err(format!(
                "`{pattern}`: empty path segment `//`; line skipped"
            ));
        }
        let seg = if segment == "**" {
            Seg::Any
        } else if segment.contains(['*', '?']) {
            // gitignore: `**` inside a segment is an ordinary `*`.
            let mut s = String::with_capacity(segment.len());
            for c in segment.chars() {
                if !(c == '*' && s.ends_with('*')) {
                    s.push(c);
                }
            }
            Seg::Wild(s)
        } else {
            Seg::Literal(segment.to_string())
        };
        if seg == Seg::Any && segs.last() == Some(&Seg::Any) {
            continue;
        }
        segs.push(seg);
    }
    let last_is_star = body.rsplit('/').next() == Some("*");
    Ok(Pattern {
        segs,
        whole: !dir_only,
        below: dir_only || !last_is_star,
    })
}

impl Pattern {
    /// Whether the pattern owns the path whose segments are `comps`.
    pub fn matches(&self, comps: &[&str], dp: &mut Vec<bool>) -> bool {
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

/// `*` (any run of characters) and `?` (one character) within one segment.
pub(super) fn wild(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == b'?' {
            pi += 1;
            ti += char_len(t[ti]);
        } else if pi < p.len() && p[pi] == t[ti] {
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
        ] {
            assert_eq!(wild(p, t), want, "{p} {t}");
        }
    }
}
