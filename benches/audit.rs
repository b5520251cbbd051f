//! Audit benchmarks (issue 14): appending a record and verifying the branch at 10,
//! 100,000 and 1,000,000 records, each spread over years (50 records a day) and packed
//! into one day; verification on one core and on all cores. The histories are written
//! by a fast writer (`audit/synthetic.rs`) that makes the real store's bytes (signed
//! records and commits, the bucketed layout; a test holds them equal) into an
//! in-memory object database, dumped as packfiles in 10,000-record chunks.
//!
//! cargo bench --bench audit                                  # every size
//! JITAA_BENCH_SIZES=10,100000 cargo bench --bench audit      # a subset
//! JITAA_BENCH_LAYOUTS=spread cargo bench --bench audit -- verify
//!
//! Criterion measures sizes up to 100,000; every size also prints its verification
//! wall time (best of 3, one core and all cores) and records per second.
#![allow(
    clippy::disallowed_macros,
    reason = "a build script, test or benchmark prints its own report"
)]

use std::io::Write;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use git2::{Oid, Repository};
use jitaa::audit::record::Layout;
use jitaa::audit::trust::AllowedSigners;
use jitaa::audit::{
    Actor, Decision, Draft, Kind, Signers, SshSigner, Store, Subject, VerifyOptions,
};
use jitaa::keys::SigningKey;

#[path = "audit/synthetic.rs"]
mod synthetic;

const BRANCH: &str = "jitaa/audit";
/// Records per day in the spread-out history (1,000,000 records ≈ 55 years).
const PER_DAY: usize = 50;

/// How the synthetic history is spread over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spread {
    /// 50 records a day, over years.
    Years,
    /// Every record on one day.
    OneDay,
}

impl Spread {
    fn name(self) -> &'static str {
        match self {
            Spread::Years => "spread",
            Spread::OneDay => "one-day",
        }
    }

    /// The time of record `i`.
    fn time(self, i: usize) -> DateTime<Utc> {
        match self {
            Spread::Years => {
                base()
                    + chrono::Duration::days((i / PER_DAY) as i64)
                    + chrono::Duration::seconds((i % PER_DAY) as i64 * 60)
            }
            // 1,000,000 records in 86,400 seconds: several a second, same day.
            Spread::OneDay => base() + chrono::Duration::milliseconds((i as i64 * 50) % 50_000_000),
        }
    }
}

fn sizes() -> Vec<usize> {
    std::env::var("JITAA_BENCH_SIZES").ok().map_or_else(
        || vec![10, 100_000, 1_000_000],
        |v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect(),
    )
}

fn spreads() -> Vec<Spread> {
    let want = std::env::var("JITAA_BENCH_LAYOUTS").unwrap_or_default();
    [Spread::Years, Spread::OneDay]
        .into_iter()
        .filter(|s| want.is_empty() || want.split(',').any(|w| w.trim() == s.name()))
        .collect()
}

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
    _tmp: Option<tempfile::TempDir>,
    repo: Repository,
    signers: Signers,
    trusted: AllowedSigners,
    tip: Oid,
}

/// A repository whose audit branch holds `n` genuine records (signed records and
/// commits with the real store's bytes, by the fast writer), spread as `spread` says.
///
/// With `JITAA_BENCH_KEEP=DIR` the history is kept in `DIR/<spread>-<n>/` and reused by
/// the next run, from its n-th record (the branch is moved back there).
fn history(n: usize, spread: Spread) -> Setup {
    let (tmp, root) = match std::env::var_os("JITAA_BENCH_KEEP") {
        Some(dir) => (
            None,
            std::path::PathBuf::from(dir).join(format!("{}-{n}", spread.name())),
        ),
        None => {
            let t = tempfile::tempdir().unwrap();
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    };
    let load = |root: &std::path::Path| {
        let text = std::fs::read_to_string(root.join("keys/jitaa_ed25519")).unwrap();
        let signers = Signers::ssh(SshSigner::Key(
            SigningKey::from_openssh(&text, "bench").unwrap(),
        ));
        let trusted = AllowedSigners::load(&root.join("keys/allowed_signers")).unwrap();
        (signers, trusted)
    };
    if root.join("complete").exists() {
        let repo = Repository::open_bare(root.join("repo.git")).unwrap();
        // The n-th record's commit (appends may have moved the branch since).
        let tip = Oid::from_str(
            std::fs::read_to_string(root.join("complete"))
                .unwrap()
                .trim(),
        )
        .unwrap();
        // Earlier append runs moved the branch: start from the n-th record again. Their
        // loose objects stay (deleting tens of thousands of files right before a run
        // made ext4's inode allocation, and so every append, several times slower).
        repo.reference(&format!("refs/heads/{BRANCH}"), tip, true, "bench")
            .unwrap();
        let (signers, trusted) = load(&root);
        eprintln!(
            "reusing the {n}-record {} history in {}",
            spread.name(),
            root.display()
        );
        return Setup {
            _tmp: tmp,
            repo,
            signers,
            trusted,
            tip,
        };
    }
    let _ = std::fs::remove_dir_all(&root);
    let keys = jitaa::keys::generate(&root.join("keys"), "jitaa@bench").unwrap();
    assert_eq!(keys.private_path, root.join("keys/jitaa_ed25519"));
    assert_eq!(keys.allowed_signers_path, root.join("keys/allowed_signers"));
    let (signers, trusted) = load(&root);
    let repo = Repository::init_bare(root.join("repo.git")).unwrap();
    let started = Instant::now();
    let tip;
    {
        let odb = repo.odb().unwrap();
        let mempack = odb.add_new_mempack_backend(1000).unwrap();
        // Packs only this chunk's new objects (mempack's own dump re-packs whole trees,
        // which made the build quadratic).
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
        let genesis = jitaa::audit::record::GENESIS;
        let mut w = synthetic::Writer::start(
            &repo,
            Layout::Bucketed,
            draft(0, spread.time(0)).to_payload(genesis),
            &signers,
        );
        for i in 1..n {
            w.append(draft(i, spread.time(i)).to_payload(genesis), &signers);
            if (i + 1) % 10_000 == 0 {
                flush(&repo, &mut w.fresh);
            }
        }
        flush(&repo, &mut w.fresh);
        repo.reference(&format!("refs/heads/{BRANCH}"), w.tip, true, "bench")
            .unwrap();
        tip = Some(w.tip);
    }
    eprintln!(
        "built a {n}-record {} history in {:.1?}",
        spread.name(),
        started.elapsed()
    );
    // Reopen so the in-memory object store is gone: reads and writes hit disk as in use.
    drop(repo);
    let repo = Repository::open_bare(root.join("repo.git")).unwrap();
    std::fs::write(root.join("complete"), tip.unwrap().to_string()).unwrap();
    Setup {
        _tmp: tmp,
        repo,
        signers,
        trusted,
        tip: tip.unwrap(),
    }
}

/// The largest size criterion samples; larger ones print best-of-3 wall times only.
const SAMPLED: usize = 100_000;

fn append(c: &mut Criterion) {
    let mut g = c.benchmark_group("append");
    g.sample_size(30).measurement_time(Duration::from_secs(8));
    for spread in spreads() {
        for n in sizes() {
            // Built on first use, so a filtered run (`-- verify`) skips it.
            let mut setup: Option<Setup> = None;
            // New records land after the history: the next day for the spread-out
            // history, the same day for the one-day history, as live records would.
            let mut i = 0usize;
            g.bench_function(format!("{}/{n} existing records", spread.name()), |b| {
                let s = setup.get_or_insert_with(|| history(n, spread));
                let store = Store::new(&s.repo, BRANCH).unwrap();
                b.iter_batched(
                    || {
                        i += 1;
                        let t = match spread {
                            Spread::Years => spread.time(n + i),
                            Spread::OneDay => {
                                spread.time(n) + chrono::Duration::milliseconds(i as i64)
                            }
                        };
                        draft(n + i, t)
                    },
                    |d| store.append(&d, &s.signers).unwrap(),
                    BatchSize::SmallInput,
                );
            });
        }
    }
    g.finish();
}

fn verify(c: &mut Criterion) {
    let all = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let pools: Vec<(usize, rayon::ThreadPool)> = [1, all]
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|t| {
            (
                t,
                rayon::ThreadPoolBuilder::new()
                    .num_threads(t)
                    .build()
                    .unwrap(),
            )
        })
        .collect();
    let mut g = c.benchmark_group("verify");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    for spread in spreads() {
        for n in sizes() {
            let mut setup: Option<Setup> = None;
            for (threads, pool) in &pools {
                let name = format!("{}/{n} records/{threads} core(s)", spread.name());
                let run = |s: &Setup| {
                    let opts = VerifyOptions {
                        trusted: &s.trusted,
                        pushers: &Default::default(),
                        expect_head: None,
                        oidc: None,
                    };
                    let v = jitaa::audit::verify_on(&s.repo, s.tip, &opts, pool).unwrap();
                    assert_eq!(v.records, n);
                };
                if n > SAMPLED {
                    if !wanted(&format!("verify/{name}")) {
                        continue;
                    }
                    let s = setup.get_or_insert_with(|| history(n, spread));
                    best_of_3(&name, n, || run(s));
                    continue;
                }
                g.throughput(Throughput::Elements(n as u64));
                g.bench_function(&name, |b| {
                    let s = setup.get_or_insert_with(|| history(n, spread));
                    best_of_3(&name, n, || run(s));
                    b.iter(|| run(s));
                });
            }
        }
    }
    g.finish();
}

/// Whether the command line's filter (criterion's first free argument, taken here as a
/// plain substring) keeps `name`: the runs criterion does not sample obey it too.
fn wanted(name: &str) -> bool {
    // Criterion's options that take a value in the next argument.
    const VALUED: &[&str] = &[
        "--baseline",
        "--baseline-lenient",
        "--save-baseline",
        "--color",
        "--sample-size",
        "--warm-up-time",
        "--measurement-time",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--profile-time",
        "--output-format",
        "--plotting-backend",
        "--format",
        "--logfile",
        "--load-baseline",
    ];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if VALUED.contains(&a.as_str()) {
            args.next();
        } else if !a.starts_with('-') {
            return name.contains(&a);
        }
    }
    true
}

/// Prints the best of three wall times of `f` and the rate, once per name.
fn best_of_3(name: &str, n: usize, f: impl Fn()) {
    static DONE: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut done = DONE.lock().unwrap();
    if done.iter().any(|d| d == name) {
        return;
    }
    done.push(name.to_string());
    let best = (0..3)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap();
    eprintln!(
        "verify {name}: best of 3 {best:.2?} = {:.0} records/s",
        n as f64 / best.as_secs_f64()
    );
}

criterion_group!(benches, append, verify);
criterion_main!(benches);
