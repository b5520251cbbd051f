//! Tree objects read from their raw bytes (`MODE SP NAME NUL ID`), and the files two
//! trees differ in, found by walking both in git's order and descending only into
//! subtrees whose ids differ, so the cost per commit does not grow with history.
//!
//! Every tree the walk reads is checked as `git fsck` checks it: a mode in octal, a
//! name that is not empty and holds no `/`, entries in git's order (a subtree sorts as
//! its name followed by `/`) and no name twice. A tree that fails is refused, so an
//! auditor's stock tools and jitaa never see two different lists of files.
//!
//! The raw object comes from [`Objects`], which checks its SHA-1. The trees read for one
//! commit are kept (their bytes, and where each entry starts) for the next, whose old
//! side they are, so each tree of the chain is read once however large it grows. A
//! new version of a kept tree is not parsed whole: the bytes it shares with the old
//! version at its start and end are the old version's entries (checked when it was
//! read), so only the entries between are parsed and checked — their order against
//! their neighbours, and no file and folder of one name anywhere in the tree — and
//! compared. That keeps a day folder of a thousand buckets as cheap as one of ten.

use std::cmp::Ordering;
use std::rc::Rc;

use git2::{ObjectType, Oid};

use super::ChainError;
use super::packs::{Bytes, Objects};

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

/// Reads trees through one object database and compares them.
pub struct Trees<'o> {
    odb: Source<'o>,
    /// Trees read for the previous comparison, then the current one.
    last: Vec<(Oid, Checked)>,
    now: Vec<(Oid, Checked)>,
}

/// A tree whose every entry was checked, and where each entry starts.
#[derive(Clone)]
struct Checked {
    bytes: Bytes,
    starts: Rc<Vec<u32>>,
}

enum Source<'o> {
    Borrowed(&'o Objects<'o>),
    Owned(Objects<'o>),
}

impl<'o> Trees<'o> {
    pub fn new(odb: &'o Objects<'o>) -> Self {
        Trees {
            odb: Source::Borrowed(odb),
            last: Vec::new(),
            now: Vec::new(),
        }
    }

    /// The same, owning its object database (for a reader that outlives its caller's
    /// borrow, such as `chain::Stream`).
    pub fn owning(odb: Objects<'o>) -> Self {
        Trees {
            odb: Source::Owned(odb),
            last: Vec::new(),
            now: Vec::new(),
        }
    }

    /// The reader the trees are read through.
    pub fn objects(&self) -> &Objects<'o> {
        match &self.odb {
            Source::Borrowed(o) => o,
            Source::Owned(o) => o,
        }
    }

    /// The files that differ between the trees `old` (None: empty) and `new`.
    pub fn diff(&mut self, old: Option<Oid>, new: Oid) -> Result<Vec<Change>, ChainError> {
        self.last.append(&mut self.now);
        let mut out = Vec::new();
        let mut path = String::new();
        let res = self.walk(old, Some(new), &mut path, &mut out);
        self.last.clear();
        res.map(|()| out)
    }

    /// A tree read for this or the previous comparison.
    fn cached(&mut self, id: Oid) -> Option<Checked> {
        let find =
            |trees: &[(Oid, Checked)]| trees.iter().find(|(i, _)| *i == id).map(|(_, t)| t.clone());
        if let Some(t) = find(&self.now) {
            return Some(t);
        }
        let t = find(&self.last)?;
        self.keep(id, &t);
        Some(t)
    }

    /// Tree `id`'s bytes, not yet checked.
    fn fetch(&self, id: Oid) -> Result<Bytes, ChainError> {
        let (kind, obj) = self
            .objects()
            .read(id)
            .map_err(|source| ChainError::ReadTree { id, source })?;
        if kind != ObjectType::Tree {
            return Err(ChainError::NotATree { id, kind });
        }
        Ok(obj)
    }

    /// Tree `id`, checked whole (or kept from before).
    fn read(&mut self, id: Oid) -> Result<Checked, ChainError> {
        if let Some(t) = self.cached(id) {
            return Ok(t);
        }
        let t = whole(self.fetch(id)?, id)?;
        self.keep(id, &t);
        Ok(t)
    }

    /// Keeps a tree for the next comparison. An append touches about six trees; a
    /// comparison that reads many more (a crafted first commit) keeps only the first
    /// few, so the lookups stay cheap.
    fn keep(&mut self, id: Oid, tree: &Checked) {
        const KEEP: usize = 64;
        if self.now.len() < KEEP {
            self.now.push((id, tree.clone()));
        }
    }

    /// Compares the trees `old` and `new` (either may be absent) under `path`.
    fn walk(
        &mut self,
        old: Option<Oid>,
        new: Option<Oid>,
        path: &mut String,
        out: &mut Vec<Change>,
    ) -> Result<(), ChainError> {
        let old_tree = old.map(|id| self.read(id)).transpose()?;
        // The new side: kept, or read and checked against the old side where they
        // share bytes, else whole. Only the entries in `span` can differ.
        let (new_tree, span) = match (new, &old_tree) {
            (None, _) => (None, None),
            (Some(id), old_side) => match self.cached(id) {
                Some(t) => (Some(t), None),
                None => {
                    let bytes = self.fetch(id)?;
                    let (t, span) = match old_side {
                        Some(o) if !o.starts.is_empty() => {
                            let (t, span) = against(o, bytes, id)?;
                            (t, Some(span))
                        }
                        _ => (whole(bytes, id)?, None),
                    };
                    self.keep(id, &t);
                    (Some(t), span)
                }
            },
        };
        let old_bytes = old_tree.as_ref().map_or(&[][..], |o| o.bytes.as_slice());
        let new_bytes = new_tree.as_ref().map_or(&[][..], |o| o.bytes.as_slice());
        let (old_bytes, new_bytes) = match &span {
            Some(s) => (&old_bytes[s.old.clone()], &new_bytes[s.new.clone()]),
            None => (old_bytes, new_bytes),
        };
        let mut a = Entries::new(old_bytes, old);
        let mut b = Entries::new(new_bytes, new);
        let (mut x, mut y) = (a.next()?, b.next()?);
        loop {
            match (x, y) {
                (None, None) => return Ok(()),
                (Some(o), Some(n)) if o.name == n.name => {
                    self.pair(Some(o), Some(n), path, out)?;
                    (x, y) = (a.next()?, b.next()?);
                }
                (Some(o), Some(n)) if git_order(&o, &n) == Ordering::Less => {
                    self.pair(Some(o), None, path, out)?;
                    x = a.next()?;
                }
                (Some(o), None) => {
                    self.pair(Some(o), None, path, out)?;
                    x = a.next()?;
                }
                (_, Some(n)) => {
                    self.pair(None, Some(n), path, out)?;
                    y = b.next()?;
                }
            }
        }
    }

    /// An entry of the old tree and its namesake in the new one (at least one present).
    fn pair(
        &mut self,
        old: Option<Entry<'_>>,
        new: Option<Entry<'_>>,
        path: &mut String,
        out: &mut Vec<Change>,
    ) -> Result<(), ChainError> {
        if let (Some(o), Some(n)) = (&old, &new)
            && o.id == n.id
            && o.mode == n.mode
        {
            return Ok(());
        }
        let Some(name) = old.as_ref().or(new.as_ref()).map(|e| e.name) else {
            return Ok(());
        };
        let len = path.len();
        path.push_str(&String::from_utf8_lossy(name));
        let old_tree = old.as_ref().filter(|e| e.is_tree()).map(Entry::oid);
        let new_tree = new.as_ref().filter(|e| e.is_tree()).map(Entry::oid);
        if old_tree.is_some() || new_tree.is_some() {
            path.push('/');
            let res = self.walk(old_tree, new_tree, path, out);
            path.pop();
            res?;
        }
        let old_file = old.filter(|e| !e.is_tree());
        let new_file = new.filter(|e| !e.is_tree());
        let file = match (old_file, new_file) {
            (Some(_), Some(n)) => Some((ChangeKind::Modified, n.oid())),
            (None, Some(n)) => Some((ChangeKind::Added, n.oid())),
            (Some(o), None) => Some((ChangeKind::Deleted, o.oid())),
            (None, None) => None,
        };
        if let Some((kind, id)) = file {
            out.push(Change {
                path: path.clone(),
                kind,
                id,
            });
        }
        path.truncate(len);
        Ok(())
    }
}

/// Checks every entry of `bytes` (tree `id`) and notes where each starts.
fn whole(bytes: Bytes, id: Oid) -> Result<Checked, ChainError> {
    let mut starts = Vec::new();
    let mut e = Entries::new(&bytes, Some(id));
    loop {
        let at = bytes.len() - e.rest.len();
        if e.next()?.is_none() {
            break;
        }
        starts.push(u32::try_from(at).map_err(|_| too_big(id))?);
    }
    Ok(Checked {
        starts: Rc::new(starts),
        bytes,
    })
}

fn too_big(id: Oid) -> ChainError {
    ChainError::MalformedTree {
        tree: Some(id),
        why: "it is larger than 4 GiB".into(),
    }
}

/// Where two versions of a tree can differ: these byte ranges of each.
struct Span {
    old: std::ops::Range<usize>,
    new: std::ops::Range<usize>,
}

/// Checks `bytes` (tree `id`) as a new version of `old`. The entries wholly inside the
/// bytes both share at their start, and those that begin where both share their end at
/// the same entry start of `old`, are `old`'s own (already checked); the entries
/// between are checked one by one, in order after the entry before them and before the
/// entry after them, and none may be a file named as a folder of the tree (or the
/// reverse), which git fsck refuses as a name listed twice.
fn against(old: &Checked, bytes: Bytes, id: Oid) -> Result<(Checked, Span), ChainError> {
    let (o, n) = (old.bytes.as_slice(), bytes.as_slice());
    let same_start = common_prefix(o, n);
    let same_end = common_suffix(o, n).min(o.len().min(n.len()) - same_start);
    // The entry the first differing byte falls in (the first entry, at worst).
    let i = old
        .starts
        .partition_point(|&s| s as usize <= same_start)
        .saturating_sub(1);
    let from = old.starts.get(i).map_or(0, |&s| s as usize);
    let to_old = |at: usize| (at + o.len()).checked_sub(n.len());
    let mut e = Entries::new(&n[from..], Some(id));
    e.prev = i.checked_sub(1).and_then(|j| entry_at(o, old.starts[j]));
    let mut fresh = Vec::new();
    let mut at = from;
    while at < n.len() {
        if at >= n.len() - same_end
            && let Some(a) = to_old(at)
            && old
                .starts
                .binary_search(&u32::try_from(a).map_err(|_| too_big(id))?)
                .is_ok()
        {
            break;
        }
        if e.next()?.is_none() {
            break;
        }
        fresh.push(u32::try_from(at).map_err(|_| too_big(id))?);
        at = n.len() - e.rest.len();
    }
    let old_to = to_old(at).unwrap_or(o.len()).max(from);
    // The first shared entry after the checked ones, in git's order after them.
    if at < n.len() {
        let mut tail = Entries::new(&n[at..], Some(id));
        tail.prev = e.prev;
        tail.next()?;
    }
    for &s in &fresh {
        if let Some(entry) = entry_at(n, s) {
            twin_check(old, o, entry, from..old_to, id)?;
        }
    }
    let shared_from = old.starts.partition_point(|&s| (s as usize) < old_to);
    let mut starts = Vec::with_capacity(old.starts.len() + fresh.len());
    starts.extend_from_slice(&old.starts[..i]);
    starts.extend_from_slice(&fresh);
    for &s in &old.starts[shared_from..] {
        let moved = (s as usize + n.len())
            .checked_sub(o.len())
            .ok_or_else(|| too_big(id))?;
        starts.push(u32::try_from(moved).map_err(|_| too_big(id))?);
    }
    Ok((
        Checked {
            starts: Rc::new(starts),
            bytes,
        },
        Span {
            old: from..old_to,
            new: from..at,
        },
    ))
}

/// The entry of `raw` that starts at `at` (`None` past the end or when it does not
/// parse, which a checked tree never does).
fn entry_at(raw: &[u8], at: u32) -> Option<Entry<'_>> {
    Entries::new(raw.get(at as usize..)?, None)
        .next()
        .ok()
        .flatten()
}

/// A new `entry` must not share its name with a file (if it is a folder) or a folder
/// (if a file) of `old` outside `changed` (the old bytes it replaces): git lists a file
/// `a` and a folder `a` apart (`a-b` sorts between), and fsck refuses the pair.
fn twin_check(
    old: &Checked,
    o: &[u8],
    entry: Entry<'_>,
    changed: std::ops::Range<usize>,
    id: Oid,
) -> Result<(), ChainError> {
    let twin = Entry {
        mode: if entry.is_tree() {
            0o100_644
        } else {
            0o040_000
        },
        name: entry.name,
        id: entry.id,
    };
    let k = old.starts.partition_point(|&s| {
        entry_at(o, s).is_some_and(|e| git_order(&e, &twin) == Ordering::Less)
    });
    let found = old.starts.get(k).is_some_and(|&s| {
        !changed.contains(&(s as usize))
            && entry_at(o, s).is_some_and(|e| e.name == twin.name && e.is_tree() == twin.is_tree())
    });
    if found {
        return Err(ChainError::MalformedTree {
            tree: Some(id),
            why: format!("`{}` is listed twice", String::from_utf8_lossy(entry.name)),
        });
    }
    Ok(())
}

/// How many bytes `a` and `b` share at their start.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 256;
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + BLOCK <= n && a[i..i + BLOCK] == b[i..i + BLOCK] {
        i += BLOCK;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// How many bytes `a` and `b` share at their end.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 256;
    let n = a.len().min(b.len());
    let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
    let mut i = 0;
    while i + BLOCK <= n && a[n - i - BLOCK..n - i] == b[n - i - BLOCK..n - i] {
        i += BLOCK;
    }
    while i < n && a[n - i - 1] == b[n - i - 1] {
        i += 1;
    }
    i
}

/// One tree entry, borrowed from the raw tree.
#[derive(Debug, Clone, Copy)]
struct Entry<'a> {
    mode: u32,
    name: &'a [u8],
    /// The raw 20-byte id (an `Oid` is made only for what is reported or read).
    id: &'a [u8],
}

impl Entry<'_> {
    fn is_tree(&self) -> bool {
        self.mode & 0o170_000 == 0o040_000
    }

    fn oid(&self) -> Oid {
        Oid::from_bytes(self.id).expect("a tree entry id is 20 bytes")
    }
}

/// git's order of tree entries (`base_name_compare`): by name, a subtree's name read
/// as if it ended in `/`.
fn git_order(a: &Entry<'_>, b: &Entry<'_>) -> Ordering {
    let n = a.name.len().min(b.name.len());
    a.name[..n].cmp(&b.name[..n]).then_with(|| {
        let end = |e: &Entry<'_>| match e.name.get(n) {
            Some(&c) => c,
            None if e.is_tree() => b'/',
            None => 0,
        };
        end(a).cmp(&end(b))
    })
}

/// The entries of a raw tree in order, each checked against the one before.
struct Entries<'a> {
    rest: &'a [u8],
    prev: Option<Entry<'a>>,
    /// Names of files a folder of the same name could still follow: between `a` and
    /// `a/` sort names such as `a-b`, so a repeated name need not be next to its twin
    /// (git fsck keeps the same stack).
    files: Vec<&'a [u8]>,
    tree: Option<Oid>,
}

impl<'a> Entries<'a> {
    fn new(raw: &'a [u8], tree: Option<Oid>) -> Self {
        Entries {
            rest: raw,
            prev: None,
            files: Vec::new(),
            tree,
        }
    }

    fn next(&mut self) -> Result<Option<Entry<'a>>, ChainError> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let bad = |why: &str| ChainError::MalformedTree {
            tree: self.tree,
            why: why.to_string(),
        };
        let space = memchr(b' ', self.rest).ok_or_else(|| bad("an entry has no mode"))?;
        let mode = match &self.rest[..space] {
            b"100644" => 0o100_644,
            b"40000" => 0o040_000,
            m if m.is_empty() || m.len() > 6 || !m.iter().all(|c| (b'0'..=b'7').contains(c)) => {
                return Err(bad("an entry's mode is not octal"));
            }
            m => m.iter().fold(0u32, |m, c| m * 8 + u32::from(c - b'0')),
        };
        let after = &self.rest[space + 1..];
        let nul = memchr(0, after).ok_or_else(|| bad("an entry's name does not end"))?;
        let name = &after[..nul];
        if name.is_empty() || name.contains(&b'/') {
            return Err(bad("an entry's name is empty or holds a `/`"));
        }
        let id = after
            .get(nul + 1..nul + 21)
            .ok_or_else(|| bad("an entry's id is cut short"))?;
        self.rest = &after[nul + 21..];
        let entry = Entry { mode, name, id };
        if let Some(p) = &self.prev {
            if p.name == name {
                return Err(bad(&format!(
                    "`{}` is listed twice",
                    String::from_utf8_lossy(name)
                )));
            }
            if git_order(p, &entry) != Ordering::Less {
                return Err(bad(&format!(
                    "`{}` is out of git's order",
                    String::from_utf8_lossy(name)
                )));
            }
        }
        while let Some(&file) = self.files.last() {
            if file == name {
                return Err(bad(&format!(
                    "`{}` is listed twice",
                    String::from_utf8_lossy(name)
                )));
            }
            if name.starts_with(file) && name.get(file.len()).is_some_and(|&c| c < b'/') {
                break;
            }
            self.files.pop();
        }
        if !entry.is_tree() {
            self.files.push(name);
        }
        self.prev = Some(entry);
        Ok(Some(entry))
    }
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&c| c == needle)
}

#[cfg(test)]
mod tests;
