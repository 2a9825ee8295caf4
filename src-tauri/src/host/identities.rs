//! Security identities: the app's own store of the identities the person edits (users with
//! their aliases, groups and virtual groups with their members), their validation, the CSV
//! import, the push to the current target's provider, and the identity graph that "View as"
//! and "who can see" evaluate.
//!
//! Where things are and why:
//! - **The store** is `DATA_DIR/identities.json` ([`IDENTITIES_FILE`]), one list for both modes
//!   (try the identities in the Sandbox, then push the same list to the organization). It is
//!   versioned ([`STORE_VERSION`]), written atomically (a temporary file, then a rename), and a
//!   file the app cannot read is reported and never replaced: every write first reads it.
//! - **Seeding**: the Push API cannot list a provider's identities, but the Sandbox can. In
//!   Sandbox mode, while no store exists, the store is seeded from what the Sandbox's provider
//!   holds (the emulator's inspection API), so nothing set up there before is lost. An empty
//!   provider seeds nothing and writes nothing: the store appears with the first identities.
//!   Granted identities (`wellKnowns`) found there are kept through saves and pushes.
//! - **Pushing** sends one identity batch (reference §2.6 and §5): every user and group in
//!   `members`, every alias in `mappings`, and in `deleted` the identities this app pushed (or
//!   seeded from) to that provider before and that are gone from the list since. The reference
//!   puts deletions in the batch file ("there is no separate batch delete endpoint"); it is
//!   also safer than `permissions/olderthan`, which would disable every identity of the provider
//!   that the app did not push (a crawler's, another tool's) and that the app cannot list first.
//!   What was pushed is recorded per target (`organization/provider`) in the store. An alias
//!   maps to its user in the cascaded provider for an organization (as Coveo expects), and in
//!   the Sandbox's own provider in the Sandbox (so its "search as" agrees with the preview).
//! - **The graph** ([`Host::identity_graph`]) is built from the store, keyed by the target's
//!   provider, so the preview shows what the list says, saved or not yet pushed.
//!
//! Decided here: a group may list a user that has no line of its own (the Push API names users
//! through memberships, and the permissions crate counts every named identity as known); a
//! group or virtual group it lists must be in the list. Cycles of groups are accepted (the
//! permissions crate evaluates them to a fixed point); a group listing itself is refused as the
//! typo it always is. Names are unique regardless of letter case (as the UI's fake host).

use std::collections::{BTreeSet, HashMap, HashSet};

use permissions::{
    BaseIdentityBody, Identity, IdentityBatch, IdentityBody, IdentityGraph, IdentityType,
};

use super::*;

/// The store's file name, in the app's data directory.
pub const IDENTITIES_FILE: &str = "identities.json";
/// The store's format version. A file with a higher version comes from a newer Pushdeck and is
/// left alone; a lower one would be migrated here.
pub const STORE_VERSION: u32 = 1;
/// Problems named in one save error. More would make the message a wall of text; the person
/// fixes these and saves again to see the next ones.
const PROBLEMS_PER_MESSAGE: usize = 3;

/// Serializes every read-modify-write of the store (and a push with the record it writes), so
/// two commands never interleave. One lock for the process: the store is small and the
/// commands short, and tests running several hosts in one process only queue a little.
static STORE_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

// ---------------------------------------------------------------------------------------------
// The stored format (deliberately not the DTO: the file outlives wire-format changes)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum StoredKind {
    User,
    Group,
    VirtualGroup,
}

impl StoredKind {
    fn of(kind: IdentityKind) -> Option<Self> {
        match kind {
            IdentityKind::User => Some(Self::User),
            IdentityKind::Group => Some(Self::Group),
            IdentityKind::VirtualGroup => Some(Self::VirtualGroup),
            IdentityKind::Unknown => None,
        }
    }

    fn of_type(t: IdentityType) -> Option<Self> {
        match t {
            IdentityType::User => Some(Self::User),
            IdentityType::Group => Some(Self::Group),
            IdentityType::VirtualGroup => Some(Self::VirtualGroup),
            IdentityType::Unknown => None,
        }
    }

    fn dto(self) -> IdentityKind {
        match self {
            Self::User => IdentityKind::User,
            Self::Group => IdentityKind::Group,
            Self::VirtualGroup => IdentityKind::VirtualGroup,
        }
    }

    fn identity_type(self) -> IdentityType {
        match self {
            Self::User => IdentityType::User,
            Self::Group => IdentityType::Group,
            Self::VirtualGroup => IdentityType::VirtualGroup,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
            Self::VirtualGroup => "virtual group",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StoredRef {
    pub name: String,
    pub kind: StoredKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StoredIdentity {
    pub name: String,
    pub kind: StoredKind,
    /// Members of a group or virtual group (empty for a user).
    #[serde(default)]
    pub members: Vec<StoredRef>,
    /// Other names of a user (empty for a group).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Granted identities (`wellKnowns`) found in the Sandbox's provider when seeding. The
    /// editor does not show them; they are kept through saves (by name and kind) and sent on
    /// every push, because a push without them detaches them (reference §5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub well_knowns: Vec<StoredRef>,
}

impl StoredIdentity {
    fn dto(&self) -> SecurityIdentity {
        SecurityIdentity {
            name: self.name.clone(),
            kind: self.kind.dto(),
            members: self
                .members
                .iter()
                .map(|m| IdentityRef {
                    name: m.name.clone(),
                    kind: m.kind.dto(),
                })
                .collect(),
            aliases: self.aliases.clone(),
        }
    }
}

/// `identities.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IdentityStore {
    pub version: u32,
    pub identities: Vec<StoredIdentity>,
    /// Per target (`organization/provider`): the identities the app last pushed there (or found
    /// there when seeding), the only ones a later push may delete.
    #[serde(default)]
    pub pushed: BTreeMap<String, Vec<StoredRef>>,
}

impl Default for IdentityStore {
    fn default() -> Self {
        Self {
            version: STORE_VERSION,
            identities: Vec::new(),
            pushed: BTreeMap::new(),
        }
    }
}

fn store_error(path: &Path, why: impl std::fmt::Display) -> HostError {
    HostError::new(
        ErrorCode::Internal,
        format!(
            "The identities file {} cannot be read ({why}). The app leaves it as it is: fix it, or rename it to start from an empty list.",
            path.display()
        ),
    )
}

/// Reads the store; `None` when there is none yet.
pub(crate) fn read_store(path: &Path) -> Result<Option<IdentityStore>, HostError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(store_error(path, e)),
    };
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| store_error(path, e))?;
    let version = value["version"]
        .as_u64()
        .ok_or_else(|| store_error(path, "it has no format version"))?;
    if version > u64::from(STORE_VERSION) {
        return Err(HostError::new(
            ErrorCode::Conflict,
            format!(
                "The identities file {} was written by a newer version of Pushdeck (format {version}); update the app to edit it. The file was left as it is.",
                path.display()
            ),
        ));
    }
    let mut store: IdentityStore =
        serde_json::from_value(value).map_err(|e| store_error(path, e))?;
    // Older formats read as this one (none differs yet); the next write records the version.
    store.version = STORE_VERSION;
    Ok(Some(store))
}

/// Writes the store atomically: a temporary file beside it, flushed, then renamed over it.
pub(crate) fn write_store(path: &Path, store: &IdentityStore) -> Result<(), HostError> {
    use std::io::Write;
    let cannot = |e: &dyn std::fmt::Display| {
        HostError::new(
            ErrorCode::Internal,
            format!(
                "The identities could not be saved to {} ({e}); check the disk space and the folder's permissions.",
                path.display()
            ),
        )
    };
    let text = serde_json::to_vec_pretty(store).map_err(|e| cannot(&e))?;
    let tmp = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&tmp).map_err(|e| cannot(&e))?;
    file.write_all(&text)
        .and_then(|()| file.sync_all())
        .map_err(|e| cannot(&e))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(|e| cannot(&e))
}

// ---------------------------------------------------------------------------------------------
// Validation (pure)
// ---------------------------------------------------------------------------------------------

fn invalid(problems: Vec<String>) -> HostError {
    let shown = problems.len().min(PROBLEMS_PER_MESSAGE);
    let mut message = problems[..shown].join(" ");
    if problems.len() > shown {
        message.push_str(&format!(
            " ({} more problems after these.)",
            problems.len() - shown
        ));
    }
    HostError::new(ErrorCode::InvalidInput, message)
}

/// Checks the list the person wants to save and tidies it (names trimmed, empty and repeated
/// members and aliases dropped, the members of a user and the aliases of a group, which the
/// editor does not show, dropped). Every problem says what to change.
pub(crate) fn validate_identities(
    list: &[SecurityIdentity],
) -> Result<Vec<StoredIdentity>, HostError> {
    let mut problems = Vec::new();
    let mut out: Vec<StoredIdentity> = Vec::with_capacity(list.len());
    let mut seen: HashSet<String> = HashSet::new();
    for identity in list {
        let name = identity.name.trim();
        if name.is_empty() {
            problems.push("Every identity needs a name.".to_owned());
            continue;
        }
        let Some(kind) = StoredKind::of(identity.kind) else {
            problems.push(format!(
                "{name} has no kind; make it a user, a group or a virtual group."
            ));
            continue;
        };
        if !seen.insert(name.to_lowercase()) {
            problems.push(format!("{name} appears twice; names must be unique."));
            continue;
        }
        let mut members: Vec<StoredRef> = Vec::new();
        let mut aliases: Vec<String> = Vec::new();
        match kind {
            StoredKind::User => {
                for alias in identity.aliases.iter().map(|a| a.trim()) {
                    if !alias.is_empty() && !aliases.iter().any(|a| a == alias) {
                        aliases.push(alias.to_owned());
                    }
                }
            }
            StoredKind::Group | StoredKind::VirtualGroup => {
                for member in &identity.members {
                    let member_name = member.name.trim();
                    if member_name.is_empty() {
                        continue;
                    }
                    let Some(member_kind) = StoredKind::of(member.kind) else {
                        problems.push(format!(
                            "{name} lists {member_name} without a kind; name a user, a group or a virtual group."
                        ));
                        continue;
                    };
                    let r = StoredRef {
                        name: member_name.to_owned(),
                        kind: member_kind,
                    };
                    if !members.contains(&r) {
                        members.push(r);
                    }
                }
            }
        }
        out.push(StoredIdentity {
            name: name.to_owned(),
            kind,
            members,
            aliases,
            well_knowns: Vec::new(),
        });
    }
    // References, once every name is known.
    let exact: BTreeSet<(&str, StoredKind)> =
        out.iter().map(|i| (i.name.as_str(), i.kind)).collect();
    let by_lower: HashMap<String, &StoredIdentity> =
        out.iter().map(|i| (i.name.to_lowercase(), i)).collect();
    for identity in &out {
        for m in &identity.members {
            if m.name == identity.name && m.kind == identity.kind {
                problems.push(format!(
                    "{} lists itself as a member; remove it.",
                    identity.name
                ));
                continue;
            }
            if exact.contains(&(m.name.as_str(), m.kind)) {
                continue;
            }
            match by_lower.get(&m.name.to_lowercase()) {
                Some(other) => problems.push(format!(
                    "{} lists {} as a {}, but the list has {} as a {}; write the member exactly as the identity is named.",
                    identity.name, m.name, m.kind.word(), other.name, other.kind.word()
                )),
                // A user needs no line of its own to be a member (the Push API names users
                // through memberships).
                None if m.kind == StoredKind::User => {}
                None => problems.push(format!(
                    "{} lists {} as a {}, but there is no {} {} in the list; add it, or correct the name (a user's name is usually an email address).",
                    identity.name, m.name, m.kind.word(), m.kind.word(), m.name
                )),
            }
        }
        for alias in &identity.aliases {
            if alias.eq_ignore_ascii_case(&identity.name) {
                problems.push(format!(
                    "{} has its own name as an alias; remove the alias.",
                    identity.name
                ));
            } else if let Some(other) = by_lower.get(&alias.to_lowercase()) {
                problems.push(format!(
                    "{alias}, an alias of {}, is also the {} {} in the list; an alias is another name of one user, so remove one of them.",
                    identity.name, other.kind.word(), other.name
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(invalid(problems))
    }
}

// ---------------------------------------------------------------------------------------------
// CSV import (pure)
// ---------------------------------------------------------------------------------------------

/// Reads `name,kind,members,aliases` lines through the one identities CSV parser of both
/// fronts (`permissions::parse_identities_csv`: an optional header, members and aliases
/// separated by `;`, a problem per line that cannot be imported with what to write instead),
/// with the store's identities as `known` (the kind of a member the text does not declare),
/// and turns its answer into the UI's.
pub(crate) fn parse_csv(text: &str, known: &[StoredIdentity]) -> CsvImport {
    let known: Vec<Identity> = known
        .iter()
        .map(|i| Identity::new(i.name.clone(), i.kind.identity_type()))
        .collect();
    let parsed = permissions::parse_identities_csv(text, &known);
    let kind = |t: IdentityType| StoredKind::of_type(t).map(StoredKind::dto);
    CsvImport {
        identities: parsed
            .identities
            .into_iter()
            .filter_map(|i| {
                Some(SecurityIdentity {
                    kind: kind(i.identity_type)?,
                    members: i
                        .members
                        .into_iter()
                        .filter_map(|m| {
                            Some(IdentityRef {
                                kind: kind(m.identity_type)?,
                                name: m.name,
                            })
                        })
                        .collect(),
                    name: i.name,
                    aliases: i.aliases,
                })
            })
            .collect(),
        problems: parsed
            .problems
            .into_iter()
            .map(|p| CsvProblem {
                line: p.line,
                message: p.message,
            })
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Seeding from the Sandbox's provider (pure)
// ---------------------------------------------------------------------------------------------

/// One identity as the emulator's inspection API lists it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProviderRecord {
    identity: Identity,
    #[serde(default)]
    members: Vec<Identity>,
    #[serde(default)]
    mappings: Vec<ProviderMapping>,
    #[serde(default)]
    well_knowns: Vec<Identity>,
}

#[derive(Debug, Deserialize)]
struct ProviderMapping {
    identity: Identity,
}

fn refs(identities: &[Identity]) -> Vec<StoredRef> {
    identities
        .iter()
        .filter_map(|i| {
            StoredKind::of_type(i.identity_type).map(|kind| StoredRef {
                name: i.name.clone(),
                kind,
            })
        })
        .collect()
}

/// Carries the granted identities of `old` over to the identities of `new` with the same name
/// and kind (the editor neither shows nor sends them).
pub(crate) fn keep_well_knowns(new: &mut [StoredIdentity], old: &[StoredIdentity]) {
    let granted: HashMap<(&str, StoredKind), &Vec<StoredRef>> = old
        .iter()
        .filter(|i| !i.well_knowns.is_empty())
        .map(|i| ((i.name.as_str(), i.kind), &i.well_knowns))
        .collect();
    for identity in new.iter_mut() {
        if let Some(w) = granted.get(&(identity.name.as_str(), identity.kind)) {
            identity.well_knowns = (*w).clone();
        }
    }
}

/// The store seeded from the identities a provider holds: users, groups with their members,
/// and each alias (an identity mapped to a user) as an alias of that user. Identities the
/// store cannot represent (type Unknown) are left out, and so never deleted by a push.
pub(crate) fn seed_store(answer: &serde_json::Value, target: &str) -> IdentityStore {
    let records: Vec<ProviderRecord> = answer["identities"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| match serde_json::from_value(r.clone()) {
            Ok(record) => Some(record),
            Err(e) => {
                tracing::warn!("the identities list skips an identity it cannot read: {e}");
                None
            }
        })
        .collect();
    let mut identities: Vec<StoredIdentity> = Vec::new();
    let mut pushed: Vec<StoredRef> = Vec::new();
    let mut aliases: Vec<(String, String)> = Vec::new(); // (user, alias)
    for record in &records {
        let Some(kind) = StoredKind::of_type(record.identity.identity_type) else {
            continue;
        };
        let name = record.identity.name.clone();
        pushed.push(StoredRef {
            name: name.clone(),
            kind,
        });
        if kind == StoredKind::User && !record.mappings.is_empty() {
            for m in &record.mappings {
                aliases.push((m.identity.name.clone(), name.clone()));
            }
            continue;
        }
        identities.push(StoredIdentity {
            name,
            kind,
            members: refs(&record.members),
            aliases: Vec::new(),
            well_knowns: refs(&record.well_knowns),
        });
    }
    for (user, alias) in aliases {
        let index = match identities
            .iter()
            .position(|i| i.kind == StoredKind::User && i.name == user)
        {
            Some(i) => i,
            None => {
                // The aliased user lives in the cascaded provider (Email Security Provider).
                identities.push(StoredIdentity {
                    name: user,
                    kind: StoredKind::User,
                    members: Vec::new(),
                    aliases: Vec::new(),
                    well_knowns: Vec::new(),
                });
                identities.len() - 1
            }
        };
        if !identities[index].aliases.contains(&alias) {
            identities[index].aliases.push(alias);
        }
    }
    identities.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    pushed.sort();
    IdentityStore {
        version: STORE_VERSION,
        identities,
        pushed: BTreeMap::from([(target.to_owned(), pushed)]),
    }
}

// ---------------------------------------------------------------------------------------------
// Push plan and graph (pure)
// ---------------------------------------------------------------------------------------------

/// What one push sends: the batch, and the identities it leaves in the provider (recorded
/// after the API accepted it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PushPlan {
    pub batch: IdentityBatch,
    pub present: Vec<StoredRef>,
}

/// Every user and group as a member body (a group's push replaces its member list), every
/// alias as a mapping to its user(s) in `alias_provider` (`None`: the provider's cascaded
/// provider, as Coveo expects), and in `deleted` what `before` (the last push) had and the
/// list no longer has.
pub(crate) fn plan_push(
    identities: &[StoredIdentity],
    before: &[StoredRef],
    alias_provider: Option<&str>,
) -> PushPlan {
    let mut batch = IdentityBatch::default();
    let mut present: BTreeSet<StoredRef> = BTreeSet::new();
    for i in identities {
        let identity = Identity::new(i.name.clone(), i.kind.identity_type());
        let identities_of = |refs: &[StoredRef]| {
            refs.iter()
                .map(|r| Identity::new(r.name.clone(), r.kind.identity_type()))
                .collect()
        };
        batch.members.push(
            IdentityBody::new(identity)
                .members(identities_of(&i.members))
                .well_knowns(identities_of(&i.well_knowns)),
        );
        present.insert(StoredRef {
            name: i.name.clone(),
            kind: i.kind,
        });
    }
    batch.mappings = permissions::alias_bodies(
        identities.iter().flat_map(|i| {
            i.aliases
                .iter()
                .map(move |alias| (i.name.as_str(), alias.as_str()))
        }),
        alias_provider,
    );
    for body in &batch.mappings {
        present.insert(StoredRef {
            name: body.identity.name.clone(),
            kind: StoredKind::User,
        });
    }
    batch.deleted = before
        .iter()
        .filter(|r| !present.contains(r))
        .map(|r| BaseIdentityBody {
            identity: Identity::new(r.name.clone(), r.kind.identity_type()),
        })
        .collect();
    PushPlan {
        batch,
        present: present.into_iter().collect(),
    }
}

/// The identity graph of the list in `provider`: exactly what the provider holds once the list
/// is pushed there ([`plan_push`]'s batch applied as the service applies it, aliases mapped to
/// their users in the Email Security Provider, where Pushdeck's providers cascade), so the
/// preview evaluates what Coveo will evaluate, the way the CLI reads an identities file.
pub(crate) fn graph_of(identities: &[StoredIdentity], provider: &str) -> IdentityGraph {
    let mut graph = IdentityGraph::new();
    let plan = plan_push(identities, &[], None);
    graph.apply_batch(provider, &plan.batch, permissions::EMAIL_SECURITY_PROVIDER);
    graph
}

fn identity_push_error(e: &coveo_push::Error) -> HostError {
    use coveo_push::ErrorKind as K;
    let code = match e.kind() {
        K::Unauthorized => ErrorCode::Unauthorized,
        K::Forbidden => ErrorCode::Forbidden,
        K::NotFound { .. } => ErrorCode::NotFound,
        K::Throttled { .. } | K::QuotaReached { .. } => ErrorCode::Throttled,
        K::ServerError { .. } | K::Transport { .. } => ErrorCode::Network,
        K::PayloadTooLarge | K::Rejected { .. } | K::InvalidInput => ErrorCode::InvalidInput,
        _ => ErrorCode::Internal,
    };
    HostError::new(
        code,
        format!(
            "The identities were not pushed. {} Nothing was recorded as pushed.",
            e.explanation()
        ),
    )
}

/// Where identities go: the Sandbox's provider, or the connected organization's.
struct IdentityTarget {
    organization: String,
    provider: String,
    client: PushClient,
    sandbox: bool,
}

impl IdentityTarget {
    /// The store's key for what was pushed here.
    fn key(&self) -> String {
        format!("{}/{}", self.organization, self.provider)
    }
}

fn sandbox_target_key() -> String {
    format!("{SANDBOX_ORG}/{SANDBOX_PROVIDER}")
}

impl Host {
    // ---- the store -----------------------------------------------------------------------

    fn identities_path(&self) -> PathBuf {
        self.paths.data_dir.join(IDENTITIES_FILE)
    }

    /// The provider of the current target: the identities of the graph live there, and so do
    /// the identities the folder rules name (`FolderMapping::provider`).
    pub(crate) fn identity_provider(&self) -> String {
        let s = lock(&self.settings);
        match (&s.connection, s.use_organization) {
            (Some(c), true) => c.provider_id.clone(),
            _ => SANDBOX_PROVIDER.to_owned(),
        }
    }

    /// The store; in Sandbox mode with no store yet, seeded from the Sandbox's provider (and
    /// written, when there was something to seed). Call with [`STORE_LOCK`] held.
    async fn load_identities(&self) -> Result<IdentityStore, HostError> {
        let path = self.identities_path();
        if let Some(store) = read_store(&path)? {
            return Ok(store);
        }
        if self.get_app_state().await?.mode == ConnectionMode::Organization {
            return Ok(IdentityStore::default());
        }
        let answer = self
            .inspect(&format!(
                "/organizations/{SANDBOX_ORG}/providers/{SANDBOX_PROVIDER}/identities"
            ))
            .await?;
        let store = seed_store(&answer, &sandbox_target_key());
        if store.identities.is_empty() && store.pushed.values().all(Vec::is_empty) {
            return Ok(store);
        }
        write_store(&path, &store)?;
        Ok(store)
    }

    /// The security identities the person edits, in both modes (in the Sandbox, on first use,
    /// what its provider holds).
    pub async fn list_identities(&self) -> Result<Vec<SecurityIdentity>, HostError> {
        let _guard = STORE_LOCK.lock().await;
        let store = self.load_identities().await?;
        Ok(store.identities.iter().map(StoredIdentity::dto).collect())
    }

    /// Replaces the list after checking it (see [`validate_identities`]); nothing is pushed.
    pub async fn save_identities(&self, request: SaveIdentitiesRequest) -> Result<(), HostError> {
        let mut identities = validate_identities(&request.identities)?;
        let _guard = STORE_LOCK.lock().await;
        let mut store = self.load_identities().await?;
        keep_well_knowns(&mut identities, &store.identities);
        store.identities = identities;
        write_store(&self.identities_path(), &store)
    }

    /// What a CSV text would import (nothing is saved: the editor merges it into its list and
    /// the person saves).
    pub async fn import_identities_csv(
        &self,
        request: CsvImportRequest,
    ) -> Result<CsvImport, HostError> {
        // The saved list only sharpens the guess of member kinds: a store that cannot be read
        // (reported by list and save) does not stop reading the CSV.
        let known = {
            let _guard = STORE_LOCK.lock().await;
            self.load_identities()
                .await
                .map(|store| store.identities)
                .unwrap_or_default()
        };
        let text = request.text;
        tokio::task::spawn_blocking(move || parse_csv(&text, &known))
            .await
            .map_err(|e| internal("reading the CSV stopped unexpectedly", e))
    }

    fn identity_target(&self) -> Result<IdentityTarget, HostError> {
        let organization_mode = {
            let s = lock(&self.settings);
            s.use_organization && s.connection.is_some()
        };
        if !organization_mode {
            let client = PushClient::new(
                ClientConfig::new(SANDBOX_ORG, ApiKey::new(self.emulator.api_key())).with_endpoint(
                    Endpoint::custom(self.emulator.url())
                        .map_err(|e| internal("the Sandbox's address", e))?,
                ),
            )
            .map_err(|e| internal("cannot prepare the Sandbox's client", e))?;
            return Ok(IdentityTarget {
                organization: SANDBOX_ORG.into(),
                provider: SANDBOX_PROVIDER.into(),
                client,
                sandbox: true,
            });
        }
        let creds = lock(&self.credentials);
        let summary = creds.summary.clone().ok_or_else(|| {
            HostError::new(
                ErrorCode::InvalidInput,
                "No organization is connected; connect one, or switch to the Sandbox.",
            )
        })?;
        let key = creds.key.clone().ok_or_else(|| {
            HostError::new(
                ErrorCode::Unauthorized,
                format!(
                    "The app has no API key for organization {} in this run; connect again and type the key.",
                    summary.organization_id
                ),
            )
        })?;
        let client = PushClient::new(
            ClientConfig::new(&summary.organization_id, ApiKey::new(key))
                .with_endpoint(region_endpoint(summary.region, self.coveo_origin.as_ref())),
        )
        .map_err(|e| identity_push_error(&e))?;
        Ok(IdentityTarget {
            organization: summary.organization_id,
            provider: summary.provider_id,
            client,
            sandbox: false,
        })
    }

    /// Pushes the list to the target's provider in one identity batch (users and groups, then
    /// aliases, then the identities removed since the last push to that provider) and records
    /// what the provider holds now.
    pub async fn push_identities(&self) -> Result<IdentityPushResult, HostError> {
        let _guard = STORE_LOCK.lock().await;
        let mut store = self.load_identities().await?;
        let target = self.identity_target()?;
        let key = target.key();
        let before = store.pushed.get(&key).cloned().unwrap_or_default();
        // An alias maps to its user in the cascaded provider (the Email Security Provider), as
        // Coveo expects, in the Sandbox too: the preview (`graph_of`), the CLI and the
        // Sandbox's search-as resolve the person the same way (`permissions::QueryingUser`).
        let plan = plan_push(&store.identities, &before, None);
        let (pushed, removed) = (store.identities.len(), plan.batch.deleted.len());
        if plan.batch.is_empty() {
            return Ok(IdentityPushResult {
                pushed: 0,
                message: "There are no security identities to push; add users or groups first."
                    .into(),
            });
        }
        target
            .client
            .push_identity_batch(&target.provider, &plan.batch, None)
            .await
            .map_err(|e| identity_push_error(&e))?;
        store.pushed.insert(key, plan.present);
        write_store(&self.identities_path(), &store).map_err(|e| {
            HostError::new(
                e.code,
                format!(
                    "The identities were pushed, but the app could not record it, so identities removed later may stay in the provider. {}",
                    e.message
                ),
            )
        })?;
        let sent = match pushed {
            1 => "1 security identity was sent".to_owned(),
            n => format!("{n} security identities were sent"),
        };
        let removed = match removed {
            0 => String::new(),
            1 => ", and 1 removed".to_owned(),
            n => format!(", and {n} removed"),
        };
        let when = if target.sandbox {
            "The Sandbox applies them at once."
        } else {
            "Coveo applies them within a few minutes."
        };
        self.log_activity(
            ActivityKind::Identities,
            None,
            format!(
                "Pushed {pushed} security identities to provider {}",
                target.provider
            ),
            pushed as u64,
        );
        Ok(IdentityPushResult {
            pushed: pushed as u64,
            message: format!("{sent} to provider {}{removed}. {when}", target.provider),
        })
    }

    /// The identity graph of the list, in the current target's provider (see
    /// [`Host::identity_provider`]): what "View as" and "who can see" evaluate, in both modes.
    pub async fn identity_graph(&self) -> Result<IdentityGraph, HostError> {
        let store = {
            let _guard = STORE_LOCK.lock().await;
            self.load_identities().await?
        };
        Ok(graph_of(&store.identities, &self.identity_provider()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use permissions::IdentityKey;

    fn user(name: &str, aliases: &[&str]) -> SecurityIdentity {
        SecurityIdentity {
            name: name.into(),
            kind: IdentityKind::User,
            members: Vec::new(),
            aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
        }
    }

    fn group(name: &str, members: &[(&str, IdentityKind)]) -> SecurityIdentity {
        SecurityIdentity {
            name: name.into(),
            kind: IdentityKind::Group,
            members: members
                .iter()
                .map(|(n, k)| IdentityRef {
                    name: (*n).into(),
                    kind: *k,
                })
                .collect(),
            aliases: Vec::new(),
        }
    }

    fn message(list: &[SecurityIdentity]) -> String {
        let e = validate_identities(list).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput);
        e.message
    }

    #[test]
    fn validation_says_what_to_fix() {
        use IdentityKind::*;
        let cases: Vec<(Vec<SecurityIdentity>, &str)> = vec![
            (vec![user("  ", &[])], "Every identity needs a name."),
            (
                vec![user("ana@x.com", &[]), group("ANA@x.com", &[])],
                "ANA@x.com appears twice; names must be unique.",
            ),
            (
                vec![group("HR", &[("Editors", Group)])],
                "HR lists Editors as a group, but there is no group Editors in the list; add it",
            ),
            (
                vec![group("HR", &[("editors", Group)]), group("Editors", &[])],
                "HR lists editors as a group, but the list has Editors as a group; write the member exactly",
            ),
            (
                vec![group("HR", &[("HR", Group)])],
                "HR lists itself as a member; remove it.",
            ),
            (
                vec![user("ana@x.com", &["bob@x.com"]), user("bob@x.com", &[])],
                "bob@x.com, an alias of ana@x.com, is also the user bob@x.com in the list",
            ),
            (
                vec![SecurityIdentity {
                    kind: Unknown,
                    ..user("x", &[])
                }],
                "x has no kind; make it a user, a group or a virtual group.",
            ),
        ];
        for (list, expected) in cases {
            let got = message(&list);
            assert!(
                got.starts_with(expected),
                "{got:?} should start with {expected:?}"
            );
        }
    }

    #[test]
    fn validation_tidies_and_accepts_cycles_and_implicit_users() {
        use IdentityKind::*;
        let list = vec![
            group(
                " A ",
                &[("B", Group), ("B", Group), ("ana@x.com", User), (" ", User)],
            ),
            group("B", &[("A", Group)]),
            SecurityIdentity {
                members: vec![IdentityRef {
                    name: "A".into(),
                    kind: Group,
                }],
                ..user("bob@x.com", &["bobby", " bobby ", ""])
            },
        ];
        let stored = validate_identities(&list).unwrap();
        assert_eq!(stored[0].name, "A");
        assert_eq!(stored[0].members.len(), 2, "{stored:?}");
        assert!(
            stored[2].members.is_empty(),
            "a user's hidden members are dropped"
        );
        assert_eq!(stored[2].aliases, vec!["bobby".to_owned()]);
    }

    #[test]
    fn many_problems_are_cut_to_a_readable_message() {
        let list: Vec<SecurityIdentity> = (0..6).map(|_| user("", &[])).collect();
        assert_eq!(
            message(&list),
            "Every identity needs a name. Every identity needs a name. Every identity needs a name. (3 more problems after these.)"
        );
    }

    fn csv(text: &str) -> CsvImport {
        parse_csv(text, &[])
    }

    #[test]
    fn csv_reads_the_documented_columns_and_reports_lines() {
        let text = "name,kind,members,aliases\n\
                    Legal,group,asmith@example.com;Editors,\n\
                    Editors,Group,bob@example.com\n\
                    \n\
                    emitchell@example.com,user,,MysteryUserX; mx\n\
                    \"Sales, West\",virtual_group,Legal\n\
                    ,user\n\
                    x,robot\n\
                    y,user,a@b.c\n\
                    Legal,group\n\
                    z,group,a,b,c\n\
                    w\n";
        let import = csv(text);
        let names: Vec<(&str, IdentityKind)> = import
            .identities
            .iter()
            .map(|i| (i.name.as_str(), i.kind))
            .collect();
        assert_eq!(
            names,
            vec![
                ("Legal", IdentityKind::Group),
                ("Editors", IdentityKind::Group),
                ("emitchell@example.com", IdentityKind::User),
                ("Sales, West", IdentityKind::VirtualGroup),
            ]
        );
        assert_eq!(
            import.identities[0].members,
            vec![
                IdentityRef {
                    name: "asmith@example.com".into(),
                    kind: IdentityKind::User
                },
                IdentityRef {
                    name: "Editors".into(),
                    kind: IdentityKind::Group
                },
            ]
        );
        assert_eq!(import.identities[2].aliases, vec!["MysteryUserX", "mx"]);
        let problems: Vec<(u32, &str)> = import
            .problems
            .iter()
            .map(|p| (p.line, p.message.as_str()))
            .collect();
        assert_eq!(problems.len(), 6, "{problems:?}");
        assert_eq!(problems[0], (7, "The name is empty."));
        assert_eq!(
            problems[1],
            (
                8,
                "\"robot\" is not a kind; use user, group or virtualGroup."
            )
        );
        assert_eq!(problems[2].0, 9);
        assert!(problems[2].1.contains("users have no members"));
        assert_eq!(
            problems[3],
            (
                10,
                "Legal is on line 2 already; keep one line per identity."
            )
        );
        assert_eq!(problems[4].0, 11);
        assert!(problems[4]
            .1
            .contains("separate several members or aliases with ;"));
        assert_eq!(problems[5].0, 12);
        assert!(problems[5].1.starts_with("The kind is empty"));
    }

    #[test]
    fn csv_member_kinds_come_from_known_identities_first() {
        let known = validate_identities(&[SecurityIdentity {
            kind: IdentityKind::VirtualGroup,
            ..group("Everyone", &[])
        }])
        .unwrap();
        let import = parse_csv("\u{feff}HR,group,Everyone;nobody\n", &known);
        assert!(import.problems.is_empty(), "{:?}", import.problems);
        let kinds: Vec<IdentityKind> = import.identities[0]
            .members
            .iter()
            .map(|m| m.kind)
            .collect();
        assert_eq!(kinds, vec![IdentityKind::VirtualGroup, IdentityKind::Group]);
    }

    #[test]
    fn seeding_turns_mappings_into_aliases_of_their_user() {
        let answer = serde_json::json!({"identities": [
            {"identity": {"name": "HR", "type": "GROUP"}, "members": [{"name": "ana@x.com", "type": "USER"}], "mappings": [],
             "wellKnowns": [{"name": "Everyone", "type": "VIRTUAL_GROUP"}]},
            {"identity": {"name": "MysteryUserX", "type": "USER"}, "members": [], "mappings": [
                {"identity": {"name": "emitchell@x.com", "type": "USER"}, "provider": "Email Security Provider"}]},
            {"identity": {"name": "bob@x.com", "type": "USER"}, "members": [], "mappings": []},
            {"identity": {"name": "odd", "type": "UNKNOWN"}},
        ]});
        let store = seed_store(&answer, "sandbox/sandbox");
        let view: Vec<(&str, StoredKind, usize, Vec<String>)> = store
            .identities
            .iter()
            .map(|i| (i.name.as_str(), i.kind, i.members.len(), i.aliases.clone()))
            .collect();
        assert_eq!(
            view,
            vec![
                ("bob@x.com", StoredKind::User, 0, vec![]),
                (
                    "emitchell@x.com",
                    StoredKind::User,
                    0,
                    vec!["MysteryUserX".to_owned()]
                ),
                ("HR", StoredKind::Group, 1, vec![]),
            ]
        );
        let pushed = &store.pushed["sandbox/sandbox"];
        assert_eq!(
            pushed.len(),
            3,
            "odd (Unknown) is never recorded, so never deleted"
        );
        // Pushing the seed back deletes nothing and re-creates the alias.
        let plan = plan_push(&store.identities, pushed, None);
        assert!(plan.batch.deleted.is_empty(), "{:?}", plan.batch.deleted);
        assert_eq!(plan.batch.mappings[0].identity.name, "MysteryUserX");
        // HR's granted identity is pushed again, and kept when the editor saves HR.
        let hr = plan.batch.members.iter().find(|b| b.identity.name == "HR");
        assert_eq!(hr.unwrap().well_knowns[0].name, "Everyone");
        let mut saved = validate_identities(&[SecurityIdentity {
            name: "HR".into(),
            kind: IdentityKind::Group,
            members: vec![],
            aliases: vec![],
        }])
        .unwrap();
        keep_well_knowns(&mut saved, &store.identities);
        assert_eq!(saved[0].well_knowns.len(), 1);
    }

    #[test]
    fn a_push_deletes_only_what_an_earlier_push_left_and_the_list_lost() {
        let list = validate_identities(&[
            user("ana@x.com", &["ana"]),
            group("HR", &[("ana@x.com", IdentityKind::User)]),
        ])
        .unwrap();
        let first = plan_push(&list, &[], None);
        assert_eq!(first.batch.members.len(), 2);
        assert_eq!(first.batch.mappings.len(), 1);
        assert!(first.batch.deleted.is_empty());
        assert_eq!(first.present.len(), 3);
        let second = plan_push(&list[..1], &first.present, None);
        let deleted: Vec<&str> = second
            .batch
            .deleted
            .iter()
            .map(|d| d.identity.name.as_str())
            .collect();
        assert_eq!(deleted, vec!["HR"]);
    }

    #[test]
    fn the_graph_reaches_groups_and_aliases_of_a_user() {
        let list = validate_identities(&[
            user("ana@x.com", &["MysteryUserX"]),
            group("Team", &[("ana@x.com", IdentityKind::User)]),
            group("All", &[("Team", IdentityKind::Group)]),
        ])
        .unwrap();
        let graph = graph_of(&list, "p");
        // The alias maps to ana in the Email Security Provider, where "p" cascades (as Coveo
        // expects, and as the CLI reads an identities file).
        assert!(graph
            .id_of(&IdentityKey::user(
                permissions::EMAIL_SECURITY_PROVIDER,
                "ana@x.com"
            ))
            .is_some());
        let providers = permissions::Providers::pushdeck(["p"]);
        let analysis = permissions::AccessAnalysis::new(&graph, &providers, "p");
        let resolved = analysis.resolve(&permissions::QueryingUser::named("ana@x.com"));
        let expansion = resolved.expansion();
        for key in [
            IdentityKey::group("p", "All"),
            IdentityKey::user("p", "MysteryUserX"),
        ] {
            assert!(expansion.contains_key(&graph, &key), "{key} not reached");
        }
    }

    #[test]
    fn the_store_is_written_atomically_and_a_damaged_one_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(IDENTITIES_FILE);
        assert_eq!(read_store(&path).unwrap(), None);
        let store = IdentityStore {
            identities: validate_identities(&[user("ana@x.com", &[])]).unwrap(),
            ..IdentityStore::default()
        };
        write_store(&path, &store).unwrap();
        assert_eq!(read_store(&path).unwrap(), Some(store));
        assert!(!path.with_extension("json.tmp").exists());

        std::fs::write(&path, "{\"version\": 1, \"identities\": [").unwrap();
        let e = read_store(&path).unwrap_err();
        assert!(e.message.contains("cannot be read"), "{e:?}");
        assert!(e.message.contains("rename it"), "{e:?}");
        std::fs::write(&path, "{\"version\": 9, \"identities\": []}").unwrap();
        let e = read_store(&path).unwrap_err();
        assert!(e.message.contains("newer version of Pushdeck"), "{e:?}");
    }
}
