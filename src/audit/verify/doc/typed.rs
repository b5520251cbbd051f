//! Typed values read out of a parsed [`Json`] tree, as `serde_json` reads them from the
//! text it came from: `audit verify` parses each record once and checks the payload's
//! types on the tree. Numbers, `null` for an `Option`, enums (a string, or an object
//! with one member), structs from objects or arrays, and repeated names (refused by a
//! derived struct) behave as in `serde_json::from_slice`; only the messages differ,
//! having no line and column.

use std::borrow::Cow;

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

use super::Json;

type Error = serde_json::Error;

/// Deserialises `T` from the tree `v`.
pub(crate) fn from_json<'de, T: de::Deserialize<'de>>(v: &Json<'de>) -> Result<T, Error> {
    T::deserialize(Value(v))
}

/// A value of the tree.
#[derive(Clone, Copy)]
struct Value<'b, 'de>(&'b Json<'de>);

/// An object member name.
#[derive(Clone, Copy)]
struct Name<'b, 'de>(&'b Cow<'de, str>);

fn visit_text<'de, V: Visitor<'de>>(s: &Cow<'de, str>, v: V) -> Result<V::Value, Error> {
    match s {
        Cow::Borrowed(s) => v.visit_borrowed_str(s),
        Cow::Owned(s) => v.visit_str(s),
    }
}

impl<'de> de::Deserializer<'de> for Value<'_, 'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.0 {
            Json::Null => v.visit_unit(),
            Json::Bool(b) => v.visit_bool(*b),
            Json::Num(n) => de::Deserializer::deserialize_any(n, v),
            Json::Str(s) => visit_text(s, v),
            Json::Arr(a) => {
                let mut seq = SeqDeserializer::new(a.iter().map(Value));
                let out = v.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(out)
            }
            Json::Obj(m) => {
                let mut map = MapDeserializer::new(m.iter().map(|(k, x)| (Name(k), Value(x))));
                let out = v.visit_map(&mut map)?;
                map.end()?;
                Ok(out)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.0 {
            Json::Null => v.visit_none(),
            _ => v.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Json::Str(_) => v.visit_enum(Variant(self, None)),
            Json::Obj(m) if m.len() == 1 => {
                let (k, x) = &m[0];
                v.visit_enum(Variant(Value(x), Some(Name(k))))
            }
            _ => Err(de::Error::invalid_type(unexpected(self.0), &"an enum")),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

fn unexpected<'b>(v: &'b Json<'_>) -> de::Unexpected<'b> {
    match v {
        Json::Null => de::Unexpected::Unit,
        Json::Bool(b) => de::Unexpected::Bool(*b),
        Json::Num(_) => de::Unexpected::Other("number"),
        Json::Str(s) => de::Unexpected::Str(s),
        Json::Arr(_) => de::Unexpected::Seq,
        Json::Obj(_) => de::Unexpected::Map,
    }
}

impl<'de> de::Deserializer<'de> for Name<'_, 'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        visit_text(self.0, v)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, Error> for Value<'_, 'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> IntoDeserializer<'de, Error> for Name<'_, 'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

/// An enum: a string naming a unit variant (`name` None), or an object's one member
/// (`name` and the value after it).
struct Variant<'b, 'de>(Value<'b, 'de>, Option<Name<'b, 'de>>);

impl<'de> de::EnumAccess<'de> for Variant<'_, 'de> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<S: de::DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Error> {
        let tag = match (self.1, self.0.0) {
            (Some(name), _) => seed.deserialize(name)?,
            (None, Json::Str(s)) => seed.deserialize(Name(s))?,
            (None, other) => return Err(de::Error::invalid_type(unexpected(other), &"a string")),
        };
        Ok((tag, self))
    }
}

impl<'de> de::VariantAccess<'de> for Variant<'_, 'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.1 {
            None => Ok(()),
            Some(_) => <() as de::Deserialize>::deserialize(self.0),
        }
    }

    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        match self.1 {
            None => Err(de::Error::invalid_type(
                de::Unexpected::UnitVariant,
                &"newtype variant",
            )),
            Some(_) => seed.deserialize(self.0),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, Error> {
        match self.1 {
            None => Err(de::Error::invalid_type(
                de::Unexpected::UnitVariant,
                &"tuple variant",
            )),
            Some(_) => de::Deserializer::deserialize_seq(self.0, v),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        match self.1 {
            None => Err(de::Error::invalid_type(
                de::Unexpected::UnitVariant,
                &"struct variant",
            )),
            Some(_) => de::Deserializer::deserialize_map(self.0, v),
        }
    }
}
