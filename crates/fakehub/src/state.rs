//! The in-memory world of the stand-in: users and tokens, repositories, pull requests,
//! issues, comments, reviews, reactions, permissions, teams, checks, statuses, files,
//! the request log, rate-limit counters and injected faults. JSON rendering in GitHub's
//! shapes (see ../shared/fixtures/github/rest) lives here too.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// GitHub's cap on the files a pull request's file listing returns.
pub const MAX_PR_FILES: usize = 3000;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct User {
    pub login: String,
    pub id: u64,
    /// `User` or `Bot`.
    #[serde(default = "user_kind")]
    pub kind: String,
}

fn user_kind() -> String {
    "User".into()
}

/// A pull request to seed (`..PrSpec::default()`: head `feature`, base `main`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrSpec {
    #[serde(default)]
    pub number: Option<u64>,
    #[serde(default)]
    pub title: String,
    pub author: String,
    pub head_sha: String,
    #[serde(default = "default_head_ref")]
    pub head_ref: String,
    pub base_sha: String,
    #[serde(default = "default_base_ref")]
    pub base_ref: String,
    /// Changed paths (status `modified`).
    #[serde(default)]
    pub files: Vec<String>,
}

impl Default for PrSpec {
    fn default() -> Self {
        PrSpec {
            number: None,
            title: String::new(),
            author: String::new(),
            head_sha: String::new(),
            head_ref: default_head_ref(),
            base_sha: String::new(),
            base_ref: default_base_ref(),
            files: Vec::new(),
        }
    }
}

fn default_head_ref() -> String {
    "feature".into()
}
fn default_base_ref() -> String {
    "main".into()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Comment {
    pub id: u64,
    pub user: String,
    pub body: String,
    pub created_at: String,
    pub updated_at: String,
    pub issue: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Review {
    pub id: u64,
    pub user: String,
    pub state: String,
    pub commit_id: String,
    pub body: String,
    pub submitted_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Reaction {
    pub id: u64,
    pub user: String,
    pub content: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CheckRun {
    pub id: u64,
    pub name: String,
    pub head_sha: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub details_url: Option<String>,
    pub external_id: Option<String>,
    /// The buttons GitHub shows on the run (at most 3); a click sends a
    /// `check_run.requested_action` event with the action's `identifier`.
    #[serde(default)]
    pub actions: Vec<CheckAction>,
}

/// One requested action of a check run, as `actions[]` of the checks API.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CheckAction {
    /// At most 20 characters.
    pub label: String,
    /// At most 40 characters.
    pub description: String,
    /// At most 20 characters.
    pub identifier: String,
}

/// One `POST /repos/{o}/{r}/actions/runs/{run_id}/rerun` the stand-in accepted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Rerun {
    /// `owner/name`
    pub repo: String,
    pub run_id: u64,
    /// Who asked (the token's login).
    pub login: String,
    /// The stand-in's clock, `YYYY-MM-DDTHH:MM:SSZ`.
    pub at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CommitStatus {
    pub id: u64,
    pub sha: String,
    pub state: String,
    pub context: String,
    pub description: Option<String>,
    pub target_url: Option<String>,
    pub creator: String,
}

#[derive(Debug, Clone)]
pub struct Issue {
    pub number: u64,
    pub id: u64,
    pub title: String,
    pub body: String,
    pub user: String,
    pub labels: Vec<String>,
    pub state: String,
    pub created_at: String,
    pub updated_at: String,
    pub pr: Option<Pr>,
    pub comments: Vec<u64>,
}

#[derive(Debug, Clone)]
pub struct Pr {
    pub id: u64,
    pub head_sha: String,
    pub head_ref: String,
    pub base_sha: String,
    pub base_ref: String,
    pub files: Vec<String>,
    pub reviews: Vec<Review>,
    /// Set when merged: (merge commit sha, merged_at).
    pub merged: Option<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct Repo {
    pub owner: String,
    pub name: String,
    pub id: u64,
    pub default_branch: String,
    pub issues: BTreeMap<u64, Issue>,
    /// login -> role (admin, maintain, write, triage, read)
    pub roles: HashMap<String, String>,
    pub check_runs: Vec<CheckRun>,
    pub statuses: Vec<CommitStatus>,
    /// (ref, path) -> bytes
    pub contents: HashMap<(String, String), Vec<u8>>,
    /// Branch changes in the order they happened (`GET /repos/{o}/{r}/activity`): a PR's
    /// head branch when the PR is opened and each time its head moves.
    pub activity: Vec<Activity>,
}

/// One branch change, with the stand-in's own clock (as GitHub records it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Activity {
    pub id: u64,
    pub before: String,
    pub after: String,
    /// `refs/heads/BRANCH`
    pub git_ref: String,
    pub timestamp: String,
    pub activity_type: String,
    pub actor: String,
}

/// One request as the stand-in saw it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Header names are lower-case.
    pub headers: Vec<(String, String)>,
    pub status: u16,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A scheduled fault: the next `times` requests that match get `status`
/// (`..Fault::default()`: any request, once, a 502 before the request is applied).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fault {
    /// `GET`, `POST`, ...; any when None.
    #[serde(default)]
    pub method: Option<String>,
    /// Matches when the path contains this; any when None.
    #[serde(default)]
    pub path_contains: Option<String>,
    pub status: u16,
    /// Seconds, sent as `Retry-After`.
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// Apply the request first, then answer with the error (a lost response).
    #[serde(default)]
    pub after_apply: bool,
    #[serde(default = "one")]
    pub times: u32,
}

impl Default for Fault {
    fn default() -> Self {
        Fault {
            method: None,
            path_contains: None,
            status: 502,
            retry_after: None,
            after_apply: false,
            times: 1,
        }
    }
}

fn one() -> u32 {
    1
}

impl Fault {
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| path.contains(p))
    }
}

#[derive(Debug, Default)]
pub struct State {
    pub base_url: String,
    pub next_id: u64,
    pub users: BTreeMap<String, User>,
    pub tokens: HashMap<String, String>,
    /// logins whose tokens lack `checks: write`
    pub no_checks_write: Vec<String>,
    /// logins whose tokens lack `actions: write`
    pub no_actions_write: Vec<String>,
    /// Accepted workflow re-runs, in order.
    pub reruns: Vec<Rerun>,
    pub repos: BTreeMap<String, Repo>,
    /// (org, slug) -> member logins
    pub teams: HashMap<(String, String), Vec<String>>,
    pub comments: BTreeMap<u64, (String, Comment)>,
    pub reactions: BTreeMap<u64, Vec<Reaction>>,
    pub requests: Vec<RecordedRequest>,
    pub faults: Vec<Fault>,
    pub error_rate: f64,
    pub delay: Duration,
    pub rate_limit: u64,
    /// Charged requests since the start (for tests to count).
    pub rate_used: u64,
    /// Charged requests in the current window (what `x-ratelimit-remaining` reflects).
    pub window_used: u64,
    /// Unix seconds when the window resets.
    pub rate_reset: u64,
    pub rate_window: u64,
}

pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl State {
    pub fn new() -> State {
        State {
            next_id: 1000,
            rate_limit: 5000,
            rate_reset: (chrono::Utc::now().timestamp() as u64) + 3600,
            rate_window: 3600,
            ..State::default()
        }
    }

    /// Starts a new rate-limit window when the current one has passed.
    pub fn roll_window(&mut self) {
        let now = chrono::Utc::now().timestamp() as u64;
        if now >= self.rate_reset {
            self.window_used = 0;
            self.rate_reset = now + self.rate_window.max(1);
        }
    }

    pub fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The user `login` (id 0 and type `User` if unknown).
    pub fn user(&self, login: &str) -> User {
        self.users.get(login).cloned().unwrap_or_else(|| User {
            login: login.into(),
            id: 0,
            kind: "User".into(),
        })
    }

    pub fn user_json(&self, login: &str) -> Value {
        let (id, kind) = self
            .users
            .get(login)
            .map(|u| (u.id, u.kind.clone()))
            .unwrap_or((0, "User".into()));
        let b = &self.base_url;
        json!({
            "login": login, "id": id, "node_id": format!("U_{id}"),
            "avatar_url": format!("{b}/avatars/{login}"), "gravatar_id": "",
            "url": format!("{b}/users/{login}"), "html_url": format!("{b}/{login}"),
            "type": kind, "site_admin": false,
        })
    }

    pub fn comment_json(&self, repo: &str, c: &Comment) -> Value {
        let b = &self.base_url;
        let reactions = self.reactions.get(&c.id).map(|r| r.len()).unwrap_or(0);
        json!({
            "url": format!("{b}/repos/{repo}/issues/comments/{}", c.id),
            "html_url": format!("{b}/{repo}/issues/{}#issuecomment-{}", c.issue, c.id),
            "issue_url": format!("{b}/repos/{repo}/issues/{}", c.issue),
            "id": c.id, "node_id": format!("IC_{}", c.id),
            "user": self.user_json(&c.user),
            "created_at": c.created_at, "updated_at": c.updated_at,
            "author_association": self.association(repo, &c.user),
            "body": c.body,
            "reactions": {"total_count": reactions},
        })
    }

    pub fn association(&self, repo: &str, login: &str) -> &'static str {
        match self.repos.get(repo).and_then(|r| r.roles.get(login)) {
            Some(_) => "COLLABORATOR",
            None => "NONE",
        }
    }

    pub fn review_json(&self, repo: &str, number: u64, r: &Review) -> Value {
        let b = &self.base_url;
        json!({
            "id": r.id, "node_id": format!("PRR_{}", r.id),
            "user": self.user_json(&r.user), "body": r.body, "state": r.state,
            "html_url": format!("{b}/{repo}/pull/{number}#pullrequestreview-{}", r.id),
            "pull_request_url": format!("{b}/repos/{repo}/pulls/{number}"),
            "author_association": self.association(repo, &r.user),
            "submitted_at": r.submitted_at, "commit_id": r.commit_id,
        })
    }

    pub fn issue_json(&self, repo: &str, i: &Issue) -> Value {
        let b = &self.base_url;
        let mut v = json!({
            "url": format!("{b}/repos/{repo}/issues/{}", i.number),
            "repository_url": format!("{b}/repos/{repo}"),
            "html_url": format!("{b}/{repo}/issues/{}", i.number),
            "id": i.id, "node_id": format!("I_{}", i.id), "number": i.number,
            "title": i.title, "user": self.user_json(&i.user),
            "labels": i.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
            "state": i.state, "locked": false, "comments": i.comments.len(),
            "created_at": i.created_at, "updated_at": i.updated_at, "body": i.body,
        });
        if i.pr.is_some() {
            v["pull_request"] = json!({"url": format!("{b}/repos/{repo}/pulls/{}", i.number)});
        }
        v
    }

    pub fn pr_json(&self, repo: &str, i: &Issue, p: &Pr) -> Value {
        let b = &self.base_url;
        let (owner, _) = repo.split_once('/').unwrap_or((repo, ""));
        let branch = |r: &str, sha: &str| {
            json!({"label": format!("{owner}:{r}"), "ref": r, "sha": sha,
                   "user": self.user_json(owner),
                   "repo": {"full_name": repo, "url": format!("{b}/repos/{repo}")}})
        };
        json!({
            "url": format!("{b}/repos/{repo}/pulls/{}", i.number),
            "id": p.id, "node_id": format!("PR_{}", p.id),
            "html_url": format!("{b}/{repo}/pull/{}", i.number),
            "issue_url": format!("{b}/repos/{repo}/issues/{}", i.number),
            "number": i.number, "state": i.state, "locked": false, "title": i.title,
            "user": self.user_json(&i.user), "body": i.body,
            "created_at": i.created_at, "updated_at": i.updated_at,
            "closed_at": p.merged.as_ref().map(|m| m.1.clone()),
            "merged_at": p.merged.as_ref().map(|m| m.1.clone()),
            "merged": p.merged.is_some(),
            "merge_commit_sha": p.merged.as_ref().map(|m| m.0.clone()),
            "draft": false,
            "head": branch(&p.head_ref, &p.head_sha),
            "base": branch(&p.base_ref, &p.base_sha),
            "author_association": self.association(repo, &i.user),
        })
    }

    pub fn activity_json(&self, a: &Activity) -> Value {
        json!({
            "id": a.id, "node_id": format!("RA_{}", a.id),
            "before": a.before, "after": a.after, "ref": a.git_ref,
            "timestamp": a.timestamp, "activity_type": a.activity_type,
            "actor": self.user_json(&a.actor),
        })
    }

    pub fn file_json(&self, repo: &str, p: &Pr, path: &str) -> Value {
        let b = &self.base_url;
        json!({
            "sha": "0000000000000000000000000000000000000001", "filename": path,
            "status": "modified", "additions": 1, "deletions": 0, "changes": 1,
            "blob_url": format!("{b}/{repo}/blob/{}/{path}", p.head_sha),
            "raw_url": format!("{b}/{repo}/raw/{}/{path}", p.head_sha),
            "contents_url": format!("{b}/repos/{repo}/contents/{path}?ref={}", p.head_sha),
            "patch": "@@ -0,0 +1 @@\n+change",
        })
    }

    pub fn check_run_json(&self, repo: &str, c: &CheckRun) -> Value {
        let b = &self.base_url;
        json!({
            "id": c.id, "node_id": format!("CR_{}", c.id), "head_sha": c.head_sha,
            "external_id": c.external_id, "name": c.name, "status": c.status,
            "conclusion": c.conclusion, "details_url": c.details_url,
            "url": format!("{b}/repos/{repo}/check-runs/{}", c.id),
            "html_url": format!("{b}/{repo}/runs/{}", c.id),
            "started_at": now(),
            "completed_at": if c.status == "completed" { Value::from(now()) } else { Value::Null },
            "output": {"title": c.title, "summary": c.summary, "text": null,
                       "annotations_count": 0,
                       "annotations_url": format!("{b}/repos/{repo}/check-runs/{}/annotations", c.id)},
            "app": {"id": 1, "slug": "fakehub", "name": "fakehub"},
            "actions": c.actions,
        })
    }

    pub fn status_json(&self, repo: &str, s: &CommitStatus) -> Value {
        let b = &self.base_url;
        json!({
            "url": format!("{b}/repos/{repo}/statuses/{}", s.sha), "id": s.id,
            "node_id": format!("SC_{}", s.id), "state": s.state,
            "description": s.description, "target_url": s.target_url, "context": s.context,
            "created_at": now(), "updated_at": now(), "creator": self.user_json(&s.creator),
        })
    }

    pub fn content_json(&self, repo: &str, git_ref: &str, path: &str, bytes: &[u8]) -> Value {
        let b = &self.base_url;
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        // GitHub wraps the base64 at 60 columns with "\n".
        let wrapped: Vec<String> = encoded
            .as_bytes()
            .chunks(60)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        let name = path.rsplit('/').next().unwrap_or(path);
        json!({
            "type": "file", "encoding": "base64", "size": bytes.len(), "name": name,
            "path": path, "content": format!("{}\n", wrapped.join("\n")),
            "sha": "0000000000000000000000000000000000000002",
            "url": format!("{b}/repos/{repo}/contents/{path}?ref={git_ref}"),
            "html_url": format!("{b}/{repo}/blob/{git_ref}/{path}"),
            "download_url": format!("{b}/{repo}/raw/{git_ref}/{path}"),
        })
    }

    /// (permission, role_name) for a user on a repository, as the permission API answers.
    pub fn permission_of(&self, repo: &str, login: &str) -> (String, String) {
        let role = self
            .repos
            .get(repo)
            .and_then(|r| r.roles.get(login))
            .cloned()
            .unwrap_or_else(|| "none".into());
        let permission = match role.as_str() {
            "admin" => "admin",
            "maintain" | "write" => "write",
            "triage" | "read" => "read",
            _ => "none",
        };
        (permission.into(), role)
    }
}
