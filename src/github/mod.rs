//! The GitHub REST seam: the [`GitHub`] trait the flows call, its octocrab-backed
//! [`Client`] (config from GITHUB_API_URL and the token sources, retries, rate limits,
//! path-based pagination), typed results, and the conditional [`Poller`].
//!
//! Owns: every HTTP call jitaa makes to GitHub. Errors map to exit 2 (configuration)
//! or 5 (unreachable), never 4, and never to an approval.

pub mod client;
pub mod config;
pub mod error;
#[cfg(test)]
pub(crate) mod fake;
pub mod ops;
pub mod poll;
pub mod types;

use std::future::Future;

use chrono::{DateTime, Utc};

pub use client::{Client, Mode, Page, RetryPolicy, Token, check_api_url, resolve_token};
pub use error::GitHubError;
pub use poll::{PageSource, PollConfig, Poller, Snapshot};
pub use types::*;

/// What the flows ask of GitHub. Implemented by [`Client`]; flows are generic over it.
pub trait GitHub: Send + Sync {
    /// The account the token belongs to.
    fn me(&self) -> impl Future<Output = Result<Actor, GitHubError>> + Send;
    /// PRs whose head is `sha` (`GET /repos/{o}/{r}/commits/{sha}/pulls`).
    fn pulls_for_commit(
        &self,
        repo: &RepoName,
        sha: &str,
    ) -> impl Future<Output = Result<Vec<PullRequest>, GitHubError>> + Send;
    fn pull_request(
        &self,
        repo: &RepoName,
        number: u64,
    ) -> impl Future<Output = Result<PullRequest, GitHubError>> + Send;
    /// Changed files; [`PrFiles::Truncated`] at GitHub's 3,000-file cap.
    fn pull_files(
        &self,
        repo: &RepoName,
        number: u64,
    ) -> impl Future<Output = Result<PrFiles, GitHubError>> + Send;
    /// All comments (every page), optionally only those updated at or after `since`.
    fn issue_comments(
        &self,
        repo: &RepoName,
        issue: u64,
        since: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<Vec<Comment>, GitHubError>> + Send;
    fn reviews(
        &self,
        repo: &RepoName,
        pr: u64,
    ) -> impl Future<Output = Result<Vec<Review>, GitHubError>> + Send;
    /// The latest changes of one branch, newest first, as GitHub recorded them with its
    /// own clock (`GET /repos/{o}/{r}/activity?ref=refs/heads/BRANCH`, one page of 100).
    fn branch_activity(
        &self,
        repo: &RepoName,
        branch: &str,
    ) -> impl Future<Output = Result<Vec<Activity>, GitHubError>> + Send;
    /// Posts a comment; never sent twice (an unclear answer is checked, not re-sent).
    fn create_comment(
        &self,
        repo: &RepoName,
        issue: u64,
        body: &str,
    ) -> impl Future<Output = Result<Comment, GitHubError>> + Send;
    fn edit_comment(
        &self,
        repo: &RepoName,
        comment_id: u64,
        body: &str,
    ) -> impl Future<Output = Result<Comment, GitHubError>> + Send;
    /// The open issue this token opened whose body contains `marker`, else a new one.
    fn find_or_open_issue(
        &self,
        repo: &RepoName,
        marker: &str,
        title: &str,
        body: &str,
        labels: &[&str],
    ) -> impl Future<Output = Result<Issue, GitHubError>> + Send;
    fn add_reaction(
        &self,
        repo: &RepoName,
        comment_id: u64,
        kind: ReactionKind,
    ) -> impl Future<Output = Result<(), GitHubError>> + Send;
    /// Creates (`existing` None) or updates a check run; a commit status when the token
    /// lacks checks:write (403).
    fn publish_check(
        &self,
        repo: &RepoName,
        spec: &CheckSpec,
        existing: Option<&CheckHandle>,
    ) -> impl Future<Output = Result<CheckHandle, GitHubError>> + Send;
    /// The check runs on `sha`, every one (`filter=all`: a re-run's newer run of the same
    /// name would hide the request's own otherwise; first 100).
    fn check_runs_for(
        &self,
        repo: &RepoName,
        sha: &str,
    ) -> impl Future<Output = Result<Vec<CheckRunInfo>, GitHubError>> + Send;
    /// Re-runs a workflow run (`POST /repos/{o}/{r}/actions/runs/{run_id}/rerun`; the
    /// token needs `actions: write`).
    fn rerun(
        &self,
        repo: &RepoName,
        run_id: u64,
    ) -> impl Future<Output = Result<(), GitHubError>> + Send;
    /// `permission` and `role_name`; an unknown user has permission `none`.
    fn permission(
        &self,
        repo: &RepoName,
        login: &str,
    ) -> impl Future<Output = Result<Permission, GitHubError>> + Send;
    /// Active member of `org/slug` (404 = not a member).
    fn team_member(
        &self,
        org: &str,
        slug: &str,
        login: &str,
    ) -> impl Future<Output = Result<bool, GitHubError>> + Send;
    /// A file's bytes at `git_ref` (contents API); None when absent.
    fn file_at(
        &self,
        repo: &RepoName,
        path: &str,
        git_ref: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, GitHubError>> + Send;
}
