use std::collections::{BTreeMap, BTreeSet};

use git2::{ObjectType, Repository};
use proptest::prelude::*;

use super::*;

fn repo() -> (tempfile::TempDir, Repository) {
    let tmp = tempfile::tempdir().unwrap();
    let repo = Repository::init_bare(tmp.path().join("r.git")).unwrap();
    (tmp, repo)
}

/// A file tree: name → file (content, executable) or folder.
#[derive(Debug, Clone)]
enum Node {
    File(String, bool),
    Dir(BTreeMap<String, Node>),
}

/// Builds the tree of `files` (`path` → content); a path that runs into a file (or a
/// file where a folder is) is skipped, as a working tree could not hold both.
fn layout(files: &[(Vec<String>, String, bool)]) -> BTreeMap<String, Node> {
    let mut root = BTreeMap::new();
    'files: for (path, content, exec) in files {
        let mut dir = &mut root;
        for (i, part) in path.iter().enumerate() {
            if i + 1 == path.len() {
                if dir.contains_key(part) {
                    continue 'files;
                }
                dir.insert(part.clone(), Node::File(content.clone(), *exec));
            } else {
                let next = dir
                    .entry(part.clone())
                    .or_insert_with(|| Node::Dir(BTreeMap::new()));
                match next {
                    Node::Dir(d) => dir = d,
                    Node::File(..) => continue 'files,
                }
            }
        }
    }
    root
}

fn write(repo: &Repository, dir: &BTreeMap<String, Node>) -> Oid {
    let mut b = repo.treebuilder(None).unwrap();
    for (name, node) in dir {
        match node {
            Node::File(content, exec) => {
                let id = repo.blob(content.as_bytes()).unwrap();
                b.insert(name, id, if *exec { 0o100755 } else { 0o100644 })
                    .unwrap();
            }
            Node::Dir(d) if d.is_empty() => {}
            Node::Dir(d) => {
                let id = write(repo, d);
                b.insert(name, id, 0o040000).unwrap();
            }
        }
    }
    b.write().unwrap()
}

/// What libgit2's own tree diff reports, as (path, kind, id).
fn libgit2(repo: &Repository, old: Option<Oid>, new: Oid) -> BTreeSet<(String, String, Oid)> {
    let old = old.map(|o| repo.find_tree(o).unwrap());
    let new = repo.find_tree(new).unwrap();
    let diff = repo
        .diff_tree_to_tree(old.as_ref(), Some(&new), None)
        .unwrap();
    diff.deltas()
        .map(|d| {
            let (kind, file) = match d.status() {
                git2::Delta::Added => ("Added", d.new_file()),
                git2::Delta::Deleted => ("Deleted", d.old_file()),
                git2::Delta::Modified => ("Modified", d.new_file()),
                other => panic!("unexpected {other:?}"),
            };
            let path = file.path().unwrap().to_str().unwrap().to_string();
            (path, kind.to_string(), file.id())
        })
        .collect()
}

fn ours(repo: &Repository, old: Option<Oid>, new: Oid) -> BTreeSet<(String, String, Oid)> {
    let odb = super::Objects::open(repo).unwrap();
    let mut trees = Trees::new(&odb);
    trees
        .diff(old, new)
        .unwrap()
        .into_iter()
        .map(|c| (c.path, format!("{:?}", c.kind), c.id))
        .collect()
}

fn files() -> impl Strategy<Value = Vec<(Vec<String>, String, bool)>> {
    // Names chosen so that files and folders sort around each other in git's order.
    let name = prop::sample::select(vec!["a", "a-b", "a.json", "a0", "b", "records"]);
    let path = prop::collection::vec(name.prop_map(str::to_string), 1..4);
    let content = prop::sample::select(vec!["x", "y", "z"]).prop_map(str::to_string);
    prop::collection::vec((path, content, any::<bool>()), 0..12)
}

proptest! {
    /// The diff lists the changes libgit2's own diff lists, for any two trees.
    #[test]
    fn the_diff_matches_libgit2(old in files(), new in files(), from_empty in any::<bool>()) {
        let (_t, repo) = repo();
        let old = (!from_empty).then(|| write(&repo, &layout(&old)));
        let new = write(&repo, &layout(&new));
        prop_assert_eq!(ours(&repo, old, new), libgit2(&repo, old, new));
    }
}

#[test]
fn trees_read_for_one_commit_serve_the_next() {
    let (_t, repo) = repo();
    let f = |p: &str, c: &str| {
        (
            p.split('/').map(str::to_string).collect(),
            c.to_string(),
            false,
        )
    };
    let one = write(&repo, &layout(&[f("records/2020/a.json", "1")]));
    let two = write(
        &repo,
        &layout(&[f("records/2020/a.json", "1"), f("records/2020/b.json", "2")]),
    );
    let three = write(
        &repo,
        &layout(&[
            f("records/2020/a.json", "1"),
            f("records/2020/b.json", "2"),
            f("README.md", "r"),
        ]),
    );
    let odb = super::Objects::open(&repo).unwrap();
    let mut trees = Trees::new(&odb);
    assert_eq!(trees.diff(None, one).unwrap().len(), 1);
    let second = trees.diff(Some(one), two).unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(
        (second[0].path.as_str(), second[0].kind),
        ("records/2020/b.json", ChangeKind::Added)
    );
    // The old side of this comparison was read for the one before.
    assert!(trees.now.iter().any(|(id, _)| *id == two));
    let third = trees.diff(Some(two), three).unwrap();
    assert_eq!(
        third.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(),
        ["README.md"]
    );
}

/// A raw tree from (mode, name, id) entries, written as is.
fn raw_tree(repo: &Repository, entries: &[(&str, &str, Oid)]) -> Oid {
    let mut raw = Vec::new();
    for (mode, name, id) in entries {
        raw.extend_from_slice(format!("{mode} {name}\0").as_bytes());
        raw.extend_from_slice(id.as_bytes());
    }
    repo.odb().unwrap().write(ObjectType::Tree, &raw).unwrap()
}

#[test]
fn a_tree_git_fsck_would_refuse_is_refused() {
    let (_t, repo) = repo();
    let blob = repo.blob(b"x").unwrap();
    let sub = raw_tree(&repo, &[("100644", "f", blob)]);
    let odb = super::Objects::open(&repo).unwrap();
    let diff = |tree: Oid| Trees::new(&odb).diff(None, tree);
    // git's order: the file `a-b` sorts before the folder `a` (read as `a/`).
    let good = raw_tree(&repo, &[("100644", "a-b", blob), ("40000", "a", sub)]);
    assert_eq!(diff(good).unwrap().len(), 2);
    for (entries, why) in [
        (
            vec![("100644", "b", blob), ("100644", "a", blob)],
            "out of git's order",
        ),
        (
            vec![("40000", "a", sub), ("100644", "a-b", blob)],
            "out of git's order",
        ),
        (
            vec![("100644", "a", blob), ("100644", "a", blob)],
            "listed twice",
        ),
        (
            vec![("100644", "a", blob), ("40000", "a", sub)],
            "listed twice",
        ),
        (
            vec![
                ("100644", "a", blob),
                ("100644", "a-b", blob),
                ("40000", "a", sub),
            ],
            "listed twice",
        ),
        (vec![("100644", "x/y", blob)], "holds a `/`"),
        (vec![("100644", "", blob)], "empty"),
        (vec![("10064x", "a", blob)], "not octal"),
    ] {
        let tree = raw_tree(&repo, &entries);
        let err = diff(tree).unwrap_err().to_string();
        assert!(
            err.contains("malformed tree") && err.contains(why),
            "{entries:?}: {err}"
        );
    }
    // Cut short inside an id, and a blob named as a tree.
    let mut raw = b"100644 a\0".to_vec();
    raw.extend_from_slice(&blob.as_bytes()[..10]);
    let short = repo.odb().unwrap().write(ObjectType::Tree, &raw).unwrap();
    assert!(diff(short).unwrap_err().to_string().contains("cut short"));
    assert!(
        diff(blob)
            .unwrap_err()
            .to_string()
            .contains("but it is a blob")
    );
}

proptest! {
    /// Any bytes stored as a tree give a diff or an error, never a panic.
    #[test]
    fn any_tree_bytes_give_a_diff_or_an_error(
        entries in prop::collection::vec(
            (
                prop::sample::select(vec!["100644", "40000", "100755", "120000", "160000", "7", "", "9"]),
                prop::sample::select(vec!["a", "a-b", "a.json", "b", "", "x/y", "é"]),
                any::<bool>(),
            ),
            0..6,
        ),
        tail in prop::collection::vec(any::<u8>(), 0..30),
        against_a_real_tree in any::<bool>(),
    ) {
        let (_t, repo) = repo();
        let blob = repo.blob(b"x").unwrap();
        let sub = raw_tree(&repo, &[("100644", "f", blob)]);
        let mut raw = Vec::new();
        for (mode, name, to_sub) in &entries {
            raw.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            raw.extend_from_slice(if *to_sub { sub.as_bytes() } else { blob.as_bytes() });
        }
        raw.extend_from_slice(&tail);
        let tree = repo.odb().unwrap().write(ObjectType::Tree, &raw).unwrap();
        let odb = super::Objects::open(&repo).unwrap();
        let old = against_a_real_tree.then_some(sub);
        let _ = Trees::new(&odb).diff(old, tree);
        let _ = Trees::new(&odb).diff(Some(tree), sub);
    }
}

/// The entries of tree `id` in stored order: (mode, name, id).
fn entries_of(repo: &Repository, id: Oid) -> Vec<(String, String, Oid)> {
    repo.find_tree(id)
        .unwrap()
        .iter()
        .map(|e| {
            (
                format!("{:o}", e.filemode()),
                e.name().unwrap().to_string(),
                e.id(),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// A new version of a tree is checked against the old one (only the bytes they do
    /// not share parsed): it is refused exactly when the whole tree would be refused,
    /// and otherwise gives libgit2's diff.
    #[test]
    fn a_tree_checked_against_its_old_version_agrees_with_a_whole_check(
        old in prop::collection::btree_map(
            prop::sample::select(vec!["a", "a-b", "a.b", "a0", "ab", "b", "b-c", "c", "0", "zz"]),
            any::<bool>(),
            1..9,
        ),
        edits in prop::collection::vec(
            (
                0..10usize,
                0..3u8,
                prop::sample::select(vec!["a", "a-b", "a0", "b", "c", "d", "", "x/y", "zz"]),
                any::<bool>(),
                prop::sample::select(vec!["100644", "40000", "100755", "10064x"]),
            ),
            1..4,
        ),
    ) {
        let (_t, repo) = repo();
        let blob = repo.blob(b"x").unwrap();
        let other = repo.blob(b"y").unwrap();
        let sub = raw_tree(&repo, &[("100644", "f", blob)]);
        let mut b = repo.treebuilder(None).unwrap();
        for (name, folder) in &old {
            if *folder {
                b.insert(name, sub, 0o040_000).unwrap();
            } else {
                b.insert(name, blob, 0o100_644).unwrap();
            }
        }
        let old_id = b.write().unwrap();
        let mut entries = entries_of(&repo, old_id);
        for (at, op, name, folder, mode) in edits {
            let at = at % (entries.len() + 1);
            let mode = if folder { "40000" } else { mode };
            let id = if folder { sub } else { other };
            let e = (mode.to_string(), name.to_string(), id);
            match op {
                0 if at < entries.len() => entries[at] = e,
                1 => entries.insert(at, e),
                _ if at < entries.len() => {
                    entries.remove(at);
                }
                _ => {}
            }
        }
        let refs: Vec<(&str, &str, Oid)> = entries
            .iter()
            .map(|(m, n, i)| (m.as_str(), n.as_str(), *i))
            .collect();
        let new_id = raw_tree(&repo, &refs);
        let odb = super::Objects::open(&repo).unwrap();
        let against_old = Trees::new(&odb).diff(Some(old_id), new_id);
        let whole = Trees::new(&odb).diff(None, new_id);
        prop_assert_eq!(
            against_old.is_ok(),
            whole.is_ok(),
            "{:?} -> {:?}: {:?} / {:?}", old, entries, against_old, whole
        );
        if against_old.is_ok() && old_id != new_id {
            prop_assert_eq!(ours(&repo, Some(old_id), new_id), libgit2(&repo, Some(old_id), new_id));
        }
        // Kept for the next comparison, the new version serves as the old side.
        let mut trees = Trees::new(&odb);
        if trees.diff(Some(old_id), new_id).is_ok() {
            let back = trees.diff(Some(new_id), old_id).unwrap();
            let fresh = Trees::new(&odb).diff(Some(new_id), old_id).unwrap();
            prop_assert_eq!(back, fresh);
        }
    }
}

/// git lists a file `a` and a folder `a` apart (`a-b` sorts between them): a new
/// version that adds one of the pair while the other is among the entries it shares
/// with the old version is refused, as the whole check refuses it.
#[test]
fn a_file_and_folder_of_one_name_are_refused_across_shared_entries() {
    let (_t, repo) = repo();
    let blob = repo.blob(b"x").unwrap();
    let sub = raw_tree(&repo, &[("100644", "f", blob)]);
    let odb = super::Objects::open(&repo).unwrap();
    let file_first = raw_tree(
        &repo,
        &[
            ("100644", "a", blob),
            ("100644", "a-b", blob),
            ("100644", "b", blob),
        ],
    );
    let folder_added = raw_tree(
        &repo,
        &[
            ("100644", "a", blob),
            ("100644", "a-b", blob),
            ("40000", "a", sub),
            ("100644", "b", blob),
        ],
    );
    let folder_first = raw_tree(
        &repo,
        &[
            ("100644", "a-b", blob),
            ("40000", "a", sub),
            ("100644", "b", blob),
        ],
    );
    let file_added = raw_tree(
        &repo,
        &[
            ("100644", "a", blob),
            ("100644", "a-b", blob),
            ("40000", "a", sub),
            ("100644", "b", blob),
        ],
    );
    for (old, new) in [(file_first, folder_added), (folder_first, file_added)] {
        let err = Trees::new(&odb)
            .diff(Some(old), new)
            .unwrap_err()
            .to_string();
        assert!(err.contains("listed twice"), "{err}");
    }
}
