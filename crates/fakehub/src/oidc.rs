//! The Actions OIDC issuer: discovery, a rotating JWKS, and the token endpoint.
//!
//! A stand-in for `https://token.actions.githubusercontent.com` and the runner's
//! `ACTIONS_ID_TOKEN_REQUEST_URL`, on 127.0.0.1, for tests only. It signs with the
//! three TEST-ONLY keys in `src/oidc_test_keys/` (public, committed on purpose) and
//! rotates through them. Routes (see [`Issuer::router`]):
//! - `GET /.well-known/openid-configuration` — the discovery document;
//! - `GET /.well-known/jwks` — the published keys;
//! - `GET /_actions/token?api-version=2.0&audience=..` — needs
//!   `Authorization: Bearer <request token>`, answers `{"count": n, "value": "<JWT>"}`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Json;
use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// TEST-ONLY private keys (PKCS#8 PEM). Never trust anything they sign outside a test.
pub const TEST_ONLY_KEYS: [&str; 3] = [
    include_str!("oidc_test_keys/test-only-1.pem"),
    include_str!("oidc_test_keys/test-only-2.pem"),
    include_str!("oidc_test_keys/test-only-3.pem"),
];

/// How long minted tokens live (GitHub: 5 minutes after `iat`).
pub const TOKEN_LIFETIME_SECS: i64 = 300;
/// How far before `iat` minted tokens' `nbf` lies (GitHub: 10 minutes).
pub const NBF_SKEW_SECS: i64 = 600;

/// One signing key: its JWKS entry and what signs with it.
#[derive(Clone)]
struct Key {
    kid: String,
    n: String,
    e: String,
    /// PKCS#1 DER of the private key, for jsonwebtoken's signer.
    private_der: Vec<u8>,
    /// SPKI PEM of the public key (the bytes of the classic HS256 confusion attack).
    public_pem: String,
}

impl Key {
    fn load(index: usize) -> Key {
        let pem = TEST_ONLY_KEYS[index % TEST_ONLY_KEYS.len()];
        // The keys are constants of this crate: a parse failure is a build defect.
        let private = rsa::RsaPrivateKey::from_pkcs8_pem(pem).expect("bundled test key parses");
        let public = private.to_public_key();
        let n = URL_SAFE_NO_PAD.encode(public.n().to_bytes_be());
        let e = URL_SAFE_NO_PAD.encode(public.e().to_bytes_be());
        let kid = hex_prefix(&Sha256::digest(n.as_bytes()));
        Key {
            kid,
            n,
            e,
            private_der: private
                .to_pkcs1_der()
                .expect("bundled test key encodes")
                .as_bytes()
                .to_vec(),
            public_pem: public
                .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
                .expect("bundled test key encodes"),
        }
    }

    fn jwk(&self) -> Value {
        json!({"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid, "n": self.n, "e": self.e})
    }
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes[..16].iter().map(|b| format!("{b:02X}")).collect()
}

struct State {
    base_url: String,
    /// Published keys; the last one signs.
    keys: Vec<Key>,
    /// Index into [`TEST_ONLY_KEYS`] of the next key `rotate` brings in.
    next_key: usize,
    /// Claims every minted token carries (besides iss, aud, iat, nbf, exp, jti).
    claims: Map<String, Value>,
    /// Token requests still to fail, and with which status.
    fail_token_requests: (usize, u16),
    /// Per-run request tokens ([`Issuer::request_token_for`]) and the claims merged
    /// over `claims` in the tokens minted for them.
    profiles: HashMap<String, Value>,
}

/// The stand-in issuer. Cheap to clone: every clone shares one state.
#[derive(Clone)]
pub struct Issuer {
    state: Arc<Mutex<State>>,
    request_token: Arc<str>,
    counters: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    discovery: AtomicUsize,
    jwks: AtomicUsize,
    token: AtomicUsize,
}

impl Default for Issuer {
    fn default() -> Self {
        Self::new()
    }
}

/// The default claims of minted tokens, shaped like a real `push` token on a branch:
/// every claim a string except exp, iat and nbf (which `mint` adds).
pub fn default_claims() -> Map<String, Value> {
    let v = json!({
        "actor": "octocat",
        "actor_id": "583231",
        "base_ref": "",
        "event_name": "push",
        "head_ref": "",
        "job_workflow_ref": "acme/api/.github/workflows/deploy.yml@refs/heads/main",
        "job_workflow_sha": "e75edcc5b6cb88fc32f8d65d1da2655576b905ca",
        "ref": "refs/heads/main",
        "ref_protected": "true",
        "ref_type": "branch",
        "repository": "acme/api",
        "repository_id": "797215326",
        "repository_owner": "acme",
        "repository_owner_id": "162148032",
        "repository_visibility": "private",
        "run_attempt": "1",
        "run_id": "10685993555",
        "run_number": "154",
        "runner_environment": "github-hosted",
        "sha": "e75edcc5b6cb88fc32f8d65d1da2655576b905ca",
        "sub": "repo:acme/api:ref:refs/heads/main",
        "workflow": "Deploy",
        "workflow_ref": "acme/api/.github/workflows/deploy.yml@refs/heads/main",
        "workflow_sha": "e75edcc5b6cb88fc32f8d65d1da2655576b905ca"
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Merges `overrides` into `target`: a `null` removes the key.
fn merge(target: &mut Map<String, Value>, overrides: &Value) {
    if let Value::Object(o) = overrides {
        for (k, v) in o {
            if v.is_null() {
                target.remove(k);
            } else {
                target.insert(k.clone(), v.clone());
            }
        }
    }
}

impl Issuer {
    /// An issuer signing with the first test key, with [`default_claims`], and base URL
    /// `http://127.0.0.1` until [`Issuer::set_base_url`] says where it is served.
    pub fn new() -> Issuer {
        let request_token = random_token();
        Issuer {
            state: Arc::new(Mutex::new(State {
                base_url: "http://127.0.0.1".into(),
                keys: vec![Key::load(0)],
                next_key: 1,
                claims: default_claims(),
                fail_token_requests: (0, 503),
                profiles: HashMap::new(),
            })),
            request_token: request_token.into(),
            counters: Arc::new(Counters::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock only happens in a failing test; keep serving.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The issuer URL (`iss` of minted tokens; discovery lives under it). No trailing slash.
    pub fn set_base_url(&self, url: &str) {
        self.lock().base_url = url.trim_end_matches('/').to_string();
    }

    /// The issuer URL in use.
    pub fn base_url(&self) -> String {
        self.lock().base_url.clone()
    }

    /// The `ACTIONS_ID_TOKEN_REQUEST_TOKEN` the token endpoint accepts.
    pub fn request_token(&self) -> String {
        self.request_token.to_string()
    }

    /// A new `ACTIONS_ID_TOKEN_REQUEST_TOKEN` for one workflow run: the tokens the token
    /// endpoint mints for it carry `claims` (an object; a `null` removes a claim) merged
    /// over the template of [`Issuer::set_claims`] at the time of minting. Two runs at
    /// once (two processes) each get their own token and claims; [`Issuer::request_token`]
    /// keeps minting with the template alone.
    pub fn request_token_for(&self, claims: Value) -> String {
        let token = random_token();
        self.lock().profiles.insert(token.clone(), claims);
        token
    }

    /// Merges `claims` (an object) into the claims of minted tokens; a `null` value
    /// removes a claim. iss, aud, iat, nbf, exp and jti are set by `mint` itself.
    pub fn set_claims(&self, claims: Value) {
        merge(&mut self.lock().claims, &claims);
    }

    /// The kid of the key that signs now.
    pub fn current_kid(&self) -> String {
        let s = self.lock();
        s.keys.last().map(|k| k.kid.clone()).unwrap_or_default()
    }

    /// The SPKI PEM of the current signing key's public half.
    pub fn public_key_pem(&self) -> String {
        let s = self.lock();
        s.keys
            .last()
            .map(|k| k.public_pem.clone())
            .unwrap_or_default()
    }

    /// Brings in the next test key as the signer, keeping the old ones published.
    pub fn rotate(&self) {
        let mut s = self.lock();
        let key = Key::load(s.next_key);
        s.next_key += 1;
        s.keys.retain(|k| k.kid != key.kid);
        s.keys.push(key);
    }

    /// Brings in the next test key as the signer and stops publishing the old ones.
    pub fn rotate_dropping_old(&self) {
        let mut s = self.lock();
        let key = Key::load(s.next_key);
        s.next_key += 1;
        s.keys = vec![key];
    }

    /// The published JWKS document.
    pub fn jwks(&self) -> Value {
        let s = self.lock();
        json!({"keys": s.keys.iter().map(Key::jwk).collect::<Vec<_>>()})
    }

    /// The discovery document.
    pub fn openid_configuration(&self) -> Value {
        let base = self.base_url();
        json!({
            "issuer": base,
            "jwks_uri": format!("{base}/.well-known/jwks"),
            "subject_types_supported": ["public", "pairwise"],
            "response_types_supported": ["id_token"],
            "claims_supported": [
                "sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "sha", "repository",
                "repository_id", "repository_owner", "repository_owner_id", "enterprise",
                "enterprise_id", "run_id", "run_number", "run_attempt", "actor", "actor_id",
                "workflow", "workflow_ref", "workflow_sha", "head_ref", "base_ref", "event_name",
                "ref_type", "ref_protected", "environment", "environment_node_id",
                "job_workflow_ref", "job_workflow_sha", "repository_visibility",
                "runner_environment", "issuer_scope"
            ],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid"]
        })
    }

    /// A valid token for `audience`, signed by the current key, issued now.
    pub fn mint(&self, audience: &str) -> String {
        self.mint_with(json!({}), json!({"aud": audience}))
    }

    /// A token built from the default header (`alg` RS256, `typ` JWT, `kid` and `x5t`
    /// of the current key) and claims (the template plus iss, aud `jitaa`, iat = now,
    /// nbf = iat − 600, exp = iat + 300, a fresh jti), with `header` and `claims`
    /// merged over them (a `null` removes a field). The merged `alg` decides the
    /// signature: `RS256` signs with the current key; `HS256` is an HMAC keyed with the
    /// current public key's PEM bytes (the key-confusion attack); anything else (e.g.
    /// `none`) gets an empty signature.
    pub fn mint_with(&self, header: Value, claims: Value) -> String {
        self.mint_over(None, header, claims)
    }

    /// [`Issuer::mint_with`] with a run's claims (`run`) merged over the template first.
    fn mint_over(&self, run: Option<&Value>, header: Value, claims: Value) -> String {
        let (key, mut body) = {
            let s = self.lock();
            let Some(key) = s.keys.last().cloned() else {
                return String::new();
            };
            let mut body = s.claims.clone();
            let now = chrono::Utc::now().timestamp();
            body.insert("iss".into(), json!(s.base_url));
            body.insert("aud".into(), json!("jitaa"));
            body.insert("iat".into(), json!(now));
            body.insert("nbf".into(), json!(now - NBF_SKEW_SECS));
            body.insert("exp".into(), json!(now + TOKEN_LIFETIME_SECS));
            body.insert("jti".into(), json!(ulid_like()));
            if let Some(run) = run {
                merge(&mut body, run);
            }
            (key, body)
        };
        merge(&mut body, &claims);
        let mut head = Map::new();
        head.insert("alg".into(), json!("RS256"));
        head.insert("typ".into(), json!("JWT"));
        head.insert("kid".into(), json!(key.kid));
        head.insert("x5t".into(), json!(key.kid));
        merge(&mut head, &header);
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(Value::Object(head.clone()).to_string()),
            URL_SAFE_NO_PAD.encode(Value::Object(body).to_string())
        );
        let signature = match head.get("alg").and_then(Value::as_str) {
            Some("RS256") => jsonwebtoken::crypto::sign(
                message.as_bytes(),
                &EncodingKey::from_rsa_der(&key.private_der),
                Algorithm::RS256,
            )
            .unwrap_or_default(),
            Some("HS256") => jsonwebtoken::crypto::sign(
                message.as_bytes(),
                &EncodingKey::from_secret(key.public_pem.as_bytes()),
                Algorithm::HS256,
            )
            .unwrap_or_default(),
            _ => String::new(),
        };
        format!("{message}.{signature}")
    }

    /// Makes the next `n` token requests fail with HTTP `status` (e.g. 503), to test retries.
    pub fn fail_next_token_requests(&self, n: usize, status: u16) {
        self.lock().fail_token_requests = (n, status);
    }

    /// How many times the discovery document was served.
    pub fn discovery_fetches(&self) -> usize {
        self.counters.discovery.load(Ordering::SeqCst)
    }

    /// How many times the JWKS was served.
    pub fn jwks_fetches(&self) -> usize {
        self.counters.jwks.load(Ordering::SeqCst)
    }

    /// How many requests reached the token endpoint (including refused ones).
    pub fn token_requests(&self) -> usize {
        self.counters.token.load(Ordering::SeqCst)
    }

    /// The issuer's routes, to be served at the issuer URL's root.
    pub fn router(&self) -> Router {
        let discovery = self.clone();
        let jwks = self.clone();
        let token = self.clone();
        Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || async move {
                    discovery.counters.discovery.fetch_add(1, Ordering::SeqCst);
                    Json(discovery.openid_configuration())
                }),
            )
            .route(
                "/.well-known/jwks",
                get(move || async move {
                    jwks.counters.jwks.fetch_add(1, Ordering::SeqCst);
                    Json(jwks.jwks())
                }),
            )
            .route(
                "/_actions/token",
                get(
                    move |headers: HeaderMap, Query(q): Query<HashMap<String, String>>| async move {
                        token.token_endpoint(&headers, &q)
                    },
                ),
            )
    }

    fn token_endpoint(&self, headers: &HeaderMap, query: &HashMap<String, String>) -> Response {
        self.counters.token.fetch_add(1, Ordering::SeqCst);
        {
            let mut s = self.lock();
            if s.fail_token_requests.0 > 0 {
                s.fail_token_requests.0 -= 1;
                let status = StatusCode::from_u16(s.fail_token_requests.1)
                    .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                return (status, Json(json!({"message": "injected failure"}))).into_response();
            }
        }
        let presented = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        // None: not a token of this issuer; Some(None): the shared one; Some(Some(c)): a run's.
        let run: Option<Option<Value>> = match presented {
            Some(t) if t == &*self.request_token => Some(None),
            Some(t) => self.lock().profiles.get(t).cloned().map(Some),
            None => None,
        };
        let Some(run) = run else {
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({"message": "Bad credentials"})),
            )
                .into_response();
        };
        // Actions' default audience is the owner's URL.
        let audience = match query.get("audience") {
            Some(a) if !a.is_empty() => a.clone(),
            _ => {
                let owner = run
                    .as_ref()
                    .and_then(|c| c.get("repository_owner"))
                    .filter(|o| !o.is_null())
                    .cloned()
                    .or_else(|| self.lock().claims.get("repository_owner").cloned());
                let owner = owner
                    .as_ref()
                    .and_then(Value::as_str)
                    .unwrap_or("octocat")
                    .to_string();
                format!("https://github.com/{owner}")
            }
        };
        let value = self.mint_over(run.as_ref(), json!({}), json!({"aud": audience}));
        Json(json!({"count": value.len(), "value": value})).into_response()
    }
}

/// 32 random bytes, hex: a runner request token.
fn random_token() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..32)
        .map(|_| format!("{:02x}", rng.r#gen::<u8>()))
        .collect()
}

fn ulid_like() -> String {
    use rand::Rng;
    let b: [u8; 16] = rand::thread_rng().r#gen();
    format!(
        "{}-{}-{}-{}-{}",
        hex(&b[0..4]),
        hex(&b[4..6]),
        hex(&b[6..8]),
        hex(&b[8..10]),
        hex(&b[10..16])
    )
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Serves a fresh issuer on 127.0.0.1 (a free port) and returns it with its URL (also
/// its `iss`). Inside a tokio runtime the server is spawned on it; otherwise it runs
/// on a thread of its own with its own runtime, for as long as the process lives.
/// (On a current-thread runtime the server only runs while the caller awaits: a test
/// that blocks, e.g. running the binary synchronously, should call this outside any
/// runtime or use a multi-thread runtime.)
pub fn serve_standalone() -> (Issuer, String) {
    let issuer = Issuer::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let url = format!("http://{addr}");
    issuer.set_base_url(&url);
    listener
        .set_nonblocking(true)
        .expect("nonblocking listener");
    let app = issuer.router();
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            handle.spawn(async move {
                if let Ok(l) = tokio::net::TcpListener::from_std(listener) {
                    let _ = axum::serve(l, app).await;
                }
            });
        }
        Err(_) => {
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("tokio runtime");
                rt.block_on(async move {
                    if let Ok(l) = tokio::net::TcpListener::from_std(listener) {
                        let _ = axum::serve(l, app).await;
                    }
                });
            });
        }
    }
    (issuer, url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(token: &str, i: usize) -> Value {
        let seg = token.split('.').nth(i).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(seg).unwrap()).unwrap()
    }

    #[test]
    fn minted_tokens_verify_against_the_published_key() {
        let issuer = Issuer::new();
        issuer.set_base_url("http://127.0.0.1:1/");
        let token = issuer.mint("jitaa:abc");
        let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(issuer.jwks()).unwrap();
        let jwk = jwks.find(&issuer.current_kid()).unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
        let mut v = jsonwebtoken::Validation::new(Algorithm::RS256);
        v.set_audience(&["jitaa:abc"]);
        v.set_issuer(&["http://127.0.0.1:1"]);
        let data = jsonwebtoken::decode::<Value>(&token, &key, &v).unwrap();
        let c = data.claims;
        assert_eq!(c["iat"].as_i64().unwrap() - c["nbf"].as_i64().unwrap(), 600);
        assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 300);
        for (k, v) in c.as_object().unwrap() {
            if !["exp", "iat", "nbf"].contains(&k.as_str()) {
                assert!(v.is_string(), "claim {k} should be a string");
            }
        }
    }

    #[test]
    fn rotation_publishes_a_new_kid_and_can_drop_the_old() {
        let issuer = Issuer::new();
        let first = issuer.current_kid();
        issuer.rotate();
        let second = issuer.current_kid();
        assert_ne!(first, second);
        assert_eq!(issuer.jwks()["keys"].as_array().unwrap().len(), 2);
        issuer.rotate_dropping_old();
        assert_eq!(issuer.jwks()["keys"].as_array().unwrap().len(), 1);
        assert_ne!(issuer.current_kid(), second);
    }

    #[test]
    fn overrides_reach_header_and_claims() {
        let issuer = Issuer::new();
        issuer.set_claims(json!({"sha": "abc", "environment": "production", "actor": null}));
        let t = issuer.mint_with(
            json!({"alg": "none", "kid": null}),
            json!({"aud": ["x", "y"]}),
        );
        assert!(t.ends_with('.'));
        assert_eq!(
            part(&t, 0),
            json!({"alg": "none", "typ": "JWT", "x5t": part(&t, 0)["x5t"]})
        );
        let c = part(&t, 1);
        assert_eq!(c["sha"], "abc");
        assert_eq!(c["environment"], "production");
        assert!(c.get("actor").is_none());
        assert_eq!(c["aud"], json!(["x", "y"]));
    }
}
