//! The records of the chain in order, read by a few threads at once: what `audit
//! log`, `show` and `export` print as they go, and what the approval lookups list.
//!
//! A first pass from the tip keeps one commit id in [`SEGMENT`] ([`super::marks`],
//! from git's commit-graph when it can); then each segment is read on a thread of its
//! own (its commits, their trees compared, their record files parsed), two segments
//! ahead of the one being handed out, and the segments are handed out oldest first.
//! Memory does not grow with the chain: three segments at most, each reader with its
//! own mapping of the packs that it lets go when done.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use git2::{Oid, Repository};

use super::super::AuditError;
use super::super::store::git_err;
use super::{ChainError, LayoutOrder, Listed, Objects, Trees, marks, parent_of, read_blob, step};

/// Commits per segment: the one commit id in this many the first pass keeps.
pub(super) const SEGMENT: usize = 4096;

/// Segments read ahead of the one handed out.
const AHEAD: usize = 2;

/// Every record from the root to `tip`, in chain order, read one at a time (see the
/// module). Structural problems are integrity errors (run `jitaa audit verify` for the
/// full check); after the first error the stream ends.
pub fn stream(repo: &Repository, tip: Oid) -> Result<Stream<'_>, AuditError> {
    stream_in(repo, tip, SEGMENT)
}

/// [`stream`] with `segment` commits per segment.
pub(crate) fn stream_in(
    repo: &Repository,
    tip: Oid,
    segment: usize,
) -> Result<Stream<'_>, AuditError> {
    let segment = segment.max(1);
    let (marks, _) = marks(repo, tip, segment)
        .map_err(|(commit, source)| AuditError::Chain { commit, source })?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut s = Stream {
        path: repo.path().to_path_buf(),
        marks,
        older: None,
        per_segment: segment,
        ahead: VecDeque::new(),
        current: Vec::new().into_iter(),
        layouts: LayoutOrder::default(),
        stop,
        done: false,
        _repo: PhantomData,
    };
    for _ in 0..AHEAD {
        s.spawn_next();
    }
    Ok(s)
}

/// See [`stream`].
pub struct Stream<'r> {
    path: std::path::PathBuf,
    /// Every SEGMENT-th commit from the tip back; the oldest segment starts at the last.
    marks: Vec<Oid>,
    /// The start of the segment handed to a reader last (where the next one must end).
    older: Option<Oid>,
    per_segment: usize,
    /// Readers of the next segments, oldest first.
    ahead: VecDeque<JoinHandle<Vec<Result<Listed, AuditError>>>>,
    current: std::vec::IntoIter<Result<Listed, AuditError>>,
    layouts: LayoutOrder,
    /// Tells the readers to stop (the stream was dropped).
    stop: Arc<AtomicBool>,
    done: bool,
    _repo: PhantomData<&'r Repository>,
}

impl Stream<'_> {
    /// Starts a reader of the next (older-to-newer) segment, if any is left.
    fn spawn_next(&mut self) {
        let Some(start) = self.marks.pop() else {
            return;
        };
        let end = self.older.replace(start);
        let (path, len, stop) = (self.path.clone(), self.per_segment, Arc::clone(&self.stop));
        // A thread per segment: measured faster than two long-lived readers (18.4 s
        // against 22.5 s for a 1,000,000-record export), each starting on a fresh heap.
        self.ahead.push_back(std::thread::spawn(move || {
            read_segment(&path, start, end, len, &stop)
        }));
    }

    fn read_next(&mut self) -> Option<Result<Listed, AuditError>> {
        loop {
            if let Some(item) = self.current.next() {
                return Some(item.and_then(|l| match self.layouts.check(&l.path) {
                    Ok(()) => Ok(l),
                    Err(source) => Err(AuditError::Chain {
                        commit: l.commit,
                        source,
                    }),
                }));
            }
            let reader = self.ahead.pop_front()?;
            self.spawn_next();
            self.current = match reader.join() {
                Ok(items) => items.into_iter(),
                Err(panic) => std::panic::resume_unwind(panic),
            };
        }
    }
}

impl Iterator for Stream<'_> {
    type Item = Result<Listed, AuditError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.read_next();
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }
}

impl Drop for Stream<'_> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for reader in self.ahead.drain(..) {
            let _ = reader.join();
        }
    }
}

/// The records of the `len` commits ending at `start` (fewer at the root), oldest
/// first, up to the first error. The oldest commit's parent must be `end` (the start
/// of the segment before; none at the root): the marks may come from the
/// commit-graph, which only the commits prove.
fn read_segment(
    path: &std::path::Path,
    start: Oid,
    end: Option<Oid>,
    len: usize,
    stop: &AtomicBool,
) -> Vec<Result<Listed, AuditError>> {
    let mut out = Vec::new();
    if let Err(e) = read_into(path, start, end, len, stop, &mut out) {
        out.push(Err(e));
    }
    out
}

fn read_into(
    path: &std::path::Path,
    start: Oid,
    end: Option<Oid>,
    len: usize,
    stop: &AtomicBool,
    out: &mut Vec<Result<Listed, AuditError>>,
) -> Result<(), AuditError> {
    let repo = Repository::open(path).map_err(|e| git_err("opening the repository", e))?;
    let objects = Objects::open(&repo).map_err(|e| git_err("opening the object database", e))?;
    let chain = |commit, source| AuditError::Chain { commit, source };
    // Newest first.
    let mut seg = Vec::with_capacity(len);
    let mut next = Some(start);
    while let Some(id) = next {
        if seg.len() == len {
            break;
        }
        let (tree, parent) = parent_of(&objects, id).map_err(|(c, s)| chain(c, s))?;
        seg.push((id, tree));
        next = parent;
    }
    if next != end {
        let oldest = seg.last().map_or(start, |(id, _)| *id);
        return Err(chain(oldest, ChainError::GraphMismatch));
    }
    let mut parent_tree = match next {
        Some(p) => Some(parent_of(&objects, p).map_err(|(c, s)| chain(c, s))?.0),
        None => None,
    };
    let mut trees = Trees::new(&objects);
    while let Some((id, tree)) = seg.pop() {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let changes = trees.diff(parent_tree, tree).map_err(|s| chain(id, s))?;
        let s = step(&changes, id).map_err(|s| chain(id, s))?;
        let blob = read_blob(&objects, s.blob)?;
        let record = serde_json::from_slice(&blob).map_err(|source| AuditError::RecordJson {
            commit: id,
            path: s.path.clone(),
            source,
        })?;
        out.push(Ok(Listed {
            commit: id,
            path: s.path,
            record,
        }));
        parent_tree = Some(tree);
    }
    Ok(())
}
