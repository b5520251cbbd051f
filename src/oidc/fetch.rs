//! Getting an ID token inside a job (the runner's token endpoint), and the bounded,
//! retrying GET the issuer's documents use too. Tokens and the request token are
//! never logged; in Actions the token is masked before it is returned.

use std::io::Write;
use std::time::Duration;

use serde_json::Value;

use super::{EnvFn, OidcError, check_url, http_client, process_env};

/// Attempts at the runner's token endpoint before giving up (exit 5).
pub(super) const TOKEN_ATTEMPTS: u32 = 4;
/// Responses larger than this are refused.
const MAX_BODY: usize = 1024 * 1024;

/// What a job must declare to get a token, shown when it did not.
pub const PERMISSIONS_HINT: &str = "permissions:\n  id-token: write       # lets jitaa ask GitHub for an OIDC token\n  contents: write       # read the policy; push records to the audit branch\n  pull-requests: write  # post the request and read approvals\n  issues: write\n  checks: write";

/// A fresh ID token for `audience` from the runner: `ACTIONS_ID_TOKEN_REQUEST_URL` +
/// `&audience=`, with `Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`. When
/// `GITHUB_ACTIONS=true` it prints `::add-mask::<token>` to stdout first. Missing
/// variables (no `id-token: write`) are exit 2; failures after retries exit 5.
pub async fn request_token(audience: &str) -> Result<String, OidcError> {
    let mut out = std::io::stdout();
    request_token_with(&process_env, audience, &mut out).await
}

/// [`request_token`] over any environment, writing the mask command to `out`.
pub async fn request_token_with(
    env: EnvFn<'_>,
    audience: &str,
    out: &mut (dyn Write + Send),
) -> Result<String, OidcError> {
    let (Some(url), Some(bearer)) = (
        env("ACTIONS_ID_TOKEN_REQUEST_URL"),
        env("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
    ) else {
        return Err(OidcError::NoTokenPermission);
    };
    let mut url = check_url(&url, "ACTIONS_ID_TOKEN_REQUEST_URL")?;
    url.query_pairs_mut().append_pair("audience", audience);
    let client = http_client()?;
    let body = get_bytes(&client, url.as_str(), Some(&bearer), TOKEN_ATTEMPTS).await?;
    // Never echo the body: it holds the token.
    let token = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("value").and_then(Value::as_str).map(str::to_string))
        .filter(|t| !t.is_empty())
        .ok_or(OidcError::NoToken)?;
    if env("GITHUB_ACTIONS").as_deref() == Some("true") {
        let _ = writeln!(out, "::add-mask::{token}");
        let _ = out.flush();
    }
    Ok(token)
}

fn retryable(status: reqwest::StatusCode) -> bool {
    status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408
}

/// One line for the person waiting before 0-based `attempt` is retried:
/// `jitaa: https://host/path unreachable, retrying (2/4)…`.
fn say_retrying(shown: &str, what: &str, attempt: u32, attempts: u32) {
    if attempt + 1 < attempts {
        tracing::warn!(
            target: crate::logging::NOTICE,
            "{shown} {what}, retrying ({}/{attempts})…",
            attempt + 2
        );
    }
}

/// GET `url` (optionally with a bearer token), up to `attempts` tries with exponential
/// backoff (250 ms, 500 ms, 1 s, ...) on transport errors, 408, 429 and 5xx. The URL in
/// errors is shown without its query.
pub(crate) async fn get_bytes(
    client: &reqwest::Client,
    url: &str,
    bearer: Option<&str>,
    attempts: u32,
) -> Result<Vec<u8>, OidcError> {
    let shown = url.split('?').next().unwrap_or(url).to_string();
    let unreachable = |reason: String, source: Option<reqwest::Error>| OidcError::Unreachable {
        url: shown.clone(),
        reason,
        source,
    };
    // What the last attempt ran into: an HTTP status, or a transport error (kept as the
    // source, without its URL, whose query may hold a secret).
    let mut last = String::new();
    let mut last_err: Option<reqwest::Error> = None;
    for attempt in 0..attempts.max(1) {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(250u64 << (attempt - 1).min(4))).await;
        }
        let mut req = client.get(url).header("Accept", "application/json");
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        let mut resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                last = if e.is_timeout() {
                    "timed out after 5 s".into()
                } else {
                    "no answer".into()
                };
                let e = e.without_url();
                tracing::debug!(url = %shown, attempt, "request failed: {last}: {e}");
                last_err = Some(e);
                say_retrying(&shown, "unreachable", attempt, attempts);
                continue;
            }
        };
        let status = resp.status();
        if !status.is_success() {
            last = format!("HTTP {status}");
            last_err = None;
            if retryable(status) {
                tracing::debug!(url = %shown, attempt, "{last}, retrying");
                say_retrying(&shown, &format!("answered {last}"), attempt, attempts);
                continue;
            }
            return Err(unreachable(format!("{last} (not retried)"), None));
        }
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    if body.len() + c.len() > MAX_BODY {
                        return Err(unreachable(
                            format!("the answer is larger than {MAX_BODY} bytes"),
                            None,
                        ));
                    }
                    body.extend_from_slice(&c);
                }
                Ok(None) => return Ok(body),
                Err(e) => {
                    last = "the answer broke off".into();
                    last_err = Some(e.without_url());
                    break;
                }
            }
        }
    }
    Err(unreachable(
        format!("{last} (after {attempts} attempts)"),
        last_err,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn missing_permission_is_a_usage_error_that_shows_the_fix() {
        let env = |_: &str| None;
        let mut out = Vec::new();
        let e = request_token_with(&env, "jitaa", &mut out)
            .await
            .unwrap_err();
        let e = crate::exit::Failure::from(e);
        assert_eq!(e.code, crate::exit::Code::Usage);
        assert!(
            e.message.contains("permissions:\n  id-token: write"),
            "{}",
            e.message
        );
        assert!(out.is_empty());
    }

    #[tokio::test]
    async fn a_plain_http_token_url_off_loopback_is_refused() {
        let env = |k: &str| match k {
            "ACTIONS_ID_TOKEN_REQUEST_URL" => Some("http://pipelines.example.com/x?a=1".into()),
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN" => Some("secret".into()),
            _ => None,
        };
        let mut out = Vec::new();
        let e = request_token_with(&env, "jitaa", &mut out)
            .await
            .unwrap_err();
        let e = crate::exit::Failure::from(e);
        assert_eq!(e.code, crate::exit::Code::Usage);
        assert!(e.message.contains("ACTIONS_ID_TOKEN_REQUEST_URL"));
        assert!(!e.message.contains("secret"));
    }
}
