//! The typed errors of the OIDC module: fetching a token, the issuer's documents, and
//! verification. `crate::commands::codes` (the command layer) says which exit code each one ends with.

use std::sync::Arc;

/// Why a token was refused, could not be fetched, or could not be checked. Every
/// variant fails closed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// Not a compact JWS: wrong shape, bad base64, bad JSON, too long.
    #[error("the OIDC token is malformed: {0}")]
    Malformed(String),
    /// The header's `alg` is not RS256 (`none`, HS*, ES*, ...).
    #[error("the OIDC token's alg is {0}; jitaa accepts RS256 only")]
    Algorithm(String),
    /// The header names no `kid`.
    #[error("the OIDC token's header has no kid; GitHub always names its signing key")]
    MissingKid,
    /// The header's `kid` is not in the issuer's JWKS.
    #[error("the OIDC token's kid `{kid}` is not among the issuer's keys ({detail})")]
    UnknownKid { kid: String, detail: String },
    /// The key exists but may not verify this token (not RSA, another alg, not `use: sig`).
    #[error("the key `{kid}` may not verify this token: {reason}")]
    KeyMismatch { kid: String, reason: String },
    /// The RSA signature does not verify.
    #[error("the OIDC token's signature does not verify against key `{kid}`")]
    Signature { kid: String },
    /// A required claim is absent or of the wrong JSON type.
    #[error("the OIDC token's claim `{claim}` {reason}")]
    Claim { claim: String, reason: String },
    #[error("the OIDC token was issued by `{found}`, expected `{expected}` (JITAA_OIDC_ISSUER)")]
    Issuer { expected: String, found: String },
    #[error(
        "the OIDC token's audience is {found}, expected it to contain `{expected}` (JITAA_OIDC_AUDIENCE)"
    )]
    Audience { expected: String, found: String },
    #[error("the OIDC token expired at {exp} (now {now}, leeway 60 s)")]
    Expired { exp: i64, now: i64 },
    #[error("the OIDC token is not valid before {nbf} (now {now}, leeway 60 s)")]
    NotYetValid { nbf: i64, now: i64 },
    #[error("the OIDC token's iat {iat} is in the future (now {now}, leeway 60 s)")]
    IssuedInFuture { iat: i64, now: i64 },
    /// For record signatures: the token was not issued when the record was written.
    #[error(
        "the record's OIDC token was issued at {iat}, more than {window} s from the record time {record_time}"
    )]
    RecordTime {
        iat: i64,
        record_time: i64,
        window: i64,
    },
    /// The environment of the run contradicts the token.
    #[error("{var}={env_value} but the OIDC token says {claim}={claim_value}")]
    Mismatch {
        var: String,
        env_value: String,
        claim: String,
        claim_value: String,
    },
    /// The issuer's discovery document or JWKS is unusable (wrong issuer, not https, bad JSON).
    #[error("the OIDC issuer's {what} is unusable")]
    IssuerDocument {
        what: String,
        #[source]
        source: DocumentError,
    },
    /// A configuration variable or flag is invalid.
    #[error("{var}: {reason}")]
    Config { var: String, reason: String },
    /// The job may not ask for a token: the runner's variables are not set.
    #[error(
        "cannot request an OIDC token: ACTIONS_ID_TOKEN_REQUEST_URL and \
ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set. In GitHub Actions the job needs the id-token \
permission; add to the workflow or job:\n\n{}\n\n\
(Outside Actions, pass a token: `jitaa oidc verify TOKEN` or `-` for stdin; or set \
`oidc: optional` in the policy.)",
        super::PERMISSIONS_HINT
    )]
    NoTokenPermission,
    /// The issuer or the token endpoint could not be reached; `source` is the last
    /// transport error, when there was one (an HTTP status is in `reason`).
    #[error("could not reach {url}: {reason}")]
    Unreachable {
        url: String,
        reason: String,
        #[source]
        source: Option<reqwest::Error>,
    },
    /// The runner's token endpoint answered, but not with a token.
    #[error("the runner's token endpoint answered without a token (`value`)")]
    NoToken,
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client")]
    HttpClient(#[source] reqwest::Error),
    /// A synchronous caller could not wait on the process's runtime.
    #[error("waiting on the OIDC request")]
    Runtime(#[source] crate::runtime::RuntimeError),
    /// `audit verify` needed the issuer's live JWKS and could not read it.
    #[error(
        "the issuer's JWKS ({issuer}) could not be read; pass --jwks FILE (the issuer's JWKS document, kept from a trusted source) to verify offline"
    )]
    JwksUnavailable {
        issuer: String,
        #[source]
        source: Arc<OidcError>,
    },
}

/// What is wrong with an issuer's discovery document or JWKS (or a `--jwks` file).
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("not JSON")]
    NotJson(#[source] serde_json::Error),
    #[error("its issuer is {found}, expected `{expected}`")]
    WrongIssuer { found: String, expected: String },
    #[error("it has no jwks_uri")]
    NoJwksUri,
    /// `jwks_uri` is not an https URL (loopback hosts excepted).
    #[error(transparent)]
    JwksUri(Box<OidcError>),
    #[error("it has no `keys` array")]
    NoKeys,
}

impl OidcError {
    pub(crate) fn claim(claim: &str, reason: impl Into<String>) -> OidcError {
        OidcError::Claim {
            claim: claim.to_string(),
            reason: reason.into(),
        }
    }
}
