//! Issue 14: records are written in the bucketed layout
//! (`records/YYYY/MM/DD/<bucket>/<id>.json`), and a branch written before the bucket
//! level (`records/YYYY/MM/DD/<id>.json`) still verifies, lists and is followed by
//! jitaa's lookups — including after jitaa appended to it in the new layout. A branch
//! switches layouts once, never back.

use jitaa::audit::Store;
use jitaa::audit::record::Layout;

use super::stock::{chain_script, have, run_script};
use crate::support::records::{
    AUDIT, Fixture, chain, draft, edit_tree, id_of, read_at, record_paths, rewrite_signed, trees,
};
use crate::support::{stderr, stdout};

fn readmes() -> [String; 2] {
    [
        jitaa::audit::store::BRANCH_README.to_string(),
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap(),
    ]
}

/// The story: an old-layout branch of a few records; jitaa appends in the new layout;
/// `verify`, `log`, `show`, `export`, the grant/reuse lookups and the README's
/// hand-verification script all follow both.
#[test]
fn an_old_layout_branch_verifies_after_jitaa_appends_in_the_new_layout() {
    let mut f = Fixture::new();
    f.layout = Layout::Flat;
    let mut digests = f.append(3);
    let repo = f.repo();
    // jitaa's own store: the bucketed layout.
    let store = Store::new(&repo, AUDIT).unwrap();
    assert_eq!(store.layout(), Layout::Bucketed);
    let signers = f.key.signers();
    for i in 3..5 {
        let a = store.append(&draft(i), &signers).unwrap();
        let id = &a.id;
        assert!(
            a.path.ends_with(&format!("/{}/{id}.json", &id[24..])),
            "{}",
            a.path
        );
        digests.push(a.digest);
    }
    let paths = record_paths(&repo);
    let layouts: Vec<_> = paths.iter().map(|p| Layout::of(p).unwrap()).collect();
    assert_eq!(
        layouts,
        [
            Layout::Flat,
            Layout::Flat,
            Layout::Flat,
            Layout::Bucketed,
            Layout::Bucketed
        ]
    );

    let out = f.verify(&["--expect-head", &digests[1]]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!(
            "verified 5 records on {AUDIT}; head {}",
            digests[4]
        )),
        "{}",
        stdout(&out)
    );

    // log, show, export read both layouts.
    let out = f.jitaa(&["log"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 6, "{}", stdout(&out));
    let id = |p: &str| id_of(p);
    for p in [&paths[0], &paths[4]] {
        let out = f.jitaa(&["show", &id(p)]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(shown["path"], p.as_str());
    }
    let out = f.jitaa(&["export", "--format", "csv"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let csv = stdout(&out);
    assert_eq!(csv.lines().count(), 6, "{csv}");
    for (p, d) in paths.iter().zip(&digests) {
        assert!(csv.contains(&id(p)) && csv.contains(d.as_str()), "{csv}");
    }

    // The grant/reuse lookups read every record, in chain order.
    let tip = f.tip();
    let records = jitaa::audit::approvals::Records::at(&repo, Some(tip)).unwrap();
    let seen: Vec<&str> = records.iter().map(|r| r.digest.as_str()).collect();
    assert_eq!(seen, digests.iter().map(String::as_str).collect::<Vec<_>>());

    // The hand-verification scripts of both READMEs walk the mixed branch.
    if have("jq") {
        for readme in readmes() {
            let out = run_script(&f, &chain_script(&readme));
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            assert!(
                out.status.success(),
                "script failed: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(text.contains(&format!("head {}", digests[4])), "{text}");
        }
    } else {
        eprintln!("skipping the hand-verification script: jq is not installed");
    }
}

/// A record in the layout before buckets after bucketed ones is refused by the store,
/// by `verify` (naming the record), by `log`, and by the hand-verification script,
/// even when an insider holding the key re-signs every commit.
#[test]
fn a_branch_never_switches_back_to_the_layout_before_buckets() {
    let f = Fixture::new();
    f.append(3);
    let repo = f.repo();
    // The store refuses to write it.
    let flat = Store::new(&repo, AUDIT).unwrap().with_layout(Layout::Flat);
    let err = flat.append(&draft(9), &f.key.signers()).unwrap_err();
    assert!(err.to_string().contains("switch back"), "{err}");
    assert_eq!(f.tip(), chain(&repo)[2], "nothing was written");

    // An insider moves the newest record to the old layout's folder.
    let paths = record_paths(&repo);
    let mut trees = trees(&repo);
    let newest = paths[2].clone();
    let (dir, file) = newest.rsplit_once('/').unwrap();
    let old_place = format!("{}/{file}", dir.rsplit_once('/').unwrap().0);
    assert_eq!(Layout::of(&old_place), Some(Layout::Flat));
    let bytes = read_at(&repo, trees[2], &newest);
    let moved = edit_tree(&repo, trees[2], &newest, None);
    trees[2] = edit_tree(&repo, moved, &old_place, Some(&bytes));
    rewrite_signed(&repo, &trees, Some(&f.key));

    let out = f.verify(&[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains(&old_place) && err.contains("never back"),
        "{err}"
    );
    let out = f.jitaa(&["log"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("never back"), "{}", stderr(&out));

    if have("jq") {
        for readme in readmes() {
            let out = run_script(&f, &chain_script(&readme));
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(out.status.code(), Some(1), "{text}");
            assert!(text.contains(&format!("BAD layout {old_place}")), "{text}");
        }
    }
}

/// A bucket that is not the id's last two characters is not a record path.
#[test]
fn a_record_in_the_wrong_bucket_is_refused() {
    let f = Fixture::new();
    f.append(2);
    let repo = f.repo();
    let paths = record_paths(&repo);
    let mut trees = trees(&repo);
    let (dir, file) = paths[1].rsplit_once('/').unwrap();
    let day = dir.rsplit_once('/').unwrap().0;
    let wrong = format!(
        "{day}/{}/{file}",
        if dir.ends_with("ZZ") { "YY" } else { "ZZ" }
    );
    let bytes = read_at(&repo, trees[1], &paths[1]);
    let moved = edit_tree(&repo, trees[1], &paths[1], None);
    trees[1] = edit_tree(&repo, moved, &wrong, Some(&bytes));
    rewrite_signed(&repo, &trees, Some(&f.key));
    let out = f.verify(&[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains(&wrong) && err.contains("<bucket>"), "{err}");
    if have("jq") {
        let out = run_script(&f, &chain_script(jitaa::audit::store::BRANCH_README));
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains(&format!("BAD bucket {wrong}")), "{text}");
    }
}
