//! The querying user: who is asking "can I see this item?", resolved once, the same way for
//! every front (the CLI's `access explain|who|what`, the app's View as / who can see / what a
//! user can see / rule preview, the emulator's search-as), and the one access analysis built
//! on it (reference §4.2–§4.6 and §5).
//!
//! A person types a name (`asmith`, `emitchell@example.com`), optionally with a provider. The
//! resolution ([`AccessAnalysis::resolve`]) turns it into every identity that person holds,
//! each with the [`Chain`] that reached it:
//!
//! 1. **Authentication.** The person is the USER of that name in the Email Security Provider
//!    (where query-time users live, reference §4.2), or in the provider they name.
//! 2. **Cascading.** Providers cascade (`cascadingSecurityProviders`, as the provider Pushdeck
//!    creates cascades to the Email Security Provider, reference §2.8): a USER of the same name
//!    in a provider that cascades, directly or through others, to the authentication provider
//!    is the same person (chain link [`Relation::Viewer`](crate::Relation::Viewer), read "same
//!    user"). When the person names a provider that itself cascades, the providers it cascades
//!    to count too (`zed` of P is `zed` of the Email Security Provider, and so of every other
//!    provider cascading there).
//! 3. **Aliases.** Every identity, in any provider, mapped to an identity already held (§4.2
//!    step 2), transitively: aliases of aliases.
//! 4. **Groups, virtual groups, granted identities** (§4.2 steps 3–4), transitively, to a fixed
//!    point (cycles end). Disabled identities are not reached.
//!
//! [`AccessAnalysis::explain`] then evaluates an item for the person (the rules of
//! [`crate::evaluate`]) and says why in words: `emitchell@example.com (Email Security
//! Provider) → alias MysteryUserX (P) → level 2, set 2`.
//!
//! # Readings chosen where the reference is silent or ambiguous
//!
//! Each choice below is the documented reading or the closest to it. When the other reading
//! would give another answer for an item, the answer says so: [`AccessAnswer::uncertain`] is
//! true and [`AccessAnswer::other_readings`] holds the other answer and its chains, so a
//! preview can show both.
//!
//! - **Letter case of names**: names are compared exactly, as the identity graph stores them
//!   (identity types and property names are documented as case-insensitive; names are not).
//!   Other reading, [`Reading::NamesIgnoringCase`]: the person's name and permission entries
//!   matched ignoring case (group memberships stay as pushed).
//! - **Same name in a provider that does not cascade** (or that the configuration does not
//!   list): another person. Other reading, [`Reading::SameNameInAnyProvider`].
//! - **A same-named USER that has mappings**: a USER of a cascading provider that is mapped
//!   (aliased) to some identity is the person its mappings name, not the person who happens to
//!   share its name (the mapping is the documented way to say who it is; e.g. `MysteryUserX`
//!   of P is emitchell, not a user called `MysteryUserX`). Other reading,
//!   [`Reading::AliasedUserByName`].
//! - **Cascading applies to the person's own name**, not again to identities reached through
//!   aliases or groups; aliases are followed backwards only (an identity mapped *to* one the
//!   person holds, §4.2), never from an alias to its target.
//! - **A level allowed in some of its sets and denied in none** (§4.5): inconclusive, the next
//!   level decides (the reference's recommendation). Other reading, [`Reading::StricterLevels`]:
//!   such a level hides the item. It is raised only when a *named identity* allowed one of the
//!   sets: in Coveo's documented complete example emitchell is allowed at level 1 only by
//!   `allowAnonymous`, and the documentation shows her the item, so a set that allows anyone
//!   does not make a user "specified" at that level. (The older
//!   [`Explanation::uncertain_level`] flags that case too; this analysis does not.)
//! - **An item without permissions** (no rule applies): visible to every person; the source's
//!   visibility decides (SHARED, SECURED), which is outside this crate. An empty permissions
//!   array is another thing: nobody can see the item (§4.4).
//! - **Anonymous** holds no identity: only `allowAnonymous` lets them in.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::evaluate::{
    explain_expanded, explain_matching, AccessContext, AccessIndex, Decision, Explanation,
    LevelOutcome, SetOutcome, Visibility,
};
use crate::graph::{
    describe_identity, Chain, Expansion, IdentityGraph, IdentityId, IdentityKey, Viewer,
};
use crate::model::{IdentityType, PermissionModel};

/// The id of the built-in provider every organization has, where query-time users live.
pub const EMAIL_SECURITY_PROVIDER: &str = "Email Security Provider";

// ---------------------------------------------------------------------------------------------
// Providers
// ---------------------------------------------------------------------------------------------

/// One security identity provider, as the Platform API describes it (reference §2.8):
/// `{"id", "type", "cascadingSecurityProviders"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderConfig {
    pub id: String,
    /// `EMAIL` for the Email Security Provider, `EXPANDED` for the providers Pushdeck creates.
    #[serde(rename = "type", default = "expanded")]
    pub provider_type: String,
    /// The providers this one cascades to, by id. Read from a list of ids or from the
    /// Platform API's object (`{"EmailSecurityProvider": {"id": "Email Security Provider",
    /// "type": "EMAIL"}}`); written as a list.
    #[serde(default, deserialize_with = "cascading_ids")]
    pub cascading_security_providers: Vec<String>,
}

fn expanded() -> String {
    "EXPANDED".to_owned()
}

/// A list of ids, or the Platform API's object of `{"id": ...}` values (the key when no id).
fn cascading_ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    use serde_json::Value;
    Ok(match Value::deserialize(d)? {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::String(id) => Some(id),
                Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
                _ => None,
            })
            .collect(),
        Value::Object(map) => map
            .into_iter()
            .map(|(key, v)| {
                v.get("id")
                    .and_then(Value::as_str)
                    .map_or(key, str::to_owned)
            })
            .collect(),
        other => {
            return Err(serde::de::Error::custom(format!(
                "cascadingSecurityProviders must be a list or an object, not {other}"
            )))
        }
    })
}

impl ProviderConfig {
    pub fn new(
        id: impl Into<String>,
        provider_type: impl Into<String>,
        cascading: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            id: id.into(),
            provider_type: provider_type.into(),
            cascading_security_providers: cascading.into_iter().map(Into::into).collect(),
        }
    }

    /// The built-in Email Security Provider (type `EMAIL`, cascades nowhere).
    pub fn email() -> Self {
        Self::new(EMAIL_SECURITY_PROVIDER, "EMAIL", Vec::<String>::new())
    }

    /// A provider as Pushdeck creates it: `EXPANDED`, cascading to the Email Security Provider.
    pub fn cascading_to_email(id: impl Into<String>) -> Self {
        Self::new(id, "EXPANDED", [EMAIL_SECURITY_PROVIDER])
    }

    /// A provider that cascades nowhere.
    pub fn standalone(id: impl Into<String>) -> Self {
        Self::new(id, "EXPANDED", Vec::<String>::new())
    }

    pub fn is_email(&self) -> bool {
        self.provider_type.eq_ignore_ascii_case("EMAIL")
    }
}

/// The providers of an organization (or of a local preview): which exist, where each
/// cascades, and which is the Email Security Provider. Always holds an Email Security Provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<ProviderConfig>", into = "Vec<ProviderConfig>")]
pub struct Providers {
    configs: Vec<ProviderConfig>,
}

impl Default for Providers {
    fn default() -> Self {
        Self::new()
    }
}

impl From<Vec<ProviderConfig>> for Providers {
    fn from(configs: Vec<ProviderConfig>) -> Self {
        configs.into_iter().fold(Self::new(), Self::with)
    }
}

impl From<Providers> for Vec<ProviderConfig> {
    fn from(providers: Providers) -> Self {
        providers.configs
    }
}

impl Providers {
    /// Only the Email Security Provider.
    pub fn new() -> Self {
        Self {
            configs: vec![ProviderConfig::email()],
        }
    }

    /// The Email Security Provider and `ids`, each cascading to it, as Pushdeck creates its
    /// providers (`pushdeck providers create`, the Sandbox's providers).
    pub fn pushdeck<S: Into<String>>(ids: impl IntoIterator<Item = S>) -> Self {
        ids.into_iter()
            .map(ProviderConfig::cascading_to_email)
            .fold(Self::new(), Self::with)
    }

    /// Adds `config`, or replaces the provider with the same id. A provider of type `EMAIL`
    /// replaces the built-in one when the built-in one was never configured otherwise.
    pub fn with(mut self, config: ProviderConfig) -> Self {
        if config.is_email() && config.id != EMAIL_SECURITY_PROVIDER {
            self.configs.retain(|c| *c != ProviderConfig::email());
        }
        match self.configs.iter_mut().find(|c| c.id == config.id) {
            Some(slot) => *slot = config,
            None => self.configs.push(config),
        }
        self
    }

    pub fn configs(&self) -> &[ProviderConfig] {
        &self.configs
    }

    pub fn get(&self, id: &str) -> Option<&ProviderConfig> {
        self.configs.iter().find(|c| c.id == id)
    }

    /// The id of the Email Security Provider: the provider of type `EMAIL`.
    pub fn email_provider(&self) -> &str {
        self.configs
            .iter()
            .find(|c| c.is_email())
            .map_or(EMAIL_SECURITY_PROVIDER, |c| c.id.as_str())
    }

    /// Where a mapping without `provider` goes (reference §5): the one provider `id` cascades
    /// to; `None` when it cascades to none or to several.
    pub fn cascade_target(&self, id: &str) -> Option<&str> {
        match self
            .get(id)
            .map(|c| c.cascading_security_providers.as_slice())
        {
            Some([one]) => Some(one.as_str()),
            _ => None,
        }
    }

    /// True when `from` cascades to `to`, directly or through other providers (not itself).
    pub fn cascades_to(&self, from: &str, to: &str) -> bool {
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut stack = vec![from];
        while let Some(current) = stack.pop() {
            for next in self
                .get(current)
                .into_iter()
                .flat_map(|c| &c.cascading_security_providers)
            {
                if next == to {
                    return true;
                }
                if seen.insert(next) {
                    stack.push(next);
                }
            }
        }
        false
    }

    /// Every provider id the configuration names (configured or cascaded to).
    fn ids(&self) -> BTreeSet<&str> {
        self.configs
            .iter()
            .flat_map(|c| {
                std::iter::once(c.id.as_str())
                    .chain(c.cascading_security_providers.iter().map(String::as_str))
            })
            .collect()
    }

    /// The providers in which a USER named like the person is the person, for a person who
    /// authenticates in `provider`: `provider`, the providers it cascades to, and every
    /// provider cascading to one of those.
    pub fn same_person_providers(&self, provider: &str) -> BTreeSet<String> {
        let ids = self.ids();
        let down: Vec<&str> = std::iter::once(provider)
            .chain(
                ids.iter()
                    .copied()
                    .filter(|t| self.cascades_to(provider, t)),
            )
            .collect();
        let mut out: BTreeSet<String> = down.iter().map(|p| (*p).to_owned()).collect();
        for id in ids {
            if down.iter().any(|t| self.cascades_to(id, t)) {
                out.insert(id.to_owned());
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// The querying user
// ---------------------------------------------------------------------------------------------

/// Who is asking, as a person names them: a user name, optionally with the provider they
/// authenticate in (default: the Email Security Provider), or anonymous.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum QueryingUser {
    Anonymous,
    User {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provider: Option<String>,
    },
}

impl QueryingUser {
    /// A user of the Email Security Provider.
    pub fn named(name: impl Into<String>) -> Self {
        Self::User {
            name: name.into(),
            provider: None,
        }
    }

    /// A user who authenticates in `provider`.
    pub fn in_provider(name: impl Into<String>, provider: impl Into<String>) -> Self {
        Self::User {
            name: name.into(),
            provider: Some(provider.into()),
        }
    }

    /// The name (`None` when anonymous).
    pub fn name(&self) -> Option<&str> {
        match self {
            Self::Anonymous => None,
            Self::User { name, .. } => Some(name),
        }
    }

    /// The provider the person named (`None` for the Email Security Provider or anonymous).
    pub fn provider(&self) -> Option<&str> {
        match self {
            Self::Anonymous => None,
            Self::User { provider, .. } => provider.as_deref(),
        }
    }
}

impl fmt::Display for QueryingUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Anonymous => f.write_str("anonymous"),
            Self::User {
                name,
                provider: None,
            } => f.write_str(name),
            Self::User {
                name,
                provider: Some(provider),
            } => write!(f, "{name} ({provider})"),
        }
    }
}

/// A reading of the documentation other than the one this crate chose (see the module
/// documentation for each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Reading {
    /// A level allowed (through a named identity) in some of its sets and denied in none hides
    /// the item (§4.5).
    StricterLevels,
    /// Names compared ignoring letter case: the person's name and permission entries.
    NamesIgnoringCase,
    /// A USER of the same name in a provider that does not cascade to the person's provider is
    /// the same person.
    SameNameInAnyProvider,
    /// A same-named USER of a cascading provider is the same person even when it is mapped
    /// (aliased) to another identity.
    AliasedUserByName,
}

/// One identity the person holds, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReachedIdentity {
    pub identity: IdentityKey,
    pub chain: Chain,
    /// [`Chain::describe`].
    pub text: String,
}

/// Identities another reading would give the person from the start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadingNote {
    pub reading: Reading,
    pub also: Vec<IdentityKey>,
}

/// Names folded for the [`Reading::NamesIgnoringCase`] lookup.
type FoldedKey = (String, String, IdentityType);

fn fold(name: &str) -> String {
    name.to_lowercase()
}

fn folded_key(key: &IdentityKey) -> FoldedKey {
    (key.provider.clone(), fold(&key.name), key.identity_type)
}

#[derive(Debug, Clone)]
struct Alternative {
    reading: Reading,
    also: Vec<IdentityKey>,
    expansion: Expansion,
    /// For [`Reading::NamesIgnoringCase`]: reached identities by folded key, shortest chain.
    folded: Option<HashMap<FoldedKey, Chain>>,
}

/// A querying user resolved against one identity graph and provider configuration: every
/// identity they hold with its chain, and what other readings would add.
#[derive(Debug, Clone)]
pub struct ResolvedViewer {
    user: QueryingUser,
    viewer: Viewer,
    expansion: Expansion,
    alternatives: Vec<Alternative>,
}

impl ResolvedViewer {
    pub fn user(&self) -> &QueryingUser {
        &self.user
    }

    /// The identity the person authenticates as (for the APIs that take a [`Viewer`]).
    pub fn viewer(&self) -> &Viewer {
        &self.viewer
    }

    /// Every identity the person holds under the chosen reading.
    pub fn expansion(&self) -> &Expansion {
        &self.expansion
    }

    /// Every identity the person holds with its chain in words, nearest first (the person,
    /// then by chain length, then by key).
    pub fn identities(&self, graph: &IdentityGraph) -> Vec<ReachedIdentity> {
        let mut all: Vec<ReachedIdentity> = self
            .expansion
            .reached(graph)
            .into_iter()
            .map(|(identity, chain)| ReachedIdentity {
                text: chain.describe(),
                identity,
                chain,
            })
            .collect();
        all.sort_by(|a, b| (a.chain.0.len(), &a.identity).cmp(&(b.chain.0.len(), &b.identity)));
        all
    }

    /// Identities the other readings would count as the person (empty lists left out).
    pub fn reading_notes(&self) -> Vec<ReadingNote> {
        self.alternatives
            .iter()
            .filter(|a| !a.also.is_empty())
            .map(|a| ReadingNote {
                reading: a.reading,
                also: a.also.clone(),
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------

/// One reason for an answer: a set of the deciding level and the chain through which it
/// allowed or denied the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Because {
    pub level: usize,
    pub set: usize,
    pub outcome: SetOutcome,
    /// Allowed through `allowAnonymous` only (no chain).
    pub through_anonymous: bool,
    pub chain: Option<Chain>,
    /// `emitchell@example.com (Email Security Provider) → alias MysteryUserX (P) → level 2,
    /// set 2`, or `anyone (allowAnonymous) → set 1`.
    pub text: String,
}

/// The answer under another reading, when it differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OtherReading {
    pub reading: Reading,
    pub visibility: Visibility,
    /// What the reading says and what it changes, in one sentence.
    pub text: String,
    pub because: Vec<Because>,
}

/// Can this person see this item, and why: the one answer every front shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessAnswer {
    pub user: QueryingUser,
    /// The identity the person authenticates as.
    pub viewer: Viewer,
    pub visibility: Visibility,
    /// One sentence: `asmith: visible: every set of level 1 allows them`.
    pub summary: String,
    /// The sets of the deciding level that decided, each with its chain; empty when no level
    /// decided or the item has no permissions.
    pub because: Vec<Because>,
    /// True when another reading of the documentation gives another answer.
    pub uncertain: bool,
    pub other_readings: Vec<OtherReading>,
    /// Level by level, set by set; `None` when the item has no permissions.
    pub explanation: Option<Explanation>,
}

impl AccessAnswer {
    pub fn is_visible(&self) -> bool {
        self.visibility == Visibility::Visible
    }
}

impl fmt::Display for AccessAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary)?;
        for because in &self.because {
            write!(f, "\n  {}", because.text)?;
        }
        for other in &self.other_readings {
            write!(f, "\n  uncertain: {}", other.text)?;
            for because in &other.because {
                write!(f, "\n    {}", because.text)?;
            }
        }
        Ok(())
    }
}

fn position(complete: bool, level: usize, set: usize) -> String {
    if complete {
        format!("level {}, set {}", level + 1, set + 1)
    } else {
        format!("set {}", set + 1)
    }
}

fn because_at(explanation: &Explanation, level: usize, outcome: SetOutcome) -> Vec<Because> {
    let Some(level_explanation) = explanation.levels.get(level) else {
        return Vec::new();
    };
    level_explanation
        .sets
        .iter()
        .filter(|s| s.outcome == outcome)
        .map(|s| {
            let matched = match outcome {
                SetOutcome::Denied => s.denied_by.first(),
                _ => s.allowed_by.first(),
            };
            let at = position(explanation.complete_model, level, s.index);
            let chain = matched.map(|m| m.chain.clone());
            let text = match &chain {
                Some(chain) => format!("{} → {at}", chain.describe()),
                None => format!("anyone (allowAnonymous) → {at}"),
            };
            Because {
                level,
                set: s.index,
                outcome,
                through_anonymous: chain.is_none(),
                chain,
                text,
            }
        })
        .collect()
}

fn because_of(explanation: &Explanation) -> Vec<Because> {
    match explanation.decision {
        Decision::AllowedAtLevel { level } => because_at(explanation, level, SetOutcome::Allowed),
        Decision::DeniedAtLevel { level } => because_at(explanation, level, SetOutcome::Denied),
        Decision::NoLevelDecided => Vec::new(),
    }
}

fn summary_of(user: &QueryingUser, explanation: &Explanation, model: &PermissionModel) -> String {
    let complete = explanation.complete_model;
    match explanation.decision {
        Decision::AllowedAtLevel { level } if complete => {
            format!(
                "{user}: visible: every set of level {} allows them",
                level + 1
            )
        }
        Decision::AllowedAtLevel { .. } => {
            format!("{user}: visible: every permission set allows them")
        }
        Decision::DeniedAtLevel { level } => {
            let set = explanation.levels[level]
                .sets
                .iter()
                .find(|s| s.outcome == SetOutcome::Denied)
                .map_or(0, |s| s.index);
            format!(
                "{user}: hidden: {} denies them",
                position(complete, level, set)
            )
        }
        Decision::NoLevelDecided if model.permission_count() == 0 && !any_anonymous(model) => {
            format!("{user}: hidden: the item's permissions allow nobody")
        }
        Decision::NoLevelDecided if complete => {
            format!("{user}: hidden: no level allows or denies them")
        }
        Decision::NoLevelDecided => {
            let set = explanation
                .levels
                .first()
                .and_then(|l| l.sets.iter().find(|s| s.outcome != SetOutcome::Allowed))
                .map_or(0, |s| s.index);
            format!(
                "{user}: hidden: {} does not allow them",
                position(false, 0, set)
            )
        }
    }
}

fn any_anonymous(model: &PermissionModel) -> bool {
    model
        .levels()
        .iter()
        .flat_map(|l| &l.permission_sets)
        .any(|s| s.allow_anonymous)
}

/// The first level before the deciding one that a named identity allowed in some but not all
/// sets, denied in none: the stricter reading of §4.5 would hide the item there.
fn stricter_level(explanation: &Explanation) -> Option<usize> {
    let Decision::AllowedAtLevel { level: decided } = explanation.decision else {
        return None;
    };
    explanation
        .levels
        .iter()
        .take(decided)
        .find(|l| {
            l.outcome == LevelOutcome::PartlyAllowed
                && l.sets
                    .iter()
                    .any(|s| s.outcome == SetOutcome::Allowed && !s.allowed_by.is_empty())
        })
        .map(|l| l.index)
}

fn keys_text(keys: &[IdentityKey]) -> String {
    keys.iter()
        .map(describe_identity)
        .collect::<Vec<_>>()
        .join(", ")
}

fn verdict(visibility: Visibility) -> &'static str {
    match visibility {
        Visibility::Visible => "visible",
        Visibility::Hidden => "hidden",
    }
}

// ---------------------------------------------------------------------------------------------
// The analysis
// ---------------------------------------------------------------------------------------------

/// One viewer resolution and one access analysis over an identity graph and the providers'
/// configuration. Cheap to build (one pass over the graph's users); build one per request.
#[derive(Debug, Clone)]
pub struct AccessAnalysis<'a> {
    ctx: AccessContext<'a>,
    providers: &'a Providers,
    /// Active USER identities by folded name, every provider.
    users_by_folded_name: HashMap<String, Vec<IdentityId>>,
    /// [`Providers::same_person_providers`] of the Email Security Provider (most people).
    email_people: BTreeSet<String>,
}

impl<'a> AccessAnalysis<'a> {
    /// `default_provider`: the provider a permission entry without `securityProvider` names
    /// (the source's first provider, reference §4.1).
    pub fn new(
        graph: &'a IdentityGraph,
        providers: &'a Providers,
        default_provider: &'a str,
    ) -> Self {
        let mut users_by_folded_name: HashMap<String, Vec<IdentityId>> = HashMap::new();
        for (id, key) in graph.identities() {
            if key.identity_type == IdentityType::User {
                users_by_folded_name
                    .entry(fold(&key.name))
                    .or_default()
                    .push(id);
            }
        }
        Self {
            ctx: AccessContext::new(graph, default_provider),
            providers,
            users_by_folded_name,
            email_people: providers.same_person_providers(providers.email_provider()),
        }
    }

    pub fn context(&self) -> AccessContext<'a> {
        self.ctx
    }

    pub fn graph(&self) -> &'a IdentityGraph {
        self.ctx.graph
    }

    pub fn providers(&self) -> &'a Providers {
        self.providers
    }

    /// Every identity `user` holds, with its chain, and what the other readings would add.
    pub fn resolve(&self, user: &QueryingUser) -> ResolvedViewer {
        self.resolve_with(user, true)
    }

    /// [`resolve`](Self::resolve); without the other readings' expansions when `readings` is
    /// false (the index answers under the chosen readings only).
    fn resolve_with(&self, user: &QueryingUser, readings: bool) -> ResolvedViewer {
        let QueryingUser::User { name, provider } = user else {
            return ResolvedViewer {
                user: user.clone(),
                viewer: Viewer::Anonymous,
                expansion: Expansion::anonymous(),
                alternatives: Vec::new(),
            };
        };
        let graph = self.ctx.graph;
        let auth = provider
            .as_deref()
            .unwrap_or_else(|| self.providers.email_provider());
        let root = IdentityKey::user(auth, name.clone());
        let root_id = graph.id_of(&root);
        let other_people;
        let same_person = if auth == self.providers.email_provider() {
            &self.email_people
        } else {
            other_people = self.providers.same_person_providers(auth);
            &other_people
        };
        let mut strict = Vec::new();
        let (mut by_case, mut by_any_provider, mut by_aliased_name) =
            (Vec::new(), Vec::new(), Vec::new());
        for &id in self
            .users_by_folded_name
            .get(&fold(name))
            .into_iter()
            .flatten()
        {
            if Some(id) == root_id {
                continue;
            }
            let key = graph.key(id);
            let cascades = same_person.contains(&key.provider);
            if key.name != *name {
                if cascades {
                    by_case.push(id);
                }
            } else if !cascades {
                by_any_provider.push(id);
            } else if graph.mappings(id).next().is_some() {
                by_aliased_name.push(id);
            } else {
                strict.push(id);
            }
        }
        let expansion = graph.expand_person(&root, &strict);
        if !readings {
            return ResolvedViewer {
                user: user.clone(),
                viewer: Viewer::Identity(root),
                expansion,
                alternatives: Vec::new(),
            };
        }
        let alternative = |reading: Reading, extra: Vec<IdentityId>| {
            let expansion = if extra.is_empty() {
                expansion.clone()
            } else {
                let starts: Vec<IdentityId> = strict.iter().chain(&extra).copied().collect();
                graph.expand_person(&root, &starts)
            };
            let folded = (reading == Reading::NamesIgnoringCase).then(|| {
                let mut map: HashMap<FoldedKey, Chain> = HashMap::new();
                for (key, chain) in expansion.reached(graph) {
                    let slot = map.entry(folded_key(&key)).or_insert_with(|| chain.clone());
                    if chain.0.len() < slot.0.len() {
                        *slot = chain;
                    }
                }
                map
            });
            Alternative {
                reading,
                also: extra.iter().map(|id| graph.key(*id).clone()).collect(),
                expansion,
                folded,
            }
        };
        let mut alternatives = vec![alternative(Reading::NamesIgnoringCase, by_case)];
        for (reading, extra) in [
            (Reading::SameNameInAnyProvider, by_any_provider),
            (Reading::AliasedUserByName, by_aliased_name),
        ] {
            if !extra.is_empty() {
                alternatives.push(alternative(reading, extra));
            }
        }
        ResolvedViewer {
            user: user.clone(),
            viewer: Viewer::Identity(root),
            expansion,
            alternatives,
        }
    }

    /// Can `user` see an item with `model` (`None`: the item has no permissions), and why.
    pub fn explain(&self, model: Option<&PermissionModel>, user: &QueryingUser) -> AccessAnswer {
        self.explain_resolved(model, &self.resolve(user))
    }

    /// [`explain`](Self::explain) for a user resolved once (many items: search-as, what a
    /// user can see).
    pub fn explain_resolved(
        &self,
        model: Option<&PermissionModel>,
        viewer: &ResolvedViewer,
    ) -> AccessAnswer {
        let user = &viewer.user;
        let Some(model) = model else {
            return AccessAnswer {
                user: user.clone(),
                viewer: viewer.viewer.clone(),
                visibility: Visibility::Visible,
                summary: format!(
                    "{user}: visible: the item has no permissions (no rule applies), so the \
                     source's visibility decides"
                ),
                because: Vec::new(),
                uncertain: false,
                other_readings: Vec::new(),
                explanation: None,
            };
        };
        let ctx = &self.ctx;
        let explanation = explain_expanded(ctx, model, &viewer.viewer, &viewer.expansion);
        let visibility = explanation.visibility;
        let mut other_readings = Vec::new();
        if let Some(level) = stricter_level(&explanation) {
            let mut because = because_at(&explanation, level, SetOutcome::Allowed);
            because.extend(because_at(&explanation, level, SetOutcome::Unspecified));
            because.sort_by_key(|b| b.set);
            for b in &mut because {
                if b.outcome == SetOutcome::Unspecified {
                    b.chain = None;
                    b.through_anonymous = false;
                    b.text = format!(
                        "not allowed → {}",
                        position(explanation.complete_model, level, b.set)
                    );
                }
            }
            other_readings.push(OtherReading {
                reading: Reading::StricterLevels,
                visibility: Visibility::Hidden,
                text: format!(
                    "if a level that allows them in some of its sets and denies them in none \
                     hid the item (reference §4.5), level {} would hide it: hidden",
                    level + 1
                ),
                because,
            });
        }
        for alternative in &viewer.alternatives {
            let other = match &alternative.folded {
                Some(folded) => explain_matching(ctx, model, &viewer.viewer, &|key| {
                    folded.get(&folded_key(key)).cloned()
                }),
                None => explain_expanded(ctx, model, &viewer.viewer, &alternative.expansion),
            };
            if other.visibility == visibility {
                continue;
            }
            let also = keys_text(&alternative.also);
            let condition = match alternative.reading {
                Reading::NamesIgnoringCase if also.is_empty() => {
                    "if names were compared ignoring letter case".to_owned()
                }
                Reading::NamesIgnoringCase => format!(
                    "if names were compared ignoring letter case ({also} would be them too)"
                ),
                Reading::SameNameInAnyProvider => format!(
                    "if a user of the same name in a provider that does not cascade to theirs \
                     were the same person ({also})"
                ),
                Reading::AliasedUserByName => format!(
                    "if a user of the same name mapped to another identity were still the same \
                     person ({also})"
                ),
                Reading::StricterLevels => String::new(),
            };
            other_readings.push(OtherReading {
                reading: alternative.reading,
                visibility: other.visibility,
                text: format!("{condition}: {}", verdict(other.visibility)),
                because: because_of(&other),
            });
        }
        AccessAnswer {
            user: user.clone(),
            viewer: viewer.viewer.clone(),
            visibility,
            summary: summary_of(user, &explanation, model),
            because: because_of(&explanation),
            uncertain: !other_readings.is_empty(),
            other_readings,
            explanation: Some(explanation),
        }
    }

    /// The people the identities know, as querying users (sorted): every USER of the Email
    /// Security Provider or of a provider cascading to it, by name (once per name), and the
    /// users of other providers with their provider. Users mapped to another identity are
    /// aliases of someone else, not people of their own. Anonymous is not included.
    pub fn people(&self) -> Vec<QueryingUser> {
        let graph = self.ctx.graph;
        let email_people = &self.email_people;
        let people: BTreeSet<QueryingUser> = graph
            .identities()
            .filter(|(id, key)| {
                key.identity_type == IdentityType::User && graph.mappings(*id).next().is_none()
            })
            .map(|(_, key)| {
                if email_people.contains(&key.provider) {
                    QueryingUser::named(key.name.clone())
                } else {
                    QueryingUser::in_provider(key.name.clone(), key.provider.clone())
                }
            })
            .collect();
        people.into_iter().collect()
    }

    /// Every person of [`people`](Self::people), then anonymous, with their answer for an
    /// item with `model` (`None`: no permissions).
    pub fn who_can_see(&self, model: Option<&PermissionModel>) -> Vec<AccessAnswer> {
        self.people()
            .iter()
            .chain([&QueryingUser::Anonymous])
            .map(|user| self.explain(model, user))
            .collect()
    }

    /// `user`'s answer for each item, in order (resolved once).
    pub fn what_can_see<'m>(
        &self,
        user: &QueryingUser,
        items: impl IntoIterator<Item = Option<&'m PermissionModel>>,
    ) -> Vec<AccessAnswer> {
        let viewer = self.resolve(user);
        items
            .into_iter()
            .map(|model| self.explain_resolved(model, &viewer))
            .collect()
    }

    /// The bitset index over `users` (position i is `users[i]`), for many items at once
    /// (previews over whole folders). It answers under the chosen readings; use
    /// [`explain`](Self::explain) for why and for the other readings. An item without
    /// permissions: [`AccessIndex::visible_to_item`] with `None`.
    pub fn index(&self, users: &[QueryingUser]) -> AccessIndex<'a> {
        let (viewers, expansions) = users
            .iter()
            .map(|user| {
                let resolved = self.resolve_with(user, false);
                (resolved.viewer, resolved.expansion)
            })
            .unzip();
        AccessIndex::from_expansions(self.ctx, viewers, expansions)
    }
}
