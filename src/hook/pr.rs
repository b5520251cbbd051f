//! Approval on a pull request: an open PR into the pushed branch whose head is the
//! pushed sha, judged by the approval engine from its comments and reviews.
//!
//! How "after the last push" is bounded: by when the PR's head became this sha **as GitHub
//! recorded it**, never by the commit's own dates (a committer sets those, and a back-dated
//! commit would otherwise revive an older `/approve`). The bound is the newest change of
//! the PR's head branch in its head repository (`GET /repos/{o}/{r}/activity?ref=…`,
//! GitHub's clock): when that change moved the branch to this sha, only comments made
//! after it count (GitHub's times are whole seconds: a comment in that same second counts,
//! as it does for the gate's request comment). When it cannot be established (a PR from a fork GitHub names no
//! repository for, an activity API that answers 403/404/422, or a newest change that is not
//! to this sha), no comment counts at all: only reviews made on exactly this sha
//! (`commit_id`), which exist only once the sha is on the PR. Reviews count only on that
//! sha in any case. The approver must be eligible and not the PR author or the pusher.
//! The timeout does not apply (the PR is the request and it stays open); the rule's `ttl`
//! does: an approval older than `ttl` no longer lets a push through.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::approval::{self, Author, Events, Facts, FactsByLogin, Outcome, Request, Target};
use crate::codeowners::{Owner, PathOwners};
use crate::github::{self, GitHub, GitHubError, PullRequest, RepoName};
use crate::policy::{Approvers, Rule};

/// What to check.
#[derive(Debug, Clone)]
pub struct PrQuery<'a> {
    pub repo: &'a RepoName,
    pub sha: &'a str,
    /// The branch pushed to (without `refs/heads/`).
    pub branch: &'a str,
    pub rule: &'a Rule,
    pub paths: &'a [PathOwners],
    pub now: DateTime<Utc>,
}

/// What the PR check found.
#[derive(Debug, Clone)]
pub enum PrVerdict {
    /// No open PR into the branch has this sha as its head.
    NoPr,
    /// Approved and still within `ttl`.
    Approved {
        pr: PullRequest,
        pusher: github::Actor,
        outcome: Box<Outcome>,
        valid_until: DateTime<Utc>,
    },
    /// Not (or no longer) approved: the engine's outcome says why.
    NotApproved {
        pr: PullRequest,
        outcome: Box<Outcome>,
        /// Set when it was approved but the approval is older than `ttl`.
        lapsed_at: Option<DateTime<Utc>>,
        /// Comments with commands that were not read because GitHub does not say when
        /// the head became this sha (see the module doc).
        unplaced_commands: usize,
    },
}

/// Looks for an approved PR; GitHub errors end the check (fail closed).
pub async fn check<G: GitHub>(gh: &G, q: &PrQuery<'_>) -> Result<PrVerdict, GitHubError> {
    let prs: Vec<PullRequest> = gh
        .pulls_for_commit(q.repo, q.sha)
        .await?
        .into_iter()
        .filter(|p| {
            p.head_sha.eq_ignore_ascii_case(q.sha)
                && p.state == "open"
                && p.base_ref
                    .strip_prefix("refs/heads/")
                    .unwrap_or(&p.base_ref)
                    == q.branch
        })
        .collect();
    if prs.is_empty() {
        return Ok(PrVerdict::NoPr);
    }
    let pusher = gh.me().await?;
    let mut last = None;
    for pr in prs {
        let comments = gh.issue_comments(q.repo, pr.number, None).await?;
        let reviews = gh.reviews(q.repo, pr.number).await?;
        let mut events = to_events(&comments, &reviews);
        // See the module doc: comments count only after GitHub saw the head become
        // this sha; without that time, none do.
        let mut unplaced_commands = 0;
        let posted_at = match head_since(gh, &pr, q.sha).await? {
            // The engine refuses (and explains) comments made before it.
            Some(since) => since,
            None => {
                unplaced_commands = events
                    .comments
                    .iter()
                    .filter(|c| !approval::command::parse(&c.body).is_empty())
                    .count();
                events.comments.clear();
                events
                    .reviews
                    .iter()
                    .filter(|r| r.commit_id.eq_ignore_ascii_case(q.sha))
                    .filter_map(|r| r.submitted_at)
                    .min()
                    .unwrap_or(q.now)
            }
        };
        let facts = resolve_facts(gh, q, &events).await?;
        let request = Request {
            id: format!("pr-{}", pr.number),
            repository: q.repo.to_string(),
            sha: q.sha.to_string(),
            target: Target::Ref(format!("refs/heads/{}", q.branch)),
            requester: pr.author.login.clone(),
            actor: pusher.login.clone(),
            posted_at,
            comment_id: None,
            paths: q.paths.to_vec(),
        };
        // The PR is the request and stays open: every event up to now may count.
        let mut rule = q.rule.clone();
        let open_for = (q.now - posted_at).to_std().unwrap_or_default();
        rule.timeout = open_for + std::time::Duration::from_secs(60);
        let outcome = approval::decide(&rule, &request, &events, &facts, q.now);
        match &outcome.decision {
            approval::Decision::Approved { valid_until, .. } if *valid_until > q.now => {
                let valid_until = *valid_until;
                return Ok(PrVerdict::Approved {
                    pr,
                    pusher,
                    outcome: Box::new(outcome),
                    valid_until,
                });
            }
            approval::Decision::Approved { valid_until, .. } => {
                let lapsed_at = Some(*valid_until);
                last = Some(PrVerdict::NotApproved {
                    pr,
                    outcome: Box::new(outcome),
                    lapsed_at,
                    unplaced_commands,
                });
            }
            _ => {
                last = Some(PrVerdict::NotApproved {
                    pr,
                    outcome: Box::new(outcome),
                    lapsed_at: None,
                    unplaced_commands,
                });
            }
        }
    }
    Ok(last.unwrap_or(PrVerdict::NoPr))
}

/// When the PR's head became `sha`, by GitHub's clock: the time of the newest change of
/// its head branch when every change at that time moved the branch to `sha`; `None` when
/// that cannot be established (see the module doc).
async fn head_since<G: GitHub>(
    gh: &G,
    pr: &PullRequest,
    sha: &str,
) -> Result<Option<DateTime<Utc>>, GitHubError> {
    let Some(repo) = pr
        .head_repo
        .as_deref()
        .and_then(|full| RepoName::parse(full, "the PR's head repository").ok())
    else {
        return Ok(None);
    };
    let branch = pr
        .head_ref
        .strip_prefix("refs/heads/")
        .unwrap_or(&pr.head_ref);
    let changes = match gh.branch_activity(&repo, branch).await {
        Ok(changes) => changes,
        Err(GitHubError::Status {
            status: 403 | 404 | 422,
            ..
        }) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(newest_change_to(&changes, sha))
}

/// The time of the newest change when all changes at that time are to `sha`.
fn newest_change_to(changes: &[github::Activity], sha: &str) -> Option<DateTime<Utc>> {
    let newest = changes.iter().filter_map(|c| c.timestamp).max()?;
    let mut at_newest = changes.iter().filter(|c| c.timestamp == Some(newest));
    at_newest
        .all(|c| c.after.eq_ignore_ascii_case(sha))
        .then_some(newest)
}

fn author(a: &github::Actor) -> Author {
    Author {
        login: a.login.clone(),
        id: a.id,
        is_bot: a.is_bot() || a.login.ends_with("[bot]"),
    }
}

/// The PR's comments and reviews in the engine's terms.
pub fn to_events(comments: &[github::Comment], reviews: &[github::Review]) -> Events {
    Events {
        comments: comments
            .iter()
            .map(|c| approval::Comment {
                id: c.id,
                author: author(&c.author),
                body: c.body.clone(),
                created_at: c.created_at,
                updated_at: c.updated_at,
                url: c.html_url.clone(),
            })
            .collect(),
        reviews: reviews
            .iter()
            .map(|r| approval::Review {
                id: r.id,
                author: author(&r.author),
                state: approval::ReviewState::from_api(&r.state),
                commit_id: r.commit_id.clone().unwrap_or_default(),
                submitted_at: r.submitted_at,
                url: r.html_url.clone(),
            })
            .collect(),
    }
}

/// Permission and relevant team memberships of everyone who may have given a command.
async fn resolve_facts<G: GitHub>(
    gh: &G,
    q: &PrQuery<'_>,
    events: &Events,
) -> Result<FactsByLogin, GitHubError> {
    // The engine's own choice: authors of comments with a command (the one grammar, in
    // `approval::command`) and of deciding reviews.
    let logins = approval::eligibility::logins_to_resolve(events);
    let mut teams: BTreeSet<(String, String)> = BTreeSet::new();
    let mut add = |o: &Owner| {
        if let Owner::Team { org, slug } = o {
            teams.insert((org.clone(), slug.clone()));
        }
    };
    if let Approvers::List(list) = &q.rule.approvers {
        list.iter().for_each(&mut add);
    }
    q.paths.iter().flat_map(|p| p.owners.iter()).for_each(add);
    let mut facts = FactsByLogin::new();
    for login in logins {
        let p = gh.permission(q.repo, &login).await?;
        let permission = p
            .role_name
            .as_deref()
            .and_then(|r| r.parse().ok())
            .or_else(|| p.permission.parse().ok());
        let mut member = Vec::new();
        for (org, slug) in &teams {
            if gh.team_member(org, slug, &login).await? {
                member.push((org.clone(), slug.clone()));
            }
        }
        facts.insert(
            &login,
            Facts {
                permission,
                teams: member,
            },
        );
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(after: &str, at: &str) -> github::Activity {
        github::Activity {
            id: 1,
            before: "0".repeat(40),
            after: after.into(),
            git_ref: "refs/heads/feature".into(),
            activity_type: "push".into(),
            timestamp: DateTime::parse_from_rfc3339(at)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
        }
    }

    #[test]
    fn the_bound_is_the_newest_change_and_only_when_it_is_to_this_sha() {
        let t1 = "2026-01-01T10:00:00Z";
        let t2 = "2026-01-01T11:00:00Z";
        let at = |t: &str| Some(DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc));
        assert_eq!(
            newest_change_to(&[change("a", t1), change("b", t2)], "b"),
            at(t2)
        );
        // Order in the answer does not matter, the times do.
        assert_eq!(
            newest_change_to(&[change("b", t2), change("a", t1)], "B"),
            at(t2)
        );
        // The newest change is to another sha (the head moved on, or came back by a
        // push the list does not show): no bound.
        assert_eq!(
            newest_change_to(&[change("b", t1), change("a", t2)], "b"),
            None
        );
        // Two changes in the same second, one elsewhere: no bound.
        assert_eq!(
            newest_change_to(&[change("a", t2), change("b", t2)], "b"),
            None
        );
        assert_eq!(newest_change_to(&[], "b"), None);
        // An unreadable time bounds nothing.
        assert_eq!(newest_change_to(&[change("b", "yesterday")], "b"), None);
    }
}
