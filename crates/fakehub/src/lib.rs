//! fakehub: a GitHub REST stand-in and Actions OIDC issuer on 127.0.0.1, for jitaa's
//! tests, benchmarks and demo. Never a production server.
//!
//! ```no_run
//! # async fn demo() {
//! let hub = fakehub::FakeHub::start().await;
//! hub.add_repo("acme/api");
//! let token = hub.add_user("alice", 1);
//! hub.set_permission("acme/api", "alice", "write");
//! # let _ = token;
//! # }
//! ```

pub mod admin;
pub mod api;
pub mod events;
pub mod mw;
pub mod oidc;
pub mod state;
mod world;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub use state::{
    CheckAction, CheckRun, Comment, CommitStatus, Fault, PrSpec, Reaction, RecordedRequest, Rerun,
    Review, User,
};

/// The login an API request authenticated as.
#[derive(Debug, Clone)]
pub struct Caller(pub String);

/// The shared world; a poisoned lock is recovered (the stand-in never panics on input).
#[derive(Clone)]
pub struct Shared(Arc<Mutex<state::State>>);

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, state::State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running stand-in. Dropping it stops the server.
pub struct FakeHub {
    url: String,
    shared: Shared,
    issuer: oidc::Issuer,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn app(shared: &Shared, issuer: &oidc::Issuer) -> Router {
    let api = api::router(shared.clone()).layer(axum::middleware::from_fn_with_state(
        shared.clone(),
        mw::api,
    ));
    Router::new()
        .merge(api)
        .merge(admin::router(shared.clone()))
        .merge(issuer.router())
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            mw::record,
        ))
}

impl FakeHub {
    /// Starts on 127.0.0.1 with an OS-chosen port, on the current tokio runtime.
    pub async fn start() -> FakeHub {
        match Self::start_on(0).await {
            Ok(h) => h,
            Err(e) => panic!("fakehub: cannot bind 127.0.0.1:0: {e}"),
        }
    }

    /// Starts on 127.0.0.1:`port` (0 = any) on the current tokio runtime.
    pub async fn start_on(port: u16) -> std::io::Result<FakeHub> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let (hub, router, rx) = Self::prepare(&listener)?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(hub)
    }

    /// Starts on its own runtime thread: for tests that are not async, or that pause
    /// their own tokio clock.
    pub fn start_blocking() -> FakeHub {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => panic!("fakehub: runtime: {e}"),
            };
            rt.block_on(async move {
                let listener = match tokio::net::TcpListener::bind(("127.0.0.1", 0)).await {
                    Ok(l) => l,
                    Err(e) => panic!("fakehub: bind: {e}"),
                };
                let (hub, router, stop) = match Self::prepare(&listener) {
                    Ok(x) => x,
                    Err(e) => panic!("fakehub: {e}"),
                };
                let _ = tx.send(hub);
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(async {
                        let _ = stop.await;
                    })
                    .await;
            });
        });
        let mut hub = match rx.recv() {
            Ok(h) => h,
            Err(e) => panic!("fakehub: server thread died: {e}"),
        };
        hub.thread = Some(thread);
        hub
    }

    fn prepare(
        listener: &tokio::net::TcpListener,
    ) -> std::io::Result<(FakeHub, Router, oneshot::Receiver<()>)> {
        let addr = listener.local_addr()?;
        let url = format!("http://{addr}");
        let mut st = state::State::new();
        st.base_url = url.clone();
        let shared = Shared(Arc::new(Mutex::new(st)));
        let issuer = oidc::Issuer::new();
        issuer.set_base_url(&url);
        let router = app(&shared, &issuer);
        let (tx, rx) = oneshot::channel();
        Ok((
            FakeHub {
                url,
                shared,
                issuer,
                shutdown: Some(tx),
                thread: None,
            },
            router,
            rx,
        ))
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn oidc(&self) -> &oidc::Issuer {
        &self.issuer
    }

    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The environment a jitaa process needs to talk to this stand-in.
    pub fn env(&self) -> Vec<(String, String)> {
        self.env_with_request_token(self.issuer.request_token())
    }

    /// [`Self::env`] for one workflow run: its `ACTIONS_ID_TOKEN_REQUEST_TOKEN` is a new
    /// token whose ID tokens carry `claims` merged over the issuer's template
    /// ([`oidc::Issuer::request_token_for`]), so processes running at once can hold
    /// different claims.
    pub fn env_for_run(&self, claims: Value) -> Vec<(String, String)> {
        self.env_with_request_token(self.issuer.request_token_for(claims))
    }

    fn env_with_request_token(&self, request_token: String) -> Vec<(String, String)> {
        vec![
            ("GITHUB_API_URL".into(), self.url.clone()),
            ("JITAA_OIDC_ISSUER".into(), self.url.clone()),
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL".into(),
                format!("{}/_actions/token?api-version=2.0", self.url),
            ),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(), request_token),
        ]
    }

    /// Adds a user and returns the API token that authenticates as them.
    pub fn add_user(&self, login: &str, id: u64) -> String {
        self.shared.lock().add_user(login, id, "User")
    }

    /// Adds a bot account (`type: Bot`, like `github-actions[bot]`); returns its token.
    pub fn add_bot(&self, login: &str, id: u64) -> String {
        self.shared.lock().add_user(login, id, "Bot")
    }

    /// Adds a repository `owner/name` (default branch `main`).
    pub fn add_repo(&self, full_name: &str) {
        self.shared.lock().add_repo(full_name);
    }

    /// Sets a collaborator's role: admin, maintain, write, triage or read ("none" removes).
    pub fn set_permission(&self, repo: &str, login: &str, role: &str) {
        let mut st = self.shared.lock();
        if let Some(r) = st.repos.get_mut(repo) {
            if role == "none" {
                r.roles.remove(login);
            } else {
                r.roles.insert(login.into(), role.into());
            }
        }
    }

    pub fn add_team(&self, org: &str, slug: &str, members: &[&str]) {
        self.shared.lock().teams.insert(
            (org.into(), slug.into()),
            members.iter().map(|m| m.to_string()).collect(),
        );
    }

    /// Opens a pull request; returns its number (0 if the repository is unknown).
    pub fn add_pr(&self, repo: &str, spec: PrSpec) -> u64 {
        self.shared.lock().add_pr(repo, spec).unwrap_or(0)
    }

    /// Moves a PR's head to a new commit (a push to the PR branch), recorded in the
    /// repository's activity with the stand-in's clock.
    pub fn set_pr_head(&self, repo: &str, number: u64, sha: &str) {
        self.shared.lock().move_pr_head(repo, number, sha, false);
    }

    /// Moves a PR's head with no activity entry: GitHub shows no change of a branch it
    /// does not hold (a PR whose head lives in a fork), so nothing says when it moved.
    pub fn set_pr_head_unrecorded(&self, repo: &str, number: u64, sha: &str) {
        let mut st = self.shared.lock();
        if let Some(p) = st
            .repos
            .get_mut(repo)
            .and_then(|r| r.issues.get_mut(&number))
            .and_then(|i| i.pr.as_mut())
        {
            p.head_sha = sha.into();
        }
    }

    /// Merges a PR as GitHub's merge button does: `merge_sha` is the merge commit the
    /// test made on the base branch; the PR is closed and marked merged, and the push to
    /// the base branch is listed in the activity API (`pr_merge`) with `before` → `merge_sha`.
    pub fn merge_pr(&self, repo: &str, number: u64, before: &str, merge_sha: &str, by: &str) {
        let mut st = self.shared.lock();
        let at = state::now();
        let Some(p) = st
            .repos
            .get_mut(repo)
            .and_then(|r| r.issues.get_mut(&number))
            .and_then(|i| {
                i.state = "closed".into();
                i.pr.as_mut()
            })
        else {
            return;
        };
        p.merged = Some((merge_sha.into(), at));
        let base_ref = p.base_ref.clone();
        st.record_activity(repo, &base_ref, before, merge_sha, "pr_merge", by);
    }

    /// Lists a push to `branch` in the activity API, as GitHub does for every push it
    /// receives: `kind` is `push`, `force_push`, `branch_creation`, ….
    pub fn add_push_activity(
        &self,
        repo: &str,
        branch: &str,
        before: &str,
        after: &str,
        actor: &str,
        kind: &str,
    ) {
        self.shared
            .lock()
            .record_activity(repo, branch, before, after, kind, actor);
    }

    /// [`Self::set_pr_head`] for a force-push (recorded as `force_push`).
    pub fn force_pr_head(&self, repo: &str, number: u64, sha: &str) {
        self.shared.lock().move_pr_head(repo, number, sha, true);
    }

    /// Opens an issue as `login`; returns its number (0 if the repository is unknown).
    pub fn open_issue(&self, login: &str, repo: &str, title: &str, body: &str) -> u64 {
        self.shared
            .lock()
            .open_issue(repo, login, title, body, Vec::new(), None)
            .unwrap_or(0)
    }

    /// Comments as `login` on an issue or PR. None if the repo or issue is unknown.
    pub fn comment_as(&self, login: &str, repo: &str, issue: u64, body: &str) -> Option<Comment> {
        self.shared.lock().add_comment(repo, issue, login, body)
    }

    pub fn edit_comment(&self, id: u64, body: &str) -> Option<Comment> {
        self.shared.lock().edit_comment(id, body)
    }

    /// Submits a review (`APPROVED`, `CHANGES_REQUESTED`, `COMMENTED`); `commit_id`
    /// defaults to the PR's current head.
    pub fn review_as(
        &self,
        login: &str,
        repo: &str,
        pr: u64,
        state: &str,
        commit_id: Option<&str>,
    ) -> Option<Review> {
        self.shared
            .lock()
            .add_review(repo, pr, login, state, commit_id)
    }

    pub fn comments(&self, repo: &str, issue: u64) -> Vec<Comment> {
        let st = self.shared.lock();
        st.repos
            .get(repo)
            .and_then(|r| r.issues.get(&issue))
            .map(|i| {
                i.comments
                    .iter()
                    .filter_map(|id| st.comments.get(id).map(|(_, c)| c.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// (number, title, body, labels) of every issue that is not a PR.
    pub fn issues(&self, repo: &str) -> Vec<(u64, String, String, Vec<String>)> {
        let st = self.shared.lock();
        st.repos
            .get(repo)
            .map(|r| {
                r.issues
                    .values()
                    .filter(|i| i.pr.is_none())
                    .map(|i| (i.number, i.title.clone(), i.body.clone(), i.labels.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn reactions(&self, comment_id: u64) -> Vec<Reaction> {
        self.shared
            .lock()
            .reactions
            .get(&comment_id)
            .cloned()
            .unwrap_or_default()
    }

    pub fn check_runs(&self, repo: &str, sha: &str) -> Vec<CheckRun> {
        let st = self.shared.lock();
        st.repos
            .get(repo)
            .map(|r| {
                r.check_runs
                    .iter()
                    .filter(|c| c.head_sha == sha)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn statuses(&self, repo: &str, sha: &str) -> Vec<CommitStatus> {
        let st = self.shared.lock();
        st.repos
            .get(repo)
            .map(|r| {
                r.statuses
                    .iter()
                    .filter(|c| c.sha == sha)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Makes `path` at `git_ref` (branch name or sha) readable through the contents API.
    pub fn set_file(&self, repo: &str, git_ref: &str, path: &str, content: &[u8]) {
        if let Some(r) = self.shared.lock().repos.get_mut(repo) {
            r.contents
                .insert((git_ref.into(), path.into()), content.to_vec());
        }
    }

    /// The user's token lacks `checks: write`: check-run writes get 403.
    pub fn deny_checks_write(&self, login: &str) {
        self.shared.lock().no_checks_write.push(login.into());
    }

    /// The user's token lacks `actions: write`: workflow re-runs get 403.
    pub fn deny_actions_write(&self, login: &str) {
        self.shared.lock().no_actions_write.push(login.into());
    }

    /// The run ids of the accepted re-runs of `repo`'s workflow runs, in order.
    pub fn reruns(&self, repo: &str) -> Vec<u64> {
        self.shared
            .lock()
            .reruns
            .iter()
            .filter(|r| r.repo == repo)
            .map(|r| r.run_id)
            .collect()
    }

    /// Every accepted re-run, with who asked and when.
    pub fn rerun_log(&self) -> Vec<Rerun> {
        self.shared.lock().reruns.clone()
    }

    /// Writes an event payload (see [`events`]) to `path`, for `GITHUB_EVENT_PATH`.
    pub fn write_event(path: &Path, value: &Value) -> std::io::Result<()> {
        events::write(path, value)
    }

    /// [`events::issue_comment`] for a comment of this stand-in (from
    /// [`Self::comment_as`]), with the issue's number, kind (PR or not), author, title,
    /// body and state, the commenter's id and type and `author_association`, and the
    /// repository's id filled in. None if the repository or issue is unknown.
    pub fn issue_comment_event(&self, repo: &str, comment: &Comment) -> Option<Value> {
        let st = self.shared.lock();
        let r = st.repos.get(repo)?;
        let issue = r.issues.get(&comment.issue)?;
        let commenter = st.user(&comment.user);
        let mut v =
            events::issue_comment(repo, issue.number, issue.pr.is_some(), comment, &commenter);
        let author = st.user(&issue.user);
        let i = &mut v["issue"];
        i["id"] = json!(issue.id);
        i["title"] = json!(issue.title);
        i["body"] = json!(issue.body);
        i["state"] = json!(issue.state);
        i["comments"] = json!(issue.comments.len());
        i["created_at"] = json!(issue.created_at);
        i["updated_at"] = json!(issue.updated_at);
        i["user"] = events::user(&author.login, author.id, &author.kind);
        i["author_association"] = json!(st.association(repo, &issue.user));
        let label = |l: &String| {
            json!({"id": 0, "node_id": "", "name": l, "color": "ededed", "default": false,
                "description": null,
                "url": format!("https://api.github.com/repos/{repo}/labels/{l}")})
        };
        i["labels"] = json!(issue.labels.iter().map(label).collect::<Vec<_>>());
        i["node_id"] = json!(format!("I_{}", issue.id));
        v["comment"]["author_association"] = json!(st.association(repo, &comment.user));
        v["repository"]["id"] = json!(r.id);
        Some(v)
    }

    /// [`events::check_run_requested_action`] for check run `check_id` of `repo`, clicked
    /// by `sender_login` (a known user; id 0 otherwise): `check_run.pull_requests` lists
    /// the stand-in's open PRs whose head is the run's sha, and the repository's id is
    /// the stand-in's. None if the repository or check run is unknown.
    pub fn check_run_requested_action_event(
        &self,
        repo: &str,
        check_id: u64,
        identifier: &str,
        sender_login: &str,
    ) -> Option<Value> {
        let st = self.shared.lock();
        let r = st.repos.get(repo)?;
        let check = r.check_runs.iter().find(|c| c.id == check_id)?;
        let sender = st.user(sender_login);
        let mut v =
            events::check_run_requested_action(repo, check, identifier, sender_login, sender.id);
        v["sender"]["type"] = json!(sender.kind);
        let prs: Vec<Value> = r
            .issues
            .values()
            .filter(|i| i.state == "open")
            .filter_map(|i| i.pr.as_ref().map(|p| (i.number, p)))
            .filter(|(_, p)| p.head_sha == check.head_sha)
            .map(|(n, p)| {
                let mut e = events::pull_ref(
                    repo,
                    r.id,
                    n,
                    (&p.head_sha, &p.head_ref),
                    (&p.base_sha, &p.base_ref),
                );
                e["id"] = json!(p.id);
                e
            })
            .collect();
        if let Some(head_ref) = prs.first().map(|p| p["head"]["ref"].clone()) {
            v["check_run"]["check_suite"]["head_branch"] = head_ref;
        }
        v["check_run"]["pull_requests"] = json!(prs);
        v["check_run"]["check_suite"]["pull_requests"] = json!(prs);
        v["repository"]["id"] = json!(r.id);
        Some(v)
    }

    /// [`events::pull_request_review_submitted`] for a review of this stand-in (from
    /// [`Self::review_as`]) on PR `pr`, with the PR's author, title, head and base, the
    /// reviewer's id and type, and the repository's id. None if the PR is unknown.
    pub fn pull_request_review_event(&self, repo: &str, pr: u64, review: &Review) -> Option<Value> {
        let st = self.shared.lock();
        let r = st.repos.get(repo)?;
        let issue = r.issues.get(&pr)?;
        let p = issue.pr.as_ref()?;
        let spec = PrSpec {
            number: Some(pr),
            title: issue.title.clone(),
            author: issue.user.clone(),
            head_sha: p.head_sha.clone(),
            head_ref: p.head_ref.clone(),
            base_sha: p.base_sha.clone(),
            base_ref: p.base_ref.clone(),
            files: Vec::new(),
        };
        let reviewer = st.user(&review.user);
        let mut v = events::pull_request_review_submitted(repo, pr, review, &reviewer, &spec);
        let author = st.user(&issue.user);
        v["pull_request"]["user"] = events::user(&author.login, author.id, &author.kind);
        v["pull_request"]["id"] = json!(p.id);
        v["pull_request"]["state"] = json!(issue.state);
        v["review"]["author_association"] = json!(st.association(repo, &review.user));
        v["repository"]["id"] = json!(r.id);
        Some(v)
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// Schedules a fault for the next matching request(s).
    pub fn inject(&self, fault: Fault) {
        self.shared.lock().faults.push(fault);
    }

    /// Answers this fraction (0.0..=1.0) of API requests with a 502.
    pub fn set_error_rate(&self, rate: f64) {
        self.shared.lock().error_rate = rate;
    }

    /// Delays every API request.
    pub fn set_delay(&self, delay: Duration) {
        self.shared.lock().delay = delay;
    }

    /// A primary rate limit of `limit` charged requests per `window`; once spent,
    /// requests get 403 with `x-ratelimit-remaining: 0` until `x-ratelimit-reset`.
    pub fn set_rate_limit(&self, limit: u64, window: Duration) {
        let mut st = self.shared.lock();
        st.rate_limit = limit;
        st.rate_window = window.as_secs().max(1);
        st.window_used = 0;
        st.rate_reset = chrono::Utc::now().timestamp() as u64 + st.rate_window;
    }

    /// Requests charged against the rate limit so far (304s are free).
    pub fn rate_used(&self) -> u64 {
        self.shared.lock().rate_used
    }
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
