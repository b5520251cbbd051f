//! A `jitaa gate` process as GitHub Actions would start it (a `pull_request` run by alice,
//! attempt 1, no environment, unless told otherwise), with the OIDC token's claims kept
//! in step with the run, and how it ended: exit code, output, GITHUB_OUTPUT, summary.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use super::REPO;
use super::process::{jitaa, wait_for_exit};
use super::world::World;

impl World {
    /// A `jitaa gate` for `sha` (a pull_request run by alice, attempt 1, no environment,
    /// polling every 200 ms).
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

impl Gate<'_> {
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

    /// The token's claims besides those of the run (`job_workflow_ref`, ...).
    pub fn claims(mut self, extra: Value) -> Self {
        if let (Some(c), Value::Object(e)) = (self.claims.as_object_mut(), extra) {
            c.extend(e);
        }
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
        // The deploy workflow's run (a decide run before may have changed the claims).
        w.hub.oidc().set_claims(json!({
            "repository": REPO,
            "repository_owner": "acme",
            "run_id": "4242",
            "workflow_ref": "acme/api/.github/workflows/deploy.yml@refs/heads/main",
            "job_workflow_ref": "acme/api/.github/workflows/deploy.yml@refs/heads/main",
        }));
        w.hub.oidc().set_claims(self.claims.clone());
        let mut cmd = jitaa();
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
            .env("JITAA_SIGNING_KEY", &w.key);
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
    pub fn new(child: Child, output: PathBuf, summary: PathBuf, dir: tempfile::TempDir) -> Running {
        Running {
            child,
            output,
            summary,
            _dir: dir,
        }
    }

    /// Waits (up to 20 s) for the process to exit.
    pub fn finish(self) -> Done {
        let out = wait_for_exit(self.child, Duration::from_secs(20));
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
    pub fn from_output(out: Output, output: &Path, summary: &Path) -> Done {
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
