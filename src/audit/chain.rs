//! Walking the audit branch: first-parent commits oldest first, and what each commit
//! changed (`tree`: only the subtrees whose ids differ are compared, so the cost per
//! commit does not grow with history). Shared by `verify`, `log` and `export`.

use git2::{Oid, Repository};

use super::AuditError;
use super::record::Layout;
use super::store::git_err;

mod graph;
pub mod packs;
pub mod raw;
mod stream;
mod tree;

pub use packs::{Bytes, Objects, Packs};
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
    #[error(
        "adds {0}, which is not records/YYYY/MM/DD/<bucket>/<id>.json (the bucket being the id's last two characters) nor, before buckets, records/YYYY/MM/DD/<id>.json"
    )]
    NotARecordPath(String),
    #[error(
        "adds {0} in the layout before buckets (records/YYYY/MM/DD/<id>.json) after records in the bucketed layout: a branch switches layouts once, never back"
    )]
    LayoutBack(String),
    #[error("adds more than one record (each commit adds exactly one)")]
    ManyRecords,
    #[error("{} {path}: an archived JWKS key never changes once added (key swap)", verb(*kind))]
    KeySwap { kind: ChangeKind, path: String },
    #[error("{} {path}, which does not belong on the audit branch", verb(*kind))]
    Foreign { kind: ChangeKind, path: String },
    #[error("adds no record (each commit adds exactly one)")]
    NoRecord,
    /// The commit-graph put a mark where the commits themselves do not lead.
    #[error(
        "is not where git's commit-graph says the chain continues (objects/info/commit-graph is stale or damaged: `git commit-graph write --reachable` writes it again)"
    )]
    GraphMismatch,
}

/// The commits from `tip` back to the root along first parents, oldest first.
/// A merge commit (a fork joined back) is refused.
pub fn commits(repo: &Repository, tip: Oid) -> Result<Vec<Oid>, (Oid, ChainError)> {
    let (mut out, _) = marks(repo, tip, 1)?;
    out.reverse();
    Ok(out)
}

/// One pass from `tip` back to the root along first parents, keeping every `every`-th
/// commit (the tip first): the commits newest first, and how many there are. A merge
/// commit (a fork joined back) is refused, as [`commits`] refuses it.
///
/// Once the pass reaches a commit that git's commit-graph holds, the rest comes from
/// the graph (no object read; what `log`'s first rows wait for). The graph is a cache:
/// the readers of each stretch check that it ends at the next mark ([`Marks::from_graph`]).
pub fn marks(
    repo: &Repository,
    tip: Oid,
    every: usize,
) -> Result<(Vec<Oid>, usize), (Oid, ChainError)> {
    marks_from(repo, tip, every, true).map(|m| (m.ids, m.count))
}

/// Commits read between two mappings of the pack files: the pages a walk touched are
/// let go (unmapped) every so many, so its resident memory does not grow with the
/// branch, however large its packs.
const REMAP: usize = 1 << 14;

/// Every `every`-th commit from the tip back, and whether the commit-graph gave them.
pub struct Marks {
    pub ids: Vec<Oid>,
    pub count: usize,
    pub from_graph: bool,
}

/// [`marks`], using git's commit-graph or not.
pub fn marks_from(
    repo: &Repository,
    tip: Oid,
    every: usize,
    use_graph: bool,
) -> Result<Marks, (Oid, ChainError)> {
    let every = every.max(1);
    let mut odb = Objects::open(repo).map_err(|e| (tip, ChainError::Odb(e)))?;
    let mut graph = if use_graph {
        graph::Graph::open(&repo.path().join("objects"))
    } else {
        None
    };
    let mut out = Vec::new();
    let mut next = Some(tip);
    let mut n = 0usize;
    while let Some(id) = next {
        if let Some(g) = &graph
            && let Some(node) = g.find(id)
        {
            let kept = out.len();
            if let Some(count) = rest_from_graph(g, node, n, every, &mut out) {
                return Ok(Marks {
                    ids: out,
                    count,
                    from_graph: true,
                });
            }
            // A merge, or a graph that does not hold together: walk the objects.
            out.truncate(kept);
            graph = None;
        }
        if n.is_multiple_of(every) {
            out.push(id);
        }
        next = parent_of(&odb, id)?.1;
        n += 1;
        if n.is_multiple_of(REMAP) {
            odb = Objects::open(repo).map_err(|e| (id, ChainError::Odb(e)))?;
        }
    }
    if n >= SLOW_WALK {
        // Said once per walk (a verify that falls back from a stale graph walks twice).
        tracing::warn!(
            "read {n} audit commits one by one: `git commit-graph write --reachable` in {} lets jitaa find its way along the branch without reading them first",
            repo.path().display()
        );
    }
    Ok(Marks {
        ids: out,
        count: n,
        from_graph: false,
    })
}

/// Commits walked without a commit-graph beyond which the walk says how to skip it
/// (a few seconds of reading at 1,000,000 before any row is printed).
const SLOW_WALK: usize = 200_000;

/// The marks from `node` (the `n`-th commit from the tip) back to the root, by the
/// graph alone; `None` at a merge or where the graph breaks off or loops.
fn rest_from_graph(
    g: &graph::Graph,
    mut node: graph::Node,
    mut n: usize,
    every: usize,
    out: &mut Vec<Oid>,
) -> Option<usize> {
    let limit = n.checked_add(g.len())?;
    loop {
        if node.merge || n > limit {
            return None;
        }
        if n.is_multiple_of(every) {
            out.push(node.id);
        }
        n += 1;
        if graph::Graph::is_root(&node) {
            return Some(n);
        }
        node = g.parent(&node)?;
    }
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
    pub fn check(&mut self, path: &str) -> Result<(), ChainError> {
        match Layout::of(path) {
            Some(Layout::Bucketed) => {
                self.switched = true;
                Ok(())
            }
            Some(Layout::Flat) if self.switched => Err(ChainError::LayoutBack(path.to_string())),
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
    stream(repo, tip)?.collect()
}

#[cfg(test)]
use stream::SEGMENT;
#[cfg(test)]
pub(crate) use stream::stream_in;
pub use stream::{Stream, stream};

/// A commit's tree and (first) parent, from its SHA-1-checked bytes; a merge is refused.
pub fn parent_of(odb: &Objects<'_>, id: Oid) -> Result<(Oid, Option<Oid>), (Oid, ChainError)> {
    read_commit(odb, id, |_| ()).map(|(h, ())| (h.tree, h.parents.first().copied()))
}

/// Reads commit `id` (its SHA-1 checked by libgit2), refuses a merge, and hands its raw
/// bytes to `keep` (whatever the caller needs of them later, so it never reads the
/// commit twice).
pub fn read_commit<T>(
    odb: &Objects<'_>,
    id: Oid,
    keep: impl FnOnce(&[u8]) -> T,
) -> Result<(raw::Header, T), (Oid, ChainError)> {
    let (kind, data) = odb.read(id).map_err(|e| (id, ChainError::ReadCommit(e)))?;
    if kind != git2::ObjectType::Commit {
        return Err((id, ChainError::NotACommit(kind)));
    }
    let head = raw::header(&data).map_err(|why| (id, why))?;
    if head.parents.len() > 1 {
        return Err((id, ChainError::Merge(head.parents.len())));
    }
    let kept = keep(&data);
    Ok((head, kept))
}

/// The bytes of blob `id` (a record file).
pub fn read_blob(objects: &Objects<'_>, id: Oid) -> Result<Bytes, AuditError> {
    match objects.read(id) {
        Ok((git2::ObjectType::Blob, data)) => Ok(data),
        Ok((kind, _)) => Err(git_err(
            "reading record",
            git2::Error::from_str(&format!("{id} is a {}, not a blob", kind.str())),
        )),
        Err(e) => Err(git_err("reading record", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Actor, Draft, Kind, Signers, SshSigner, Store, Subject};

    /// The stream reads the chain segment by segment, oldest first, whatever the
    /// segment length: the same records in the same order as the commit walk.
    #[test]
    fn the_stream_yields_the_chain_in_order_over_any_segment_length() {
        let tmp = tempfile::tempdir().unwrap();
        let keys = crate::keys::generate(&tmp.path().join("k"), "jitaa@test").unwrap();
        let text = std::fs::read_to_string(&keys.private_path).unwrap();
        let signers = Signers::ssh(SshSigner::Key(
            crate::keys::SigningKey::from_openssh(&text, "t").unwrap(),
        ));
        let repo = Repository::init_bare(tmp.path().join("r.git")).unwrap();
        let store = Store::new(&repo, "jitaa/audit").unwrap();
        let mut ids = Vec::new();
        for i in 0..10 {
            let d = Draft::new(
                Kind::Push,
                "acme/api",
                Subject {
                    sha: format!("{:040x}", i + 1),
                    git_ref: Some("refs/heads/main".into()),
                    environment: None,
                },
                Actor {
                    login: "alice".into(),
                    id: 1,
                },
            );
            ids.push(store.append(&d, &signers).unwrap().commit);
        }
        let tip = *ids.last().unwrap();
        assert_eq!(commits(&repo, tip).unwrap(), ids);
        for seg in [1, 3, 9, 10, 11, SEGMENT] {
            let got: Vec<Oid> = stream_in(&repo, tip, seg)
                .unwrap()
                .map(|l| l.unwrap().commit)
                .collect();
            assert_eq!(got, ids, "segment {seg}");
        }
        // A merge is refused before anything is read.
        let sig = git2::Signature::now("m", "m@e").unwrap();
        let a = repo.find_commit(ids[9]).unwrap();
        let b = repo.find_commit(ids[3]).unwrap();
        let merge = repo
            .commit(None, &sig, &sig, "merge", &a.tree().unwrap(), &[&a, &b])
            .unwrap();
        let err = crate::exit::full_message(&stream_in(&repo, merge, 3).err().unwrap());
        assert!(
            err.contains(&format!("audit commit {merge}: is a merge")),
            "{err}"
        );
    }
}
