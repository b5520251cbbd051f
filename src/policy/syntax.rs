//! YAML syntax errors worded for a person: the parser's own words ("mapping values are
//! not allowed in this context", "did not find expected key") say what the parser
//! expected, not what the writer did. Here the error's line and the lines above it are
//! read to name the usual causes (a tab, a line indented more than the key above it, an
//! unclosed `[` or quote, `@user` unquoted) at the line that has to change, with the
//! dotted path of the key there when one can be told from the indentation.

/// One worded problem: 1-based line and column (0 when unknown) and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Worded {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

use super::tree::{self, Node, S};

/// At most this many syntax errors are reported from one file.
const MAX_SYNTAX_ERRORS: usize = 10;

/// A YAML document parsed past its syntax errors: each error is worded, its line and the
/// lines nested under it are blanked (spaces, so every other position stays), and the
/// rest is parsed again, so that one run reports every broken line and the schema
/// problems of the rest.
pub(super) struct Recovered {
    /// The tree of the text with the broken lines blanked; `None` when it still fails.
    pub tree: Option<S<Node>>,
    /// The text the tree was parsed from (same length and lines as the file).
    pub text: String,
    pub errors: Vec<Worded>,
}

pub(super) fn parse_recovering(text: &str) -> Recovered {
    let mut now = text.to_string();
    let mut errors = Vec::new();
    loop {
        let e = match tree::parse(&now) {
            Ok(t) => {
                return Recovered {
                    tree: Some(t),
                    text: now,
                    errors,
                };
            }
            Err(e) => e,
        };
        let w = word(&now, &e);
        // Past a second document or a spent budget, what follows is no clearer; and
        // blanking an anchor (`&name`) would make every later `*name` an error too.
        let last = spent(&e) || matches!(inner(&e), serde_saphyr::Error::MultipleDocuments { .. });
        let line = w.line;
        errors.push(w);
        if last || errors.len() >= MAX_SYNTAX_ERRORS || !blank_block(&mut now, line) {
            return Recovered {
                tree: None,
                text: now,
                errors,
            };
        }
    }
}

/// Blanks 1-based `line` and the lines after it indented deeper (its block); whether
/// anything changed. A block that defines an anchor (`&`) is left alone.
fn blank_block(text: &mut String, line: usize) -> bool {
    let Some(first) = line.checked_sub(1) else {
        return false;
    };
    let width = |l: &str| l.len() - l.trim_start_matches([' ', '\t']).len();
    let mut bytes = std::mem::take(text).into_bytes();
    let mut changed = false;
    let mut start = 0;
    let mut base = None;
    let mut spans = Vec::new();
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let end = start + raw.len();
        let l = String::from_utf8_lossy(raw);
        let blank_it = match base {
            None if i == first => {
                base = Some(width(&l));
                true
            }
            None => false,
            Some(b) => {
                if content(&l) && width(&l) <= b {
                    break;
                }
                true
            }
        };
        if blank_it {
            spans.push((start, end));
        }
        start = end + 1;
    }
    if spans.iter().any(|&(a, b)| bytes[a..b].contains(&b'&')) {
        *text = String::from_utf8(bytes).unwrap_or_default();
        return false;
    }
    for (a, b) in spans {
        for byte in &mut bytes[a..b] {
            if *byte != b' ' && *byte != b'\r' {
                *byte = b' ';
                changed = true;
            }
        }
    }
    // Only ASCII bytes were written over whole lines: still UTF-8.
    *text = String::from_utf8(bytes).unwrap_or_default();
    changed
}

/// The error itself, out of its snippet and alias wrappers.
fn inner(e: &serde_saphyr::Error) -> &serde_saphyr::Error {
    let mut e = e;
    while let serde_saphyr::Error::WithSnippet { error, .. }
    | serde_saphyr::Error::AliasError { error, .. } = e
    {
        e = error;
    }
    e
}

/// Whether `e` is a spent limit (nesting, size, alias repetition): nothing after it
/// is read.
fn spent(e: &serde_saphyr::Error) -> bool {
    matches!(
        inner(e),
        serde_saphyr::Error::Budget { .. }
            | serde_saphyr::Error::AliasReplayLimitExceeded { .. }
            | serde_saphyr::Error::AliasExpansionLimitExceeded { .. }
            | serde_saphyr::Error::AliasReplayStackDepthExceeded { .. }
            | serde_saphyr::Error::AliasReplayCounterOverflow { .. }
    )
}

/// serde-saphyr's message without its source snippet or its own location suffix.
pub(super) fn parser_message(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let first = text
        .lines()
        .next()
        .unwrap_or("invalid YAML")
        .trim()
        .to_string();
    let first = match first.rfind(" at line ") {
        Some(i) => first[..i].to_string(),
        None => first,
    };
    first
        .trim_end_matches(", set DuplicateKeyPolicy in Options if acceptable")
        .to_string()
}

/// Words a YAML error of `text`.
pub(super) fn word(text: &str, e: &serde_saphyr::Error) -> Worded {
    let (line, column) = e
        .location()
        .map_or((0, 0), |l| (l.line() as usize, l.column() as usize));
    let raw = parser_message(e);
    let multiple = matches!(inner(e), serde_saphyr::Error::MultipleDocuments { .. });
    let depth = |line, column| Worded {
        line,
        column,
        message: format!(
            "lists and mappings nested more than {} deep; a policy needs at most 5 (`rules`, a rule, `match`, `paths`)",
            tree::MAX_DEPTH
        ),
    };
    if raw.contains("recursion limit exceeded") {
        return depth(line, column);
    }
    if spent(e) && !matches!(inner(e), serde_saphyr::Error::Budget { .. }) {
        return Worded {
            line,
            column,
            message: format!(
                "aliases (`*name`) repeat more YAML than a policy holds (over {} values); write the values out, or repeat less",
                tree::MAX_REPLAYED_EVENTS
            ),
        };
    }
    if let serde_saphyr::Error::Budget { breach, .. } = inner(e) {
        if let serde_saphyr::budget::BudgetBreach::Depth { .. } = breach {
            return depth(line, column);
        }
        return Worded {
            line,
            column,
            message: format!(
                "more YAML than a policy can be ({raw}); anchors and aliases that repeat a lot count too"
            ),
        };
    }
    word_parts(text, line, column, &raw, multiple)
}

fn word_parts(text: &str, line: usize, column: usize, raw: &str, multiple: bool) -> Worded {
    let lines: Vec<&str> = text.lines().collect();
    let at = |l: usize, c: usize, m: String| Worded {
        line: l,
        column: c,
        message: match path_at(&lines, l) {
            Some(p) => format!("{p}: {m}"),
            None => m,
        },
    };
    let get = |l: usize| l.checked_sub(1).and_then(|i| lines.get(i)).copied();

    // A tab where YAML wants spaces.
    let tab_line = if raw.contains("tab") {
        // The parser may stop where a plain value began and look ahead for its
        // continuation: the tab is on this line, the next lines with content, or above.
        let next_content = (line + 1..=lines.len())
            .find(|&l| get(l).is_some_and(content))
            .unwrap_or(line);
        (line.max(1)..=next_content)
            .chain((1..line.min(lines.len() + 1)).rev())
            .find(|&l| get(l).and_then(tab_in_indent).is_some())
    } else {
        get(line).and_then(tab_in_indent).map(|_| line)
    };
    if let Some(l) = tab_line
        && let Some(c) = get(l).and_then(tab_in_indent)
    {
        let m =
            "a tab in the indentation: YAML indents with spaces only; replace the tab with spaces";
        // The indentation is what is unclear, so the key alone names the line.
        let key = get(l).and_then(
            |t| match openers(t.trim_start_matches([' ', '\t'])).0.last() {
                Some(Opener::Key(_, k)) => Some(format!("{k}: {m}")),
                _ => None,
            },
        );
        return Worded {
            line: l,
            column: c,
            message: key.unwrap_or_else(|| m.to_string()),
        };
    }
    if multiple {
        return Worded {
            line,
            column,
            message: "a second YAML document starts here (`---`); a policy file holds one document"
                .into(),
        };
    }
    if raw.starts_with("unclosed quote") {
        let q = get(line)
            .and_then(|l| l.chars().nth(column.saturating_sub(1)))
            .filter(|c| *c == '"' || *c == '\'');
        let m = match q {
            Some(q) => format!("unclosed `{q}`: the string that starts here has no closing `{q}`"),
            None => "unclosed quote: a quoted string has no closing quote".to_string(),
        };
        return at(line, column, m);
    }
    // An unclosed `[` or `{`: the parser notices only where the next key begins.
    let opener = if raw.starts_with("unclosed bracket") {
        get(line)
            .and_then(|l| l.chars().nth(column.saturating_sub(1)))
            .filter(|c| *c == '[' || *c == '{')
            .map(|c| (line, column, c))
    } else {
        byte_offset(&lines, line, column)
            .and_then(|upto| unclosed_flow(text, upto))
            .filter(|(l, _, _)| {
                // Only when a new block line began while the flow was open.
                *l < line
                    && match (get(line), get(*l)) {
                        (Some(now), Some(open)) => indent(now) <= indent(open),
                        _ => false,
                    }
            })
    };
    if let Some((l, c, ch)) = opener {
        let (close, what, one) = if ch == '[' {
            (']', "list", "one `- item`")
        } else {
            ('}', "mapping", "one `key: value`")
        };
        return at(
            l,
            c,
            format!(
                "unclosed `{ch}`: the {what} opened here has no closing `{close}` (close it on this line, or write {one} per line)"
            ),
        );
    }
    if let Some(rest) = raw.strip_prefix("mismatched bracket '") {
        // "mismatched bracket '[' closed by '}'", at the opener.
        let mut quoted = rest.split('\'');
        let open = quoted.next().and_then(|o| o.chars().next());
        let close = quoted.nth(1).and_then(|c| c.chars().next());
        if let (Some(o), Some(c)) = (open, close) {
            let want = if o == '[' { ']' } else { '}' };
            return at(
                line,
                column,
                format!(
                    "unclosed `{o}`: what opens here is closed by `{c}`; add `{want}` before the `{c}`"
                ),
            );
        }
    }
    if raw.contains("mapping values are not allowed") {
        if let Some(w) = over_indented(&lines, line) {
            return w;
        }
        if get(line).is_some_and(|l| l.matches(": ").count() >= 2) {
            return at(
                line,
                column,
                "a second `: ` on this line; quote a value that contains `: ` (`key: \"a: b\"`)"
                    .into(),
            );
        }
    }
    if (raw.contains("did not find expected key")
        || raw.contains("did not find expected '-' indicator"))
        && let Some(w) = misaligned(&lines, line)
    {
        return w;
    }
    if let Some(rest) = raw.strip_prefix("unexpected character: `") {
        let ch = rest.chars().next().unwrap_or('?');
        if ch == '@' || ch == '`' {
            let example = if ch == '@' { "\"@alice\"" } else { "\"`x`\"" };
            return at(
                line,
                column,
                format!("`{ch}` cannot start a plain value; quote it (`{example}`)"),
            );
        }
    }
    if raw.contains("unknown anchor") {
        let alias: String = get(line)
            .map(|l| {
                l.chars()
                    .skip(column.saturating_sub(1))
                    .take_while(|c| !c.is_whitespace() && !",[]{}".contains(*c))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(name) = alias.strip_prefix('*').filter(|n| !n.is_empty()) {
            return at(
                line,
                column,
                format!(
                    "`{alias}` is read as a YAML alias, and no anchor `&{name}` is defined above; quote it if you meant the text (`\"{alias}\"`)"
                ),
            );
        }
    }
    at(line, column, format!("invalid YAML: {raw}"))
}

/// Leading spaces (tabs are not indentation in YAML).
fn indent(l: &str) -> usize {
    l.len() - l.trim_start_matches(' ').len()
}

/// Not blank and not a comment.
fn content(l: &str) -> bool {
    let t = l.trim();
    !t.is_empty() && !t.starts_with('#')
}

/// The 1-based column of the first tab in `l`'s leading whitespace.
fn tab_in_indent(l: &str) -> Option<usize> {
    let lead = l.len() - l.trim_start_matches([' ', '\t']).len();
    l[..lead].find('\t').map(|i| i + 1)
}

/// The byte offset in `text` of 1-based `line`, `column` (characters).
fn byte_offset(lines: &[&str], line: usize, column: usize) -> Option<usize> {
    let i = line.checked_sub(1)?;
    // `lines()` drops `\n` (and a `\r` before it): count the bytes as written.
    let mut off = 0;
    for l in lines.get(..i)? {
        off += l.len() + 1;
    }
    let l = lines.get(i)?;
    let within = l
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(l.len(), |(b, _)| b);
    Some(off + within)
}

/// Where a line opens nodes: `- ` item markers and a `key:`, by 0-based column.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Opener<'t> {
    Item(usize),
    Key(usize, &'t str),
}

impl Opener<'_> {
    fn col(&self) -> usize {
        match self {
            Opener::Item(c) | Opener::Key(c, _) => *c,
        }
    }
}

/// The openers of a line, left to right, and the value after its key's `: `.
fn openers(l: &str) -> (Vec<Opener<'_>>, Option<&str>) {
    let mut out = Vec::new();
    let mut col = indent(l);
    let mut rest = &l[col..];
    while rest == "-" || rest.starts_with("- ") {
        out.push(Opener::Item(col));
        let after = &rest[1..];
        let spaces = after.len() - after.trim_start_matches(' ').len();
        col += 1 + spaces;
        rest = &after[spaces..];
    }
    let mut value = None;
    let bytes = rest.as_bytes();
    let colon = (0..bytes.len())
        .find(|&i| bytes[i] == b':' && bytes.get(i + 1).is_none_or(|b| *b == b' ' || *b == b'\t'));
    if let Some(i) = colon {
        let key = rest[..i].trim_end();
        let word = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_alphanumeric() || "_-.".contains(c));
        if word {
            out.push(Opener::Key(col, key));
            value = Some(rest[i + 1..].trim());
        }
    }
    (out, value)
}

/// The dotted path of the key on 1-based `line` (`defaults.ttl`, `rules[1].match`), read
/// from the indentation of the lines above; `None` when the line has no key.
fn path_at(lines: &[&str], line: usize) -> Option<String> {
    let i = line.checked_sub(1)?;
    let l = lines.get(i)?;
    let (ops, _) = openers(l);
    let Some(Opener::Key(col, key)) = ops.last().cloned() else {
        return None;
    };
    Some(path_from(lines, i, col, key))
}

/// The path of `key` at 0-based `col` on 0-based line `i`.
fn path_from(lines: &[&str], i: usize, col: usize, key: &str) -> String {
    // Segments, innermost first: keys and list indexes.
    let mut segs: Vec<String> = vec![key.to_string()];
    let mut col = col;
    let mut j = i;
    let mut same_line = true;
    while col > 0 {
        let l = lines.get(j).copied().unwrap_or("");
        let (ops, _) = openers(l);
        let parent = if content(l) && (same_line || indent(l) < col) {
            ops.iter().rev().find(|o| o.col() < col).cloned()
        } else {
            None
        };
        match parent {
            Some(Opener::Key(c, k)) => {
                segs.push(k.to_string());
                col = c;
                // The same line may hold the item marker that encloses this key.
                same_line = true;
                continue;
            }
            Some(Opener::Item(m)) => {
                // Count the items of this list above this one, up to its parent.
                let mut index = 0;
                let mut k = j;
                while k > 0 {
                    k -= 1;
                    let above = lines[k];
                    if !content(above) {
                        continue;
                    }
                    if indent(above) < m {
                        break;
                    }
                    if indent(above) == m && openers(above).0.first() == Some(&Opener::Item(m)) {
                        index += 1;
                    }
                }
                segs.push(format!("[{index}]"));
                col = m;
                j = k;
                same_line = indent(lines.get(k).copied().unwrap_or("")) < m;
                if k == 0 && indent(lines.first().copied().unwrap_or("")) >= m {
                    break;
                }
                continue;
            }
            None => {}
        }
        if j == 0 {
            break;
        }
        j -= 1;
        same_line = false;
    }
    let mut out = String::new();
    for s in segs.iter().rev() {
        if s.starts_with('[') || out.is_empty() {
            out.push_str(s);
        } else {
            out.push('.');
            out.push_str(s);
        }
    }
    out
}

/// The nearest line above 0-based `i` with content.
fn above(lines: &[&str], i: usize) -> Option<usize> {
    (0..i)
        .rev()
        .find(|&j| lines.get(j).is_some_and(|l| content(l)))
}

/// A line indented under a key that already has a value (`approvals: 1` then
/// `    ttl: 15m`): YAML reads it as more of that value, then fails at its `:`.
fn over_indented(lines: &[&str], line: usize) -> Option<Worded> {
    let i = line.checked_sub(1)?;
    let l = lines.get(i)?;
    let p = above(lines, i)?;
    let (ops, value) = openers(lines[p]);
    let Some(Opener::Key(col, key)) = ops.last().cloned() else {
        return None;
    };
    let value = value?;
    let nested = value.is_empty()
        || value.starts_with('#')
        || value.starts_with('|')
        || value.starts_with('>')
        || value.starts_with('&');
    if nested || indent(l) <= col {
        return None;
    }
    let spaces = if col == 1 { "space" } else { "spaces" };
    let message = format!(
        "this line is indented more than the key above it (`{key}`, line {}), which already has a value; indent it {col} {spaces} like `{key}`, or move it under a key that ends with `:`",
        p + 1
    );
    // Its path is that of a sibling of the key above.
    let (mine, _) = openers(l);
    let message = match mine.last() {
        Some(Opener::Key(_, k)) => {
            let sibling = path_from(lines, p, col, key);
            let parent = sibling
                .strip_suffix(key)
                .map_or("", |s| s.trim_end_matches('.'));
            if parent.is_empty() {
                format!("{k}: {message}")
            } else {
                format!("{parent}.{k}: {message}")
            }
        }
        _ => message,
    };
    Some(Worded {
        line,
        column: indent(l) + 1,
        message,
    })
}

/// A line whose indentation lines up with no key above it, or a `key:` where a list
/// item must come.
fn misaligned(lines: &[&str], line: usize) -> Option<Worded> {
    let i = line.checked_sub(1)?;
    let l = lines.get(i)?;
    let me = indent(l);
    // The enclosing openers above, innermost first: (column, what, 1-based line).
    let mut stack: Vec<(usize, String, usize)> = Vec::new();
    let mut limit = usize::MAX;
    for j in (0..i).rev() {
        let above = lines[j];
        if !content(above) {
            continue;
        }
        let (ops, _) = openers(above);
        if ops.is_empty() && indent(above) < limit {
            // A scalar continuation or something unusual: stop reading.
            break;
        }
        for o in ops.iter().rev() {
            if o.col() < limit {
                let what = match o {
                    Opener::Item(_) => "the list item `-`".to_string(),
                    Opener::Key(_, k) => format!("`{k}`"),
                };
                stack.push((o.col(), what, j + 1));
                limit = o.col();
            }
        }
        if limit == 0 {
            break;
        }
    }
    let column = me + 1;
    if let Some((_, _, item_line)) = stack
        .iter()
        .find(|(c, w, _)| *c == me && w.starts_with("the list"))
    {
        let (mine, _) = openers(l);
        if !matches!(mine.first(), Some(Opener::Item(_))) {
            return Some(Worded {
                line,
                column,
                message: format!(
                    "expected a `- ` list item here, like line {item_line}: a list and a `key:` cannot share one indentation"
                ),
            });
        }
    }
    if stack.iter().any(|(c, _, _)| *c == me) || stack.is_empty() {
        return None;
    }
    let shown: Vec<String> = stack
        .iter()
        .take(3)
        .map(|(c, w, _)| format!("{w} at {c}"))
        .collect();
    let spaces = if me == 1 { "space" } else { "spaces" };
    let message = format!(
        "this line is indented {me} {spaces}, which lines up with no key above it ({}); line it up with the key it belongs beside",
        shown.join(", ")
    );
    let message = match openers(l).0.last() {
        Some(Opener::Key(_, k)) => format!("{k}: {message}"),
        _ => message,
    };
    Some(Worded {
        line,
        column,
        message,
    })
}

/// The outermost `[` or `{` still open at byte `upto` of `text`, as (line, column, char),
/// by a small scan that knows comments, quotes and block scalars.
fn unclosed_flow(text: &str, upto: usize) -> Option<(usize, usize, char)> {
    let mut stack: Vec<(usize, usize, char)> = Vec::new();
    let mut quote: Option<char> = None;
    let mut block: Option<usize> = None;
    let mut start = 0;
    for (li, raw_line) in text.split('\n').enumerate() {
        if start > upto {
            break;
        }
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        let line_start = start;
        start += raw_line.len() + 1;
        if let Some(b) = block {
            if line.trim().is_empty() || indent(line) > b {
                continue;
            }
            block = None;
        }
        let mut prev: Option<char> = None;
        let mut spaced = true;
        let mut skip = false;
        let mut chars = line.char_indices().enumerate().peekable();
        while let Some((ci, (bo, ch))) = chars.next() {
            if line_start + bo >= upto {
                return stack.first().copied();
            }
            if skip {
                skip = false;
                continue;
            }
            if let Some(q) = quote {
                if q == '"' && ch == '\\' {
                    skip = true;
                } else if ch == q {
                    if q == '\'' && chars.peek().is_some_and(|(_, (_, c))| *c == '\'') {
                        skip = true;
                    } else {
                        quote = None;
                        prev = Some(q);
                        spaced = false;
                    }
                }
                continue;
            }
            let flow = !stack.is_empty();
            let starts = match prev {
                None => true,
                Some(':' | '-' | '?') => spaced,
                Some(',' | '[' | '{') => flow,
                _ => false,
            };
            match ch {
                '#' if spaced => break,
                '\'' | '"' if starts => quote = Some(ch),
                '[' | '{' if starts => stack.push((li + 1, ci + 1, ch)),
                ']' | '}' if flow => {
                    let want = if ch == ']' { '[' } else { '{' };
                    if stack.last().is_some_and(|(_, _, c)| *c == want) {
                        stack.pop();
                    }
                }
                _ => {}
            }
            spaced = ch == ' ' || ch == '\t';
            if !spaced {
                prev = Some(ch);
            }
        }
        if stack.is_empty() && quote.is_none() {
            let (_, value) = openers(line);
            let v = value.unwrap_or_else(|| line.trim_start().trim_start_matches("- "));
            if v.starts_with('|') || v.starts_with('>') {
                block = Some(indent(line));
            }
        }
    }
    stack.first().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(t: &str) -> Vec<&str> {
        t.lines().collect()
    }

    #[test]
    fn paths_from_indentation() {
        let t = "version: 1\ndefaults:\n  approvals: 1\n  ttl: 15m\nrules:\n  - name: a\n    match:\n      paths: [x]\n  - name: b\n    approvals: 2\n";
        let l = lines(t);
        assert_eq!(path_at(&l, 1).as_deref(), Some("version"));
        assert_eq!(path_at(&l, 4).as_deref(), Some("defaults.ttl"));
        assert_eq!(path_at(&l, 6).as_deref(), Some("rules[0].name"));
        assert_eq!(path_at(&l, 8).as_deref(), Some("rules[0].match.paths"));
        assert_eq!(path_at(&l, 9).as_deref(), Some("rules[1].name"));
        assert_eq!(path_at(&l, 10).as_deref(), Some("rules[1].approvals"));
        assert_eq!(path_at(&l, 11), None);
        assert_eq!(path_at(&l, 0), None);
    }

    #[test]
    fn the_unclosed_flow_scan_knows_quotes_comments_and_plain_text() {
        let t = "a: [1, \"]\", '[' # ]\nb: 2\n";
        assert_eq!(unclosed_flow(t, t.len()), Some((1, 4, '[')));
        let t = "a: [1, 2]\nb: x[1 # [\nc: {d: [e]}\n";
        assert_eq!(unclosed_flow(t, t.len()), None);
        let t = "a: |\n  [ not yaml\nb: 1\n";
        assert_eq!(unclosed_flow(t, t.len()), None);
    }
}
