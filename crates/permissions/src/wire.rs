//! Lenient reading of Push API JSON: property names are case-insensitive (reference §3.3, §5:
//! the documentation's own examples use `Identity`, `Members`, `WellKnowns`, while the Swagger
//! spec uses camelCase). Before a body reaches the derived (camelCase) deserializers, every
//! property name that matches a known name in another letter case is rewritten to the
//! canonical spelling.

use serde_json::{Map, Value};

/// Every property name of the bodies this crate reads, in the canonical spelling.
const CANONICAL_NAMES: &[&str] = &[
    "identity",
    "identityType",
    "securityProvider",
    "allowAnonymous",
    "allowedPermissions",
    "deniedPermissions",
    "permissionSets",
    "name",
    "type",
    "additionalInfo",
    "members",
    "wellKnowns",
    "mappings",
    "provider",
    "deleted",
];

/// The value inside these properties is free-form data (not a body), so its keys are kept.
const OPAQUE_VALUES: &[&str] = &["additionalInfo"];

/// Rewrites known property names to their canonical spelling, at every depth.
///
/// Errors when two properties of one object fold to the same name (`name` and `Name`): the
/// service rejects such bodies as `INVALID_JSON` (reference §3.3), and guessing which one
/// wins would hide the mistake.
pub(crate) fn canonicalize_names(value: Value) -> Result<Value, String> {
    match value {
        Value::Array(items) => items
            .into_iter()
            .map(canonicalize_names)
            .collect::<Result<_, _>>()
            .map(Value::Array),
        Value::Object(object) => {
            let mut out = Map::with_capacity(object.len());
            for (key, inner) in object {
                let canonical = CANONICAL_NAMES
                    .iter()
                    .find(|known| known.eq_ignore_ascii_case(&key))
                    .map_or(key.clone(), |known| (*known).to_owned());
                let inner = if OPAQUE_VALUES.contains(&canonical.as_str()) {
                    inner
                } else {
                    canonicalize_names(inner)?
                };
                if out.contains_key(&canonical) {
                    return Err(format!(
                        "duplicate property {key:?}: property names are case-insensitive, so it \
                         repeats {canonical:?}; keep only one of them"
                    ));
                }
                out.insert(canonical, inner);
            }
            Ok(Value::Object(out))
        }
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rewrites_names_in_any_case_but_not_inside_additional_info() {
        let input = json!({"Identity": {"NAME": "a", "Type": "USER",
            "AdditionalInfo": {"Name": "kept", "TYPE": "kept"}}, "WellKnowns": [], "other": 1});
        let expected = json!({"identity": {"name": "a", "type": "USER",
            "additionalInfo": {"Name": "kept", "TYPE": "kept"}}, "wellKnowns": [], "other": 1});
        assert_eq!(canonicalize_names(input).unwrap(), expected);
    }

    #[test]
    fn duplicate_names_differing_in_case_are_an_error() {
        let error = canonicalize_names(json!({"name": "a", "Name": "b"})).unwrap_err();
        assert!(error.contains("duplicate property \"Name\""), "{error}");
    }
}
