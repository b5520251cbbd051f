//! The audit record: its payload (DESIGN.md "Audit branch and record format"), the
//! RFC 8785 (JCS) bytes that are hashed and signed, and the `sha256:` digest.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::AuditError;

/// The payload format version. A new payload field changes digests: bump it.
pub const VERSION: u32 = 1;

/// The `prev` of the first record: `sha256:` and 64 zeros.
pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Request,
    Decision,
    Push,
    Violation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approved,
    Denied,
    Expired,
    Cancelled,
    Auto,
}

/// Where the record's `context` came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContextSource {
    /// Verified GitHub Actions OIDC claims.
    Oidc,
    /// Actions environment variables (policy `oidc: optional` without an id-token).
    Env,
    /// The pusher's git identity (the pre-push hook).
    Git,
}

macro_rules! display_lowercase {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let v = serde_json::to_value(self).map_err(|_| fmt::Error)?;
                f.write_str(v.as_str().unwrap_or_default())
            }
        }
    };
}
display_lowercase!(Kind);
display_lowercase!(Decision);
display_lowercase!(ContextSource);

/// A word that is not a [`Decision`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a decision (approved, denied, expired, cancelled, auto)")]
pub struct UnknownDecision(pub String);

impl std::str::FromStr for Decision {
    type Err = UnknownDecision;
    fn from_str(s: &str) -> Result<Self, UnknownDecision> {
        serde_json::from_value(Value::String(s.to_ascii_lowercase()))
            .map_err(|_| UnknownDecision(s.to_string()))
    }
}

/// What the record is about: a commit, and the ref and/or environment it goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Subject {
    pub sha: String,
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

/// A GitHub user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Actor {
    pub login: String,
    pub id: u64,
}

/// One counted approval: who, how (`comment`, `review`, ...), where and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub login: String,
    pub id: u64,
    pub via: String,
    pub url: String,
    pub at: String,
}

/// The policy rule that decided, and the digest of the policy file it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRef {
    pub name: String,
    pub approvals: u32,
    pub policy_digest: String,
}

/// The signed part of a record. Field order is irrelevant: digests are over JCS bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    pub v: u32,
    pub id: String,
    pub prev: String,
    pub time: String,
    pub kind: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    pub repository: String,
    pub subject: Subject,
    pub requester: Actor,
    #[serde(default)]
    pub approvals: Vec<Approval>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub context: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_source: Option<ContextSource>,
    /// Why: the denier's reason, or what a violation was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A signature on a record, as stored. Unknown types are kept so verification can
/// name them (and fail) instead of dropping them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    Ssh { principal: String, sig: String },
    GithubOidc { token: String },
    Unknown(Value),
}

impl Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = match self {
            Signature::Ssh { principal, sig } => {
                serde_json::json!({"type": "ssh", "principal": principal, "sig": sig})
            }
            Signature::GithubOidc { token } => {
                serde_json::json!({"type": "github-oidc", "token": token})
            }
            Signature::Unknown(v) => v.clone(),
        };
        v.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        Ok(match v.get("type").and_then(Value::as_str) {
            Some("ssh") => match (field("principal"), field("sig")) {
                (Some(principal), Some(sig)) => Signature::Ssh { principal, sig },
                _ => Signature::Unknown(v),
            },
            Some("github-oidc") => match field("token") {
                Some(token) => Signature::GithubOidc { token },
                None => Signature::Unknown(v),
            },
            _ => Signature::Unknown(v),
        })
    }
}

/// A whole record file: payload, its digest, and signatures over it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub payload: Payload,
    pub digest: String,
    #[serde(default)]
    pub signatures: Vec<Signature>,
}

impl Record {
    /// The file's bytes: pretty JSON with a trailing newline.
    pub fn to_file_bytes(&self) -> Result<Vec<u8>, AuditError> {
        let mut out = serde_json::to_vec_pretty(self).map_err(|source| AuditError::Encode {
            what: "record",
            source,
        })?;
        out.push(b'\n');
        Ok(out)
    }

    /// The record's path on the branch in the layout jitaa writes:
    /// `records/YYYY/MM/DD/<bucket>/<id>.json` (UTC date of `time`).
    pub fn path(&self) -> Result<String, AuditError> {
        record_path(&self.payload.time, &self.payload.id)
    }
}

/// Where record files live on the branch (DESIGN.md "Audit branch and record format").
/// A branch may switch from `Flat` to `Bucketed` at one commit, never back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layout {
    /// `records/YYYY/MM/DD/<id>.json`: branches written before the bucket level. jitaa
    /// reads it everywhere and writes it only when asked ([`crate::audit::Store::with_layout`],
    /// for tests and benchmarks that reproduce such a branch).
    Flat,
    /// `records/YYYY/MM/DD/<bucket>/<id>.json`, the bucket being the last two characters
    /// of the id, so no tree grows past about a thousand entries however many records a
    /// day brings. What jitaa writes.
    Bucketed,
}

impl Layout {
    /// The bucket of an id: its last two characters (the whole id when shorter).
    pub fn bucket(id: &str) -> &str {
        let cut = id.char_indices().rev().nth(1).map_or(0, |(i, _)| i);
        &id[cut..]
    }

    /// The path of record `id` written at `t` (its UTC date picks the folder).
    pub fn path_at(self, t: chrono::DateTime<chrono::Utc>, id: &str) -> String {
        use chrono::Datelike;
        let (y, m, d) = (t.year(), t.month(), t.day());
        match self {
            Layout::Flat => format!("records/{y:04}/{m:02}/{d:02}/{id}.json"),
            Layout::Bucketed => {
                format!(
                    "records/{y:04}/{m:02}/{d:02}/{}/{id}.json",
                    Layout::bucket(id)
                )
            }
        }
    }

    /// The path of record `id` with time `time` (RFC 3339).
    pub fn path(self, time: &str, id: &str) -> Result<String, AuditError> {
        let t = parse_time(time).map_err(AuditError::RecordTime)?;
        Ok(self.path_at(t, id))
    }

    /// The layout of a record path (`records/...`, as [`crate::audit::chain::is_record_path`]
    /// accepts it), by its depth.
    pub fn of(path: &str) -> Option<Layout> {
        match path.split('/').count() {
            5 => Some(Layout::Flat),
            6 => Some(Layout::Bucketed),
            _ => None,
        }
    }
}

/// `records/YYYY/MM/DD/<bucket>/<id>.json` for a record time (RFC 3339) and id: the
/// layout jitaa writes.
pub fn record_path(time: &str, id: &str) -> Result<String, AuditError> {
    Layout::Bucketed.path(time, id)
}

/// A time that is not RFC 3339.
#[derive(Debug, thiserror::Error)]
#[error("`{text}` is not an RFC 3339 time")]
pub struct TimeError {
    pub text: String,
    #[source]
    pub source: chrono::ParseError,
}

/// Parses an RFC 3339 time into UTC.
pub fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>, TimeError> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|source| TimeError {
            text: s.to_string(),
            source,
        })
}

/// Formats a time as DESIGN.md does: `2026-11-25T12:00:00Z`.
pub fn format_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The RFC 8785 (JCS) bytes of any JSON-serialisable value.
pub fn jcs<T: Serialize>(value: &T) -> Result<Vec<u8>, AuditError> {
    serde_json_canonicalizer::to_vec(value).map_err(AuditError::Canonical)
}

/// `sha256:` + lowercase hex SHA-256 of `bytes`.
pub fn digest_of(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(71);
    digest_into(bytes, &mut out);
    out
}

/// [`digest_of`] into `out` (cleared first), returning the raw SHA-256 as well, so a
/// caller hashing many records reuses one buffer.
pub fn digest_into(bytes: &[u8], out: &mut String) -> [u8; 32] {
    let raw: [u8; 32] = Sha256::digest(bytes).into();
    out.clear();
    out.push_str("sha256:");
    out.push_str(&hex::encode(raw));
    raw
}

/// True for `sha256:` followed by 64 lowercase hex digits.
pub fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// What the gate and the hook fill in; `prev`, `id`, `v` and the digest are the store's.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub time: chrono::DateTime<chrono::Utc>,
    pub kind: Kind,
    pub decision: Option<Decision>,
    pub repository: String,
    pub subject: Subject,
    pub requester: Actor,
    pub approvals: Vec<Approval>,
    pub rule: Option<RuleRef>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub context: Value,
    pub context_source: Option<ContextSource>,
    pub reason: Option<String>,
    /// GitHub's JWKS (the JSON document) that verified the OIDC token in `context`:
    /// its keys are archived under `jwks/<kid>.json` when first seen.
    pub jwks: Option<String>,
}

impl Draft {
    /// A draft with the required fields; fill the rest directly.
    pub fn new(
        kind: Kind,
        repository: impl Into<String>,
        subject: Subject,
        requester: Actor,
    ) -> Draft {
        Draft {
            time: chrono::Utc::now(),
            kind,
            decision: None,
            repository: repository.into(),
            subject,
            requester,
            approvals: Vec::new(),
            rule: None,
            expires_at: None,
            context: Value::Object(Default::default()),
            context_source: None,
            reason: None,
            jwks: None,
        }
    }

    /// The payload with a fresh ULID, chained to `prev`.
    pub fn to_payload(&self, prev: &str) -> Payload {
        Payload {
            v: VERSION,
            id: ulid::Ulid::new().to_string(),
            prev: prev.to_string(),
            time: format_time(self.time),
            kind: self.kind,
            decision: self.decision,
            repository: self.repository.clone(),
            subject: self.subject.clone(),
            requester: self.requester.clone(),
            approvals: self.approvals.clone(),
            rule: self.rule.clone(),
            expires_at: self.expires_at.map(format_time),
            context: self.context.clone(),
            context_source: self.context_source,
            reason: self.reason.clone(),
        }
    }
}

impl Payload {
    /// The JCS bytes that are hashed and signed.
    pub fn jcs(&self) -> Result<Vec<u8>, AuditError> {
        jcs(self)
    }

    pub fn digest(&self) -> Result<String, AuditError> {
        Ok(digest_of(&self.jcs()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Payload {
        let mut d = Draft::new(
            Kind::Decision,
            "acme/api",
            Subject {
                sha: "a".repeat(40),
                git_ref: Some("refs/heads/main".into()),
                environment: Some("production".into()),
            },
            Actor {
                login: "alice".into(),
                id: 1,
            },
        );
        d.decision = Some(Decision::Approved);
        d.time = parse_time("2026-11-25T12:00:00Z").unwrap();
        d.context = serde_json::json!({"z": 1, "a": "é", "m": [true, null]});
        d.to_payload(GENESIS)
    }

    #[test]
    fn jcs_sorts_keys_and_drops_whitespace() {
        let p = sample();
        let bytes = p.jcs().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.starts_with("{\"approvals\":[],\"context\":{\"a\":\"é\",\"m\":[true,null],\"z\":1},\"decision\":\"approved\",\"id\":"),
            "{text}"
        );
        assert!(!text.contains(' '));
        // Re-parsing as a generic Value and canonicalising again gives the same bytes,
        // which is how verification recomputes digests.
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(jcs(&v).unwrap(), bytes);
        assert_eq!(p.digest().unwrap(), digest_of(&bytes));
        assert!(is_digest(&p.digest().unwrap()));
    }

    #[test]
    fn kinds_without_a_decision_omit_the_field_and_paths_use_the_utc_date() {
        let mut p = sample();
        p.decision = None;
        p.time = "2026-11-25T23:30:00-02:00".into();
        let text = String::from_utf8(p.jcs().unwrap()).unwrap();
        assert!(!text.contains("\"decision\":"), "{text}");
        let bucket = &p.id[24..];
        assert_eq!(
            record_path(&p.time, &p.id).unwrap(),
            format!("records/2026/11/26/{bucket}/{}.json", p.id)
        );
        assert_eq!(
            Layout::Flat.path(&p.time, &p.id).unwrap(),
            format!("records/2026/11/26/{}.json", p.id)
        );
        assert_eq!(Layout::bucket("01ARZ3NDEKTSV4RRFFQ69G5FAV"), "AV");
        assert_eq!(Layout::bucket("X"), "X");
        assert_eq!(Layout::bucket(""), "");
    }

    #[test]
    fn digest_is_sha256_of_jcs_bytes() {
        assert_eq!(
            digest_of(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(is_digest(GENESIS));
        assert!(!is_digest("sha256:ABC"));
    }

    #[test]
    fn unknown_signature_types_survive_a_round_trip() {
        let v = serde_json::json!([{"type": "pgp", "sig": "x"}, {"type": "ssh", "principal": "p", "sig": "s"}]);
        let sigs: Vec<Signature> = serde_json::from_value(v.clone()).unwrap();
        assert!(matches!(sigs[0], Signature::Unknown(_)));
        assert_eq!(serde_json::to_value(&sigs).unwrap(), v);
    }
}
