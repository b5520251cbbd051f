//! The benchmarks' fast writer of synthetic audit histories: the bytes the real store
//! writes (record files, trees, signed commits), made without reading the trees back
//! from the object database for every record. The branch's tree is kept in memory and
//! only the trees on the new record's path are serialised again.
//! `tests/it/audit/synthetic.rs` holds its objects equal to the store's on a small
//! history, in both layouts.

use std::collections::BTreeMap;

use git2::{ObjectType, Odb, Oid, Repository};
use jitaa::audit::record::{Layout, Payload};
use jitaa::audit::store::{AUTHOR, commit_message, sign_record};
use jitaa::audit::{Signers, Store};

/// Appends records after a first one written by the real store (it lays out the branch
/// root: README.md, allowed_signers, jwks/). Every commit is dated its record's time.
pub struct Writer<'r> {
    repo: &'r Repository,
    odb: Odb<'r>,
    layout: Layout,
    root: Dir,
    /// The last commit written.
    pub tip: Oid,
    /// Its record's digest (the next record's `prev`).
    pub prev: String,
    /// Every object written since the caller last drained it (for a packbuilder).
    pub fresh: Vec<Oid>,
}

/// A tree: entries by git's sort key (a subtree's name followed by `/`).
#[derive(Default)]
struct Dir {
    entries: BTreeMap<Vec<u8>, Entry>,
    /// The tree's id; `None` after a change below it.
    id: Option<Oid>,
}

enum Entry {
    Blob(Oid),
    Tree(Dir),
}

impl<'r> Writer<'r> {
    /// Writes `first` through `store` (its layout, its commit dated the record's time)
    /// as the branch's first commit, and reads its tree to continue from.
    pub fn start(
        repo: &'r Repository,
        layout: Layout,
        first: Payload,
        signers: &Signers,
    ) -> Writer<'r> {
        let store = Store::new(repo, "jitaa/audit")
            .unwrap()
            .with_layout(layout)
            .with_commit_time(time_of(&first));
        let a = store.commit_record(None, first, signers, &[]).unwrap();
        let commit = repo.find_commit(a.commit).unwrap();
        let tree = commit.tree().unwrap();
        let mut fresh = vec![a.commit, tree.id()];
        let root = load(repo, &tree, &mut fresh);
        Writer {
            repo,
            odb: repo.odb().unwrap(),
            layout,
            root,
            tip: a.commit,
            prev: a.digest,
            fresh,
        }
    }

    /// Appends `payload` (its `prev` set to [`Writer::prev`] here) on the tip: the
    /// record file, the trees on its path, the commit signed as the store signs it.
    pub fn append(&mut self, mut payload: Payload, signers: &Signers) -> Oid {
        payload.prev.clone_from(&self.prev);
        let time = time_of(&payload);
        let record = sign_record(payload, signers).unwrap();
        let path = self
            .layout
            .path(&record.payload.time, &record.payload.id)
            .unwrap();
        let blob = self
            .odb
            .write(ObjectType::Blob, &record.to_file_bytes().unwrap())
            .unwrap();
        self.fresh.push(blob);
        let parts: Vec<&str> = path.split('/').collect();
        insert(&mut self.root, &parts, blob);
        let tree = write(&self.odb, &mut self.root, &mut self.fresh);
        // The buffer `Repository::commit_create_buffer` makes, then libgit2 adds the
        // signature header as the store's `commit_signed` does.
        let who = format!(
            "{} <{}> {} {}{:02}{:02}",
            AUTHOR.0,
            AUTHOR.1,
            time.seconds(),
            if time.offset_minutes() < 0 { '-' } else { '+' },
            time.offset_minutes().abs() / 60,
            time.offset_minutes().abs() % 60
        );
        let text = format!(
            "tree {tree}\nparent {}\nauthor {who}\ncommitter {who}\n\n{}",
            self.tip,
            commit_message(&record, &path)
        );
        let signature = signers.sign_commit(&text).unwrap().unwrap();
        let commit = self.repo.commit_signed(&text, &signature, None).unwrap();
        self.fresh.push(commit);
        self.tip = commit;
        self.prev = record.digest;
        commit
    }
}

/// A record's time as a commit time (UTC).
fn time_of(p: &Payload) -> git2::Time {
    let t = jitaa::audit::record::parse_time(&p.time).unwrap();
    git2::Time::new(t.timestamp(), 0)
}

fn load(repo: &Repository, tree: &git2::Tree<'_>, fresh: &mut Vec<Oid>) -> Dir {
    let mut dir = Dir {
        entries: BTreeMap::new(),
        id: Some(tree.id()),
    };
    for e in tree {
        let name = e.name_bytes().to_vec();
        if e.kind() == Some(ObjectType::Tree) {
            let sub = repo.find_tree(e.id()).unwrap();
            fresh.push(sub.id());
            let mut key = name;
            key.push(b'/');
            dir.entries
                .insert(key, Entry::Tree(load(repo, &sub, fresh)));
        } else {
            assert_eq!(e.filemode(), 0o100_644, "only plain files on the branch");
            fresh.push(e.id());
            dir.entries.insert(name, Entry::Blob(e.id()));
        }
    }
    dir
}

/// Puts `blob` at `parts` (the last one the file name) below `dir`.
fn insert(dir: &mut Dir, parts: &[&str], blob: Oid) {
    dir.id = None;
    match parts {
        [] => {}
        [file] => {
            dir.entries
                .insert(file.as_bytes().to_vec(), Entry::Blob(blob));
        }
        [sub, rest @ ..] => {
            let mut key = sub.as_bytes().to_vec();
            key.push(b'/');
            let entry = dir
                .entries
                .entry(key)
                .or_insert_with(|| Entry::Tree(Dir::default()));
            let Entry::Tree(d) = entry else {
                panic!("{sub} is a file")
            };
            insert(d, rest, blob);
        }
    }
}

/// Writes the trees changed below `dir` and `dir`'s own; its id.
fn write(odb: &Odb<'_>, dir: &mut Dir, fresh: &mut Vec<Oid>) -> Oid {
    if let Some(id) = dir.id {
        return id;
    }
    let mut bytes = Vec::with_capacity(dir.entries.len() * 48);
    for (key, entry) in &mut dir.entries {
        let (mode, name, id): (&[u8], &[u8], Oid) = match entry {
            Entry::Blob(id) => (b"100644", key, *id),
            Entry::Tree(d) => (b"40000", &key[..key.len() - 1], write(odb, d, fresh)),
        };
        bytes.extend_from_slice(mode);
        bytes.push(b' ');
        bytes.extend_from_slice(name);
        bytes.push(0);
        bytes.extend_from_slice(id.as_bytes());
    }
    let id = odb.write(ObjectType::Tree, &bytes).unwrap();
    fresh.push(id);
    dir.id = Some(id);
    id
}
