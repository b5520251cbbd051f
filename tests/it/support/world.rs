//! The [`World`]: a GitHub stand-in, a bare `origin`, and a checkout whose `main` holds
//! the policy, CODEOWNERS and the trusted keys. Two stories start from it:
//!
//! - CI ([`World::new`]): alice's workflow runs `jitaa gate` (see [`super::gate`]) or
//!   she runs `jitaa request`; bob and carol own the code.
//! - A developer's clone ([`World::with_hook`]): bob pushes through the installed
//!   pre-push hook, his git SSH key signing his push records (a pusher key); alice owns
//!   the code.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fakehub::{FakeHub, PrSpec};
use serde_json::Value;

use super::keys::{Key, signers_line, ssh_keygen};
use super::process::{git, git_cmd, git_raw, jitaa, run_with_stdin, text, write};
use super::records::{self, AUDIT, Grant};
use super::{BOT, REPO};

/// Code owners in CI: bob and carol own everything; dave owns docs/.
pub const CODEOWNERS: &str = "* @bob @carol\n/docs/ @dave\n";

/// CI: one approval from a code owner; records signed with the certifier key.
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

/// On bob's clone: alice owns everything.
pub const HOOK_CODEOWNERS: &str = "* @alice\n/docs/ @alice\n";

/// On bob's clone: main and release/* protected, one approval from a code owner.
pub const HOOK_POLICY: &str = "version: 1
audit:
  branch: jitaa/audit
  allowed_signers: .github/jitaa-allowed-signers
protected_branches: [main, \"release/*\"]
defaults:
  approvals: 1
  approvers: codeowners
  ttl: 15m
rules:
  - name: docs-only
    match: { paths: [\"docs/**\"] }
    approvals: 0
";

/// The stand-in's users: login, id, permission on the repository.
pub const USERS: [(&str, u64, &str); 5] = [
    ("alice", 1, "write"),
    ("bob", 2, "write"),
    ("carol", 3, "write"),
    ("dave", 4, "write"),
    ("mallory", 5, "read"),
];

pub struct World {
    pub hub: FakeHub,
    pub tmp: tempfile::TempDir,
    /// The bare `origin`.
    pub origin: PathBuf,
    /// The checkout the gate runs in, or bob's clone.
    pub work: PathBuf,
    /// `main`'s first commit (policy, CODEOWNERS, keys).
    pub main: String,
    /// API tokens of the stand-in's users, by login.
    pub tokens: HashMap<String, String>,
    pub bot_token: String,
    /// Who asks (login, id): alice in CI, bob on his clone.
    pub requester: (&'static str, u64),
    /// The code owner whose approval a grant carries: bob in CI, alice on bob's clone.
    pub owner: (&'static str, u64),
    /// The certifier key (CI's `JITAA_SIGNING_KEY`): signs the gate's records and grants;
    /// trusted in main's `.github/jitaa-allowed-signers`.
    pub key: PathBuf,
    /// main's allowed signers as a file: the trusted certifiers.
    pub allowed_signers: PathBuf,
    /// main's pusher signers as a file (bob's git key), on bob's clone only.
    pub pushers: Option<PathBuf>,
}

impl World {
    /// The stand-in with [`USERS`] and the Actions bot, an empty bare `origin` and a
    /// checkout with `origin` as its remote, and a certifier key.
    fn start(requester: (&'static str, u64), owner: (&'static str, u64)) -> World {
        let hub = FakeHub::start_blocking();
        hub.add_repo(REPO);
        let bot_token = hub.add_bot(BOT, 41898282);
        let mut tokens = HashMap::new();
        for (login, id, role) in USERS {
            tokens.insert(login.to_string(), hub.add_user(login, id));
            hub.set_permission(REPO, login, role);
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let origin = tmp.path().join("origin.git");
        let work = tmp.path().join("work");
        git(
            tmp.path(),
            &["init", "--quiet", "--bare", "-b", "main", "origin.git"],
        );
        git(tmp.path(), &["init", "--quiet", "-b", "main", "work"]);
        git(
            &work,
            &["remote", "add", "origin", origin.to_str().unwrap()],
        );
        let key = Key::generate(&tmp.path().join("keys").join("certifier"), "jitaa@acme");
        World {
            hub,
            origin,
            work,
            main: String::new(),
            tokens,
            bot_token,
            requester,
            owner,
            key: key.private,
            allowed_signers: key.allowed,
            pushers: None,
            tmp,
        }
    }

    /// CI: stand-in users alice (1, the requester), bob (2) and carol (3) code owners
    /// with write, dave (4, write, owns docs/), mallory (5, read), and the Actions bot;
    /// `policy`, [`CODEOWNERS`] and the certifier key on main.
    pub fn new(policy: &str) -> World {
        let mut w = World::start(("alice", 1), ("bob", 2));
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

    /// bob's clone with `jitaa hook install`ed: origin has main ([`HOOK_POLICY`],
    /// [`HOOK_CODEOWNERS`], the certifier key as allowed signer, bob's git key as pusher
    /// key, code, docs) and release/1; bob's git SSH signing key (ssh-keygen, at
    /// `keys/bob_ed25519`) signs his push records.
    pub fn with_hook() -> World {
        Self::with_hooks_path(None)
    }

    /// [`World::with_hook`] with `core.hooksPath` set first.
    pub fn with_hooks_path(hooks_path: Option<&str>) -> World {
        Self::hook_world(hooks_path, HOOK_POLICY)
    }

    /// [`World::with_hook`] with another policy on main.
    pub fn with_hook_policy(policy: &str) -> World {
        Self::hook_world(None, policy)
    }

    fn hook_world(hooks_path: Option<&str>, policy: &str) -> World {
        let mut w = World::start(("bob", 2), ("alice", 1));
        let work = w.work.clone();
        git(&work, &["config", "jitaa.repository", REPO]);
        let keys = w.tmp.path().join("keys");
        let (bob_key, bob_pub) = ssh_keygen(&keys, "bob_ed25519", "bob@example.com");
        git(&work, &["config", "gpg.format", "ssh"]);
        git(
            &work,
            &["config", "user.signingkey", bob_key.to_str().unwrap()],
        );
        // Roles: the certifier key certifies; bob's git key signs his push records only.
        let signers = std::fs::read_to_string(&w.allowed_signers).unwrap();
        let pusher_signers = signers_line("bob@example.com", &bob_pub);
        let pushers = w.tmp.path().join("pusher_signers");
        std::fs::write(&pushers, &pusher_signers).unwrap();
        w.pushers = Some(pushers);

        write(&work, ".github/jitaa.yml", policy);
        write(&work, ".github/CODEOWNERS", HOOK_CODEOWNERS);
        write(&work, ".github/jitaa-allowed-signers", &signers);
        write(&work, ".github/jitaa-pusher-signers", &pusher_signers);
        write(&work, "src/lib.rs", "pub fn one() -> u32 { 1 }\n");
        write(&work, "docs/guide.md", "# Guide\n");
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", "initial"]);
        git(&work, &["push", "-q", "origin", "main", "main:release/1"]);
        git(&work, &["fetch", "-q", "origin"]);
        git(&work, &["remote", "set-head", "origin", "main"]);
        w.main = git(&work, &["rev-parse", "HEAD"]);

        if let Some(p) = hooks_path {
            git(&work, &["config", "core.hooksPath", p]);
        }
        let out = w.jitaa(&["hook", "install"], None);
        assert!(out.status.success(), "{}", text(&out));
        w
    }

    pub fn token(&self, login: &str) -> &str {
        &self.tokens[login]
    }

    /// Commits `files` on `branch` (created from main when new) and pushes it; the sha.
    pub fn commit(&self, branch: &str, files: &[(&str, &str)]) -> String {
        let verifies = |rev: &str| {
            git_raw(&self.work, &["rev-parse", "--verify", "--quiet", rev])
                .status
                .success()
        };
        let exists = verifies(&format!("refs/heads/{branch}"));
        let has_head = verifies("HEAD");
        if exists || !has_head {
            git(&self.work, &["checkout", "--quiet", "-B", branch]);
        } else {
            git(&self.work, &["checkout", "--quiet", "-b", branch, "main"]);
        }
        for (path, text) in files {
            write(&self.work, path, text);
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

    /// Commits `files` on the current branch, unpushed; the new sha.
    pub fn commit_local(&self, files: &[(&str, &str)], msg: &str) -> String {
        for (p, c) in files {
            write(&self.work, p, c);
        }
        git(&self.work, &["add", "-A"]);
        git(&self.work, &["commit", "-q", "-m", msg]);
        git(&self.work, &["rev-parse", "HEAD"])
    }

    /// [`Self::commit_local`] with the author and committer dates set to `date` (any
    /// format git reads, e.g. `@1700000000 +0000`), as a back-dating committer would.
    pub fn commit_local_dated(&self, files: &[(&str, &str)], msg: &str, date: &str) -> String {
        for (p, c) in files {
            write(&self.work, p, c);
        }
        git(&self.work, &["add", "-A"]);
        let out = git_cmd(&self.work)
            .env("GIT_COMMITTER_DATE", date)
            .env("GIT_AUTHOR_DATE", date)
            .args(["commit", "-q", "-m", msg])
            .output()
            .expect("git commit runs");
        assert!(out.status.success(), "{}", text(&out));
        git(&self.work, &["rev-parse", "HEAD"])
    }

    /// Opens a PR by the requester from `sha` onto main's first commit.
    pub fn open_pr(&self, sha: &str, files: &[&str]) -> u64 {
        self.hub.add_pr(
            REPO,
            PrSpec {
                author: self.requester.0.into(),
                head_sha: sha.into(),
                base_sha: self.main.clone(),
                files: files.iter().map(std::string::ToString::to_string).collect(),
                ..PrSpec::default()
            },
        )
    }

    /// `jitaa` in a terminal in the checkout, as `login`: the stand-in's API and
    /// `login`'s token, no Actions variables.
    pub fn terminal(&self, login: &str) -> Command {
        let mut cmd = jitaa();
        cmd.current_dir(&self.work)
            .env("GITHUB_API_URL", self.hub.url())
            .env("GITHUB_TOKEN", self.token(login))
            .env("JITAA_OIDC_ISSUER", self.hub.oidc().base_url());
        cmd
    }

    /// `jitaa --repo WORK ARGS` in the requester's terminal; `stdin` piped when given.
    pub fn jitaa(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = self.terminal(self.requester.0);
        cmd.arg("--repo").arg(&self.work).args(args);
        run_with_stdin(&mut cmd, stdin)
    }

    /// A `jitaa request` run by `login` (a developer's terminal), polling fast, its
    /// grant signed with the certifier key.
    pub fn request(&self, login: &str, args: &[&str]) -> Command {
        let mut cmd = self.terminal(login);
        cmd.arg("request")
            .args(["--poll", "200ms"])
            .args(args)
            .env("GITHUB_SERVER_URL", self.hub.url())
            .env("GITHUB_REPOSITORY", REPO);
        cmd
    }

    /// `git push ARGS` from the checkout by the requester: runs the installed hook.
    pub fn push(&self, args: &[&str]) -> Output {
        git_cmd(&self.work)
            .env("GITHUB_API_URL", self.hub.url())
            .env("GITHUB_TOKEN", self.token(self.requester.0))
            // A keyless grant is checked against the issuer's keys: the stand-in's.
            .env("JITAA_OIDC_ISSUER", self.hub.oidc().base_url())
            .arg("push")
            .args(args)
            .output()
            .expect("git push runs")
    }

    /// The sha of `branch` on origin, if it exists.
    pub fn remote_sha(&self, branch: &str) -> Option<String> {
        let out = git_raw(&self.origin, &["rev-parse", "--verify", "-q", branch]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// A grant for `sha` on `git_ref` (requested by the requester, approved by the owner)
    /// signed with the certifier key, on the checkout's audit branch and pushed to origin
    /// around the hook; its id.
    pub fn grant(&self, sha: &str, git_ref: &str, expires_in_secs: i64) -> String {
        self.grant_with(&self.key, sha, git_ref, expires_in_secs)
    }

    /// [`Self::grant`] signed with the OpenSSH key at `key`.
    pub fn grant_with(&self, key: &Path, sha: &str, git_ref: &str, expires_in_secs: i64) -> String {
        let id = Grant {
            sha,
            git_ref,
            requester: self.requester,
            approver: self.owner,
            expires_in_secs,
        }
        .append(&self.work, key);
        records::push_audit(&self.work, false);
        id
    }

    /// Rewrites the tip record of the checkout's audit branch with `edit` (optionally
    /// recomputing its digest) and force-pushes it to origin.
    pub fn tamper_tip(&self, edit: impl Fn(&mut Value), redigest: bool) {
        let repo = git2::Repository::open(&self.work).unwrap();
        records::tamper_tip(&repo, edit, redigest);
        records::push_audit(&self.work, true);
    }

    /// Every record on origin's audit branch, oldest first (payload, digest, signatures).
    pub fn records(&self) -> Vec<Value> {
        let repo = git2::Repository::open_bare(&self.origin).expect("origin");
        records::records_on(&repo, AUDIT)
    }

    /// The payloads of the records on origin's audit branch, oldest first.
    pub fn payloads(&self) -> Vec<Value> {
        self.records()
            .into_iter()
            .map(|mut r| r["payload"].take())
            .collect()
    }

    /// The last record's payload.
    pub fn last_record(&self) -> Value {
        self.records()
            .pop()
            .map(|r| r["payload"].clone())
            .expect("a record on origin's audit branch")
    }

    /// `jitaa audit verify` on origin with the trusted certifiers; asserts it passes.
    pub fn assert_verifies(&self) {
        let out = jitaa()
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
        assert!(out.status.success(), "audit verify failed: {}", text(&out));
    }

    /// `jitaa audit verify` over origin's audit branch in a fresh fetch into the clone,
    /// with the certifiers and the pusher keys.
    pub fn verify_audit(&self) -> Output {
        git(
            &self.work,
            &[
                "fetch",
                "-q",
                "origin",
                &format!("+{AUDIT}:refs/remotes/origin/{AUDIT}"),
            ],
        );
        let pushers = self.pushers.as_ref().expect("pusher keys on bob's clone");
        // Grants written by decide carry its GitHub OIDC token too: the issuer's keys.
        let jwks = self.tmp.path().join("issuer-jwks.json");
        std::fs::write(&jwks, self.hub.oidc().jwks().to_string()).unwrap();
        self.jitaa(
            &[
                "audit",
                "--ref",
                &format!("refs/remotes/origin/{AUDIT}"),
                "verify",
                "--allowed-signers",
                self.allowed_signers.to_str().unwrap(),
                "--pusher-signers",
                pushers.to_str().unwrap(),
                "--jwks",
                jwks.to_str().unwrap(),
                "--issuer",
                &self.hub.oidc().base_url(),
            ],
            None,
        )
    }
}
