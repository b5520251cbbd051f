//! The request lifecycle shared by `jitaa gate` and `jitaa request`: find the thread (the
//! PR for the sha, else a request issue, reused on re-runs), post ONE request comment,
//! then wait — poll comments and reviews, resolve each author's facts once, feed the
//! approval engine, acknowledge commands (👀, then 👍/👎, one reply per refusal), print a
//! status line — until the engine decides, the deadline passes, or a signal arrives.
//!
//! Also owns the audit-branch side both flows need ([`record`]): signers from the
//! policy, appending and publishing records, and finding earlier approvals.

pub(crate) mod body;
pub(crate) mod flow;
pub(crate) mod record;
mod wait;

use chrono::{DateTime, Utc};

use crate::approval::{self, Target};
use crate::codeowners::PathOwners;
use crate::exit::Failure;
use crate::github::{Client, GitHub, RepoName};
use crate::policy::Rule;

pub(crate) use wait::{
    Ended, Signals, WaitOptions, comment_event, react, resolve_facts, review_event, status_line,
    wait,
};

/// The key of a record's `context` that names the request it belongs to.
pub(crate) const LINK: &str = "jitaa_request";

/// Where a request is discussed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Thread {
    /// The PR or issue number.
    pub number: u64,
    /// A pull request (reviews count) rather than a request issue.
    pub is_pr: bool,
    pub url: String,
}

/// Everything the request comment says and the engine needs.
#[derive(Debug, Clone)]
pub(crate) struct Ask {
    pub repo: RepoName,
    pub sha: String,
    /// `refs/heads/main`, when known.
    pub git_ref: Option<String>,
    pub target: Target,
    pub requester: crate::audit::Actor,
    /// Who triggered the run (GITHUB_ACTOR); the requester for `jitaa request`.
    pub actor: String,
    pub rule: Rule,
    pub paths: Vec<PathOwners>,
    /// `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID`.
    pub run_url: Option<String>,
    /// When `sha` is a PR's merge commit: the head commit that reviews are of.
    pub review_sha: Option<String>,
}

/// A posted request: the engine's view and where it lives.
#[derive(Debug, Clone)]
pub(crate) struct Posted {
    pub request: approval::Request,
    pub thread: Thread,
    pub comment_id: u64,
    pub comment_url: String,
    pub deadline: DateTime<Utc>,
}

/// Failures talking to GitHub are infrastructure failures (or config: exit 2).
pub(crate) fn gh_fail(what: &str) -> impl FnOnce(crate::github::GitHubError) -> Failure + '_ {
    move |e| {
        let code = e.code();
        Failure::new(code, format!("{what}: {e}"))
    }
}

/// The open PR whose head is `sha`, else the first open one, else none.
pub(crate) fn pick_pr<'a>(
    pulls: &'a [crate::github::PullRequest],
    sha: &str,
) -> Option<&'a crate::github::PullRequest> {
    let open = || {
        pulls
            .iter()
            .filter(|p| p.state.is_empty() || p.state == "open")
    };
    open()
        .find(|p| p.head_sha.eq_ignore_ascii_case(sha))
        .or_else(|| open().next())
}

/// The request issue for (sha, target): reused on re-runs through a marker in its body.
pub(crate) async fn open_issue(client: &Client, ask: &Ask) -> Result<Thread, Failure> {
    let marker = body::issue_marker(&ask.sha, &ask.target);
    let title = body::issue_title(ask);
    let text = body::issue_body(ask, &marker);
    let issue = client
        .find_or_open_issue(&ask.repo, &marker, &title, &text, &["jitaa"])
        .await
        .map_err(gh_fail("opening the request issue"))?;
    Ok(Thread {
        number: issue.number,
        is_pr: false,
        url: issue.html_url,
    })
}

/// Posts the one request comment and returns the request as the engine sees it: bound
/// to GitHub's `created_at` and id of that comment.
pub(crate) async fn post(
    client: &Client,
    ask: &Ask,
    thread: Thread,
    timeout: std::time::Duration,
) -> Result<Posted, Failure> {
    let id = ulid::Ulid::new().to_string();
    let text = body::request_comment(ask, &id, timeout, None);
    let comment = client
        .create_comment(&ask.repo, thread.number, &text)
        .await
        .map_err(gh_fail("posting the request comment"))?;
    let posted_at = comment.created_at;
    let deadline = posted_at
        + chrono::Duration::from_std(timeout).unwrap_or_else(|_| chrono::Duration::zero());
    let request = approval::Request {
        id,
        repository: ask.repo.to_string(),
        sha: ask.review_sha.clone().unwrap_or_else(|| ask.sha.clone()),
        target: ask.target.clone(),
        requester: ask.requester.login.clone(),
        actor: ask.actor.clone(),
        posted_at,
        comment_id: Some(comment.id),
        paths: ask.paths.clone(),
    };
    Ok(Posted {
        request,
        thread,
        comment_id: comment.id,
        comment_url: comment.html_url,
        deadline,
    })
}

/// Rewrites the request comment to show the outcome (best effort: a failure is logged,
/// the decision stands).
pub(crate) async fn show_outcome<G: GitHub>(client: &G, ask: &Ask, posted: &Posted, outcome: &str) {
    let timeout = (posted.deadline - posted.request.posted_at)
        .to_std()
        .unwrap_or_default();
    let text = body::request_comment(ask, &posted.request.id, timeout, Some(outcome));
    if let Err(e) = client
        .edit_comment(&ask.repo, posted.comment_id, &text)
        .await
    {
        tracing::warn!("could not update the request comment: {e}");
    }
}

/// Each changed path with its CODEOWNERS owners (none without a CODEOWNERS file).
pub(crate) fn owners_of(
    codeowners: Option<&crate::codeowners::CodeOwners>,
    paths: &[String],
) -> Vec<PathOwners> {
    paths
        .iter()
        .map(|p| match codeowners {
            Some(c) => c.owners_of(p),
            None => PathOwners {
                path: p.clone(),
                owners: Vec::new(),
                line: None,
            },
        })
        .collect()
}

/// The rules a push to `branch` is judged by, for `jitaa request` and for decide judging
/// one: those at the remote branch's tip (`tip`; `None` for a new branch), as the hook
/// reads them (`base::choose` with `Action::RemoteTip`).
pub(crate) fn rules_at_remote_tip(
    repo: &crate::repo::Repo,
    default: &crate::base::AtDefault,
    branch: &str,
    tip: Option<&str>,
) -> Result<(crate::base::Base, crate::base::Rules), Failure> {
    let base = crate::base::choose(
        &crate::base::Action::RemoteTip { branch, tip },
        &default.branch(),
        repo,
    )?;
    let files = crate::base::GitFiles::at_base(repo, &base)?;
    let rules = crate::base::rules(&files, None)?;
    Ok((base, rules))
}

/// The rule for a push of `paths` to `branch` by `actor`, as `jitaa request` asks and
/// decide judges it. Deleting a protected branch always needs an approval.
pub(crate) fn push_rule(
    policy: &crate::policy::Policy,
    branch: &str,
    paths: &[String],
    actor: &str,
    deletion: bool,
) -> Rule {
    let mut rule = policy
        .rule_for(&crate::policy::MatchInput {
            environment: None,
            branch: Some(branch),
            paths,
            event: Some("push"),
            actor: Some(actor),
        })
        .rule;
    if deletion {
        rule.approvals = rule.approvals.max(1);
    }
    rule
}
