//! The identity graph of security identity providers, and the expansion of a user into every
//! identity it resolves to (reference §4.2 and §5).
//!
//! A security identity is keyed by (provider, name, type): `asmith` the user and `asmith` the
//! group are two identities, and so are two identities of the same name in two providers. The
//! graph holds three kinds of edges, each as pushed through the Push API:
//! - **members**: a group or virtual group contains identities of its own provider
//!   (`IdentityBody.members`); groups may contain groups, and cycles are harmless;
//! - **mappings** (aliases): an identity of one provider is mapped to identities of other
//!   providers (`MappedIdentityBody.mappings`, e.g. `MysteryUserX` → `emitchell@example.com`
//!   in the Email Security Provider);
//! - **granted identities** (`wellKnowns`): identities given to an identity.
//!
//! Expanding a user walks those edges *backwards* to a fixed point: from an identity to every
//! alias mapped to it, every group that contains it, and every identity granted to it. Each
//! reached identity comes with the shortest chain that reached it, which is what an
//! explanation shows ("emitchell → alias MysteryUserX in provider P").

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::model::{Identity, IdentityType, PermissionIdentity};

/// A security identity's key: the provider it lives in, its name and its type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityKey {
    pub provider: String,
    pub name: String,
    #[serde(rename = "type")]
    pub identity_type: IdentityType,
}

impl IdentityKey {
    pub fn new(
        provider: impl Into<String>,
        name: impl Into<String>,
        identity_type: IdentityType,
    ) -> Self {
        Self {
            provider: provider.into(),
            name: name.into(),
            identity_type,
        }
    }

    pub fn user(provider: impl Into<String>, name: impl Into<String>) -> Self {
        Self::new(provider, name, IdentityType::User)
    }

    pub fn group(provider: impl Into<String>, name: impl Into<String>) -> Self {
        Self::new(provider, name, IdentityType::Group)
    }

    pub fn virtual_group(provider: impl Into<String>, name: impl Into<String>) -> Self {
        Self::new(provider, name, IdentityType::VirtualGroup)
    }

    /// The key of a security identity pushed to `provider`.
    pub fn of(provider: &str, identity: &Identity) -> Self {
        Self::new(provider, identity.name.clone(), identity.identity_type)
    }

    /// The key an item permission entry names: an entry without `securityProvider` names an
    /// identity of the source's default provider (its first provider, reference §4.1).
    pub fn of_entry(entry: &PermissionIdentity, default_provider: &str) -> Self {
        Self::new(
            entry
                .security_provider
                .as_deref()
                .unwrap_or(default_provider),
            entry.identity.clone(),
            entry.identity_type,
        )
    }
}

impl fmt::Display for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}, provider {:?})",
            self.name, self.identity_type, self.provider
        )
    }
}

/// Who is asking: an identity (typically a user of the Email Security Provider) or nobody.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Viewer {
    /// An anonymous user resolves to no identity at all: only `allowAnonymous` lets them in.
    Anonymous,
    Identity(IdentityKey),
}

impl fmt::Display for Viewer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Anonymous => f.write_str("anonymous"),
            Self::Identity(key) => key.fmt(f),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Push API identity bodies (reference §5)
// ---------------------------------------------------------------------------------------------

/// `PUT /providers/{provider}/permissions` and the `members` of an identity batch: an identity
/// with its members (same provider, any type) and its granted identities. Pushing it replaces
/// the identity's whole member list and granted identities.
///
/// Reading is lenient (property names in any letter case, every identity type spelling);
/// writing is canonical camelCase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityBody {
    pub identity: Identity,
    #[serde(default)]
    pub members: Vec<Identity>,
    #[serde(default)]
    pub well_knowns: Vec<Identity>,
}

/// One alias target of a [`MappedIdentityBody`]: an identity of another provider.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityMapping {
    pub name: String,
    #[serde(rename = "type", with = "identity_type_spelling")]
    pub identity_type: IdentityType,
    /// May be omitted when the provider cascades to exactly one provider (reference §5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub additional_info: BTreeMap<String, String>,
}

/// `PUT /providers/{provider}/mappings` and the `mappings` of an identity batch: an identity
/// with its aliases in other providers. Pushing it replaces the identity's mappings and
/// granted identities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MappedIdentityBody {
    pub identity: Identity,
    #[serde(default)]
    pub mappings: Vec<IdentityMapping>,
    #[serde(default)]
    pub well_knowns: Vec<Identity>,
}

/// `DELETE /providers/{provider}/permissions` and the `deleted` of an identity batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BaseIdentityBody {
    pub identity: Identity,
}

/// The JSON file of `PUT /providers/{provider}/permissions/batch?fileId=`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityBatch {
    #[serde(default)]
    pub members: Vec<IdentityBody>,
    #[serde(default)]
    pub mappings: Vec<MappedIdentityBody>,
    #[serde(default)]
    pub deleted: Vec<BaseIdentityBody>,
}

impl IdentityBody {
    /// An identity with no members and no granted identities yet.
    pub fn new(identity: Identity) -> Self {
        Self {
            identity,
            members: Vec::new(),
            well_knowns: Vec::new(),
        }
    }

    /// Replaces the member list (pushing a group replaces its members in the provider too).
    pub fn members(mut self, members: Vec<Identity>) -> Self {
        self.members = members;
        self
    }

    /// Replaces the granted identities; send them on every call or they are detached.
    pub fn well_knowns(mut self, well_knowns: Vec<Identity>) -> Self {
        self.well_knowns = well_knowns;
        self
    }
}

impl IdentityMapping {
    /// A USER alias, e.g. an email address in the "Email Security Provider".
    pub fn user(name: impl Into<String>, provider: Option<String>) -> Self {
        Self {
            name: name.into(),
            identity_type: IdentityType::User,
            provider,
            additional_info: BTreeMap::new(),
        }
    }
}

impl IdentityBatch {
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.mappings.is_empty() && self.deleted.is_empty()
    }
}

mod identity_type_spelling {
    use super::*;
    use serde::Serializer;
    pub fn serialize<S: Serializer>(t: &IdentityType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(t.as_identity_str())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<IdentityType, D::Error> {
        let text = String::deserialize(d)?;
        IdentityType::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown identity type {text:?}: expected USER, GROUP, VIRTUAL_GROUP or UNKNOWN"
            ))
        })
    }
}

/// The derived, strict (camelCase) shapes; the public types read through
/// [`crate::wire::canonicalize_names`] first.
mod strict {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct IdentityBody {
        pub identity: Identity,
        #[serde(default)]
        pub members: Vec<Identity>,
        #[serde(default)]
        pub well_knowns: Vec<Identity>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct MappedIdentityBody {
        pub identity: Identity,
        #[serde(default, deserialize_with = "one_or_many")]
        pub mappings: Vec<IdentityMapping>,
        #[serde(default)]
        pub well_knowns: Vec<Identity>,
    }

    /// `deleted` entries: `{"identity": Identity}` per the docs, or a bare Identity as the Java
    /// client sends (reference §5 [CONFLICT]).
    #[derive(Debug, Deserialize)]
    #[serde(untagged)]
    pub enum Deleted {
        Wrapped { identity: Identity },
        Bare(Identity),
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct IdentityBatch {
        #[serde(default)]
        pub members: Vec<IdentityBody>,
        #[serde(default)]
        pub mappings: Vec<MappedIdentityBody>,
        #[serde(default)]
        pub deleted: Vec<Deleted>,
    }

    /// `mappings` as an array (Swagger, docs) or a single object (platform-client's type).
    fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IdentityMapping>, D::Error> {
        #[derive(Debug, Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            Many(Vec<IdentityMapping>),
            One(IdentityMapping),
        }
        Ok(match OneOrMany::deserialize(d)? {
            OneOrMany::Many(many) => many,
            OneOrMany::One(one) => vec![one],
        })
    }

    impl From<IdentityBody> for super::IdentityBody {
        fn from(b: IdentityBody) -> Self {
            Self {
                identity: b.identity,
                members: b.members,
                well_knowns: b.well_knowns,
            }
        }
    }

    impl From<MappedIdentityBody> for super::MappedIdentityBody {
        fn from(b: MappedIdentityBody) -> Self {
            Self {
                identity: b.identity,
                mappings: b.mappings,
                well_knowns: b.well_knowns,
            }
        }
    }
}

/// Reads `T` leniently: any deserializer, property names folded to the canonical spelling.
fn lenient<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(d: D) -> Result<T, D::Error> {
    use serde::de::Error;
    let value = serde_json::Value::deserialize(d)?;
    let value = crate::wire::canonicalize_names(value).map_err(D::Error::custom)?;
    serde_json::from_value(value).map_err(D::Error::custom)
}

impl<'de> Deserialize<'de> for IdentityBody {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient::<D, strict::IdentityBody>(d).map(Into::into)
    }
}

impl<'de> Deserialize<'de> for MappedIdentityBody {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient::<D, strict::MappedIdentityBody>(d).map(Into::into)
    }
}

impl<'de> Deserialize<'de> for IdentityBatch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let batch = lenient::<D, strict::IdentityBatch>(d)?;
        Ok(Self {
            members: batch.members.into_iter().map(Into::into).collect(),
            mappings: batch.mappings.into_iter().map(Into::into).collect(),
            deleted: batch
                .deleted
                .into_iter()
                .map(|d| match d {
                    strict::Deleted::Wrapped { identity } | strict::Deleted::Bare(identity) => {
                        BaseIdentityBody { identity }
                    }
                })
                .collect(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The graph
// ---------------------------------------------------------------------------------------------

/// A dense handle on an identity of one [`IdentityGraph`] (valid for that graph only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityId(u32);

impl IdentityId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// How a link of a [`Chain`] was reached from the link before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Relation {
    /// The viewer itself (first link). After the first link: the same person again, as a USER
    /// of the same name in a provider that cascades to the previous link's provider (see
    /// [`crate::querying`]; e.g. `asmith` of the Email Security Provider is `asmith` of a
    /// provider P that cascades to it).
    Viewer,
    /// A group or virtual group that has the previous identity among its members.
    MemberOf,
    /// An identity of some provider mapped (aliased) to the previous identity.
    AliasOf,
    /// An identity granted (`wellKnowns`) to the previous identity.
    GrantedTo,
}

/// One step of a [`Chain`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainLink {
    pub relation: Relation,
    pub identity: IdentityKey,
}

/// How a viewer reached an identity: starts with the viewer, ends with the identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Chain(pub Vec<ChainLink>);

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, link) in self.0.iter().enumerate() {
            let word = match link.relation {
                Relation::Viewer => "",
                Relation::MemberOf => " -> member of ",
                Relation::AliasOf => " -> alias ",
                Relation::GrantedTo => " -> granted ",
            };
            debug_assert!(i > 0 || word.is_empty(), "a chain starts with the viewer");
            write!(f, "{word}{}", link.identity)?;
        }
        Ok(())
    }
}

impl Chain {
    /// The chain as a person reads it: `emitchell@example.com (Email Security Provider) → alias
    /// MysteryUserX (P)`, `asmith (Email Security Provider) → same user asmith (P) → member of
    /// group SampleTeam1 (P)`. (`Display` keeps the older, more technical spelling.)
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for (i, link) in self.0.iter().enumerate() {
            let label = describe_identity(&link.identity);
            if i == 0 {
                out.push_str(&label);
                continue;
            }
            let word = match link.relation {
                Relation::Viewer => "same user",
                Relation::MemberOf => "member of",
                Relation::AliasOf => "alias",
                Relation::GrantedTo => "granted",
            };
            out.push_str(&format!(" → {word} {label}"));
        }
        out
    }

    /// The identity the chain reaches (its last link).
    pub fn target(&self) -> Option<&IdentityKey> {
        self.0.last().map(|l| &l.identity)
    }
}

/// `asmith (P)` for a user, `group SampleTeam1 (P)`, `virtual group SampleGroup (P)`,
/// `identity X (P)` for the Unknown type.
pub fn describe_identity(key: &IdentityKey) -> String {
    let kind = match key.identity_type {
        IdentityType::User => "",
        IdentityType::Group => "group ",
        IdentityType::VirtualGroup => "virtual group ",
        IdentityType::Unknown => "identity ",
    };
    format!("{kind}{} ({})", key.name, key.provider)
}

#[derive(Debug, Clone)]
struct Node {
    key: IdentityKey,
    additional_info: BTreeMap<String, String>,
    /// Disabled through `DELETE .../permissions`: no longer reached, no longer known.
    disabled: bool,
    members: Vec<IdentityId>,
    mappings: Vec<IdentityId>,
    well_knowns: Vec<IdentityId>,
    // Reverse edges, kept in step with the forward ones: expansion walks these.
    member_of: Vec<IdentityId>,
    aliases: Vec<IdentityId>,
    granted: Vec<IdentityId>,
}

/// The security identities of every provider a source uses, with members, mappings and
/// granted identities. Mutated by the Push API's identity operations (or built directly in
/// tests); read by expansion and evaluation.
///
/// Every identity named anywhere (as the subject of a body, a member, a mapping target or a
/// granted identity) is *known*, except once disabled.
#[derive(Debug, Clone, Default)]
pub struct IdentityGraph {
    nodes: Vec<Node>,
    /// provider → name → one slot per identity type. Nested maps so that lookups by `&str`
    /// need no allocation (evaluation resolves every permission entry through here).
    index: HashMap<String, HashMap<String, [Option<IdentityId>; 4]>>,
}

fn type_slot(t: IdentityType) -> usize {
    match t {
        IdentityType::User => 0,
        IdentityType::Group => 1,
        IdentityType::VirtualGroup => 2,
        IdentityType::Unknown => 3,
    }
}

impl IdentityGraph {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of identities ever named (including disabled ones).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The id of an identity, if the graph has ever seen it (disabled or not).
    pub fn id(
        &self,
        provider: &str,
        name: &str,
        identity_type: IdentityType,
    ) -> Option<IdentityId> {
        self.index.get(provider)?.get(name)?[type_slot(identity_type)]
    }

    pub fn id_of(&self, key: &IdentityKey) -> Option<IdentityId> {
        self.id(&key.provider, &key.name, key.identity_type)
    }

    /// The id an item permission entry names, with `default_provider` for entries without one.
    pub fn id_of_entry(
        &self,
        entry: &PermissionIdentity,
        default_provider: &str,
    ) -> Option<IdentityId> {
        let provider = entry
            .security_provider
            .as_deref()
            .unwrap_or(default_provider);
        self.id(provider, &entry.identity, entry.identity_type)
    }

    /// Panics if `id` comes from another graph.
    pub fn key(&self, id: IdentityId) -> &IdentityKey {
        &self.nodes[id.index()].key
    }

    pub fn additional_info(&self, id: IdentityId) -> &BTreeMap<String, String> {
        &self.nodes[id.index()].additional_info
    }

    /// True when the identity was named and is not disabled.
    pub fn is_known(&self, key: &IdentityKey) -> bool {
        self.id_of(key)
            .is_some_and(|id| !self.nodes[id.index()].disabled)
    }

    /// True when at least one identity of `provider` was ever named.
    pub fn has_provider(&self, provider: &str) -> bool {
        self.index.contains_key(provider)
    }

    /// Every known (not disabled) identity, in the order they were first named.
    pub fn identities(&self) -> impl Iterator<Item = (IdentityId, &IdentityKey)> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| !n.disabled)
            .map(|(i, n)| (IdentityId(i as u32), &n.key))
    }

    /// Every known user, as viewers: the "known users" of the "who can see" queries.
    pub fn users(&self) -> Vec<Viewer> {
        self.identities()
            .filter(|(_, k)| k.identity_type == IdentityType::User)
            .map(|(_, k)| Viewer::Identity(k.clone()))
            .collect()
    }

    /// Members of a group as pushed (forward edges).
    pub fn members(&self, id: IdentityId) -> impl Iterator<Item = &IdentityKey> {
        self.nodes[id.index()].members.iter().map(|m| self.key(*m))
    }

    /// The identities `id` is mapped to (its alias targets, forward edges).
    pub fn mappings(&self, id: IdentityId) -> impl Iterator<Item = &IdentityKey> {
        self.nodes[id.index()].mappings.iter().map(|m| self.key(*m))
    }

    /// True when the identity is known and not disabled.
    pub fn is_active(&self, id: IdentityId) -> bool {
        !self.nodes[id.index()].disabled
    }

    /// The id of `key`, adding the identity if it was never named.
    pub fn intern(&mut self, key: &IdentityKey) -> IdentityId {
        if let Some(id) = self.id_of(key) {
            return id;
        }
        let id = IdentityId(u32::try_from(self.nodes.len()).unwrap_or(u32::MAX));
        self.nodes.push(Node {
            key: key.clone(),
            additional_info: BTreeMap::new(),
            disabled: false,
            members: Vec::new(),
            mappings: Vec::new(),
            well_knowns: Vec::new(),
            member_of: Vec::new(),
            aliases: Vec::new(),
            granted: Vec::new(),
        });
        self.index
            .entry(key.provider.clone())
            .or_default()
            .entry(key.name.clone())
            .or_default()[type_slot(key.identity_type)] = Some(id);
        id
    }

    /// Names an identity as the subject of a body: interns it, re-enables it, records its
    /// additionalInfo.
    fn put_subject(&mut self, provider: &str, identity: &Identity) -> IdentityId {
        let id = self.intern(&IdentityKey::of(provider, identity));
        let node = &mut self.nodes[id.index()];
        node.disabled = false;
        node.additional_info = identity.additional_info.clone();
        id
    }

    /// Names an identity referenced by another one (member, alias target, granted identity).
    fn reference(&mut self, key: &IdentityKey) -> IdentityId {
        let id = self.intern(key);
        self.nodes[id.index()].disabled = false;
        id
    }

    fn set_members(&mut self, id: IdentityId, members: Vec<IdentityId>) {
        self.set_edges(id, members, |n| &mut n.members, |n| &mut n.member_of);
    }

    fn set_mappings(&mut self, id: IdentityId, targets: Vec<IdentityId>) {
        self.set_edges(id, targets, |n| &mut n.mappings, |n| &mut n.aliases);
    }

    fn set_well_knowns(&mut self, id: IdentityId, granted: Vec<IdentityId>) {
        self.set_edges(id, granted, |n| &mut n.well_knowns, |n| &mut n.granted);
    }

    /// Replaces one kind of edge going out of `id` (`forward`) and keeps the edges pointing
    /// back (`reverse`) in step, so expansion can walk either way.
    fn set_edges(
        &mut self,
        id: IdentityId,
        targets: Vec<IdentityId>,
        forward: fn(&mut Node) -> &mut Vec<IdentityId>,
        reverse: fn(&mut Node) -> &mut Vec<IdentityId>,
    ) {
        for old in std::mem::take(forward(&mut self.nodes[id.index()])) {
            reverse(&mut self.nodes[old.index()]).retain(|back| *back != id);
        }
        for t in &targets {
            push_unique(reverse(&mut self.nodes[t.index()]), id);
        }
        *forward(&mut self.nodes[id.index()]) = dedup(targets);
    }

    /// Applies `PUT /providers/{provider}/permissions`: the identity's members and granted
    /// identities are replaced by the body's (members and granted identities are identities
    /// of the same provider).
    pub fn put_identity(&mut self, provider: &str, body: &IdentityBody) {
        let id = self.put_subject(provider, &body.identity);
        let members = body
            .members
            .iter()
            .map(|m| self.reference(&IdentityKey::of(provider, m)))
            .collect();
        let granted = body
            .well_knowns
            .iter()
            .map(|g| self.reference(&IdentityKey::of(provider, g)))
            .collect();
        self.set_members(id, members);
        self.set_well_knowns(id, granted);
    }

    /// Applies `PUT /providers/{provider}/mappings`: the identity's aliases and granted
    /// identities are replaced by the body's. A mapping without `provider` targets
    /// `cascade_provider`, the one provider `provider` cascades to (typically "Email Security
    /// Provider").
    pub fn put_mapped_identity(
        &mut self,
        provider: &str,
        body: &MappedIdentityBody,
        cascade_provider: &str,
    ) {
        let id = self.put_subject(provider, &body.identity);
        let mut targets = Vec::with_capacity(body.mappings.len());
        for mapping in &body.mappings {
            let key = IdentityKey::new(
                mapping.provider.as_deref().unwrap_or(cascade_provider),
                mapping.name.clone(),
                mapping.identity_type,
            );
            let target = self.reference(&key);
            if !mapping.additional_info.is_empty() {
                self.nodes[target.index()].additional_info = mapping.additional_info.clone();
            }
            targets.push(target);
        }
        let granted = body
            .well_knowns
            .iter()
            .map(|g| self.reference(&IdentityKey::of(provider, g)))
            .collect();
        self.set_mappings(id, targets);
        self.set_well_knowns(id, granted);
    }

    /// Applies `DELETE /providers/{provider}/permissions`: the identity is disabled; it loses
    /// its members, mappings and granted identities and is no longer reached by expansion.
    /// Groups that list it keep the entry (pushing them again decides).
    pub fn disable_identity(&mut self, provider: &str, identity: &Identity) {
        let Some(id) = self.id(provider, &identity.name, identity.identity_type) else {
            return;
        };
        self.set_members(id, Vec::new());
        self.set_mappings(id, Vec::new());
        self.set_well_knowns(id, Vec::new());
        self.nodes[id.index()].disabled = true;
    }

    /// Applies an identity batch file, in the order members, mappings, deleted.
    pub fn apply_batch(&mut self, provider: &str, batch: &IdentityBatch, cascade_provider: &str) {
        for body in &batch.members {
            self.put_identity(provider, body);
        }
        for body in &batch.mappings {
            self.put_mapped_identity(provider, body, cascade_provider);
        }
        for body in &batch.deleted {
            self.disable_identity(provider, &body.identity);
        }
    }

    /// Adds one member to a group (keeping the others); for building graphs directly.
    pub fn add_member(&mut self, group: &IdentityKey, member: &IdentityKey) {
        let g = self.reference(group);
        let m = self.reference(member);
        if !self.nodes[g.index()].members.contains(&m) {
            self.nodes[g.index()].members.push(m);
            self.nodes[m.index()].member_of.push(g);
        }
    }

    /// Adds one alias: `alias` (in its provider) is mapped to `target` (in another provider).
    pub fn add_mapping(&mut self, alias: &IdentityKey, target: &IdentityKey) {
        let a = self.reference(alias);
        let t = self.reference(target);
        if !self.nodes[a.index()].mappings.contains(&t) {
            self.nodes[a.index()].mappings.push(t);
            self.nodes[t.index()].aliases.push(a);
        }
    }

    /// Adds one granted identity (`wellKnowns`) to `identity`.
    pub fn add_well_known(&mut self, identity: &IdentityKey, granted: &IdentityKey) {
        let i = self.reference(identity);
        let g = self.reference(granted);
        if !self.nodes[i.index()].well_knowns.contains(&g) {
            self.nodes[i.index()].well_knowns.push(g);
            self.nodes[g.index()].granted.push(i);
        }
    }

    /// Every identity one step away from `id` in the expansion direction, with the relation.
    fn successors(&self, id: IdentityId) -> impl Iterator<Item = (IdentityId, Relation)> + '_ {
        let node = &self.nodes[id.index()];
        node.aliases
            .iter()
            .map(|a| (*a, Relation::AliasOf))
            .chain(node.member_of.iter().map(|g| (*g, Relation::MemberOf)))
            .chain(node.well_knowns.iter().map(|g| (*g, Relation::GrantedTo)))
            .filter(|(next, _)| !self.nodes[next.index()].disabled)
    }

    /// The fixed point of reference §4.2 for `viewer`: the viewer, every alias mapped to an
    /// identity of the set, every group containing one (transitively), every identity granted
    /// to one, repeated until nothing is added. Breadth-first, so every chain is a shortest
    /// one. Anonymous resolves to nothing; a viewer the graph never saw resolves to itself.
    pub fn expand(&self, viewer: &Viewer) -> Expansion {
        let Viewer::Identity(key) = viewer else {
            return Expansion::anonymous();
        };
        self.expand_person(key, &[])
    }

    /// The fixed point of [`expand`](Self::expand) from `root` and from `same`: identities that
    /// are the same person as `root` (same-named users of cascading providers), each reached
    /// from `root` with [`Relation::Viewer`]. `root` need not be in the graph: chains still
    /// start with it.
    pub(crate) fn expand_person(&self, root: &IdentityKey, same: &[IdentityId]) -> Expansion {
        use std::collections::hash_map::Entry;
        let root_id = self.id_of(root);
        let mut reached = HashMap::new();
        let mut queue = VecDeque::new();
        if let Some(start) = root_id {
            reached.insert(start, Step::Root);
            queue.push_back(start);
        }
        for id in same {
            if let Entry::Vacant(slot) = reached.entry(*id) {
                slot.insert(match root_id {
                    Some(start) => Step::From(start, Relation::Viewer),
                    None => Step::FromRoot(Relation::Viewer),
                });
                queue.push_back(*id);
            }
        }
        while let Some(current) = queue.pop_front() {
            for (next, relation) in self.successors(current) {
                if let Entry::Vacant(slot) = reached.entry(next) {
                    slot.insert(Step::From(current, relation));
                    queue.push_back(next);
                }
            }
        }
        Expansion {
            viewer: Some(root.clone()),
            root_in_graph: root_id.is_some(),
            reached,
        }
    }

    /// The same fixed point as [`expand`](Self::expand), without chains, into `out` (cleared
    /// first). `seen` is scratch space reused across calls: sized to the graph, all false.
    pub(crate) fn expand_ids(
        &self,
        start: IdentityId,
        seen: &mut Vec<bool>,
        out: &mut Vec<IdentityId>,
    ) {
        seen.resize(self.nodes.len(), false);
        out.clear();
        out.push(start);
        seen[start.index()] = true;
        let mut next_index = 0;
        while next_index < out.len() {
            let current = out[next_index];
            next_index += 1;
            for (next, _) in self.successors(current) {
                if !seen[next.index()] {
                    seen[next.index()] = true;
                    out.push(next);
                }
            }
        }
        for id in out.iter() {
            seen[id.index()] = false;
        }
    }
}

fn push_unique(list: &mut Vec<IdentityId>, id: IdentityId) {
    if !list.contains(&id) {
        list.push(id);
    }
}

fn dedup(mut ids: Vec<IdentityId>) -> Vec<IdentityId> {
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(*id));
    ids
}

/// How an identity of an [`Expansion`] was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// It is the viewer.
    Root,
    /// From the viewer, who is not in the graph.
    FromRoot(Relation),
    /// From another reached identity.
    From(IdentityId, Relation),
}

/// Everything a viewer resolves to, with the way back to the viewer for each identity.
#[derive(Debug, Clone)]
pub struct Expansion {
    viewer: Option<IdentityKey>,
    /// True when the viewer's own key is an identity of the graph (then it is in `reached`).
    root_in_graph: bool,
    /// Reached id → how it was reached.
    reached: HashMap<IdentityId, Step>,
}

impl Expansion {
    pub(crate) fn anonymous() -> Self {
        Self {
            viewer: None,
            root_in_graph: false,
            reached: HashMap::new(),
        }
    }

    /// The viewer's own key (`None` when anonymous).
    pub fn viewer(&self) -> Option<&IdentityKey> {
        self.viewer.as_ref()
    }

    /// Number of identities reached, the viewer included (0 when anonymous).
    pub fn len(&self) -> usize {
        match self.viewer {
            None => 0,
            Some(_) => self.reached.len() + usize::from(!self.root_in_graph),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, id: IdentityId) -> bool {
        self.reached.contains_key(&id)
    }

    /// The graph identities reached (the viewer included when the graph has it).
    pub(crate) fn ids(&self) -> impl Iterator<Item = IdentityId> + '_ {
        self.reached.keys().copied()
    }

    /// The viewer's key when the graph does not have it (it reaches only through `same`).
    pub(crate) fn stranger_root(&self) -> Option<&IdentityKey> {
        self.viewer.as_ref().filter(|_| !self.root_in_graph)
    }

    /// True when `key` is in the set (also for a viewer unknown to the graph, who is in their
    /// own set).
    pub fn contains_key(&self, graph: &IdentityGraph, key: &IdentityKey) -> bool {
        match graph.id_of(key) {
            Some(id) => self.contains(id),
            None => self.viewer.as_ref() == Some(key),
        }
    }

    fn root_chain(key: &IdentityKey) -> Chain {
        Chain(vec![ChainLink {
            relation: Relation::Viewer,
            identity: key.clone(),
        }])
    }

    /// How the viewer reached `key`, if it did.
    pub fn chain_to(&self, graph: &IdentityGraph, key: &IdentityKey) -> Option<Chain> {
        match graph.id_of(key) {
            Some(id) => self.chain(graph, id),
            None if self.viewer.as_ref() == Some(key) => Some(Self::root_chain(key)),
            None => None,
        }
    }

    /// How the viewer reached `id`, if it did.
    pub fn chain(&self, graph: &IdentityGraph, id: IdentityId) -> Option<Chain> {
        let mut links = Vec::new();
        let mut current = id;
        loop {
            match *self.reached.get(&current)? {
                Step::Root => {
                    links.push(ChainLink {
                        relation: Relation::Viewer,
                        identity: graph.key(current).clone(),
                    });
                    break;
                }
                Step::FromRoot(relation) => {
                    links.push(ChainLink {
                        relation,
                        identity: graph.key(current).clone(),
                    });
                    links.push(ChainLink {
                        relation: Relation::Viewer,
                        identity: self.viewer.clone()?,
                    });
                    break;
                }
                Step::From(from, relation) => {
                    links.push(ChainLink {
                        relation,
                        identity: graph.key(current).clone(),
                    });
                    current = from;
                }
            }
        }
        links.reverse();
        Some(Chain(links))
    }

    /// Every reached identity with its chain, sorted by key (for display and tests).
    pub fn reached(&self, graph: &IdentityGraph) -> Vec<(IdentityKey, Chain)> {
        let mut all: Vec<(IdentityKey, Chain)> = self
            .stranger_root()
            .map(|root| (root.clone(), Self::root_chain(root)))
            .into_iter()
            .collect();
        if self.viewer.is_some() {
            all.extend(
                self.reached
                    .keys()
                    .filter_map(|id| Some((graph.key(*id).clone(), self.chain(graph, *id)?))),
            );
        }
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const P: &str = "P";
    const EMAIL: &str = "Email Security Provider";

    /// Provider P of the reference's worked examples (§4.6), built from Push API bodies.
    fn reference_graph() -> IdentityGraph {
        let mut graph = IdentityGraph::new();
        let team1: IdentityBody =
            serde_json::from_value(json!({"identity": {"name": "SampleTeam1", "type": "GROUP"},
            "members": [{"name": "asmith", "type": "USER"}, {"name": "bjones", "type": "USER"}]}))
            .unwrap();
        let team2: IdentityBody =
            serde_json::from_value(json!({"Identity": {"Name": "SampleTeam2", "Type": "Group"},
            "Members": [{"Name": "cbrown", "Type": "User"}, {"Name": "dmoore", "Type": "User"}]}))
            .unwrap();
        let alias: MappedIdentityBody =
            serde_json::from_value(json!({"identity": {"name": "MysteryUserX", "type": "USER"},
            "mappings": [{"name": "emitchell@example.com", "type": "USER", "provider": EMAIL}]}))
            .unwrap();
        graph.put_identity(P, &team1);
        graph.put_identity(P, &team2);
        graph.put_mapped_identity(P, &alias, EMAIL);
        graph
    }

    fn names(graph: &IdentityGraph, viewer: &Viewer) -> Vec<String> {
        graph
            .expand(viewer)
            .reached(graph)
            .into_iter()
            .map(|(k, _)| k.name)
            .collect()
    }

    #[test]
    fn identity_bodies_read_any_letter_case_and_both_conflicting_shapes() {
        let mapped: MappedIdentityBody = serde_json::from_str(
            r#"{"IDENTITY":{"name":"x","type":"user"},"Mappings":{"Name":"e@x.com","Type":"USER"},"WellKnowns":[{"name":"Everyone","type":"VIRTUAL_GROUP"}]}"#,
        ).unwrap();
        assert_eq!(
            mapped.mappings.len(),
            1,
            "a single mapping object is read as a list of one"
        );
        assert_eq!(mapped.mappings[0].provider, None);
        assert_eq!(
            mapped.well_knowns[0].identity_type,
            IdentityType::VirtualGroup
        );
        let batch: IdentityBatch = serde_json::from_str(
            r#"{"members":[],"deleted":[{"identity":{"name":"a","type":"USER"}},{"name":"b","type":"USER"}]}"#,
        ).unwrap();
        let deleted: Vec<&str> = batch
            .deleted
            .iter()
            .map(|d| d.identity.name.as_str())
            .collect();
        assert_eq!(
            deleted,
            ["a", "b"],
            "wrapped and bare deleted identities are both read"
        );
        let written = serde_json::to_string(&mapped).unwrap();
        assert_eq!(
            written,
            r#"{"identity":{"name":"x","type":"USER"},"mappings":[{"name":"e@x.com","type":"USER"}],"wellKnowns":[{"name":"Everyone","type":"VIRTUAL_GROUP"}]}"#
        );
    }

    #[test]
    fn user_expands_to_groups_and_aliases_with_their_chains() {
        let graph = reference_graph();
        let asmith = Viewer::Identity(IdentityKey::user(P, "asmith"));
        assert_eq!(names(&graph, &asmith), ["SampleTeam1", "asmith"]);
        let emitchell = IdentityKey::user(EMAIL, "emitchell@example.com");
        let expansion = graph.expand(&Viewer::Identity(emitchell.clone()));
        let chain = expansion
            .chain_to(&graph, &IdentityKey::user(P, "MysteryUserX"))
            .unwrap();
        assert_eq!(
            chain.0.iter().map(|l| l.relation).collect::<Vec<_>>(),
            [Relation::Viewer, Relation::AliasOf]
        );
        assert_eq!(
            chain.to_string(),
            r#"emitchell@example.com (User, provider "Email Security Provider") -> alias MysteryUserX (User, provider "P")"#
        );
    }

    #[test]
    fn nested_groups_cycles_and_granted_identities_reach_a_fixed_point() {
        let mut graph = IdentityGraph::new();
        let user = IdentityKey::user(P, "u");
        let (a, b, c) = (
            IdentityKey::group(P, "A"),
            IdentityKey::group(P, "B"),
            IdentityKey::group(P, "C"),
        );
        let granted = IdentityKey::virtual_group(P, "Granted");
        let outer = IdentityKey::group(P, "ContainsGranted");
        graph.add_member(&a, &user);
        graph.add_member(&b, &a);
        graph.add_member(&c, &b);
        graph.add_member(&a, &c); // cycle A -> C -> B -> A
        graph.add_well_known(&b, &granted);
        graph.add_member(&outer, &granted);
        let expansion = graph.expand(&Viewer::Identity(user.clone()));
        assert_eq!(
            names(&graph, &Viewer::Identity(user)),
            ["A", "B", "C", "ContainsGranted", "Granted", "u"]
        );
        let chain = expansion.chain_to(&graph, &outer).unwrap();
        let relations: Vec<Relation> = chain.0.iter().map(|l| l.relation).collect();
        assert_eq!(
            relations,
            [
                Relation::Viewer,
                Relation::MemberOf,
                Relation::MemberOf,
                Relation::GrantedTo,
                Relation::MemberOf
            ]
        );
    }

    #[test]
    fn anonymous_resolves_to_nothing_and_a_stranger_to_itself() {
        let graph = reference_graph();
        assert!(graph.expand(&Viewer::Anonymous).is_empty());
        let stranger = IdentityKey::user(EMAIL, "nobody@example.com");
        let expansion = graph.expand(&Viewer::Identity(stranger.clone()));
        assert_eq!(expansion.len(), 1);
        assert!(expansion.contains_key(&graph, &stranger));
        assert_eq!(expansion.reached(&graph).len(), 1);
    }

    #[test]
    fn pushing_a_group_again_replaces_its_members_and_disabling_cuts_it_off() {
        let mut graph = reference_graph();
        let bjones = Viewer::Identity(IdentityKey::user(P, "bjones"));
        let team1_without_bjones: IdentityBody =
            serde_json::from_value(json!({"identity": {"name": "SampleTeam1", "type": "GROUP"},
            "members": [{"name": "asmith", "type": "USER"}]}))
            .unwrap();
        graph.put_identity(P, &team1_without_bjones);
        assert_eq!(names(&graph, &bjones), ["bjones"]);
        let asmith = Viewer::Identity(IdentityKey::user(P, "asmith"));
        graph.disable_identity(P, &Identity::new("SampleTeam1", IdentityType::Group));
        assert_eq!(names(&graph, &asmith), ["asmith"]);
        assert!(!graph.is_known(&IdentityKey::group(P, "SampleTeam1")));
        assert!(graph.is_known(&IdentityKey::user(P, "asmith")));
    }

    #[test]
    fn the_same_name_with_another_type_or_provider_is_another_identity() {
        let graph = reference_graph();
        assert!(graph.id_of(&IdentityKey::group(P, "SampleTeam1")).is_some());
        assert!(graph.id_of(&IdentityKey::user(P, "SampleTeam1")).is_none());
        assert!(graph
            .id_of(&IdentityKey::group("Other", "SampleTeam1"))
            .is_none());
        let entry = PermissionIdentity::group("SampleTeam1");
        assert!(
            graph.id_of_entry(&entry, P).is_some(),
            "an entry without provider names the default provider"
        );
        assert!(graph.id_of_entry(&entry, EMAIL).is_none());
    }
}
