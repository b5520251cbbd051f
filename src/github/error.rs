//! The GitHub layer's typed errors. Their exit codes (DESIGN.md) are chosen in
//! `crate::commands::codes` (the command layer): configuration problems are usage errors (2); anything GitHub
//! did not answer usefully after the bounded retries is "unreachable" (5). None of them
//! is ever an integrity failure (4), and none of them ever approves.

#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    /// GITHUB_API_URL is not an https URL (loopback hosts excepted), or unparsable.
    #[error("GITHUB_API_URL `{url}`: {reason}")]
    BadApiUrl { url: String, reason: String },
    /// A repository name that is not `owner/name`.
    #[error("{what} `{value}`: expected owner/name")]
    BadRepository { what: String, value: String },
    /// No token from the `token` input, GITHUB_TOKEN, GH_TOKEN or `gh auth token`.
    #[error(
        "no GitHub token: set GITHUB_TOKEN (or GH_TOKEN, or the action's `token` input), or log in with `gh auth login`"
    )]
    NoToken,
    /// GitHub rejected the token (401).
    #[error(
        "{method} {path}: GitHub rejected the token (401): {message}; check GITHUB_TOKEN/GH_TOKEN"
    )]
    BadCredentials {
        method: String,
        path: String,
        message: String,
    },
    /// Transport errors, timeouts, 5xx or rate limits outlasted the retry budget.
    #[error("{method} {path}: GitHub unreachable after {tries} tries: {last}")]
    Unreachable {
        method: String,
        path: String,
        tries: u32,
        last: String,
    },
    /// A non-idempotent write got no clear answer; it was not re-sent (it may have landed).
    #[error(
        "{method} {path}: no clear answer ({last}); not re-sent, it may or may not have been applied"
    )]
    WriteUncertain {
        method: String,
        path: String,
        last: String,
    },
    /// GitHub answered with a client error the caller did not expect.
    #[error("{method} {path}: HTTP {status}: {message}")]
    Status {
        method: String,
        path: String,
        status: u16,
        message: String,
    },
    /// The body was not the JSON shape GitHub documents.
    #[error("{what}: unexpected response body: {detail}")]
    Decode { what: String, detail: String },
    /// Building the HTTP client failed.
    #[error("GitHub client: {0}")]
    Client(String),
}

impl GitHubError {
    /// The HTTP status GitHub answered with, for errors that carry one.
    pub fn status(&self) -> Option<u16> {
        match self {
            GitHubError::Status { status, .. } => Some(*status),
            GitHubError::BadCredentials { .. } => Some(401),
            _ => None,
        }
    }
}
