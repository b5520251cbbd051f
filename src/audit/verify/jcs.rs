//! A fast RFC 8785 (JCS) writer for the payloads `audit verify` re-hashes: objects with
//! keys in UTF-16 order, strings with JCS's minimal escaping, integers up to 2⁵³.
//! Anything else (fractions, exponents, larger integers) returns `None` and the
//! caller canonicalises with `serde_json_canonicalizer`, the reference used to write
//! records; a property test holds the two to the same bytes.

use std::io::Write as _;

use serde_json::Number;

use super::doc::Json;

/// Integers beyond ±2⁵³ are not exact IEEE doubles: left to the reference.
const MAX_EXACT: u64 = 1 << 53;

/// The JCS bytes of `v` into `out` (cleared first), or `None` for a number left to the
/// reference (see the module doc). A name repeated in an object counts once, with its
/// last value, as in `Value`.
pub(super) fn json_into(v: &Json<'_>, out: &mut Vec<u8>) -> Option<()> {
    out.clear();
    write_json(v, out)
}

fn write_json(v: &Json<'_>, out: &mut Vec<u8>) -> Option<()> {
    match v {
        Json::Null => out.extend_from_slice(b"null"),
        Json::Bool(true) => out.extend_from_slice(b"true"),
        Json::Bool(false) => out.extend_from_slice(b"false"),
        Json::Num(n) => number(n, out)?,
        Json::Str(s) => string(s, out),
        Json::Arr(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(x, out)?;
            }
            out.push(b']');
        }
        Json::Obj(m) => {
            let mut entries: Vec<&(std::borrow::Cow<'_, str>, Json<'_>)> = m.iter().collect();
            // Stable: among equal names the last stays last, and only it is written.
            if m.iter().all(|(k, _)| byte_order_is_utf16_order(k)) {
                entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            } else {
                entries.sort_by(|a, b| utf16_cmp(&a.0, &b.0));
            }
            out.push(b'{');
            let mut first = true;
            for (i, (k, x)) in entries.iter().map(|e| (&e.0, &e.1)).enumerate() {
                if entries.get(i + 1).is_some_and(|next| next.0 == *k) {
                    continue;
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                string(k, out);
                out.push(b':');
                write_json(x, out)?;
            }
            out.push(b'}');
        }
    }
    Some(())
}

fn number(n: &Number, out: &mut Vec<u8>) -> Option<()> {
    if let Some(u) = n.as_u64() {
        if u > MAX_EXACT {
            return None;
        }
        write!(out, "{u}").ok()?;
    } else if let Some(i) = n.as_i64() {
        if i.unsigned_abs() > MAX_EXACT {
            return None;
        }
        write!(out, "{i}").ok()?;
    } else {
        return None;
    }
    Some(())
}

/// UTF-16 code unit order (RFC 8785 §3.2.3). For text without characters at or
/// above U+E000 (lead bytes 0xEE..) it equals byte order.
fn utf16_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    if byte_order_is_utf16_order(a) && byte_order_is_utf16_order(b) {
        a.as_bytes().cmp(b.as_bytes())
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

/// No character at or above U+E000: such strings sort the same by bytes and by UTF-16.
fn byte_order_is_utf16_order(s: &str) -> bool {
    s.bytes().all(|c| c < 0xEE)
}

/// A JSON string as JCS writes it: `"` and `\` escaped, control characters as the
/// short escapes or `\u00xx`, everything else as its UTF-8 bytes.
fn string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x09 => b"\\t",
            0x0A => b"\\n",
            0x0C => b"\\f",
            0x0D => b"\\r",
            0x00..=0x1F => {
                out.extend_from_slice(&bytes[start..i]);
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 0xF)]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    /// The fast writer's bytes for `v`, read the way verify reads a record.
    fn to_vec(v: &Value) -> Option<Vec<u8>> {
        let text = serde_json::to_string(v).unwrap();
        let j: Json<'_> = serde_json::from_str(&text).unwrap();
        let mut out = Vec::new();
        json_into(&j, &mut out)?;
        Some(out)
    }

    fn reference(v: &Value) -> Vec<u8> {
        serde_json_canonicalizer::to_vec(v).unwrap()
    }

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1000i64..1000).prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[\\x00-\\x1f\"\\\\a-z\u{7f}\u{2028}\u{e000}\u{ffff}\u{10000}\u{1f600}]{0,8}"
                .prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(
                    "[a-zA-Z_\u{e9}\u{e000}\u{ff5e}\u{1f600}\u{10000}]{0,5}",
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Whenever the fast writer answers, it answers byte for byte what the
        /// reference canonicaliser does (so a digest it recomputes is the real one).
        #[test]
        fn matches_the_reference_canonicaliser(v in json()) {
            if let Some(fast) = to_vec(&v) {
                let want = reference(&v);
                prop_assert_eq!(String::from_utf8_lossy(&fast), String::from_utf8_lossy(&want));
            }
        }
    }

    #[test]
    fn utf16_order_puts_supplementary_characters_before_private_use() {
        // U+1F600 is the surrogate pair D83D DE00, which sorts before U+E000 in UTF-16
        // although its UTF-8 bytes sort after.
        let v = serde_json::json!({"\u{e000}": 1, "\u{1f600}": 2, "a": 3});
        let fast = to_vec(&v).unwrap();
        assert_eq!(fast, reference(&v));
        assert_eq!(
            String::from_utf8(fast).unwrap(),
            "{\"a\":3,\"\u{1f600}\":2,\"\u{e000}\":1}"
        );
    }

    #[test]
    fn a_repeated_name_is_written_once_with_its_last_value() {
        let text = r#"{"b": 1, "a": {"x": 1, "x": [2]}, "b": "last", "\u0061": 3}"#;
        let j: Json<'_> = serde_json::from_str(text).unwrap();
        let mut out = Vec::new();
        json_into(&j, &mut out).unwrap();
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(out, reference(&v));
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"a":3,"b":"last"}"#);
    }

    #[test]
    fn leaves_fractions_and_big_integers_to_the_reference() {
        assert!(to_vec(&serde_json::json!({"a": 1.5})).is_none());
        assert!(to_vec(&serde_json::json!([9007199254740993u64])).is_none());
        assert_eq!(
            to_vec(&serde_json::json!([
                9007199254740992u64,
                -9007199254740992i64
            ]))
            .unwrap(),
            b"[9007199254740992,-9007199254740992]"
        );
    }
}
