//! Which pending requests an event concerns: the request comments of the comment's or
//! review's thread, or the check run's request, each with its request record on the
//! audit branch. A request counts as pending when no decision names it and its gate
//! does not wait for it itself (`--no-wait`).
//!
//! The request comment only says *that* there is a request; what it is about comes from
//! the request record's GitHub-signed token (`audit::approvals::Records::request_of`),
//! so neither an edited comment nor a forged record can change the sha, ref or run a
//! decision is for. Requests that cannot be verified are skipped with the reason: an
//! error while checking never approves.

use crate::audit::approvals::{Records, request_link};
use crate::audit::{Actor, OidcVerifier, Record};
use crate::exit::{Failure, full_message};
use crate::github::{self, GitHub, RepoName};
use crate::progress::Progress;
use crate::request::{LINK, Thread, body, gh_fail};

use super::event::Trigger;

/// A pending request, with what judging it needs.
pub(super) struct Pending<'r> {
    pub id: String,
    pub thread: Thread,
    /// The request's own comment (GitHub's `created_at` binds the request).
    pub comment: github::Comment,
    /// Every comment of the thread, for the engine.
    pub comments: Vec<github::Comment>,
    pub source: Source<'r>,
}

/// Who asked, and where the facts of the request come from.
pub(super) enum Source<'r> {
    /// A gate's request: its record, and the verified claims of the run that posted it.
    Run {
        record: &'r Record,
        claims: Box<crate::oidc::Context>,
    },
    /// A developer's `jitaa request` (a push not yet made, so no run and no token): what
    /// its unedited comment states, asked by the comment's author as GitHub says.
    Developer {
        ask: body::DeveloperAsk,
        author: Actor,
    },
}

/// The pending requests `trigger` concerns, oldest first.
pub(super) async fn find<'r, G: GitHub>(
    client: &G,
    repo: &RepoName,
    trigger: &Trigger,
    records: &'r Records<'_>,
    tokens: &dyn OidcVerifier,
    say: &dyn Progress,
) -> Result<Vec<Pending<'r>>, Failure> {
    // (thread, only this request id)
    let mut threads: Vec<(u64, bool, Option<String>)> = Vec::new();
    match trigger {
        Trigger::Comment { thread, is_pr, .. } => threads.push((*thread, *is_pr, None)),
        Trigger::Button { request_id, .. } => {
            let Some((record, _)) = verified(records, request_id, tokens, say) else {
                return Ok(Vec::new());
            };
            let link = record.payload.context.get(LINK);
            let number = link
                .and_then(|l| l.get("thread"))
                .and_then(serde_json::Value::as_u64);
            let is_pr = link
                .and_then(|l| l.get("is_pr"))
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false);
            match number {
                Some(n) => threads.push((n, is_pr, Some(request_id.clone()))),
                None => {
                    say.say(&format!(
                        "jitaa decide: request {request_id}: its record names no thread"
                    ));
                    return Ok(Vec::new());
                }
            }
        }
        Trigger::Review { pulls, head_sha } => {
            let mut numbers = pulls.clone();
            if numbers.is_empty() {
                // GitHub leaves `pull_requests` empty for runs of forks' PRs.
                numbers = client
                    .pulls_for_commit(repo, head_sha)
                    .await
                    .map_err(gh_fail("finding the pull request of the reviewed commit"))?
                    .into_iter()
                    .map(|p| p.number)
                    .collect();
            }
            threads.extend(numbers.into_iter().map(|n| (n, true, None)));
        }
    }
    let mut out = Vec::new();
    for (number, is_pr, only) in threads {
        let comments = client
            .issue_comments(repo, number, None)
            .await
            .map_err(gh_fail("reading the thread's comments"))?;
        for c in &comments {
            let Some(id) = body::request_id_of(&c.body) else {
                continue;
            };
            if only.as_deref().is_some_and(|o| o != id) {
                continue;
            }
            if let Some(d) = records.decision_of(id) {
                say.say(&format!(
                    "jitaa decide: request {id} was already decided (record {})",
                    d.payload.id
                ));
                continue;
            }
            let (record, claims) = match records.request_of(id, tokens) {
                Ok(Some(found)) => found,
                Ok(None) => {
                    if let Some(dev) = developer(c, is_pr, id, say) {
                        out.push(Pending {
                            id: id.to_string(),
                            thread: Thread {
                                number,
                                is_pr,
                                url: thread_url(&c.html_url),
                            },
                            comment: c.clone(),
                            comments: comments.clone(),
                            source: dev,
                        });
                    }
                    continue;
                }
                Err(e) => {
                    say.say(&format!(
                        "jitaa decide: request {id} is not judged: its request record does not verify: {}",
                        full_message(&e)
                    ));
                    continue;
                }
            };
            let link = record.payload.context.get(LINK);
            let field = |k: &str| link.and_then(|l| l.get(k));
            if field("waits").and_then(serde_json::Value::as_bool) != Some(false) {
                say.say(&format!(
                    "jitaa decide: request {id} belongs to a gate that waits for it itself"
                ));
                continue;
            }
            if field("thread").and_then(serde_json::Value::as_u64) != Some(number)
                || field("comment").and_then(serde_json::Value::as_u64) != Some(c.id)
            {
                say.say(&format!(
                    "jitaa decide: request {id}: its record names another thread or comment than {}; not judged",
                    c.html_url
                ));
                continue;
            }
            out.push(Pending {
                id: id.to_string(),
                thread: Thread {
                    number,
                    is_pr,
                    url: thread_url(&c.html_url),
                },
                comment: c.clone(),
                comments: comments.clone(),
                source: Source::Run {
                    record,
                    claims: Box::new(claims),
                },
            });
        }
    }
    Ok(out)
}

/// The request record of `id` with its verified claims, or `None` after saying why.
fn verified<'r>(
    records: &'r Records<'_>,
    id: &str,
    tokens: &dyn OidcVerifier,
    say: &dyn Progress,
) -> Option<(&'r Record, crate::oidc::Context)> {
    match records.request_of(id, tokens) {
        Ok(Some((r, c))) => {
            debug_assert_eq!(request_link(r), Some(id));
            Some((r, c))
        }
        Ok(None) => {
            say.say(&format!(
                "jitaa decide: request {id} has no request record on the audit branch (a waiting gate or `jitaa request` judges it)"
            ));
            None
        }
        Err(e) => {
            say.say(&format!(
                "jitaa decide: request {id} is not judged: its request record does not verify: {}",
                full_message(&e)
            ));
            None
        }
    }
}

/// A developer's request in comment `c`, when it is one that can be judged: on a
/// request issue, by a person, unedited since posted (its text is the request).
fn developer<'r>(
    c: &github::Comment,
    is_pr: bool,
    id: &str,
    say: &dyn Progress,
) -> Option<Source<'r>> {
    let ask = body::developer_ask_of(&c.body)?;
    let why = if is_pr {
        Some("it is on a pull request, where only gates ask")
    } else if c.author.is_bot() {
        Some("it was posted by a bot, not by the developer asking")
    } else if c.updated_at != c.created_at {
        Some("its comment was edited after it was posted")
    } else {
        None
    };
    if let Some(why) = why {
        say.say(&format!("jitaa decide: request {id} is not judged: {why}"));
        return None;
    }
    Some(Source::Developer {
        ask,
        author: Actor {
            login: c.author.login.clone(),
            id: c.author.id,
        },
    })
}

/// `https://github.com/o/r/issues/3` from a comment's `…/issues/3#issuecomment-9`.
fn thread_url(comment_url: &str) -> String {
    comment_url
        .split_once('#')
        .map_or(comment_url, |(t, _)| t)
        .to_string()
}
