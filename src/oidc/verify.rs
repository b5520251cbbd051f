//! RS256 verification of an Actions ID token: the structure and header first (no key
//! needed), then the key (the issuer's JWKS, cached by kid; or an archived JWKS), the
//! signature through jsonwebtoken, and the claims with our own clock.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::fetch::get_bytes;
use super::{
    Context, DEFAULT_AUDIENCE, DEFAULT_ISSUER, DocumentError, EnvFn, LEEWAY_SECS, OidcError,
    check_url, process_env,
};

/// How far a record token's `iat` may lie from the record's time.
pub const RECORD_IAT_WINDOW_SECS: i64 = 600;
/// Tokens longer than this are refused unparsed (GitHub's are about 1.5 KB).
pub const MAX_TOKEN_LEN: usize = 16 * 1024;
/// An unknown kid refetches the JWKS at most this often.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// A token whose shape and header were checked; its signature and claims were not.
/// Its `Debug` shows the kid only: the token is a bearer credential.
#[derive(Clone)]
pub struct Unverified {
    token: String,
    /// The signing key's id from the header.
    pub kid: String,
}

impl std::fmt::Debug for Unverified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unverified")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn b64_json(segment: &str, what: &str) -> Result<Value, OidcError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| OidcError::Malformed(format!("the {what} is not base64url")))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| OidcError::Malformed(format!("the {what} is not JSON")))
}

/// Checks the shape (three base64url parts, JSON header and payload) and the header:
/// `alg` exactly RS256, no `crit`, a `kid`. Needs no key and no network.
pub fn parse_unverified(token: &str) -> Result<Unverified, OidcError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(OidcError::Malformed("it is empty".into()));
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(OidcError::Malformed(format!(
            "it is {} bytes long; GitHub's tokens are under {MAX_TOKEN_LEN}",
            token.len()
        )));
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(OidcError::Malformed(format!(
            "a JWT has 3 dot-separated parts, this has {}",
            parts.len()
        )));
    }
    let Value::Object(header) = b64_json(parts[0], "header")? else {
        return Err(OidcError::Malformed(
            "the header is not a JSON object".into(),
        ));
    };
    match header.get("alg") {
        Some(Value::String(alg)) if alg == "RS256" => {}
        Some(Value::String(alg)) => return Err(OidcError::Algorithm(format!("`{alg}`"))),
        Some(_) => return Err(OidcError::Algorithm("not a string".into())),
        None => return Err(OidcError::Algorithm("missing".into())),
    }
    if header.contains_key("crit") {
        return Err(OidcError::Malformed(
            "the header has `crit`; jitaa understands no JWS extensions".into(),
        ));
    }
    let kid = match header.get("kid") {
        Some(Value::String(k)) if !k.is_empty() => k.clone(),
        _ => return Err(OidcError::MissingKid),
    };
    if !matches!(b64_json(parts[1], "payload")?, Value::Object(_)) {
        return Err(OidcError::Malformed(
            "the payload is not a JSON object".into(),
        ));
    }
    if parts[2].is_empty() {
        return Err(OidcError::Malformed("it has no signature".into()));
    }
    Ok(Unverified {
        token: token.to_string(),
        kid,
    })
}

/// Which time rules apply.
#[derive(Debug, Clone, Copy)]
pub enum TimeRule {
    /// A live token: exp, nbf, iat against `now` (Unix seconds), 60 s leeway.
    Live { now: i64 },
    /// A record's signature: exp ignored; iat within [`RECORD_IAT_WINDOW_SECS`] of the
    /// record's time; nbf not after it (60 s leeway).
    Record { record_time: i64 },
}

fn check_key(kid: &str, jwk: &Jwk) -> Result<DecodingKey, OidcError> {
    let mismatch = |reason: String| OidcError::KeyMismatch {
        kid: kid.to_string(),
        reason,
    };
    if !matches!(jwk.algorithm, AlgorithmParameters::RSA(_)) {
        return Err(mismatch("it is not an RSA key".into()));
    }
    if let Some(alg) = jwk.common.key_algorithm
        && alg != KeyAlgorithm::RS256
    {
        return Err(mismatch(format!("it declares alg {alg:?}, not RS256")));
    }
    if let Some(u) = &jwk.common.public_key_use
        && *u != PublicKeyUse::Signature
    {
        return Err(mismatch(format!("its use is {u:?}, not sig")));
    }
    DecodingKey::from_jwk(jwk).map_err(|e| mismatch(format!("its n/e do not decode ({e})")))
}

fn int_claim(claims: &Map<String, Value>, name: &str) -> Result<i64, OidcError> {
    match claims.get(name) {
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| OidcError::claim(name, "is not a whole number of seconds")),
        Some(_) => Err(OidcError::claim(name, "is not a number")),
        None => Err(OidcError::claim(name, "is missing")),
    }
}

/// Verifies `u` with `jwk`: key fit, RS256 signature, then `iss`, `aud`, times and
/// the claims' types. The only place a token becomes a [`Context`].
pub fn check_token(
    u: &Unverified,
    jwk: &Jwk,
    issuer: &str,
    audience: &str,
    time: TimeRule,
) -> Result<Context, OidcError> {
    let key = check_key(&u.kid, jwk)?;
    let mut validation = Validation::new(Algorithm::RS256);
    // Signature only: the claims are checked below, with our clock and our messages.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims = HashSet::new();
    let data = jsonwebtoken::decode::<Map<String, Value>>(&u.token, &key, &validation).map_err(
        |e| match e.kind() {
            ErrorKind::InvalidSignature => OidcError::Signature { kid: u.kid.clone() },
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                OidcError::Algorithm("not RS256".into())
            }
            _ => OidcError::Malformed(format!("{e}")),
        },
    )?;
    let claims = data.claims;

    match claims.get("iss") {
        Some(Value::String(iss)) if iss == issuer => {}
        other => {
            return Err(OidcError::Issuer {
                expected: issuer.to_string(),
                found: other.map_or("(none)".into(), |v| match v {
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                }),
            });
        }
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    };
    if !aud_ok {
        return Err(OidcError::Audience {
            expected: audience.to_string(),
            found: claims
                .get("aud")
                .map_or("missing".into(), std::string::ToString::to_string),
        });
    }
    let exp = int_claim(&claims, "exp")?;
    let iat = int_claim(&claims, "iat")?;
    let nbf = int_claim(&claims, "nbf")?;
    match time {
        TimeRule::Live { now } => {
            if exp.saturating_add(LEEWAY_SECS) < now {
                return Err(OidcError::Expired { exp, now });
            }
            if nbf > now.saturating_add(LEEWAY_SECS) {
                return Err(OidcError::NotYetValid { nbf, now });
            }
            if iat > now.saturating_add(LEEWAY_SECS) {
                return Err(OidcError::IssuedInFuture { iat, now });
            }
        }
        TimeRule::Record { record_time } => {
            if iat.saturating_sub(record_time).saturating_abs() > RECORD_IAT_WINDOW_SECS {
                return Err(OidcError::RecordTime {
                    iat,
                    record_time,
                    window: RECORD_IAT_WINDOW_SECS,
                });
            }
            if nbf > record_time.saturating_add(LEEWAY_SECS) {
                return Err(OidcError::NotYetValid {
                    nbf,
                    now: record_time,
                });
            }
        }
    }
    Context::from_claims(&claims)
}

/// Verifies a record's `github-oidc` signature with an ARCHIVED JWKS, no network:
/// RS256 by the key named by kid in `jwks`, `iss` = `issuer`, `aud` contains
/// `expected_audience` (`jitaa:` + the record's digest), `iat` within
/// [`RECORD_IAT_WINDOW_SECS`] of `record_time`; `exp` is ignored (records outlive tokens).
pub fn verify_record_token(
    token: &str,
    jwks: &JwkSet,
    issuer: &str,
    expected_audience: &str,
    record_time: chrono::DateTime<chrono::Utc>,
) -> Result<Context, OidcError> {
    let u = parse_unverified(token)?;
    let jwk = jwks.find(&u.kid).ok_or_else(|| OidcError::UnknownKid {
        kid: u.kid.clone(),
        detail: "not in the archived JWKS".into(),
    })?;
    verify_record_token_with(token, jwk, issuer, expected_audience, record_time)
}

/// [`verify_record_token`] with the key already chosen (`audit verify` picks it by kid
/// and decides whether it is trusted).
pub fn verify_record_token_with(
    token: &str,
    jwk: &Jwk,
    issuer: &str,
    expected_audience: &str,
    record_time: chrono::DateTime<chrono::Utc>,
) -> Result<Context, OidcError> {
    let u = parse_unverified(token)?;
    check_token(
        &u,
        jwk,
        issuer,
        expected_audience,
        TimeRule::Record {
            record_time: record_time.timestamp(),
        },
    )
}

/// Whether two JWKs are the same RSA public key: same modulus and exponent, as
/// integers (leading zero bytes and base64 padding do not matter). Any other key
/// type is never "the same".
pub fn same_key(a: &Jwk, b: &Jwk) -> bool {
    fn int(b64: &str) -> Option<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD.decode(b64.trim_end_matches('=')).ok()?;
        let first = bytes.iter().position(|&x| x != 0).unwrap_or(bytes.len());
        Some(bytes[first..].to_vec())
    }
    match (&a.algorithm, &b.algorithm) {
        (AlgorithmParameters::RSA(x), AlgorithmParameters::RSA(y)) => {
            let (Some(xn), Some(yn), Some(xe), Some(ye)) =
                (int(&x.n), int(&y.n), int(&x.e), int(&y.e))
            else {
                return false;
            };
            !xn.is_empty() && xn == yn && xe == ye
        }
        _ => false,
    }
}

#[derive(Default)]
struct KeyCache {
    jwks: Option<JwkSet>,
    last_refetch: Option<Instant>,
}

/// Verifies live tokens against an issuer: discovery → jwks_uri → keys cached by kid;
/// an unknown kid refetches at most once per [`REFETCH_INTERVAL`].
pub struct Verifier {
    issuer: String,
    audience: String,
    refetch_interval: Duration,
    client: reqwest::Client,
    cache: tokio::sync::Mutex<KeyCache>,
}

impl Verifier {
    /// A verifier for `issuer` (https, or http on a loopback host; a trailing `/` is
    /// dropped) expecting `audience`.
    pub fn new(issuer: &str, audience: &str) -> Result<Verifier, OidcError> {
        let issuer = issuer.trim().trim_end_matches('/');
        check_url(issuer, "JITAA_OIDC_ISSUER")?;
        if audience.trim().is_empty() {
            return Err(OidcError::Config {
                var: "JITAA_OIDC_AUDIENCE".into(),
                reason: "the audience is empty".into(),
            });
        }
        Ok(Verifier {
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            refetch_interval: REFETCH_INTERVAL,
            client: super::http_client()?,
            cache: tokio::sync::Mutex::new(KeyCache::default()),
        })
    }

    /// From `JITAA_OIDC_ISSUER` (default GitHub.com's) and `JITAA_OIDC_AUDIENCE`
    /// (default `jitaa`). An invalid value is exit 2.
    pub fn from_env() -> Result<Verifier, OidcError> {
        Self::from_env_with(&process_env)
    }

    /// [`Verifier::from_env`] over any environment.
    pub fn from_env_with(env: EnvFn) -> Result<Verifier, OidcError> {
        let issuer = env("JITAA_OIDC_ISSUER").unwrap_or_else(|| DEFAULT_ISSUER.into());
        let audience = env("JITAA_OIDC_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.into());
        Verifier::new(&issuer, &audience)
    }

    /// The same verifier expecting another audience (e.g. `jitaa:` + a digest).
    pub fn with_audience(mut self, audience: &str) -> Verifier {
        self.audience = audience.to_string();
        self
    }

    /// Changes how often an unknown kid may refetch the JWKS (tests).
    pub fn with_refetch_interval(mut self, interval: Duration) -> Verifier {
        self.refetch_interval = interval;
        self
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Verifies a live token now.
    pub async fn verify(&self, token: &str) -> Result<Context, OidcError> {
        self.verify_at(token, chrono::Utc::now().timestamp()).await
    }

    /// Verifies a live token at `now` (Unix seconds).
    pub async fn verify_at(&self, token: &str, now: i64) -> Result<Context, OidcError> {
        let u = parse_unverified(token)?;
        let jwk = self.key_for(&u.kid).await?;
        check_token(
            &u,
            &jwk,
            &self.issuer,
            &self.audience,
            TimeRule::Live { now },
        )
    }

    /// The issuer's keys: those fetched so far, else fetched now (discovery, then
    /// `jwks_uri`, https only except loopback). `audit verify` asks once per run.
    pub async fn jwks(&self) -> Result<JwkSet, OidcError> {
        let mut cache = self.cache.lock().await;
        if let Some(set) = &cache.jwks {
            return Ok(set.clone());
        }
        let (set, _) = self.fetch_jwks().await?;
        cache.jwks = Some(set.clone());
        Ok(set)
    }

    /// The keys fetched so far (to archive beside records), if any were.
    pub async fn jwks_snapshot(&self) -> Option<JwkSet> {
        self.cache.lock().await.jwks.clone()
    }

    async fn key_for(&self, kid: &str) -> Result<Jwk, OidcError> {
        let mut cache = self.cache.lock().await;
        if let Some(set) = &cache.jwks {
            if let Some(k) = set.find(kid) {
                return Ok(k.clone());
            }
            if let Some(t) = cache.last_refetch
                && t.elapsed() < self.refetch_interval
            {
                return Err(OidcError::UnknownKid {
                    kid: kid.to_string(),
                    detail: format!(
                        "the JWKS was refetched {} s ago; an unknown kid refetches at most once every {} s",
                        t.elapsed().as_secs(),
                        self.refetch_interval.as_secs()
                    ),
                });
            }
            cache.last_refetch = Some(Instant::now());
        }
        let (set, uri) = self.fetch_jwks().await?;
        let found = set.find(kid).cloned();
        cache.jwks = Some(set);
        found.ok_or_else(|| OidcError::UnknownKid {
            kid: kid.to_string(),
            detail: format!("not in the JWKS just fetched from {uri}"),
        })
    }

    async fn fetch_jwks(&self) -> Result<(JwkSet, String), OidcError> {
        let discovery_url = format!("{}/.well-known/openid-configuration", self.issuer);
        let doc_err = |source: DocumentError| OidcError::IssuerDocument {
            what: format!("discovery document {discovery_url}"),
            source,
        };
        let body = get_bytes(&self.client, &discovery_url, None, 2).await?;
        let doc: Value =
            serde_json::from_slice(&body).map_err(|e| doc_err(DocumentError::NotJson(e)))?;
        if doc.get("issuer").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(doc_err(DocumentError::WrongIssuer {
                found: doc
                    .get("issuer")
                    .map_or("missing".into(), std::string::ToString::to_string),
                expected: self.issuer.clone(),
            }));
        }
        let jwks_uri = doc
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| doc_err(DocumentError::NoJwksUri))?;
        check_url(jwks_uri, "jwks_uri")
            .map_err(|e| doc_err(DocumentError::JwksUri(Box::new(e))))?;
        let body = get_bytes(&self.client, jwks_uri, None, 2).await?;
        let set = parse_jwks(&body).map_err(|source| OidcError::IssuerDocument {
            what: format!("JWKS {jwks_uri}"),
            source,
        })?;
        tracing::debug!(
            keys = set.keys.len(),
            uri = jwks_uri,
            "fetched the OIDC JWKS"
        );
        Ok((set, jwks_uri.to_string()))
    }
}

/// Parses a JWKS, skipping keys jsonwebtoken cannot represent (they can verify nothing).
pub fn parse_jwks(body: &[u8]) -> Result<JwkSet, DocumentError> {
    let doc: Value = serde_json::from_slice(body).map_err(DocumentError::NotJson)?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or(DocumentError::NoKeys)?;
    Ok(JwkSet {
        keys: keys
            .iter()
            .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_jwks_snapshot_parses_and_every_key_fits_rs256() {
        let set = parse_jwks(include_bytes!(
            "../../tests/data/oidc/jwks.github-snapshot.json"
        ))
        .unwrap();
        assert_eq!(set.keys.len(), 4);
        for k in &set.keys {
            let kid = k.common.key_id.clone().unwrap();
            assert!(check_key(&kid, k).is_ok(), "{kid}");
        }
        assert!(set.find("38826b17-6a30-5f9b-b169-8beb8202f723").is_some());
    }

    #[test]
    fn same_key_compares_the_rsa_numbers_not_the_text() {
        let set = parse_jwks(include_bytes!(
            "../../tests/data/oidc/jwks.github-snapshot.json"
        ))
        .unwrap();
        let (a, b) = (&set.keys[0], &set.keys[1]);
        assert!(same_key(a, a));
        assert!(!same_key(a, b));
        // A leading zero byte and base64 padding leave the number as it is.
        let mut padded = a.clone();
        if let AlgorithmParameters::RSA(p) = &mut padded.algorithm {
            let mut n = vec![0u8];
            n.extend(URL_SAFE_NO_PAD.decode(&p.n).unwrap());
            p.n = base64::engine::general_purpose::URL_SAFE.encode(n);
        }
        assert!(same_key(a, &padded));
        // Another kid with the same numbers is the same key; other numbers are not.
        let mut other = a.clone();
        other.common.key_id = Some("x".into());
        assert!(same_key(a, &other));
        if let AlgorithmParameters::RSA(p) = &mut other.algorithm {
            p.e = "AQAA".into();
        }
        assert!(!same_key(a, &other));
        let oct: Jwk = serde_json::from_str(r#"{"kty":"oct","k":"AQAB"}"#).unwrap();
        assert!(!same_key(&oct, &oct));
    }

    #[test]
    fn header_rules() {
        let enc = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let body = enc(serde_json::json!({"iss": "x"}));
        let tok = |h: Value| format!("{}.{body}.c2ln", enc(h));
        let cases = [
            (
                serde_json::json!({"alg": "none", "kid": "k"}),
                "alg is `none`",
            ),
            (
                serde_json::json!({"alg": "HS256", "kid": "k"}),
                "alg is `HS256`",
            ),
            (
                serde_json::json!({"alg": "RS512", "kid": "k"}),
                "alg is `RS512`",
            ),
            (serde_json::json!({"kid": "k"}), "alg is missing"),
            (serde_json::json!({"alg": "RS256"}), "no kid"),
            (
                serde_json::json!({"alg": "RS256", "kid": "k", "crit": ["b64"]}),
                "crit",
            ),
        ];
        for (h, want) in cases {
            let e = parse_unverified(&tok(h.clone())).unwrap_err();
            assert!(e.to_string().contains(want), "{h}: {e}");
            assert_eq!(e.code(), crate::exit::Code::Integrity);
        }
        assert!(parse_unverified(&tok(serde_json::json!({"alg": "RS256", "kid": "k"}))).is_ok());
        assert!(parse_unverified("a.b").is_err());
        assert!(parse_unverified(&"a".repeat(MAX_TOKEN_LEN + 1)).is_err());
    }

    #[test]
    fn keys_that_declare_another_alg_or_kind_are_refused() {
        let set = parse_jwks(include_bytes!(
            "../../tests/data/oidc/jwks.github-snapshot.json"
        ))
        .unwrap();
        let mut k = set.keys[0].clone();
        k.common.key_algorithm = Some(KeyAlgorithm::RS512);
        assert!(
            check_key("k", &k)
                .unwrap_err()
                .to_string()
                .contains("RS512")
        );
        let mut k = set.keys[0].clone();
        k.common.public_key_use = Some(PublicKeyUse::Encryption);
        assert!(check_key("k", &k).is_err());
        let oct: Jwk =
            serde_json::from_value(serde_json::json!({"kty": "oct", "k": "c2VjcmV0", "kid": "k"}))
                .unwrap();
        assert!(
            check_key("k", &oct)
                .unwrap_err()
                .to_string()
                .contains("not an RSA key")
        );
    }

    #[test]
    fn issuer_urls_must_be_https_or_loopback() {
        for ok in [
            "https://token.actions.githubusercontent.com",
            "https://token.actions.githubusercontent.com/acme-slug",
            "https://ghes.example.com/_services/token",
            "http://127.0.0.1:8080",
            "http://127.8.9.1",
            "http://localhost:3000",
            "http://[::1]:9",
        ] {
            assert!(Verifier::new(ok, "jitaa").is_ok(), "{ok}");
        }
        for bad in [
            "http://token.actions.githubusercontent.com",
            "http://10.0.0.1",
            "http://localhost.evil.com",
            "ftp://127.0.0.1",
            "not a url",
        ] {
            let e = Verifier::new(bad, "jitaa").err().unwrap();
            assert_eq!(e.code(), crate::exit::Code::Usage, "{bad}");
            assert!(e.to_string().starts_with("JITAA_OIDC_ISSUER"), "{e}");
        }
    }
}
