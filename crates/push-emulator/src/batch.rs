//! Reading an item batch file (`{"addOrUpdate": [...], "delete": [...]}`) so that the costly
//! part, parsing and checking each entry, runs on several threads.
//!
//! The processor reads a batch in two steps. [`split`] reads the top level and keeps every
//! `addOrUpdate` entry as its raw text (no tree is built for them); the entries are then
//! parsed strictly ([`crate::json::parse_strict_nested`]) on the prepare threads, and each
//! is checked by [`check_document`](crate::wire::check_document), the one reading of an item
//! body. Only a well-formed file takes this path: when the top level is anything else, or any
//! entry fails the strict reading, the caller reads the whole file the one way it always did,
//! so the answer (and the wording of the error, with its line and column in the file) is
//! unchanged.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::json::{same_key, StrictSeed};

/// The two lists of a well-formed batch file: `addOrUpdate` entries as raw JSON text, `delete`
/// entries parsed.
pub(crate) struct SplitBatch<'a> {
    pub adds: Vec<&'a RawValue>,
    pub deletes: Vec<Value>,
}

/// Reads the top level of a batch file. `None` unless the file is one JSON object whose keys
/// are unique in any letter case, whose `addOrUpdate` (any letter case) is absent or an array
/// and whose `delete` is absent, null or an array, and whose other values read strictly. The
/// `addOrUpdate` entries are only checked to be JSON here; the caller parses them strictly.
pub(crate) fn split(bytes: &[u8]) -> Option<SplitBatch<'_>> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let batch = de.deserialize_map(SplitVisitor).ok()?;
    de.end().ok()?;
    Some(batch)
}

struct SplitVisitor;

impl<'de> Visitor<'de> for SplitVisitor {
    type Value = SplitBatch<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a batch file object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut keys: Vec<String> = Vec::new();
        let mut adds = Vec::new();
        let mut deletes = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if keys.iter().any(|k| same_key(k, &key)) {
                return Err(de::Error::custom("duplicate key"));
            }
            if key.eq_ignore_ascii_case("addOrUpdate") {
                adds = map.next_value::<Vec<&'de RawValue>>()?;
            } else if key.eq_ignore_ascii_case("delete") {
                deletes = match map.next_value_seed(StrictSeed::new(usize::MAX))? {
                    Value::Array(list) => list,
                    Value::Null => Vec::new(),
                    _ => return Err(de::Error::custom("delete is not an array")),
                };
            } else {
                // Not used, but read strictly: a repeated key anywhere rejects the file.
                map.next_value_seed(StrictSeed::new(usize::MAX))?;
            }
            keys.push(key);
        }
        Ok(SplitBatch { adds, deletes })
    }
}

/// Maps `f` over `items` on up to `threads` scoped threads, one contiguous chunk each, and
/// returns the chunks' results in order (`Err` for a chunk whose thread panicked). `f` gets
/// each item's index in `items`.
pub(crate) fn par_chunks<T: Send, R: Send>(
    items: Vec<T>,
    threads: usize,
    f: impl Fn(usize, T) -> R + Sync,
) -> Vec<std::thread::Result<Vec<R>>> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return vec![Ok(items
            .into_iter()
            .enumerate()
            .map(|(i, t)| f(i, t))
            .collect())];
    }
    let per_thread = items.len().div_ceil(threads);
    let mut chunks: Vec<(usize, Vec<T>)> = Vec::with_capacity(threads);
    let mut rest = items;
    let mut offset = 0;
    while !rest.is_empty() {
        let tail = rest.split_off(per_thread.min(rest.len()));
        let len = rest.len();
        chunks.push((offset, std::mem::replace(&mut rest, tail)));
        offset += len;
    }
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|(offset, chunk)| {
                scope.spawn(move || {
                    chunk
                        .into_iter()
                        .enumerate()
                        .map(|(i, t)| f(offset + i, t))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_only_well_formed_batch_files() {
        let ok = split(br#"{"AddOrUpdate":[{"a":1}, {"b":[2]}],"other":{"x":1},"DELETE":[{"documentId":"x"}]}"#)
            .unwrap();
        assert_eq!(
            ok.adds.iter().map(|r| r.get()).collect::<Vec<_>>(),
            [r#"{"a":1}"#, r#"{"b":[2]}"#]
        );
        assert_eq!(ok.deletes.len(), 1);
        let empty = split(br#"{"delete":null}"#).unwrap();
        assert!(empty.adds.is_empty() && empty.deletes.is_empty());
        for bad in [
            &br#"[]"#[..],
            br#"{"addOrUpdate":null}"#,
            br#"{"addOrUpdate":{}}"#,
            br#"{"addOrUpdate":[],"addorupdate":[]}"#,
            br#"{"delete":{}}"#,
            br#"{"delete":[{"a":1,"A":2}]}"#,
            br#"{"other":{"a":1,"A":2}}"#,
            br#"{"addOrUpdate":[{]}"#,
            br#"{"addOrUpdate":[]} x"#,
        ] {
            assert!(split(bad).is_none(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn par_chunks_keeps_order_and_indexes() {
        for threads in [1, 3, 8] {
            let out: Vec<(usize, u32)> = par_chunks((0..10u32).collect(), threads, |i, t| (i, t))
                .into_iter()
                .flat_map(Result::unwrap)
                .collect();
            assert_eq!(out, (0..10).map(|i| (i, i as u32)).collect::<Vec<_>>());
        }
        assert!(par_chunks(Vec::<u8>::new(), 4, |_, t| t)
            .into_iter()
            .all(|c| c.unwrap().is_empty()));
    }
}
