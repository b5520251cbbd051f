//! The rate-limit budget of waiting: charged (non-304) requests per minute while a
//! request waits with no activity, over a 10-minute wait, against the fakehub stand-in
//! over real HTTP. Time is virtual: the poller's intervals are summed, not slept, so the
//! test takes well under a second. Prints the figures for the README:
//!
//!     cargo test --test it github::budget -- --nocapture

use std::time::Duration;

use fakehub::{FakeHub, PrSpec};
use jitaa::github::*;

const REPO: &str = "acme/api";
const WAIT: Duration = Duration::from_secs(600);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_ten_minute_wait_costs_at_most_0_2_charged_requests_per_minute() {
    let hub = FakeHub::start().await;
    hub.add_repo(REPO);
    let token = hub.add_bot("github-actions[bot]", 41898282);
    hub.add_user("alice", 1);
    let pr = hub.add_pr(
        REPO,
        PrSpec {
            author: "alice".into(),
            head_sha: "a".repeat(40),
            base_sha: "b".repeat(40),
            ..PrSpec::default()
        },
    );
    let repo = RepoName::parse(REPO, "test").unwrap();
    let client = Client::new(hub.url(), Token::new(token), RetryPolicy::default()).unwrap();
    let request = client
        .create_comment(&repo, pr, "jitaa: approval requested")
        .await
        .unwrap();

    // jitaa: conditional polling of comments (since the request) and reviews.
    let before = hub.rate_used();
    hub.clear_requests();
    let mut poller = Poller::new(&client, &repo, pr)
        .since(&repo, pr, request.created_at)
        .with_reviews(&repo, pr);
    let mut now = Duration::ZERO;
    let mut poll_times = Vec::new();
    loop {
        now += poller.interval();
        if now > WAIT {
            break;
        }
        poller.poll_once().await.unwrap();
        poll_times.push(now);
    }
    let charged = hub.rate_used() - before;
    let requests = hub.requests();
    let not_modified = requests.iter().filter(|r| r.status == 304).count();
    let per_min = charged as f64 / (WAIT.as_secs_f64() / 60.0);

    // Baseline: a fixed 10 s poll of the comments without ETags.
    let before = hub.rate_used();
    for _ in 0..(WAIT.as_secs() / 10) {
        client.issue_comments(&repo, pr, None).await.unwrap();
    }
    let fixed_per_min = (hub.rate_used() - before) as f64 / (WAIT.as_secs_f64() / 60.0);

    // How long after a comment lands the next poll sees it (schedule only, no RTT):
    // comments at 1,000 evenly spread instants after the first minute.
    let mut delays: Vec<f64> = (0..1000)
        .map(|i| 60.0 + 540.0 * f64::from(i) / 1000.0)
        .filter_map(|t| {
            poll_times
                .iter()
                .find(|p| p.as_secs_f64() >= t)
                .map(|p| p.as_secs_f64() - t)
        })
        .collect();
    delays.sort_by(f64::total_cmp);
    let median = delays[delays.len() / 2];

    println!(
        "rate-limit budget over a {}-minute idle wait (virtual time, fakehub over HTTP):",
        WAIT.as_secs() / 60
    );
    println!(
        "  jitaa conditional polling: {} polls, {} requests, {} answered 304 (free), {} charged = {per_min:.2}/min",
        poll_times.len(),
        requests.len(),
        not_modified,
        charged
    );
    println!("  fixed 10 s poll without ETags: {fixed_per_min:.2}/min");
    println!("  median delay from comment to the poll that sees it: {median:.2} s");
    assert!(per_min <= 0.2, "{per_min}/min charged");
    assert_eq!(
        charged, 2,
        "only the first fetch of comments and of reviews is charged"
    );
    assert!((fixed_per_min - 6.0).abs() < 1e-9);
    assert!(median <= 1.5, "median detection delay {median}s");
}
