//! Strict JSON reading: the Push API treats object keys case-insensitively and rejects a body
//! whose objects repeat a key (`title` and `Title` included) with `400 INVALID_JSON`.
//! `serde_json::Map` silently keeps the last duplicate, so this module parses with its own
//! visitor that fails on the first repeated key.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Parses `bytes` as one JSON value; fails on syntax errors, trailing data, and on an object
/// that repeats a key in any letter case. The message says where and which key.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, String> {
    parse_strict_nested(bytes, usize::MAX)
}

/// [`parse_strict`] for a value that sits inside others in its file: it fails when it nests
/// more than `max_depth` arrays and objects (itself included), the most its place in the file
/// leaves under serde_json's recursion limit.
pub(crate) fn parse_strict_nested(bytes: &[u8], max_depth: usize) -> Result<Value, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictSeed::new(max_depth)
        .deserialize(&mut de)
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(value)
}

/// serde_json's recursion limit: at most this many arrays and objects nest in a value it reads.
pub(crate) const SERDE_JSON_MAX_DEPTH: usize = 127;

/// Reads one value strictly; the number is how many arrays and objects may still open (serde
/// json's own recursion limit applies as well).
#[derive(Clone, Copy)]
pub(crate) struct StrictSeed(usize);

impl StrictSeed {
    pub(crate) fn new(max_depth: usize) -> Self {
        Self(max_depth)
    }
}

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor(self.0))
    }
}

struct StrictVisitor(usize);

impl StrictVisitor {
    /// The seed of the values inside an array or object this visitor reads.
    fn inner<E: de::Error>(&self) -> Result<StrictSeed, E> {
        self.0
            .checked_sub(1)
            .map(StrictSeed)
            .ok_or_else(|| E::custom("recursion limit exceeded"))
    }
}

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.inner::<A::Error>()?;
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(inner)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.inner::<A::Error>()?;
        let mut out = Map::new();
        // Small objects (items have a handful of keys) compare in place, without allocating;
        // large ones switch to a set of lowercased keys.
        let mut seen: Option<HashSet<String>> = None;
        while let Some(key) = map.next_key::<String>()? {
            let duplicate = match seen.as_mut() {
                Some(set) => !set.insert(key.to_lowercase()),
                None => out.keys().any(|k| same_key(k, &key)),
            };
            if duplicate {
                return Err(de::Error::custom(format!(
                    "duplicate key {key:?} (keys are case-insensitive, so each may appear once)"
                )));
            }
            if seen.is_none() && out.len() >= LINEAR_KEY_CHECK {
                seen = Some(
                    out.keys()
                        .map(|k| k.to_lowercase())
                        .chain([key.to_lowercase()])
                        .collect(),
                );
            }
            let value = map.next_value_seed(inner)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// Objects up to this many keys are checked for duplicates by comparing with every key.
const LINEAR_KEY_CHECK: usize = 24;

/// Whether two object keys are the same key for the Push API (any letter case).
pub(crate) fn same_key(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

/// Looks a key up case-insensitively (the object is known to have no case duplicates).
pub fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// Rewrites object keys (recursively) to the spelling in `canonical` when they match it
/// case-insensitively, so serde types with camelCase names read `AllowAnonymous` too.
pub fn canonicalize_keys(value: &mut Value, canonical: &[&str]) {
    match value {
        Value::Object(obj) => {
            let old = std::mem::take(obj);
            for (k, mut v) in old {
                canonicalize_keys(&mut v, canonical);
                let key = canonical
                    .iter()
                    .find(|c| c.eq_ignore_ascii_case(&k))
                    .map_or(k, |c| (*c).to_owned());
                obj.insert(key, v);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| canonicalize_keys(v, canonical)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_case_insensitive_duplicates_at_any_depth() {
        assert!(parse_strict(br#"{"title":"a","Title":"b"}"#).is_err());
        assert!(parse_strict(br#"{"a":[{"x":1,"X":2}]}"#).is_err());
        assert!(parse_strict(br#"{"a":1} x"#).is_err());
        let many: Vec<String> = (0..40).map(|i| format!("\"k{i}\":1")).collect();
        let dup = format!("{{{},\"K7\":2}}", many.join(","));
        assert!(parse_strict(dup.as_bytes()).is_err());
        assert!(parse_strict(format!("{{{}}}", many.join(",")).as_bytes()).is_ok());
        assert!(parse_strict("{\"É\":1,\"é\":2}".as_bytes()).is_err());
        let v = parse_strict(br#"{"b":1,"a":[true,null,1.5,"s"]}"#).unwrap();
        assert_eq!(
            v.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["b", "a"]
        );
    }
}
