//! Walking the audit branch: first-parent commits oldest first, and what each commit
//! changed (`tree`: only the subtrees whose ids differ are compared, so the cost per
//! commit does not grow with history). Shared by `verify`, `log` and `export`.

use git2::{Oid, Repository};

use super::AuditError;
use super::record::Layout;
use super::store::git_err;

pub mod raw;
mod tree;

pub use tree::{Change, ChangeKind, Trees};

/// The commits from `tip` back to the root along first parents, oldest first.
/// A merge commit (a fork joined back) is refused.
pub fn commits(repo: &Repository, tip: Oid) -> Result<Vec<Oid>, (Oid, String)> {
    let odb = repo.odb().map_err(|e| {
        (
            tip,
            format!("cannot open the object database ({})", e.message()),
        )
    })?;
    let mut out = Vec::new();
    let mut next = Some(tip);
    while let Some(id) = next {
        // The raw bytes (SHA-1 checked) stay in libgit2's object cache, so the walk
        // that follows reads each commit without decompressing it again.
        let obj = odb
            .read(id)
            .map_err(|e| (id, format!("cannot read commit ({})", e.message())))?;
        if obj.kind() != git2::ObjectType::Commit {
            return Err((id, format!("is a {}, not a commit", obj.kind().str())));
        }
        let head = raw::header(obj.data()).map_err(|why| (id, why))?;
        if head.parents.len() > 1 {
            return Err((
                id,
                format!(
                    "is a merge of {} parents: the audit chain must be linear (a fork was joined)",
                    head.parents.len()
                ),
            ));
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
    /// `records/YYYY/MM/DD/<bucket>/<id>.json`, or `records/YYYY/MM/DD/<id>.json` on a
    /// branch written before the bucket level.
    pub path: String,
    pub blob: Oid,
}

/// Checks one commit's changes against the branch rules: exactly one record file
/// added; records and archived keys never modified or deleted; only README.md,
/// allowed_signers, jwks/*.json (added) and jwks/README.md besides.
pub fn step(changes: &[Change], commit: Oid) -> Result<Step, String> {
    let mut record = None;
    for c in changes {
        let p = c.path.as_str();
        if p.starts_with("records/") {
            if c.kind != ChangeKind::Added {
                return Err(format!(
                    "{} {p}: records are never changed once written (history was rewritten)",
                    verb(c.kind)
                ));
            }
            if !is_record_path(p) {
                return Err(format!(
                    "adds {p}, which is not records/YYYY/MM/DD/<bucket>/<id>.json (the bucket being the id's last two characters) nor, before buckets, records/YYYY/MM/DD/<id>.json"
                ));
            }
            if record.is_some() {
                return Err("adds more than one record (each commit adds exactly one)".into());
            }
            record = Some(Step {
                commit,
                path: p.to_string(),
                blob: c.id,
            });
        } else if let Some(name) = p.strip_prefix("jwks/") {
            if c.kind != ChangeKind::Added && name != "README.md" {
                return Err(format!(
                    "{} {p}: an archived JWKS key never changes once added (key swap)",
                    verb(c.kind)
                ));
            }
        } else if !matches!(p, "README.md" | "allowed_signers") {
            return Err(format!(
                "{} {p}, which does not belong on the audit branch",
                verb(c.kind)
            ));
        }
    }
    record.ok_or_else(|| "adds no record (each commit adds exactly one)".to_string())
}

fn verb(k: ChangeKind) -> &'static str {
    match k {
        ChangeKind::Added => "adds",
        ChangeKind::Modified => "modifies",
        ChangeKind::Deleted => "deletes",
    }
}

/// `records/YYYY/MM/DD/<bucket>/<26-char ULID>.json` where the bucket is the id's last
/// two characters, or (branches written before the bucket level)
/// `records/YYYY/MM/DD/<26-char ULID>.json`.
pub fn is_record_path(p: &str) -> bool {
    let parts: Vec<&str> = p.split('/').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    fn id(file: &str) -> Option<&str> {
        file.strip_suffix(".json")
            .filter(|id| ulid::Ulid::from_string(id).is_ok())
    }
    let dated = parts.len() >= 5
        && parts[0] == "records"
        && digits(parts[1], 4)
        && digits(parts[2], 2)
        && digits(parts[3], 2);
    match parts.len() {
        5 => dated && id(parts[4]).is_some(),
        6 => dated && id(parts[5]).is_some_and(|id| parts[4] == Layout::bucket(id)),
        _ => false,
    }
}

/// "A branch may switch layouts at one commit, never back" (DESIGN.md): fed every
/// record path in chain order, it refuses a record in the layout before buckets once
/// one in the bucketed layout came.
#[derive(Debug, Clone, Copy, Default)]
pub struct LayoutOrder {
    /// The first bucketed record's path, once seen.
    switched: bool,
}

impl LayoutOrder {
    pub fn check(&mut self, path: &str) -> Result<(), String> {
        match Layout::of(path) {
            Some(Layout::Bucketed) => {
                self.switched = true;
                Ok(())
            }
            Some(Layout::Flat) if self.switched => Err(format!(
                "adds {path} in the layout before buckets (records/YYYY/MM/DD/<id>.json) after records in the bucketed layout: a branch switches layouts once, never back"
            )),
            _ => Ok(()),
        }
    }
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
    let ids = commits(repo, tip)
        .map_err(|(c, why)| AuditError::Integrity(format!("audit commit {c} {why}")))?;
    let odb = repo
        .odb()
        .map_err(|e| git_err("opening the object database", e))?;
    let mut trees = Trees::new(&odb);
    let mut out = Vec::with_capacity(ids.len());
    let mut parent_tree: Option<Oid> = None;
    let mut layouts = LayoutOrder::default();
    for id in ids {
        let commit = repo
            .find_commit(id)
            .map_err(|e| git_err("reading commit", e))?;
        let tree = commit.tree_id();
        let changes = trees
            .diff(parent_tree, tree)
            .map_err(|why| AuditError::Integrity(format!("audit commit {id} {why}")))?;
        let s = step(&changes, id)
            .and_then(|s| layouts.check(&s.path).map(|()| s))
            .map_err(|why| AuditError::Integrity(format!("audit commit {id} {why}")))?;
        let blob = repo
            .find_blob(s.blob)
            .map_err(|e| git_err("reading record", e))?;
        let record = serde_json::from_slice(blob.content())
            .map_err(|e| AuditError::Integrity(format!("{} (commit {id}): {e}", s.path)))?;
        out.push(Listed {
            commit: id,
            path: s.path,
            record,
        });
        parent_tree = Some(tree);
    }
    Ok(out)
}
