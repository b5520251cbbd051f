//! Fixtures for the pre-push hook tests: a local bare `origin`, a developer clone with
//! `jitaa hook install`ed, a GitHub stand-in, keys, and `git push` runs that go through
//! the installed hook. Every child git ignores the user's and system git config.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use fakehub::{FakeHub, PrSpec};
use git2::Repository;
use jitaa::audit::{Actor, Approval, Decision, Draft, Kind, Signers, SshSigner, Store, Subject};
use jitaa::keys::SigningKey;

pub const REPO: &str = "acme/api";
pub const AUDIT: &str = "jitaa/audit";

pub const POLICY: &str = "version: 1
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

pub const CODEOWNERS: &str = "* @alice\n/docs/ @alice\n";

/// The environment every child git and jitaa gets: no user config, a fixed identity.
pub fn base_env(cmd: &mut Command) -> &mut Command {
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Bob Dev")
        .env("GIT_AUTHOR_EMAIL", "bob@example.com")
        .env("GIT_COMMITTER_NAME", "Bob Dev")
        .env("GIT_COMMITTER_EMAIL", "bob@example.com")
        .env_remove("GITHUB_REPOSITORY")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GH_TOKEN")
        .env_remove("JITAA_SIGNING_KEY")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("PRE_COMMIT_TO_REF")
        .env_remove("PRE_COMMIT_REMOTE_NAME")
        .env_remove("PRE_COMMIT_REMOTE_URL")
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
}

pub fn git_raw(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new("git");
    base_env(&mut cmd).current_dir(dir).args(args);
    cmd.output().expect("git runs")
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_raw(dir, args);
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// An SSH key made with ssh-keygen; returns (private key path, public key line).
pub fn ssh_key(dir: &Path, name: &str, comment: &str) -> (PathBuf, String) {
    std::fs::create_dir_all(dir).unwrap();
    let key = dir.join(name);
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(&key)
        .output()
        .expect("ssh-keygen runs");
    assert!(out.status.success(), "{}", text(&out));
    let public = std::fs::read_to_string(dir.join(format!("{name}.pub"))).unwrap();
    (key, public.trim().to_string())
}

fn signers_line(principal: &str, public: &str) -> String {
    let mut parts = public.split_whitespace();
    let (t, k) = (parts.next().unwrap(), parts.next().unwrap());
    format!("{principal} namespaces=\"jitaa-audit,git\" {t} {k}\n")
}

pub struct World {
    pub tmp: tempfile::TempDir,
    pub hub: FakeHub,
    pub origin: PathBuf,
    pub work: PathBuf,
    /// Signs grants (a certifier: CI's key); in main's allowed_signers.
    pub grant_key: PathBuf,
    /// The certifiers (the grant key), as on main.
    pub allowed: PathBuf,
    /// The pushers (bob's git key: push records only), as on main.
    pub pushers: PathBuf,
    pub bob_token: String,
    /// main's first commit.
    pub main0: String,
}

impl World {
    /// origin with main (policy, CODEOWNERS, allowed signers, code, docs) and
    /// release/1; a clone with the hook installed and bob's git SSH signing key.
    pub fn new() -> World {
        Self::with_hooks_path(None)
    }

    pub fn with_hooks_path(hooks_path: Option<&str>) -> World {
        let tmp = tempfile::tempdir().unwrap();
        let hub = FakeHub::start_blocking();
        hub.add_repo(REPO);
        let bob_token = hub.add_user("bob", 2);
        hub.add_user("alice", 1);
        hub.add_user("carol", 3);
        hub.set_permission(REPO, "alice", "write");
        hub.set_permission(REPO, "bob", "write");
        hub.set_permission(REPO, "carol", "write");

        let origin = tmp.path().join("origin.git");
        std::fs::create_dir_all(&origin).unwrap();
        git(&origin, &["init", "-q", "--bare", "-b", "main"]);
        let work = tmp.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        git(&work, &["init", "-q", "-b", "main"]);
        git(
            &work,
            &["remote", "add", "origin", origin.to_str().unwrap()],
        );
        git(&work, &["config", "jitaa.repository", REPO]);

        let keys = tmp.path().join("keys");
        let (bob_key, bob_pub) = ssh_key(&keys, "bob_ed25519", "bob@example.com");
        git(&work, &["config", "gpg.format", "ssh"]);
        git(
            &work,
            &["config", "user.signingkey", bob_key.to_str().unwrap()],
        );
        let g = jitaa::keys::generate(&keys.join("grant"), "jitaa@acme").unwrap();
        let grant_key = g.private_path.clone();
        // Roles: the grant key certifies; bob's git key signs his push records only.
        let signers = format!("{}\n", g.allowed_signers_line);
        let pusher_signers = signers_line("bob@example.com", &bob_pub);
        let allowed = tmp.path().join("trusted_signers");
        std::fs::write(&allowed, &signers).unwrap();
        let pushers = tmp.path().join("pusher_signers");
        std::fs::write(&pushers, &pusher_signers).unwrap();

        write(&work, ".github/jitaa.yml", POLICY);
        write(&work, ".github/CODEOWNERS", CODEOWNERS);
        write(&work, ".github/jitaa-allowed-signers", &signers);
        write(&work, ".github/jitaa-pusher-signers", &pusher_signers);
        write(&work, "src/lib.rs", "pub fn one() -> u32 { 1 }\n");
        write(&work, "docs/guide.md", "# Guide\n");
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", "initial"]);
        git(&work, &["push", "-q", "origin", "main", "main:release/1"]);
        git(&work, &["fetch", "-q", "origin"]);
        git(&work, &["remote", "set-head", "origin", "main"]);
        let main0 = git(&work, &["rev-parse", "HEAD"]);

        if let Some(p) = hooks_path {
            git(&work, &["config", "core.hooksPath", p]);
        }
        let w = World {
            tmp,
            hub,
            origin,
            work,
            grant_key,
            allowed,
            pushers,
            bob_token,
            main0,
        };
        let out = w.jitaa(&["hook", "install"], None);
        assert!(out.status.success(), "{}", text(&out));
        w
    }

    /// `jitaa --repo WORK ARGS` with the push environment; `stdin` piped when given.
    pub fn jitaa(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_jitaa"));
        base_env(&mut cmd);
        self.push_env(&mut cmd);
        cmd.current_dir(&self.work)
            .arg("--repo")
            .arg(&self.work)
            .args(args);
        match stdin {
            None => cmd.stdin(Stdio::null()).output().expect("jitaa runs"),
            Some(input) => {
                use std::io::Write;
                let mut child = cmd
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("jitaa runs");
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(input.as_bytes())
                    .unwrap();
                child.wait_with_output().unwrap()
            }
        }
    }

    fn push_env(&self, cmd: &mut Command) {
        cmd.env("GITHUB_API_URL", self.hub.url())
            .env("GITHUB_TOKEN", &self.bob_token);
    }

    /// `git push ARGS` from the clone: runs the installed hook.
    pub fn push(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("git");
        base_env(&mut cmd);
        self.push_env(&mut cmd);
        cmd.current_dir(&self.work).arg("push").args(args);
        cmd.output().expect("git push runs")
    }

    /// Commits `files` on the current branch; returns the new sha.
    pub fn commit(&self, files: &[(&str, &str)], msg: &str) -> String {
        for (p, c) in files {
            write(&self.work, p, c);
        }
        git(&self.work, &["add", "-A"]);
        git(&self.work, &["commit", "-q", "-m", msg]);
        git(&self.work, &["rev-parse", "HEAD"])
    }

    /// [`Self::commit`] with the author and committer dates set to `date` (any format
    /// git reads, e.g. `@1700000000 +0000`), as a back-dating committer would.
    pub fn commit_dated(&self, files: &[(&str, &str)], msg: &str, date: &str) -> String {
        for (p, c) in files {
            write(&self.work, p, c);
        }
        git(&self.work, &["add", "-A"]);
        let mut cmd = Command::new("git");
        base_env(&mut cmd)
            .current_dir(&self.work)
            .env("GIT_COMMITTER_DATE", date)
            .env("GIT_AUTHOR_DATE", date)
            .args(["commit", "-q", "-m", msg]);
        let out = cmd.output().expect("git commit runs");
        assert!(out.status.success(), "{}", text(&out));
        git(&self.work, &["rev-parse", "HEAD"])
    }

    /// The sha of `branch` on origin, if it exists.
    pub fn remote_sha(&self, branch: &str) -> Option<String> {
        let out = git_raw(&self.origin, &["rev-parse", "--verify", "-q", branch]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Opens a PR from bob with `head` into main.
    pub fn open_pr(&self, head: &str) -> u64 {
        self.hub.add_pr(
            REPO,
            PrSpec {
                author: "bob".into(),
                head_sha: head.into(),
                base_sha: self.main0.clone(),
                files: vec!["src/lib.rs".into()],
                ..PrSpec::default()
            },
        )
    }

    /// Writes a grant (a `decision: approved` record signed with the trusted grant key)
    /// on the clone's audit branch and pushes it to origin (without the hook).
    pub fn grant(&self, sha: &str, git_ref: &str, expires_in_secs: i64) -> String {
        let repo = Repository::open(&self.work).unwrap();
        let store = Store::new(&repo, AUDIT).unwrap();
        let mut d = Draft::new(
            Kind::Decision,
            REPO,
            Subject {
                sha: sha.into(),
                git_ref: Some(git_ref.into()),
                environment: None,
            },
            Actor {
                login: "bob".into(),
                id: 2,
            },
        );
        d.decision = Some(Decision::Approved);
        d.approvals = vec![Approval {
            login: "alice".into(),
            id: 1,
            via: "comment".into(),
            url: "https://github.com/acme/api/issues/9#issuecomment-1".into(),
            at: jitaa::audit::record::format_time(chrono::Utc::now()),
        }];
        d.expires_at = Some(chrono::Utc::now() + chrono::Duration::seconds(expires_in_secs));
        let key =
            SigningKey::from_openssh(&std::fs::read_to_string(&self.grant_key).unwrap(), "test")
                .unwrap();
        let appended = store
            .append(&d, &Signers::ssh(SshSigner::Key(key)))
            .unwrap();
        git(&self.work, &["push", "-q", "--no-verify", "origin", AUDIT]);
        appended.id
    }

    /// Rewrites the tip record of the local audit branch with `edit` (optionally
    /// recomputing its digest) and force-pushes it to origin.
    pub fn tamper_tip(&self, edit: impl Fn(&mut serde_json::Value), redigest: bool) {
        let repo = Repository::open(&self.work).unwrap();
        let tip = repo
            .find_reference(&format!("refs/heads/{AUDIT}"))
            .unwrap()
            .peel_to_commit()
            .unwrap();
        let parent = tip.parent(0).ok();
        let tree = tip.tree().unwrap();
        let changed = match &parent {
            Some(p) => repo
                .diff_tree_to_tree(Some(&p.tree().unwrap()), Some(&tree), None)
                .unwrap(),
            None => repo.diff_tree_to_tree(None, Some(&tree), None).unwrap(),
        };
        let path = changed
            .deltas()
            .filter_map(|d| d.new_file().path().map(|p| p.to_str().unwrap().to_string()))
            .find(|p| p.starts_with("records/"))
            .unwrap();
        let blob = repo
            .find_blob(tree.get_path(Path::new(&path)).unwrap().id())
            .unwrap();
        let mut doc: serde_json::Value = serde_json::from_slice(blob.content()).unwrap();
        edit(&mut doc["payload"]);
        if redigest {
            let jcs = jitaa::audit::record::jcs(&doc["payload"]).unwrap();
            doc["digest"] = jitaa::audit::record::digest_of(&jcs).into();
        }
        let new_blob = repo
            .blob(&serde_json::to_vec_pretty(&doc).unwrap())
            .unwrap();
        let mut idx = git2::Index::new().unwrap();
        idx.read_tree(&tree).unwrap();
        idx.add(&git2::IndexEntry {
            ctime: git2::IndexTime::new(0, 0),
            mtime: git2::IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode: 0o100644,
            uid: 0,
            gid: 0,
            file_size: 0,
            id: new_blob,
            flags: 0,
            flags_extended: 0,
            path: path.as_bytes().to_vec(),
        })
        .unwrap();
        let new_tree = repo.find_tree(idx.write_tree_to(&repo).unwrap()).unwrap();
        let sig = git2::Signature::now("mallory", "mallory@example.com").unwrap();
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        let c = repo
            .commit(None, &sig, &sig, "tampered", &new_tree, &parents)
            .unwrap();
        repo.reference(&format!("refs/heads/{AUDIT}"), c, true, "tamper")
            .unwrap();
        git(
            &self.work,
            &["push", "-q", "--no-verify", "--force", "origin", AUDIT],
        );
    }

    /// `jitaa audit verify` over origin's audit branch, in a fresh fetch.
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
        self.jitaa(
            &[
                "audit",
                "--ref",
                &format!("refs/remotes/origin/{AUDIT}"),
                "verify",
                "--allowed-signers",
                self.allowed.to_str().unwrap(),
                "--pusher-signers",
                self.pushers.to_str().unwrap(),
            ],
            None,
        )
    }

    /// The records on origin's audit branch, oldest first (payloads).
    pub fn remote_records(&self) -> Vec<serde_json::Value> {
        let repo = Repository::open(&self.origin).unwrap();
        let Ok(tip) = repo.refname_to_id(&format!("refs/heads/{AUDIT}")) else {
            return Vec::new();
        };
        jitaa::audit::chain::list(&repo, tip)
            .unwrap()
            .into_iter()
            .map(|l| serde_json::to_value(&l.record.payload).unwrap())
            .collect()
    }
}

pub fn write(dir: &Path, rel: &str, content: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}
