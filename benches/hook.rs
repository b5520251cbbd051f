//! The pre-push hook's cost for an UNPROTECTED push (the goal: ≤ 5 ms, no
//! network): the library entry point (`jitaa::hook::run`) and the real process git
//! runs (`jitaa hook pre-push origin URL` with one ref line on stdin), in a clone whose
//! policy (read from `origin/main`) protects `main` and `release/*`.

#[path = "../tests/it/support/mod.rs"]
mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use jitaa::hook::protocol::RefUpdate;
use jitaa::hook::{Push, Summary};
use jitaa::repo::Repo;
use support::{World, git, jitaa};

fn bench(c: &mut Criterion) {
    let w = World::with_hook();
    git(&w.work, &["checkout", "-q", "-b", "feature"]);
    let sha = w.commit_local(&[("src/lib.rs", "pub fn two() -> u32 { 2 }\n")], "feature");
    let zero = "0".repeat(40);
    let updates = vec![RefUpdate {
        local_ref: "refs/heads/feature".into(),
        local_sha: sha.clone(),
        remote_ref: "refs/heads/feature".into(),
        remote_sha: zero.clone(),
    }];
    let url = w.origin.to_str().unwrap().to_string();

    let mut g = c.benchmark_group("hook_unprotected_push");
    g.sample_size(50).measurement_time(Duration::from_secs(5));
    g.bench_function("library: open repo + hook::run", |b| {
        b.iter(|| {
            let repo = Repo::discover(Some(&w.work)).unwrap();
            let s = jitaa::hook::run(
                &repo,
                Push {
                    remote: "origin",
                    url: &url,
                    updates: &updates,
                },
            )
            .unwrap();
            assert!(matches!(s, Summary::NothingGated));
        });
    });
    let stdin = format!("refs/heads/feature {sha} refs/heads/feature {zero}\n");
    let run = || {
        let mut cmd = jitaa();
        cmd.current_dir(&w.work)
            .args(["hook", "pre-push", "origin", &url])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
    };
    g.bench_function("process: jitaa hook pre-push", |b| b.iter(run));
    g.bench_function("baseline: spawn /bin/true", |b| {
        b.iter(|| assert!(Command::new("true").status().unwrap().success()));
    });
    g.finish();
    assert!(
        w.hub.requests().is_empty(),
        "an unprotected push asked GitHub"
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
