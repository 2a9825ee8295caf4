//! Data transfer objects: every value that crosses between the shell and the web UI.
//!
//! Conventions, so the UI can rely on them:
//! - field names are camelCase on the wire; enums with data are tagged with `kind`;
//! - times are milliseconds since the Unix epoch (`atMs`), sizes are bytes, both plain numbers
//!   (exact in JavaScript up to 2^53, far beyond any file or date we show);
//! - every command takes at most one argument, named `request`, and fails with [`HostError`];
//! - the API key travels in one direction only, UI → shell, inside [`ConnectionRequest`], and
//!   no DTO ever carries it back.
//!
//! These types are deliberately separate from the domain crates' types (`permissions`,
//! `sync-engine`): the wire format is a boundary decision, and conversions live in the shell.

use std::fmt;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// What went wrong, by what the person can do about it. A closed set: the UI switches on it and
/// never parses [`HostError::message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ErrorCode {
    /// A field of the request is wrong (a bad pattern, an empty organization id).
    InvalidInput,
    /// The folder, item, plan or identity named does not exist (any more).
    NotFound,
    /// The API key was refused.
    Unauthorized,
    /// The API key works but lacks a privilege.
    Forbidden,
    /// Coveo asked us to slow down; the engine retries by itself.
    Throttled,
    /// The network or the service could not be reached.
    Network,
    /// No operating-system keyring: offer "keep the key for this run only".
    KeyringUnavailable,
    /// The request conflicts with the current state (e.g. a plan that is out of date).
    Conflict,
    /// A safety brake stopped the run (mass delete, vanished folder) and waits for a decision.
    SafetyBrake,
    /// The person closed a dialog or cancelled the action.
    Cancelled,
    /// A bug or an unexpected state; the message says what to report.
    Internal,
}

/// The only error shape that reaches the UI: a stable `code` and a human `message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct HostError {
    pub code: ErrorCode,
    pub message: String,
}

impl HostError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HostError {}

// ---------------------------------------------------------------------------------------------
// Connection and Sandbox
// ---------------------------------------------------------------------------------------------

/// Where Coveo hosts the organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum Region {
    Us,
    Eu,
    Au,
    Ca,
    Hipaa,
}

/// Where the API key is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum KeyStorage {
    /// The operating system's keyring (the default).
    Keyring,
    /// In memory only, forgotten when the app quits (when no keyring is available).
    ThisRunOnly,
}

/// A source or a security identity provider: an existing one, or one to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum TargetChoice {
    Existing { id: String },
    Create { name: String },
}

/// The "connect an organization" form. The only DTO that carries the API key, and only
/// towards the shell; its `Debug` masks the key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionRequest {
    pub organization_id: String,
    pub region: Region,
    pub source: TargetChoice,
    pub provider: TargetChoice,
    /// Empty when an existing connection is re-tested with the stored key.
    pub api_key: String,
    pub key_storage: KeyStorage,
}

impl fmt::Debug for ConnectionRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionRequest")
            .field("organization_id", &self.organization_id)
            .field("region", &self.region)
            .field("source", &self.source)
            .field("provider", &self.provider)
            .field("api_key", &"***")
            .field("key_storage", &self.key_storage)
            .finish()
    }
}

/// What the organization offers, for the source and provider pickers (asked with the key that
/// was typed, which is not stored by this call).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationCatalog {
    pub sources: Vec<NamedRef>,
    pub providers: Vec<NamedRef>,
}

/// Something with an id and a display name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct NamedRef {
    pub id: String,
    pub name: String,
}

/// One line of "Test connection": what was tried and what came back, in plain words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionCheck {
    pub label: String,
    pub ok: bool,
    pub detail: String,
}

/// The result of "Test connection".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionTest {
    pub ok: bool,
    /// One sentence: "Everything works." or what the key lacks.
    pub summary: String,
    pub checks: Vec<ConnectionCheck>,
}

/// Sandbox (the embedded emulator) or a real organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ConnectionMode {
    Sandbox,
    Organization,
}

/// The connection as the UI may show it: never the key, only where it is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionSummary {
    pub organization_id: String,
    pub region: Region,
    pub source_id: String,
    pub provider_id: String,
    pub key_storage: KeyStorage,
}

/// What the app is connected to, and whether this is the first launch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppState {
    pub mode: ConnectionMode,
    pub connection: Option<ConnectionSummary>,
    /// True until the person dismisses the welcome banner.
    pub first_launch: bool,
    /// Whether the operating system's keyring answered at startup.
    pub keyring_available: bool,
    pub version: String,
    /// True once the app offered to start at login (it offers once, on the first folder added).
    pub autostart_offered: bool,
    /// When a "pause all" ends (ms since the epoch); `None` when none is on.
    pub paused_until_ms: Option<u64>,
}

/// The state line of the tray menu (and its tooltip), as the tray shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TrayState {
    /// "Up to date", "Syncing 120 of 400 items", "Docs needs attention", "Paused until 14:30".
    pub line: String,
    pub tooltip: String,
    /// A folder halted and waits for the person.
    pub attention: bool,
    /// A "pause all" is on.
    pub paused: bool,
}

/// How long "pause all" lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum PauseAllFor {
    OneHour,
    /// Until 08:00 tomorrow, local time.
    UntilTomorrow,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PauseAllRequest {
    pub duration: PauseAllFor,
}

/// Start Pushdeck when the person logs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AutostartRequest {
    pub enabled: bool,
}

// ---------------------------------------------------------------------------------------------
// Folders
// ---------------------------------------------------------------------------------------------

/// A folder's state, as the sync engine reports it (`sync_engine::FolderState`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum FolderState {
    UpToDate {
        /// Files that failed in the last run (listed by `list_problems`); 0 when all is well.
        problems: u64,
    },
    Scanning {
        /// Files looked at so far, when the engine reports it.
        #[serde(rename = "filesSeen")]
        files_seen: Option<u64>,
    },
    Syncing {
        done: u64,
        total: u64,
        bytes: u64,
        #[serde(rename = "bytesTotal")]
        bytes_total: u64,
        /// Seconds left, when the engine can tell.
        #[serde(rename = "etaSeconds")]
        eta_seconds: Option<f64>,
    },
    Paused {
        /// Why, when the person did not pause it: e.g. waiting for the first plan.
        reason: Option<String>,
    },
    /// Stopped until the person decides: a safety brake, or problems that block the run.
    NeedsAttention {
        problems: u64,
        /// One sentence per reason (a safety brake says what it would have done).
        reasons: Vec<String>,
    },
}

/// One folder card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FolderSummary {
    pub id: String,
    pub name: String,
    pub path: String,
    /// The source the folder's items go to.
    pub source_id: String,
    pub state: FolderState,
    pub last_sync_at_ms: Option<f64>,
    pub item_count: u64,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// True until the person confirmed the first dry-run plan.
    pub awaiting_first_sync: bool,
    /// The person said this folder is its source's only writer (`owns_source`): a rebuild that
    /// pushed every file then also removes every other item of the source (other tools' items,
    /// test uploads). False: a rebuild removes only this folder's items whose files are gone.
    pub owns_source: bool,
}

/// Names one folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FolderRef {
    pub folder_id: String,
}

/// A path the person chose in the native folder dialog (the UI cannot read any other).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PickedFolder {
    pub path: String,
    /// The last path component, as a default name.
    pub suggested_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AddFolderRequest {
    pub path: String,
    pub name: String,
    pub source_id: String,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum FolderAction {
    Pause,
    Resume,
    /// Scan now instead of waiting for the watcher.
    Rescan,
    /// Push every file again and delete this folder's items whose files are gone; only for a
    /// folder that owns its source, and only when every file was pushed, also remove every
    /// other item of the source.
    Rebuild,
    /// Stop syncing this folder; items already in the source stay.
    Remove,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FolderActionRequest {
    pub folder_id: String,
    pub action: FolderAction,
}

/// How an item's data is compressed before upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum Compression {
    Uncompressed,
    Deflate,
    Gzip,
    Lzma,
    Zlib,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MetadataEntry {
    pub name: String,
    pub value: String,
}

/// Exactly what would be sent for one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ItemPreview {
    pub document_id: String,
    pub title: String,
    pub file_name: String,
    pub size: u64,
    pub compressed_size: u64,
    pub compression: Compression,
    pub metadata: Vec<MetadataEntry>,
    pub permissions: PermissionModelView,
    /// The item's JSON body as it would be sent (data shown as a placeholder), pretty-printed.
    pub json: String,
}

/// The dry run: what a sync would do, computed without sending anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SyncPlan {
    pub plan_id: String,
    pub folder_id: String,
    pub added: u64,
    pub updated: u64,
    pub deleted: u64,
    /// Files renamed or moved (pushed under the new documentId, deleted under the old one).
    pub moved: u64,
    pub unchanged: u64,
    /// Files left out (excluded, unreadable): not pushed, not deleted.
    pub skipped: u64,
    /// Bytes to upload.
    pub bytes: u64,
    pub sample: Option<ItemPreview>,
    /// Safety brakes that would stop the run (e.g. "would delete 80% of the items").
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmPlanRequest {
    pub folder_id: String,
    pub plan_id: String,
}

/// Include and exclude patterns to try (gitignore-style globs), on a folder or a picked path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PatternRequest {
    pub path: String,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// At most this many matched paths are returned (the counts are always complete).
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PatternProblem {
    pub pattern: String,
    pub message: String,
}

/// The live preview of a pattern edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PatternPreview {
    pub matched: Vec<String>,
    pub matched_count: u64,
    pub excluded_count: u64,
    pub total_count: u64,
    pub problems: Vec<PatternProblem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SavePatternsRequest {
    pub folder_id: String,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

/// Why one file failed (`sync_engine::scan::ProblemKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ProblemCode {
    /// Permission denied or an IO error while reading.
    Unreadable,
    /// The file changed while it was read; the next scan retries it.
    ChangedWhileRead,
    /// The name is not valid UTF-8, so it cannot become an item URI.
    NameNotUtf8,
    /// A symbolic link leads back to one of its own parents.
    SymlinkLoop,
    /// The Push API refused or failed this item.
    PushFailed,
    /// The API accepted the item but indexing rejected it (from the Source Logs).
    Rejected,
}

/// One failed item: the file, what went wrong, what to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ItemProblem {
    pub path: String,
    pub code: ProblemCode,
    pub what: String,
    pub what_to_do: String,
    pub at_ms: f64,
}

// ---------------------------------------------------------------------------------------------
// Security identities and permissions
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum IdentityKind {
    User,
    Group,
    VirtualGroup,
    Unknown,
}

/// A reference to a security identity, as it appears in a permission set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct IdentityRef {
    pub name: String,
    pub kind: IdentityKind,
}

/// A security identity of the provider, as edited in the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SecurityIdentity {
    pub name: String,
    pub kind: IdentityKind,
    /// Members of a group (users or nested groups).
    pub members: Vec<IdentityRef>,
    /// Other names of a user (mapped identities), e.g. a login in another system.
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SaveIdentitiesRequest {
    pub identities: Vec<SecurityIdentity>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CsvImportRequest {
    /// The CSV text: `name,kind,members,aliases` (members and aliases separated by `;`).
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CsvProblem {
    pub line: u32,
    pub message: String,
}

/// What a CSV import would add; nothing is saved until `saveIdentities`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CsvImport {
    pub identities: Vec<SecurityIdentity>,
    pub problems: Vec<CsvProblem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct IdentityPushResult {
    pub pushed: u64,
    pub message: String,
}

/// A permission set: allowed and denied identities; within a set, any deny beats any allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PermissionSetView {
    pub allow_anonymous: bool,
    pub allowed: Vec<IdentityRef>,
    pub denied: Vec<IdentityRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PermissionLevelView {
    pub name: Option<String>,
    pub sets: Vec<PermissionSetView>,
}

/// An item's permission model, for the diagram: levels of sets. The simple model is one level
/// (`complete` false).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PermissionModelView {
    pub complete: bool,
    pub levels: Vec<PermissionLevelView>,
}

/// How a subfolder's rule combines with the rule it inherits (`permissions::rules::RuleMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum RuleMode {
    /// Replace what was inherited.
    Replace,
    /// Add this rule's level(s) before the inherited ones: they decide first.
    AddLevelBefore,
    /// Add this rule's level(s) after the inherited ones: consulted only for people the
    /// inherited levels neither allow nor deny.
    AddLevelAfter,
}

/// A folder rule, inherited by subfolders unless they override it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum FolderRule {
    Everyone,
    Only { identities: Vec<IdentityRef> },
    EveryoneExcept { identities: Vec<IdentityRef> },
    Complete { model: PermissionModelView },
}

/// The rule of one folder or subfolder (`path` relative to the folder root, "" for the root;
/// it may also be a glob that matches, say, every folder named drafts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RuleEntry {
    pub path: String,
    /// `None`: inherits from the parent folder.
    pub rule: Option<FolderRule>,
    pub mode: RuleMode,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RuleChangeRequest {
    pub folder_id: String,
    pub path: String,
    pub rule: Option<FolderRule>,
    pub mode: RuleMode,
}

/// Who gains and who loses access if a rule change is saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AccessChange {
    pub gains: Vec<String>,
    pub loses: Vec<String>,
    /// Files the rule applies to (under its folder, or matched by its glob).
    pub files_affected: u64,
    /// The effective model at the rule's path once saved.
    pub model: PermissionModelView,
    /// Files whose permissions actually change: each is sent again (a permission-only update)
    /// at the folder's next sync.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_changed: Option<u64>,
}

/// Names a file (or subfolder) of a folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FileRef {
    pub folder_id: String,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ExplainRequest {
    pub folder_id: String,
    pub path: String,
    pub user: String,
}

/// The outcome of one permission set for one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum SetVerdict {
    Allowed,
    Denied,
    /// The set names none of the user's identities.
    Unspecified,
}

/// The outcome of one level: it decides (visible or hidden) or passes to the next one
/// (`permissions::evaluate::LevelOutcome`, with `evaluated: false` as `Skipped`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum LevelVerdict {
    Visible,
    Hidden,
    Inconclusive,
    /// Allowed in some sets but not all, denied in none: treated as inconclusive (the
    /// reference's recommendation); the stricter reading would hide the item here.
    PartlyAllowed,
    /// A level after the deciding one: not looked at.
    Skipped,
}

/// How one link of a chain follows from the previous one (`permissions::graph::Relation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ChainRelation {
    /// The user being viewed as (first link).
    Viewer,
    /// The same person again, as the user of that name in a provider that cascades to theirs
    /// (`asmith (Email Security Provider) → same user asmith (sandbox)`).
    SameUser,
    /// A group or virtual group that has the previous identity among its members.
    MemberOf,
    /// An identity mapped (aliased) to the previous identity.
    AliasOf,
    /// An identity granted (`wellKnowns`) to the previous identity.
    GrantedTo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ChainLink {
    pub relation: ChainRelation,
    pub identity: IdentityRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SetExplanation {
    pub verdict: SetVerdict,
    /// How the user reached the matching entry: the user first, then groups or an alias, and
    /// last the identity the set names. Empty when unspecified or through `allowAnonymous`.
    pub chain: Vec<ChainLink>,
    pub through_anonymous: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LevelExplanation {
    pub verdict: LevelVerdict,
    pub sets: Vec<SetExplanation>,
}

/// The set that decided, by position in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SetPosition {
    pub level: u32,
    pub set: u32,
}

/// A reading of the documentation other than the one Pushdeck chose
/// (`permissions::Reading`; `crates/permissions/README.md`, "The querying user: readings
/// chosen").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ReadingKind {
    /// A level allowed (through a named identity) in some sets and denied in none hides the
    /// item (reference §4.5).
    StricterLevels,
    /// Names compared ignoring letter case.
    NamesIgnoringCase,
    /// A user of the same name in a provider that does not cascade is the same person.
    SameNameInAnyProvider,
    /// A same-named user mapped (aliased) to another identity is still the same person.
    AliasedUserByName,
}

/// The answer under another reading, when it differs from the one shown: the item is then
/// "uncertain".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OtherReading {
    pub reading: ReadingKind,
    pub visible: bool,
    /// What the reading says and what it changes, in one sentence.
    pub text: String,
    /// The chains of that answer, in words.
    pub because: Vec<String>,
}

/// "View as": whether a user sees an item, and the path that decides
/// (`permissions::AccessAnswer`, the one access analysis).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AccessExplanation {
    pub user: String,
    pub visible: bool,
    /// The set that decided: the denying set, or the last allowing set of the deciding level.
    pub deciding: Option<SetPosition>,
    /// The chain through which the deciding set matched (user → group → nested group, or → alias).
    pub chain: Vec<ChainLink>,
    pub levels: Vec<LevelExplanation>,
    /// One sentence, e.g. "emitchell@example.com: visible: every set of level 2 allows them".
    pub summary: String,
    /// The sets of the deciding level that decided, each as its chain in words:
    /// "emitchell@example.com (Email Security Provider) → alias MysteryUserX (sandbox) →
    /// level 2, set 2".
    pub because: Vec<String>,
    /// True when another reading of the documentation gives the other answer
    /// (`other_readings` says which and why).
    pub uncertain: bool,
    pub other_readings: Vec<OtherReading>,
    pub model: PermissionModelView,
}

/// One person of "Who can see this file" (and, last, anyone not signed in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UserAccess {
    /// The person's name (or `anonymous`).
    pub user: String,
    /// The row of anyone who is not signed in (no identity at all).
    pub anonymous: bool,
    pub visible: bool,
    pub summary: String,
    /// The deciding chains in words, as in [`AccessExplanation::because`].
    pub because: Vec<String>,
    pub uncertain: bool,
    pub other_readings: Vec<OtherReading>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UserRequest {
    pub folder_id: String,
    pub user: String,
}

/// A folder tree; `visible` is set in "What can this user see" (for a folder: true when every
/// file under it is visible).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TreeNode {
    pub name: String,
    pub path: String,
    pub is_dir: bool,
    pub visible: Option<bool>,
    /// For folders: how many files under it are visible, out of how many.
    pub visible_files: u64,
    pub total_files: u64,
    pub children: Vec<TreeNode>,
    /// Set on a folder whose listing was cut (a big folder lists a few thousand entries at
    /// most): how many files under it are not in `children`. The counts above include them.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omitted_files: Option<u64>,
}

// ---------------------------------------------------------------------------------------------
// Test uploads
// ---------------------------------------------------------------------------------------------

/// A file dropped on the window. In the app, `path` comes from the shell's drop event; the UI
/// never reads files itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DroppedFile {
    pub name: String,
    pub size: u64,
    pub path: Option<String>,
    pub media_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PrepareTestItemsRequest {
    pub files: Vec<DroppedFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TestItem {
    pub preview_id: String,
    pub item: ItemPreview,
}

/// Where a test item goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum PushTarget {
    Sandbox,
    Source { id: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PushTestItemRequest {
    pub preview_id: String,
    pub target: PushTarget,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum UploadStage {
    Requested,
    /// The API answered 202: queued, not yet indexed.
    Accepted,
    Indexed,
    Rejected,
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UploadStep {
    pub stage: UploadStage,
    pub at_ms: f64,
    pub detail: String,
}

/// A test upload being followed: request, 202, processing result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TestUpload {
    pub upload_id: String,
    pub preview_id: String,
    pub document_id: String,
    pub target: PushTarget,
    pub stage: UploadStage,
    pub steps: Vec<UploadStep>,
    /// Why the service rejected the item, from the source logs.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeletedCount {
    pub deleted: u64,
}

// ---------------------------------------------------------------------------------------------
// Activity
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ActivityKind {
    Pushed,
    Deleted,
    Failed,
    Identities,
    Info,
}

/// One line of the activity log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ActivityEntry {
    pub id: u64,
    pub at_ms: f64,
    pub kind: ActivityKind,
    pub folder_id: Option<String>,
    pub message: String,
    /// How many items the line stands for (a batch).
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ActivityQuery {
    /// Only entries with a larger id (the oldest first): what is new since the last look.
    pub after_id: Option<u64>,
    /// Only entries with a smaller id (the newest of them): the page before the oldest shown.
    pub before_id: Option<u64>,
    /// At most this many entries. With neither bound: the latest `limit` entries. The result
    /// is always in time order (oldest first).
    pub limit: u32,
}

// ---------------------------------------------------------------------------------------------
// Sandbox browser
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SandboxQuery {
    pub offset: u64,
    pub limit: u32,
    /// Words to find in title or content; empty for all items.
    pub text: String,
    /// Search as this user: only items the user can see. `None`: every item.
    pub as_user: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SandboxItemSummary {
    pub document_id: String,
    pub title: String,
    pub size: u64,
    pub file_type: String,
    pub indexed_at_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SandboxPage {
    pub total: u64,
    pub offset: u64,
    pub items: Vec<SandboxItemSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DocumentRef {
    pub document_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SandboxItemDetail {
    pub summary: SandboxItemSummary,
    pub ordering_id: u64,
    pub metadata: Vec<MetadataEntry>,
    pub permissions: PermissionModelView,
    /// The decoded content (text), cut to a preview length.
    pub content: String,
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/// What happened to one item (`sync_engine::ItemResult`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ItemOutcome {
    /// Accepted by the Push API (202): queued, not yet searchable.
    Pushed,
    Deleted,
    /// The Source Logs say it is searchable.
    Indexed,
    /// The Source Logs say indexing rejected it.
    Rejected,
    /// A problem kept it from being sent (see `list_problems`).
    Failed,
}

/// Every event the UI listens to, on the single channel [`EVENT_CHANNEL`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum HostEvent {
    /// A folder's card changed (state, progress, counts).
    Folder { folder: FolderSummary },
    /// A folder was removed.
    FolderRemoved {
        #[serde(rename = "folderId")]
        folder_id: String,
    },
    /// Items that settled in a folder since its last `items` event (sent at most every
    /// 100 ms per folder, so a large sync costs the window a few events a second, not one
    /// per file). The counts are exact.
    Items {
        #[serde(rename = "folderId")]
        folder_id: String,
        pushed: u64,
        deleted: u64,
        indexed: u64,
        rejected: u64,
        failed: u64,
    },
    /// One item that was rejected or failed, with why: at most 20 per folder and 100 ms (the
    /// `items` counts include every one; the activity log has a line for each).
    Item {
        #[serde(rename = "folderId")]
        folder_id: String,
        path: String,
        outcome: ItemOutcome,
        bytes: u64,
        /// Why, for `rejected` and `failed`.
        detail: Option<String>,
    },
    /// A new line in the activity log.
    Activity { entry: ActivityEntry },
    /// A test upload moved to its next stage.
    TestUpload { upload: TestUpload },
    /// A folder needs attention (also a desktop notification).
    Attention {
        #[serde(rename = "folderId")]
        folder_id: String,
        problems: u64,
        message: String,
    },
}

/// The name of the Tauri event that carries every [`HostEvent`].
pub const EVENT_CHANNEL: &str = "pushdeck://event";

/// One command the shell implements: its name (as `invoke` spells it), its argument type
/// (passed as `{ request }`, or none) and its result type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostCall {
    pub command: &'static str,
    pub request: Option<&'static str>,
    pub response: &'static str,
}

const fn call(
    command: &'static str,
    request: Option<&'static str>,
    response: &'static str,
) -> HostCall {
    HostCall {
        command,
        request,
        response,
    }
}

/// Every command the shell must implement; `ui/src/ipc/tauri.ts` calls exactly these (a test
/// checks it).
pub const HOST_CALLS: &[HostCall] = &[
    call("get_app_state", None, "AppState"),
    call("dismiss_welcome", None, "AppState"),
    call("use_sandbox", None, "AppState"),
    call("pause_all", Some("PauseAllRequest"), "AppState"),
    call("resume_all", None, "AppState"),
    call("tray_state", None, "TrayState"),
    call("get_autostart", None, "boolean"),
    call("set_autostart", Some("AutostartRequest"), "boolean"),
    call("autostart_offered", None, "AppState"),
    call(
        "list_catalog",
        Some("ConnectionRequest"),
        "OrganizationCatalog",
    ),
    call(
        "test_connection",
        Some("ConnectionRequest"),
        "ConnectionTest",
    ),
    call("connect", Some("ConnectionRequest"), "AppState"),
    call("list_folders", None, "FolderSummary[]"),
    call("pick_folder", None, "PickedFolder | null"),
    call("pick_files", None, "DroppedFile[]"),
    call("add_folder", Some("AddFolderRequest"), "FolderSummary"),
    call("add_sample_folder", None, "FolderSummary"),
    call("folder_action", Some("FolderActionRequest"), "null"),
    call("plan_folder", Some("FolderRef"), "SyncPlan"),
    call("confirm_plan", Some("ConfirmPlanRequest"), "null"),
    call("preview_patterns", Some("PatternRequest"), "PatternPreview"),
    call(
        "save_patterns",
        Some("SavePatternsRequest"),
        "FolderSummary",
    ),
    call("list_problems", Some("FolderRef"), "ItemProblem[]"),
    call("retry_problems", Some("FolderRef"), "null"),
    call("list_identities", None, "SecurityIdentity[]"),
    call("save_identities", Some("SaveIdentitiesRequest"), "null"),
    call(
        "import_identities_csv",
        Some("CsvImportRequest"),
        "CsvImport",
    ),
    call("push_identities", None, "IdentityPushResult"),
    call("list_rules", Some("FolderRef"), "RuleEntry[]"),
    call("preview_rule", Some("RuleChangeRequest"), "AccessChange"),
    call("save_rule", Some("RuleChangeRequest"), "null"),
    call("permission_model", Some("FileRef"), "PermissionModelView"),
    call(
        "explain_access",
        Some("ExplainRequest"),
        "AccessExplanation",
    ),
    call("who_can_see", Some("FileRef"), "UserAccess[]"),
    call("what_can_user_see", Some("UserRequest"), "TreeNode"),
    call(
        "prepare_test_items",
        Some("PrepareTestItemsRequest"),
        "TestItem[]",
    ),
    call("push_test_item", Some("PushTestItemRequest"), "TestUpload"),
    call("delete_test_items", None, "DeletedCount"),
    call("list_activity", Some("ActivityQuery"), "ActivityEntry[]"),
    call("list_sandbox_items", Some("SandboxQuery"), "SandboxPage"),
    call("get_sandbox_item", Some("DocumentRef"), "SandboxItemDetail"),
];

// ---------------------------------------------------------------------------------------------
// Conversions from the domain crates (the boundary: domain types stay free of wire formats)
// ---------------------------------------------------------------------------------------------

mod from_permissions {
    use super::*;
    use permissions::{
        AccessAnswer, Decision, IdentityKey, IdentityType, LevelOutcome, PermissionIdentity,
        PermissionModel, PermissionSet, QueryingUser, Reading, Relation, SetOutcome, Visibility,
    };

    impl From<IdentityType> for IdentityKind {
        fn from(t: IdentityType) -> Self {
            match t {
                IdentityType::User => Self::User,
                IdentityType::Group => Self::Group,
                IdentityType::VirtualGroup => Self::VirtualGroup,
                IdentityType::Unknown => Self::Unknown,
            }
        }
    }

    impl From<&PermissionIdentity> for IdentityRef {
        fn from(entry: &PermissionIdentity) -> Self {
            Self {
                name: entry.identity.clone(),
                kind: entry.identity_type.into(),
            }
        }
    }

    impl From<&IdentityKey> for IdentityRef {
        fn from(key: &IdentityKey) -> Self {
            Self {
                name: key.name.clone(),
                kind: key.identity_type.into(),
            }
        }
    }

    impl From<&PermissionSet> for PermissionSetView {
        fn from(set: &PermissionSet) -> Self {
            Self {
                allow_anonymous: set.allow_anonymous,
                allowed: set.allowed_permissions.iter().map(Into::into).collect(),
                denied: set.denied_permissions.iter().map(Into::into).collect(),
            }
        }
    }

    impl From<&PermissionModel> for PermissionModelView {
        fn from(model: &PermissionModel) -> Self {
            Self {
                complete: matches!(model, PermissionModel::Complete(_)),
                levels: model
                    .levels()
                    .iter()
                    .map(|level| PermissionLevelView {
                        name: level.name.clone(),
                        sets: level.permission_sets.iter().map(Into::into).collect(),
                    })
                    .collect(),
            }
        }
    }

    /// The links of a chain; a [`Relation::Viewer`] link after the first is the same person in
    /// a cascading provider ([`ChainRelation::SameUser`]).
    fn links(chain: &permissions::Chain) -> Vec<ChainLink> {
        chain
            .0
            .iter()
            .enumerate()
            .map(|(i, link)| ChainLink {
                relation: match link.relation {
                    Relation::Viewer if i == 0 => ChainRelation::Viewer,
                    Relation::Viewer => ChainRelation::SameUser,
                    Relation::MemberOf => ChainRelation::MemberOf,
                    Relation::AliasOf => ChainRelation::AliasOf,
                    Relation::GrantedTo => ChainRelation::GrantedTo,
                },
                identity: (&link.identity).into(),
            })
            .collect()
    }

    fn set_explanation(set: &permissions::SetExplanation) -> SetExplanation {
        let matched = match set.outcome {
            SetOutcome::Denied => set.denied_by.first(),
            SetOutcome::Allowed => set.allowed_by.first(),
            SetOutcome::Unspecified => None,
        };
        SetExplanation {
            verdict: match set.outcome {
                SetOutcome::Allowed => SetVerdict::Allowed,
                SetOutcome::Denied => SetVerdict::Denied,
                SetOutcome::Unspecified => SetVerdict::Unspecified,
            },
            chain: matched.map(|m| links(&m.chain)).unwrap_or_default(),
            through_anonymous: set.outcome == SetOutcome::Allowed
                && set.allow_anonymous
                && set.allowed_by.is_empty(),
        }
    }

    fn u32_of(n: usize) -> u32 {
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    impl From<Reading> for ReadingKind {
        fn from(reading: Reading) -> Self {
            match reading {
                Reading::StricterLevels => Self::StricterLevels,
                Reading::NamesIgnoringCase => Self::NamesIgnoringCase,
                Reading::SameNameInAnyProvider => Self::SameNameInAnyProvider,
                Reading::AliasedUserByName => Self::AliasedUserByName,
            }
        }
    }

    fn because_lines(because: &[permissions::Because]) -> Vec<String> {
        because.iter().map(|b| b.text.clone()).collect()
    }

    fn other_readings(answer: &AccessAnswer) -> Vec<OtherReading> {
        answer
            .other_readings
            .iter()
            .map(|other| OtherReading {
                reading: other.reading.into(),
                visible: other.visibility == Visibility::Visible,
                text: other.text.clone(),
                because: because_lines(&other.because),
            })
            .collect()
    }

    /// Level by level, set by set, and the deciding set with its chain.
    ///
    /// The deciding set: in a level that hides the item, the first set that denies; in a
    /// level that shows it, the last set that allows through a named identity (the one that
    /// tips the level), or the last set when every set allows anyone.
    fn levels_of(
        explanation: &permissions::Explanation,
    ) -> (Vec<LevelExplanation>, Option<SetPosition>, Vec<ChainLink>) {
        let levels: Vec<LevelExplanation> = explanation
            .levels
            .iter()
            .map(|level| LevelExplanation {
                verdict: match (level.evaluated, level.outcome) {
                    (false, _) => LevelVerdict::Skipped,
                    (true, LevelOutcome::Allowed) => LevelVerdict::Visible,
                    (true, LevelOutcome::Denied) => LevelVerdict::Hidden,
                    (true, LevelOutcome::Inconclusive) => LevelVerdict::Inconclusive,
                    (true, LevelOutcome::PartlyAllowed) => LevelVerdict::PartlyAllowed,
                },
                sets: level.sets.iter().map(set_explanation).collect(),
            })
            .collect();
        let deciding = match explanation.decision {
            Decision::NoLevelDecided => None,
            Decision::DeniedAtLevel { level } => levels.get(level).and_then(|l| {
                l.sets
                    .iter()
                    .position(|s| s.verdict == SetVerdict::Denied)
                    .map(|set| (level, set))
            }),
            Decision::AllowedAtLevel { level } => levels.get(level).and_then(|l| {
                l.sets
                    .iter()
                    .rposition(|s| !s.through_anonymous)
                    .or_else(|| l.sets.len().checked_sub(1))
                    .map(|set| (level, set))
            }),
        };
        let chain = deciding
            .map(|(level, set)| levels[level].sets[set].chain.clone())
            .unwrap_or_default();
        let deciding = deciding.map(|(level, set)| SetPosition {
            level: u32_of(level),
            set: u32_of(set),
        });
        (levels, deciding, chain)
    }

    impl AccessExplanation {
        /// The "View as" DTO of the one access analysis' answer (`permissions::AccessAnswer`)
        /// for an item with `model` (`None`: no rule applies, the item has no permissions).
        pub fn from_answer(answer: &AccessAnswer, model: Option<&PermissionModel>) -> Self {
            let (levels, deciding, chain) = answer
                .explanation
                .as_ref()
                .map(levels_of)
                .unwrap_or_default();
            Self {
                user: answer.user.to_string(),
                visible: answer.is_visible(),
                deciding,
                chain,
                levels,
                summary: answer.summary.clone(),
                because: because_lines(&answer.because),
                uncertain: answer.uncertain,
                other_readings: other_readings(answer),
                model: model.map(Into::into).unwrap_or(PermissionModelView {
                    complete: false,
                    levels: Vec::new(),
                }),
            }
        }
    }

    impl From<&AccessAnswer> for UserAccess {
        fn from(answer: &AccessAnswer) -> Self {
            Self {
                user: answer.user.to_string(),
                anonymous: answer.user == QueryingUser::Anonymous,
                visible: answer.is_visible(),
                summary: answer.summary.clone(),
                because: because_lines(&answer.because),
                uncertain: answer.uncertain,
                other_readings: other_readings(answer),
            }
        }
    }
}
