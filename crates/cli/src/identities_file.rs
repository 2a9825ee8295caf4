//! Security identity files for `identities push` (and the access previews): JSON as the Push
//! API spells identity bodies, or CSV with one membership per row.
//!
//! JSON: one identity body `{"identity": {...}, "members": [...], "wellKnowns": [...]}`, an
//! array of them, or a whole batch `{"members": [...], "mappings": [...], "deleted": [...]}`.
//! CSV: the one identities CSV format of Pushdeck, `name,kind,members,aliases` (one line per
//! identity; members and aliases separated by `;`), read by
//! [`permissions::parse_identities_csv`] as the app's import reads it.

use std::path::Path;

use coveo_push::{IdentityBatch, IdentityBody};
use serde_json::Value;

use crate::exit::CliError;

fn malformed(path: &Path, why: impl std::fmt::Display) -> CliError {
    CliError::usage(
        "malformed_identity_file",
        format!("the identity file {} is not usable: {why}", path.display()),
    )
}

pub fn read(path: &Path) -> Result<IdentityBatch, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::usage(
            "unreadable_identity_file",
            format!("cannot read the identity file {}: {e}", path.display()),
        )
    })?;
    let batch = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        from_csv(&text).map_err(|why| malformed(path, why))?
    } else {
        from_json(&text).map_err(|why| malformed(path, why))?
    };
    if batch.is_empty() {
        return Err(malformed(path, "it holds no identity"));
    }
    Ok(batch)
}

fn from_json(text: &str) -> Result<IdentityBatch, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("it is not valid JSON ({e})"))?;
    let is_batch = |v: &Value| {
        v.as_object().is_some_and(|o| {
            !o.contains_key("identity")
                && ["members", "mappings", "deleted"]
                    .iter()
                    .any(|k| o.contains_key(*k))
        })
    };
    if is_batch(&value) {
        return serde_json::from_value(value)
            .map_err(|e| format!("it is not an identity batch ({e})"));
    }
    let bodies = match value {
        Value::Array(list) => list,
        object @ Value::Object(_) => vec![object],
        _ => return Err("it holds neither an identity body nor an array of them".into()),
    };
    let members = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            serde_json::from_value::<IdentityBody>(body).map_err(|e| {
                format!("identity {} is not an identity body ({e}); write {{\"identity\": {{\"name\": \"HR\", \"type\": \"GROUP\"}}, \"members\": [...]}}", i + 1)
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(IdentityBatch {
        members,
        ..IdentityBatch::default()
    })
}

/// The one identities CSV format (`name,kind,members,aliases`), read by the permissions
/// crate's parser, the same one the app's import uses. All or nothing: any line that cannot be
/// read refuses the file, naming the lines. Aliases map to their user in the provider the
/// identities are pushed to cascades to (the Email Security Provider for Pushdeck's providers).
fn from_csv(text: &str) -> Result<IdentityBatch, String> {
    /// Problems named in one message; the person fixes these and runs again to see the next.
    const SHOWN: usize = 5;
    let csv = permissions::parse_identities_csv(text, &[]);
    if !csv.problems.is_empty() {
        let mut lines: Vec<String> = csv
            .problems
            .iter()
            .take(SHOWN)
            .map(|p| format!("line {}: {}", p.line, p.message))
            .collect();
        if csv.problems.len() > SHOWN {
            lines.push(format!(
                "({} more problems after these)",
                csv.problems.len() - SHOWN
            ));
        }
        return Err(lines.join(" "));
    }
    Ok(csv.to_batch(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_is_the_one_identities_format() {
        let batch = from_csv("name,kind,members,aliases\nHR,group,ann@x.com;bob@x.com\nAll,group,HR\ncarl@x.com,user,,carl\n").unwrap();
        assert_eq!(batch.members.len(), 3);
        assert_eq!(batch.members[0].identity.name, "HR");
        assert_eq!(batch.members[0].members.len(), 2);
        assert_eq!(
            batch.members[1].members[0].identity_type,
            coveo_push::IdentityType::Group
        );
        assert_eq!(batch.mappings.len(), 1);
        assert_eq!(batch.mappings[0].identity.name, "carl");
        assert!(from_csv("group,member\na,b\n")
            .unwrap_err()
            .contains("older group,member format"));
        assert!(from_csv("HR,robot\n").unwrap_err().contains("line 1"));
    }

    #[test]
    fn json_bodies_and_batches() {
        let one = from_json(r#"{"identity": {"name": "HR", "type": "GROUP"}, "members": [{"name": "a", "type": "USER"}]}"#).unwrap();
        assert_eq!(one.members.len(), 1);
        let batch =
            from_json(r#"{"members": [{"identity": {"name": "HR", "type": "GROUP"}}]}"#).unwrap();
        assert_eq!(batch.members.len(), 1);
        assert!(from_json("[1]").unwrap_err().contains("identity 1"));
    }
}
