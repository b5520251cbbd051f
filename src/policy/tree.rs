//! The policy file as a YAML tree: every node, key and scalar with its line and column
//! (serde-saphyr's `Spanned`), nothing typed yet. serde-saphyr still does the YAML work
//! (anchors, aliases, merge keys, the budget that bounds what an input can cost);
//! [`super::raw`] then reads the tree against the schema and reports every unknown key
//! and wrong type, not only the first.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Budget, DuplicateKeyPolicy, Location, NonFiniteFloatPolicy, Options, Spanned};

pub(super) type S<T> = Spanned<T>;

/// One YAML node, as the YAML core schema reads it.
#[derive(Debug, Clone)]
pub(super) enum Node {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<S<Node>>),
    /// Entries in file order; a repeated key is kept (and reported by the reader).
    Map(Vec<(S<Node>, S<Node>)>),
}

impl Node {
    /// What it is, for "expected …, found …".
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Node::Null => "nothing",
            Node::Bool(_) => "a true/false",
            Node::Int(_) => "a number",
            Node::Float(_) => "a number",
            Node::Str(_) => "a string",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }
}

/// The deepest nesting of lists and mappings read. A policy needs 5 (`rules`, a rule,
/// `match`, `paths`); the tree is built by recursion, so the cap also bounds the stack.
pub(super) const MAX_DEPTH: usize = 20;

/// The most YAML events aliases (`*name`) may repeat in one file: a `defaults` block
/// reused in every rule is a few hundred.
pub(super) const MAX_REPLAYED_EVENTS: usize = 20_000;

/// Parses one YAML document into a tree. Duplicate keys reach the reader (which reports
/// them with the other problems); `.inf`/`.nan` stay text.
pub(super) fn parse(text: &str) -> Result<S<Node>, serde_saphyr::Error> {
    let mut options = Options::default();
    options.duplicate_keys = DuplicateKeyPolicy::PassThrough;
    options.non_finite_float_policy = NonFiniteFloatPolicy::AsString;
    let mut budget = Budget::default();
    budget.max_depth = MAX_DEPTH;
    options.budget = Some(budget);
    // Every node of the tree is built, so aliases may repeat only a policy's worth.
    options.alias_limits.max_total_replayed_events = MAX_REPLAYED_EVENTS;
    serde_saphyr::from_str_with_options::<S<Node>>(text, options)
}

/// The source text of a scalar written in the file (a number or `true` as written:
/// `0x10`, `1.50`, `yes`), or `None` when its location is unknown.
pub(super) fn source_text<'t>(text: &'t str, loc: &Location) -> Option<&'t str> {
    let span = loc.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    text.get(start..start.checked_add(len)?)
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        Ok(Node::Int(i128::try_from(v).unwrap_or(i128::MAX)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_char<E: de::Error>(self, v: char) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Node, E> {
        Ok(Node::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element::<S<Node>>()? {
            out.push(item);
        }
        Ok(Node::Seq(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut out = Vec::new();
        while let Some(key) = map.next_key::<S<Node>>()? {
            let value = map.next_value::<S<Node>>()?;
            out.push((key, value));
        }
        Ok(Node::Map(out))
    }
}
