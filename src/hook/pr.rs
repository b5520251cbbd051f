//! Approval on a pull request: an open PR into the pushed branch whose head is the
//! pushed sha, judged by the approval engine from its comments and reviews.
//!
//! How "after the last push" is bounded: the request's `posted_at` is the committer time
//! of the pushed commit, so `/approve` comments made before that commit existed do not
//! count, and reviews count only when made on exactly that sha (`commit_id`). The limit:
//! a committer time is whatever the committer's clock (or `GIT_COMMITTER_DATE`) said, so a
//! back-dated commit can let an older `/approve` on the same PR count. It still has to be
//! on the PR whose head is this very sha, from an eligible approver who is not the PR
//! author or the pusher. The timeout does not apply (the PR is the request and it stays
//! open); the rule's `ttl` does: an approval older than `ttl` no longer lets a push through.

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
    /// The pushed commit's committer time (see the module doc).
    pub committed_at: DateTime<Utc>,
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
        let events = to_events(&comments, &reviews);
        let facts = resolve_facts(gh, q, &events).await?;
        let request = Request {
            id: format!("pr-{}", pr.number),
            repository: q.repo.to_string(),
            sha: q.sha.to_string(),
            target: Target::Ref(format!("refs/heads/{}", q.branch)),
            requester: pr.author.login.clone(),
            actor: pusher.login.clone(),
            posted_at: q.committed_at,
            comment_id: None,
            paths: q.paths.to_vec(),
        };
        // The PR is the request and stays open: every event up to now may count.
        let mut rule = q.rule.clone();
        let open_for = (q.now - q.committed_at).to_std().unwrap_or_default();
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
                });
            }
            _ => {
                last = Some(PrVerdict::NotApproved {
                    pr,
                    outcome: Box::new(outcome),
                    lapsed_at: None,
                })
            }
        }
    }
    Ok(last.unwrap_or(PrVerdict::NoPr))
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
