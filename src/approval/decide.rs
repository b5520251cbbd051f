//! The decision: replay the thread's events in time order against the rule.
//!
//! Precisely:
//! 1. Comments and reviews are de-duplicated by id and sorted by (time, comments before
//!    reviews, id). A comment's effective command is its last command line addressed to
//!    this request (`/approve`, `/approve <this id>`, `/approve cancel`, `/deny`); a comment
//!    whose only commands name other request ids is refused as "for another request".
//!    A review counts by state: APPROVED grants, CHANGES_REQUESTED withdraws, others nothing.
//! 2. Each event is judged on its own: another request or commit, a bot, made before
//!    `posted_at` or at/after the deadline are refused for everyone. Approves and denies then
//!    need an eligible person (see [`eligibility`](super::eligibility)); an **edited**
//!    approve is refused, while an edited deny or withdrawal still stands (it can only keep
//!    a request from being approved: fail closed).
//! 3. Replay: an accepted approve sets the person's approval (latest wins), a withdrawal
//!    removes it, an accepted deny decides `Denied` at once. After each approve the quorum
//!    is checked: `Approved` when the distinct quorum approvers reach `approvals` and, with
//!    `codeowners: all`, every changed path is covered: by a standing approver who owns it;
//!    an **unowned** path falls back to the rule's approvers (it is covered once any quorum
//!    approver stands); a path owned only by emails is never covered. The first decision is
//!    final; later events are reported as "after the decision".
//! 4. No decision: `Expired` when `now >= posted_at + timeout`, else `Pending`.
//!
//! `approvals: 0` is approved at `posted_at` without any event (`auto`).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use super::command::{self, Command};
use super::eligibility::{self, Refusal, Standing, check_person};
use super::explain::{self, EventNote, Status};
use super::{
    Ack, AckVerdict, Approval, Author, Comment, Decision, Events, FactsByLogin, Outcome, Request,
    Review, ReviewState, Via,
};
use crate::codeowners::{Owner, PathOwners};
use crate::policy::{Approvers, Coverage, Rule};

/// What an event asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    Approve,
    Withdraw,
    Deny(Option<String>),
    /// Counts for nothing, with why (a COMMENTED review, say).
    Nothing(String),
}

/// One event on the timeline, judged.
struct Entry<'a> {
    at: DateTime<Utc>,
    via: Via,
    id: u64,
    author: &'a Author,
    url: &'a str,
    what: String,
    action: Action,
    verdict: Result<Standing, Refusal>,
}

fn add(base: DateTime<Utc>, d: std::time::Duration) -> DateTime<Utc> {
    // An out-of-range duration caps at the base time: expire or lapse at once (fail closed).
    Duration::from_std(d)
        .ok()
        .and_then(|d| base.checked_add_signed(d))
        .unwrap_or(base)
}

/// Decide a request from the events on its thread. Pure: `now` is the only clock.
pub(crate) fn decide(
    rule: &Rule,
    request: &Request,
    events: &Events,
    facts: &FactsByLogin,
    now: DateTime<Utc>,
) -> Outcome {
    let deadline = add(request.posted_at, rule.timeout);
    let mut ignored = 0usize;
    let mut entries: Vec<Entry> = Vec::new();

    for c in dedup_comments(&events.comments) {
        match comment_entry(rule, request, facts, deadline, c) {
            Some(e) => entries.push(e),
            None => ignored += 1,
        }
    }
    for r in dedup_reviews(&events.reviews) {
        match review_entry(rule, request, facts, deadline, r) {
            Some(e) => entries.push(e),
            None => ignored += 1,
        }
    }
    entries.sort_by(|a, b| {
        (a.at, a.via == Via::Review, a.id).cmp(&(b.at, b.via == Via::Review, b.id))
    });

    let mut decided: Option<Decision> = (rule.approvals == 0).then(|| Decision::Approved {
        auto: true,
        approvals: Vec::new(),
        approved_at: request.posted_at,
        valid_until: add(request.posted_at, rule.ttl),
    });
    // Standing approvals by lower-case login.
    let mut standing: BTreeMap<String, (Approval, Standing)> = BTreeMap::new();
    let mut notes: Vec<EventNote> = Vec::new();
    let mut acks: Vec<Ack> = Vec::new();

    for e in &entries {
        let key = e.author.login.to_ascii_lowercase();
        let status = match (&e.verdict, &e.action) {
            (Err(r), _) => Status::Refused {
                message: r.to_string(),
                reason: r.clone(),
            },
            (Ok(_), Action::Nothing(why)) => Status::NoEffect { why: why.clone() },
            (Ok(_), _) if decided.is_some() => Status::AfterDecision,
            (Ok(st), Action::Approve) => {
                let approval = Approval {
                    login: e.author.login.clone(),
                    id: e.author.id,
                    via: e.via,
                    url: e.url.to_string(),
                    at: e.at,
                };
                standing.insert(key, (approval, st.clone()));
                if quorum_met(rule, request, &standing) {
                    let mut approvals: Vec<Approval> =
                        standing.values().map(|(a, _)| a.clone()).collect();
                    approvals.sort_by(|a, b| (a.at, &a.login).cmp(&(b.at, &b.login)));
                    decided = Some(Decision::Approved {
                        auto: false,
                        approvals,
                        approved_at: e.at,
                        valid_until: add(e.at, rule.ttl),
                    });
                }
                Status::Counted
            }
            (Ok(_), Action::Withdraw) => match standing.remove(&key) {
                Some(_) => Status::Withdrew,
                None => Status::NothingToWithdraw,
            },
            (Ok(_), Action::Deny(reason)) => {
                decided = Some(Decision::Denied {
                    login: e.author.login.clone(),
                    id: e.author.id,
                    reason: reason.clone(),
                    url: e.url.to_string(),
                    at: e.at,
                });
                Status::Denied
            }
        };
        if e.via == Via::Comment {
            let verdict = match &e.verdict {
                Ok(_) => AckVerdict::Accepted,
                Err(r) => AckVerdict::Refused {
                    message: r.to_string(),
                    reason: r.clone(),
                },
            };
            acks.push(Ack {
                comment_id: e.id,
                login: e.author.login.clone(),
                url: e.url.to_string(),
                verdict,
            });
        }
        notes.push(EventNote {
            via: e.via,
            id: e.id,
            login: e.author.login.clone(),
            at: e.at,
            url: e.url.to_string(),
            what: e.what.clone(),
            status,
        });
    }

    let coverage = path_coverage(request, &standing);
    let decision = match decided {
        Some(d) => d,
        None if now >= deadline => Decision::Expired { deadline },
        None => pending(rule, request, &standing, &coverage, deadline),
    };
    let explanation = explain::build(
        rule, request, deadline, &decision, notes, ignored, &standing, &coverage,
    );
    Outcome {
        decision,
        explanation,
        acknowledgements: acks,
    }
}

/// One comment per id; of differing copies the latest edit wins (then the greatest content,
/// so the choice never depends on the order they came in).
fn dedup_comments(comments: &[Comment]) -> Vec<&Comment> {
    let mut by_id: BTreeMap<u64, &Comment> = BTreeMap::new();
    for c in comments {
        let keep = match by_id.get(&c.id) {
            Some(old) => {
                (c.updated_at, &c.body, c.created_at, &c.author, &c.url)
                    > (
                        old.updated_at,
                        &old.body,
                        old.created_at,
                        &old.author,
                        &old.url,
                    )
            }
            None => true,
        };
        if keep {
            by_id.insert(c.id, c);
        }
    }
    by_id.into_values().collect()
}

fn dedup_reviews(reviews: &[Review]) -> Vec<&Review> {
    let mut by_id: BTreeMap<u64, &Review> = BTreeMap::new();
    for r in reviews {
        let keep = match by_id.get(&r.id) {
            Some(old) => {
                let key = |r: &Review| {
                    (
                        r.submitted_at,
                        r.commit_id.clone(),
                        format!("{:?}", r.state),
                        r.author.clone(),
                        r.url.clone(),
                    )
                };
                key(r) > key(old)
            }
            None => true,
        };
        if keep {
            by_id.insert(r.id, r);
        }
    }
    by_id.into_values().collect()
}

/// Timing and identity checks every event passes, whatever it asks.
fn common_checks(
    request: &Request,
    deadline: DateTime<Utc>,
    author: &Author,
    at: DateTime<Utc>,
    before_by_id: bool,
) -> Result<(), Refusal> {
    if eligibility::is_bot(author) {
        return Err(Refusal::Bot {
            login: author.login.clone(),
        });
    }
    if at < request.posted_at || (at == request.posted_at && before_by_id) {
        return Err(Refusal::BeforeRequest {
            request: request.id.clone(),
            made: at,
            posted: request.posted_at,
        });
    }
    if at >= deadline {
        return Err(Refusal::AfterDeadline {
            request: request.id.clone(),
            made: at,
            deadline,
        });
    }
    Ok(())
}

fn judge(
    rule: &Rule,
    request: &Request,
    facts: &FactsByLogin,
    author: &Author,
    action: &Action,
    edited: Option<Refusal>,
) -> Result<Standing, Refusal> {
    match action {
        Action::Approve => {
            if let Some(r) = edited {
                return Err(r);
            }
            check_person(rule, request, author, facts)
        }
        Action::Deny(_) => check_person(rule, request, author, facts),
        Action::Withdraw | Action::Nothing(_) => Ok(Standing::default()),
    }
}

fn comment_entry<'a>(
    rule: &Rule,
    request: &Request,
    facts: &FactsByLogin,
    deadline: DateTime<Utc>,
    c: &'a Comment,
) -> Option<Entry<'a>> {
    let commands = command::parse(&c.body);
    let first = commands.first()?;
    let relevant = commands.iter().rev().find(|cmd| match cmd {
        Command::Approve { request: Some(id) } => id.eq_ignore_ascii_case(&request.id),
        _ => true,
    });
    let (what, action, verdict) = match relevant {
        None => {
            let addressed = match first {
                Command::Approve { request: Some(id) } => id.clone(),
                _ => String::new(),
            };
            let r = Refusal::OtherRequest {
                addressed,
                request: request.id.clone(),
            };
            (first.word(), Action::Nothing(String::new()), Err(r))
        }
        Some(cmd) => {
            let action = match cmd {
                Command::Approve { .. } => Action::Approve,
                Command::Cancel => Action::Withdraw,
                Command::Deny { reason } => Action::Deny(reason.clone()),
            };
            let before_by_id = request.comment_id.is_some_and(|rid| c.id <= rid);
            let edited = (c.updated_at > c.created_at).then_some(Refusal::Edited {
                created: c.created_at,
                updated: c.updated_at,
            });
            let verdict = common_checks(request, deadline, &c.author, c.created_at, before_by_id)
                .and_then(|()| judge(rule, request, facts, &c.author, &action, edited));
            (cmd.word(), action, verdict)
        }
    };
    Some(Entry {
        at: c.created_at,
        via: Via::Comment,
        id: c.id,
        author: &c.author,
        url: &c.url,
        what,
        action,
        verdict,
    })
}

fn review_entry<'a>(
    rule: &Rule,
    request: &Request,
    facts: &FactsByLogin,
    deadline: DateTime<Utc>,
    r: &'a Review,
) -> Option<Entry<'a>> {
    let at = r.submitted_at?;
    let (what, action) = match &r.state {
        ReviewState::Approved => ("review APPROVED".to_string(), Action::Approve),
        ReviewState::ChangesRequested => ("review CHANGES_REQUESTED".to_string(), Action::Withdraw),
        ReviewState::Pending => return None,
        other => {
            let name = match other {
                ReviewState::Commented => "COMMENTED".to_string(),
                ReviewState::Dismissed => "DISMISSED".to_string(),
                ReviewState::Other(s) => s.clone(),
                _ => String::new(),
            };
            (
                format!("review {name}"),
                Action::Nothing(format!("a {name} review neither approves nor withdraws")),
            )
        }
    };
    let verdict = if r.commit_id.eq_ignore_ascii_case(&request.sha) {
        common_checks(request, deadline, &r.author, at, false)
            .and_then(|()| judge(rule, request, facts, &r.author, &action, None))
    } else {
        Err(Refusal::OtherCommit {
            commit: r.commit_id.clone(),
            sha: request.sha.clone(),
        })
    };
    Some(Entry {
        at,
        via: Via::Review,
        id: r.id,
        author: &r.author,
        url: &r.url,
        what,
        action,
        verdict,
    })
}

/// Who covers each changed path: the standing approvers who own it, or for an unowned path
/// the standing quorum approvers (the rule's approvers). Logins in time order.
pub(crate) fn path_coverage(
    request: &Request,
    standing: &BTreeMap<String, (Approval, Standing)>,
) -> Vec<Vec<String>> {
    let mut approvers: Vec<&(Approval, Standing)> = standing.values().collect();
    approvers.sort_by(|a, b| (a.0.at, &a.0.login).cmp(&(b.0.at, &b.0.login)));
    request
        .paths
        .iter()
        .enumerate()
        .map(|(i, p)| {
            approvers
                .iter()
                .filter(|(_, st)| {
                    if p.owners.is_empty() {
                        st.quorum
                    } else {
                        st.owns.contains(&i)
                    }
                })
                .map(|(a, _)| a.login.clone())
                .collect()
        })
        .collect()
}

fn quorum_count(standing: &BTreeMap<String, (Approval, Standing)>) -> u32 {
    let n = standing.values().filter(|(_, st)| st.quorum).count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn quorum_met(
    rule: &Rule,
    request: &Request,
    standing: &BTreeMap<String, (Approval, Standing)>,
) -> bool {
    if quorum_count(standing) < rule.approvals {
        return false;
    }
    rule.codeowners == Coverage::Any
        || path_coverage(request, standing)
            .iter()
            .all(|c| !c.is_empty())
}

fn pending(
    rule: &Rule,
    request: &Request,
    standing: &BTreeMap<String, (Approval, Standing)>,
    coverage: &[Vec<String>],
    deadline: DateTime<Utc>,
) -> Decision {
    let missing = rule.approvals.saturating_sub(quorum_count(standing));
    let uncovered: Vec<&PathOwners> = match rule.codeowners {
        Coverage::All => request
            .paths
            .iter()
            .enumerate()
            .filter(|(i, _)| coverage.get(*i).is_none_or(std::vec::Vec::is_empty))
            .map(|(_, p)| p)
            .collect(),
        Coverage::Any => Vec::new(),
    };
    let mut candidates: Vec<&Owner> = uncovered.iter().flat_map(|p| &p.owners).collect();
    if missing > 0 {
        match &rule.approvers {
            Approvers::List(list) => candidates.extend(list.iter()),
            Approvers::Codeowners => {
                candidates.extend(request.paths.iter().flat_map(|p| &p.owners));
            }
        }
    }
    let mut suggest: Vec<String> = Vec::new();
    for o in candidates {
        let skip = match o {
            Owner::User(u) => {
                standing.contains_key(&u.to_ascii_lowercase())
                    || (!rule.self_approval
                        && (u.eq_ignore_ascii_case(&request.requester)
                            || u.eq_ignore_ascii_case(&request.actor)))
            }
            Owner::Email(_) => true,
            Owner::Team { .. } => false,
        };
        let text = o.to_string();
        if !skip && !suggest.contains(&text) && suggest.len() < 5 {
            suggest.push(text);
        }
    }
    Decision::Pending {
        missing,
        uncovered: uncovered.iter().map(|p| p.path.clone()).collect(),
        suggest,
        deadline,
    }
}
