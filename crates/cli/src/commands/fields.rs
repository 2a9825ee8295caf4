//! `pushdeck fields sync`: create the index fields the metadata needs, before the first push
//! (a push source maps a metadata key only to an existing field of the same name).

use std::collections::BTreeMap;

use coveo_push::{FieldSpec, FieldType};
use serde_json::{json, Value};

use crate::args::{FieldsSyncArgs, GlobalArgs};
use crate::connection::{self, api_error, load_config};
use crate::exit::{CliError, Outcome};
use crate::items;
use crate::output::Output;

/// Item keys that are not metadata (lifted into the item itself), compared lowercased.
const ITEM_KEYS: &[&str] = &[
    "documentid",
    "uri",
    "title",
    "author",
    "clickableuri",
    "data",
    "date",
    "modifieddate",
    "fileextension",
    "permanentid",
    "parentid",
    "permissions",
    "compressedbinarydata",
    "compressedbinarydatafileid",
    "compressiontype",
];

pub async fn run(
    args: &FieldsSyncArgs,
    global: &GlobalArgs,
    out: &Output,
) -> Result<Outcome, CliError> {
    let wanted = if args.paths.is_empty() {
        from_config(global)?
    } else {
        from_items(args)?
    };
    if wanted.is_empty() {
        out.summary(json!({"wanted": 0, "created": []}), || {
            "No metadata field to create.".into()
        });
        return Ok(Outcome::ok());
    }
    let conn = connection::connect(&args.connection, global).await?;
    let specs: Vec<FieldSpec> = wanted.into_values().collect();
    let created = if args.dry_run {
        let existing: Vec<String> = conn
            .client
            .list_fields()
            .await
            .map_err(|e| api_error(&e))?
            .into_iter()
            .map(|f| f.name.to_lowercase())
            .collect();
        specs
            .iter()
            .filter(|s| !existing.contains(&s.name))
            .cloned()
            .collect()
    } else {
        conn.client
            .ensure_fields(&specs)
            .await
            .map_err(|e| api_error(&e))?
    };
    for field in &created {
        let ty = serde_json::to_value(field.field_type).unwrap_or_default();
        let verb = if args.dry_run {
            "would create"
        } else {
            "created"
        };
        out.event(
            "field",
            json!({"name": field.name, "type": ty, "dry_run": args.dry_run}),
            || {
                format!(
                    "{verb} field {} ({}{})",
                    field.name,
                    ty.as_str().unwrap_or("?"),
                    if field.multi_value_facet {
                        ", multi-value"
                    } else {
                        ""
                    }
                )
            },
        );
    }
    out.summary(
        json!({"wanted": specs.len(), "created": created.len(), "dry_run": args.dry_run}),
        || {
            format!(
                "{} field(s) needed, {} {}",
                specs.len(),
                created.len(),
                if args.dry_run { "missing" } else { "created" }
            )
        },
    );
    Ok(Outcome::ok())
}

fn spec(name: &str, value: &Value) -> Option<FieldSpec> {
    let (field_type, multi) = match value {
        Value::String(_) | Value::Bool(_) => (FieldType::String, false),
        Value::Number(n) if n.is_i64() => match n.as_i64() {
            Some(i) if i32::try_from(i).is_ok() => (FieldType::Long, false),
            _ => (FieldType::Long64, false),
        },
        Value::Number(_) => (FieldType::Double, false),
        Value::Array(_) => (FieldType::String, true),
        _ => return None,
    };
    Some(FieldSpec {
        name: name.to_string(),
        field_type,
        multi_value_facet: multi,
    })
}

fn from_items(args: &FieldsSyncArgs) -> Result<BTreeMap<String, FieldSpec>, CliError> {
    let mut files = Vec::new();
    for path in &args.paths {
        if path.is_dir() {
            files.extend(items::json_files(path)?);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(CliError::usage(
                "no_such_file",
                format!("{} does not exist; check the path", path.display()),
            ));
        }
    }
    let mut wanted = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| {
            CliError::usage(
                "unreadable_item_file",
                format!("cannot read {}: {e}", file.display()),
            )
        })?;
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            CliError::usage(
                "malformed_item_file",
                format!("the item file {} is not valid JSON ({e})", file.display()),
            )
        })?;
        let objects = match value {
            Value::Array(list) => list,
            other => vec![other],
        };
        for object in objects.iter().filter_map(Value::as_object) {
            for (key, value) in object {
                let name = key.to_ascii_lowercase();
                if ITEM_KEYS.contains(&name.as_str()) || !coveo_push::is_valid_field_name(&name) {
                    continue;
                }
                if let Some(spec) = spec(&name, value) {
                    wanted.entry(name).or_insert(spec);
                }
            }
        }
    }
    Ok(wanted)
}

fn from_config(global: &GlobalArgs) -> Result<BTreeMap<String, FieldSpec>, CliError> {
    let (path, config) = load_config(global)?;
    if config.folders.is_empty() {
        return Err(CliError::usage(
            "nothing_to_do",
            format!("no item files were named and {} configures no folder; pass item files or folders of them", path.display()),
        ));
    }
    let mut wanted = BTreeMap::new();
    for folder in &config.folders {
        for (name, value) in &folder.metadata.fields {
            if let Some(spec) = spec(name, &value.to_json()) {
                wanted.entry(name.clone()).or_insert(spec);
            }
        }
        if let Some(name) = &folder.metadata.hierarchy_field {
            wanted.entry(name.clone()).or_insert(FieldSpec {
                name: name.clone(),
                field_type: FieldType::String,
                multi_value_facet: true,
            });
        }
    }
    Ok(wanted)
}
