//! A `jitaa decide` process as the default branch's `.github/workflows/jitaa.yml` would
//! start it on a GitHub event: the event's payload at GITHUB_EVENT_PATH (real webhook
//! shapes, from the stand-in's `fakehub::events` or the fixtures), the token of a run
//! of that workflow on `refs/heads/main`, keyless (no signing key).

use std::collections::HashMap;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use super::REPO;
use super::gate::{Done, Running};
use super::process::jitaa;
use super::world::World;

/// The workflow file decide runs in, and its ref when trusted.
pub const DECIDE_WORKFLOW: &str = "acme/api/.github/workflows/jitaa.yml@refs/heads/main";

/// Keyless: records signed only with GitHub OIDC tokens; runs of `jitaa.yml` on the
/// default branch certify.
pub const KEYLESS_POLICY: &str = "version: 1
oidc: required
audit:
  signing: [github-oidc]
  trusted_workflows: [.github/workflows/jitaa.yml]
defaults:
  approvals: 1
  approvers: codeowners
  timeout: 30m
  ttl: 15m
";

impl World {
    /// `jitaa decide` on `event` with `payload`, the run started by `actor`.
    pub fn decide(&self, event: &str, payload: &Value, actor: &str) -> Decide<'_> {
        let dir = tempfile::tempdir_in(self.tmp.path()).expect("run dir");
        let path = dir.path().join("event.json");
        std::fs::write(&path, payload.to_string()).unwrap();
        let main = self.remote_sha("main").expect("main on origin");
        let mut env = HashMap::new();
        for (k, v) in [
            ("GITHUB_EVENT_NAME", event),
            ("GITHUB_SHA", main.as_str()),
            ("GITHUB_REF", "refs/heads/main"),
            ("GITHUB_ACTOR", actor),
            ("GITHUB_RUN_ID", "5151"),
            ("GITHUB_RUN_ATTEMPT", "1"),
        ] {
            env.insert(k.to_string(), v.to_string());
        }
        let claims = json!({
            "repository": REPO,
            "repository_owner": "acme",
            "sha": main,
            "ref": "refs/heads/main",
            "event_name": event,
            "actor": actor,
            "run_id": "5151",
            "run_attempt": "1",
            "environment": null,
            "workflow_ref": DECIDE_WORKFLOW,
            "job_workflow_ref": DECIDE_WORKFLOW,
        });
        Decide {
            world: self,
            dir,
            env,
            claims,
            checkout: self.work.clone(),
        }
    }

    /// A fresh clone of origin, as a CI job checks out the default branch.
    pub fn ci_clone(&self) -> std::path::PathBuf {
        let dir = tempfile::tempdir_in(self.tmp.path())
            .expect("ci dir")
            .keep();
        super::process::git(
            &dir,
            &["clone", "--quiet", self.origin.to_str().unwrap(), "ci"],
        );
        dir.join("ci")
    }

    /// `login` comments `body` on the request issue `issue`, and the default branch's
    /// decide runs on it in a CI checkout, signing with the certifier key.
    pub fn comment_and_decide(&self, login: &str, issue: u64, body: &str) -> Done {
        let event = self.comment_event(login, issue, body);
        let ci = self.ci_clone();
        self.decide("issue_comment", &event, login)
            .in_dir(&ci)
            .env("JITAA_SIGNING_KEY", self.key.to_str().unwrap())
            .run()
    }

    /// Comments `body` as `login` on `issue` and returns the `issue_comment` payload
    /// GitHub would send for it.
    pub fn comment_event(&self, login: &str, issue: u64, body: &str) -> Value {
        let c = self
            .hub
            .comment_as(login, REPO, issue, body)
            .expect("comment");
        self.hub
            .issue_comment_event(REPO, &c)
            .expect("the comment's payload")
    }

    /// `audit verify` of origin's keyless audit branch, offline: the issuer's keys from a
    /// file (`--jwks`), no allowed signers; asserts it passes.
    pub fn assert_verifies_keyless(&self) {
        let jwks = self.tmp.path().join("issuer-jwks.json");
        std::fs::write(&jwks, self.hub.oidc().jwks().to_string()).unwrap();
        let out = jitaa()
            .args([
                "--repo",
                self.origin.to_str().unwrap(),
                "audit",
                "verify",
                "--jwks",
            ])
            .arg(&jwks)
            .args(["--issuer", &self.hub.oidc().base_url()])
            .output()
            .expect("jitaa audit verify");
        assert!(
            out.status.success(),
            "audit verify failed: {}",
            super::process::text(&out)
        );
    }
}

/// A `jitaa decide` process being prepared.
pub struct Decide<'w> {
    world: &'w World,
    dir: tempfile::TempDir,
    env: HashMap<String, String>,
    claims: Value,
    checkout: std::path::PathBuf,
}

impl Decide<'_> {
    /// Runs in `dir` (a CI checkout) instead of the world's checkout.
    pub fn in_dir(mut self, dir: &std::path::Path) -> Self {
        self.checkout = dir.to_path_buf();
        self
    }

    /// Another workflow ref for the run's token (`…@refs/pull/1/merge`, another branch).
    pub fn workflow(mut self, job_workflow_ref: &str) -> Self {
        self.claims["job_workflow_ref"] = json!(job_workflow_ref);
        self.claims["workflow_ref"] = json!(job_workflow_ref);
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.insert(k.into(), v.into());
        self
    }

    fn command(&self) -> Command {
        let w = self.world;
        w.hub.oidc().set_claims(self.claims.clone());
        let mut cmd = jitaa();
        cmd.current_dir(&self.checkout)
            .arg("decide")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_REPOSITORY", REPO)
            .env("GITHUB_SERVER_URL", w.hub.url())
            .env("GITHUB_TOKEN", &w.bot_token)
            .env("GITHUB_OUTPUT", self.dir.path().join("github_output"))
            .env("GITHUB_STEP_SUMMARY", self.dir.path().join("step_summary"))
            .env("GITHUB_EVENT_PATH", self.dir.path().join("event.json"));
        for (k, v) in w.hub.env() {
            cmd.env(k, v);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run(self) -> Done {
        let out = self.command().output().expect("jitaa decide runs");
        Done::from_output(
            out,
            &self.dir.path().join("github_output"),
            &self.dir.path().join("step_summary"),
        )
    }

    pub fn spawn(self) -> Running {
        let child = self
            .command()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("jitaa decide starts");
        Running::new(
            child,
            self.dir.path().join("github_output"),
            self.dir.path().join("step_summary"),
            self.dir,
        )
    }
}
