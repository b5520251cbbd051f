//! The stand-in's HTTP behaviour around every API route: the request log, token auth
//! (401 without a known token), injected delays and faults, ETags with 304s on
//! `If-None-Match`, and `x-ratelimit-*` headers (304s are not charged, as on GitHub).

use axum::body::Body;
use axum::extract::{Request, State as AxState};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::api::error;
use crate::state::{Fault, RecordedRequest};
use crate::{Caller, Shared};

/// Records every request (API, admin and OIDC alike) with the status it got.
pub async fn record(AxState(s): AxState<Shared>, req: Request, next: Next) -> Response {
    let entry = RecordedRequest {
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
        query: req.uri().query().map(String::from),
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        status: 0,
    };
    let idx = {
        let mut st = s.lock();
        st.requests.push(entry);
        st.requests.len() - 1
    };
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    if let Some(e) = s.lock().requests.get_mut(idx) {
        e.status = status;
    }
    resp
}

fn token_of(req: &Request) -> Option<String> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token") {
        Some(token.trim().to_string())
    } else {
        None
    }
}

fn fault_response(f: &Fault) -> Response {
    let status = StatusCode::from_u16(f.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut resp = if status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS {
        error(
            status,
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        )
    } else if status.is_server_error() {
        error(status, "Server Error")
    } else {
        error(status, "Injected fault")
    };
    if let Some(secs) = f.retry_after
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// The GitHub behaviour of the API routes.
pub async fn api(AxState(s): AxState<Shared>, mut req: Request, next: Next) -> Response {
    let Some(token) = token_of(&req) else {
        return finish(
            &s,
            error(StatusCode::UNAUTHORIZED, "Requires authentication"),
            false,
        );
    };
    let login = s.lock().tokens.get(&token).cloned();
    let Some(login) = login else {
        return finish(
            &s,
            error(StatusCode::UNAUTHORIZED, "Bad credentials"),
            false,
        );
    };
    req.extensions_mut().insert(Caller(login));
    let exhausted = {
        let mut st = s.lock();
        st.roll_window();
        st.window_used >= st.rate_limit
    };
    if exhausted {
        let r = error(StatusCode::FORBIDDEN, "API rate limit exceeded for user.");
        return finish(&s, r, false);
    }

    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let (delay, fault, random_error) = {
        let mut st = s.lock();
        let delay = st.delay;
        let fault = match st
            .faults
            .iter_mut()
            .find(|f| f.times > 0 && f.matches(method.as_str(), &path))
        {
            Some(f) => {
                f.times -= 1;
                Some(f.clone())
            }
            None => None,
        };
        st.faults.retain(|f| f.times > 0);
        let random_error =
            fault.is_none() && st.error_rate > 0.0 && rand::random::<f64>() < st.error_rate;
        (delay, fault, random_error)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if let Some(f) = fault {
        if f.after_apply {
            let _ = next.run(req).await;
        }
        return finish(&s, fault_response(&f), true);
    }
    if random_error {
        let f = Fault {
            status: 502,
            ..Fault::default()
        };
        return finish(&s, fault_response(&f), true);
    }

    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let resp = next.run(req).await;
    if method != Method::GET || resp.status() != StatusCode::OK {
        return finish(&s, resp, true);
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return finish(&s, error(StatusCode::INTERNAL_SERVER_ERROR, "body"), true);
    };
    let digest = hex_prefix(&Sha256::digest(&bytes));
    // GitHub sends weak ETags on lists and strong ones on single objects.
    let etag = if bytes.first() == Some(&b'[') {
        format!("W/\"{digest}\"")
    } else {
        format!("\"{digest}\"")
    };
    let matched = if_none_match.is_some_and(|inm| {
        inm.split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == etag.trim_start_matches("W/") || t == "*")
    });
    if let Ok(v) = HeaderValue::from_str(&etag) {
        parts.headers.insert(header::ETAG, v);
    }
    if matched {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        if let Some(v) = parts.headers.get(header::ETAG).cloned() {
            r.headers_mut().insert(header::ETAG, v);
        }
        return finish(&s, r, false);
    }
    finish(&s, Response::from_parts(parts, Body::from(bytes)), true)
}

fn hex_prefix(d: &[u8]) -> String {
    d.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Charges the request against the rate limit (unless a 304) and adds the headers.
fn finish(s: &Shared, mut resp: Response, charged: bool) -> Response {
    let (limit, used, reset) = {
        let mut st = s.lock();
        if charged {
            st.rate_used += 1;
            st.window_used += 1;
        }
        (st.rate_limit, st.window_used, st.rate_reset)
    };
    let h = resp.headers_mut();
    let mut put = |k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    put("x-ratelimit-limit", limit.to_string());
    put(
        "x-ratelimit-remaining",
        limit.saturating_sub(used).to_string(),
    );
    put("x-ratelimit-reset", reset.to_string());
    put("x-ratelimit-used", used.to_string());
    put("x-ratelimit-resource", "core".to_string());
    put("x-github-media-type", "github.v3; format=json".to_string());
    resp
}
