//! Measurements for the README's "Gate measurements": real `jitaa gate` processes
//! against the stand-in, default polling; about a minute. The README's figures are of a
//! debug build:
//!
//!     cargo test --bench gate
//!
//! (`cargo bench --bench gate` measures an optimised one). Name a measurement to run
//! only it: `cargo test --bench gate -- idle`. Each checks its goal and exits non-zero
//! when it is missed.
#![allow(clippy::disallowed_macros, reason = "a measurement prints its figures")]

#[path = "../tests/it/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use rand::Rng;
use support::{KEYLESS_POLICY, POLICY, REPO, World};

fn main() {
    let names: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| names.is_empty() || names.iter().any(|n| name.contains(n.as_str()));
    let measurements: [(&str, fn()); 3] = [
        (
            "comment_to_exit_latency_median_over_ten_runs",
            comment_to_exit_latency_median_over_ten_runs,
        ),
        (
            "charged_requests_per_minute_while_waiting_idle",
            charged_requests_per_minute_while_waiting_idle,
        ),
        (
            "runner_seconds_and_requests_blocking_vs_event_driven",
            runner_seconds_and_requests_blocking_vs_event_driven,
        ),
    ];
    for (name, measure) in measurements {
        if wanted(name) {
            println!("{name}:");
            measure();
        }
    }
}

/// A gate with the default poll settings (no --poll).
fn default_gate<'w>(w: &'w World, sha: &str) -> support::Gate<'w> {
    let mut g = w.gate(sha);
    g.clear_args();
    g
}

fn comment_to_exit_latency_median_over_ten_runs() {
    let mut samples = Vec::new();
    let mut rng = rand::thread_rng();
    for _ in 0..10 {
        let w = World::new(POLICY);
        let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
        let pr = w.open_pr(&sha, &["src/app.rs"]);
        let gate = default_gate(&w, &sha).spawn();
        w.wait_for_request(pr);
        // A random moment within the next 6 s (the idle interval reaches its cap).
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..6000)));
        let posted = Instant::now();
        w.hub.comment_as("bob", REPO, pr, "/approve").unwrap();
        let mut running = gate;
        loop {
            if let Ok(Some(_)) = running.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let latency = posted.elapsed();
        running.finish().assert_code(0);
        samples.push(latency.as_secs_f64());
    }
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = f64::midpoint(samples[4], samples[5]);
    println!(
        "comment-to-exit latency over {} runs: median {median:.2} s, min {:.2} s, max {:.2} s; samples {samples:.2?}",
        samples.len(),
        samples[0],
        samples[samples.len() - 1]
    );
    assert!(median <= 1.5, "median {median:.2} s is over the 1.5 s goal");
}

fn charged_requests_per_minute_while_waiting_idle() {
    let w = World::new(POLICY);
    let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
    let pr = w.open_pr(&sha, &["src/app.rs"]);
    let gate = default_gate(&w, &sha).arg("--timeout").arg("50s").spawn();
    w.wait_for_request(pr);
    // Let the first (charged) fetches of comments and reviews happen, then measure.
    std::thread::sleep(Duration::from_secs(3));
    let before = w.hub.rate_used();
    w.hub.clear_requests();
    let window = Duration::from_secs(40);
    std::thread::sleep(window);
    let charged = w.hub.rate_used() - before;
    let requests = w.hub.requests();
    let not_modified = requests.iter().filter(|r| r.status == 304).count();
    let per_min = charged as f64 / (window.as_secs_f64() / 60.0);
    println!(
        "idle wait: {charged} charged requests in {}s ({per_min:.2}/min); {} requests in all, {not_modified} answered 304",
        window.as_secs(),
        requests.len()
    );
    gate.signal("TERM");
    gate.finish();
    assert!(per_min <= 0.2, "{per_min:.2} charged requests per minute");
}

/// GitHub API requests the stand-in saw since the last clear: (all, writes).
fn requests(w: &World) -> (usize, usize) {
    let all: Vec<_> = w
        .hub
        .requests()
        .into_iter()
        .filter(|r| !r.path.starts_with("/_fakehub"))
        .collect();
    let writes = all.iter().filter(|r| r.method != "GET").count();
    (all.len(), writes)
}

/// Runner-seconds held and GitHub requests, for an approver who answers after `delay`:
/// the blocking gate (one job waits) against `--no-wait` + decide + the re-run's gate
/// (three short jobs). Runner-seconds are the jitaa processes' wall time (a job's own
/// setup, the same in both, is left out).
fn runner_seconds_and_requests_blocking_vs_event_driven() {
    let mut rows = Vec::new();
    for delay in [Duration::from_secs(5), Duration::from_secs(30)] {
        // Blocking.
        let w = World::new(POLICY);
        let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
        let pr = w.open_pr(&sha, &["src/app.rs"]);
        w.hub.clear_requests();
        let start = Instant::now();
        let gate = default_gate(&w, &sha).spawn();
        w.wait_for_request(pr);
        std::thread::sleep(delay);
        w.hub.comment_as("bob", REPO, pr, "/approve").unwrap();
        gate.finish().assert_code(0);
        let blocking = start.elapsed();
        let (b_all, b_writes) = requests(&w);

        // Event-driven.
        let w = World::new(KEYLESS_POLICY);
        let sha = w.commit("feature", &[("src/app.rs", "v2\n")]);
        let pr = w.open_pr(&sha, &["src/app.rs"]);
        w.hub.clear_requests();
        let t = Instant::now();
        default_gate(&w, &sha).arg("--no-wait").run().assert_code(0);
        let ask = t.elapsed();
        let (ask_all, ask_writes) = requests(&w);
        std::thread::sleep(delay);
        let event = w.comment_event("bob", pr, "/approve");
        w.hub.clear_requests();
        let t = Instant::now();
        w.decide("issue_comment", &event, "bob")
            .run()
            .assert_code(0);
        let decide = t.elapsed();
        let (d_all, d_writes) = requests(&w);
        w.hub.clear_requests();
        let t = Instant::now();
        let rerun = default_gate(&w, &sha).arg("--no-wait").attempt(2).run();
        rerun.assert_code(0);
        assert_eq!(rerun.outputs["decision"], "approved");
        let again = t.elapsed();
        let (r_all, r_writes) = requests(&w);
        let event_driven = ask + decide + again;
        println!(
            "approver after {:>2}s: blocking {:>5.1} runner-s, {b_all} requests ({b_writes} writes) | event-driven {:>4.1} runner-s (ask {:.1} + decide {:.1} + re-run {:.1}), requests: ask {ask_all} ({ask_writes} writes), decision {} ({} writes: decide {d_all}/{d_writes}, re-run {r_all}/{r_writes})",
            delay.as_secs(),
            blocking.as_secs_f64(),
            event_driven.as_secs_f64(),
            ask.as_secs_f64(),
            decide.as_secs_f64(),
            again.as_secs_f64(),
            d_all + r_all,
            d_writes + r_writes,
        );
        rows.push((blocking, event_driven));
    }
    let (short, long) = (rows[0].1, rows[1].1);
    assert!(
        long.as_secs_f64() < short.as_secs_f64() * 1.5 + 2.0,
        "event-driven runner time must not grow with the approver's delay: {short:?} then {long:?}"
    );
    assert!(
        rows[1].1 < rows[1].0,
        "event-driven holds less runner time than blocking"
    );
}
