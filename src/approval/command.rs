//! The command grammar of approval comments.
//!
//! A command is one line of a comment body that starts (after leading whitespace) with a
//! command word; the word is case-insensitive and must be followed by whitespace or the end
//! of the line, so `/approved!` and `/approve!` are not commands. Recognised lines:
//!
//! | line | command |
//! |---|---|
//! | `/approve` | [`Command::Approve`] with no request id: every pending request on the thread |
//! | `/approve <request-id>` | [`Command::Approve`] for that request only |
//! | `/approve cancel` | [`Command::Cancel`]: withdraw this person's approval |
//! | `/deny` or `/deny <reason…>` | [`Command::Deny`], the rest of the line is the reason |
//! | `    /approve` (indented 4+ columns, or a tab) after a blank line or at the start | not a command: an indented code block |
//! | `lgtm` then `    /approve` on the next line | [`Command::Approve`]: a paragraph's continuation line, shown as text |
//! | `<!-- /approve -->`, or `/approve` on any line inside `<!--` … `-->` | not a command: an HTML comment (unclosed, it runs to the end) |
//! | `> /approve`, or `/approve` right under a quoted line (a lazy continuation of the quote) | not a command: a quote |
//! | `/approve` inside ```` ``` ```` or `~~~` fences | not a command: fenced code |
//!
//! Decided here: a request id is a ULID (26 characters of Crockford base32, any case), as
//! the gate issues them. `/approve` followed by anything else — another word (`/approve now
//! please`), or an id followed by more words — is **not** a command: a reader cannot tell
//! what was meant, so nothing is approved.
//!
//! **A command counts only where a reader sees it** (DESIGN.md, "Approval semantics"). The
//! body's block structure is read as CommonMark (GitHub's Markdown), with `pulldown-cmark`:
//! a command's word must be plain paragraph (or heading) text, outside block quotes (and
//! their lazy continuation lines), fenced and indented code blocks and HTML blocks. So an
//! indented code block is exactly CommonMark's: a line indented four or more columns (a tab
//! counts to the next multiple of four) that does not continue a paragraph, also inside a
//! list item; an unclosed fence runs to the end of the body, a fence closes only with a
//! fence of the same character at least as long and no text after it. On top of that, and
//! failing closed, every `<!--` outside code opens an HTML comment that hides everything up
//! to the next `-->` (or the end of the body), whether or not the Markdown reader took it
//! for raw HTML: a browser hides it. A `/approve` written right after `-->` on the same line
//! is not at the start of the line and does not count. Line endings may be LF or CRLF.
//! Parsing never fails and never panics: anything that is not a command is simply not one.

use std::ops::Range;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use serde::Serialize;

/// One command found in a comment body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub(crate) enum Command {
    /// `/approve` (request `None`: every pending request on the thread) or `/approve <id>`.
    Approve { request: Option<String> },
    /// `/approve cancel`: withdraws the author's standing approval or deny.
    Cancel,
    /// `/deny [reason]`.
    Deny { reason: Option<String> },
}

impl Command {
    /// The command as it would be written, for explanations (`/deny` without its reason).
    pub(crate) fn word(&self) -> String {
        match self {
            Command::Approve { request: None } => "/approve".into(),
            Command::Approve { request: Some(id) } => format!("/approve {id}"),
            Command::Cancel => "/approve cancel".into(),
            Command::Deny { .. } => "/deny".into(),
        }
    }
}

/// The commands of a comment body, in reading order.
pub(crate) fn parse(body: &str) -> Vec<Command> {
    parse_with_lines(body).into_iter().map(|(_, c)| c).collect()
}

/// The commands of a comment body with their 1-based line numbers, in reading order.
pub(crate) fn parse_with_lines(body: &str) -> Vec<(usize, Command)> {
    // Candidate lines first: most bodies have none, and those need no Markdown reading.
    let mut candidates: Vec<(usize, Range<usize>, Command)> = Vec::new();
    let mut offset = 0;
    // The same lines as `str::lines`: split at `\n`, a `\r` before it dropped.
    for (index, piece) in body.split_inclusive('\n').enumerate() {
        let line = piece.strip_suffix('\n').unwrap_or(piece);
        let lead = line.len() - line.trim_start().len();
        let text = line.trim();
        if let Some(command) = parse_line(text) {
            let start = offset + lead;
            let word = text.find(char::is_whitespace).unwrap_or(text.len());
            candidates.push((index + 1, start..start + word, command));
        }
        offset += piece.len();
    }
    if candidates.is_empty() {
        return Vec::new();
    }
    let seen = Visible::of(body);
    candidates
        .into_iter()
        .filter(|(_, word, _)| seen.shows(word))
        .map(|(line, _, command)| (line, command))
        .collect()
}

/// Where a reader sees plain text: the byte ranges of the body's paragraph and heading
/// text outside quotes, code and HTML, and the ranges that HTML comments hide.
struct Visible {
    /// Sorted, adjacent ranges merged.
    text: Vec<Range<usize>>,
    /// Sorted, non-overlapping.
    hidden: Vec<Range<usize>>,
}

impl Visible {
    fn of(body: &str) -> Visible {
        let mut text: Vec<Range<usize>> = Vec::new();
        let mut code: Vec<Range<usize>> = Vec::new();
        // Depth of quotes, code blocks and HTML blocks around the current event.
        let mut unseen = 0usize;
        for (event, range) in Parser::new_ext(body, Options::empty()).into_offset_iter() {
            match event {
                Event::Start(tag) => match tag {
                    Tag::CodeBlock(_) => {
                        code.push(range);
                        unseen += 1;
                    }
                    Tag::BlockQuote(_) | Tag::HtmlBlock => unseen += 1,
                    _ => {}
                },
                Event::End(TagEnd::BlockQuote(_) | TagEnd::CodeBlock | TagEnd::HtmlBlock) => {
                    unseen = unseen.saturating_sub(1);
                }
                Event::Text(_) if unseen == 0 => match text.last_mut() {
                    Some(last) if last.end == range.start => last.end = range.end,
                    _ => text.push(range),
                },
                Event::Code(_) => code.push(range),
                _ => {}
            }
        }
        text.sort_by_key(|r| r.start);
        code.sort_by_key(|r| r.start);
        Visible {
            text,
            hidden: html_comments(body, &code),
        }
    }

    /// Whether all of `word` is plain text that no HTML comment hides.
    fn shows(&self, word: &Range<usize>) -> bool {
        let at = self.text.partition_point(|r| r.end <= word.start);
        let in_text = self
            .text
            .get(at)
            .is_some_and(|r| r.start <= word.start && word.end <= r.end);
        let at = self.hidden.partition_point(|r| r.end <= word.start);
        let hidden = self.hidden.get(at).is_some_and(|r| r.start < word.end);
        in_text && !hidden
    }
}

/// The ranges hidden by HTML comments: from each `<!--` outside code to the end of the
/// next `-->` (searched from its third byte, so `<!-->` and `<!--->` close at once, as in
/// a browser), or to the end of the body.
fn html_comments(body: &str, code: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut hidden = Vec::new();
    let mut from = 0;
    while let Some(found) = body.get(from..).and_then(|rest| rest.find("<!--")) {
        let open = from + found;
        if code.iter().any(|r| r.start <= open && open < r.end) {
            from = open + 1;
            continue;
        }
        let end = body
            .get(open + 2..)
            .and_then(|rest| rest.find("-->"))
            .map_or(body.len(), |close| open + 2 + close + 3);
        hidden.push(open..end);
        from = end;
    }
    hidden
}

/// One trimmed line: a command, or `None`. Quoted lines never start with `/`.
fn parse_line(line: &str) -> Option<Command> {
    let rest = line.strip_prefix('/')?;
    let (word, args) = match rest.find(char::is_whitespace) {
        Some(at) => (&rest[..at], rest[at..].trim()),
        None => (rest, ""),
    };
    if word.eq_ignore_ascii_case("approve") {
        let mut parts = args.split_whitespace();
        match (parts.next(), parts.next()) {
            (None, _) => Some(Command::Approve { request: None }),
            (Some(arg), None) if arg.eq_ignore_ascii_case("cancel") => Some(Command::Cancel),
            (Some(arg), None) if is_request_id(arg) => Some(Command::Approve {
                request: Some(arg.to_ascii_uppercase()),
            }),
            _ => None,
        }
    } else if word.eq_ignore_ascii_case("deny") {
        let reason = (!args.is_empty()).then(|| args.to_string());
        Some(Command::Deny { reason })
    } else {
        None
    }
}

/// Whether a word has the shape of a request id: a ULID.
pub(crate) fn is_request_id(word: &str) -> bool {
    word.len() == 26 && ulid::Ulid::from_string(word).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "01JDXYZ0ABCDEFGHJKMNPQRSTV";

    fn approve() -> Command {
        Command::Approve { request: None }
    }

    #[test]
    fn table() {
        let with_id = format!("/approve {ID}");
        let with_lower = format!("/approve {}", ID.to_lowercase());
        let with_extra = format!("/approve {ID} please");
        let cases: Vec<(&str, Vec<Command>)> = vec![
            ("/approve", vec![approve()]),
            ("  /approve  ", vec![approve()]),
            ("/APPROVE", vec![approve()]),
            ("/Approve\r\n", vec![approve()]),
            ("lgtm\r\n/approve\r\nthanks", vec![approve()]),
            ("  \t/approve", vec![]), // a tab to column 4: an indented code block
            ("/approve cancel", vec![Command::Cancel]),
            ("/approve CANCEL", vec![Command::Cancel]),
            (
                &with_id,
                vec![Command::Approve {
                    request: Some(ID.into()),
                }],
            ),
            (
                &with_lower,
                vec![Command::Approve {
                    request: Some(ID.into()),
                }],
            ),
            ("/deny", vec![Command::Deny { reason: None }]),
            (
                "/DENY   breaks prod  \r\n",
                vec![Command::Deny {
                    reason: Some("breaks prod".into()),
                }],
            ),
            // Substrings and look-alikes are not commands.
            ("not /approve", vec![]),
            ("/approved!", vec![]),
            ("/approve!", vec![]),
            ("/approver", vec![]),
            ("/denying", vec![]),
            ("approve", vec![]),
            ("//approve", vec![]),
            ("/ approve", vec![]),
            // `/approve` with a word that is not a request id: not a command.
            ("/approve now please", vec![]),
            ("/approve please", vec![]),
            (&with_extra, vec![]),
            ("/approve cancel now", vec![]),
            ("/approve 01JDXYZ0ABCDEFGHJKMNPQRST", vec![]), // 25 characters
            ("/approve 01JDXYZ0ABCDEFGHJKMNPQRSTU", vec![]), // U is not Crockford base32
            // Quotes and fenced code are ignored.
            ("> /approve", vec![]),
            ("  > /approve", vec![]),
            (">/approve", vec![]),
            ("```\n/approve\n```", vec![]),
            (
                "~~~\n/approve\n~~~\n/deny",
                vec![Command::Deny { reason: None }],
            ),
            ("```sh\n/approve\n```\n/approve", vec![approve()]),
            ("````\n```\n/approve\n````", vec![]),
            ("```\n/approve\n~~~\n/approve", vec![]), // unclosed fence
            ("```\n/approve\n``` x\n/approve", vec![]), // a fence with text does not close
            // Indented code blocks: 4+ columns (a tab counts to the next multiple of 4)
            // that do not continue a paragraph.
            ("    /approve", vec![]),
            ("\t/approve", vec![]),
            ("   \t/approve", vec![]),
            ("lgtm\n\n    /approve", vec![]),
            ("lgtm\r\n\r\n    /approve\r\n", vec![]),
            ("# Ship it\n    /approve", vec![]), // after a heading
            ("lgtm\n---\n    /approve", vec![]), // after a setext heading
            ("***\n    /approve", vec![]),       // after a thematic break
            ("```\nx\n```\n    /approve", vec![]), // after a fence
            ("    x\n\n    /approve", vec![]),   // a blank line inside the code block
            ("- item\n\n      /approve", vec![]), // a list item's indented code
            ("   /approve", vec![approve()]),    // three columns: still text
            ("lgtm\n    /approve", vec![approve()]), // a paragraph's continuation line
            ("- item\n    /approve", vec![approve()]), // a list item's continuation
            ("    code\n/approve", vec![approve()]), // text after the code block
            // A fence indented four columns is code, not a fence; one indented four
            // columns does not close a fence.
            ("    ```\n/approve", vec![approve()]),
            ("```\n    ```\n/approve\n```", vec![]),
            ("text\n    ```\n<!--\n```\n/approve\n-->", vec![]),
            // Fences in list items.
            ("- ```\n  /approve\n  ```\n/approve", vec![approve()]),
            ("- ```\n  /approve", vec![]),
            // HTML comments, also spanning lines, also unclosed.
            ("<!-- /approve -->", vec![]),
            ("<!--\n/approve\n-->", vec![]),
            ("<!--\r\n/approve\r\n-->\r\n", vec![]),
            ("lgtm <!--\n/approve\n-->", vec![]),
            ("<!--\n/approve", vec![]),
            ("lgtm <!--\n/approve", vec![]), // unclosed inline: fail closed
            ("<!-- x -->\n/approve", vec![approve()]),
            ("<!-- x -->/approve", vec![]), // not at the start of the line
            ("<!-->\n/approve", vec![approve()]), // `<!-->` is an empty comment
            ("<!--->\n/approve", vec![approve()]),
            (
                "<!-- a --\n/approve\n-->\n/deny",
                vec![Command::Deny { reason: None }],
            ),
            ("`<!--`\n/approve", vec![approve()]), // in a code span: literal
            ("```\n<!--\n```\n/approve", vec![approve()]), // in a fence: literal
            ("    <!--\n\n/approve", vec![approve()]), // in indented code: literal
            // A quote's lazy continuation line is inside the quote.
            ("> lgtm\n/approve", vec![]),
            ("> lgtm\n\n/approve", vec![approve()]),
            // HTML blocks.
            ("<div>\n/approve\n</div>", vec![]),
            (
                "/approve\n/deny no\n/approve cancel",
                vec![
                    approve(),
                    Command::Deny {
                        reason: Some("no".into()),
                    },
                    Command::Cancel,
                ],
            ),
        ];
        for (body, want) in cases {
            assert_eq!(parse(body), want, "body {body:?}");
        }
    }

    #[test]
    fn line_numbers_are_one_based() {
        assert_eq!(parse_with_lines("hi\r\n\r\n/approve"), vec![(3, approve())]);
    }

    #[test]
    fn pipelines_as_code_crlf_fixture() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/github/webhooks/pipelines-as-code.issue_comment_ok-to-test.json");
        let text = std::fs::read_to_string(path).expect("fixture readable");
        let payload: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
        let body = payload["comment"]["body"].as_str().expect("comment.body");
        assert!(
            body.contains("\r\n"),
            "the fixture body has CRLF line endings"
        );
        // `/ok-to-test` is a command of another bot, not ours: nothing is found.
        assert_eq!(parse(body), vec![]);
        // The same body with our command on that line: found, CR and all.
        let ours = body.replace("/ok-to-test", "/approve");
        assert_eq!(parse_with_lines(&ours), vec![(3, approve())]);
        let deny = body.replace("/ok-to-test", "/deny flaky");
        assert_eq!(
            parse(&deny),
            vec![Command::Deny {
                reason: Some("flaky".into())
            }]
        );
    }
}
