//! The benchmarks' fast writer of synthetic histories (`benches/audit/synthetic.rs`)
//! writes exactly what the real store writes: on a small history, in both layouts,
//! every commit it makes has the id of the store's (so every record file, tree and
//! signed commit byte is the same), and its history verifies.

#[path = "../../../benches/audit/synthetic.rs"]
mod writer;

use git2::Repository;
use jitaa::audit::record::{Layout, Payload};
use jitaa::audit::{AllowedSigners, Store, VerifyOptions};

use crate::support::Key;
use crate::support::records::draft;

/// 30 records over three days, their ids made to share buckets (three buckets a day).
fn payloads() -> Vec<Payload> {
    (0..30)
        .map(|i| {
            let mut d = draft(i);
            d.time = chrono::DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
                .unwrap()
                .to_utc()
                + chrono::Duration::days((i / 10) as i64)
                + chrono::Duration::seconds(i as i64);
            let mut p = d.to_payload(jitaa::audit::record::GENESIS);
            p.id.truncate(24);
            p.id.push_str(["AA", "AB", "ZZ"][i % 3]);
            p
        })
        .collect()
}

fn time_of(p: &Payload) -> git2::Time {
    let t = jitaa::audit::record::parse_time(&p.time).unwrap();
    git2::Time::new(t.timestamp(), 0)
}

fn same_bytes_in(layout: Layout) {
    let tmp = tempfile::tempdir().unwrap();
    let key = Key::generate(&tmp.path().join("keys"), "jitaa@bench");
    let signers = key.signers();
    let payloads = payloads();

    // The real store, one commit at a time, each dated its record's time.
    let real = Repository::init_bare(tmp.path().join("real.git")).unwrap();
    let mut parent: Option<git2::Oid> = None;
    let mut prev = jitaa::audit::record::GENESIS.to_string();
    let mut want = Vec::new();
    for p in &payloads {
        let mut p = p.clone();
        p.prev.clone_from(&prev);
        let store = Store::new(&real, "jitaa/audit")
            .unwrap()
            .with_layout(layout)
            .with_commit_time(time_of(&p));
        let c = parent.map(|id| real.find_commit(id).unwrap());
        let a = store.commit_record(c.as_ref(), p, &signers, &[]).unwrap();
        assert_eq!(Layout::of(&a.path), Some(layout), "{}", a.path);
        want.push(a.commit);
        prev = a.digest;
        parent = Some(a.commit);
    }

    // The fast writer, in a repository of its own.
    let fast = Repository::init_bare(tmp.path().join("fast.git")).unwrap();
    let mut w = writer::Writer::start(&fast, layout, payloads[0].clone(), &signers);
    let mut got = vec![w.tip];
    for p in &payloads[1..] {
        got.push(w.append(p.clone(), &signers));
    }
    for (i, (g, r)) in got.iter().zip(&want).enumerate() {
        if g != r {
            let show = |repo: &Repository, id| {
                let c = repo.find_commit(id).unwrap();
                String::from_utf8_lossy(c.raw_header_bytes()).to_string()
            };
            panic!(
                "commit {i} differs ({layout:?}):\nstore: {}\nfast:  {}",
                show(&real, *r),
                show(&fast, *g)
            );
        }
    }
    assert_eq!(got, want);
    assert_eq!(w.prev, prev);
    // Every object the store wrote is in the fast writer's repository, so its history
    // verifies on its own.
    let trusted = AllowedSigners::load(&key.allowed).unwrap();
    let opts = VerifyOptions {
        trusted: &trusted,
        pushers: &AllowedSigners::default(),
        expect_head: None,
        oidc: None,
    };
    let v = jitaa::audit::verify(&fast, w.tip, &opts).unwrap();
    assert_eq!(v.records, payloads.len());
    assert_eq!(v.head, prev);
    // The objects it listed for packing are the history's objects.
    let odb = fast.odb().unwrap();
    for id in &w.fresh {
        assert!(odb.exists(*id), "{id}");
    }
}

#[test]
fn the_fast_writer_writes_the_stores_bytes_in_the_bucketed_layout() {
    same_bytes_in(Layout::Bucketed);
}

#[test]
fn the_fast_writer_writes_the_stores_bytes_in_the_layout_before_buckets() {
    same_bytes_in(Layout::Flat);
}
