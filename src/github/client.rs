//! The octocrab-backed transport: configuration (API URL, token), one request with a
//! timeout, bounded retries with jittered exponential backoff, rate-limit waits
//! (Retry-After, x-ratelimit-reset), conditional GETs and path-based pagination.
//!
//! octocrab's own retry layer is off: it would re-send POSTs. Here reads and idempotent
//! writes are retried; a non-idempotent write is re-sent only after an answer that
//! guarantees GitHub did not process it (a rate-limit 403/429).

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Method, header};
use octocrab::Octocrab;
use octocrab::service::middleware::retry::RetryConfig;
use rand::Rng;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use super::error::GitHubError;
use super::types::{Actor, parse};

pub use super::config::{DEFAULT_API_URL, Token, check_api_url, resolve_token};

/// Retry and timeout budget of every request.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_tries: u32,
    /// First backoff; doubles each try, with jitter, up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// The longest rate-limit wait (Retry-After / x-ratelimit-reset) honoured before
    /// giving up as unreachable.
    pub max_rate_wait: Duration,
    /// Per-attempt timeout (headers and body).
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_tries: 6,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_rate_wait: Duration::from_secs(15 * 60),
            timeout: Duration::from_secs(30),
        }
    }
}

/// How a request may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Read,
    /// Sending it twice has the effect of sending it once (PATCH, reactions, statuses).
    Idempotent,
    /// Never re-sent after an unclear answer (creating comments, issues, check runs).
    Once,
}

/// One HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `rel="next"` target of the Link header.
    pub fn next_link(&self) -> Option<String> {
        let link = self.header("link")?;
        link.split(',').find_map(|part| {
            let (url, params) = part.split_once(';')?;
            params
                .split(';')
                .any(|p| p.trim() == "rel=\"next\"")
                .then(|| {
                    url.trim()
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_string()
                })
        })
    }
}

/// A conditional GET's outcome.
#[derive(Debug)]
pub enum Page {
    /// 304: unchanged, and free of rate limit.
    NotModified,
    Fresh {
        body: String,
        etag: Option<String>,
        /// The next page as a path relative to the API base.
        next: Option<String>,
    },
}

/// The GitHub REST client jitaa uses (cheap to clone).
#[derive(Clone)]
pub struct Client {
    octo: Octocrab,
    base: Url,
    policy: RetryPolicy,
    me: Arc<tokio::sync::OnceCell<Actor>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .finish()
    }
}

impl Client {
    /// GITHUB_API_URL (default api.github.com) and the token of [`resolve_token`].
    /// Must run inside a tokio runtime.
    pub fn from_env(explicit_token: Option<&str>) -> Result<Client, GitHubError> {
        let url = std::env::var("GITHUB_API_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_API_URL.into());
        Client::new(&url, resolve_token(explicit_token)?, RetryPolicy::default())
    }

    pub fn new(api_url: &str, token: Token, policy: RetryPolicy) -> Result<Client, GitHubError> {
        let mut base = check_api_url(api_url)?;
        let trimmed = base.path().trim_end_matches('/').to_string();
        base.set_path(&trimmed);
        let octo = Octocrab::builder()
            .base_uri(base.as_str())
            .map_err(|e| GitHubError::BadApiUrl {
                url: api_url.into(),
                reason: e.to_string(),
            })?
            .personal_token(token.expose().to_string())
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(Some(policy.timeout))
            .set_read_timeout(Some(policy.timeout))
            .build()
            .map_err(|e| GitHubError::Client(e.to_string()))?;
        Ok(Client {
            octo,
            base,
            policy,
            me: Arc::new(tokio::sync::OnceCell::new()),
        })
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// The account the token belongs to (`GET /user`, asked once).
    pub async fn me(&self) -> Result<Actor, GitHubError> {
        self.me
            .get_or_try_init(|| async {
                let r = self
                    .request(Method::GET, "/user", None, None, Mode::Read)
                    .await?;
                parse::<Actor>("GET /user", &r.body)
            })
            .await
            .cloned()
    }

    async fn send_once(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
        etag: Option<&str>,
    ) -> Result<Reply, String> {
        let mut b = http::Request::builder()
            .method(method.clone())
            .uri(path)
            .header(header::ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28");
        if let Some(e) = etag {
            b = b.header(header::IF_NONE_MATCH, e);
        }
        let req = self
            .octo
            .build_request(b, body)
            .map_err(|e| e.to_string())?;
        let res = tokio::time::timeout(self.policy.timeout, self.octo.execute(req))
            .await
            .map_err(|_| format!("no answer within {:?}", self.policy.timeout))?
            .map_err(|e| e.to_string())?;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = tokio::time::timeout(self.policy.timeout, self.octo.body_to_string(res))
            .await
            .map_err(|_| "body timed out".to_string())?
            .map_err(|e| e.to_string())?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// Sends `method path` under the retry policy. 2xx and 304 are returned; other
    /// answers become errors (a 4xx as [`GitHubError::Status`]).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        etag: Option<&str>,
        mode: Mode,
    ) -> Result<Reply, GitHubError> {
        let m = method.to_string();
        let mut last = String::new();
        let mut tries = 0;
        while tries < self.policy.max_tries {
            tries += 1;
            let reply = match self.send_once(&method, path, body, etag).await {
                Err(e) => {
                    if mode == Mode::Once {
                        return Err(GitHubError::WriteUncertain {
                            method: m,
                            path: path.into(),
                            last: e,
                        });
                    }
                    last = e;
                    self.say_retrying(tries, "GitHub unreachable");
                    self.backoff(tries).await;
                    continue;
                }
                Ok(r) => r,
            };
            let s = reply.status;
            if (200..300).contains(&s) || s == 304 {
                return Ok(reply);
            }
            let message = error_message(&reply.body);
            if s == 401 {
                return Err(GitHubError::BadCredentials {
                    method: m,
                    path: path.into(),
                    message,
                });
            }
            if let Some(wait) = rate_limit_wait(&reply, &message) {
                if wait > self.policy.max_rate_wait {
                    return Err(GitHubError::Unreachable {
                        method: m,
                        path: path.into(),
                        tries,
                        last: format!("rate limited for {}s more: {message}", wait.as_secs()),
                    });
                }
                tracing::warn!(
                    target: crate::logging::NOTICE,
                    "GitHub rate limit reached; waiting {}s before trying again",
                    wait.as_secs().max(1)
                );
                last = format!("HTTP {s} rate limited: {message}");
                tokio::time::sleep(wait).await;
                continue;
            }
            if s >= 500 {
                if mode == Mode::Once {
                    return Err(GitHubError::WriteUncertain {
                        method: m,
                        path: path.into(),
                        last: format!("HTTP {s}: {message}"),
                    });
                }
                last = format!("HTTP {s}: {message}");
                tracing::debug!(method = %m, path, status = s, "GitHub server error; retrying");
                self.say_retrying(tries, &format!("GitHub answered HTTP {s}"));
                self.backoff(tries).await;
                continue;
            }
            return Err(GitHubError::Status {
                method: m,
                path: path.into(),
                status: s,
                message,
            });
        }
        Err(GitHubError::Unreachable {
            method: m,
            path: path.into(),
            tries,
            last,
        })
    }

    /// One line for the person waiting, once per retry: `jitaa: GitHub unreachable,
    /// retrying (2/6)…` (nothing after the last try).
    fn say_retrying(&self, tries: u32, what: &str) {
        if tries < self.policy.max_tries {
            tracing::warn!(
                target: crate::logging::NOTICE,
                "{what}, retrying ({}/{})…",
                tries + 1,
                self.policy.max_tries
            );
        }
    }

    async fn backoff(&self, tries: u32) {
        if tries >= self.policy.max_tries {
            return;
        }
        let exp = self
            .policy
            .base_backoff
            .saturating_mul(1u32 << (tries - 1).min(16))
            .min(self.policy.max_backoff);
        // Jitter: a uniform wait in [exp/2, exp].
        let ms = exp.as_millis() as u64;
        let jittered = rand::thread_rng().gen_range(ms / 2..=ms.max(1));
        tokio::time::sleep(Duration::from_millis(jittered)).await;
    }

    /// GET with `If-None-Match`; a 304 costs no rate limit.
    pub async fn get_conditional(
        &self,
        path: &str,
        etag: Option<&str>,
    ) -> Result<Page, GitHubError> {
        let r = self
            .request(Method::GET, path, None, etag, Mode::Read)
            .await?;
        if r.status == 304 {
            return Ok(Page::NotModified);
        }
        let next = match r.next_link() {
            Some(n) => Some(self.relative(&n)?),
            None => None,
        };
        Ok(Page::Fresh {
            etag: r.header("etag").map(String::from),
            body: r.body,
            next,
        })
    }

    /// GET and parse.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, GitHubError> {
        let r = self
            .request(Method::GET, path, None, None, Mode::Read)
            .await?;
        parse(&format!("GET {path}"), &r.body)
    }

    /// Every page of a list, following `Link: rel="next"` as paths on the API host (so
    /// the token goes with every page, and never to another host). Stops after
    /// `max_items` items (returns whether it stopped early).
    pub async fn get_all<T: DeserializeOwned>(
        &self,
        path: &str,
        max_items: usize,
    ) -> Result<(Vec<T>, bool), GitHubError> {
        let mut out = Vec::new();
        let mut next = Some(path.to_string());
        while let Some(p) = next {
            let Page::Fresh { body, next: n, .. } = self.get_conditional(&p, None).await? else {
                return Err(GitHubError::Decode {
                    what: format!("GET {p}"),
                    detail: "304 to an unconditional request".into(),
                });
            };
            let mut items: Vec<T> = parse(&format!("GET {p}"), &body)?;
            out.append(&mut items);
            if out.len() >= max_items {
                let more = n.is_some() || out.len() > max_items;
                out.truncate(max_items);
                return Ok((out, more));
            }
            next = n;
        }
        Ok((out, false))
    }

    /// Turns an absolute pagination URL into a path under the API base; refuses other hosts.
    pub fn relative(&self, link: &str) -> Result<String, GitHubError> {
        let bad = |why: &str| GitHubError::Decode {
            what: "pagination Link".into(),
            detail: format!("{link}: {why}"),
        };
        let u = self.base.join(link).map_err(|e| bad(&e.to_string()))?;
        if u.scheme() != self.base.scheme()
            || u.host_str() != self.base.host_str()
            || u.port_or_known_default() != self.base.port_or_known_default()
        {
            return Err(bad("points to another host; not followed"));
        }
        let base_path = self.base.path().trim_end_matches('/');
        let rest = u
            .path()
            .strip_prefix(base_path)
            .filter(|r| r.starts_with('/'))
            .ok_or_else(|| bad("outside the API base path"))?;
        Ok(match u.query() {
            Some(q) => format!("{rest}?{q}"),
            None => rest.to_string(),
        })
    }
}

fn error_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(String::from))
        .unwrap_or_else(|| body.chars().take(200).collect())
}

/// How long GitHub asks us to wait, if this answer is a (primary or secondary) rate limit.
fn rate_limit_wait(r: &Reply, message: &str) -> Option<Duration> {
    if r.status != 403 && r.status != 429 {
        return None;
    }
    if let Some(secs) = r
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Some(Duration::from_secs(secs));
    }
    let exhausted = r.header("x-ratelimit-remaining").map(str::trim) == Some("0");
    if exhausted
        && let Some(reset) = r
            .header("x-ratelimit-reset")
            .and_then(|v| v.trim().parse::<i64>().ok())
    {
        let now = chrono::Utc::now().timestamp();
        return Some(Duration::from_secs((reset - now).max(0) as u64 + 1));
    }
    if r.status == 429 || exhausted || message.to_ascii_lowercase().contains("rate limit") {
        // A secondary limit without Retry-After: GitHub says wait at least a minute.
        return Some(Duration::from_secs(60));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_url_must_be_https_unless_loopback() {
        assert!(check_api_url("https://api.github.com").is_ok());
        assert!(check_api_url("https://ghes.example/api/v3").is_ok());
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://localhost:1",
            "http://[::1]:3",
        ] {
            assert!(check_api_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.github.com",
            "http://10.0.0.1",
            "ftp://127.0.0.1",
            "nonsense",
            "http://127.0.0.1.evil.com",
        ] {
            let e = check_api_url(bad).unwrap_err();
            assert_eq!(e.code(), crate::exit::Code::Usage, "{bad}");
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[tokio::test]
    async fn pagination_links_become_paths_under_the_base_and_stay_on_its_host() {
        let c = Client::new(
            "http://127.0.0.1:9/api/v3/",
            Token::new("t"),
            RetryPolicy::default(),
        )
        .unwrap();
        assert_eq!(
            c.relative("http://127.0.0.1:9/api/v3/repos/a/b/issues?page=2")
                .unwrap(),
            "/repos/a/b/issues?page=2"
        );
        assert!(
            c.relative("http://evil.example/api/v3/repos?page=2")
                .is_err()
        );
        assert!(
            c.relative("http://127.0.0.1:10/api/v3/repos?page=2")
                .is_err()
        );
        assert!(c.relative("http://127.0.0.1:9/other/repos?page=2").is_err());
    }

    #[test]
    fn token_debug_is_redacted() {
        assert_eq!(
            format!("{:?}", Token::new("ghp_secret")),
            "Token(<redacted>)"
        );
    }

    fn reply(status: u16, headers: &[(&'static str, &str)]) -> Reply {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(*k, v.parse().unwrap());
        }
        Reply {
            status,
            headers: h,
            body: String::new(),
        }
    }

    #[test]
    fn rate_limits_are_recognised_and_other_403s_are_not() {
        let r = reply(403, &[("retry-after", "7")]);
        assert_eq!(rate_limit_wait(&r, "x"), Some(Duration::from_secs(7)));
        let reset = (chrono::Utc::now().timestamp() + 30).to_string();
        let r = reply(
            403,
            &[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", &reset),
            ],
        );
        let w = rate_limit_wait(&r, "API rate limit exceeded").unwrap();
        assert!(
            w >= Duration::from_secs(29) && w <= Duration::from_secs(32),
            "{w:?}"
        );
        let r = reply(403, &[("x-ratelimit-remaining", "4000")]);
        assert_eq!(
            rate_limit_wait(&r, "Resource not accessible by integration"),
            None
        );
        assert_eq!(rate_limit_wait(&reply(500, &[]), "x"), None);
    }

    #[test]
    fn next_link_is_found_among_rels() {
        let r = reply(
            200,
            &[(
                "link",
                "<https://api.github.com/x?page=1>; rel=\"prev\", <https://api.github.com/x?page=3>; rel=\"next\"",
            )],
        );
        assert_eq!(
            r.next_link().as_deref(),
            Some("https://api.github.com/x?page=3")
        );
        assert_eq!(reply(200, &[]).next_link(), None);
    }
}
