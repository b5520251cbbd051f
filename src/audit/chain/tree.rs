//! Tree objects read from their raw bytes (`MODE SP NAME NUL ID`), and the files two
//! trees differ in, found by walking both in git's order and descending only into
//! subtrees whose ids differ, so the cost per commit does not grow with history.
//!
//! Every tree the walk reads is checked as `git fsck` checks it: a mode in octal, a
//! name that is not empty and holds no `/`, entries in git's order (a subtree sorts as
//! its name followed by `/`) and no name twice. A tree that fails is refused, so an
//! auditor's stock tools and jitaa never see two different lists of files.
//!
//! The raw object comes from `Odb::read`, which checks its SHA-1 like every libgit2
//! read; skipping libgit2's tree parse and its per-entry calls is what makes this
//! cheap. The trees read for one commit are kept (their bytes) for the next, whose old
//! side they are, so each tree of the chain is read once however large it grows.

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
    last: Vec<(Oid, Bytes)>,
    now: Vec<(Oid, Bytes)>,
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

    fn read(&mut self, id: Oid) -> Result<Bytes, ChainError> {
        let find = |trees: &[(Oid, Bytes)]| {
            trees
                .iter()
                .find(|(i, _)| *i == id)
                .map(|(_, obj)| Rc::clone(obj))
        };
        if let Some(obj) = find(&self.now) {
            return Ok(obj);
        }
        if let Some(obj) = find(&self.last) {
            self.keep(id, &obj);
            return Ok(obj);
        }
        let (kind, obj) = self
            .objects()
            .read(id)
            .map_err(|source| ChainError::ReadTree { id, source })?;
        if kind != ObjectType::Tree {
            return Err(ChainError::NotATree { id, kind });
        }
        self.keep(id, &obj);
        Ok(obj)
    }

    /// Keeps a tree for the next comparison. An append touches about six trees; a
    /// comparison that reads many more (a crafted first commit) keeps only the first
    /// few, so the lookups stay cheap.
    fn keep(&mut self, id: Oid, obj: &Bytes) {
        const KEEP: usize = 64;
        if self.now.len() < KEEP {
            self.now.push((id, Rc::clone(obj)));
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
        let old_obj = old.map(|id| self.read(id)).transpose()?;
        let new_obj = new.map(|id| self.read(id)).transpose()?;
        let mut a = Entries::new(old_obj.as_ref().map_or(&[][..], |o| o.as_slice()), old);
        let mut b = Entries::new(new_obj.as_ref().map_or(&[][..], |o| o.as_slice()), new);
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
