//! The batched fast path must never hide a bad record: one bad signature among many is
//! found and named, whatever the batch size, and it is reported before later errors.

use git2::{Oid, Repository};

use super::{Batch, VerifyError, VerifyOptions, verify, verify_batched};

use crate::audit::sign::RECORD_NAMESPACE;
use crate::audit::trust::AllowedSigners;
use crate::audit::{Actor, Draft, Kind, Signers, SshSigner, Store, Subject};
use crate::keys::SigningKey;

const BRANCH: &str = "jitaa/audit";

struct Chain {
    _tmp: tempfile::TempDir,
    repo: Repository,
    signers: Signers,
    trusted: AllowedSigners,
}

fn chain() -> Chain {
    let tmp = tempfile::tempdir().unwrap();
    let keys = crate::keys::generate(&tmp.path().join("keys"), "jitaa@test").unwrap();
    let text = std::fs::read_to_string(&keys.private_path).unwrap();
    let signers = Signers::ssh(SshSigner::Key(
        SigningKey::from_openssh(&text, "test").unwrap(),
    ));
    let trusted = AllowedSigners::load(&keys.allowed_signers_path).unwrap();
    let repo = Repository::init_bare(tmp.path().join("repo.git")).unwrap();
    Chain {
        _tmp: tmp,
        repo,
        signers,
        trusted,
    }
}

fn draft(i: usize) -> Draft {
    let mut d = Draft::new(
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
    d.time = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .to_utc()
        + chrono::Duration::minutes(i as i64 * 7);
    d
}

/// Writes `tree` as a new signed commit on the tip's parent, replacing the tip;
/// `sign_over` overrides the bytes the commit signature covers (a bad signature).
fn replace_tip(c: &Chain, tree: Oid, sign_over: Option<&str>) -> Oid {
    let store = Store::new(&c.repo, BRANCH).unwrap();
    let tip = c.repo.find_commit(store.tip().unwrap().unwrap()).unwrap();
    let parents: Vec<git2::Commit<'_>> = tip.parents().collect();
    let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
    let tree = c.repo.find_tree(tree).unwrap();
    let who = tip.author();
    let buf = c
        .repo
        .commit_create_buffer(&who, &who, tip.message().unwrap(), &tree, &parents)
        .unwrap();
    let text = buf.as_str().unwrap();
    let sig = c
        .signers
        .sign_commit(sign_over.unwrap_or(text))
        .unwrap()
        .unwrap();
    let id = c.repo.commit_signed(text, &sig, None).unwrap();
    c.repo
        .reference(&store.ref_name(), id, true, "test")
        .unwrap();
    id
}

/// `blob` at `path` under `base`, rebuilding the trees on the path.
fn put(repo: &Repository, base: &git2::Tree<'_>, path: &str, blob: Oid) -> Oid {
    put_entry(repo, base, path, blob, 0o100644)
}

/// The object `id` (with `mode`) at `path` under `base`, rebuilding the trees on the path.
fn put_entry(repo: &Repository, base: &git2::Tree<'_>, path: &str, id: Oid, mode: i32) -> Oid {
    let mut b = repo.treebuilder(Some(base)).unwrap();
    match path.split_once('/') {
        None => b.insert(path, id, mode).unwrap(),
        Some((head, rest)) => {
            let sub = repo.find_tree(base.get_name(head).unwrap().id()).unwrap();
            b.insert(head, put_entry(repo, &sub, rest, id, mode), 0o040000)
                .unwrap()
        }
    };
    b.write().unwrap()
}

/// Appends `n` records; the record at `bad_record` carries an SSH signature over other
/// bytes and the commit at `bad_commit` a commit signature over other bytes. Returns
/// the record ids.
fn build(c: &Chain, n: usize, bad_record: Option<usize>, bad_commit: Option<usize>) -> Vec<String> {
    let store = Store::new(&c.repo, BRANCH).unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let a = store.append(&draft(i), &c.signers).unwrap();
        if bad_record == Some(i) {
            let commit = c.repo.find_commit(a.commit).unwrap();
            let tree = commit.tree().unwrap();
            let blob = c
                .repo
                .find_blob(tree.get_path(std::path::Path::new(&a.path)).unwrap().id())
                .unwrap();
            let mut doc: serde_json::Value = serde_json::from_slice(blob.content()).unwrap();
            let forged = c.signers.ssh.as_ref().unwrap();
            doc["signatures"][0]["sig"] = forged
                .sign(RECORD_NAMESPACE, b"not this record's payload")
                .unwrap()
                .into();
            let mut bytes = serde_json::to_vec_pretty(&doc).unwrap();
            bytes.push(b'\n');
            let blob = c.repo.blob(&bytes).unwrap();
            let tree = put(&c.repo, &tree, &a.path, blob);
            replace_tip(c, tree, None);
        }
        if bad_commit == Some(i) {
            let tree = c.repo.find_commit(a.commit).unwrap().tree_id();
            replace_tip(c, tree, Some("a different commit"));
        }
        ids.push(a.id);
    }
    ids
}

fn run(c: &Chain, expect_head: Option<String>, batch: usize) -> Result<usize, VerifyError> {
    let tip = Store::new(&c.repo, BRANCH).unwrap().tip().unwrap().unwrap();
    let opts = VerifyOptions {
        trusted: &c.trusted,
        pushers: &Default::default(),
        expect_head,
        oidc: None,
    };
    verify_batched(&c.repo, tip, &opts, batch, None).map(|v| v.records)
}

#[test]
fn one_bad_record_signature_among_a_thousand_is_found_and_named() {
    let c = chain();
    let ids = build(&c, 1000, Some(537), Some(800));
    for batch in [1, 64, 1000, super::BATCH_SIZE] {
        let e = run(&c, None, batch).unwrap_err();
        assert_eq!(
            e.record.as_deref(),
            Some(ids[537].as_str()),
            "batch {batch}: {e}"
        );
        assert!(
            e.reason.contains(
                "signatures[0] (ssh, principal jitaa@test): SSH signature does not match"
            ),
            "batch {batch}: {e}"
        );
    }
}

#[test]
fn one_bad_commit_signature_is_found_and_named() {
    let c = chain();
    let ids = build(&c, 300, None, Some(250));
    for batch in [7, 300, super::BATCH_SIZE] {
        let e = run(&c, None, batch).unwrap_err();
        assert_eq!(
            e.record.as_deref(),
            Some(ids[250].as_str()),
            "batch {batch}: {e}"
        );
        assert!(
            e.reason
                .contains("commit signature: SSH signature does not match"),
            "{e}"
        );
    }
    // The public entry point agrees.
    let tip = Store::new(&c.repo, BRANCH).unwrap().tip().unwrap().unwrap();
    let opts = VerifyOptions {
        trusted: &c.trusted,
        pushers: &Default::default(),
        expect_head: None,
        oidc: None,
    };
    let e = verify(&c.repo, tip, &opts).unwrap_err();
    assert_eq!(e.record.as_deref(), Some(ids[250].as_str()), "{e}");
}

#[test]
fn a_queued_bad_signature_is_reported_before_a_later_error() {
    let c = chain();
    let ids = build(&c, 40, Some(3), None);
    // Without the batch flush, the missing expected head (found after the walk)
    // would be reported instead of the earlier bad signature.
    let missing = format!("sha256:{}", "ab".repeat(32));
    let e = run(&c, Some(missing.clone()), super::BATCH_SIZE).unwrap_err();
    assert_eq!(e.record.as_deref(), Some(ids[3].as_str()), "{e}");
    // A genuine chain with the same missing head fails for that reason.
    let good = chain();
    build(&good, 5, None, None);
    let e = run(&good, Some(missing), super::BATCH_SIZE).unwrap_err();
    assert!(e.reason.contains("is not in the chain"), "{e}");
    assert_eq!(run(&good, None, 2).unwrap(), 5);
}

#[test]
fn a_genuine_chain_verifies_with_any_batch_size() {
    let c = chain();
    build(&c, 50, None, None);
    for batch in [1, 3, 49, 50, 51, super::BATCH_SIZE] {
        assert_eq!(run(&c, None, batch).unwrap(), 50, "batch {batch}");
    }
}

#[test]
fn a_batch_with_a_key_that_signed_nothing_valid_fails_each_item() {
    // Direct check of the batch: a signature moved onto another message fails both
    // the combined equation and its single check, and is the one named.
    let c = chain();
    let key = c.signers.ssh.as_ref().unwrap();
    let sigs: Vec<ssh_key::SshSig> = (0..10)
        .map(|i| {
            let pem = key.sign("git", format!("m{i}").as_bytes()).unwrap();
            ssh_key::SshSig::from_pem(pem.as_bytes()).unwrap()
        })
        .collect();
    let mut batch: Batch<usize> = Batch::new(100);
    for (i, s) in sigs.iter().enumerate() {
        let msg = if i == 6 {
            "m5".to_string()
        } else {
            format!("m{i}")
        };
        assert!(batch.push(s, msg.as_bytes(), i).unwrap());
    }
    assert_eq!(batch.flush(), Err(6));
    assert!(batch.is_empty());
    for (i, s) in sigs.iter().enumerate() {
        assert!(batch.push(s, format!("m{i}").as_bytes(), i).unwrap());
    }
    assert_eq!(batch.flush(), Ok(()));
}

#[test]
fn record_folders_match_record_path() {
    // The walk builds the folder itself; it must agree with the store's.
    for time in [
        "2026-11-25T23:30:00-02:00",
        "0099-01-02T00:00:00Z",
        "2026-02-28T23:59:59+00:00",
    ] {
        let t = crate::audit::record::parse_time(time).unwrap();
        use chrono::Datelike;
        let mine = format!(
            "records/{:04}/{:02}/{:02}/X.json",
            t.year(),
            t.month(),
            t.day()
        );
        use crate::audit::record::Layout;
        assert_eq!(mine, Layout::Flat.path(time, "X").unwrap(), "{time}");
        assert_eq!(
            mine.replace("/X.json", "/X/X.json"),
            crate::audit::record::record_path(time, "X").unwrap(),
            "{time}"
        );
    }
}

/// A folder that lists the newest record twice (the second name pointing at other
/// bytes) shows git and jitaa different files; even with a valid commit signature over
/// it, verification refuses the tree.
#[test]
fn a_folder_listing_a_record_twice_is_refused_even_when_signed() {
    let c = chain();
    build(&c, 3, None, None);
    assert!(run(&c, None, 64).is_ok());
    let store = Store::new(&c.repo, BRANCH).unwrap();
    let tree = c
        .repo
        .find_commit(store.tip().unwrap().unwrap())
        .unwrap()
        .tree()
        .unwrap();
    // The newest record's folder (its bucket).
    let newest_path = crate::audit::chain::list(&c.repo, store.tip().unwrap().unwrap())
        .unwrap()
        .pop()
        .unwrap()
        .path;
    let day = newest_path.rsplit_once('/').unwrap().0;
    let day_tree = c
        .repo
        .find_tree(tree.get_path(std::path::Path::new(day)).unwrap().id())
        .unwrap();
    let newest = day_tree
        .iter()
        .next_back()
        .unwrap()
        .name()
        .unwrap()
        .to_string();
    let odb = c.repo.odb().unwrap();
    let mut raw = odb.read(day_tree.id()).unwrap().data().to_vec();
    raw.extend_from_slice(format!("100644 {newest}\0").as_bytes());
    raw.extend_from_slice(c.repo.blob(b"{}").unwrap().as_bytes());
    let forged = odb.write(git2::ObjectType::Tree, &raw).unwrap();
    replace_tip(&c, put_entry(&c.repo, &tree, day, forged, 0o040000), None);
    let err = run(&c, None, 64).unwrap_err();
    assert!(
        err.reason.contains("malformed tree")
            && err.reason.contains(&format!("`{newest}` is listed twice")),
        "{err}"
    );
}

/// Writes git's commit-graph of `repo` (every ref's history).
fn write_commit_graph(repo: &Repository) {
    let out = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(repo.path())
        .args(["commit-graph", "write", "--reachable"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// Rewrites the commit-graph so that `child`'s first parent is `parent` (the file's
/// own checksum left stale, as jitaa never relies on it).
fn rewire_commit_graph(repo: &Repository, child: Oid, parent: Oid) {
    let path = repo.path().join("objects/info/commit-graph");
    let mut g = std::fs::read(&path).unwrap();
    let be32 = |b: &[u8], at: usize| u32::from_be_bytes(b[at..at + 4].try_into().unwrap());
    let chunk = |id: &[u8]| {
        (0..g[6] as usize)
            .map(|c| 8 + c * 12)
            .find(|&at| &g[at..at + 4] == id)
            .map(|at| u64::from_be_bytes(g[at + 4..at + 12].try_into().unwrap()) as usize)
            .unwrap()
    };
    let (fanout, names, data) = (chunk(b"OIDF"), chunk(b"OIDL"), chunk(b"CDAT"));
    let n = be32(&g, fanout + 255 * 4) as usize;
    let pos = |id: Oid| {
        (0..n)
            .find(|&i| &g[names + i * 20..names + i * 20 + 20] == id.as_bytes())
            .unwrap()
    };
    let (i, j) = (pos(child), pos(parent));
    let at = data + i * 36 + 20;
    g[at..at + 4].copy_from_slice(&(j as u32).to_be_bytes());
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, g).unwrap();
}

/// git's commit-graph only says where to start reading: with a current graph, a
/// stale one (records appended since) or one that lies about a parent, verify finds
/// the same records and the same first bad one; `log` reads the same records, or
/// stops with an error naming the graph, never a wrong list.
#[test]
fn a_commit_graph_is_a_hint_that_never_changes_the_verdict() {
    let c = chain();
    let ids = build(&c, 20, None, None);
    write_commit_graph(&c.repo);
    // 20 more after the graph was written: its tip is not in the graph.
    let store = Store::new(&c.repo, BRANCH).unwrap();
    for i in 20..40 {
        store.append(&draft(i), &c.signers).unwrap();
    }
    for batch in [1, 3, 7, 40] {
        assert_eq!(
            run(&c, None, batch).unwrap(),
            40,
            "stale graph, batch {batch}"
        );
    }
    let tip = store.tip().unwrap().unwrap();
    let listed = |seg| -> Result<Vec<Oid>, String> {
        crate::audit::chain::stream_in(&c.repo, tip, seg)
            .map_err(|e| crate::exit::full_message(&e))?
            .map(|l| {
                l.map(|l| l.commit)
                    .map_err(|e| crate::exit::full_message(&e))
            })
            .collect()
    };
    let commits = crate::audit::chain::commits(&c.repo, tip).unwrap();
    assert_eq!(commits.len(), 40);
    for seg in [1, 3, 7, 40] {
        assert_eq!(listed(seg).unwrap(), commits, "segment {seg}");
    }
    assert_eq!(ids.len(), 20);

    // A graph whose 10th commit skips the 9th: marks from it fall one commit short.
    write_commit_graph(&c.repo);
    rewire_commit_graph(&c.repo, commits[9], commits[7]);
    for batch in [1, 3, 7, 40] {
        assert_eq!(
            run(&c, None, batch).unwrap(),
            40,
            "lying graph, batch {batch}"
        );
    }
    for seg in [3, 7] {
        let e = listed(seg).unwrap_err();
        assert!(e.contains("commit-graph"), "segment {seg}: {e}");
    }
    // Where the lie does not move a mark, the list is the chain.
    assert_eq!(listed(40).unwrap(), commits);

    // A bad record is still the one named, graph or not.
    let bad = chain();
    let ids = build(&bad, 30, Some(17), None);
    write_commit_graph(&bad.repo);
    for batch in [1, 4, 30] {
        let e = run(&bad, None, batch).unwrap_err();
        assert_eq!(
            e.record.as_deref(),
            Some(ids[17].as_str()),
            "batch {batch}: {e}"
        );
    }
}
