//! Git objects read straight from the repository's pack files, for the walks along the
//! audit branch (`verify`, `log`, `export`, a commit's record).
//!
//! Why not libgit2 alone: libgit2 inflates a deltified object's whole delta chain again
//! on most reads (the audit branch's commits, record files and trees are almost all
//! deltas, chains up to 50 deep), and every repository handle of a process shares each
//! pack's state behind locks. Here each reader (one per thread) keeps the objects it
//! resolved, by pack and offset, in a bounded cache, so walking the chain inflates each
//! object about once.
//!
//! What it trusts: nothing it reads. Every object it hands out is hashed (SHA-1 over
//! git's `<kind> <size>\0` header and the bytes) and compared with the id asked for.
//! Unlike libgit2 it hashes without SHA-1 collision detection (which costs about five
//! times as much and made a sixth of `verify`'s time): detection refuses an object
//! crafted as one half of a SHA-1 collision, which git's own index-pack already refuses
//! when a clone or fetch brings objects in (git hashes with detection), and no record's
//! integrity rests on SHA-1: each is bound by its SHA-256 digest, the `prev` chain and
//! its Ed25519 signatures, which `verify` recomputes. Whatever it does not handle or
//! cannot read (loose objects, alternates, a version 1 index, a damaged pack, a base in
//! another pack, a hash that does not match) is read through libgit2 instead, which
//! then gives the same bytes or the error it always gave: this reader can make a read
//! faster, never make a bad object pass.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::io::Read as _;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use flate2::{Decompress, FlushDecompress, Status};
use git2::{ObjectType, Odb, Oid};
use memmap2::Mmap;

/// An object's bytes, shared between the cache and its readers.
pub type Bytes = Rc<Vec<u8>>;

/// Objects larger than this are left to libgit2 (no audit object comes near it; a
/// damaged size field must not make us allocate gigabytes).
const MAX_OBJECT: usize = 64 << 20;

/// Resolved objects each reader keeps (bytes).
const CACHE_BYTES: usize = 8 << 20;

/// A delta chain longer than this (git's default limit is 50) is left to libgit2.
const MAX_DEPTH: usize = 4096;

/// The pack files of one repository, mapped read-only; shared by every reader.
pub struct Packs {
    packs: Vec<Pack>,
}

struct Pack {
    idx: Mmap,
    data: Mmap,
    count: usize,
}

/// Where the tables of a version 2 pack index start.
const FANOUT: usize = 8;
const NAMES: usize = FANOUT + 256 * 4;

impl Packs {
    /// Maps every `objects/pack/*.idx` (version 2) with its `.pack`. A pack that
    /// cannot be read is skipped (its objects are then read through libgit2).
    pub fn open(objects: &Path) -> Arc<Packs> {
        let mut packs = Vec::new();
        if let Ok(dir) = std::fs::read_dir(objects.join("pack")) {
            for entry in dir.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "idx")
                    && let Some(p) = Pack::open(&path)
                {
                    packs.push(p);
                }
            }
        }
        // The biggest first: most lookups end in it.
        packs.sort_by_key(|p| std::cmp::Reverse(p.count));
        Arc::new(Packs { packs })
    }

    /// No packs: every read goes through libgit2.
    pub fn none() -> Arc<Packs> {
        Arc::new(Packs { packs: Vec::new() })
    }

    fn find(&self, id: &[u8], first: usize) -> Option<(usize, u64)> {
        let order = std::iter::once(first).chain((0..self.packs.len()).filter(|&i| i != first));
        order
            .filter_map(|i| self.packs.get(i).map(|p| (i, p)))
            .find_map(|(i, p)| p.find(id).map(|off| (i, off)))
    }
}

/// Maps `file` read-only.
#[allow(unsafe_code)]
fn map(file: &File) -> Option<Mmap> {
    // SAFETY: git never changes a pack or index file in place: new ones are written
    // under a temporary name and renamed, old ones unlinked (the mapping keeps their
    // bytes). Every byte read from the mapping is bounds-checked and the objects made
    // from it are hashed against their ids, so even a file changed under us can only
    // make a read fail over to libgit2 (or, truncated, stop the process as it would
    // stop git and libgit2, which map packs the same way).
    unsafe { Mmap::map(file) }.ok()
}

impl Pack {
    fn open(idx_path: &Path) -> Option<Pack> {
        let idx = map(&File::open(idx_path).ok()?)?;
        let mut pack = File::open(idx_path.with_extension("pack")).ok()?;
        let data = map(&pack)?;
        if idx.get(..8)? != b"\xfftOc\0\0\0\x02" {
            return None;
        }
        let count = be32(&idx, FANOUT + 255 * 4)? as usize;
        // Names, CRCs, offsets, then 8-byte large offsets, then two trailing hashes.
        let min = NAMES.checked_add(count.checked_mul(28)?)?.checked_add(40)?;
        if idx.len() < min || (idx.len() - min) % 8 != 0 {
            return None;
        }
        // The header is read, not touched through the mapping: a touch maps the whole
        // page-cache folio around it (2 MB on recent kernels), and a walk maps every
        // pack, though it reads objects from one or two.
        let mut head = [0u8; 12];
        pack.read_exact(&mut head).ok()?;
        if &head[..4] != b"PACK"
            || !matches!(be32(&head, 4)?, 2 | 3)
            || be32(&head, 8)? as usize != count
            || data.len() < 32
        {
            return None;
        }
        Some(Pack { idx, data, count })
    }

    /// The offset of object `id` in this pack.
    fn find(&self, id: &[u8]) -> Option<u64> {
        let first = *id.first()? as usize;
        let lo = if first == 0 {
            0
        } else {
            be32(&self.idx, FANOUT + (first - 1) * 4)? as usize
        };
        let hi = be32(&self.idx, FANOUT + first * 4)? as usize;
        if lo > hi || hi > self.count {
            return None;
        }
        let names = self.idx.get(NAMES..NAMES + self.count * 20)?;
        let key = u64::from_be_bytes(id.get(..8)?.try_into().ok()?);
        let (mut a, mut b) = (lo, hi);
        while a < b {
            let mid = a + (b - a) / 2;
            let name = &names[mid * 20..mid * 20 + 20];
            // The first 8 bytes decide almost every step (no call into memcmp).
            let head = u64::from_be_bytes(name[..8].try_into().ok()?);
            match head.cmp(&key).then_with(|| name[8..].cmp(&id[8..])) {
                std::cmp::Ordering::Less => a = mid + 1,
                std::cmp::Ordering::Greater => b = mid,
                std::cmp::Ordering::Equal => return self.offset(mid),
            }
        }
        None
    }

    fn offset(&self, i: usize) -> Option<u64> {
        let offsets = NAMES + self.count * 24;
        let small = be32(&self.idx, offsets + i * 4)?;
        let off = if small & 0x8000_0000 == 0 {
            u64::from(small)
        } else {
            let at = offsets + self.count * 4 + (small & 0x7fff_ffff) as usize * 8;
            let b = self.idx.get(at..at + 8)?;
            u64::from_be_bytes(b.try_into().ok()?)
        };
        // Past the header, before the trailing hash.
        (off >= 12 && off < (self.data.len() - 20) as u64).then_some(off)
    }

    /// The entry header at `off`: its kind, inflated size, where its zlib stream
    /// starts, and its base when it is a delta.
    fn entry(&self, off: u64) -> Option<Entry> {
        let data = &self.data[..self.data.len() - 20];
        let mut p = usize::try_from(off).ok()?;
        let mut c = *data.get(p)?;
        let kind = (c >> 4) & 7;
        let mut size = u64::from(c & 15);
        let mut shift = 4;
        while c & 0x80 != 0 {
            p += 1;
            c = *data.get(p)?;
            if shift > 57 {
                return None;
            }
            size |= u64::from(c & 0x7f) << shift;
            shift += 7;
        }
        p += 1;
        let size = usize::try_from(size).ok().filter(|&s| s <= MAX_OBJECT)?;
        let base = match kind {
            1..=4 => Base::Whole,
            6 => {
                let mut c = *data.get(p)?;
                let mut back = u64::from(c & 0x7f);
                while c & 0x80 != 0 {
                    p += 1;
                    c = *data.get(p)?;
                    back = back.checked_add(1)?.checked_mul(128)? | u64::from(c & 0x7f);
                }
                p += 1;
                Base::Offset(off.checked_sub(back).filter(|&b| b >= 12 && back > 0)?)
            }
            7 => {
                let id = data.get(p..p + 20)?;
                p += 20;
                Base::Id(id.try_into().ok()?)
            }
            _ => return None,
        };
        Some(Entry {
            kind,
            size,
            body: p,
            base,
        })
    }
}

struct Entry {
    /// 1 commit, 2 tree, 3 blob, 4 tag, 6 and 7 deltas.
    kind: u8,
    size: usize,
    body: usize,
    base: Base,
}

enum Base {
    Whole,
    Offset(u64),
    Id([u8; 20]),
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Reads objects for one thread: from the packs when it can, else through libgit2.
pub struct Objects<'o> {
    packs: Arc<Packs>,
    odb: Odb<'o>,
    state: RefCell<State>,
}

struct State {
    cache: Cache,
    z: Decompress,
    /// The delta being applied (reused: most reads inflate one).
    delta: Vec<u8>,
    /// The pack the last object was found in (tried first).
    last: usize,
}

impl<'o> Objects<'o> {
    pub fn new(packs: Arc<Packs>, odb: Odb<'o>) -> Objects<'o> {
        Objects {
            packs,
            odb,
            state: RefCell::new(State {
                cache: Cache::new(CACHE_BYTES),
                z: Decompress::new(true),
                delta: Vec::new(),
                last: 0,
            }),
        }
    }

    /// A reader of `repo`'s objects with its own packs mapped.
    pub fn open(repo: &'o git2::Repository) -> Result<Objects<'o>, git2::Error> {
        Ok(Objects::new(
            Packs::open(&repo.path().join("objects")),
            repo.odb()?,
        ))
    }

    /// Object `id`: its kind and bytes, checked against `id`.
    pub fn read(&self, id: Oid) -> Result<(ObjectType, Bytes), git2::Error> {
        if let Some(found) = self.in_packs(id) {
            return Ok(found);
        }
        let obj = self.odb.read(id)?;
        Ok((obj.kind(), Rc::new(obj.data().to_vec())))
    }

    fn in_packs(&self, id: Oid) -> Option<(ObjectType, Bytes)> {
        let mut st = self.state.try_borrow_mut().ok()?;
        let (pack, off) = self.packs.find(id.as_bytes(), st.last)?;
        st.last = pack;
        let (kind, data) = st.resolve(&self.packs.packs[pack], pack, off)?;
        let kind = match kind {
            1 => ObjectType::Commit,
            2 => ObjectType::Tree,
            3 => ObjectType::Blob,
            4 => ObjectType::Tag,
            _ => return None,
        };
        (object_id(kind, &data) == id.as_bytes()).then_some((kind, data))
    }
}

impl State {
    /// The object at `off`: a whole object inflated, or a delta applied to its base,
    /// each object of the chain kept for the next read.
    fn resolve(&mut self, pack: &Pack, which: usize, off: u64) -> Option<(u8, Bytes)> {
        let mut deltas = Vec::new();
        let mut at = off;
        let (kind, mut data) = loop {
            if let Some(hit) = self.cache.get(which, at) {
                break hit;
            }
            let e = pack.entry(at)?;
            match e.base {
                Base::Whole => {
                    let mut out = Vec::new();
                    self.inflate(pack, e.body, e.size, &mut out)?;
                    let bytes: Bytes = Rc::new(out);
                    self.cache.put(which, at, e.kind, &bytes);
                    break (e.kind, bytes);
                }
                Base::Offset(base) => {
                    deltas.push((at, e));
                    at = base;
                }
                Base::Id(id) => {
                    let base = pack.find(&id)?;
                    deltas.push((at, e));
                    at = base;
                }
            }
            if deltas.len() > MAX_DEPTH {
                return None;
            }
        };
        // Each object of the chain is kept under the offset of the delta that makes it.
        let mut delta = std::mem::take(&mut self.delta);
        while let Some((at, e)) = deltas.pop() {
            self.inflate(pack, e.body, e.size, &mut delta)?;
            data = Rc::new(apply(&data, &delta)?);
            self.cache.put(which, at, kind, &data);
        }
        self.delta = delta;
        Some((kind, data))
    }

    /// Inflates the zlib stream at `body`, which must make exactly `size` bytes, into
    /// `out` (cleared first).
    fn inflate(&mut self, pack: &Pack, body: usize, size: usize, out: &mut Vec<u8>) -> Option<()> {
        let input = pack.data.get(body..pack.data.len() - 20)?;
        self.z.reset(true);
        out.clear();
        out.reserve(size + 1);
        match self.z.decompress_vec(input, out, FlushDecompress::Finish) {
            Ok(Status::StreamEnd) if out.len() == size => Some(()),
            _ => None,
        }
    }
}

/// Applies a git delta (`base size`, `result size`, then copy and insert
/// instructions) to `base`.
fn apply(base: &[u8], delta: &[u8]) -> Option<Vec<u8>> {
    let mut d = delta;
    let mut varint = || -> Option<usize> {
        let mut n = 0usize;
        let mut shift = 0;
        loop {
            let (&c, rest) = d.split_first()?;
            d = rest;
            if shift > 56 {
                return None;
            }
            n |= usize::from(c & 0x7f) << shift;
            shift += 7;
            if c & 0x80 == 0 {
                return Some(n);
            }
        }
    };
    if varint()? != base.len() {
        return None;
    }
    let size = varint()?;
    if size > MAX_OBJECT {
        return None;
    }
    let mut out = Vec::with_capacity(size);
    while let Some((&op, rest)) = d.split_first() {
        d = rest;
        if op & 0x80 != 0 {
            let mut arg = [0usize; 7];
            for (bit, slot) in arg.iter_mut().enumerate() {
                if op & (1 << bit) != 0 {
                    let (&b, rest) = d.split_first()?;
                    d = rest;
                    *slot = usize::from(b);
                }
            }
            let offset = arg[0] | arg[1] << 8 | arg[2] << 16 | arg[3] << 24;
            let mut len = arg[4] | arg[5] << 8 | arg[6] << 16;
            if len == 0 {
                len = 0x10000;
            }
            out.extend_from_slice(base.get(offset..offset.checked_add(len)?)?);
        } else if op != 0 {
            let n = usize::from(op);
            let (lit, rest) = (d.get(..n)?, &d[n..]);
            out.extend_from_slice(lit);
            d = rest;
        } else {
            return None;
        }
        if out.len() > size {
            return None;
        }
    }
    (out.len() == size).then_some(out)
}

/// Git's object id of `data` as an object of `kind`: SHA-1 over `<kind> <size>\0` and
/// the bytes.
fn object_id(kind: ObjectType, data: &[u8]) -> [u8; 20] {
    use sha1::Digest as _;
    let mut h = sha1::Sha1::new();
    h.update(kind.str().as_bytes());
    h.update(b" ");
    h.update(data.len().to_string().as_bytes());
    h.update([0]);
    h.update(data);
    h.finalize().into()
}

/// Resolved objects by (pack, offset), about the most recently used `budget` bytes:
/// two generations, the older dropped whole when the younger fills half the budget.
struct Cache {
    young: HashMap<(usize, u64), (u8, Bytes)>,
    old: HashMap<(usize, u64), (u8, Bytes)>,
    young_bytes: usize,
    budget: usize,
}

impl Cache {
    fn new(budget: usize) -> Cache {
        Cache {
            young: HashMap::new(),
            old: HashMap::new(),
            young_bytes: 0,
            budget,
        }
    }

    fn get(&mut self, pack: usize, off: u64) -> Option<(u8, Bytes)> {
        if let Some((k, d)) = self.young.get(&(pack, off)) {
            return Some((*k, Rc::clone(d)));
        }
        let (k, d) = self.old.remove(&(pack, off))?;
        self.put(pack, off, k, &d);
        Some((k, d))
    }

    fn put(&mut self, pack: usize, off: u64, kind: u8, data: &Bytes) {
        if data.len() > self.budget / 8 {
            return;
        }
        self.young_bytes += data.len() + 64;
        self.young.insert((pack, off), (kind, Rc::clone(data)));
        if self.young_bytes > self.budget / 2 {
            self.old = std::mem::take(&mut self.young);
            self.young_bytes = 0;
        }
    }
}

#[cfg(test)]
mod tests;
