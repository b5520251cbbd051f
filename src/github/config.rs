//! Where the client's settings come from: the API base URL (https only, loopback
//! excepted) and the token (explicit input, GITHUB_TOKEN, GH_TOKEN, `gh auth token`).

use url::Url;

use super::error::GitHubError;

pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// A token; its Debug never shows the value.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(t: impl Into<String>) -> Token {
        Token(t.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Token from `explicit` (the action's `token` input), GITHUB_TOKEN, GH_TOKEN, then
/// `gh auth token` when `gh` is installed. Empty values are skipped.
pub fn resolve_token(explicit: Option<&str>) -> Result<Token, GitHubError> {
    let env = |k: &str| std::env::var(k).ok();
    let candidates = [
        explicit.map(String::from),
        env("GITHUB_TOKEN"),
        env("GH_TOKEN"),
    ];
    if let Some(t) = candidates
        .into_iter()
        .flatten()
        .map(|t| t.trim().to_string())
        .find(|t| !t.is_empty())
    {
        return Ok(Token(t));
    }
    if gh_installed()
        && let Ok(out) = std::process::Command::new("gh")
            .args(["auth", "token"])
            .output()
    {
        let t = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && !t.is_empty() {
            return Ok(Token(t));
        }
    }
    Err(GitHubError::NoToken)
}

fn gh_installed() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("gh").is_file()))
}

/// Validates an API base URL: https, or http/https to a loopback host (tests).
pub fn check_api_url(raw: &str) -> Result<Url, GitHubError> {
    let bad = |reason: &str| GitHubError::BadApiUrl {
        url: raw.into(),
        reason: reason.into(),
    };
    let url = Url::parse(raw).map_err(|e| bad(&format!("not a URL ({e})")))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => return Err(bad("no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(bad(
                "only https:// is accepted (http:// only for 127.0.0.0/8, localhost, [::1])",
            ));
        }
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(bad("no query, fragment or credentials allowed"));
    }
    Ok(url)
}
