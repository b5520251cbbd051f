//! Concurrent writers: 16 processes, each with its own clone of one bare remote,
//! append and publish records at once. Every record ends up on the remote exactly once,
//! in one linear chain that verifies.
//!
//! The test binary re-runs itself in a child mode (env `JITAA_AUDIT_CHILD`).

use std::collections::HashMap;
use std::process::{Command, Stdio};

use crate::support::keys::signers_of;
use crate::support::records::{AUDIT, Fixture, audit_in, draft};
use crate::support::{Key, git, in_child, isolated, stderr, stdout, test_name};
use jitaa::audit::{Outcome, Publisher, Settings, append_and_publish};

const WRITERS: usize = 16;
const RECORDS_EACH: usize = 3;

/// Child mode: append RECORDS_EACH records from the clone in JITAA_AUDIT_CHILD, then
/// keep publishing (as later runs would) until nothing is pending; print the ids.
#[test]
fn child_writer() {
    let Ok(dir) = std::env::var("JITAA_AUDIT_CHILD") else {
        return;
    };
    let key_path = std::env::var("JITAA_AUDIT_CHILD_KEY").unwrap();
    let signers = || signers_of(std::path::Path::new(&key_path));
    let repo = git2::Repository::open(&dir).unwrap();
    let settings = Settings::default();
    let n: usize = std::env::var("JITAA_AUDIT_CHILD_N")
        .unwrap()
        .parse()
        .unwrap();
    for i in 0..RECORDS_EACH {
        let (appended, outcome) =
            append_and_publish(&repo, &settings, &draft(n * 10 + i), &signers()).unwrap();
        println!("RECORD {}", appended.id);
        if let Outcome::Pending { reason } = outcome {
            eprintln!("pending after append: {reason}");
        }
    }
    // The next run pushes what is left first.
    for _ in 0..20 {
        let p = Publisher::new(&repo, &settings).unwrap();
        match p.publish(&signers()).unwrap() {
            Outcome::Pending { .. } => continue,
            _ => return,
        }
    }
    panic!("records still pending after 20 runs");
}

#[test]
fn sixteen_concurrent_writer_processes_lose_and_duplicate_nothing() {
    if std::env::var("JITAA_AUDIT_CHILD").is_ok() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let remote = tmp.path().join("remote.git");
    git(
        tmp.path(),
        &["init", "-q", "--bare", remote.to_str().unwrap()],
    );
    let k = Key::generate(&tmp.path().join("keys"), "jitaa@acme");
    let writer = test_name(module_path!(), "child_writer");
    let mut children = Vec::new();
    for n in 0..WRITERS {
        let clone = tmp.path().join(format!("w{n}"));
        git(tmp.path(), &["init", "-q", clone.to_str().unwrap()]);
        git(
            &clone,
            &["remote", "add", "origin", remote.to_str().unwrap()],
        );
        let child = isolated(&mut Command::new(std::env::current_exe().unwrap()))
            .args(["--exact", &writer, "--nocapture", "--test-threads=1"])
            .env("JITAA_AUDIT_CHILD", &clone)
            .env("JITAA_AUDIT_CHILD_KEY", &k.private)
            .env("JITAA_AUDIT_CHILD_N", n.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        children.push(child);
    }
    let mut written = Vec::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "writer failed: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        written.extend(
            text.lines()
                .filter_map(|l| l.split_once("RECORD "))
                .map(|(_, id)| id.trim().to_string()),
        );
    }
    assert_eq!(written.len(), WRITERS * RECORDS_EACH);

    // An auditor's fresh clone of the remote.
    let auditor = tmp.path().join("auditor");
    git(tmp.path(), &["init", "-q", auditor.to_str().unwrap()]);
    git(
        &auditor,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    git(
        &auditor,
        &[
            "fetch",
            "-q",
            "origin",
            "+refs/heads/jitaa/audit:refs/remotes/origin/jitaa/audit",
        ],
    );
    let out = audit_in(
        &auditor,
        &["verify", "--allowed-signers", k.allowed.to_str().unwrap()],
    );
    assert!(out.status.success(), "verify: {}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("verified {} records", WRITERS * RECORDS_EACH)),
        "{}",
        stdout(&out)
    );

    let repo = git2::Repository::open(&auditor).unwrap();
    let tip = repo
        .refname_to_id("refs/remotes/origin/jitaa/audit")
        .unwrap();
    let listed = jitaa::audit::chain::list(&repo, tip).unwrap();
    let mut count: HashMap<String, usize> = HashMap::new();
    for l in &listed {
        *count.entry(l.record.payload.id.clone()).or_default() += 1;
    }
    for id in &written {
        assert_eq!(
            count.get(id),
            Some(&1),
            "record {id} must be on the remote exactly once"
        );
    }
    assert_eq!(listed.len(), written.len(), "no extra records");
    // Every writer's local branch agrees with the remote (nothing left behind).
    for n in 0..WRITERS {
        let clone = git2::Repository::open(tmp.path().join(format!("w{n}"))).unwrap();
        let local = clone.refname_to_id("refs/heads/jitaa/audit").unwrap();
        assert!(
            local == tip || repo.graph_descendant_of(tip, local).unwrap_or(false),
            "writer {n}'s branch is not part of the published chain"
        );
    }
}

#[test]
fn a_record_that_cannot_be_pushed_stays_local_and_goes_with_the_next_run() {
    if std::env::var("JITAA_AUDIT_CHILD").is_ok() {
        return;
    }
    // The publisher pushes with git from this process: in a child process isolated
    // from the caller's git configuration.
    if !in_child(
        module_path!(),
        "a_record_that_cannot_be_pushed_stays_local_and_goes_with_the_next_run",
    ) {
        return;
    }
    let f = Fixture::new();
    let remote = f.tmp.path().join("later.git");
    git(
        &f.dir,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    let repo = f.repo();
    let settings = Settings::default();
    let store = jitaa::audit::Store::new(&repo, AUDIT).unwrap();
    let first = store.append(&draft(0), &f.key.signers()).unwrap();
    let mut p = Publisher::new(&repo, &settings).unwrap();
    p.max_attempts = 2;
    p.base_backoff = std::time::Duration::from_millis(1);
    // The remote does not exist yet: the record stays on the local branch.
    let outcome = p.publish(&f.key.signers()).unwrap();
    assert!(matches!(outcome, Outcome::Pending { .. }), "{outcome:?}");
    assert_eq!(f.tip(), first.commit);
    // Next run: the remote is back; the pending record goes first, then the new one.
    git(
        f.tmp.path(),
        &["init", "-q", "--bare", remote.to_str().unwrap()],
    );
    let (second, outcome) =
        append_and_publish(&repo, &settings, &draft(1), &f.key.signers()).unwrap();
    assert!(matches!(outcome, Outcome::Pushed { .. }), "{outcome:?}");
    let bare = git2::Repository::open_bare(&remote).unwrap();
    let tip = bare.refname_to_id("refs/heads/jitaa/audit").unwrap();
    assert_eq!(tip, second.commit);
    let ids: Vec<String> = jitaa::audit::chain::list(&bare, tip)
        .unwrap()
        .into_iter()
        .map(|l| l.record.payload.id)
        .collect();
    assert_eq!(ids, vec![first.id, second.id]);
}
