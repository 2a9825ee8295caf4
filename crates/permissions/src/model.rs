//! The permission model of an item and the security identities it names, as the Push API's
//! JSON spells them (reference §4.1 and §5, listed in `docs/push-api-reference.md`: Coveo's
//! <https://docs.coveo.com/en/107> and <https://docs.coveo.com/en/25>).
//!
//! Reading is lenient (every spelling of an identity type the service accepts, any letter
//! case); writing is canonical (the documented spelling), so a model read from canonical JSON
//! writes back byte for byte.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The kind of a security identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdentityType {
    User,
    Group,
    VirtualGroup,
    Unknown,
}

impl IdentityType {
    /// Reads every spelling the service accepts: `User`, `USER`, `user`, `VirtualGroup`,
    /// `VIRTUAL_GROUP`, `virtual-group`, in any letter case. `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let folded: String = text
            .chars()
            .filter(|c| !matches!(c, '_' | '-' | ' '))
            .flat_map(char::to_lowercase)
            .collect();
        match folded.as_str() {
            "user" => Some(Self::User),
            "group" => Some(Self::Group),
            "virtualgroup" => Some(Self::VirtualGroup),
            "unknown" => Some(Self::Unknown),
            _ => None,
        }
    }

    /// The spelling of item permissions (`identityType`): `User`, `Group`, `VirtualGroup`,
    /// `Unknown` (Swagger `PermissionIdentityModel`).
    pub fn as_permission_str(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
            Self::VirtualGroup => "VirtualGroup",
            Self::Unknown => "Unknown",
        }
    }

    /// The spelling of security identities (`type`): `USER`, `GROUP`, `VIRTUAL_GROUP`,
    /// `UNKNOWN` (Swagger `Identity`).
    pub fn as_identity_str(self) -> &'static str {
        match self {
            Self::User => "USER",
            Self::Group => "GROUP",
            Self::VirtualGroup => "VIRTUAL_GROUP",
            Self::Unknown => "UNKNOWN",
        }
    }
}

impl fmt::Display for IdentityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_permission_str())
    }
}

/// On its own (outside the Push API bodies, e.g. in explanations and folder rules), an identity
/// type is written in the item-permission spelling and read in every spelling.
impl Serialize for IdentityType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_permission_str())
    }
}

impl<'de> Deserialize<'de> for IdentityType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_identity_type(d)
    }
}

fn deserialize_identity_type<'de, D: Deserializer<'de>>(d: D) -> Result<IdentityType, D::Error> {
    let text = String::deserialize(d)?;
    IdentityType::parse(&text).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "unknown identity type {text:?}: expected User, Group, VirtualGroup or Unknown"
        ))
    })
}

/// Serde adapter for the Pascal-case spelling used in item permissions.
mod permission_spelling {
    use super::*;
    pub fn serialize<S: Serializer>(t: &IdentityType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(t.as_permission_str())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<IdentityType, D::Error> {
        deserialize_identity_type(d)
    }
}

/// Serde adapter for the upper-snake spelling used in security identity bodies.
mod identity_spelling {
    use super::*;
    pub fn serialize<S: Serializer>(t: &IdentityType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(t.as_identity_str())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<IdentityType, D::Error> {
        deserialize_identity_type(d)
    }
}

/// One entry of `allowedPermissions` or `deniedPermissions` in an item's permission set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionIdentity {
    pub identity: String,
    #[serde(with = "permission_spelling")]
    pub identity_type: IdentityType,
    /// The security identity provider; absent means the source's first provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_provider: Option<String>,
}

impl PermissionIdentity {
    pub fn new(identity: impl Into<String>, identity_type: IdentityType) -> Self {
        Self {
            identity: identity.into(),
            identity_type,
            security_provider: None,
        }
    }

    pub fn user(identity: impl Into<String>) -> Self {
        Self::new(identity, IdentityType::User)
    }

    pub fn group(identity: impl Into<String>) -> Self {
        Self::new(identity, IdentityType::Group)
    }

    pub fn with_provider(mut self, provider: impl Into<String>) -> Self {
        self.security_provider = Some(provider.into());
        self
    }
}

/// A permission set: within a set, any deny beats any allow (`allowAnonymous` included).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionSet {
    #[serde(default)]
    pub allow_anonymous: bool,
    #[serde(default)]
    pub allowed_permissions: Vec<PermissionIdentity>,
    #[serde(default)]
    pub denied_permissions: Vec<PermissionIdentity>,
}

/// A permission level of the complete model: every set of the level must allow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionLevel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub permission_sets: Vec<PermissionSet>,
}

/// An item's `permissions` value: a JSON array of sets (the simple model) or of levels (the
/// complete model). An element with `permissionSets` is a level, as the JS client reads it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PermissionModel {
    Simple(Vec<PermissionSet>),
    Complete(Vec<PermissionLevel>),
}

impl PermissionModel {
    /// The levels this model is evaluated as: the simple model is one implicit level.
    pub fn levels(&self) -> Vec<PermissionLevel> {
        match self {
            Self::Simple(sets) => {
                vec![PermissionLevel {
                    name: None,
                    permission_sets: sets.clone(),
                }]
            }
            Self::Complete(levels) => levels.clone(),
        }
    }

    /// Every entry of `allowedPermissions` and `deniedPermissions`, in document order.
    pub fn entries(&self) -> impl Iterator<Item = &PermissionIdentity> {
        let sets: Vec<&PermissionSet> = match self {
            Self::Simple(sets) => sets.iter().collect(),
            Self::Complete(levels) => levels.iter().flat_map(|l| &l.permission_sets).collect(),
        };
        sets.into_iter()
            .flat_map(|s| s.allowed_permissions.iter().chain(&s.denied_permissions))
    }

    /// How many identity entries the model names (the service caps this at 5,000 per item).
    pub fn permission_count(&self) -> usize {
        let count_set =
            |s: &PermissionSet| s.allowed_permissions.len() + s.denied_permissions.len();
        match self {
            Self::Simple(sets) => sets.iter().map(count_set).sum(),
            Self::Complete(levels) => levels
                .iter()
                .flat_map(|l| &l.permission_sets)
                .map(count_set)
                .sum(),
        }
    }
}

impl Serialize for PermissionModel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Simple(sets) => sets.serialize(s),
            Self::Complete(levels) => levels.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for PermissionModel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let elements = Vec::<serde_json::Value>::deserialize(d)?;
        // Property names are case-insensitive in the Push API (reference §3.3).
        let elements = crate::wire::canonicalize_names(serde_json::Value::Array(elements))
            .map_err(D::Error::custom)?;
        let serde_json::Value::Array(elements) = elements else {
            return Err(D::Error::custom("permissions must be a JSON array"));
        };
        let is_level = |v: &serde_json::Value| {
            v.as_object()
                .is_some_and(|o| o.contains_key("permissionSets"))
        };
        let levels = elements.iter().filter(|v| is_level(v)).count();
        if levels == 0 {
            let sets = elements
                .into_iter()
                .map(serde_json::from_value)
                .collect::<Result<_, _>>()
                .map_err(D::Error::custom)?;
            Ok(Self::Simple(sets))
        } else if levels == elements.len() {
            let levels = elements
                .into_iter()
                .map(serde_json::from_value)
                .collect::<Result<_, _>>()
                .map_err(D::Error::custom)?;
            Ok(Self::Complete(levels))
        } else {
            Err(D::Error::custom(
                "permissions mix permission levels (with permissionSets) and bare permission sets; use one model",
            ))
        }
    }
}

/// A security identity of a provider (`{"name", "type", "additionalInfo"}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub name: String,
    #[serde(rename = "type", with = "identity_spelling")]
    pub identity_type: IdentityType,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub additional_info: BTreeMap<String, String>,
}

impl Identity {
    pub fn new(name: impl Into<String>, identity_type: IdentityType) -> Self {
        Self {
            name: name.into(),
            identity_type,
            additional_info: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Canonical JSON → model → JSON must give back the very same text.
    fn assert_round_trip(canonical: &str) -> PermissionModel {
        let model: PermissionModel = serde_json::from_str(canonical).unwrap();
        assert_eq!(serde_json::to_string(&model).unwrap(), canonical);
        model
    }

    #[test]
    fn simple_model_round_trips_exactly() {
        let canonical = r#"[{"allowAnonymous":true,"allowedPermissions":[],"deniedPermissions":[{"identity":"asmith@example.com","identityType":"User"}]},{"allowAnonymous":false,"allowedPermissions":[{"identity":"SampleTeam1","identityType":"Group","securityProvider":"My Provider"},{"identity":"SampleGroup","identityType":"VirtualGroup"},{"identity":"x","identityType":"Unknown"}],"deniedPermissions":[]}]"#;
        let model = assert_round_trip(canonical);
        assert!(matches!(model, PermissionModel::Simple(ref sets) if sets.len() == 2));
        assert_eq!(model.permission_count(), 4);
        assert_eq!(model.entries().count(), 4);
    }

    #[test]
    fn complete_model_round_trips_exactly() {
        let canonical = r#"[{"name":"Level 1","permissionSets":[{"allowAnonymous":true,"allowedPermissions":[],"deniedPermissions":[]}]},{"permissionSets":[{"allowAnonymous":false,"allowedPermissions":[{"identity":"MysteryUserX","identityType":"User"}],"deniedPermissions":[]}]}]"#;
        let model = assert_round_trip(canonical);
        let PermissionModel::Complete(levels) = model else {
            panic!("expected levels")
        };
        assert_eq!(levels[0].name.as_deref(), Some("Level 1"));
        assert_eq!(levels[1].name, None);
    }

    #[test]
    fn empty_permissions_round_trip_as_an_empty_simple_model() {
        assert_eq!(assert_round_trip("[]"), PermissionModel::Simple(vec![]));
    }

    #[test]
    fn identity_types_are_read_in_every_spelling_and_written_canonically() {
        for (spelling, expected) in [
            ("USER", IdentityType::User),
            ("user", IdentityType::User),
            ("GrOup", IdentityType::Group),
            ("VIRTUAL_GROUP", IdentityType::VirtualGroup),
            ("virtualgroup", IdentityType::VirtualGroup),
            ("VirtualGroup", IdentityType::VirtualGroup),
            ("UNKNOWN", IdentityType::Unknown),
        ] {
            let json = format!(
                r#"[{{"allowedPermissions":[{{"identity":"a","identityType":"{spelling}"}}]}}]"#
            );
            let model: PermissionModel = serde_json::from_str(&json).unwrap();
            let entry = model.entries().next().unwrap();
            assert_eq!(entry.identity_type, expected, "{spelling}");
            let written = serde_json::to_string(&model).unwrap();
            assert!(written.contains(&format!(
                r#""identityType":"{}""#,
                expected.as_permission_str()
            )));
        }
        let error = serde_json::from_str::<PermissionModel>(
            r#"[{"allowedPermissions":[{"identity":"a","identityType":"Robot"}]}]"#,
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("unknown identity type \"Robot\""),
            "{error}"
        );
    }

    #[test]
    fn property_names_are_read_in_any_letter_case() {
        let model: PermissionModel = serde_json::from_str(
            r#"[{"Name":"L1","PermissionSets":[{"ALLOWANONYMOUS":true,"DeniedPermissions":[{"Identity":"bob","IdentityType":"USER","SecurityProvider":"P"}]}]}]"#,
        )
        .unwrap();
        let expected = PermissionModel::Complete(vec![PermissionLevel {
            name: Some("L1".into()),
            permission_sets: vec![PermissionSet {
                allow_anonymous: true,
                allowed_permissions: vec![],
                denied_permissions: vec![PermissionIdentity::user("bob").with_provider("P")],
            }],
        }]);
        assert_eq!(model, expected);
    }

    #[test]
    fn mixing_levels_and_sets_is_refused_with_a_clear_message() {
        let error = serde_json::from_str::<PermissionModel>(
            r#"[{"permissionSets":[]},{"allowAnonymous":true}]"#,
        )
        .unwrap_err();
        assert!(error.to_string().contains("use one model"), "{error}");
    }

    #[test]
    fn security_identity_round_trips_with_the_upper_snake_spelling() {
        let canonical = r#"{"name":"HR","type":"VIRTUAL_GROUP","additionalInfo":{"k":"v"}}"#;
        let identity: Identity = serde_json::from_str(canonical).unwrap();
        assert_eq!(identity.identity_type, IdentityType::VirtualGroup);
        assert_eq!(serde_json::to_string(&identity).unwrap(), canonical);
        let lenient: Identity =
            serde_json::from_str(r#"{"name":"HR","type":"VirtualGroup"}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&lenient).unwrap(),
            r#"{"name":"HR","type":"VIRTUAL_GROUP"}"#
        );
    }
}
