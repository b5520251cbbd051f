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
use support::{POLICY, REPO, World};

fn main() {
    let names: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| names.is_empty() || names.iter().any(|n| name.contains(n.as_str()));
    let measurements: [(&str, fn()); 2] = [
        (
            "comment_to_exit_latency_median_over_ten_runs",
            comment_to_exit_latency_median_over_ten_runs,
        ),
        (
            "charged_requests_per_minute_while_waiting_idle",
            charged_requests_per_minute_while_waiting_idle,
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
