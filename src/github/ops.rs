//! The [`GitHub`] operations over the octocrab [`Client`]: one method per REST call the
//! flows make, with GitHub's quirks handled here (the 3,000-file cap, 404 = not a team
//! member, the check-run → commit-status fallback, re-finding a request issue).

use chrono::{DateTime, Utc};
use http::Method;
use serde_json::{Value, json};

use super::GitHub;
use super::client::{Client, Mode};
use super::error::GitHubError;
use super::types::{
    Activity, Actor, CheckHandle, CheckRunAck, CheckRunInfo, CheckRunList, CheckSpec, Comment,
    ContentFile, Issue, Membership, Permission, PrFile, PrFiles, PullRequest, ReactionAck,
    ReactionKind, RepoName, Review, StatusAck, parse,
};

/// GitHub's cap on the files a PR's file listing returns.
pub const MAX_PR_FILES: usize = 3000;

/// Percent-encodes a path or a query value (keeps `/` when `keep_slash`).
pub fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        let c = b as char;
        if c.is_ascii_alphanumeric() || "-._~".contains(c) || (keep_slash && c == '/') {
            out.push(c);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn seg(s: &str) -> String {
    encode(s, false)
}

pub(crate) fn repo_path(repo: &RepoName) -> String {
    format!("/repos/{}/{}", seg(&repo.owner), seg(&repo.name))
}

/// RFC 3339 with a `Z`, as GitHub's `since` takes it.
pub fn since_param(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub(crate) fn comments_path(repo: &RepoName, issue: u64, since: Option<DateTime<Utc>>) -> String {
    let mut p = format!("{}/issues/{issue}/comments?per_page=100", repo_path(repo));
    if let Some(t) = since {
        p.push_str(&format!("&since={}", encode(&since_param(t), false)));
    }
    p
}

pub(crate) fn reviews_path(repo: &RepoName, pr: u64) -> String {
    format!("{}/pulls/{pr}/reviews?per_page=100", repo_path(repo))
}

fn status_state(conclusion: Option<&str>) -> &'static str {
    match conclusion {
        None => "pending",
        Some("success" | "neutral" | "skipped") => "success",
        Some(_) => "failure",
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

impl Client {
    async fn send_json<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        mode: Mode,
    ) -> Result<T, GitHubError> {
        let what = format!("{method} {path}");
        let r = self.request(method, path, Some(body), None, mode).await?;
        parse(&what, &r.body)
    }

    /// After an unclear answer to a comment POST: did it land? Looks for our comment
    /// with this exact body (reads are safe to retry; the POST is never re-sent).
    async fn find_own_comment(
        &self,
        repo: &RepoName,
        issue: u64,
        body: &str,
        sent_at: DateTime<Utc>,
    ) -> Result<Option<Comment>, GitHubError> {
        let me = self.me_if_allowed().await?;
        let since = sent_at - chrono::Duration::minutes(5);
        let (list, _) = self
            .get_all::<Comment>(&comments_path(repo, issue, Some(since)), 10_000)
            .await?;
        Ok(list
            .into_iter()
            .rev()
            .find(|c| is_mine(&c.author, me.as_ref()) && c.body == body))
    }

    /// `GET /user`, or None for tokens that may not ask (Actions' GITHUB_TOKEN and
    /// other app installation tokens get 403 there).
    async fn me_if_allowed(&self) -> Result<Option<Actor>, GitHubError> {
        match Client::me(self).await {
            Ok(a) => Ok(Some(a)),
            Err(e) if e.status() == Some(403) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Written by this token: its account when known, else (an app token) a bot.
fn is_mine(author: &Actor, me: Option<&Actor>) -> bool {
    match me {
        Some(m) => m.id == author.id,
        None => author.is_bot(),
    }
}

impl GitHub for Client {
    async fn me(&self) -> Result<Actor, GitHubError> {
        Client::me(self).await
    }

    async fn pulls_for_commit(
        &self,
        repo: &RepoName,
        sha: &str,
    ) -> Result<Vec<PullRequest>, GitHubError> {
        let p = format!(
            "{}/commits/{}/pulls?per_page=100",
            repo_path(repo),
            seg(sha)
        );
        Ok(self.get_all(&p, 1000).await?.0)
    }

    async fn pull_request(&self, repo: &RepoName, number: u64) -> Result<PullRequest, GitHubError> {
        self.get_json(&format!("{}/pulls/{number}", repo_path(repo)))
            .await
    }

    async fn pull_files(&self, repo: &RepoName, number: u64) -> Result<PrFiles, GitHubError> {
        let p = format!("{}/pulls/{number}/files?per_page=100", repo_path(repo));
        let (files, _) = self.get_all::<PrFile>(&p, MAX_PR_FILES).await?;
        Ok(if files.len() >= MAX_PR_FILES {
            PrFiles::Truncated(files)
        } else {
            PrFiles::Complete(files)
        })
    }

    async fn issue_comments(
        &self,
        repo: &RepoName,
        issue: u64,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<Comment>, GitHubError> {
        Ok(self
            .get_all(&comments_path(repo, issue, since), usize::MAX)
            .await?
            .0)
    }

    async fn reviews(&self, repo: &RepoName, pr: u64) -> Result<Vec<Review>, GitHubError> {
        Ok(self.get_all(&reviews_path(repo, pr), usize::MAX).await?.0)
    }

    async fn branch_activity(
        &self,
        repo: &RepoName,
        branch: &str,
    ) -> Result<Vec<Activity>, GitHubError> {
        // Newest first (GitHub's default direction); one page is enough: the caller
        // needs only the latest change. A path, never a `Link` URL (see CRATES.md).
        let p = format!(
            "{}/activity?ref={}&direction=desc&per_page=100",
            repo_path(repo),
            seg(&format!("refs/heads/{branch}"))
        );
        self.get_json(&p).await
    }

    async fn create_comment(
        &self,
        repo: &RepoName,
        issue: u64,
        body: &str,
    ) -> Result<Comment, GitHubError> {
        let path = format!("{}/issues/{issue}/comments", repo_path(repo));
        let sent_at = Utc::now();
        match self
            .send_json(Method::POST, &path, &json!({ "body": body }), Mode::Once)
            .await
        {
            Err(GitHubError::WriteUncertain { method, path, last }) => {
                match self.find_own_comment(repo, issue, body, sent_at).await {
                    Ok(Some(c)) => Ok(c),
                    _ => Err(GitHubError::WriteUncertain { method, path, last }),
                }
            }
            other => other,
        }
    }

    async fn edit_comment(
        &self,
        repo: &RepoName,
        comment_id: u64,
        body: &str,
    ) -> Result<Comment, GitHubError> {
        let path = format!("{}/issues/comments/{comment_id}", repo_path(repo));
        self.send_json(
            Method::PATCH,
            &path,
            &json!({ "body": body }),
            Mode::Idempotent,
        )
        .await
    }

    async fn find_or_open_issue(
        &self,
        repo: &RepoName,
        marker: &str,
        title: &str,
        body: &str,
        labels: &[&str],
    ) -> Result<Issue, GitHubError> {
        let me = self.me_if_allowed().await?;
        let mut list = format!("{}/issues?state=open&per_page=100", repo_path(repo));
        if let Some(m) = &me {
            list.push_str(&format!("&creator={}", encode(&m.login, false)));
        }
        let (open, _) = self.get_all::<Issue>(&list, 1000).await?;
        // Only an issue this token opened: anyone can paste a marker into an issue.
        if let Some(found) = open.into_iter().find(|i| {
            is_mine(&i.author, me.as_ref()) && i.body.as_deref().is_some_and(|b| b.contains(marker))
        }) {
            return Ok(found);
        }
        let path = format!("{}/issues", repo_path(repo));
        self.send_json(
            Method::POST,
            &path,
            &json!({ "title": title, "body": body, "labels": labels }),
            Mode::Once,
        )
        .await
    }

    async fn add_reaction(
        &self,
        repo: &RepoName,
        comment_id: u64,
        kind: ReactionKind,
    ) -> Result<(), GitHubError> {
        // GitHub answers 200 for a reaction that already exists: safe to retry.
        let path = format!("{}/issues/comments/{comment_id}/reactions", repo_path(repo));
        let _: ReactionAck = self
            .send_json(
                Method::POST,
                &path,
                &json!({ "content": kind.as_str() }),
                Mode::Idempotent,
            )
            .await?;
        Ok(())
    }

    async fn publish_check(
        &self,
        repo: &RepoName,
        spec: &CheckSpec,
        existing: Option<&CheckHandle>,
    ) -> Result<CheckHandle, GitHubError> {
        let mut run = json!({
            "name": spec.name, "head_sha": spec.head_sha,
            "output": { "title": spec.title, "summary": spec.summary },
        });
        match &spec.conclusion {
            Some(c) => {
                run["status"] = json!("completed");
                run["conclusion"] = json!(c);
            }
            None => run["status"] = json!("in_progress"),
        }
        if let Some(u) = &spec.details_url {
            run["details_url"] = json!(u);
        }
        if let Some(x) = &spec.external_id {
            run["external_id"] = json!(x);
        }
        run["actions"] = json!(spec.actions);
        let result = match existing {
            Some(CheckHandle::CheckRun { id }) => {
                let path = format!("{}/check-runs/{id}", repo_path(repo));
                self.send_json::<CheckRunAck>(Method::PATCH, &path, &run, Mode::Idempotent)
                    .await
            }
            Some(CheckHandle::Status { .. }) => Err(GitHubError::Status {
                method: "POST".into(),
                path: "check-runs".into(),
                status: 403,
                message: "using commit statuses".into(),
            }),
            None => {
                let path = format!("{}/check-runs", repo_path(repo));
                self.send_json::<CheckRunAck>(Method::POST, &path, &run, Mode::Once)
                    .await
            }
        };
        match result {
            Ok(ack) => Ok(CheckHandle::CheckRun { id: ack.id }),
            // No checks:write on this token: a commit status says the same thing.
            Err(e) if e.status() == Some(403) => {
                let path = format!("{}/statuses/{}", repo_path(repo), seg(&spec.head_sha));
                let mut st = json!({
                    "state": status_state(spec.conclusion.as_deref()),
                    "context": spec.name,
                    "description": truncate(&spec.title, 140),
                });
                if let Some(u) = &spec.details_url {
                    st["target_url"] = json!(u);
                }
                let _: StatusAck = self
                    .send_json(Method::POST, &path, &st, Mode::Idempotent)
                    .await?;
                Ok(CheckHandle::Status {
                    sha: spec.head_sha.clone(),
                    context: spec.name.clone(),
                })
            }
            Err(e) => Err(e),
        }
    }

    async fn check_runs_for(
        &self,
        repo: &RepoName,
        sha: &str,
    ) -> Result<Vec<CheckRunInfo>, GitHubError> {
        let path = format!(
            "{}/commits/{}/check-runs?filter=all&per_page=100",
            repo_path(repo),
            seg(sha)
        );
        let list: CheckRunList = self.get_json(&path).await?;
        Ok(list.check_runs)
    }

    async fn rerun(&self, repo: &RepoName, run_id: u64) -> Result<(), GitHubError> {
        let path = format!("{}/actions/runs/{run_id}/rerun", repo_path(repo));
        // 201 Created; the body (`{}` or empty) says nothing more.
        self.request(Method::POST, &path, Some(&json!({})), None, Mode::Once)
            .await?;
        Ok(())
    }

    async fn permission(&self, repo: &RepoName, login: &str) -> Result<Permission, GitHubError> {
        let p = format!(
            "{}/collaborators/{}/permission",
            repo_path(repo),
            seg(login)
        );
        match self.get_json::<Permission>(&p).await {
            // Unknown user: no permission at all.
            Err(e) if e.status() == Some(404) => Ok(Permission {
                permission: "none".into(),
                role_name: None,
            }),
            other => other,
        }
    }

    async fn team_member(&self, org: &str, slug: &str, login: &str) -> Result<bool, GitHubError> {
        let p = format!(
            "/orgs/{}/teams/{}/memberships/{}",
            seg(org),
            seg(slug),
            seg(login)
        );
        match self.get_json::<Membership>(&p).await {
            Ok(m) => Ok(m.state == "active"),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn file_at(
        &self,
        repo: &RepoName,
        path: &str,
        git_ref: &str,
    ) -> Result<Option<Vec<u8>>, GitHubError> {
        let p = format!(
            "{}/contents/{}?ref={}",
            repo_path(repo),
            encode(path.trim_start_matches('/'), true),
            seg(git_ref)
        );
        match self.get_json::<ContentFile>(&p).await {
            Ok(f) => f.bytes().map(Some),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_keeps_paths_and_escapes_the_rest() {
        assert_eq!(encode("docs/a b.md", true), "docs/a%20b.md");
        assert_eq!(encode("a/b", false), "a%2Fb");
        assert_eq!(
            encode("2026-11-25T12:00:00Z", false),
            "2026-11-25T12%3A00%3A00Z"
        );
    }

    #[test]
    fn check_conclusions_map_to_status_states() {
        assert_eq!(status_state(None), "pending");
        assert_eq!(status_state(Some("success")), "success");
        assert_eq!(status_state(Some("failure")), "failure");
        assert_eq!(status_state(Some("timed_out")), "failure");
    }
}
