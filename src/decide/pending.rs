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
use crate::audit::{OidcVerifier, Record};
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
    pub record: &'r Record,
    /// The verified claims of the run that posted it.
    pub claims: crate::oidc::Context,
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
            let number = link.and_then(|l| l.get("thread")).and_then(|v| v.as_u64());
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
            let Some((record, claims)) = verified(records, id, tokens, say) else {
                continue;
            };
            let link = record.payload.context.get(LINK);
            let field = |k: &str| link.and_then(|l| l.get(k)).cloned();
            if field("waits").and_then(|v| v.as_bool()) != Some(false) {
                say.say(&format!(
                    "jitaa decide: request {id} belongs to a gate that waits for it itself"
                ));
                continue;
            }
            if field("thread").and_then(|v| v.as_u64()) != Some(number)
                || field("comment").and_then(|v| v.as_u64()) != Some(c.id)
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
                record,
                claims,
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

/// `https://github.com/o/r/issues/3` from a comment's `…/issues/3#issuecomment-9`.
fn thread_url(comment_url: &str) -> String {
    comment_url
        .split_once('#')
        .map_or(comment_url, |(t, _)| t)
        .to_string()
}
