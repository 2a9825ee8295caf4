//! What the emulator holds: organizations, their sources (with items) and security identity
//! providers (with identities), file containers, and the logs. The apply functions implement
//! the service's rules (orderingId, delete-older-than watermarks, deleteChildren, group
//! members replaced as a whole) and return the log entries they produce.

use std::borrow::Cow;
use std::collections::{btree_map, BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use permissions::{Identity, IdentityType, PermissionModel};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::clock::{format_ms, Millis};
use crate::faults::FaultState;
use crate::wire::{CheckedDocument, Compression, IdentityBody, Materialized, RawIdentity};

/// How many requests the request log keeps (the oldest are dropped first). Large enough for a
/// test or a debugging session, small enough that a long benchmark does not grow memory.
pub const REQUEST_LOG_CAPACITY: usize = 20_000;

/// How many processing log entries (the Source Logs) are kept; the oldest are dropped first.
/// A long-running Sandbox would otherwise grow without bound (an entry is a few hundred
/// bytes); 500,000 covers several full pushes of a large folder.
pub const PROCESSING_LOG_CAPACITY: usize = 500_000;

/// The built-in provider every Coveo organization has; aliases point to it by default.
pub const EMAIL_PROVIDER: &str = "Email Security Provider";

#[derive(Debug)]
pub struct State {
    pub orgs: BTreeMap<String, Org>,
    pub containers: HashMap<String, Container>,
    pub logs: VecDeque<LogEntry>,
    pub requests: VecDeque<RequestRecord>,
    pub faults: FaultState,
    /// Extra API keys with a narrower scope (the main key has every privilege).
    pub keys: Vec<ApiKeyScope>,
    /// Open Stream API streams (in memory only: a restart forgets open streams).
    pub streams: HashMap<String, Stream>,
}

/// An open Stream API stream: its chunks are applied when it closes.
#[derive(Debug, Clone)]
pub struct Stream {
    pub org: String,
    pub source: String,
    pub ordering_id: u64,
    pub file_ids: Vec<String>,
}

/// An extra API key and what it may do (to exercise `403 ACCESS_DENIED`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyScope {
    pub key: String,
    /// May push items and set source status.
    #[serde(default)]
    pub items: bool,
    /// May push security identities.
    #[serde(default)]
    pub identities: bool,
    /// May use the Platform API routes (sources, providers, fields).
    #[serde(default)]
    pub platform: bool,
}

impl std::fmt::Debug for ApiKeyScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyScope")
            .field("key", &"****")
            .field("items", &self.items)
            .field("identities", &self.identities)
            .field("platform", &self.platform)
            .finish()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Org {
    pub id: String,
    /// Items processed on `daily_day` (days since the epoch, UTC), for the daily quota fault.
    #[serde(default)]
    pub daily_day: i64,
    #[serde(default)]
    pub daily_count: u64,
    #[serde(skip)]
    pub sources: BTreeMap<String, Source>,
    #[serde(skip)]
    pub providers: BTreeMap<String, Provider>,
    #[serde(skip)]
    pub fields: BTreeMap<String, Value>,
}

impl Org {
    pub fn new(id: &str) -> Self {
        let mut org = Self {
            id: id.to_owned(),
            ..Self::default()
        };
        org.providers.insert(
            EMAIL_PROVIDER.to_owned(),
            Provider::new(EMAIL_PROVIDER, "EMAIL", Vec::new(), Vec::new(), 0),
        );
        org
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    pub status_type: String,
    pub started: String,
    pub ended: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub id: String,
    pub name: String,
    pub source_type: String,
    pub source_visibility: String,
    pub push_enabled: bool,
    pub stream_enabled: bool,
    /// Providers whose identities the permissions of this source name; the first is the
    /// default `securityProvider`.
    pub security_providers: Vec<String>,
    pub created: String,
    /// The last statusType set through `POST .../status` (`IDLE` initially).
    pub status: String,
    /// Every status change, oldest first.
    pub activities: Vec<Activity>,
    /// The highest orderingId of a delete-older-than: operations below it are rejected.
    pub watermark: u64,
    #[serde(skip)]
    pub items: BTreeMap<String, Item>,
}

impl Source {
    pub fn new(
        id: &str,
        name: &str,
        visibility: &str,
        providers: Vec<String>,
        now: Millis,
    ) -> Self {
        Self {
            id: id.to_owned(),
            name: name.to_owned(),
            source_type: "PUSH".into(),
            source_visibility: visibility.to_owned(),
            push_enabled: true,
            stream_enabled: false,
            security_providers: providers,
            created: format_ms(now),
            status: "IDLE".into(),
            activities: Vec::new(),
            watermark: 0,
            items: BTreeMap::new(),
        }
    }

    pub fn live_items(&self) -> usize {
        self.items
            .values()
            .filter(|i| i.state == ItemState::Indexed)
            .count()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ItemState {
    Indexed,
    /// Deleted: kept as a tombstone with its orderingId, so an older update cannot bring it back.
    Deleted,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub document_id: String,
    pub state: ItemState,
    pub ordering_id: u64,
    pub metadata: Map<String, Value>,
    pub permissions: Option<PermissionModel>,
    pub parent_id: Option<String>,
    pub file_extension: Option<String>,
    /// Which key carried the content: data, compressedBinaryData or compressedBinaryDataFileId.
    pub content_key: Option<String>,
    pub compression_type: Option<Compression>,
    pub content_size: u64,
    pub content_sha256: Option<String>,
    pub updated: String,
    pub request_id: String,
    #[serde(skip)]
    pub content: Bytes,
}

/// What an operation stamps on the items it stores: its orderingId, the time it was
/// processed (formatted) and its request.
#[derive(Debug, Clone, Copy)]
pub struct ItemStamp<'a> {
    pub ordering_id: u64,
    pub updated: &'a str,
    pub request_id: &'a str,
}

impl<'a> ItemStamp<'a> {
    pub fn of(ctx: &'a OpContext) -> Self {
        Self {
            ordering_id: ctx.ordering_id,
            updated: &ctx.datetime,
            request_id: &ctx.request_id,
        }
    }
}

impl Item {
    /// The item an add or update stores, once applied.
    pub fn indexed(doc: CheckedDocument, mat: Materialized, stamp: &ItemStamp<'_>) -> Self {
        Item {
            document_id: doc.document_id,
            state: ItemState::Indexed,
            ordering_id: stamp.ordering_id,
            metadata: doc.metadata,
            permissions: mat.permissions,
            parent_id: doc.parent_id,
            file_extension: doc.file_extension,
            content_key: Some(mat.content_key.to_owned()),
            compression_type: doc.compression_type,
            content_size: mat.content.len() as u64,
            content_sha256: Some(mat.sha256),
            updated: stamp.updated.to_owned(),
            request_id: stamp.request_id.to_owned(),
            content: mat.content,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    pub id: String,
    pub display_name: String,
    #[serde(rename = "type")]
    pub provider_type: String,
    /// Providers this one cascades to (aliases point into them).
    pub cascading_security_providers: Vec<String>,
    /// Sources that use this provider.
    pub referenced_by: Vec<String>,
    pub watermark: u64,
    pub created: String,
    #[serde(skip)]
    pub identities: BTreeMap<String, IdentityRecord>,
}

impl Provider {
    pub fn new(
        id: &str,
        kind: &str,
        cascading: Vec<String>,
        referenced_by: Vec<String>,
        now: Millis,
    ) -> Self {
        Self {
            id: id.to_owned(),
            display_name: id.to_owned(),
            provider_type: kind.to_owned(),
            cascading_security_providers: cascading,
            referenced_by,
            watermark: 0,
            created: format_ms(now),
            identities: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IdentityState {
    Active,
    Disabled,
}

/// An alias target: an identity in another provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mapping {
    pub identity: Identity,
    pub provider: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityRecord {
    pub identity: Identity,
    pub members: Vec<Identity>,
    pub well_knowns: Vec<Identity>,
    pub mappings: Vec<Mapping>,
    pub state: IdentityState,
    pub ordering_id: u64,
    pub updated: String,
    /// The request that last updated it (an identity batch may name it twice).
    #[serde(default)]
    pub request_id: String,
}

/// The key of an identity inside its provider: type, name and additionalInfo.
pub fn identity_key(identity: &Identity) -> String {
    let info: Vec<String> = identity
        .additional_info
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!(
        "{}\u{1f}{}\u{1f}{}",
        identity.identity_type.as_identity_str(),
        identity.name,
        info.join("\u{1e}")
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContainerState {
    Created,
    Uploaded,
    /// Referenced by a batch or an item: it cannot be used again.
    Consumed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub file_id: String,
    pub org: String,
    /// The secret of the presigned upload URI.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub signature: String,
    pub created_ms: Millis,
    pub expires_ms: Millis,
    pub state: ContainerState,
    pub size: u64,
    #[serde(skip)]
    pub content: Option<Bytes>,
}

/// A Source Logs API entry (source-logs-api.swagger.yml `IndexingPipelineLogEntry`).
/// The texts an operation's entries share are shared, not copied: a batch writes one entry
/// per item.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    pub datetime: SharedText,
    pub guid: String,
    pub id: String,
    pub meta: Map<String, Value>,
    pub operation: Cow<'static, str>,
    pub organization_id: SharedText,
    pub request_id: SharedText,
    pub resource_id: SharedText,
    pub result: Cow<'static, str>,
    pub source_id: SharedText,
    pub task: Cow<'static, str>,
    #[serde(skip)]
    pub ms: Millis,
}

/// An immutable text that many values hold (cloning copies a pointer); serialized as a
/// string.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SharedText(Arc<str>);

impl std::ops::Deref for SharedText {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for SharedText {
    fn from(text: &str) -> Self {
        Self(Arc::from(text))
    }
}

impl PartialEq<str> for SharedText {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for SharedText {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<String> for SharedText {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl std::fmt::Debug for SharedText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for SharedText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for SharedText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SharedText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self(Arc::from(String::deserialize(d)?)))
    }
}

/// One line of the request log.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    pub time: String,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Header values; `Authorization` is masked.
    pub headers: BTreeMap<String, String>,
    pub body_size: u64,
    pub status: u16,
    pub duration_ms: u64,
}

/// What an apply step changed, so the journal writes exactly that.
#[derive(Debug, Default)]
pub struct Changes {
    /// (organization, source, documentId) of each item stored.
    pub items: Vec<(SharedText, SharedText, String)>,
    pub identities: Vec<(String, String, String)>,
    pub sources: Vec<(String, String)>,
    pub providers: Vec<(String, String)>,
    pub orgs: Vec<String>,
    pub containers_removed: Vec<String>,
    pub logs: Vec<LogEntry>,
}

/// Context shared by the log entries of one operation.
#[derive(Debug, Clone)]
pub struct OpContext {
    pub org: String,
    pub request_id: String,
    pub ordering_id: u64,
    pub now: Millis,
    /// `now` formatted once (a batch writes one log entry per item).
    pub datetime: String,
    /// Log entry guids are this random base plus a counter: unique, without a random draw
    /// per entry.
    pub guid_base: u128,
    pub guid_counter: std::cell::Cell<u64>,
    /// The texts its log entries share: organization, request, datetime, and the last
    /// target (source or provider) logged.
    shared: (SharedText, SharedText, SharedText),
    last_target: std::cell::RefCell<Option<SharedText>>,
}

impl OpContext {
    /// Whether an item or identity last updated by an operation with `stored` orderingId (from
    /// request `stored_request`) is past this operation: the reference (§6) says an update whose
    /// orderingId is **not higher** than the previous one is not applied, so equal is skipped
    /// too; except within one request, whose operations share one orderingId by design (an
    /// identity batch may name a user as a member body and again as an alias).
    pub fn superseded_by(&self, stored: u64, stored_request: &str) -> bool {
        stored > self.ordering_id
            || (stored == self.ordering_id && stored_request != self.request_id)
    }

    /// The Source Logs reason of a skipped operation.
    pub fn skipped_reason(&self, stored: u64, what: &str) -> String {
        format!(
            "an operation with orderingId {stored} already updated this {what}; this one's orderingId {} is not higher, so it was not applied",
            self.ordering_id
        )
    }

    pub fn new(org: &str, request_id: &str, ordering_id: u64, now: Millis) -> Self {
        Self {
            org: org.to_owned(),
            request_id: request_id.to_owned(),
            ordering_id,
            now,
            datetime: format_ms(now),
            guid_base: uuid::Uuid::new_v4().as_u128(),
            guid_counter: std::cell::Cell::new(0),
            shared: (
                SharedText::from(org),
                SharedText::from(request_id),
                SharedText::from(format_ms(now).as_str()),
            ),
            last_target: std::cell::RefCell::new(None),
        }
    }

    /// The organization as shared text.
    pub fn org_text(&self) -> SharedText {
        self.shared.0.clone()
    }

    /// `target` (a source or provider) as shared text: the same target is shared by every
    /// log entry and change that names it.
    pub fn target(&self, target: &str) -> SharedText {
        let mut last = self.last_target.borrow_mut();
        match &*last {
            Some(t) if **t == *target => t.clone(),
            _ => last.insert(SharedText::from(target)).clone(),
        }
    }

    fn next_guid(&self) -> String {
        let n = self.guid_counter.get();
        self.guid_counter.set(n + 1);
        uuid::Uuid::from_u128(self.guid_base.wrapping_add(u128::from(n))).to_string()
    }
}

impl OpContext {
    pub fn log(
        &self,
        target: &str,
        id: &str,
        operation: &'static str,
        task: &'static str,
        result: &'static str,
        detail: Option<String>,
    ) -> LogEntry {
        let mut meta = Map::new();
        meta.insert("orderingId".into(), Value::from(self.ordering_id));
        if let Some(d) = detail {
            meta.insert(
                if result == "COMPLETED" {
                    "detail"
                } else {
                    "error"
                }
                .into(),
                Value::String(d),
            );
        }
        let (org, request, datetime) = &self.shared;
        let target = self.target(target);
        LogEntry {
            datetime: datetime.clone(),
            guid: self.next_guid(),
            id: id.to_owned(),
            meta,
            operation: Cow::Borrowed(operation),
            organization_id: org.clone(),
            request_id: request.clone(),
            resource_id: target.clone(),
            result: Cow::Borrowed(result),
            source_id: target,
            task: Cow::Borrowed(task),
            ms: self.now,
        }
    }
}

/// An identity body with every identity type parsed: (identity, members, granted, aliases).
type IdentityParts = (
    Identity,
    Vec<Identity>,
    Vec<Identity>,
    Vec<(Identity, Option<String>)>,
);

fn parse_identity_parts(body: &IdentityBody) -> Result<IdentityParts, String> {
    let identity = body
        .identity
        .as_ref()
        .ok_or("the body has no identity")?
        .parse_type()?;
    let members = body
        .members
        .iter()
        .map(RawIdentity::parse_type)
        .collect::<Result<Vec<_>, _>>()?;
    let wells = body
        .well_knowns
        .iter()
        .map(RawIdentity::parse_type)
        .collect::<Result<Vec<_>, _>>()?;
    let maps = body
        .mappings
        .iter()
        .map(|m| m.parse_type().map(|i| (i, m.provider.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((identity, members, wells, maps))
}

impl State {
    pub fn new(faults: FaultState) -> Self {
        Self {
            orgs: BTreeMap::new(),
            containers: HashMap::new(),
            logs: VecDeque::new(),
            requests: VecDeque::new(),
            faults,
            keys: Vec::new(),
            streams: HashMap::new(),
        }
    }

    /// Appends processing log entries, dropping the oldest beyond the capacity.
    pub fn append_logs(&mut self, entries: Vec<LogEntry>) {
        self.logs.extend(entries);
        let excess = self.logs.len().saturating_sub(PROCESSING_LOG_CAPACITY);
        if excess > 0 {
            self.logs.drain(..excess);
        }
    }

    pub fn record_request(&mut self, record: RequestRecord) {
        if self.requests.len() >= REQUEST_LOG_CAPACITY {
            self.requests.pop_front();
        }
        self.requests.push_back(record);
    }

    /// Adds or updates one item, honouring the watermark and the item's last orderingId.
    pub fn put_item(
        &mut self,
        ctx: &OpContext,
        source_id: &str,
        doc: CheckedDocument,
        mat: Materialized,
        changes: &mut Changes,
    ) {
        let item = Item::indexed(doc, mat, &ItemStamp::of(ctx));
        self.put_indexed_item(ctx, source_id, item.document_id.clone(), item, changes);
    }

    /// [`State::put_item`] with the item already built by [`Item::indexed`] (with this
    /// operation's [`ItemStamp`]) and `key`, its documentId: a batch builds them before it
    /// locks the state.
    pub fn put_indexed_item(
        &mut self,
        ctx: &OpContext,
        source_id: &str,
        key: String,
        item: Item,
        changes: &mut Changes,
    ) {
        // `key` is passed (cloned before the lock) only to spare a copy under the lock.
        debug_assert_eq!(key, item.document_id, "an item's key is its documentId");
        let Some(org) = self.orgs.get_mut(&ctx.org) else {
            return;
        };
        let Some(source) = org.sources.get_mut(source_id) else {
            changes.logs.push(ctx.log(
                source_id,
                &item.document_id,
                "ADD",
                "CONSUMING",
                "REJECTED",
                Some("the source no longer exists".into()),
            ));
            return;
        };
        if ctx.ordering_id < source.watermark {
            changes.logs.push(ctx.log(
                source_id,
                &item.document_id,
                "ADD",
                "CONSUMING",
                "REJECTED",
                Some(format!(
                    "orderingId {} is lower than the source's delete-older-than orderingId {}",
                    ctx.ordering_id, source.watermark
                )),
            ));
            return;
        }
        // One search of the items for both the look-up and the insertion.
        let entry = source.items.entry(key);
        let existing = match &entry {
            btree_map::Entry::Occupied(old) => Some(old.get()),
            btree_map::Entry::Vacant(_) => None,
        };
        // What the Source Logs call it: an update of an indexed item, else an add (also when
        // it is skipped).
        let operation = if existing.is_some_and(|i| i.state == ItemState::Indexed) {
            "UPDATE"
        } else {
            "ADD"
        };
        if let Some(old) = existing {
            if ctx.superseded_by(old.ordering_id, &old.request_id) {
                changes.logs.push(ctx.log(
                    source_id,
                    &item.document_id,
                    operation,
                    "CONSUMING",
                    "SKIPPED",
                    Some(ctx.skipped_reason(old.ordering_id, "item")),
                ));
                return;
            }
        }
        changes.logs.push(ctx.log(
            source_id,
            &item.document_id,
            operation,
            "INDEXING",
            "COMPLETED",
            None,
        ));
        let day = ctx.now.div_euclid(86_400_000);
        if org.daily_day != day {
            org.daily_day = day;
            org.daily_count = 0;
        }
        org.daily_count += 1;
        if changes.orgs.last() != Some(&ctx.org) {
            changes.orgs.push(ctx.org.clone());
        }
        changes.items.push((
            ctx.org_text(),
            ctx.target(source_id),
            item.document_id.clone(),
        ));
        match entry {
            btree_map::Entry::Occupied(mut old) => {
                old.insert(item);
            }
            btree_map::Entry::Vacant(slot) => {
                slot.insert(item);
            }
        }
    }

    /// Deletes one item (and with `children`, every item whose parentId is it, recursively).
    pub fn delete_item(
        &mut self,
        ctx: &OpContext,
        source_id: &str,
        document_id: &str,
        children: bool,
        changes: &mut Changes,
    ) {
        let operation = if children {
            "DELETE_AND_CHILDREN"
        } else {
            "DELETE"
        };
        let Some(source) = self
            .orgs
            .get_mut(&ctx.org)
            .and_then(|o| o.sources.get_mut(source_id))
        else {
            changes.logs.push(ctx.log(
                source_id,
                document_id,
                operation,
                "CONSUMING",
                "REJECTED",
                Some("the source no longer exists".into()),
            ));
            return;
        };
        if ctx.ordering_id < source.watermark {
            changes.logs.push(ctx.log(
                source_id,
                document_id,
                operation,
                "CONSUMING",
                "REJECTED",
                Some(format!(
                    "orderingId {} is lower than the source's delete-older-than orderingId {}",
                    ctx.ordering_id, source.watermark
                )),
            ));
            return;
        }
        let mut targets = vec![document_id.to_owned()];
        if children {
            let mut frontier = vec![document_id.to_owned()];
            while let Some(parent) = frontier.pop() {
                for item in source.items.values() {
                    if item.state == ItemState::Indexed
                        && item.parent_id.as_deref() == Some(parent.as_str())
                        && !targets.contains(&item.document_id)
                    {
                        targets.push(item.document_id.clone());
                        frontier.push(item.document_id.clone());
                    }
                }
            }
        }
        for target in targets {
            let op = if target == document_id {
                operation
            } else {
                "DELETE"
            };
            match source.items.get_mut(&target) {
                Some(item) if ctx.superseded_by(item.ordering_id, &item.request_id) => {
                    changes.logs.push(ctx.log(
                        source_id,
                        &target,
                        op,
                        "CONSUMING",
                        "SKIPPED",
                        Some(ctx.skipped_reason(item.ordering_id, "item")),
                    ));
                    continue;
                }
                Some(item) => {
                    let was_live = item.state == ItemState::Indexed;
                    item.state = ItemState::Deleted;
                    item.ordering_id = ctx.ordering_id;
                    item.content = Bytes::new();
                    item.updated = ctx.datetime.clone();
                    item.request_id = ctx.request_id.clone();
                    let detail = (!was_live).then(|| "the item was already deleted".to_owned());
                    changes.logs.push(ctx.log(
                        source_id,
                        &target,
                        op,
                        "INDEXING",
                        if was_live { "COMPLETED" } else { "WARNING" },
                        detail,
                    ));
                }
                None => {
                    source.items.insert(
                        target.clone(),
                        Item {
                            document_id: target.clone(),
                            state: ItemState::Deleted,
                            ordering_id: ctx.ordering_id,
                            metadata: Map::new(),
                            permissions: None,
                            parent_id: None,
                            file_extension: None,
                            content_key: None,
                            compression_type: None,
                            content_size: 0,
                            content_sha256: None,
                            updated: ctx.datetime.clone(),
                            request_id: ctx.request_id.clone(),
                            content: Bytes::new(),
                        },
                    );
                    changes.logs.push(ctx.log(
                        source_id,
                        &target,
                        op,
                        "INDEXING",
                        "WARNING",
                        Some("the item did not exist".into()),
                    ));
                }
            }
            changes
                .items
                .push((ctx.org_text(), ctx.target(source_id), target));
        }
    }

    /// Raises the source's watermark (operations below it are rejected from now on).
    pub fn raise_source_watermark(
        &mut self,
        org: &str,
        source_id: &str,
        ordering_id: u64,
        changes: &mut Changes,
    ) {
        if let Some(source) = self
            .orgs
            .get_mut(org)
            .and_then(|o| o.sources.get_mut(source_id))
        {
            if ordering_id > source.watermark {
                source.watermark = ordering_id;
                changes.sources.push((org.to_owned(), source_id.to_owned()));
            }
        }
    }

    /// Deletes every item last touched by an operation with an orderingId strictly lower.
    pub fn delete_items_older_than(
        &mut self,
        ctx: &OpContext,
        source_id: &str,
        changes: &mut Changes,
    ) {
        let Some(source) = self
            .orgs
            .get_mut(&ctx.org)
            .and_then(|o| o.sources.get_mut(source_id))
        else {
            return;
        };
        let mut count = 0u64;
        for item in source.items.values_mut() {
            if item.state == ItemState::Indexed && item.ordering_id < ctx.ordering_id {
                item.state = ItemState::Deleted;
                item.content = Bytes::new();
                item.updated = ctx.datetime.clone();
                item.request_id = ctx.request_id.clone();
                changes.items.push((
                    ctx.org_text(),
                    ctx.target(source_id),
                    item.document_id.clone(),
                ));
                changes.logs.push(ctx.log(
                    source_id,
                    &item.document_id,
                    "DELETE",
                    "INDEXING",
                    "COMPLETED",
                    Some(format!("deleted by delete-older-than {}", ctx.ordering_id)),
                ));
                count += 1;
            }
        }
        changes.logs.push(ctx.log(
            source_id,
            "",
            "DELETE_OLDER_THAN",
            "CONSUMING",
            "COMPLETED",
            Some(format!("{count} items deleted")),
        ));
    }

    /// Adds or updates a security identity (members) or an alias (mappings). Pushing replaces
    /// the whole member list (or mapping list) and the granted identities.
    pub fn put_identity(
        &mut self,
        ctx: &OpContext,
        provider_id: &str,
        body: &IdentityBody,
        alias: bool,
        changes: &mut Changes,
    ) {
        let operation = "UPDATE";
        let name = body
            .identity
            .as_ref()
            .map(|i| i.name.clone())
            .unwrap_or_default();
        let parsed = parse_identity_parts(body);
        let (identity, members, well_knowns, maps) = match parsed {
            Ok(p) => p,
            Err(e) => {
                changes.logs.push(ctx.log(
                    provider_id,
                    &name,
                    operation,
                    "CONSUMING",
                    "REJECTED",
                    Some(e),
                ));
                return;
            }
        };
        let Some(org) = self.orgs.get_mut(&ctx.org) else {
            return;
        };
        let Some(provider) = org.providers.get(provider_id) else {
            changes.logs.push(ctx.log(
                provider_id,
                &name,
                operation,
                "CONSUMING",
                "REJECTED",
                Some("the provider no longer exists".into()),
            ));
            return;
        };
        if ctx.ordering_id < provider.watermark {
            changes.logs.push(ctx.log(
                provider_id,
                &name,
                operation,
                "CONSUMING",
                "REJECTED",
                Some(format!(
                    "orderingId {} is lower than the provider's delete-older-than orderingId {}",
                    ctx.ordering_id, provider.watermark
                )),
            ));
            return;
        }
        let cascading = provider.cascading_security_providers.clone();
        let mut mappings = Vec::new();
        for (target, explicit) in maps {
            let target_provider = match explicit {
                Some(p) => p,
                None if cascading.len() == 1 => cascading[0].clone(),
                None if cascading.is_empty() => EMAIL_PROVIDER.to_owned(),
                None => {
                    changes.logs.push(ctx.log(provider_id, &name, operation, "CONSUMING", "REJECTED", Some(format!(
                        "the alias of {name:?} names no provider, and provider {provider_id:?} cascades to several ({})",
                        cascading.join(", ")
                    ))));
                    return;
                }
            };
            mappings.push(Mapping {
                identity: target,
                provider: target_provider,
            });
        }
        // The aliased identity needn't exist: it is created in the cascaded provider.
        for m in &mappings {
            if let Some(target) = org.providers.get_mut(&m.provider) {
                let key = identity_key(&m.identity);
                if !target.identities.contains_key(&key) {
                    target.identities.insert(
                        key.clone(),
                        IdentityRecord {
                            identity: m.identity.clone(),
                            members: Vec::new(),
                            well_knowns: Vec::new(),
                            mappings: Vec::new(),
                            state: IdentityState::Active,
                            ordering_id: ctx.ordering_id,
                            updated: ctx.datetime.clone(),
                            request_id: ctx.request_id.clone(),
                        },
                    );
                    changes
                        .identities
                        .push((ctx.org.clone(), m.provider.clone(), key));
                }
            }
        }
        let Some(provider) = org.providers.get_mut(provider_id) else {
            return;
        };
        let key = identity_key(&identity);
        if let Some(old) = provider.identities.get(&key) {
            if ctx.superseded_by(old.ordering_id, &old.request_id) {
                changes.logs.push(ctx.log(
                    provider_id,
                    &name,
                    operation,
                    "CONSUMING",
                    "SKIPPED",
                    Some(ctx.skipped_reason(old.ordering_id, "identity")),
                ));
                return;
            }
        }
        let previous = provider.identities.remove(&key);
        let (members, mappings) = match (alias, previous) {
            // An alias push keeps the members; a members push keeps the aliases.
            (true, Some(p)) if p.state == IdentityState::Active => (p.members, mappings),
            (false, Some(p)) if p.state == IdentityState::Active => (members, p.mappings),
            (true, _) => (Vec::new(), mappings),
            (false, _) => (members, Vec::new()),
        };
        provider.identities.insert(
            key.clone(),
            IdentityRecord {
                identity,
                members,
                well_knowns,
                mappings,
                state: IdentityState::Active,
                ordering_id: ctx.ordering_id,
                updated: ctx.datetime.clone(),
                request_id: ctx.request_id.clone(),
            },
        );
        changes
            .identities
            .push((ctx.org.clone(), provider_id.to_owned(), key));
        changes
            .logs
            .push(ctx.log(provider_id, &name, operation, "INDEXING", "COMPLETED", None));
    }

    /// Disables one security identity.
    pub fn delete_identity(
        &mut self,
        ctx: &OpContext,
        provider_id: &str,
        raw: &RawIdentity,
        changes: &mut Changes,
    ) {
        let identity = match raw.parse_type() {
            Ok(i) => i,
            Err(e) => {
                changes.logs.push(ctx.log(
                    provider_id,
                    &raw.name,
                    "DELETE",
                    "CONSUMING",
                    "REJECTED",
                    Some(e),
                ));
                return;
            }
        };
        let Some(provider) = self
            .orgs
            .get_mut(&ctx.org)
            .and_then(|o| o.providers.get_mut(provider_id))
        else {
            return;
        };
        if ctx.ordering_id < provider.watermark {
            changes.logs.push(ctx.log(
                provider_id,
                &raw.name,
                "DELETE",
                "CONSUMING",
                "REJECTED",
                Some(format!(
                    "orderingId {} is lower than the provider's delete-older-than orderingId {}",
                    ctx.ordering_id, provider.watermark
                )),
            ));
            return;
        }
        let key = identity_key(&identity);
        match provider.identities.get_mut(&key) {
            Some(rec) if ctx.superseded_by(rec.ordering_id, &rec.request_id) => {
                changes.logs.push(ctx.log(
                    provider_id,
                    &raw.name,
                    "DELETE",
                    "CONSUMING",
                    "SKIPPED",
                    Some(ctx.skipped_reason(rec.ordering_id, "identity")),
                ));
            }
            Some(rec) => {
                rec.state = IdentityState::Disabled;
                rec.ordering_id = ctx.ordering_id;
                rec.updated = ctx.datetime.clone();
                rec.request_id = ctx.request_id.clone();
                changes
                    .identities
                    .push((ctx.org.clone(), provider_id.to_owned(), key));
                changes.logs.push(ctx.log(
                    provider_id,
                    &raw.name,
                    "DELETE",
                    "INDEXING",
                    "COMPLETED",
                    None,
                ));
            }
            None => {
                changes.logs.push(ctx.log(
                    provider_id,
                    &raw.name,
                    "DELETE",
                    "INDEXING",
                    "WARNING",
                    Some("the identity did not exist".into()),
                ));
            }
        }
    }

    pub fn raise_provider_watermark(
        &mut self,
        org: &str,
        provider_id: &str,
        ordering_id: u64,
        changes: &mut Changes,
    ) {
        if let Some(p) = self
            .orgs
            .get_mut(org)
            .and_then(|o| o.providers.get_mut(provider_id))
        {
            if ordering_id > p.watermark {
                p.watermark = ordering_id;
                changes
                    .providers
                    .push((org.to_owned(), provider_id.to_owned()));
            }
        }
    }

    /// Disables every identity last updated by an operation with an orderingId strictly lower.
    pub fn delete_identities_older_than(
        &mut self,
        ctx: &OpContext,
        provider_id: &str,
        changes: &mut Changes,
    ) {
        let Some(provider) = self
            .orgs
            .get_mut(&ctx.org)
            .and_then(|o| o.providers.get_mut(provider_id))
        else {
            return;
        };
        let mut count = 0u64;
        for (key, rec) in provider.identities.iter_mut() {
            if rec.state == IdentityState::Active && rec.ordering_id < ctx.ordering_id {
                rec.state = IdentityState::Disabled;
                rec.updated = ctx.datetime.clone();
                changes
                    .identities
                    .push((ctx.org.clone(), provider_id.to_owned(), key.clone()));
                count += 1;
            }
        }
        changes.logs.push(ctx.log(
            provider_id,
            "",
            "DELETE_OLDER_THAN",
            "CONSUMING",
            "COMPLETED",
            Some(format!("{count} identities disabled")),
        ));
    }

    /// The identity type of an item permission entry, for display.
    pub fn type_name(t: IdentityType) -> &'static str {
        t.as_identity_str()
    }
}
