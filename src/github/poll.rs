//! Polling a request's thread for new comments and reviews, built for rate limits:
//! every page is fetched with `If-None-Match` (GitHub does not charge 304s), the
//! interval starts short after a request is posted (or [`Poller::kick`]ed) and backs
//! off while idle, and retries/Retry-After live in the client underneath. A poll that
//! fails returns the error: nothing here ever turns a failure into "no change".

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use super::client::{Client, Page};
use super::error::GitHubError;
use super::ops::{comments_path, reviews_path};
use super::types::{Comment, RepoName, Review, parse};

/// Where pages come from: the octocrab client, or a test double.
pub trait PageSource: Send + Sync {
    fn get_page(
        &self,
        path: &str,
        etag: Option<&str>,
    ) -> impl Future<Output = Result<Page, GitHubError>> + Send;
}

impl PageSource for Client {
    async fn get_page(&self, path: &str, etag: Option<&str>) -> Result<Page, GitHubError> {
        self.get_conditional(path, etag).await
    }
}

impl<T: PageSource> PageSource for &T {
    fn get_page(
        &self,
        path: &str,
        etag: Option<&str>,
    ) -> impl Future<Output = Result<Page, GitHubError>> + Send {
        (**self).get_page(path, etag)
    }
}

struct PageState<T> {
    path: String,
    etag: Option<String>,
    items: Vec<T>,
    next: Option<String>,
}

/// A paginated list kept current with conditional requests, page by page.
pub struct ListWatch<T> {
    first: String,
    pages: Vec<PageState<T>>,
}

/// More pages than this on one thread is a runaway listing, not a request.
const MAX_PAGES: usize = 100;

impl<T: DeserializeOwned + Clone> ListWatch<T> {
    pub fn new(first_page: String) -> Self {
        ListWatch {
            first: first_page,
            pages: Vec::new(),
        }
    }

    /// Re-fetches every page conditionally; true when anything changed.
    pub async fn refresh<S: PageSource>(&mut self, src: &S) -> Result<bool, GitHubError> {
        let mut changed = false;
        let mut path = Some(self.first.clone());
        let mut i = 0;
        while let Some(p) = path {
            if i >= MAX_PAGES {
                return Err(GitHubError::Decode {
                    what: format!("GET {}", self.first),
                    detail: format!("more than {MAX_PAGES} pages"),
                });
            }
            let cached = self.pages.get(i).filter(|s| s.path == p);
            let etag = cached.and_then(|s| s.etag.clone());
            match src.get_page(&p, etag.as_deref()).await? {
                Page::NotModified => match cached {
                    Some(s) => path = s.next.clone(),
                    None => {
                        return Err(GitHubError::Decode {
                            what: format!("GET {p}"),
                            detail: "304 without a cached page".into(),
                        });
                    }
                },
                Page::Fresh { body, etag, next } => {
                    let items: Vec<T> = parse(&format!("GET {p}"), &body)?;
                    changed = true;
                    self.pages.truncate(i);
                    self.pages.push(PageState {
                        path: p,
                        etag,
                        items,
                        next: next.clone(),
                    });
                    path = next;
                }
            }
            i += 1;
        }
        if self.pages.len() > i {
            self.pages.truncate(i);
            changed = true;
        }
        Ok(changed)
    }

    pub fn items(&self) -> Vec<T> {
        self.pages
            .iter()
            .flat_map(|p| p.items.iter().cloned())
            .collect()
    }
}

/// How often to poll.
#[derive(Debug, Clone)]
pub struct PollConfig {
    /// The interval right after a change or a kick.
    pub min: Duration,
    /// The idle cap.
    pub max: Duration,
    /// Growth per idle poll.
    pub factor: f64,
}

impl Default for PollConfig {
    /// 0.5 s rising to 2 s: idle polls are 304s (free), and an approval is seen about
    /// a second after it is posted.
    fn default() -> Self {
        PollConfig {
            min: Duration::from_millis(500),
            max: Duration::from_secs(2),
            factor: 1.25,
        }
    }
}

/// The thread's current state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub comments: Vec<Comment>,
    pub reviews: Vec<Review>,
    /// Comments known to be edited: `updated_at` moved, or this poller saw the body
    /// change (GitHub's timestamps have one-second resolution, so an edit within the
    /// second of posting leaves them equal).
    pub edited: BTreeSet<u64>,
}

/// Watches an issue's (or PR's) comments, and a PR's reviews.
pub struct Poller<S: PageSource = Client> {
    src: S,
    comments: ListWatch<Comment>,
    reviews: Option<ListWatch<Review>>,
    cfg: PollConfig,
    interval: Duration,
    first: bool,
    bodies: HashMap<u64, String>,
    edited: BTreeSet<u64>,
}

impl<S: PageSource> Poller<S> {
    /// Polls `repo#issue`'s comments (all of them; see [`Poller::since`]).
    pub fn new(src: S, repo: &RepoName, issue: u64) -> Self {
        let cfg = PollConfig::default();
        Poller {
            src,
            comments: ListWatch::new(comments_path(repo, issue, None)),
            reviews: None,
            interval: cfg.min,
            cfg,
            first: true,
            bodies: HashMap::new(),
            edited: BTreeSet::new(),
        }
    }

    /// Only comments created or edited at or after `t` (GitHub's `since`).
    pub fn since(mut self, repo: &RepoName, issue: u64, t: DateTime<Utc>) -> Self {
        self.comments = ListWatch::new(comments_path(repo, issue, Some(t)));
        self
    }

    /// Also watch the reviews of pull request `pr`.
    pub fn with_reviews(mut self, repo: &RepoName, pr: u64) -> Self {
        self.reviews = Some(ListWatch::new(reviews_path(repo, pr)));
        self
    }

    pub fn with_config(mut self, cfg: PollConfig) -> Self {
        self.interval = cfg.min;
        self.cfg = cfg;
        self
    }

    /// Back to the short interval (e.g. right after posting a request).
    pub fn kick(&mut self) {
        self.interval = self.cfg.min;
    }

    /// The wait before the next poll.
    pub fn interval(&self) -> Duration {
        if self.first {
            Duration::ZERO
        } else {
            self.interval
        }
    }

    /// Waits the current interval (tokio clock), then polls.
    pub async fn next(&mut self) -> Result<Option<Snapshot>, GitHubError> {
        let wait = self.interval();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        self.poll_once().await
    }

    /// Polls now: Some(snapshot) when comments or reviews changed, else None.
    pub async fn poll_once(&mut self) -> Result<Option<Snapshot>, GitHubError> {
        self.first = false;
        let mut changed = self.comments.refresh(&self.src).await?;
        if let Some(r) = self.reviews.as_mut() {
            changed |= r.refresh(&self.src).await?;
        }
        if changed {
            for c in self.comments.items() {
                let first_seen = self.bodies.entry(c.id).or_insert_with(|| c.body.clone());
                if *first_seen != c.body || c.edited() {
                    self.edited.insert(c.id);
                }
            }
            self.interval = self.cfg.min;
            Ok(Some(self.snapshot()))
        } else {
            let grown = self.interval.mul_f64(self.cfg.factor.max(1.0));
            self.interval = grown.min(self.cfg.max).max(self.cfg.min);
            Ok(None)
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            comments: self.comments.items(),
            reviews: self
                .reviews
                .as_ref()
                .map(ListWatch::items)
                .unwrap_or_default(),
            edited: self.edited.clone(),
        }
    }
}
