use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use git2::{ObjectType, Oid, Repository};
use proptest::prelude::*;

use super::*;
use crate::audit::{Actor, Draft, Kind, Signers, SshSigner, Store, Subject};

/// A bare repository holding an audit branch of `n` signed records (loose objects).
fn history(dir: &Path, n: usize) -> Repository {
    let keys = crate::keys::generate(&dir.join("k"), "jitaa@test").unwrap();
    let text = std::fs::read_to_string(&keys.private_path).unwrap();
    let signers = Signers::ssh(SshSigner::Key(
        crate::keys::SigningKey::from_openssh(&text, "t").unwrap(),
    ));
    let repo = Repository::init_bare(dir.join("r.git")).unwrap();
    {
        let store = Store::new(&repo, "jitaa/audit").unwrap();
        for i in 0..n {
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
            store.append(&d, &signers).unwrap();
        }
    }
    repo
}

/// Every object the audit branch of `repo` reaches, as libgit2 reads it.
fn all_objects(repo: &Repository) -> HashMap<Oid, (ObjectType, Vec<u8>)> {
    let odb = repo.odb().unwrap();
    let mut ids = std::collections::HashSet::new();
    let mut walk = repo.revwalk().unwrap();
    walk.push_ref("refs/heads/jitaa/audit").unwrap();
    for c in walk {
        let c = repo.find_commit(c.unwrap()).unwrap();
        ids.insert(c.id());
        let mut trees = vec![c.tree_id()];
        while let Some(t) = trees.pop() {
            if ids.insert(t) {
                for e in &repo.find_tree(t).unwrap() {
                    match e.kind() {
                        Some(ObjectType::Tree) => trees.push(e.id()),
                        _ => {
                            ids.insert(e.id());
                        }
                    }
                }
            }
        }
    }
    ids.into_iter()
        .map(|id| {
            let o = odb.read(id).unwrap();
            (id, (o.kind(), o.data().to_vec()))
        })
        .collect()
}

fn git(repo: &Repository, args: &[&str]) {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(repo.path())
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

/// Reads every object of `repo` from its packs alone and holds each equal to
/// libgit2's read.
fn reads_every_object_from_the_packs(
    repo: &Repository,
    want: &HashMap<Oid, (ObjectType, Vec<u8>)>,
) {
    let objects = Objects::open(repo).unwrap();
    assert!(!objects.packs.packs.is_empty(), "packed");
    for (id, (kind, bytes)) in want {
        let (k, got) = objects
            .in_packs(*id)
            .unwrap_or_else(|| panic!("{id} ({kind:?}) not read from the packs"));
        assert_eq!((k, got.as_slice()), (*kind, bytes.as_slice()), "{id}");
    }
}

/// The reader agrees with libgit2 on every object of a real audit history, however
/// it was packed: by libgit2's packbuilder (what the benchmarks write), by git with
/// deep offset deltas (what a clone holds), and by git with deltas naming their base
/// by id; and with a cache too small to keep a chain.
#[test]
fn every_object_reads_as_libgit2_reads_it_whoever_packed_it() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = history(tmp.path(), 40);
    let want = all_objects(&repo);
    assert!(want.len() > 40 * 6, "{} objects", want.len());

    // libgit2's packbuilder, the loose objects left beside it.
    let mut pb = repo.packbuilder().unwrap();
    let mut walk = repo.revwalk().unwrap();
    walk.push_ref("refs/heads/jitaa/audit").unwrap();
    pb.insert_walk(&mut walk).unwrap();
    pb.write(&repo.path().join("objects/pack"), 0o644).unwrap();
    reads_every_object_from_the_packs(&repo, &want);

    // git, deep offset deltas, one pack.
    git(
        &repo,
        &[
            "repack",
            "-a",
            "-d",
            "-f",
            "-q",
            "--depth=50",
            "--window=50",
        ],
    );
    reads_every_object_from_the_packs(&repo, &want);
    let deltas = Packs::open(&repo.path().join("objects"))
        .packs
        .iter()
        .map(|p| {
            want.keys()
                .filter(|id| {
                    p.find(id.as_bytes())
                        .and_then(|off| p.entry(off))
                        .is_some_and(|e| e.kind == 6)
                })
                .count()
        })
        .sum::<usize>();
    assert!(deltas > want.len() / 3, "{deltas} offset deltas");

    // git, deltas naming their base by id.
    git(
        &repo,
        &[
            "-c",
            "repack.useDeltaBaseOffset=false",
            "repack",
            "-a",
            "-d",
            "-f",
            "-q",
        ],
    );
    reads_every_object_from_the_packs(&repo, &want);

    // A cache that keeps almost nothing: every chain resolved again.
    let mut objects = Objects::open(&repo).unwrap();
    objects.state.get_mut().cache = Cache::new(64);
    for (id, (kind, bytes)) in &want {
        let (k, got) = objects.in_packs(*id).unwrap();
        assert_eq!((k, got.as_slice()), (*kind, bytes.as_slice()));
    }
}

/// Loose objects, and objects of a pack the reader cannot map, come from libgit2.
#[test]
fn what_is_not_in_a_readable_pack_is_read_through_libgit2() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = history(tmp.path(), 3);
    let want = all_objects(&repo);
    let objects = Objects::open(&repo).unwrap();
    for (id, (kind, bytes)) in &want {
        assert!(objects.in_packs(*id).is_none());
        let (k, got) = objects.read(*id).unwrap();
        assert_eq!((k, got.as_slice()), (*kind, bytes.as_slice()));
    }
    let missing = Oid::from_str("0123456789012345678901234567890123456789").unwrap();
    assert!(objects.read(missing).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A damaged pack never yields different bytes: each read gives the object as it
    /// was, or fails (libgit2 refusing the same damage); nothing panics.
    #[test]
    fn a_damaged_pack_never_yields_other_bytes(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..6),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let repo = history(tmp.path(), 6);
        let want = all_objects(&repo);
        git(&repo, &["repack", "-a", "-d", "-f", "-q"]);
        let pack_dir = repo.path().join("objects/pack");
        let pack = std::fs::read_dir(&pack_dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "pack"))
            .unwrap();
        let mut bytes = std::fs::read(&pack).unwrap();
        for (at, x) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        std::fs::remove_file(&pack).unwrap();
        std::fs::write(&pack, &bytes).unwrap();
        let repo = Repository::open_bare(repo.path()).unwrap();
        let objects = Objects::open(&repo).unwrap();
        for (id, (kind, want)) in &want {
            if let Ok((k, got)) = objects.read(*id) {
                prop_assert_eq!((k, got.as_slice()), (*kind, want.as_slice()));
            }
        }
    }

    /// Any bytes as a delta: applied or refused, never a panic, never past its size.
    #[test]
    fn any_delta_is_applied_or_refused(base in proptest::collection::vec(any::<u8>(), 0..64),
                                       delta in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Some(out) = apply(&base, &delta) {
            prop_assert!(out.len() <= MAX_OBJECT);
        }
    }
}

/// The delta instructions as git writes them: copies (offsets and sizes of up to 4
/// and 3 bytes, size 0 meaning 0x10000) and inserts.
#[test]
fn deltas_copy_and_insert_as_git_encodes_them() {
    let base: Vec<u8> = (0..=255u8).cycle().take(0x10010).collect();
    // base size, result size, copy(offset 2, len 3), insert "xy", copy(0, 0x10000).
    let mut delta = Vec::new();
    let varint = |mut n: usize, out: &mut Vec<u8>| loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            break;
        }
        out.push(b | 0x80);
    };
    varint(base.len(), &mut delta);
    varint(3 + 2 + 0x10000, &mut delta);
    delta.extend_from_slice(&[0x80 | 0x01 | 0x10, 2, 3]);
    delta.extend_from_slice(&[2, b'x', b'y']);
    delta.push(0x80);
    let out = apply(&base, &delta).unwrap();
    assert_eq!(&out[..5], &[2, 3, 4, b'x', b'y']);
    assert_eq!(&out[5..], &base[..0x10000]);
    // A wrong base size, a copy past the base, and the reserved opcode 0 are refused.
    let mut wrong = delta.clone();
    wrong[0] ^= 1;
    assert!(apply(&base, &wrong).is_none());
    assert!(apply(&base[..4], &[4, 1, 0x91, 4, 1]).is_none());
    assert!(apply(&base[..4], &[4, 1, 0]).is_none());
}

/// A pack holding one whole blob: `content` stored under the id `id`.
fn one_object_pack(objects: &Path, id: Oid, content: &[u8]) {
    use std::io::Write as _;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(content).unwrap();
    let body = z.finish().unwrap();
    let mut pack = b"PACK\0\0\0\x02\0\0\0\x01".to_vec();
    // Kind 3 (blob), size below 16: one header byte.
    assert!(content.len() < 16);
    pack.push(0x30 | content.len() as u8);
    pack.extend_from_slice(&body);
    pack.extend_from_slice(&[0; 20]);
    let mut idx = b"\xfftOc\0\0\0\x02".to_vec();
    for b in 0..256u32 {
        let n = u32::from(b >= u32::from(id.as_bytes()[0]));
        idx.extend_from_slice(&n.to_be_bytes());
    }
    idx.extend_from_slice(id.as_bytes());
    idx.extend_from_slice(&[0; 4]);
    idx.extend_from_slice(&12u32.to_be_bytes());
    idx.extend_from_slice(&[0; 40]);
    let dir = objects.join("pack");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pack-x.pack"), pack).unwrap();
    std::fs::write(dir.join("pack-x.idx"), idx).unwrap();
}

/// A pack that stores other bytes under an object's id (a swapped object) is never
/// believed: the reader hashes what it inflated, refuses it, and libgit2 refuses it
/// too; the same pack with the true bytes is read.
#[test]
fn a_pack_object_whose_bytes_do_not_hash_to_its_id_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let good = Oid::hash_object(ObjectType::Blob, b"approved").unwrap();
    let forged = Repository::init_bare(tmp.path().join("forged.git")).unwrap();
    one_object_pack(&forged.path().join("objects"), good, b"denied!!");
    let objects = Objects::open(&forged).unwrap();
    assert!(objects.in_packs(good).is_none());
    assert!(objects.read(good).is_err());

    let honest = Repository::init_bare(tmp.path().join("honest.git")).unwrap();
    one_object_pack(&honest.path().join("objects"), good, b"approved");
    let objects = Objects::open(&honest).unwrap();
    let (kind, bytes) = objects.in_packs(good).unwrap();
    assert_eq!(
        (kind, bytes.as_slice()),
        (ObjectType::Blob, &b"approved"[..])
    );
}

/// The pack's own header must agree with its index (signature, version, object
/// count), or the reader leaves the pack to libgit2. The header is read from the file,
/// not through the mapping (resident memory, README): the check must still hold.
#[test]
fn a_pack_whose_header_disagrees_with_its_index_is_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let good = Oid::hash_object(ObjectType::Blob, b"approved").unwrap();
    for (at, byte) in [(3, b'X'), (7, 9), (11, 2)] {
        let repo = Repository::init_bare(tmp.path().join(format!("r{at}.git"))).unwrap();
        let objects_dir = repo.path().join("objects");
        one_object_pack(&objects_dir, good, b"approved");
        let pack = objects_dir.join("pack/pack-x.pack");
        let mut bytes = std::fs::read(&pack).unwrap();
        bytes[at] = byte;
        std::fs::write(&pack, bytes).unwrap();
        let objects = Objects::open(&repo).unwrap();
        assert!(
            objects.in_packs(good).is_none(),
            "header byte {at} = {byte}"
        );
    }
}
