//! Coveo JSON item files, read as Coveo's own CLI reads them (push-api.md §8), so people can
//! move over without rewriting them:
//!
//! - a folder means every `*.json` file below it, recursively (dotfiles and other extensions
//!   skipped), in path order;
//! - a file holds one item object or an array of them;
//! - keys match in any letter case; `documentId` (or `uri`) and a non-empty `title` are
//!   required; `author`, `clickableUri`, `data`, `date`, `modifiedDate`, `fileExtension`,
//!   `permanentId`, `parentId` and `permissions` are lifted; every other key is metadata;
//!   an item without `data` is sent with empty text (the service refuses items with no
//!   content key).
//!
//! Reading is all or nothing: a malformed file stops the command before anything is sent,
//! with the file, the item's position and what to fix.

use std::path::{Path, PathBuf};

use coveo_push::{Document, MetadataValue, PermissionModel};
use serde_json::{Map, Value};

use crate::exit::CliError;
use crate::parse;

/// Every `*.json` file under `dir`, sorted, dotfiles skipped.
pub fn json_files(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| {
            CliError::usage(
                "unreadable_folder",
                format!("cannot read the folder {}: {e}", dir.display()),
            )
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| {
                CliError::usage(
                    "unreadable_folder",
                    format!("cannot read the folder {}: {e}", dir.display()),
                )
            })?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            let Ok(ty) = entry.file_type() else { continue };
            if ty.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json"))
            {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The items of one item file.
pub fn read_item_file(path: &Path) -> Result<Vec<Document>, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::usage(
            "unreadable_item_file",
            format!("cannot read the item file {}: {e}", path.display()),
        )
    })?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        CliError::usage(
            "malformed_item_file",
            format!(
                "the item file {} is not valid JSON ({e}); fix it or leave it out",
                path.display()
            ),
        )
    })?;
    let objects = match value {
        Value::Array(items) => items,
        object @ Value::Object(_) => vec![object],
        _ => {
            return Err(malformed(
                path,
                None,
                "it holds neither an item object nor an array of items",
            ));
        }
    };
    objects
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(map) => item_from_json(map).map_err(|why| malformed(path, Some(i), &why)),
            _ => Err(malformed(path, Some(i), "it is not a JSON object")),
        })
        .collect()
}

fn malformed(path: &Path, index: Option<usize>, why: &str) -> CliError {
    let at = index
        .map(|i| format!(" (item {})", i + 1))
        .unwrap_or_default();
    CliError::usage(
        "malformed_item_file",
        format!(
            "the item file {}{at} is not a Coveo item: {why}",
            path.display()
        ),
    )
}

/// One item object to a document; the error says what to fix.
pub fn item_from_json(map: Map<String, Value>) -> Result<Document, String> {
    let mut fields: Vec<(String, String, Value)> = Vec::new();
    for (key, value) in map {
        let folded = key.to_ascii_lowercase();
        if fields.iter().any(|(f, _, _)| *f == folded) {
            return Err(format!(
                "the key {key:?} appears twice (keys match in any letter case)"
            ));
        }
        fields.push((folded, key, value));
    }
    let take = |name: &str, fields: &mut Vec<(String, String, Value)>| {
        fields
            .iter()
            .position(|(f, _, _)| f == name)
            .map(|i| fields.remove(i).2)
    };
    let text = |name: &str, value: Value| match value {
        Value::String(s) => Ok(s),
        other => Err(format!("{name} must be a string, not {other}")),
    };
    let uri = match (take("documentid", &mut fields), take("uri", &mut fields)) {
        (Some(v), _) | (None, Some(v)) => text("documentId", v)?,
        (None, None) => {
            return Err("it has no documentId (or uri); add \"documentId\": \"https://...\"".into())
        }
    };
    let title = match take("title", &mut fields) {
        Some(v) => text("title", v)?,
        None => return Err("it has no title; add \"title\": \"...\"".into()),
    };
    if title.trim().is_empty() {
        return Err("its title is empty".into());
    }
    let mut doc = Document::new(uri).title(title);
    if let Some(v) = take("author", &mut fields) {
        doc = doc.author(text("author", v)?);
    }
    if let Some(v) = take("clickableuri", &mut fields) {
        doc = doc.clickable_uri(text("clickableUri", v)?);
    }
    // The Push API rejects (after a 202) an item with no content key at all, so an item file
    // without `data` (metadata only, common in Coveo CLI folders) is sent with empty text.
    let data = match take("data", &mut fields) {
        Some(v) => text("data", v)?,
        None => String::new(),
    };
    doc = doc.text(data);
    for (name, label) in [("date", "date"), ("modifieddate", "modifiedDate")] {
        if let Some(v) = take(name, &mut fields) {
            let raw = match v {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s,
                other => return Err(format!("{label} must be a date string, not {other}")),
            };
            let when = parse::date_time(&raw).ok_or_else(|| {
                format!("{label} {raw:?} is not a date; write 2024-01-31T12:00:00Z")
            })?;
            doc = if name == "date" {
                doc.date(when)
            } else {
                doc.modified_date(when)
            };
        }
    }
    if let Some(v) = take("fileextension", &mut fields) {
        doc = doc.file_extension(text("fileExtension", v)?);
    }
    if let Some(v) = take("permanentid", &mut fields) {
        doc = doc.permanent_id(text("permanentId", v)?);
    }
    if let Some(v) = take("parentid", &mut fields) {
        doc = doc.parent_id(text("parentId", v)?);
    }
    if let Some(v) = take("permissions", &mut fields) {
        let model: PermissionModel = serde_json::from_value(v)
            .map_err(|e| format!("its permissions are not a Push API permission model ({e})"))?;
        doc = doc.permissions(model);
    }
    for name in [
        "compressedbinarydata",
        "compressedbinarydatafileid",
        "compressiontype",
    ] {
        if take(name, &mut fields).is_some() {
            return Err(format!(
                "{name} is not supported in item files yet; put text in \"data\", or push the file itself with `pushdeck push FILE`"
            ));
        }
    }
    for (folded, key, value) in fields {
        doc = doc.metadata(folded, metadata_value(&key, value)?);
    }
    Ok(doc)
}

fn metadata_value(key: &str, value: Value) -> Result<MetadataValue, String> {
    Ok(match value {
        Value::String(s) => MetadataValue::String(s),
        Value::Bool(b) => MetadataValue::Boolean(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => MetadataValue::Integer(i),
            None => MetadataValue::Double(n.as_f64().unwrap_or_default()),
        },
        Value::Array(list) => MetadataValue::StringList(
            list.into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    Value::Number(n) => Ok(n.to_string()),
                    Value::Bool(b) => Ok(b.to_string()),
                    other => Err(format!("metadata {key:?} holds {other}; lists hold strings, numbers or booleans")),
                })
                .collect::<Result<_, _>>()?,
        ),
        Value::Null => return Err(format!("metadata {key:?} is null; remove the key")),
        Value::Object(_) => return Err(format!("metadata {key:?} is an object; metadata values are strings, numbers, booleans or lists")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(value: Value) -> Result<Document, String> {
        match value {
            Value::Object(map) => item_from_json(map),
            _ => unreachable!(),
        }
    }

    #[test]
    fn keys_in_any_case_and_uri_alias() {
        let doc = item(
            json!({"URI": "https://x/1", "Title": "One", "Data": "hello", "Department": "HR"}),
        )
        .unwrap();
        assert_eq!(doc.id(), "https://x/1");
        let doc =
            item(json!({"documentid": "https://x/2", "title": "Two", "tags": ["a", 1]})).unwrap();
        assert_eq!(doc.id(), "https://x/2");
    }

    #[test]
    fn errors_say_what_to_fix() {
        assert!(item(json!({"title": "t"}))
            .unwrap_err()
            .contains("documentId"));
        assert!(item(json!({"uri": "https://x"}))
            .unwrap_err()
            .contains("no title"));
        assert!(
            item(json!({"uri": "https://x", "title": "t", "Title": "u"}))
                .unwrap_err()
                .contains("twice")
        );
        assert!(
            item(json!({"uri": "https://x", "title": "t", "meta": {"a": 1}}))
                .unwrap_err()
                .contains("object")
        );
        assert!(
            item(json!({"uri": "https://x", "title": "t", "date": "soon"}))
                .unwrap_err()
                .contains("not a date")
        );
        assert!(
            item(json!({"uri": "https://x", "title": "t", "permissions": "all"}))
                .unwrap_err()
                .contains("permission")
        );
    }

    #[test]
    fn folders_are_read_recursively_skipping_dotfiles() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sub/.hidden")).unwrap();
        std::fs::write(dir.path().join("a.json"), "{}").unwrap();
        std::fs::write(dir.path().join("sub/b.JSON"), "{}").unwrap();
        std::fs::write(dir.path().join("sub/c.txt"), "{}").unwrap();
        std::fs::write(dir.path().join("sub/.hidden/d.json"), "{}").unwrap();
        std::fs::write(dir.path().join(".e.json"), "{}").unwrap();
        let files = json_files(dir.path()).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            names,
            vec![PathBuf::from("a.json"), PathBuf::from("sub/b.JSON")]
        );
    }
}
