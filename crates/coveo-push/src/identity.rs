//! Security identity bodies as the Push API reads them (push-api.md §5).

use std::collections::BTreeMap;

use permissions::Identity;
use serde::{Deserialize, Serialize};

/// Add or update one identity: `{"identity", "members", "wellKnowns"}`. Pushing a group
/// replaces its whole member list; send `well_knowns` consistently on every call or they are
/// detached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityBody {
    pub identity: Identity,
    #[serde(default)]
    pub members: Vec<Identity>,
    #[serde(default)]
    pub well_knowns: Vec<Identity>,
}

impl IdentityBody {
    pub fn new(identity: Identity) -> Self {
        Self {
            identity,
            members: Vec::new(),
            well_knowns: Vec::new(),
        }
    }
    pub fn members(mut self, members: Vec<Identity>) -> Self {
        self.members = members;
        self
    }
    pub fn well_knowns(mut self, well_knowns: Vec<Identity>) -> Self {
        self.well_knowns = well_knowns;
        self
    }
}

/// One alias target of a mapping: an identity in another (cascaded) provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mapping {
    pub name: String,
    #[serde(rename = "type")]
    pub identity_type: String,
    /// The provider holding the alias; may be omitted when the provider cascades to exactly one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub additional_info: BTreeMap<String, String>,
}

impl Mapping {
    /// A USER alias, e.g. an email in the "Email Security Provider".
    pub fn user(name: impl Into<String>, provider: Option<String>) -> Self {
        Self {
            name: name.into(),
            identity_type: permissions::IdentityType::User
                .as_identity_str()
                .to_string(),
            provider,
            additional_info: BTreeMap::new(),
        }
    }
}

/// Add or update an alias: `{"identity", "mappings", "wellKnowns"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MappedIdentityBody {
    pub identity: Identity,
    pub mappings: Vec<Mapping>,
    #[serde(default)]
    pub well_knowns: Vec<Identity>,
}

/// The file of a security identity batch: `{"members", "mappings", "deleted"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityBatch {
    #[serde(default)]
    pub members: Vec<IdentityBody>,
    #[serde(default)]
    pub mappings: Vec<MappedIdentityBody>,
    /// Identities to disable; serialized as `{"identity": ...}` objects.
    #[serde(default)]
    pub deleted: Vec<DeletedIdentity>,
}

/// An entry of `deleted` in an identity batch (and the body of a single identity delete).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedIdentity {
    pub identity: Identity,
}

impl IdentityBatch {
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.mappings.is_empty() && self.deleted.is_empty()
    }
}
