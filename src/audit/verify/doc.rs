//! A record file read for verification without a `serde_json::Value`: a JSON tree
//! whose strings borrow from the file (`Json`), and the payload's typed fields
//! checked on that tree (`typed::from_json`) by a borrowed mirror of `record::Payload`
//! (`PayloadView`). Both accept what `Value` and `Payload` accept, except that a
//! duplicated field name is refused where `Value` kept the last one (no record jitaa
//! writes has one).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

use crate::audit::record::{ContextSource, Decision, Kind};

mod typed;

pub(super) use typed::from_json;

/// A JSON value whose strings borrow from the input when they hold no escape.
/// Object members keep file order; a repeated name counts once, its last value (as
/// in `Value`).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Json<'a> {
    Null,
    Bool(bool),
    Num(Number),
    Str(Cow<'a, str>),
    Arr(Vec<Json<'a>>),
    Obj(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl<'a> Json<'a> {
    /// The member `key` of an object (its last occurrence).
    pub(super) fn get(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Obj(m) => m.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(super) fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The same value as a `serde_json::Value` (for the rare paths that need one).
    pub(super) fn to_value(&self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Num(n) => Value::Number(n.clone()),
            Json::Str(s) => Value::String(s.to_string()),
            Json::Arr(a) => Value::Array(a.iter().map(Json::to_value).collect()),
            Json::Obj(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.to_string(), v.to_value()))
                    .collect(),
            ),
        }
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        Ok(Json::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Json::Num(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
        Ok(Json::Num(n.into()))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Self::Value, E> {
        // As `Value` does: a non-finite number becomes null.
        Ok(Number::from_f64(n).map_or(Json::Null, Json::Num))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Owned(s.to_string())))
    }
    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Owned(s)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Json::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(4).min(64));
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(Json::Arr(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
        while let Some(Key(k)) = map.next_key()? {
            out.push((k, map.next_value()?));
        }
        Ok(Json::Obj(out))
    }
}

/// An object member name, borrowed when it holds no escape.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A JSON string, borrowed when it holds no escape (serde's own `Cow<str>` and
/// `String` always copy).
#[derive(Debug)]
pub(super) struct Text<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Key::deserialize(d).map(|Key(k)| Text(k))
    }
}

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `record::Payload` field for field, strings borrowed: deserialising it accepts and
/// refuses what deserialising a `Payload` does (a test holds them together). Only
/// the fields verification reads are public.
#[derive(Debug, Deserialize)]
pub(super) struct PayloadView<'a> {
    pub v: u32,
    #[serde(borrow)]
    pub id: Text<'a>,
    #[serde(borrow)]
    pub prev: Text<'a>,
    #[serde(borrow)]
    pub time: Text<'a>,
    pub kind: Kind,
    #[serde(default, rename = "decision")]
    _decision: Option<Decision>,
    #[serde(borrow, rename = "repository")]
    _repository: Text<'a>,
    #[serde(borrow, rename = "subject")]
    _subject: SubjectView<'a>,
    #[serde(borrow, rename = "requester")]
    _requester: ActorView<'a>,
    #[serde(default, borrow, rename = "approvals")]
    _approvals: Vec<ApprovalView<'a>>,
    #[serde(default, borrow, rename = "rule")]
    _rule: Option<RuleView<'a>>,
    #[serde(default, borrow, rename = "expires_at")]
    _expires_at: Option<Text<'a>>,
    #[serde(default, rename = "context")]
    _context: IgnoredAny,
    #[serde(default, rename = "context_source")]
    _context_source: Option<ContextSource>,
    #[serde(default, borrow, rename = "reason")]
    _reason: Option<Text<'a>>,
}

/// `record::Subject`, borrowed.
#[derive(Debug, Deserialize)]
struct SubjectView<'a> {
    #[serde(borrow, rename = "sha")]
    _sha: Text<'a>,
    #[serde(default, borrow, rename = "ref")]
    _git_ref: Option<Text<'a>>,
    #[serde(default, borrow, rename = "environment")]
    _environment: Option<Text<'a>>,
}

/// `record::Actor`, borrowed.
#[derive(Debug, Deserialize)]
struct ActorView<'a> {
    #[serde(borrow, rename = "login")]
    _login: Text<'a>,
    #[serde(rename = "id")]
    _id: u64,
}

/// `record::Approval`, borrowed.
#[derive(Debug, Deserialize)]
struct ApprovalView<'a> {
    #[serde(borrow, rename = "login")]
    _login: Text<'a>,
    #[serde(rename = "id")]
    _id: u64,
    #[serde(borrow, rename = "via")]
    _via: Text<'a>,
    #[serde(borrow, rename = "url")]
    _url: Text<'a>,
    #[serde(borrow, rename = "at")]
    _at: Text<'a>,
}

/// `record::RuleRef`, borrowed.
#[derive(Debug, Deserialize)]
struct RuleView<'a> {
    #[serde(borrow, rename = "name")]
    _name: Text<'a>,
    #[serde(rename = "approvals")]
    _approvals: u32,
    #[serde(borrow, rename = "policy_digest")]
    _policy_digest: Text<'a>,
}

/// The record file's `payload`, typed (other members are read through [`Json`]).
#[derive(Debug, Deserialize)]
pub(super) struct DocView<'a> {
    #[serde(borrow)]
    pub payload: PayloadView<'a>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::Payload;

    fn payload() -> Value {
        serde_json::json!({
            "v": 1, "id": "01JD0000000000000000000000", "prev": "sha256:00", "time": "2026-01-01T00:00:00Z",
            "kind": "decision", "decision": "approved", "repository": "acme/api",
            "subject": {"sha": "ab", "ref": "refs/heads/main"},
            "requester": {"login": "alice", "id": 1},
            "approvals": [{"login": "bob", "id": 2, "via": "comment", "url": "u", "at": "t"}],
            "rule": {"name": "p", "approvals": 1, "policy_digest": "d"},
            "expires_at": "2026-01-01T00:15:00Z", "context": {"x": [1, {"y": null}]},
            "context_source": "oidc", "reason": "why \"quoted\"", "extra": "kept"
        })
    }

    /// The view accepts a payload exactly when `Payload` does, field by field.
    #[test]
    fn the_view_accepts_and_refuses_what_payload_does() {
        let good = payload();
        let mut cases = vec![good.clone()];
        let fields: Vec<String> = good.as_object().unwrap().keys().cloned().collect();
        let odd = [
            Value::Null,
            Value::from(-1),
            Value::from(1.5),
            Value::from("x"),
            Value::from(true),
            serde_json::json!([]),
            serde_json::json!({}),
            serde_json::json!({"login": "a", "id": 1}),
            // Enums may be written as an object with one member.
            serde_json::json!({"approved": null}),
            serde_json::json!({"decision": null}),
            serde_json::json!({"oidc": 1}),
            serde_json::json!({"request": null, "push": null}),
            serde_json::json!(["decision"]),
            Value::from(u64::from(u32::MAX) + 1),
            Value::from(u64::MAX),
        ];
        for f in &fields {
            let mut without = good.clone();
            without.as_object_mut().unwrap().remove(f);
            cases.push(without);
            for o in &odd {
                let mut c = good.clone();
                c[f.as_str()] = o.clone();
                cases.push(c);
            }
        }
        for (outer, inner) in [
            ("subject", "sha"),
            ("subject", "ref"),
            ("subject", "environment"),
            ("requester", "login"),
            ("requester", "id"),
            ("rule", "name"),
            ("rule", "approvals"),
            ("rule", "policy_digest"),
        ] {
            let mut without = good.clone();
            without[outer].as_object_mut().unwrap().remove(inner);
            cases.push(without);
            for o in &odd {
                let mut c = good.clone();
                c[outer][inner] = o.clone();
                cases.push(c);
            }
        }
        for inner in ["login", "id", "via", "url", "at"] {
            let mut without = good.clone();
            without["approvals"][0]
                .as_object_mut()
                .unwrap()
                .remove(inner);
            cases.push(without);
            for o in &odd {
                let mut c = good.clone();
                c["approvals"][0][inner] = o.clone();
                cases.push(c);
            }
        }
        let mut escaped = good.clone();
        escaped["subject"]["sha"] = "a\"bé".into();
        cases.push(escaped);
        cases.push(serde_json::json!([1, "i", "p", "t"]));
        for c in cases {
            let typed = serde_json::from_value::<Payload>(c.clone()).is_ok();
            let text = serde_json::to_string(&serde_json::json!({"payload": c})).unwrap();
            let view = serde_json::from_str::<DocView<'_>>(&text).is_ok();
            assert_eq!(typed, view, "{c}");
            let p: Json<'_> = serde_json::from_str(&text).unwrap();
            assert_eq!(p.to_value(), serde_json::json!({"payload": c}));
            let on_tree = from_json::<DocView<'_>>(&p);
            assert_eq!(typed, on_tree.is_ok(), "{c}: {:?}", on_tree.err());
        }
    }

    /// A repeated name is refused where the typed struct has the field, on the tree as
    /// in the text; unknown members may repeat in both.
    #[test]
    fn repeated_names_are_judged_alike_on_the_tree() {
        let good = serde_json::to_string(&payload()).unwrap();
        let body = good.trim_start_matches('{');
        assert!(good.contains(r#""sha":"ab""#) && good.contains(r#""x":"#));
        for (text, ok) in [
            (format!(r#"{{"payload": {good}}}"#), true),
            (
                format!(r#"{{"payload": {good}, "payload": {good}}}"#),
                false,
            ),
            (format!(r#"{{"payload": {{"v": 1, {body}}}"#), false),
            (format!(r#"{{"payload": {{"extra": 1, {body}}}"#), true),
            (
                format!(r#"{{"digest": "a", "digest": "b", "payload": {good}}}"#),
                true,
            ),
            // Repeated inside a nested struct, and inside the ignored `context`.
            (
                format!(
                    r#"{{"payload": {}}}"#,
                    good.replacen(r#""sha":"ab""#, r#""sha":"ab","sha":"cd""#, 1)
                ),
                false,
            ),
            (
                format!(
                    r#"{{"payload": {}}}"#,
                    good.replacen(r#""x":"#, r#""x":0,"x":"#, 1)
                ),
                true,
            ),
        ] {
            let from_text = serde_json::from_str::<DocView<'_>>(&text).is_ok();
            let tree: Json<'_> = serde_json::from_str(&text).unwrap();
            assert_eq!(from_text, ok, "{text}");
            assert_eq!(from_json::<DocView<'_>>(&tree).is_ok(), ok, "{text}");
        }
    }

    #[test]
    fn strings_borrow_unless_escaped_and_the_last_duplicate_wins() {
        let text = r#"{"a": "plain", "b": "esc\"aped", "a": 2}"#;
        let j: Json<'_> = serde_json::from_str(text).unwrap();
        assert_eq!(j.get("a"), Some(&Json::Num(2.into())));
        assert_eq!(j.get("b").and_then(Json::as_str), Some("esc\"aped"));
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(j.to_value(), v);
        let j: Json<'_> = serde_json::from_str(r#"["plain"]"#).unwrap();
        assert!(matches!(j, Json::Arr(ref a) if matches!(a[0], Json::Str(Cow::Borrowed(_)))));
    }
}
