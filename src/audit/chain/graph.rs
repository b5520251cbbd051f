//! git's commit-graph file (`objects/info/commit-graph`, or the split chain under
//! `objects/info/commit-graphs/`), read only to find where along the first-parent
//! chain every N-th commit sits without inflating a million commits first.
//!
//! It is a cache that git writes (`git gc`, `git maintenance`, `git commit-graph
//! write`), so nothing here is believed: the walks read every commit again through
//! [`super::Objects`] (hashed against its id) and check that each stretch they read
//! ends exactly at the commit the graph said it would. When it does not, `verify`
//! starts over without the graph and `log`/`export` stop with an error.

use std::path::Path;

use git2::Oid;
use memmap2::Mmap;

/// "No parent" in a commit-graph's parent columns.
const NONE: u32 = 0x7000_0000;

/// One layer of the graph: its commits are numbered from `base` on.
struct Layer {
    map: Mmap,
    base: u32,
    count: u32,
    fanout: usize,
    names: usize,
    data: usize,
}

/// A commit-graph (all its layers, base first).
pub(super) struct Graph {
    layers: Vec<Layer>,
}

/// Where a commit sits in the graph and what it says of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Node {
    pub(super) id: Oid,
    parent: Option<u32>,
    /// More than one parent (a merge): the graph cannot help, the walk refuses it.
    pub(super) merge: bool,
}

impl Graph {
    /// The repository's commit-graph, if it has a readable SHA-1 one.
    pub(super) fn open(objects: &Path) -> Option<Graph> {
        let info = objects.join("info");
        let chain = std::fs::read_to_string(info.join("commit-graphs/commit-graph-chain")).ok();
        let files: Vec<std::path::PathBuf> = match chain {
            Some(text) => text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|h| info.join(format!("commit-graphs/graph-{h}.graph")))
                .collect(),
            None => vec![info.join("commit-graph")],
        };
        let mut layers = Vec::new();
        let mut base = 0u32;
        for f in files {
            let layer = Layer::open(&f, base, layers.len())?;
            base = base.checked_add(layer.count)?;
            layers.push(layer);
        }
        (!layers.is_empty()).then_some(Graph { layers })
    }

    /// `id`'s node, if the graph holds it.
    pub(super) fn find(&self, id: Oid) -> Option<Node> {
        self.layers.iter().rev().find_map(|l| {
            let i = l.find(id.as_bytes())?;
            self.node(l.base + i)
        })
    }

    /// The first parent's node (`None` at a root, or when the graph is inconsistent).
    pub(super) fn parent(&self, n: &Node) -> Option<Node> {
        self.node(n.parent?)
    }

    /// How many commits all layers hold.
    pub(super) fn len(&self) -> usize {
        self.layers.iter().map(|l| l.count as usize).sum()
    }

    pub(super) fn is_root(n: &Node) -> bool {
        n.parent.is_none()
    }

    fn node(&self, pos: u32) -> Option<Node> {
        let l = self
            .layers
            .iter()
            .find(|l| pos >= l.base && pos - l.base < l.count)?;
        let i = (pos - l.base) as usize;
        let id = Oid::from_bytes(l.map.get(l.names + i * 20..l.names + i * 20 + 20)?).ok()?;
        let row = l.data + i * 36 + 20;
        let p1 = be32(&l.map, row)?;
        let p2 = be32(&l.map, row + 4)?;
        Some(Node {
            id,
            parent: (p1 != NONE).then_some(p1),
            merge: p2 != NONE,
        })
    }
}

#[allow(unsafe_code)]
fn map(path: &Path) -> Option<Mmap> {
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: as for pack files (`packs::map`): git writes a commit-graph under a
    // temporary name and renames it into place; every read is bounds-checked, and
    // nothing read here is believed without the objects themselves.
    unsafe { Mmap::map(&file) }.ok()
}

impl Layer {
    fn open(path: &Path, base: u32, below: usize) -> Option<Layer> {
        let map = map(path)?;
        let head = map.get(..8)?;
        // Version 1, SHA-1, and as many base graphs as layers below it.
        if &head[..4] != b"CGPH" || head[4] != 1 || head[5] != 1 || head[7] as usize != below {
            return None;
        }
        let chunks = head[6] as usize;
        let (mut fanout, mut names, mut data) = (None, None, None);
        for c in 0..chunks {
            let at = 8 + c * 12;
            let id = map.get(at..at + 4)?;
            let off = usize::try_from(u64::from_be_bytes(
                map.get(at + 4..at + 12)?.try_into().ok()?,
            ))
            .ok()?;
            match id {
                b"OIDF" => fanout = Some(off),
                b"OIDL" => names = Some(off),
                b"CDAT" => data = Some(off),
                _ => {}
            }
        }
        let (fanout, names, data) = (fanout?, names?, data?);
        let count = be32(&map, fanout + 255 * 4)?;
        let n = count as usize;
        if map.len() < names.checked_add(n * 20)? || map.len() < data.checked_add(n * 36)? {
            return None;
        }
        Some(Layer {
            map,
            base,
            count,
            fanout,
            names,
            data,
        })
    }

    fn find(&self, id: &[u8]) -> Option<u32> {
        let first = *id.first()? as usize;
        let lo = if first == 0 {
            0
        } else {
            be32(&self.map, self.fanout + (first - 1) * 4)?
        };
        let hi = be32(&self.map, self.fanout + first * 4)?.min(self.count);
        let (mut a, mut b) = (lo, hi);
        while a < b {
            let mid = a + (b - a) / 2;
            let at = self.names + mid as usize * 20;
            match self.map.get(at..at + 20)?.cmp(id) {
                std::cmp::Ordering::Less => a = mid + 1,
                std::cmp::Ordering::Greater => b = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
