//! The policy file as written: serde types that keep each value's line and column
//! (`serde_saphyr::Spanned`) so validation can point at the offending value.

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde_saphyr::Spanned;

pub(super) type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    pub version: Option<S<i64>>,
    pub oidc: Option<S<String>>,
    pub audit: Option<S<RawAudit>>,
    pub defaults: Option<S<RawSettings>>,
    pub protected_branches: Option<S<OneOrMany>>,
    pub rules: Option<S<Vec<S<RawRule>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAudit {
    pub branch: Option<S<String>>,
    pub signing: Option<S<OneOrMany>>,
    pub allowed_signers: Option<S<String>>,
    pub pusher_signers: Option<S<String>>,
    pub remote: Option<S<String>>,
}

/// `defaults`: the settings a rule may override.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSettings {
    pub approvals: Option<S<i64>>,
    pub approvers: Option<S<OneOrMany>>,
    pub codeowners: Option<S<String>>,
    pub timeout: Option<S<String>>,
    pub ttl: Option<S<String>>,
    pub self_approval: Option<S<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub name: Option<S<String>>,
    #[serde(rename = "match")]
    pub matches: Option<S<RawMatch>>,
    pub approvals: Option<S<i64>>,
    pub approvers: Option<S<OneOrMany>>,
    pub codeowners: Option<S<String>>,
    pub timeout: Option<S<String>>,
    pub ttl: Option<S<String>>,
    pub self_approval: Option<S<bool>>,
}

impl RawRule {
    pub(super) fn settings(&self) -> RawSettingsRef<'_> {
        RawSettingsRef {
            approvals: self.approvals.as_ref(),
            approvers: self.approvers.as_ref(),
            codeowners: self.codeowners.as_ref(),
            timeout: self.timeout.as_ref(),
            ttl: self.ttl.as_ref(),
            self_approval: self.self_approval.as_ref(),
        }
    }
}

impl RawSettings {
    pub(super) fn settings(&self) -> RawSettingsRef<'_> {
        RawSettingsRef {
            approvals: self.approvals.as_ref(),
            approvers: self.approvers.as_ref(),
            codeowners: self.codeowners.as_ref(),
            timeout: self.timeout.as_ref(),
            ttl: self.ttl.as_ref(),
            self_approval: self.self_approval.as_ref(),
        }
    }
}

/// The settings shared by `defaults` and a rule, borrowed.
#[derive(Default)]
pub(super) struct RawSettingsRef<'a> {
    pub approvals: Option<&'a S<i64>>,
    pub approvers: Option<&'a S<OneOrMany>>,
    pub codeowners: Option<&'a S<String>>,
    pub timeout: Option<&'a S<String>>,
    pub ttl: Option<&'a S<String>>,
    pub self_approval: Option<&'a S<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMatch {
    pub environment: Option<S<OneOrMany>>,
    pub branches: Option<S<OneOrMany>>,
    pub paths: Option<S<OneOrMany>>,
    pub events: Option<S<OneOrMany>>,
    pub actors: Option<S<OneOrMany>>,
}

/// A string or a list of strings, each with its location; `Single` remembers that the
/// value was written as a bare string (`approvers: codeowners`).
#[derive(Debug)]
pub(super) enum OneOrMany {
    Single(String),
    Many(Vec<S<String>>),
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany::Single(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<OneOrMany, E> {
                Ok(OneOrMany::Single(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<S<String>>()? {
                    out.push(item);
                }
                Ok(OneOrMany::Many(out))
            }
        }
        d.deserialize_any(V)
    }
}
