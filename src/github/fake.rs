//! An in-memory GitHub for unit tests of the flows: [`FakeGitHub`] implements the whole
//! [`GitHub`] trait (and [`PageSource`], so the conditional [`super::Poller`] runs over
//! it) from state the test builds, and logs every call with its arguments so a test can
//! assert what was written — or that nothing was. No network, no processes.
//!
//! Comments get ids from one counter and timestamps from the fake's clock, which moves
//! one second per comment (GitHub's resolution); `edit` bumps `updated_at` as GitHub does.

#![allow(
    dead_code,
    reason = "the fake implements the whole trait; each test uses the builders it needs"
)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

use super::GitHub;
use super::client::Page;
use super::error::GitHubError;
use super::ops::{comments_path, reviews_path};
use super::poll::PageSource;
use super::types::{
    Activity, Actor, CheckHandle, CheckRunInfo, CheckSpec, Comment, Issue, Permission, PrFile,
    PrFiles, PullRequest, ReactionKind, RepoName, Review,
};

/// One call the code under test made: the trait method's name and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call {
    pub method: &'static str,
    pub args: Vec<String>,
}

/// The methods that change something on GitHub.
pub(crate) const WRITES: &[&str] = &[
    "create_comment",
    "edit_comment",
    "find_or_open_issue",
    "add_reaction",
    "publish_check",
    "rerun",
];

/// A check run as the fake holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FakeCheck {
    pub id: u64,
    pub spec: CheckSpec,
}

#[derive(Default)]
struct State {
    me: Option<Actor>,
    next_id: u64,
    clock: Option<DateTime<Utc>>,
    pulls: BTreeMap<u64, PullRequest>,
    files: HashMap<u64, PrFiles>,
    issues: BTreeMap<u64, Issue>,
    /// Per issue or PR number, oldest first.
    comments: BTreeMap<u64, Vec<Comment>>,
    reviews: BTreeMap<u64, Vec<Review>>,
    reactions: Vec<(u64, ReactionKind)>,
    permissions: HashMap<String, Permission>,
    teams: HashSet<(String, String, String)>,
    contents: HashMap<(String, String), Vec<u8>>,
    activity: HashMap<String, Vec<Activity>>,
    checks: Vec<FakeCheck>,
    reruns: Vec<u64>,
    failing: HashSet<&'static str>,
    calls: Vec<Call>,
}

/// GitHub in memory. Shared by reference; all state behind one `Mutex`.
#[derive(Default)]
pub(crate) struct FakeGitHub {
    state: Mutex<State>,
}

/// An account: a `[bot]` suffix makes it a bot, its id is derived from the login.
pub(crate) fn actor(login: &str) -> Actor {
    Actor {
        login: login.to_string(),
        id: login.bytes().map(u64::from).sum::<u64>() + 1000,
        kind: if login.ends_with("[bot]") {
            "Bot"
        } else {
            "User"
        }
        .to_string(),
    }
}

/// The fake's clock starts here: 2026-11-25 12:00:00 UTC.
pub(crate) fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
        .single()
        .expect("valid")
}

fn not_found(method: &str, what: String) -> GitHubError {
    GitHubError::Status {
        method: "GET".into(),
        path: format!("{method} {what}"),
        status: 404,
        message: "Not Found".into(),
    }
}

fn comment_json(c: &Comment) -> Value {
    json!({
        "id": c.id,
        "user": {"login": c.author.login, "id": c.author.id, "type": c.author.kind},
        "body": c.body,
        "created_at": c.created_at.to_rfc3339(),
        "updated_at": c.updated_at.to_rfc3339(),
        "html_url": c.html_url,
    })
}

fn review_json(r: &Review) -> Value {
    json!({
        "id": r.id,
        "user": {"login": r.author.login, "id": r.author.id, "type": r.author.kind},
        "state": r.state,
        "commit_id": r.commit_id,
        "submitted_at": r.submitted_at.map(|t| t.to_rfc3339()),
        "html_url": r.html_url,
        "body": r.body,
    })
}

impl FakeGitHub {
    pub(crate) fn new() -> FakeGitHub {
        FakeGitHub::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut s = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut s)
    }

    /// Logs a call; `Err` when the test made `method` fail.
    fn call(&self, method: &'static str, args: Vec<String>) -> Result<(), GitHubError> {
        self.with(|s| {
            s.calls.push(Call {
                method,
                args: args.clone(),
            });
            if s.failing.contains(method) {
                Err(GitHubError::Unreachable {
                    method: method.into(),
                    path: args.join(" "),
                    tries: 1,
                    last: "failing in this test".into(),
                })
            } else {
                Ok(())
            }
        })
    }

    fn next_id(s: &mut State) -> u64 {
        s.next_id += 1;
        s.next_id
    }

    /// The next timestamp (one second after the last).
    fn tick(s: &mut State) -> DateTime<Utc> {
        let t = s.clock.map_or_else(epoch, |t| t + Duration::seconds(1));
        s.clock = Some(t);
        t
    }

    // ---- building the world ----

    /// Starts the clock at `t` instead of [`epoch`] (e.g. near `Utc::now()` for code
    /// that reads the real clock, like the wait loop's deadline).
    pub(crate) fn starting_at(self, t: DateTime<Utc>) -> Self {
        self.with(|s| s.clock = Some(t - Duration::seconds(1)));
        self
    }

    /// The token's own account (`me`); default `jitaa[bot]`.
    pub(crate) fn with_me(self, login: &str) -> Self {
        self.with(|s| s.me = Some(actor(login)));
        self
    }

    pub(crate) fn with_pr(self, pr: PullRequest) -> Self {
        self.with(|s| {
            s.pulls.insert(pr.number, pr);
        });
        self
    }

    /// An open PR `number` by `author` from `head_sha` onto `main`.
    pub(crate) fn pr(number: u64, author: &str, head_sha: &str) -> PullRequest {
        PullRequest {
            number,
            title: format!("PR {number}"),
            state: "open".into(),
            author: actor(author),
            head_sha: head_sha.into(),
            head_ref: "feature".into(),
            head_repo: Some("acme/api".into()),
            base_sha: "b".repeat(40),
            base_ref: "main".into(),
            html_url: format!("https://github.com/acme/api/pull/{number}"),
            merged_at: None,
            merge_commit_sha: None,
        }
    }

    pub(crate) fn with_issue(self, number: u64, author: &str, body: &str) -> Self {
        self.with(|s| {
            s.issues.insert(
                number,
                Issue {
                    number,
                    title: format!("issue {number}"),
                    body: Some(body.into()),
                    state: "open".into(),
                    author: actor(author),
                    html_url: format!("https://github.com/acme/api/issues/{number}"),
                },
            );
        });
        self
    }

    pub(crate) fn with_files(self, pr: u64, files: &[&str]) -> Self {
        let list = files
            .iter()
            .map(|f| PrFile {
                filename: (*f).to_string(),
                status: "modified".into(),
                previous_filename: None,
            })
            .collect();
        self.with(|s| s.files.insert(pr, PrFiles::Complete(list)));
        self
    }

    /// `login`'s permission: `admin`, `maintain`, `write`, `triage` or `read`.
    /// (Not `permission`: that name is the trait's read.)
    pub(crate) fn with_permission(self, login: &str, role: &str) -> Self {
        let coarse = match role {
            "admin" => "admin",
            "maintain" | "write" => "write",
            "triage" | "read" => "read",
            _ => "none",
        };
        let p = Permission {
            permission: coarse.into(),
            role_name: Some(role.into()),
        };
        self.with(|s| s.permissions.insert(login.to_ascii_lowercase(), p));
        self
    }

    pub(crate) fn member(self, org: &str, slug: &str, login: &str) -> Self {
        self.with(|s| {
            s.teams.insert((
                org.to_ascii_lowercase(),
                slug.to_ascii_lowercase(),
                login.to_ascii_lowercase(),
            ))
        });
        self
    }

    pub(crate) fn with_file_at(self, path: &str, git_ref: &str, bytes: &[u8]) -> Self {
        self.with(|s| {
            s.contents
                .insert((path.into(), git_ref.into()), bytes.to_vec())
        });
        self
    }

    pub(crate) fn with_activity(self, branch: &str, newest_first: Vec<Activity>) -> Self {
        self.with(|s| s.activity.insert(branch.into(), newest_first));
        self
    }

    /// A check run on `spec.head_sha` (as a gate would have created it).
    pub(crate) fn with_check(self, spec: CheckSpec) -> Self {
        self.with(|s| {
            let id = Self::next_id(s);
            s.checks.push(FakeCheck { id, spec });
        });
        self
    }

    /// Makes every call of `method` fail as an unreachable GitHub would.
    pub(crate) fn failing(self, method: &'static str) -> Self {
        self.with(|s| s.failing.insert(method));
        self
    }

    /// Posts a comment by `login` on `issue` now (the fake's clock); its id.
    pub(crate) fn comment(&self, login: &str, issue: u64, body: &str) -> u64 {
        self.with(|s| {
            let id = Self::next_id(s);
            let t = Self::tick(s);
            s.comments.entry(issue).or_default().push(Comment {
                id,
                author: actor(login),
                body: body.into(),
                created_at: t,
                updated_at: t,
                html_url: format!("https://github.com/acme/api/issues/{issue}#issuecomment-{id}"),
            });
            id
        })
    }

    /// Edits comment `id` (GitHub bumps `updated_at`).
    pub(crate) fn edit(&self, id: u64, body: &str) {
        self.with(|s| {
            let t = Self::tick(s);
            if let Some(c) = s.comments.values_mut().flatten().find(|c| c.id == id) {
                c.body = body.into();
                c.updated_at = t;
            }
        });
    }

    /// A submitted review (`APPROVED`, `CHANGES_REQUESTED`, ...) of `commit` on `pr`; its id.
    pub(crate) fn review(&self, login: &str, pr: u64, state: &str, commit: &str) -> u64 {
        self.with(|s| {
            let id = Self::next_id(s);
            let t = Self::tick(s);
            s.reviews.entry(pr).or_default().push(Review {
                id,
                author: actor(login),
                state: state.into(),
                commit_id: Some(commit.into()),
                submitted_at: Some(t),
                html_url: format!("https://github.com/acme/api/pull/{pr}#pullrequestreview-{id}"),
                body: String::new(),
            });
            id
        })
    }

    // ---- reading what happened ----

    /// Every call so far, in order.
    pub(crate) fn calls(&self) -> Vec<Call> {
        self.with(|s| s.calls.clone())
    }

    /// The calls that change something on GitHub ([`WRITES`]).
    pub(crate) fn writes(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| WRITES.contains(&c.method))
            .collect()
    }

    /// The calls of one method.
    pub(crate) fn calls_to(&self, method: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method)
            .collect()
    }

    /// The comments of `issue`, oldest first.
    pub(crate) fn comments(&self, issue: u64) -> Vec<Comment> {
        self.with(|s| s.comments.get(&issue).cloned().unwrap_or_default())
    }

    /// The reactions given, as (comment id, kind), in order.
    pub(crate) fn reactions(&self) -> Vec<(u64, ReactionKind)> {
        self.with(|s| s.reactions.clone())
    }

    pub(crate) fn checks(&self) -> Vec<FakeCheck> {
        self.with(|s| s.checks.clone())
    }

    /// The workflow runs re-run, in order.
    pub(crate) fn reruns(&self) -> Vec<u64> {
        self.with(|s| s.reruns.clone())
    }

    fn page(&self, path: &str) -> Option<String> {
        // `/repos/{o}/{r}/issues/{n}/comments?per_page=100[&since=…]` or `…/pulls/{n}/reviews?…`.
        let (route, query) = path.split_once('?').unwrap_or((path, ""));
        let parts: Vec<&str> = route.trim_start_matches('/').split('/').collect();
        let [_, _, _, kind, n, list] = parts.as_slice() else {
            return None;
        };
        let n: u64 = n.parse().ok()?;
        let since = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("since="))
            .map(|v| v.replace("%3A", ":"))
            .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
            .map(|t| t.with_timezone(&Utc));
        let items: Vec<Value> = match (*kind, *list) {
            ("issues", "comments") => self.with(|s| {
                s.comments
                    .get(&n)
                    .into_iter()
                    .flatten()
                    .filter(|c| since.is_none_or(|t| c.updated_at >= t))
                    .map(comment_json)
                    .collect()
            }),
            ("pulls", "reviews") => self.with(|s| {
                s.reviews
                    .get(&n)
                    .into_iter()
                    .flatten()
                    .map(review_json)
                    .collect()
            }),
            _ => return None,
        };
        Some(Value::Array(items).to_string())
    }
}

impl PageSource for FakeGitHub {
    async fn get_page(&self, path: &str, etag: Option<&str>) -> Result<Page, GitHubError> {
        self.call("get_page", vec![path.into(), etag.unwrap_or("").into()])?;
        let body = self
            .page(path)
            .ok_or_else(|| not_found("get_page", path.into()))?;
        // The etag is the body itself: a 304 exactly when nothing changed.
        let tag = format!("\"{:x}\"", fnv(&body));
        if etag == Some(tag.as_str()) {
            return Ok(Page::NotModified);
        }
        Ok(Page::Fresh {
            body,
            etag: Some(tag),
            next: None,
        })
    }
}

/// FNV-1a: a stable etag without a hasher's random seed.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl GitHub for FakeGitHub {
    async fn me(&self) -> Result<Actor, GitHubError> {
        self.call("me", Vec::new())?;
        Ok(self
            .with(|s| s.me.clone())
            .unwrap_or_else(|| actor("jitaa[bot]")))
    }

    async fn pulls_for_commit(
        &self,
        repo: &RepoName,
        sha: &str,
    ) -> Result<Vec<PullRequest>, GitHubError> {
        self.call("pulls_for_commit", vec![repo.to_string(), sha.into()])?;
        Ok(self.with(|s| {
            s.pulls
                .values()
                .filter(|p| p.head_sha.eq_ignore_ascii_case(sha))
                .cloned()
                .collect()
        }))
    }

    async fn pull_request(&self, repo: &RepoName, number: u64) -> Result<PullRequest, GitHubError> {
        self.call("pull_request", vec![repo.to_string(), number.to_string()])?;
        self.with(|s| s.pulls.get(&number).cloned())
            .ok_or_else(|| not_found("pull_request", number.to_string()))
    }

    async fn pull_files(&self, repo: &RepoName, number: u64) -> Result<PrFiles, GitHubError> {
        self.call("pull_files", vec![repo.to_string(), number.to_string()])?;
        Ok(self
            .with(|s| s.files.get(&number).cloned())
            .unwrap_or(PrFiles::Complete(Vec::new())))
    }

    async fn issue_comments(
        &self,
        repo: &RepoName,
        issue: u64,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<Comment>, GitHubError> {
        self.call(
            "issue_comments",
            vec![
                repo.to_string(),
                issue.to_string(),
                since.map(|t| t.to_rfc3339()).unwrap_or_default(),
            ],
        )?;
        Ok(self
            .comments(issue)
            .into_iter()
            .filter(|c| since.is_none_or(|t| c.updated_at >= t))
            .collect())
    }

    async fn reviews(&self, repo: &RepoName, pr: u64) -> Result<Vec<Review>, GitHubError> {
        self.call("reviews", vec![repo.to_string(), pr.to_string()])?;
        Ok(self.with(|s| s.reviews.get(&pr).cloned().unwrap_or_default()))
    }

    async fn branch_activity(
        &self,
        repo: &RepoName,
        branch: &str,
    ) -> Result<Vec<Activity>, GitHubError> {
        self.call("branch_activity", vec![repo.to_string(), branch.into()])?;
        Ok(self.with(|s| s.activity.get(branch).cloned().unwrap_or_default()))
    }

    async fn create_comment(
        &self,
        repo: &RepoName,
        issue: u64,
        body: &str,
    ) -> Result<Comment, GitHubError> {
        self.call(
            "create_comment",
            vec![repo.to_string(), issue.to_string(), body.into()],
        )?;
        let me = self.me_login();
        let id = self.comment(&me, issue, body);
        Ok(self
            .comments(issue)
            .into_iter()
            .find(|c| c.id == id)
            .expect("just posted"))
    }

    async fn edit_comment(
        &self,
        repo: &RepoName,
        comment_id: u64,
        body: &str,
    ) -> Result<Comment, GitHubError> {
        self.call(
            "edit_comment",
            vec![repo.to_string(), comment_id.to_string(), body.into()],
        )?;
        self.edit(comment_id, body);
        self.with(|s| {
            s.comments
                .values()
                .flatten()
                .find(|c| c.id == comment_id)
                .cloned()
        })
        .ok_or_else(|| not_found("edit_comment", comment_id.to_string()))
    }

    async fn find_or_open_issue(
        &self,
        repo: &RepoName,
        marker: &str,
        title: &str,
        body: &str,
        labels: &[&str],
    ) -> Result<Issue, GitHubError> {
        self.call(
            "find_or_open_issue",
            vec![
                repo.to_string(),
                marker.into(),
                title.into(),
                body.into(),
                labels.join(","),
            ],
        )?;
        let me = self.me_login();
        Ok(self.with(|s| {
            if let Some(i) = s.issues.values().find(|i| {
                i.state == "open"
                    && i.author.login == me
                    && i.body.as_deref().is_some_and(|b| b.contains(marker))
            }) {
                return i.clone();
            }
            let number = s
                .issues
                .keys()
                .chain(s.pulls.keys())
                .chain(s.comments.keys())
                .max()
                .copied()
                .unwrap_or(0)
                + 1;
            let issue = Issue {
                number,
                title: title.into(),
                body: Some(body.into()),
                state: "open".into(),
                author: actor(&me),
                html_url: format!("https://github.com/acme/api/issues/{number}"),
            };
            s.issues.insert(number, issue.clone());
            issue
        }))
    }

    async fn add_reaction(
        &self,
        repo: &RepoName,
        comment_id: u64,
        kind: ReactionKind,
    ) -> Result<(), GitHubError> {
        self.call(
            "add_reaction",
            vec![
                repo.to_string(),
                comment_id.to_string(),
                kind.as_str().into(),
            ],
        )?;
        self.with(|s| s.reactions.push((comment_id, kind)));
        Ok(())
    }

    async fn publish_check(
        &self,
        repo: &RepoName,
        spec: &CheckSpec,
        existing: Option<&CheckHandle>,
    ) -> Result<CheckHandle, GitHubError> {
        self.call(
            "publish_check",
            vec![
                repo.to_string(),
                spec.name.clone(),
                spec.conclusion.clone().unwrap_or_default(),
                format!("{existing:?}"),
            ],
        )?;
        self.with(|s| match existing {
            Some(CheckHandle::CheckRun { id }) => {
                let c = s
                    .checks
                    .iter_mut()
                    .find(|c| c.id == *id)
                    .ok_or_else(|| not_found("publish_check", id.to_string()))?;
                c.spec = spec.clone();
                Ok(CheckHandle::CheckRun { id: *id })
            }
            Some(h @ CheckHandle::Status { .. }) => Ok(h.clone()),
            None => {
                let id = Self::next_id(s);
                s.checks.push(FakeCheck {
                    id,
                    spec: spec.clone(),
                });
                Ok(CheckHandle::CheckRun { id })
            }
        })
    }

    async fn check_runs_for(
        &self,
        repo: &RepoName,
        sha: &str,
    ) -> Result<Vec<CheckRunInfo>, GitHubError> {
        self.call("check_runs_for", vec![repo.to_string(), sha.into()])?;
        Ok(self.with(|s| {
            s.checks
                .iter()
                .filter(|c| c.spec.head_sha.eq_ignore_ascii_case(sha))
                .take(100)
                .map(|c| CheckRunInfo {
                    id: c.id,
                    name: c.spec.name.clone(),
                    external_id: c.spec.external_id.clone(),
                    status: if c.spec.conclusion.is_some() {
                        "completed"
                    } else {
                        "in_progress"
                    }
                    .into(),
                    conclusion: c.spec.conclusion.clone(),
                })
                .collect()
        }))
    }

    async fn rerun(&self, repo: &RepoName, run_id: u64) -> Result<(), GitHubError> {
        self.call("rerun", vec![repo.to_string(), run_id.to_string()])?;
        self.with(|s| s.reruns.push(run_id));
        Ok(())
    }

    async fn permission(&self, repo: &RepoName, login: &str) -> Result<Permission, GitHubError> {
        self.call("permission", vec![repo.to_string(), login.into()])?;
        Ok(self
            .with(|s| s.permissions.get(&login.to_ascii_lowercase()).cloned())
            .unwrap_or(Permission {
                permission: "none".into(),
                role_name: None,
            }))
    }

    async fn team_member(&self, org: &str, slug: &str, login: &str) -> Result<bool, GitHubError> {
        self.call("team_member", vec![org.into(), slug.into(), login.into()])?;
        let key = (
            org.to_ascii_lowercase(),
            slug.to_ascii_lowercase(),
            login.to_ascii_lowercase(),
        );
        Ok(self.with(|s| s.teams.contains(&key)))
    }

    async fn file_at(
        &self,
        repo: &RepoName,
        path: &str,
        git_ref: &str,
    ) -> Result<Option<Vec<u8>>, GitHubError> {
        self.call(
            "file_at",
            vec![repo.to_string(), path.into(), git_ref.into()],
        )?;
        Ok(self.with(|s| s.contents.get(&(path.into(), git_ref.into())).cloned()))
    }
}

impl FakeGitHub {
    fn me_login(&self) -> String {
        self.with(|s| s.me.as_ref().map(|m| m.login.clone()))
            .unwrap_or_else(|| "jitaa[bot]".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::Poller;

    fn repo() -> RepoName {
        RepoName::parse("acme/api", "test").unwrap()
    }

    fn block<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn comments_have_ids_authors_and_times_and_writes_are_logged() {
        let gh = FakeGitHub::new().with_permission("bob", "write");
        let a = gh.comment("alice", 3, "hello");
        let b = gh.comment("bob", 3, "/approve");
        assert!(b > a);
        let cs = block(gh.issue_comments(&repo(), 3, None)).unwrap();
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[1].author.login, "bob");
        assert!(cs[1].created_at > cs[0].created_at);
        assert!(!cs[1].edited());
        gh.edit(a, "hello again");
        assert!(gh.comments(3)[0].edited());
        // `since` counts updates, as GitHub's does.
        let since = block(gh.issue_comments(&repo(), 3, Some(cs[1].created_at))).unwrap();
        assert_eq!(since.len(), 2);
        assert!(gh.writes().is_empty(), "reads are not writes");
        block(gh.add_reaction(&repo(), b, ReactionKind::PlusOne)).unwrap();
        let posted = block(gh.create_comment(&repo(), 3, "thanks")).unwrap();
        assert_eq!(posted.author.login, "jitaa[bot]");
        assert_eq!(gh.reactions(), [(b, ReactionKind::PlusOne)]);
        let w: Vec<&str> = gh.writes().iter().map(|c| c.method).collect();
        assert_eq!(w, ["add_reaction", "create_comment"]);
        assert!(block(gh.permission(&repo(), "Bob")).unwrap().can_write());
        assert!(
            !block(gh.permission(&repo(), "mallory"))
                .unwrap()
                .can_write()
        );
    }

    #[test]
    fn the_poller_sees_changes_once_and_304s_otherwise() {
        let gh = FakeGitHub::new();
        gh.comment("alice", 5, "x");
        block(async {
            let mut p = Poller::new(&gh, &repo(), 5).with_reviews(&repo(), 5);
            let first = p.poll_once().await.unwrap().expect("a first snapshot");
            assert_eq!(first.comments.len(), 1);
            assert!(p.poll_once().await.unwrap().is_none(), "nothing changed");
            gh.comment("bob", 5, "/approve");
            gh.review("carol", 5, "APPROVED", "abc");
            let next = p.poll_once().await.unwrap().expect("a change");
            assert_eq!(next.comments.len(), 2);
            assert_eq!(next.reviews[0].author.login, "carol");
        });
        // The poller's paths are the client's.
        let paths: Vec<String> = gh
            .calls_to("get_page")
            .into_iter()
            .map(|c| c.args[0].clone())
            .collect();
        assert!(paths.contains(&comments_path(&repo(), 5, None)));
        assert!(paths.contains(&reviews_path(&repo(), 5)));
    }

    #[test]
    fn a_request_issue_is_found_again_by_its_marker() {
        let gh = FakeGitHub::new().with_pr(FakeGitHub::pr(7, "alice", "abc"));
        gh.comment("bob", 8, "on an issue the test never declared");
        let open = |marker: &str| {
            block(gh.find_or_open_issue(
                &repo(),
                marker,
                "t",
                &format!("{marker}\nbody"),
                &["jitaa"],
            ))
            .unwrap()
            .number
        };
        let first = open("<!-- m1 -->");
        assert_eq!(first, 9, "a number no PR, issue or thread has");
        assert_eq!(open("<!-- m1 -->"), first, "reused on a re-run");
        assert_ne!(open("<!-- m2 -->"), first);
        assert_eq!(gh.calls_to("find_or_open_issue").len(), 3);
    }

    #[test]
    fn checks_are_created_listed_and_completed() {
        let gh = FakeGitHub::new();
        let spec = CheckSpec {
            name: "jitaa".into(),
            head_sha: "abc".into(),
            external_id: Some("01JREQ".into()),
            actions: crate::github::CheckAction::approve_deny(),
            ..CheckSpec::default()
        };
        let h = block(gh.publish_check(&repo(), &spec, None)).unwrap();
        let listed = block(gh.check_runs_for(&repo(), "ABC")).unwrap();
        assert_eq!(listed[0].external_id.as_deref(), Some("01JREQ"));
        assert_eq!(listed[0].status, "in_progress");
        let done = CheckSpec {
            conclusion: Some("success".into()),
            actions: Vec::new(),
            ..spec
        };
        block(gh.publish_check(&repo(), &done, Some(&h))).unwrap();
        assert_eq!(gh.checks()[0].spec.actions, []);
        assert_eq!(
            block(gh.check_runs_for(&repo(), "abc")).unwrap()[0].status,
            "completed"
        );
    }
}
