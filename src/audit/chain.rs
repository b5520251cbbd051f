//! Walking the audit branch: first-parent commits oldest first, and what each commit
//! changed (found by comparing only the subtrees whose ids differ, so the cost per
//! commit does not grow with history). Shared by `verify`, `log` and `export`.

use git2::{Oid, Repository, Tree};

use super::AuditError;
use super::store::git_err;

pub mod raw;

/// One file a commit changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub kind: ChangeKind,
    /// The new blob (for deletions, the old one).
    pub id: Oid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

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

/// The files that differ between `old` (None: empty) and `new`.
pub fn diff(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: &Tree<'_>,
) -> Result<Vec<Change>, AuditError> {
    let mut out = Vec::new();
    diff_into(repo, old, Some(new), "", &mut out)?;
    Ok(out)
}

fn diff_into(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: Option<&Tree<'_>>,
    prefix: &str,
    out: &mut Vec<Change>,
) -> Result<(), AuditError> {
    if let (Some(old), Some(new)) = (old, new)
        && let Some(pairs) = aligned(old, new)
    {
        for (before, entry) in pairs {
            changed(repo, before, entry, prefix, out)?;
        }
        return Ok(());
    }
    let subtree = |id: Oid| repo.find_tree(id).map_err(|e| git_err("reading tree", e));
    let is_tree = |e: &git2::TreeEntry<'_>| e.kind() == Some(git2::ObjectType::Tree);
    if let Some(new) = new {
        for entry in new.iter() {
            let before = old.and_then(|o| o.get_name_bytes(entry.name_bytes()));
            changed(repo, before, entry, prefix, out)?;
        }
    }
    if let Some(old) = old {
        for entry in old.iter() {
            if new.is_some_and(|n| n.get_name_bytes(entry.name_bytes()).is_some()) {
                continue;
            }
            let path = format!("{prefix}{}", String::from_utf8_lossy(entry.name_bytes()));
            if is_tree(&entry) {
                let t = subtree(entry.id())?;
                diff_into(repo, Some(&t), None, &format!("{path}/"), out)?;
            } else {
                out.push(Change {
                    path,
                    kind: ChangeKind::Deleted,
                    id: entry.id(),
                });
            }
        }
    }
    Ok(())
}

/// One entry of `new` against its namesake in the old tree (`before`).
fn changed(
    repo: &Repository,
    before: Option<git2::TreeEntry<'_>>,
    entry: git2::TreeEntry<'_>,
    prefix: &str,
    out: &mut Vec<Change>,
) -> Result<(), AuditError> {
    let subtree = |id: Oid| repo.find_tree(id).map_err(|e| git_err("reading tree", e));
    let is_tree = |e: &git2::TreeEntry<'_>| e.kind() == Some(git2::ObjectType::Tree);
    if let Some(b) = &before
        && b.id() == entry.id()
        && b.filemode() == entry.filemode()
    {
        return Ok(());
    }
    let path = format!("{prefix}{}", String::from_utf8_lossy(entry.name_bytes()));
    let before_tree = match &before {
        Some(b) if is_tree(b) => Some(subtree(b.id())?),
        _ => None,
    };
    if is_tree(&entry) {
        let t = subtree(entry.id())?;
        diff_into(
            repo,
            before_tree.as_ref(),
            Some(&t),
            &format!("{path}/"),
            out,
        )?;
        if let Some(b) = before.filter(|b| !is_tree(b)) {
            out.push(Change {
                path,
                kind: ChangeKind::Deleted,
                id: b.id(),
            });
        }
    } else {
        if let Some(bt) = &before_tree {
            diff_into(repo, Some(bt), None, &format!("{path}/"), out)?;
        }
        let kind = match &before {
            Some(b) if !is_tree(b) => ChangeKind::Modified,
            _ => ChangeKind::Added,
        };
        out.push(Change {
            path,
            kind,
            id: entry.id(),
        });
    }
    Ok(())
}

/// The cheap case of an audit commit: `new` lists the entries of `old` in the same
/// places, plus at most one inserted entry, some with new ids. Then the entries that
/// differ, each with its namesake in `old` (None for the inserted one), are what the
/// name-by-name comparison would find, without a lookup per entry. Only for trees
/// whose names are unique and in one order (strictly increasing bytes, no subtree
/// name a prefix of the next name); anything else takes the general path.
fn aligned<'t>(
    old: &'t Tree<'_>,
    new: &'t Tree<'_>,
) -> Option<Vec<(Option<git2::TreeEntry<'t>>, git2::TreeEntry<'t>)>> {
    let (n, o) = (new.len(), old.len());
    if n != o && n != o + 1 {
        return None;
    }
    let mut out = Vec::new();
    let mut inserted = false;
    let mut prev: Option<git2::TreeEntry<'t>> = None;
    let mut j = 0usize;
    for i in 0..n {
        let e = new.get(i)?;
        if let Some(p) = &prev {
            let (a, b) = (p.name_bytes(), e.name_bytes());
            if a >= b || (p.kind() == Some(git2::ObjectType::Tree) && b.starts_with(a)) {
                return None;
            }
        }
        match old.get(j) {
            Some(b) if b.name_bytes() == e.name_bytes() && b.filemode() == e.filemode() => {
                if b.id() != e.id() {
                    out.push((Some(b), new.get(i)?));
                }
                j += 1;
            }
            _ if n == o + 1 && !inserted => {
                inserted = true;
                out.push((None, new.get(i)?));
            }
            _ => return None,
        }
        prev = Some(e);
    }
    (j == o).then_some(out)
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
                    "adds {p}, which is not records/YYYY/MM/DD/<id>.json"
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
    let ids = commits(repo, tip)
        .map_err(|(c, why)| AuditError::Integrity(format!("audit commit {c} {why}")))?;
    let mut out = Vec::with_capacity(ids.len());
    let mut parent_tree: Option<Tree<'_>> = None;
    for id in ids {
        let commit = repo
            .find_commit(id)
            .map_err(|e| git_err("reading commit", e))?;
        let tree = commit.tree().map_err(|e| git_err("reading tree", e))?;
        let changes = diff(repo, parent_tree.as_ref(), &tree)?;
        let s = step(&changes, id)
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
