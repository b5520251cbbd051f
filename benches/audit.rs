//! Audit benchmarks: appending a record with 10 versus 100,000 existing records (the
//! cost must not grow with history), and verification throughput (records per second,
//! one core). The 100k history is written through the real store into an in-memory
//! object database and dumped as packfiles, so it builds in seconds.
//!
//! cargo bench --bench audit
#![allow(
    clippy::disallowed_macros,
    reason = "a build script, test or benchmark prints its own report"
)]

use std::io::Write;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use git2::{Oid, Repository};
use jitaa::audit::trust::AllowedSigners;
use jitaa::audit::{
    Actor, Decision, Draft, Kind, Signers, SshSigner, Store, Subject, VerifyOptions,
};
use jitaa::keys::SigningKey;

const BRANCH: &str = "jitaa/audit";
/// Records per day in the synthetic history (100k records ≈ 5.5 years).
const PER_DAY: usize = 50;

fn base() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2020-01-01T09:00:00Z")
        .unwrap()
        .to_utc()
}

fn draft(i: usize, time: DateTime<Utc>) -> Draft {
    let mut d = Draft::new(
        Kind::Decision,
        "acme/api",
        Subject {
            sha: format!("{:040x}", i + 1),
            git_ref: Some("refs/heads/main".into()),
            environment: Some("production".into()),
        },
        Actor {
            login: "alice".into(),
            id: 1,
        },
    );
    d.time = time;
    d.decision = Some(Decision::Approved);
    d.approvals = vec![jitaa::audit::Approval {
        login: "bob".into(),
        id: 2,
        via: "comment".into(),
        url: "https://github.com/acme/api/pull/1#issuecomment-1".into(),
        at: jitaa::audit::record::format_time(time),
    }];
    d.rule = Some(jitaa::audit::RuleRef {
        name: "production".into(),
        approvals: 1,
        policy_digest: format!("sha256:{}", "1".repeat(64)),
    });
    d.expires_at = Some(time + chrono::Duration::minutes(15));
    d.context = serde_json::json!({"actor": "alice", "repository": "acme/api", "run_id": i.to_string(), "sub": "repo:acme/api:environment:production"});
    d
}

struct Setup {
    _tmp: tempfile::TempDir,
    repo: Repository,
    signers: Signers,
    trusted: AllowedSigners,
    /// The commit of record number `VERIFY_N` (for the verification benchmark).
    verify_tip: Option<Oid>,
}

const VERIFY_N: usize = 10_000;

/// A repository whose audit branch holds `n` genuine records (signed records and commits).
fn history(n: usize) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let keys = jitaa::keys::generate(&tmp.path().join("keys"), "jitaa@bench").unwrap();
    let text = std::fs::read_to_string(&keys.private_path).unwrap();
    let signers = Signers::ssh(SshSigner::Key(
        SigningKey::from_openssh(&text, "bench").unwrap(),
    ));
    let trusted = AllowedSigners::load(&keys.allowed_signers_path).unwrap();
    let repo = Repository::init_bare(tmp.path().join("repo.git")).unwrap();
    let started = Instant::now();
    let mut verify_tip = None;
    {
        let odb = repo.odb().unwrap();
        let mempack = odb.add_new_mempack_backend(1000).unwrap();
        let store = Store::new(&repo, BRANCH).unwrap();
        let mut parent: Option<Oid> = None;
        let mut prev = jitaa::audit::record::GENESIS.to_string();
        // Packs only this chunk's new objects (mempack's own dump re-packs whole trees,
        // which made the build quadratic).
        let mut fresh: Vec<Oid> = Vec::new();
        let flush = |repo: &Repository, fresh: &mut Vec<Oid>| {
            let mut pb = repo.packbuilder().unwrap();
            for id in fresh.drain(..) {
                pb.insert_object(id, None).unwrap();
            }
            let mut buf = git2::Buf::new();
            pb.write_buf(&mut buf).unwrap();
            drop(pb);
            let mut w = odb.packwriter().unwrap();
            w.write_all(&buf).unwrap();
            w.commit().unwrap();
            mempack.reset().unwrap();
        };
        for i in 0..n {
            let day = (i / PER_DAY) as i64;
            let t = base()
                + chrono::Duration::days(day)
                + chrono::Duration::seconds((i % PER_DAY) as i64 * 60);
            let payload = draft(i, t).to_payload(&prev);
            let p = parent.map(|id| repo.find_commit(id).unwrap());
            let a = store
                .commit_record(p.as_ref(), payload, &signers, &[])
                .unwrap();
            let commit = repo.find_commit(a.commit).unwrap();
            let tree = commit.tree().unwrap();
            fresh.push(a.commit);
            fresh.push(tree.id());
            if i == 0 {
                tree.walk(git2::TreeWalkMode::PreOrder, |_, e| {
                    fresh.push(e.id());
                    git2::TreeWalkResult::Ok
                })
                .unwrap();
            } else {
                let mut dir = String::new();
                for part in a.path.split('/') {
                    dir = if dir.is_empty() {
                        part.to_string()
                    } else {
                        format!("{dir}/{part}")
                    };
                    fresh.push(tree.get_path(std::path::Path::new(&dir)).unwrap().id());
                }
            }
            drop((commit, tree));
            prev = a.digest;
            parent = Some(a.commit);
            if i + 1 == VERIFY_N {
                verify_tip = Some(a.commit);
            }
            if (i + 1) % 10_000 == 0 {
                flush(&repo, &mut fresh);
            }
        }
        flush(&repo, &mut fresh);
        if let Some(tip) = parent {
            repo.reference(&format!("refs/heads/{BRANCH}"), tip, true, "bench")
                .unwrap();
        }
    }
    eprintln!("built a {n}-record history in {:.1?}", started.elapsed());
    // Reopen so the in-memory object store is gone: reads and writes hit disk as in use.
    drop(repo);
    let repo = Repository::open_bare(tmp.path().join("repo.git")).unwrap();
    Setup {
        _tmp: tmp,
        repo,
        signers,
        trusted,
        verify_tip,
    }
}

fn append(c: &mut Criterion) {
    let mut g = c.benchmark_group("append");
    g.sample_size(30).measurement_time(Duration::from_secs(8));
    // JITAA_BENCH_RECORDS shrinks the large history for a quick smoke run.
    let large: usize = std::env::var("JITAA_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    for n in [10usize, large] {
        // Built on first use, so a filtered run (`-- verify`) skips it.
        let mut setup: Option<Setup> = None;
        // New records land on fresh days after the history, as live records would.
        let mut i = 0usize;
        let start = base() + chrono::Duration::days(4000);
        g.bench_function(format!("with {n} existing records"), |b| {
            let s = setup.get_or_insert_with(|| history(n));
            let store = Store::new(&s.repo, BRANCH).unwrap();
            b.iter_batched(
                || {
                    i += 1;
                    draft(n + i, start + chrono::Duration::hours(i as i64))
                },
                |d| store.append(&d, &s.signers).unwrap(),
                BatchSize::SmallInput,
            );
        });
    }
    g.finish();
}

fn verify(c: &mut Criterion) {
    let mut setup: Option<Setup> = None;
    let mut g = c.benchmark_group("verify");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(VERIFY_N as u64));
    g.bench_function(format!("{VERIFY_N} records"), |b| {
        let s = setup.get_or_insert_with(|| history(VERIFY_N));
        // The history is read back from packs on disk, as a clone's would be.
        let tip = s.verify_tip.unwrap();
        let opts = VerifyOptions {
            trusted: &s.trusted,
            pushers: &Default::default(),
            expect_head: None,
            oidc: None,
        };
        cpu_rate(&s.repo, tip, &opts);
        b.iter(|| {
            let v = jitaa::audit::verify(&s.repo, tip, &opts).unwrap();
            assert_eq!(v.records, VERIFY_N);
        });
    });
    g.finish();
}

/// CPU time of this thread (Linux `schedstat`), so the rate holds on a busy machine
/// where wall time includes waiting for a core.
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Prints verification throughput per CPU-second (best of 5 runs), once.
fn cpu_rate(repo: &Repository, tip: Oid, opts: &VerifyOptions<'_>) {
    static DONE: std::sync::Once = std::sync::Once::new();
    DONE.call_once(|| {
        let mut best: Option<Duration> = None;
        for _ in 0..5 {
            let (Some(a), v, Some(b)) = (
                thread_cpu(),
                jitaa::audit::verify(repo, tip, opts).unwrap(),
                thread_cpu(),
            ) else {
                return;
            };
            assert_eq!(v.records, VERIFY_N);
            let t = b.checked_sub(a).unwrap();
            best = Some(best.map_or(t, |x| x.min(t)));
        }
        if let Some(t) = best {
            eprintln!(
                "verify: {VERIFY_N} records in {:.1?} of CPU time = {:.0} records/s on one core",
                t,
                VERIFY_N as f64 / t.as_secs_f64()
            );
        }
    });
}

criterion_group!(benches, append, verify);
criterion_main!(benches);
