//! What the stand-in saw, read through the [`World`]: comments, reactions, and the
//! request comments and issues jitaa posts.

use std::time::{Duration, Instant};

use super::REPO;
use super::world::World;

/// The marker every request comment carries.
pub const REQUEST_MARKER: &str = "<!-- jitaa-request: ";

impl World {
    /// The comments on an issue or PR: (author, body).
    pub fn bodies(&self, issue: u64) -> Vec<(String, String)> {
        self.hub
            .comments(REPO, issue)
            .into_iter()
            .map(|c| (c.user, c.body))
            .collect()
    }

    /// How many request comments `issue` has.
    pub fn request_comments(&self, issue: u64) -> usize {
        self.bodies(issue)
            .iter()
            .filter(|(_, b)| b.contains(REQUEST_MARKER))
            .count()
    }

    /// Waits (up to 15 s) for a jitaa request comment on `issue`; its comment id.
    pub fn wait_for_request(&self, issue: u64) -> u64 {
        self.wait_for_requests(issue, 1)
    }

    /// Waits for the `n`th request comment on `issue`; its comment id.
    pub fn wait_for_requests(&self, issue: u64, n: usize) -> u64 {
        let start = Instant::now();
        loop {
            let reqs: Vec<u64> = self
                .hub
                .comments(REPO, issue)
                .into_iter()
                .filter(|c| c.body.contains(REQUEST_MARKER))
                .map(|c| c.id)
                .collect();
            if reqs.len() >= n {
                return reqs[n - 1];
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "no request comment on #{issue}: {:?}",
                self.bodies(issue)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the request issue jitaa opened (and its request comment); its number.
    pub fn wait_for_issue(&self) -> u64 {
        let start = Instant::now();
        loop {
            if let Some((n, ..)) = self.hub.issues(REPO).into_iter().next() {
                self.wait_for_request(n);
                return n;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "no request issue"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Reactions on a comment, as `user:content`.
    pub fn reactions(&self, comment: u64) -> Vec<String> {
        self.hub
            .reactions(comment)
            .into_iter()
            .map(|r| format!("{}:{}", r.user, r.content))
            .collect()
    }
}
