//! A small world for end-to-end tests of the real `jitaa` binary: a GitHub stand-in
//! (fakehub, with its OIDC issuer), a local bare `origin`, a checkout with a policy,
//! CODEOWNERS and trusted keys on `main`, and builders for `jitaa gate` / `jitaa request`
//! processes with the environment GitHub Actions would give them.
//!
//! ```ignore
//! let w = World::new(POLICY);
//! let sha = w.commit("feature", &[("src/app.rs", "v2")]);
//! let pr = w.open_pr(&sha, &["src/app.rs"]);
//! let gate = w.gate(&sha).pr_event(pr).spawn();
//! w.wait_for_request(pr);
//! w.hub.comment_as("bob", REPO, pr, "/approve");
//! let done = gate.finish();
//! assert_eq!(done.code, 0);
//! ```
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use fakehub::{FakeHub, PrSpec};
use serde_json::{Value, json};

pub const REPO: &str = "acme/api";
pub const BOT: &str = "github-actions[bot]";

/// Code owners: bob and carol own everything; dave owns docs/.
pub const CODEOWNERS: &str = "* @bob @carol\n/docs/ @dave\n";

/// One approval from a code owner; records signed with the test's SSH key.
pub const POLICY: &str = "version: 1
oidc: required
audit:
  signing: [ssh]
defaults:
  approvals: 1
  approvers: codeowners
  timeout: 30m
  ttl: 15m
rules:
  - name: docs-only
    match: { paths: [\"docs/**\"] }
    approvals: 0
";

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_jitaa")
}

/// Child git processes never read the user's or system's configuration.
pub fn git_env(cmd: &mut Command) -> &mut Command {
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_env(Command::new("git").current_dir(dir).args(args))
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub struct World {
    pub hub: FakeHub,
    pub tmp: tempfile::TempDir,
    /// The bare `origin`.
    pub origin: PathBuf,
    /// The checkout the gate runs in.
    pub work: PathBuf,
    pub key: PathBuf,
    pub allowed_signers: PathBuf,
    pub bot_token: String,
    /// `main`'s first commit (policy, CODEOWNERS, keys).
    pub main: String,
    /// API tokens of the stand-in's users, by login.
    pub tokens: HashMap<String, String>,
}

impl World {
    /// Stand-in users: alice (1, the requester), bob (2) and carol (3) code owners with
    /// write, dave (4, write, owns docs/), mallory (5, read), and the Actions bot.
    pub fn new(policy: &str) -> World {
        let hub = FakeHub::start_blocking();
        hub.add_repo(REPO);
        let bot_token = hub.add_bot(BOT, 41898282);
        let mut tokens = HashMap::new();
        for (login, id, role) in [
            ("alice", 1, "write"),
            ("bob", 2, "write"),
            ("carol", 3, "write"),
            ("dave", 4, "write"),
            ("mallory", 5, "read"),
        ] {
            tokens.insert(login.to_string(), hub.add_user(login, id));
            hub.set_permission(REPO, login, role);
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let origin = tmp.path().join("origin.git");
        let work = tmp.path().join("work");
        let keys = tmp.path().join("keys");
        git(
            tmp.path(),
            &["init", "--quiet", "--bare", "-b", "main", "origin.git"],
        );
        git(tmp.path(), &["init", "--quiet", "-b", "main", "work"]);
        git(
            &work,
            &["remote", "add", "origin", origin.to_str().unwrap()],
        );
        let out = Command::new(bin())
            .args([
                "keygen",
                "--out",
                keys.to_str().unwrap(),
                "--principal",
                "jitaa@test",
            ])
            .output()
            .expect("jitaa keygen");
        assert!(out.status.success(), "keygen: {out:?}");
        let allowed_signers = keys.join("allowed_signers");
        let mut w = World {
            hub,
            origin,
            work,
            key: keys.join("jitaa_ed25519"),
            allowed_signers,
            bot_token,
            main: String::new(),
            tokens,
            tmp,
        };
        let signers = std::fs::read_to_string(&w.allowed_signers).unwrap();
        w.main = w.commit(
            "main",
            &[
                (".github/jitaa.yml", policy),
                (".github/CODEOWNERS", CODEOWNERS),
                (".github/jitaa-allowed-signers", &signers),
                ("src/app.rs", "v1\n"),
                ("docs/guide.md", "v1\n"),
            ],
        );
        w
    }

    /// Commits `files` on `branch` (created from main when new) and pushes it; the sha.
    pub fn commit(&self, branch: &str, files: &[(&str, &str)]) -> String {
        let exists = git_env(Command::new("git").current_dir(&self.work).args([
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}"),
        ]))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
        let has_head = git_env(Command::new("git").current_dir(&self.work).args([
            "rev-parse",
            "--verify",
            "--quiet",
            "HEAD",
        ]))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
        if exists || !has_head {
            git(&self.work, &["checkout", "--quiet", "-B", branch]);
        } else {
            git(&self.work, &["checkout", "--quiet", "-b", branch, "main"]);
        }
        for (path, text) in files {
            let p = self.work.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
            git(&self.work, &["add", path]);
        }
        git(
            &self.work,
            &["commit", "--quiet", "-m", &format!("change on {branch}")],
        );
        git(&self.work, &["push", "--quiet", "origin", branch]);
        git(&self.work, &["rev-parse", "HEAD"])
    }

    /// A merge commit of `head` into main (what GitHub runs `pull_request` workflows on),
    /// in the checkout only.
    pub fn merge_commit(&self, head: &str) -> String {
        git(&self.work, &["checkout", "--quiet", "--detach", &self.main]);
        git(
            &self.work,
            &["merge", "--quiet", "--no-ff", "--no-edit", head],
        );
        git(&self.work, &["rev-parse", "HEAD"])
    }

    /// Opens a PR by alice from `sha` onto main's first commit.
    pub fn open_pr(&self, sha: &str, files: &[&str]) -> u64 {
        self.hub.add_pr(
            REPO,
            PrSpec {
                author: "alice".into(),
                head_sha: sha.into(),
                base_sha: self.main.clone(),
                files: files.iter().map(|f| f.to_string()).collect(),
                ..PrSpec::default()
            },
        )
    }

    /// A `jitaa gate` for `sha` (a pull_request run by alice, attempt 1, no environment).
    pub fn gate(&self, sha: &str) -> Gate<'_> {
        let dir = tempfile::tempdir_in(self.tmp.path()).expect("run dir");
        let output = dir.path().join("github_output");
        let summary = dir.path().join("step_summary");
        let event = dir.path().join("event.json");
        std::fs::write(&event, "{}").unwrap();
        let mut g = Gate {
            world: self,
            dir,
            output,
            summary,
            event,
            args: vec!["gate".into(), "--poll".into(), "200ms".into()],
            env: HashMap::new(),
            claims: json!({}),
        };
        g.set_run(sha, "refs/pull/1/merge", "pull_request", "alice", "1");
        g
    }

    /// A `jitaa request` run by `login` (a developer's terminal: no Actions variables).
    pub fn request(&self, login: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin());
        git_env(&mut cmd);
        cmd.current_dir(&self.work)
            .arg("request")
            .args(["--poll", "200ms"])
            .args(args)
            .env("GITHUB_API_URL", self.hub.url())
            .env("GITHUB_SERVER_URL", self.hub.url())
            .env("GITHUB_REPOSITORY", REPO)
            .env("GITHUB_TOKEN", &self.tokens[login])
            .env("JITAA_SIGNING_KEY", &self.key)
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_OUTPUT")
            .env_remove("GH_TOKEN")
            .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
            .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
        cmd
    }

    /// The comments on an issue or PR.
    pub fn bodies(&self, issue: u64) -> Vec<(String, String)> {
        self.hub
            .comments(REPO, issue)
            .into_iter()
            .map(|c| (c.user, c.body))
            .collect()
    }

    /// Waits (up to 15 s) for a jitaa request comment on `issue`; its comment id.
    pub fn wait_for_request(&self, issue: u64) -> u64 {
        self.wait_for_requests(issue, 1)
    }

    /// Waits for the `n`th request comment on `issue`; its comment id.
    pub fn wait_for_requests(&self, issue: u64, n: usize) -> u64 {
        let start = Instant::now();
        loop {
            let reqs: Vec<u64> = self
                .hub
                .comments(REPO, issue)
                .into_iter()
                .filter(|c| c.body.contains("<!-- jitaa-request: "))
                .map(|c| c.id)
                .collect();
            if reqs.len() >= n {
                return reqs[n - 1];
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "no request comment on #{issue}: {:?}",
                self.bodies(issue)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the request issue jitaa opened; its number.
    pub fn wait_for_issue(&self) -> u64 {
        let start = Instant::now();
        loop {
            if let Some((n, ..)) = self.hub.issues(REPO).into_iter().next() {
                self.wait_for_request(n);
                return n;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "no request issue"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every record on origin's audit branch, oldest first (payloads with digest).
    pub fn records(&self) -> Vec<Value> {
        let repo = git2::Repository::open_bare(&self.origin).expect("origin");
        let Ok(tip) = repo.refname_to_id("refs/heads/jitaa/audit") else {
            return Vec::new();
        };
        jitaa::audit::chain::list(&repo, tip)
            .expect("audit branch lists")
            .into_iter()
            .map(|l| serde_json::to_value(&l.record).unwrap())
            .collect()
    }

    /// The last record's payload.
    pub fn last_record(&self) -> Value {
        self.records()
            .pop()
            .map(|r| r["payload"].clone())
            .expect("a record on origin's audit branch")
    }

    /// `jitaa audit verify` on origin with the test's trusted keys; asserts it passes.
    pub fn assert_verifies(&self) {
        let out = git_env(&mut Command::new(bin()))
            .args([
                "--repo",
                self.origin.to_str().unwrap(),
                "audit",
                "verify",
                "--allowed-signers",
            ])
            .arg(&self.allowed_signers)
            .output()
            .expect("jitaa audit verify");
        assert!(
            out.status.success(),
            "audit verify failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Reactions on a comment, as `user:content`.
    pub fn reactions(&self, comment: u64) -> Vec<String> {
        self.hub
            .reactions(comment)
            .into_iter()
            .map(|r| format!("{}:{}", r.user, r.content))
            .collect()
    }
}

/// A `jitaa gate` process being prepared.
pub struct Gate<'w> {
    world: &'w World,
    dir: tempfile::TempDir,
    pub output: PathBuf,
    pub summary: PathBuf,
    pub event: PathBuf,
    args: Vec<String>,
    env: HashMap<String, String>,
    claims: Value,
}

impl<'w> Gate<'w> {
    /// The run's sha, ref, event, actor and attempt, in GITHUB_* and in the token's claims.
    pub fn set_run(&mut self, sha: &str, git_ref: &str, event: &str, actor: &str, attempt: &str) {
        for (k, v) in [
            ("GITHUB_SHA", sha),
            ("GITHUB_REF", git_ref),
            ("GITHUB_EVENT_NAME", event),
            ("GITHUB_ACTOR", actor),
            ("GITHUB_RUN_ATTEMPT", attempt),
        ] {
            self.env.insert(k.into(), v.into());
        }
        let c = self.claims.as_object_mut().unwrap();
        c.insert("sha".into(), json!(sha));
        c.insert("ref".into(), json!(git_ref));
        c.insert("event_name".into(), json!(event));
        c.insert("actor".into(), json!(actor));
        c.insert("run_attempt".into(), json!(attempt));
    }

    /// Drops the default `--poll 200ms` (measurements use the real defaults).
    pub fn clear_args(&mut self) {
        self.args.truncate(1);
    }

    pub fn arg(mut self, a: &str) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.insert(k.into(), v.into());
        self
    }

    pub fn without_env(mut self, k: &str) -> Self {
        self.env.insert(k.into(), String::new());
        self
    }

    /// A `push` event from `before`.
    pub fn push_event(mut self, sha: &str, branch: &str, before: &str) -> Self {
        self.set_run(sha, &format!("refs/heads/{branch}"), "push", "alice", "1");
        std::fs::write(
            &self.event,
            json!({"before": before, "after": sha, "ref": format!("refs/heads/{branch}")})
                .to_string(),
        )
        .unwrap();
        self
    }

    /// Another event on `git_ref` (workflow_dispatch, schedule, ...), run by alice.
    pub fn event(mut self, name: &str, git_ref: &str) -> Self {
        let sha = self.env["GITHUB_SHA"].clone();
        self.set_run(&sha, git_ref, name, "alice", "1");
        self
    }

    /// `--environment ENV`, and the token's `environment` claim.
    pub fn environment(mut self, env: &str) -> Self {
        self.args.push("--environment".into());
        self.args.push(env.into());
        self.claims["environment"] = json!(env);
        self
    }

    /// A `pull_request` event payload for PR `number` with head `head`.
    pub fn pr_payload(self, number: u64, head: &str) -> Self {
        std::fs::write(
            &self.event,
            json!({"pull_request": {"number": number, "head": {"sha": head}}}).to_string(),
        )
        .unwrap();
        self
    }

    /// A re-run: GITHUB_RUN_ATTEMPT.
    pub fn attempt(mut self, n: u32) -> Self {
        let sha = self.env["GITHUB_SHA"].clone();
        let r = self.env["GITHUB_REF"].clone();
        let e = self.env["GITHUB_EVENT_NAME"].clone();
        let a = self.env["GITHUB_ACTOR"].clone();
        self.set_run(&sha, &r, &e, &a, &n.to_string());
        self
    }

    fn command(&self) -> Command {
        let w = self.world;
        w.hub.oidc().set_claims(json!({
            "repository": REPO,
            "repository_owner": "acme",
            "run_id": "4242",
        }));
        w.hub.oidc().set_claims(self.claims.clone());
        let mut cmd = Command::new(bin());
        git_env(&mut cmd);
        cmd.current_dir(&w.work)
            .args(&self.args)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_REPOSITORY", REPO)
            .env("GITHUB_SERVER_URL", w.hub.url())
            .env("GITHUB_RUN_ID", "4242")
            .env("GITHUB_TOKEN", &w.bot_token)
            .env("GITHUB_OUTPUT", &self.output)
            .env("GITHUB_STEP_SUMMARY", &self.summary)
            .env("GITHUB_EVENT_PATH", &self.event)
            .env("JITAA_SIGNING_KEY", &w.key)
            .env_remove("GH_TOKEN")
            .env_remove("JITAA_LOG");
        for (k, v) in w.hub.env() {
            cmd.env(k, v);
        }
        for (k, v) in &self.env {
            if v.is_empty() {
                cmd.env_remove(k);
            } else {
                cmd.env(k, v);
            }
        }
        cmd
    }

    /// Runs to completion.
    pub fn run(self) -> Done {
        let out = self.command().output().expect("jitaa gate runs");
        Done::from_output(out, &self.output, &self.summary)
    }

    /// Starts the process; finish it with [`Running::finish`].
    pub fn spawn(self) -> Running {
        let child = self
            .command()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("jitaa gate starts");
        Running {
            child,
            output: self.output.clone(),
            summary: self.summary.clone(),
            _dir: self.dir,
        }
    }
}

pub struct Running {
    pub child: Child,
    output: PathBuf,
    summary: PathBuf,
    _dir: tempfile::TempDir,
}

impl Running {
    /// Waits (up to 20 s) for the process to exit.
    pub fn finish(mut self) -> Done {
        let start = Instant::now();
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            if start.elapsed() > Duration::from_secs(20) {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = self.child.wait_with_output().expect("output");
        Done::from_output(out, &self.output, &self.summary)
    }

    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }
}

/// How a process ended.
#[derive(Debug)]
pub struct Done {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// GITHUB_OUTPUT, parsed.
    pub outputs: HashMap<String, String>,
    pub summary: String,
}

impl Done {
    fn from_output(out: Output, output: &Path, summary: &Path) -> Done {
        Done {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            outputs: parse_outputs(&std::fs::read_to_string(output).unwrap_or_default()),
            summary: std::fs::read_to_string(summary).unwrap_or_default(),
        }
    }

    /// Asserts the exit code, showing the output when it differs.
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// `name<<DELIM\nvalue\nDELIM` blocks of a GITHUB_OUTPUT file.
pub fn parse_outputs(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.insert(name.to_string(), value.join("\n"));
        } else if let Some((k, v)) = line.split_once('=') {
            out.insert(k.to_string(), v.to_string());
        }
    }
    out
}
