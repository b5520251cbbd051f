//! Audit records: drafts, grants, reading an audit branch and rewriting it as an
//! attacker would, and the repository-with-a-key [`Fixture`] of the audit tests.

use std::path::{Path, PathBuf};
use std::process::Output;

use git2::Repository;
use jitaa::audit::record::Layout;
use jitaa::audit::{Actor, Approval, Decision, Draft, Kind, RuleRef, Signers, Store, Subject};
use serde_json::Value;

use super::keys::{Key, signers_of};
use super::process::{git, jitaa};

/// The audit branch.
pub const AUDIT: &str = "jitaa/audit";

thread_local! {
    /// The layout fixtures made on this thread write (each test runs on its own thread).
    static LAYOUT: std::cell::Cell<Layout> = const { std::cell::Cell::new(Layout::Bucketed) };
}

/// Runs `test` with the [`Fixture`]s it makes writing records in `layout`: a test
/// written for the bucketed layout runs again on a branch written before the bucket level.
pub fn in_layout(layout: Layout, test: fn()) {
    LAYOUT.with(|l| l.set(layout));
    test();
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

/// A grant: what `jitaa request --wait` records when an owner approves a push ahead.
pub struct Grant<'a> {
    pub sha: &'a str,
    /// `refs/heads/BRANCH`.
    pub git_ref: &'a str,
    /// Who asked (login, id).
    pub requester: (&'a str, u64),
    /// Who approved (login, id), by comment.
    pub approver: (&'a str, u64),
    /// Seconds from now; negative: already expired.
    pub expires_in_secs: i64,
}

impl Grant<'_> {
    /// Appends the grant (a `decision: approved` record) to the audit branch of the
    /// repository at `dir`, signed with the OpenSSH key at `key`; its id.
    pub fn append(&self, dir: &Path, key: &Path) -> String {
        let repo = Repository::open(dir).unwrap();
        let store = Store::new(&repo, AUDIT).unwrap();
        let mut d = Draft::new(
            Kind::Decision,
            super::REPO,
            Subject {
                sha: self.sha.into(),
                git_ref: Some(self.git_ref.into()),
                environment: None,
            },
            Actor {
                login: self.requester.0.into(),
                id: self.requester.1,
            },
        );
        d.decision = Some(Decision::Approved);
        d.approvals = vec![Approval {
            login: self.approver.0.into(),
            id: self.approver.1,
            via: "comment".into(),
            url: "https://github.com/acme/api/issues/9#issuecomment-1".into(),
            at: jitaa::audit::record::format_time(chrono::Utc::now()),
        }];
        d.expires_at = Some(chrono::Utc::now() + chrono::Duration::seconds(self.expires_in_secs));
        store.append(&d, &signers_of(key)).unwrap().id
    }
}

/// Every record on `branch` of `repo`, oldest first, as JSON (payload, digest,
/// signatures); none when the branch does not exist.
pub fn records_on(repo: &Repository, branch: &str) -> Vec<Value> {
    let Ok(tip) = repo.refname_to_id(&format!("refs/heads/{branch}")) else {
        return Vec::new();
    };
    jitaa::audit::chain::list(repo, tip)
        .expect("audit branch lists")
        .into_iter()
        .map(|l| serde_json::to_value(&l.record).unwrap())
        .collect()
}

/// The record id in a record's path (`records/YYYY/MM/DD/<bucket>/<id>.json`, or
/// `records/YYYY/MM/DD/<id>.json` before buckets).
pub fn id_of(path: &str) -> String {
    path.rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches(".json")
        .to_string()
}

/// The first-parent commits of the audit branch, oldest first.
pub fn chain(repo: &Repository) -> Vec<git2::Oid> {
    let tip = repo.refname_to_id(&format!("refs/heads/{AUDIT}")).unwrap();
    jitaa::audit::chain::commits(repo, tip).unwrap()
}

/// The trees of the chain's commits, oldest first.
pub fn trees(repo: &Repository) -> Vec<git2::Oid> {
    chain(repo)
        .iter()
        .map(|c| repo.find_commit(*c).unwrap().tree_id())
        .collect()
}

/// The record path each commit added, oldest first.
pub fn record_paths(repo: &Repository) -> Vec<String> {
    let tip = repo.refname_to_id(&format!("refs/heads/{AUDIT}")).unwrap();
    jitaa::audit::chain::list(repo, tip)
        .unwrap()
        .into_iter()
        .map(|l| l.path)
        .collect()
}

/// The bytes of `path` in `tree`.
pub fn read_at(repo: &Repository, tree: git2::Oid, path: &str) -> Vec<u8> {
    let t = repo.find_tree(tree).unwrap();
    let e = t.get_path(Path::new(path)).unwrap();
    repo.find_blob(e.id()).unwrap().content().to_vec()
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
    repo.reference(&format!("refs/heads/{AUDIT}"), tip, true, "force")
        .unwrap();
    tip
}

/// Replaces the tip commit of the audit branch with an unsigned one whose record has
/// `edit` applied to its payload (and its digest recomputed when `redigest`).
pub fn tamper_tip(repo: &Repository, edit: impl Fn(&mut Value), redigest: bool) {
    let tip = repo
        .find_reference(&format!("refs/heads/{AUDIT}"))
        .unwrap()
        .peel_to_commit()
        .unwrap();
    let parent = tip.parent(0).ok();
    let parent_tree = parent.as_ref().map(|p| p.tree().unwrap());
    let changed = repo
        .diff_tree_to_tree(parent_tree.as_ref(), Some(&tip.tree().unwrap()), None)
        .unwrap();
    let path = changed
        .deltas()
        .filter_map(|d| d.new_file().path().map(|p| p.to_str().unwrap().to_string()))
        .find(|p| p.starts_with("records/"))
        .expect("the record the tip added");
    let mut doc: Value = serde_json::from_slice(&read_at(repo, tip.tree_id(), &path)).unwrap();
    edit(&mut doc["payload"]);
    if redigest {
        let jcs = jitaa::audit::record::jcs(&doc["payload"]).unwrap();
        doc["digest"] = jitaa::audit::record::digest_of(&jcs).into();
    }
    let bytes = serde_json::to_vec_pretty(&doc).unwrap();
    let tree = repo
        .find_tree(edit_tree(repo, tip.tree_id(), &path, Some(&bytes)))
        .unwrap();
    let sig = git2::Signature::now("mallory", "mallory@example.com").unwrap();
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    let c = repo
        .commit(None, &sig, &sig, "tampered", &tree, &parents)
        .unwrap();
    repo.reference(&format!("refs/heads/{AUDIT}"), c, true, "tamper")
        .unwrap();
}

/// A repository (no work-tree commits needed) and a certifier key in a sibling folder.
pub struct Fixture {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub key: Key,
    /// The layout [`Fixture::store`] writes ([`in_layout`] picks it).
    pub layout: Layout,
}

impl Fixture {
    pub fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("repo");
        Repository::init(&dir).unwrap();
        let key = Key::generate(&tmp.path().join("keys"), "jitaa@acme");
        let layout = LAYOUT.with(std::cell::Cell::get);
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
        Store::new(repo, AUDIT).unwrap().with_layout(self.layout)
    }

    /// Appends `n` decision records ([`draft`] 0..n); returns their digests in order.
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
        audit_in(&self.dir, args)
    }

    /// `jitaa audit verify --allowed-signers KEY EXTRA...`
    pub fn verify(&self, extra: &[&str]) -> Output {
        let allowed = self.key.allowed.to_str().unwrap().to_string();
        let mut args = vec!["verify", "--allowed-signers", allowed.as_str()];
        args.extend_from_slice(extra);
        self.jitaa(&args)
    }

    pub fn tip(&self) -> git2::Oid {
        self.repo()
            .refname_to_id(&format!("refs/heads/{AUDIT}"))
            .unwrap()
    }
}

/// `jitaa --repo DIR audit ARGS...`
pub fn audit_in(dir: &Path, args: &[&str]) -> Output {
    jitaa()
        .arg("--repo")
        .arg(dir)
        .arg("audit")
        .args(args)
        .output()
        .expect("jitaa runs")
}

/// Pushes the audit branch of the checkout `dir` to origin, around any hook.
pub fn push_audit(dir: &Path, force: bool) {
    let mut args = vec!["push", "-q", "--no-verify"];
    if force {
        args.push("--force");
    }
    args.extend(["origin", AUDIT]);
    git(dir, &args);
}
