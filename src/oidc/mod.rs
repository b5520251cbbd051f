//! The GitHub Actions ID token: fetching one in a job, verifying it (RS256 against the
//! issuer's JWKS), the typed [`Context`] of its claims, and binding it to the run.
//!
//! API for the flows:
//! - [`Verifier::from_env`] → [`Verifier::verify`] (`async`): a verified [`Context`];
//! - [`request_token`]: a fresh token from the runner for an audience;
//! - [`context_from_actions`]: fetch + verify + [`cross_check`] with `GITHUB_*`;
//! - [`verify_record_token`] / [`verify_record_token_with`]: a record's `github-oidc`
//!   signature against a given JWKS or key (no network), for the audit module;
//!   [`Verifier::jwks`] the issuer's live keys and [`same_key`] to compare keys.
//!
//! Security rules: RS256 only (the key must be RSA and may not declare another alg);
//! `iss` exactly the configured issuer; `aud` contains the expected audience; exp, nbf
//! and iat checked with 60 s leeway; https only for the issuer and its JWKS (loopback
//! hosts excepted); `sub` is never parsed for a decision; tokens are never logged.

mod context;
mod error;
mod fetch;
mod verify;

pub use context::{Context, cross_check};
pub use error::{DocumentError, OidcError};
pub use fetch::{PERMISSIONS_HINT, request_token, request_token_with};
pub use jsonwebtoken::jwk::{Jwk, JwkSet};
pub use verify::{
    MAX_TOKEN_LEN, RECORD_IAT_WINDOW_SECS, REFETCH_INTERVAL, TimeRule, Unverified, Verifier,
    check_token, parse_jwks, parse_unverified, same_key, verify_record_token,
    verify_record_token_with,
};

/// GitHub.com's issuer; GHES uses `https://HOST/_services/token`, enterprises with a
/// custom issuer `https://token.actions.githubusercontent.com/<slug>`.
pub const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// The audience jitaa asks for and expects, unless `JITAA_OIDC_AUDIENCE` says otherwise.
pub const DEFAULT_AUDIENCE: &str = "jitaa";
/// Clock leeway for exp, nbf and iat.
pub const LEEWAY_SECS: i64 = 60;
/// Timeout of every HTTP request to the issuer or the token endpoint.
pub const HTTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Reads the environment: a seam so tests can pass a map instead of the process env.
pub type EnvFn<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, with empty values treated as unset.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Accepts `https://` URLs, and `http://` only for loopback hosts (127.0.0.0/8,
/// `localhost`, `[::1]`). `what` names the variable or document field in the error.
pub fn check_url(raw: &str, what: &str) -> Result<url::Url, OidcError> {
    let config = |reason: String| OidcError::Config {
        var: what.to_string(),
        reason,
    };
    let url = url::Url::parse(raw).map_err(|e| config(format!("`{raw}` is not a URL ({e})")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(config(format!(
            "`{raw}` is plain http; only https is accepted (http only for loopback hosts)"
        ))),
        other => Err(config(format!(
            "`{raw}` has scheme {other}; only https is accepted"
        ))),
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The HTTP client for the issuer and the token endpoint: rustls, 5 s timeout, and no
/// redirects (a redirect could leave https or the issuer's host).
pub(crate) fn http_client() -> Result<reqwest::Client, OidcError> {
    reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .connect_timeout(HTTP_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("jitaa/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(OidcError::HttpClient)
}

/// In a job: fetch a token for `audience`, verify it against `JITAA_OIDC_ISSUER`, and
/// check it against `GITHUB_REPOSITORY`, `GITHUB_SHA`, `GITHUB_REF`, `GITHUB_RUN_ID` and
/// `GITHUB_RUN_ATTEMPT`. Missing `id-token: write` is exit 2; an invalid or
/// contradicting token exit 4; an unreachable runner or issuer exit 5.
pub async fn context_from_actions(audience: &str) -> Result<Context, OidcError> {
    let mut out = std::io::stdout();
    context_from_actions_with(&process_env, audience, &mut out).await
}

/// [`context_from_actions`] over any environment, writing `::add-mask::` to `out`.
pub async fn context_from_actions_with(
    env: EnvFn<'_>,
    audience: &str,
    out: &mut (dyn std::io::Write + Send),
) -> Result<Context, OidcError> {
    let token = request_token_with(env, audience, out).await?;
    let verifier = Verifier::from_env_with(env)?.with_audience(audience);
    let context = verifier.verify(&token).await?;
    cross_check(&context, env)?;
    Ok(context)
}
