//! Walking the audit branch: first-parent commits oldest first, and what each commit
//! changed (`tree`: only the subtrees whose ids differ are compared, so the cost per
//! commit does not grow with history). Shared by `verify`, `log` and `export`.

use git2::{Oid, Repository};

use super::AuditError;
use super::store::git_err;

pub mod raw;
mod tree;

pub use tree::{Change, ChangeKind, Trees};

/// What is wrong with one audit commit: its object, its header, its trees, or what it
/// changes. Worded to follow "the commit" / "audit commit <id>".
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("cannot open the object database")]
    Odb(#[source] git2::Error),
    #[error("cannot read commit")]
    ReadCommit(#[source] git2::Error),
    #[error("is a {}, not a commit", .0.str())]
    NotACommit(git2::ObjectType),
    #[error("is a merge of {0} parents: the audit chain must be linear (a fork was joined)")]
    Merge(usize),
    /// A `tree ` or `parent ` header line that is not 40 hex digits.
    #[error("has a malformed `{key}` header")]
    Header {
        key: &'static str,
        #[source]
        source: Option<git2::Error>,
    },
    #[error("does not start with a `tree` header")]
    NoTree,
    #[error("has no `author` header after its tree and parents")]
    NoAuthor,
    #[error("has no `committer` header after its author")]
    NoCommitter,
    #[error("cannot read tree {id}")]
    ReadTree {
        id: Oid,
        #[source]
        source: git2::Error,
    },
    #[error("names {id} as a tree, but it is a {}", kind.str())]
    NotATree { id: Oid, kind: git2::ObjectType },
    /// A tree `git fsck` refuses (`tree` is `None` for the empty side).
    #[error("has a malformed tree{}: {why} (git fsck refuses it too)", tree.map_or_else(String::new, |t| format!(" {t}")))]
    MalformedTree { tree: Option<Oid>, why: String },
    #[error("{} {path}: records are never changed once written (history was rewritten)", verb(*kind))]
    RecordChanged { kind: ChangeKind, path: String },
    #[error("adds {0}, which is not records/YYYY/MM/DD/<id>.json")]
    NotARecordPath(String),
    #[error("adds more than one record (each commit adds exactly one)")]
    ManyRecords,
    #[error("{} {path}: an archived JWKS key never changes once added (key swap)", verb(*kind))]
    KeySwap { kind: ChangeKind, path: String },
    #[error("{} {path}, which does not belong on the audit branch", verb(*kind))]
    Foreign { kind: ChangeKind, path: String },
    #[error("adds no record (each commit adds exactly one)")]
    NoRecord,
}

/// The commits from `tip` back to the root along first parents, oldest first.
/// A merge commit (a fork joined back) is refused.
pub fn commits(repo: &Repository, tip: Oid) -> Result<Vec<Oid>, (Oid, ChainError)> {
    let odb = repo.odb().map_err(|e| (tip, ChainError::Odb(e)))?;
    let mut out = Vec::new();
    let mut next = Some(tip);
    while let Some(id) = next {
        // The raw bytes (SHA-1 checked) stay in libgit2's object cache, so the walk
        // that follows reads each commit without decompressing it again.
        let obj = odb.read(id).map_err(|e| (id, ChainError::ReadCommit(e)))?;
        if obj.kind() != git2::ObjectType::Commit {
            return Err((id, ChainError::NotACommit(obj.kind())));
        }
        let head = raw::header(obj.data()).map_err(|why| (id, why))?;
        if head.parents.len() > 1 {
            return Err((id, ChainError::Merge(head.parents.len())));
        }
        out.push(id);
        next = head.parents.first().copied();
    }
    out.reverse();
    Ok(out)
}

/// What one audit commit holds, after the structural rules passed.
#[derive(Debug, Clone)]
pub struct Step {
    pub commit: Oid,
    /// `records/YYYY/MM/DD/<id>.json`
    pub path: String,
    pub blob: Oid,
}

/// Checks one commit's changes against the branch rules: exactly one record file
/// added; records and archived keys never modified or deleted; only README.md,
/// allowed_signers, jwks/*.json (added) and jwks/README.md besides.
pub fn step(changes: &[Change], commit: Oid) -> Result<Step, ChainError> {
    let mut record = None;
    for c in changes {
        let p = c.path.as_str();
        if p.starts_with("records/") {
            if c.kind != ChangeKind::Added {
                return Err(ChainError::RecordChanged {
                    kind: c.kind,
                    path: p.to_string(),
                });
            }
            if !is_record_path(p) {
                return Err(ChainError::NotARecordPath(p.to_string()));
            }
            if record.is_some() {
                return Err(ChainError::ManyRecords);
            }
            record = Some(Step {
                commit,
                path: p.to_string(),
                blob: c.id,
            });
        } else if let Some(name) = p.strip_prefix("jwks/") {
            if c.kind != ChangeKind::Added && name != "README.md" {
                return Err(ChainError::KeySwap {
                    kind: c.kind,
                    path: p.to_string(),
                });
            }
        } else if !matches!(p, "README.md" | "allowed_signers") {
            return Err(ChainError::Foreign {
                kind: c.kind,
                path: p.to_string(),
            });
        }
    }
    record.ok_or(ChainError::NoRecord)
}

fn verb(k: ChangeKind) -> &'static str {
    match k {
        ChangeKind::Added => "adds",
        ChangeKind::Modified => "modifies",
        ChangeKind::Deleted => "deletes",
    }
}

/// `records/YYYY/MM/DD/<26-char ULID>.json`
pub fn is_record_path(p: &str) -> bool {
    let parts: Vec<&str> = p.split('/').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    parts.len() == 5
        && parts[0] == "records"
        && digits(parts[1], 4)
        && digits(parts[2], 2)
        && digits(parts[3], 2)
        && parts[4]
            .strip_suffix(".json")
            .is_some_and(|id| ulid::Ulid::from_string(id).is_ok())
}

/// One record on the branch, as `log`/`export` read it (structure checked, not signatures).
#[derive(Debug, Clone)]
pub struct Listed {
    pub commit: Oid,
    pub path: String,
    pub record: super::record::Record,
}

/// Every record from the root to `tip`, in chain order. Structural problems are
/// integrity errors (run `jitaa audit verify` for the full check).
pub fn list(repo: &Repository, tip: Oid) -> Result<Vec<Listed>, AuditError> {
    let ids =
        commits(repo, tip).map_err(|(commit, source)| AuditError::Chain { commit, source })?;
    let odb = repo
        .odb()
        .map_err(|e| git_err("opening the object database", e))?;
    let mut trees = Trees::new(&odb);
    let mut out = Vec::with_capacity(ids.len());
    let mut parent_tree: Option<Oid> = None;
    for id in ids {
        let commit = repo
            .find_commit(id)
            .map_err(|e| git_err("reading commit", e))?;
        let tree = commit.tree_id();
        let bad = |source| AuditError::Chain { commit: id, source };
        let changes = trees.diff(parent_tree, tree).map_err(bad)?;
        let s = step(&changes, id).map_err(bad)?;
        let blob = repo
            .find_blob(s.blob)
            .map_err(|e| git_err("reading record", e))?;
        let record =
            serde_json::from_slice(blob.content()).map_err(|source| AuditError::RecordJson {
                commit: id,
                path: s.path.clone(),
                source,
            })?;
        out.push(Listed {
            commit: id,
            path: s.path,
            record,
        });
        parent_tree = Some(tree);
    }
    Ok(out)
}
