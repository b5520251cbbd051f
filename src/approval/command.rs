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
//!
//! Decided here: a request id is a ULID (26 characters of Crockford base32, any case), as
//! the gate issues them. `/approve` followed by anything else — another word (`/approve now
//! please`), or an id followed by more words — is **not** a command: a reader cannot tell
//! what was meant, so nothing is approved. Lines quoted with `>` and lines inside fenced
//! code blocks (```` ``` ```` or `~~~`, closed by a fence of the same character at least as
//! long; an unclosed fence runs to the end of the body) are ignored, so quoting someone's
//! `/approve` never approves. Line endings may be LF or CRLF. Parsing never fails and never
//! panics: anything that is not a command is simply not one.

use serde::Serialize;

/// One command found in a comment body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// `/approve` (request `None`: every pending request on the thread) or `/approve <id>`.
    Approve { request: Option<String> },
    /// `/approve cancel`: withdraws the author's standing approval or deny.
    Cancel,
    /// `/deny [reason]`.
    Deny { reason: Option<String> },
}

impl Command {
    /// The command as it would be written, for explanations (`/deny` without its reason).
    pub fn word(&self) -> String {
        match self {
            Command::Approve { request: None } => "/approve".into(),
            Command::Approve { request: Some(id) } => format!("/approve {id}"),
            Command::Cancel => "/approve cancel".into(),
            Command::Deny { .. } => "/deny".into(),
        }
    }
}

/// The commands of a comment body, in reading order.
pub fn parse(body: &str) -> Vec<Command> {
    parse_with_lines(body).into_iter().map(|(_, c)| c).collect()
}

/// The commands of a comment body with their 1-based line numbers, in reading order.
pub fn parse_with_lines(body: &str) -> Vec<(usize, Command)> {
    let mut found = Vec::new();
    // The open fence: its character and length.
    let mut fence: Option<(char, usize)> = None;
    for (index, raw) in body.lines().enumerate() {
        let line = raw.trim();
        if let Some((ch, len)) = fence {
            if closes_fence(line, ch, len) {
                fence = None;
            }
            continue;
        }
        if let Some(open) = opens_fence(line) {
            fence = Some(open);
            continue;
        }
        if let Some(command) = parse_line(line) {
            found.push((index + 1, command));
        }
    }
    found
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
pub fn is_request_id(word: &str) -> bool {
    word.len() == 26 && ulid::Ulid::from_string(word).is_ok()
}

fn opens_fence(line: &str) -> Option<(char, usize)> {
    let ch = line.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = line.chars().take_while(|c| *c == ch).count();
    (len >= 3).then_some((ch, len))
}

fn closes_fence(line: &str, ch: char, len: usize) -> bool {
    let run = line.chars().take_while(|c| *c == ch).count();
    run >= len && line.chars().skip(run).all(char::is_whitespace)
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
            ("\t/approve", vec![approve()]),
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
