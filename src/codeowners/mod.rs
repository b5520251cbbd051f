//! CODEOWNERS with GitHub's exact semantics: where the file is looked for, which
//! patterns GitHub supports, and which line decides a path's owners.
//!
//! Parsing never fails: like GitHub, a line it cannot use is skipped and reported in
//! [`CodeOwners::problems`] with its line and column. Patterns are compiled once and
//! indexed by their literal parts, so a path is only tried against the few lines that
//! could match it; a path's owners come from the LAST line that matches it.

mod pattern;

use std::fmt;

use std::collections::{HashMap, HashSet};

use pattern::{Pattern, Seg};

/// Where GitHub looks for CODEOWNERS, in order; the first one found wins.
pub const LOCATIONS: [&str; 3] = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"];

/// GitHub does not load CODEOWNERS files of 3 MB or more.
pub const MAX_BYTES: usize = 3 * 1024 * 1024 - 1;

/// One owner as written in CODEOWNERS or a policy's `approvers` list.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    /// `@login`
    User(String),
    /// `@org/team-slug`
    Team { org: String, slug: String },
    /// `someone@example.com`
    Email(String),
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::User(login) => write!(f, "@{login}"),
            Owner::Team { org, slug } => write!(f, "@{org}/{slug}"),
            Owner::Email(e) => f.write_str(e),
        }
    }
}

impl Owner {
    /// Parses `@login`, `@org/team` or an email address; `None` when it is none of them.
    pub fn parse(s: &str) -> Option<Owner> {
        if let Some(rest) = s.strip_prefix('@') {
            return match rest.split_once('/') {
                None => valid_login(rest).then(|| Owner::User(rest.to_string())),
                Some((org, slug)) => (valid_login(org) && valid_slug(slug)).then(|| Owner::Team {
                    org: org.to_string(),
                    slug: slug.to_string(),
                }),
            };
        }
        let (local, domain) = s.split_once('@')?;
        let ok = !local.is_empty()
            && !domain.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && s.chars()
                .all(|c| c.is_ascii_graphic() && c != ',' && c != '<' && c != '>');
        ok.then(|| Owner::Email(s.to_string()))
    }
}

/// GitHub logins: 1-39 ASCII letters, digits and single hyphens, not at either end.
fn valid_login(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 39
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Team slugs: ASCII letters, digits, `-`, `_` and `.`.
fn valid_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A path's owners and the CODEOWNERS line that decided them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathOwners {
    pub path: String,
    /// In file order; empty when unowned (no line matched, or the deciding line has no owners).
    pub owners: Vec<Owner>,
    /// 1-based line of the deciding CODEOWNERS line; `None` when no line matched.
    pub line: Option<usize>,
}

/// The distinct owners of `paths`, in first-seen order (linear: a CODEOWNERS line may
/// list hundreds of thousands of owners).
pub fn distinct_owners(paths: &[PathOwners]) -> Vec<&Owner> {
    let mut seen: HashSet<&Owner> = HashSet::new();
    paths
        .iter()
        .flat_map(|p| &p.owners)
        .filter(|o| seen.insert(o))
        .collect()
}

/// A line GitHub would skip, or a file GitHub would not load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based; 0 for problems with the whole file.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
}

/// One usable CODEOWNERS line.
#[derive(Debug, Clone)]
struct Entry {
    line: usize,
    pattern: String,
    owners: Vec<Owner>,
    compiled: Pattern,
}

/// Which entries could match a path, by the literal parts of their patterns. An index
/// only narrows the candidates; every candidate is then matched in full.
#[derive(Debug, Clone, Default)]
struct Index {
    /// Anchored patterns by their leading literal segments (`services/api`).
    prefix: HashMap<String, Vec<usize>>,
    /// Other patterns with a literal segment `name`: some path segment must equal it.
    segment: HashMap<String, Vec<usize>>,
    /// Other patterns with a `*.ext` segment, by the last extension: some path segment must end with it.
    extension: HashMap<String, Vec<usize>>,
    /// Everything else: tried on every path.
    always: Vec<usize>,
}

impl Index {
    fn add(&mut self, e: usize, p: &Pattern) {
        let literals: Vec<&str> = p
            .segs
            .iter()
            .map_while(|s| match s {
                Seg::Literal(l) => Some(l.as_str()),
                _ => None,
            })
            .collect();
        if !literals.is_empty() {
            self.prefix.entry(literals.join("/")).or_default().push(e);
            return;
        }
        // Any literal segment must equal some segment of a matching path (ancestor
        // matches use a prefix of the path's segments).
        if let Some(l) = p.segs.iter().find_map(|s| match s {
            Seg::Literal(l) => Some(l),
            _ => None,
        }) {
            self.segment.entry(l.clone()).or_default().push(e);
            return;
        }
        // `*.ext`: some segment of a matching path ends with `.ext`.
        if let Some(ext) = p.segs.iter().find_map(|s| match s {
            Seg::Wild(w) => w
                .strip_prefix('*')
                .filter(|rest| !rest.contains(['*', '?', '\\']))
                .and_then(|rest| rest.rsplit_once('.'))
                .map(|(_, ext)| ext)
                .filter(|ext| !ext.is_empty()),
            _ => None,
        }) {
            self.extension.entry(ext.to_string()).or_default().push(e);
            return;
        }
        self.always.push(e);
    }

    /// Candidate entries for a path, highest (latest) first.
    fn candidates(&self, path: &str, comps: &[&str], out: &mut Vec<usize>) {
        out.clear();
        out.extend_from_slice(&self.always);
        let mut end = 0;
        for (k, c) in comps.iter().enumerate() {
            end += c.len() + usize::from(k > 0);
            if let Some(v) = self.prefix.get(&path[..end]) {
                out.extend_from_slice(v);
            }
            if let Some(v) = self.segment.get(*c) {
                out.extend_from_slice(v);
            }
            if let Some((_, ext)) = c.rsplit_once('.')
                && let Some(v) = self.extension.get(ext)
            {
                out.extend_from_slice(v);
            }
        }
        out.sort_unstable_by(|a, b| b.cmp(a));
        out.dedup();
    }
}

/// A parsed CODEOWNERS file with its patterns compiled.
#[derive(Debug, Clone)]
pub struct CodeOwners {
    location: String,
    entries: Vec<Entry>,
    index: Index,
    problems: Vec<Problem>,
}

impl CodeOwners {
    /// Parses CODEOWNERS text; `location` names the file in problems (`.github/CODEOWNERS`).
    pub fn parse(location: &str, text: &str) -> CodeOwners {
        let mut entries = Vec::new();
        let mut problems = Vec::new();
        let mut index = Index::default();
        for (idx, raw) in text.lines().enumerate() {
            let line = idx + 1;
            match parse_line(raw) {
                Ok(None) => {}
                Ok(Some((pattern, owners))) => match pattern::compile(&pattern) {
                    Ok(compiled) => {
                        index.add(entries.len(), &compiled);
                        entries.push(Entry {
                            line,
                            pattern,
                            owners,
                            compiled,
                        });
                    }
                    Err(message) => problems.push(Problem {
                        line,
                        column: column_of(raw, 0),
                        message,
                    }),
                },
                Err((byte, message)) => problems.push(Problem {
                    line,
                    column: column_of(raw, byte),
                    message,
                }),
            }
        }
        CodeOwners {
            location: location.to_string(),
            entries,
            index,
            problems,
        }
    }

    /// A CODEOWNERS that GitHub would not load (too large): owns nothing, says why.
    pub fn not_loaded(location: &str, message: String) -> CodeOwners {
        CodeOwners {
            location: location.to_string(),
            entries: Vec::new(),
            index: Index::default(),
            problems: vec![Problem {
                line: 0,
                column: 0,
                message,
            }],
        }
    }

    /// The file this was read from.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Lines skipped (with line and column) or why the file was not loaded.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// Number of usable lines.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The pattern text of the usable line at `line`, if any.
    pub fn pattern_at(&self, line: usize) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.line == line)
            .map(|e| e.pattern.as_str())
    }

    /// The owners of a repository-relative path: the last matching line decides.
    pub fn owners_of(&self, path: &str) -> PathOwners {
        let mut scratch = Scratch::default();
        self.owners_with(path, &mut scratch)
    }

    /// [`Self::owners_of`] reusing buffers across many paths.
    pub fn owners_with(&self, path: &str, scratch: &mut Scratch) -> PathOwners {
        let trimmed = path.trim_start_matches('/').trim_end_matches('/');
        let collapsed;
        let clean = if trimmed.contains("//") {
            collapsed = trimmed
                .split('/')
                .filter(|c| !c.is_empty())
                .collect::<Vec<_>>()
                .join("/");
            collapsed.as_str()
        } else {
            trimmed
        };
        let comps: Vec<&str> = clean.split('/').collect();
        let decided = if clean.is_empty() {
            None
        } else {
            self.index
                .candidates(clean, &comps, &mut scratch.candidates);
            scratch.candidates.iter().copied().find(|&e| {
                self.entries
                    .get(e)
                    .is_some_and(|entry| entry.compiled.matches(&comps, &mut scratch.dp))
            })
        };
        match decided.and_then(|e| self.entries.get(e)) {
            Some(entry) => PathOwners {
                path: path.to_string(),
                owners: entry.owners.clone(),
                line: Some(entry.line),
            },
            None => PathOwners {
                path: path.to_string(),
                owners: Vec::new(),
                line: None,
            },
        }
    }
}

/// Reusable buffers for [`CodeOwners::owners_with`].
#[derive(Debug, Default)]
pub struct Scratch {
    candidates: Vec<usize>,
    dp: Vec<bool>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "{}:{}: {}", self.line, self.column, self.message)
        }
    }
}

/// 1-based character column of byte offset `byte` in `line`.
fn column_of(line: &str, byte: usize) -> usize {
    line.get(..byte).map_or(1, |s| s.chars().count() + 1)
}

type Parsed = Option<(String, Vec<Owner>)>;

/// One line: `None` for blank and comment lines; `Err((byte offset, message))` for a
/// line GitHub skips. The pattern ends at the first whitespace that no backslash escapes
/// (`space/test\ space/ @owner`); the owners follow, separated by whitespace.
fn parse_line(raw: &str) -> Result<Parsed, (usize, String)> {
    let start = raw.len() - raw.trim_start().len();
    let rest = &raw[start..];
    if rest.is_empty() || rest.starts_with('#') {
        return Ok(None);
    }
    let end = pattern_end(rest);
    let pattern = &rest[..end];
    if pattern.starts_with('!') {
        return Err((
            start,
            format!("`{pattern}`: negation with `!` is not supported by GitHub; line skipped"),
        ));
    }
    if pattern.starts_with("\\#") {
        return Err((
            start,
            format!(
                "`{pattern}`: GitHub ignores escapes of a leading `#` (`\\#` is not a literal `#`); line skipped"
            ),
        ));
    }
    let mut escaped = false;
    for (i, c) in pattern.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
            if i + 1 == pattern.len() {
                return Err((
                    start + i,
                    format!(
                        "`{pattern}`: a trailing `\\` escapes nothing (git never matches such a pattern); line skipped"
                    ),
                ));
            }
        } else if c == '[' || c == ']' {
            return Err((
                start + i,
                format!(
                    "`{pattern}`: character ranges `[ ]` are not supported by GitHub (write `\\[` for a literal bracket); line skipped"
                ),
            ));
        }
    }
    let mut owners = Vec::new();
    for (at, tok) in tokens(&rest[end..]) {
        let at = start + end + at;
        if tok.starts_with('#') {
            break; // inline comment
        }
        match Owner::parse(tok) {
            Some(o) => owners.push(o),
            None => {
                return Err((
                    at,
                    format!(
                        "`{tok}` is not an owner (@user, @org/team or an email address); line skipped"
                    ),
                ));
            }
        }
    }
    Ok(Some((pattern.to_string(), owners)))
}

/// The byte length of the pattern at the start of `text`: up to the first whitespace
/// that no backslash escapes.
fn pattern_end(text: &str) -> usize {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c.is_whitespace() {
            return i;
        }
    }
    text.len()
}

/// Whitespace-separated tokens with their byte offsets.
fn tokens(line: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut rest = line;
    let mut offset = 0;
    std::iter::from_fn(move || {
        let trimmed = rest.trim_start();
        offset += rest.len() - trimmed.len();
        if trimmed.is_empty() {
            return None;
        }
        let end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
        let tok = &trimmed[..end];
        let at = offset;
        offset += end;
        rest = &trimmed[end..];
        Some((at, tok))
    })
}

#[cfg(test)]
mod tests;
