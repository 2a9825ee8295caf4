//! Security identity files for `identities push` (and the access previews): JSON as the Push
//! API spells identity bodies, or CSV with one membership per row.
//!
//! JSON: one identity body `{"identity": {...}, "members": [...], "wellKnowns": [...]}`, an
//! array of them, or a whole batch `{"members": [...], "mappings": [...], "deleted": [...]}`.
//! CSV: header `group,member` and an optional `member_type` (user, group, virtual-group; user
//! when empty); a row with an empty group declares a user with no groups.

use std::path::Path;

use coveo_push::{Identity, IdentityBatch, IdentityBody, IdentityType};
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

fn from_csv(text: &str) -> Result<IdentityBatch, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("its header cannot be read ({e})"))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let (Some(group_col), Some(member_col)) = (column("group"), column("member")) else {
        return Err("its header must be `group,member` (and optionally `member_type`)".into());
    };
    let type_col = column("member_type");
    let mut bodies: Vec<IdentityBody> = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| format!("line {line} cannot be read ({e})"))?;
        let group = record.get(group_col).unwrap_or("");
        let member = record.get(member_col).unwrap_or("");
        if member.is_empty() {
            return Err(format!("line {line} has no member"));
        }
        let member_type = match type_col
            .and_then(|c| record.get(c))
            .filter(|t| !t.is_empty())
        {
            None => IdentityType::User,
            Some(t) => IdentityType::parse(t).ok_or_else(|| {
                format!("line {line}: member_type {t:?} is not user, group or virtual-group")
            })?,
        };
        let member = Identity::new(member, member_type);
        if group.is_empty() {
            if !bodies.iter().any(|b| b.identity == member) {
                bodies.push(IdentityBody::new(member));
            }
            continue;
        }
        let group = Identity::new(group, IdentityType::Group);
        match bodies.iter_mut().find(|b| b.identity == group) {
            Some(body) => {
                if !body.members.contains(&member) {
                    body.members.push(member);
                }
            }
            None => bodies.push(IdentityBody::new(group).members(vec![member])),
        }
    }
    Ok(IdentityBatch {
        members: bodies,
        ..IdentityBatch::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_groups_rows_by_group() {
        let batch = from_csv("group,member,member_type\nHR,ann@x.com,user\nHR,bob@x.com,\nAll,HR,group\n,carl@x.com,user\n").unwrap();
        assert_eq!(batch.members.len(), 3);
        assert_eq!(batch.members[0].identity.name, "HR");
        assert_eq!(batch.members[0].members.len(), 2);
        assert_eq!(
            batch.members[1].members[0].identity_type,
            IdentityType::Group
        );
        assert_eq!(batch.members[2].identity.identity_type, IdentityType::User);
        assert!(from_csv("user,group\na,b\n")
            .unwrap_err()
            .contains("header"));
        assert!(from_csv("group,member,member_type\nHR,a,robot\n")
            .unwrap_err()
            .contains("line 2"));
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
