//! Shared fixtures for the audit tests: a repository with a signing key, records, and
//! git/jitaa runners that never read the user's git config.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use git2::Repository;
use jitaa::audit::record::Layout;
use jitaa::audit::{
    Actor, Approval, Decision, Draft, Kind, RuleRef, Signers, SshSigner, Store, Subject,
};
use jitaa::keys::SigningKey;

pub const BRANCH: &str = "jitaa/audit";

thread_local! {
    /// The layout fixtures made on this thread write (each test runs on its own thread).
    static LAYOUT: std::cell::Cell<Layout> = const { std::cell::Cell::new(Layout::Bucketed) };
}

/// Runs `test` with the fixtures it makes writing records in `layout`: a test written
/// for the bucketed layout runs again on a branch written before the bucket level.
pub fn in_layout(layout: Layout, test: fn()) {
    LAYOUT.with(|l| l.set(layout));
    test();
}

/// Makes child git processes independent of the user's configuration.
pub fn isolate_git() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| unsafe {
        std::env::set_var("GIT_CONFIG_GLOBAL", "/dev/null");
        std::env::set_var("GIT_CONFIG_NOSYSTEM", "1");
        std::env::set_var("GIT_AUTHOR_NAME", "test");
        std::env::set_var("GIT_AUTHOR_EMAIL", "test@example.com");
        std::env::set_var("GIT_COMMITTER_NAME", "test");
        std::env::set_var("GIT_COMMITTER_EMAIL", "test@example.com");
    });
}

pub fn git(dir: &Path, args: &[&str]) -> Output {
    isolate_git();
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A key generated with `jitaa keygen`'s code, its allowed_signers file.
pub struct Key {
    pub signing: SigningKey,
    pub allowed: PathBuf,
    pub private: PathBuf,
}

pub fn key(dir: &Path, principal: &str) -> Key {
    let g = jitaa::keys::generate(dir, principal).expect("keygen");
    let text = std::fs::read_to_string(&g.private_path).unwrap();
    Key {
        signing: SigningKey::from_openssh(&text, "test").unwrap(),
        allowed: g.allowed_signers_path,
        private: g.private_path,
    }
}

impl Key {
    pub fn signers(&self) -> Signers {
        let text = std::fs::read_to_string(&self.private).unwrap();
        Signers::ssh(SshSigner::Key(
            SigningKey::from_openssh(&text, "test").unwrap(),
        ))
    }
}

pub struct Fixture {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub key: Key,
    /// The layout [`Fixture::store`] writes ([`in_layout`] picks it).
    pub layout: Layout,
}

impl Fixture {
    /// A fresh repository (no work-tree commits needed) and a key in a sibling folder.
    pub fn new() -> Fixture {
        isolate_git();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("repo");
        Repository::init(&dir).unwrap();
        let key = key(&tmp.path().join("keys"), "jitaa@acme");
        let layout = LAYOUT.with(|l| l.get());
        Fixture {
            tmp,
            dir,
            key,
            layout,
        }
    }

    pub fn repo(&self) -> Repository {
        Repository::open(&self.dir).unwrap()
    }

    /// The audit branch's store, writing the fixture's layout.
    pub fn store<'r>(&self, repo: &'r Repository) -> Store<'r> {
        Store::new(repo, BRANCH).unwrap().with_layout(self.layout)
    }

    /// Appends `n` decision records; returns their digests in order.
    pub fn append(&self, n: usize) -> Vec<String> {
        let repo = self.repo();
        let store = self.store(&repo);
        let signers = self.key.signers();
        (0..n)
            .map(|i| {
                let a = store.append(&draft(i), &signers).unwrap();
                assert_eq!(Layout::of(&a.path), Some(self.layout), "{}", a.path);
                a.digest
            })
            .collect()
    }

    /// `jitaa --repo DIR audit ARGS...`
    pub fn jitaa(&self, args: &[&str]) -> Output {
        jitaa_in(&self.dir, args)
    }

    pub fn verify(&self, extra: &[&str]) -> Output {
        let allowed = self.key.allowed.to_str().unwrap().to_string();
        let mut args = vec!["verify", "--allowed-signers", allowed.as_str()];
        args.extend_from_slice(extra);
        self.jitaa(&args)
    }

    pub fn tip(&self) -> git2::Oid {
        self.repo()
            .refname_to_id(&format!("refs/heads/{BRANCH}"))
            .unwrap()
    }
}

pub fn jitaa_in(dir: &Path, args: &[&str]) -> Output {
    isolate_git();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jitaa"));
    cmd.arg("--repo").arg(dir).arg("audit").args(args);
    cmd.output().expect("jitaa runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// A decision record; `i` varies requester, environment and decision.
pub fn draft(i: usize) -> Draft {
    let mut d = Draft::new(
        Kind::Decision,
        "acme/api",
        Subject {
            sha: format!("{:040x}", i + 1),
            git_ref: Some("refs/heads/main".into()),
            environment: Some(
                if i.is_multiple_of(2) {
                    "production"
                } else {
                    "staging"
                }
                .into(),
            ),
        },
        Actor {
            login: if i.is_multiple_of(3) {
                "alice"
            } else {
                "carol"
            }
            .into(),
            id: 1,
        },
    );
    d.time = chrono::DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
        .unwrap()
        .to_utc()
        + chrono::Duration::minutes(i as i64);
    d.decision = Some(if i % 4 == 3 {
        Decision::Denied
    } else {
        Decision::Approved
    });
    d.approvals = vec![Approval {
        login: "bob".into(),
        id: 2,
        via: "comment".into(),
        url: "https://github.com/acme/api/pull/1#issuecomment-1".into(),
        at: "2026-11-25T12:00:00Z".into(),
    }];
    d.rule = Some(RuleRef {
        name: "production".into(),
        approvals: 1,
        policy_digest: format!("sha256:{}", "1".repeat(64)),
    });
    d.expires_at = Some(d.time + chrono::Duration::minutes(15));
    d.context = serde_json::json!({"actor": "alice", "run_id": "42"});
    d.context_source = Some(jitaa::audit::ContextSource::Oidc);
    d
}

/// Rewrites commit `target` of the first-parent chain with `edit` applied to its tree,
/// re-committing every later commit unchanged on top (history rewrite); moves the branch.
/// Later commits get the same tree edits as their originals (paths re-applied).
pub fn rewrite(repo: &Repository, commits: &[git2::Oid], new_trees: &[git2::Oid]) -> git2::Oid {
    let sig = git2::Signature::now("mallory", "m@evil").unwrap();
    let mut parent: Option<git2::Commit> = None;
    for (i, _) in commits.iter().enumerate() {
        let tree = repo.find_tree(new_trees[i]).unwrap();
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        let id = repo
            .commit(None, &sig, &sig, "rewritten", &tree, &parents)
            .unwrap();
        parent = Some(repo.find_commit(id).unwrap());
    }
    let tip = parent.unwrap().id();
    repo.reference(&format!("refs/heads/{BRANCH}"), tip, true, "force")
        .unwrap();
    tip
}

/// The first-parent commits of the branch, oldest first.
pub fn chain(repo: &Repository) -> Vec<git2::Oid> {
    let tip = repo.refname_to_id(&format!("refs/heads/{BRANCH}")).unwrap();
    jitaa::audit::chain::commits(repo, tip).unwrap()
}

/// Re-creates the chain from `trees` (oldest first), each commit signed with `key`
/// when given (an insider holding the commit key), and force-moves the branch.
pub fn rewrite_signed(repo: &Repository, trees: &[git2::Oid], key: Option<&Key>) -> git2::Oid {
    let sig = git2::Signature::now("mallory", "m@evil").unwrap();
    let signers = key.map(Key::signers);
    let mut parent: Option<git2::Commit> = None;
    for t in trees {
        let tree = repo.find_tree(*t).unwrap();
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        let msg = "rewritten\n";
        let id = match &signers {
            None => repo.commit(None, &sig, &sig, msg, &tree, &parents).unwrap(),
            Some(s) => {
                let buf = repo
                    .commit_create_buffer(&sig, &sig, msg, &tree, &parents)
                    .unwrap();
                let text = buf.as_str().unwrap().to_string();
                let signature = s.sign_commit(&text).unwrap().unwrap();
                repo.commit_signed(&text, &signature, None).unwrap()
            }
        };
        parent = Some(repo.find_commit(id).unwrap());
    }
    let tip = parent.unwrap().id();
    repo.reference(&format!("refs/heads/{BRANCH}"), tip, true, "force")
        .unwrap();
    tip
}

/// The trees of the chain's commits, oldest first.
pub fn trees(repo: &Repository) -> Vec<git2::Oid> {
    chain(repo)
        .iter()
        .map(|c| repo.find_commit(*c).unwrap().tree_id())
        .collect()
}

/// `tree` with `path` set to `content` (or removed).
pub fn edit_tree(
    repo: &Repository,
    tree: git2::Oid,
    path: &str,
    content: Option<&[u8]>,
) -> git2::Oid {
    let base = repo.find_tree(tree).unwrap();
    let mut b = git2::build::TreeUpdateBuilder::new();
    match content {
        Some(c) => {
            let blob = repo.blob(c).unwrap();
            b.upsert(path, blob, git2::FileMode::Blob);
        }
        None => {
            b.remove(path);
        }
    }
    b.create_updated(repo, &base).unwrap()
}

/// The record path each commit added, oldest first.
pub fn record_paths(repo: &Repository) -> Vec<String> {
    let tip = repo.refname_to_id(&format!("refs/heads/{BRANCH}")).unwrap();
    jitaa::audit::chain::list(repo, tip)
        .unwrap()
        .into_iter()
        .map(|l| l.path)
        .collect()
}

pub fn read_at(repo: &Repository, tree: git2::Oid, path: &str) -> Vec<u8> {
    let t = repo.find_tree(tree).unwrap();
    let e = t.get_path(Path::new(path)).unwrap();
    repo.find_blob(e.id()).unwrap().content().to_vec()
}
