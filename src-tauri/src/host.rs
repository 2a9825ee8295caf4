//! The command bodies, as plain async functions over [`Host`]: DTO in, DTO out, errors as
//! [`HostError`]. The Tauri layer (`shell.rs`) only unwraps its managed state and calls these,
//! so the tests call them directly with a real emulator and temporary folders.
//!
//! State kept here, and where:
//! - the embedded Sandbox ([`push_emulator::Emulator`]) with its data in `DATA_DIR/sandbox`;
//! - the sync engine ([`sync_engine::engine::EngineHandle`]): mappings in `CONFIG_DIR/config.toml`,
//!   state in `DATA_DIR/state.sqlite3`;
//! - the app's own settings (welcome dismissed, folders awaiting their first plan, the
//!   connection without its key) in `CONFIG_DIR/app.json`;
//! - the API key: in the OS keyring (service `pushdeck`, account = organization, as the CLI),
//!   or in memory for this run only. Never in a file, never in a log, never in a DTO.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use coveo_push::{ApiKey, ClientConfig, Endpoint, Environment, PushClient};
use serde::{Deserialize, Serialize};
use sync_engine::config::{Config, FolderMapping};
use sync_engine::engine::{Engine, EngineConfig, EngineError, EngineHandle, Event, ItemResult};

use crate::dto::*;

/// The Sandbox's organization, source and provider (the emulator's defaults, as the CLI uses).
pub const SANDBOX_ORG: &str = "sandbox";
pub const SANDBOX_SOURCE: &str = "documents";
pub const SANDBOX_PROVIDER: &str = "sandbox";
/// The keyring service under which API keys are stored (shared with the CLI's `pushdeck login`).
pub const KEYRING_SERVICE: &str = "pushdeck";
/// Activity lines kept in memory for the log. More lines cost memory (~200 bytes each); fewer
/// cut the history the Activity screen can scroll back to.
const ACTIVITY_CAPACITY: usize = 20_000;
/// Characters of an item's content shown in the Sandbox browser: enough to recognize it,
/// small enough for the IPC.
const CONTENT_PREVIEW_CHARS: usize = 4_000;
/// The filter that ends an include list: a file no include matched is left out.
const EXCLUDE_REST: &str = "- *";

/// The three command errors the UI must show honestly.
fn not_yet(what: &str) -> HostError {
    HostError::new(
        ErrorCode::Internal,
        format!("{what} is not available yet in this version of the desktop app; use the `pushdeck` command line for it"),
    )
}

fn engine_error(e: EngineError) -> HostError {
    let code = match &e {
        EngineError::UnknownFolder(_) => ErrorCode::NotFound,
        EngineError::FolderExists(_) => ErrorCode::Conflict,
        EngineError::InvalidConfig(_) => ErrorCode::InvalidInput,
        EngineError::Client(_) => ErrorCode::Network,
        EngineError::State(_) | EngineError::Stopped => ErrorCode::Internal,
    };
    HostError::new(code, e.to_string())
}

fn internal(what: &str, e: impl std::fmt::Display) -> HostError {
    HostError::new(ErrorCode::Internal, format!("{what}: {e}"))
}

fn now_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as f64)
        .unwrap_or(0.0)
}

/// Where the app keeps its files.
#[derive(Debug, Clone)]
pub struct HostPaths {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
}

impl HostPaths {
    fn settings(&self) -> PathBuf {
        self.config_dir.join("app.json")
    }
    fn engine_config(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }
    fn state(&self) -> PathBuf {
        self.data_dir.join("state.sqlite3")
    }
    fn sandbox(&self) -> PathBuf {
        self.data_dir.join("sandbox")
    }
}

/// What `app.json` holds (never the key).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Settings {
    welcome_dismissed: bool,
    /// Folders added but not yet confirmed: not in the engine until the first plan is confirmed.
    awaiting: Vec<FolderMapping>,
    connection: Option<ConnectionSummary>,
    /// True once the person chose a real organization; false = Sandbox.
    use_organization: bool,
}

/// The connection the engine's client factory reads: the org and its key (in memory only).
#[derive(Default)]
struct Credentials {
    summary: Option<ConnectionSummary>,
    key: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("summary", &self.summary)
            .field("key", &self.key.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Sends a [`HostEvent`] to the UI (the Tauri app emits it on [`EVENT_CHANNEL`]).
pub type EventSink = Arc<dyn Fn(HostEvent) + Send + Sync>;

#[derive(Debug, Default)]
struct PlanTicket {
    plan_id: String,
}

/// The managed state of the app.
pub struct Host {
    paths: HostPaths,
    emulator: push_emulator::Emulator,
    engine: EngineHandle,
    http: reqwest::Client,
    settings: Mutex<Settings>,
    credentials: Arc<Mutex<Credentials>>,
    activity: Arc<Mutex<VecDeque<ActivityEntry>>>,
    plans: Mutex<BTreeMap<String, PlanTicket>>,
    keyring_available: bool,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("paths", &self.paths)
            .field("sandbox", &self.emulator.url())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn region_endpoint(region: Region) -> Endpoint {
    let (region, environment) = match region {
        Region::Us => (coveo_push::Region::Us, Environment::Prod),
        Region::Eu => (coveo_push::Region::Eu, Environment::Prod),
        Region::Au => (coveo_push::Region::Au, Environment::Prod),
        Region::Ca => (coveo_push::Region::Ca, Environment::Prod),
        Region::Hipaa => (coveo_push::Region::Us, Environment::Hipaa),
    };
    Endpoint::Coveo {
        region,
        environment,
    }
}

// ---------------------------------------------------------------------------------------------
// Keyring (blocking API: always on a blocking thread, build-notes §6)
// ---------------------------------------------------------------------------------------------

fn keyring_error(e: &keyring::Error) -> HostError {
    let why = match e {
        keyring::Error::PlatformFailure(e) | keyring::Error::NoStorageAccess(e) => e.to_string(),
        keyring::Error::BadEncoding(_) => "the stored entry is not text".into(),
        other => other.to_string(),
    };
    HostError::new(
        ErrorCode::KeyringUnavailable,
        format!("the operating system's keyring is not available ({why}); you can keep the key for this run only"),
    )
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, HostError> + Send + 'static,
) -> Result<T, HostError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| internal("a keyring call stopped unexpectedly", e))?
}

/// Whether the keyring answers (a missing entry counts as an answer).
pub async fn probe_keyring() -> bool {
    blocking(|| {
        let entry = keyring::Entry::new(KEYRING_SERVICE, "pushdeck-probe")
            .map_err(|e| keyring_error(&e))?;
        match entry.get_password() {
            Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(&e)),
        }
    })
    .await
    .is_ok()
}

async fn keyring_store(org: String, key: String) -> Result<(), HostError> {
    blocking(move || {
        let entry = keyring::Entry::new(KEYRING_SERVICE, &org).map_err(|e| keyring_error(&e))?;
        entry.set_password(&key).map_err(|e| keyring_error(&e))
    })
    .await
}

async fn keyring_load(org: String) -> Result<Option<String>, HostError> {
    blocking(move || {
        let entry = keyring::Entry::new(KEYRING_SERVICE, &org).map_err(|e| keyring_error(&e))?;
        match entry.get_password() {
            Ok(key) => Ok(Some(key)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(&e)),
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------------------------

fn folder_state(state: &sync_engine::engine::FolderState) -> FolderState {
    use sync_engine::engine::FolderState as S;
    match state {
        S::UpToDate { problems } => FolderState::UpToDate {
            problems: *problems as u64,
        },
        S::Scanning => FolderState::Scanning { files_seen: None },
        S::Syncing {
            done,
            total,
            bytes_done,
            bytes_total,
            eta_secs,
        } => FolderState::Syncing {
            done: *done as u64,
            total: *total as u64,
            bytes: *bytes_done,
            bytes_total: *bytes_total,
            eta_seconds: eta_secs.map(|s| s as f64),
        },
        S::Paused { reason } => FolderState::Paused {
            reason: reason.clone(),
        },
        S::NeedsAttention { problems } => FolderState::NeedsAttention {
            problems: problems.len() as u64,
            reasons: problems.clone(),
        },
    }
}

/// The UI's include/exclude lists as the engine's first-match-wins filters: excludes first,
/// then includes, then (when there are includes) everything else left out.
fn filters_of(include: &[String], exclude: &[String]) -> Vec<String> {
    let mut filters: Vec<String> = exclude.iter().map(|p| format!("- {p}")).collect();
    filters.extend(include.iter().map(|p| format!("+ {p}")));
    if !include.is_empty() {
        filters.push(EXCLUDE_REST.into());
    }
    filters
}

fn patterns_of(filters: &[String]) -> (Vec<String>, Vec<String>) {
    let (mut include, mut exclude) = (Vec::new(), Vec::new());
    for f in filters.iter().filter(|f| f.as_str() != EXCLUDE_REST) {
        if let Some(p) = f.strip_prefix("+ ") {
            include.push(p.to_owned());
        } else if let Some(p) = f.strip_prefix("- ") {
            exclude.push(p.to_owned());
        }
    }
    (include, exclude)
}

fn summary_of(
    mapping: &FolderMapping,
    state: FolderState,
    last_sync_at_ms: Option<f64>,
    item_count: u64,
    awaiting: bool,
) -> FolderSummary {
    let (include, exclude) = patterns_of(&mapping.filters);
    FolderSummary {
        id: mapping.name.clone(),
        name: mapping.name.clone(),
        path: mapping.path.display().to_string(),
        source_id: mapping.source.clone(),
        state,
        last_sync_at_ms,
        item_count,
        include,
        exclude,
        awaiting_first_sync: awaiting,
    }
}

fn awaiting_summary(mapping: &FolderMapping) -> FolderSummary {
    summary_of(
        mapping,
        FolderState::Paused {
            reason: Some("Waiting for you to check and confirm the first plan.".into()),
        },
        None,
        0,
        true,
    )
}

fn problem_code(kind: sync_engine::scan::ProblemKind) -> ProblemCode {
    use sync_engine::scan::ProblemKind as K;
    match kind {
        K::Unreadable => ProblemCode::Unreadable,
        K::ChangedWhileRead => ProblemCode::ChangedWhileRead,
        K::NameNotUtf8 => ProblemCode::NameNotUtf8,
        K::SymlinkLoop => ProblemCode::SymlinkLoop,
        K::PushFailed => ProblemCode::PushFailed,
        K::Rejected => ProblemCode::Rejected,
    }
}

fn empty_model() -> PermissionModelView {
    PermissionModelView {
        complete: false,
        levels: Vec::new(),
    }
}

fn plan_dto(plan: &sync_engine::plan::Plan, plan_id: String) -> SyncPlan {
    let s = plan.summary();
    let sample = plan.pushes.first().map(|item| {
        let file_name = item
            .path
            .rsplit('/')
            .next()
            .unwrap_or(&item.path)
            .to_owned();
        let metadata: Vec<MetadataEntry> = item
            .metadata
            .iter()
            .map(|(name, value)| MetadataEntry {
                name: name.clone(),
                value: match value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
            })
            .collect();
        let mut body = serde_json::Map::new();
        body.insert("documentId".into(), item.document_id.clone().into());
        for (k, v) in &item.metadata {
            body.insert(k.clone(), v.clone());
        }
        if let Some(p) = &item.permissions {
            body.insert(
                "permissions".into(),
                serde_json::to_value(p).unwrap_or_default(),
            );
        }
        body.insert(
            "data".into(),
            format!("<the content of {file_name}, {} bytes>", item.size).into(),
        );
        ItemPreview {
            document_id: item.document_id.clone(),
            title: file_name.clone(),
            file_name,
            size: item.size,
            // The dry run does not compress; the size sent is at most this.
            compressed_size: item.size,
            compression: Compression::Uncompressed,
            metadata,
            permissions: item
                .permissions
                .as_ref()
                .map(Into::into)
                .unwrap_or_else(empty_model),
            json: serde_json::to_string_pretty(&body).unwrap_or_default(),
        }
    });
    SyncPlan {
        plan_id,
        folder_id: plan.folder.clone(),
        added: s.adds as u64,
        updated: s.updates as u64,
        deleted: s.deletes as u64,
        moved: s.moves as u64,
        unchanged: s.unchanged as u64,
        skipped: s.skipped as u64,
        bytes: s.bytes,
        sample,
        warnings: Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// The host
// ---------------------------------------------------------------------------------------------

impl Host {
    /// Starts the Sandbox and the engine, loads the settings, and forwards engine events to
    /// `sink`. Must run inside a tokio runtime.
    pub async fn start(paths: HostPaths, sink: EventSink) -> Result<Arc<Self>, HostError> {
        for dir in [&paths.config_dir, &paths.data_dir, &paths.sandbox()] {
            std::fs::create_dir_all(dir)
                .map_err(|e| internal(&format!("cannot create the folder {}", dir.display()), e))?;
        }
        let settings: Settings = match std::fs::read(paths.settings()) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!("ignoring unreadable {}: {e}", paths.settings().display());
                Settings::default()
            }),
            Err(_) => Settings::default(),
        };
        let emulator = push_emulator::Emulator::start(push_emulator::EmulatorConfig {
            listen: ([127, 0, 0, 1], 0).into(),
            // A fresh key per run: other local users must not push into the Sandbox.
            api_key: format!("xx-sandbox-{}", uuid::Uuid::new_v4().simple()),
            data_dir: Some(paths.sandbox()),
            organizations: vec![push_emulator::OrgConfig::new(
                SANDBOX_ORG,
                SANDBOX_SOURCE,
                SANDBOX_PROVIDER,
            )],
            ..push_emulator::EmulatorConfig::default()
        })
        .await
        .map_err(|e| internal("cannot start the Sandbox", e))?;
        // Announce the Sandbox like the CLI does (`sandbox.json`: url, key, pid; owner-only),
        // so `PUSHDECK_SANDBOX_DIR=<this folder> pushdeck ...` joins it instead of starting a
        // second emulator on the same data. The key is the Sandbox's own, never a Coveo key.
        if let Err(e) = announce_sandbox(&paths.sandbox(), &emulator) {
            tracing::warn!("cannot announce the Sandbox: {e}");
        }
        let keyring_available = probe_keyring().await;

        let credentials = Arc::new(Mutex::new(Credentials {
            summary: settings.connection.clone(),
            key: None,
        }));
        if let Some(conn) = &settings.connection {
            if conn.key_storage == KeyStorage::Keyring && keyring_available {
                if let Ok(key) = keyring_load(conn.organization_id.clone()).await {
                    lock(&credentials).key = key;
                }
            }
        }

        let sandbox_url = emulator.url().to_owned();
        let sandbox_key = emulator.api_key().to_owned();
        let factory_credentials = credentials.clone();
        let clients: sync_engine::engine::ClientFactory = Arc::new(move |m: &FolderMapping| {
            if m.organization == SANDBOX_ORG {
                let endpoint = Endpoint::custom(&sandbox_url)?;
                return PushClient::new(
                    ClientConfig::new(SANDBOX_ORG, ApiKey::new(sandbox_key.clone()))
                        .with_endpoint(endpoint),
                );
            }
            let creds = lock(&factory_credentials);
            let region = creds
                .summary
                .as_ref()
                .filter(|c| c.organization_id == m.organization)
                .map(|c| c.region)
                .unwrap_or(Region::Us);
            let key = creds.key.clone().unwrap_or_default();
            PushClient::new(
                ClientConfig::new(&m.organization, ApiKey::new(key))
                    .with_endpoint(region_endpoint(region)),
            )
        });
        let config = Config::load_or_default(&paths.engine_config())
            .map_err(|e| HostError::new(ErrorCode::InvalidInput, e.to_string()))?;
        let mut engine_config = EngineConfig::new(paths.state(), clients);
        engine_config.config_path = Some(paths.engine_config());
        let engine = Engine::start(engine_config, config.folders)
            .await
            .map_err(engine_error)?;

        let host = Arc::new(Self {
            paths,
            emulator,
            engine,
            http: reqwest::Client::new(),
            settings: Mutex::new(settings),
            credentials,
            activity: Arc::new(Mutex::new(VecDeque::new())),
            plans: Mutex::new(BTreeMap::new()),
            keyring_available,
        });
        host.forward_events(sink);
        Ok(host)
    }

    /// The Sandbox's origin (the emulator's inspection API lives under `/_emulator/v1`).
    pub fn sandbox_url(&self) -> &str {
        self.emulator.url()
    }

    /// Returns once every write the Sandbox accepted so far is processed (tests).
    pub async fn drain_sandbox(&self) {
        self.emulator.drain().await;
    }

    /// Stops the engine (waiting for the batch in flight).
    pub async fn shutdown(self: Arc<Self>) {
        if let Ok(host) = Arc::try_unwrap(self) {
            host.engine.shutdown().await;
        }
    }

    fn forward_events(self: &Arc<Self>, sink: EventSink) {
        let mut events = self.engine.subscribe();
        let weak = Arc::downgrade(self);
        let activity = self.activity.clone();
        tokio::spawn(async move {
            let mut next_id: u64 = 1;
            // Items accepted per folder since the last line: one "pushed"/"deleted" line per
            // run (with its count, for the chart) instead of one line per item.
            let mut tally: BTreeMap<String, (u64, u64)> = BTreeMap::new();
            loop {
                let event = match events.recv().await {
                    Ok(e) => e,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!("the UI missed {n} engine events");
                        continue;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                };
                let mut log_n = |kind, folder: &str, message: String, at_ms: f64, count: u64| {
                    let entry = ActivityEntry {
                        id: next_id,
                        at_ms,
                        kind,
                        folder_id: Some(folder.to_owned()),
                        message,
                        count,
                    };
                    next_id += 1;
                    let mut a = lock(&activity);
                    if a.len() >= ACTIVITY_CAPACITY {
                        a.pop_front();
                    }
                    a.push_back(entry.clone());
                    entry
                };
                if let Event::FolderState { folder, .. } | Event::Activity { folder, .. } = &event {
                    if let Some((pushed, deleted)) = tally.remove(folder) {
                        for (kind, n, what) in [
                            (ActivityKind::Pushed, pushed, "accepted by the Push API"),
                            (ActivityKind::Deleted, deleted, "deleted from the source"),
                        ] {
                            if n > 0 {
                                let entry =
                                    log_n(kind, folder, format!("{n} item(s) {what}"), now_ms(), n);
                                sink(HostEvent::Activity { entry });
                            }
                        }
                    }
                }
                let mut log = |kind, folder: &str, message: String, at_ms: f64| {
                    log_n(kind, folder, message, at_ms, 1)
                };
                match event {
                    Event::FolderState { folder, state } => {
                        let Some(host) = weak.upgrade() else { break };
                        if let Ok(summary) = host.folder_summary(&folder, &state).await {
                            if let FolderState::NeedsAttention { problems, reasons } =
                                &summary.state
                            {
                                sink(HostEvent::Attention {
                                    folder_id: folder.clone(),
                                    problems: *problems,
                                    message: reasons.join(" "),
                                });
                            }
                            sink(HostEvent::Folder { folder: summary });
                        }
                    }
                    Event::Item {
                        folder,
                        path,
                        result,
                    } => {
                        match &result {
                            ItemResult::Pushed => tally.entry(folder.clone()).or_default().0 += 1,
                            ItemResult::Deleted => tally.entry(folder.clone()).or_default().1 += 1,
                            _ => {}
                        }
                        let (outcome, detail) = match &result {
                            ItemResult::Pushed => (ItemOutcome::Pushed, None),
                            ItemResult::Deleted => (ItemOutcome::Deleted, None),
                            ItemResult::Indexed => (ItemOutcome::Indexed, None),
                            ItemResult::Rejected { reason } => {
                                (ItemOutcome::Rejected, Some(reason.clone()))
                            }
                            ItemResult::Problem {
                                message,
                                what_to_do,
                                ..
                            } => (
                                ItemOutcome::Failed,
                                Some(format!("{message}; {what_to_do}")),
                            ),
                        };
                        if let Some(detail) = &detail {
                            let entry = log(
                                ActivityKind::Failed,
                                &folder,
                                format!("{path}: {detail}"),
                                now_ms(),
                            );
                            sink(HostEvent::Activity { entry });
                        }
                        sink(HostEvent::Item {
                            folder_id: folder,
                            path,
                            outcome,
                            bytes: 0,
                            detail,
                        });
                    }
                    Event::Activity {
                        folder,
                        at_ms,
                        message,
                    } => {
                        let entry = log(ActivityKind::Info, &folder, message, at_ms as f64);
                        sink(HostEvent::Activity { entry });
                    }
                }
            }
        });
    }

    fn save_settings(&self, settings: &Settings) -> Result<(), HostError> {
        let text = serde_json::to_vec_pretty(settings).map_err(|e| internal("settings", e))?;
        let path = self.paths.settings();
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| internal(&format!("cannot save {}", path.display()), e))
    }

    async fn item_count(&self, folder: &str) -> u64 {
        let state = self.paths.state();
        let folder = folder.to_owned();
        tokio::task::spawn_blocking(move || {
            sync_engine::state::Store::open(&state)
                .and_then(|s| s.items(&folder))
                .map(|items| items.len() as u64)
                .unwrap_or(0)
        })
        .await
        .unwrap_or(0)
    }

    async fn folder_summary(
        &self,
        name: &str,
        state: &sync_engine::engine::FolderState,
    ) -> Result<FolderSummary, HostError> {
        let status = self.engine.status().await.map_err(engine_error)?;
        let folder = status
            .iter()
            .find(|s| s.mapping.name == name)
            .ok_or_else(|| engine_error(EngineError::UnknownFolder(name.into())))?;
        Ok(summary_of(
            &folder.mapping,
            folder_state(state),
            folder.last_full_sync_ms.map(|ms| ms as f64),
            self.item_count(name).await,
            false,
        ))
    }

    // ---- app state -----------------------------------------------------------------------

    pub async fn get_app_state(&self) -> Result<AppState, HostError> {
        let s = lock(&self.settings);
        Ok(AppState {
            mode: if s.use_organization && s.connection.is_some() {
                ConnectionMode::Organization
            } else {
                ConnectionMode::Sandbox
            },
            connection: s.connection.clone(),
            first_launch: !s.welcome_dismissed,
            keyring_available: self.keyring_available,
            version: env!("CARGO_PKG_VERSION").to_owned(),
        })
    }

    pub async fn dismiss_welcome(&self) -> Result<AppState, HostError> {
        {
            let mut s = lock(&self.settings);
            s.welcome_dismissed = true;
            self.save_settings(&s)?;
        }
        self.get_app_state().await
    }

    pub async fn use_sandbox(&self) -> Result<AppState, HostError> {
        {
            let mut s = lock(&self.settings);
            s.use_organization = false;
            self.save_settings(&s)?;
        }
        self.get_app_state().await
    }

    // ---- connection ----------------------------------------------------------------------

    fn existing_id(choice: &TargetChoice, what: &str) -> Result<String, HostError> {
        match choice {
            TargetChoice::Existing { id } if !id.trim().is_empty() => Ok(id.trim().to_owned()),
            TargetChoice::Existing { .. } => Err(HostError::new(
                ErrorCode::InvalidInput,
                format!("pick a {what}"),
            )),
            TargetChoice::Create { .. } => Err(not_yet(&format!("Creating a {what} from the app"))),
        }
    }

    /// Stores the key (keyring or this run only) and makes the organization the target of
    /// new folders. The key is never returned.
    pub async fn connect(&self, request: ConnectionRequest) -> Result<AppState, HostError> {
        let org = request.organization_id.trim().to_owned();
        if org.is_empty() {
            return Err(HostError::new(
                ErrorCode::InvalidInput,
                "type the organization ID (Administration console → Organization → Settings)",
            ));
        }
        let source_id = Self::existing_id(&request.source, "source")?;
        let provider_id = Self::existing_id(&request.provider, "security identity provider")?;
        let key = request.api_key.trim().to_owned();
        let key = if key.is_empty() {
            // Re-connecting with the stored key.
            lock(&self.credentials)
                .key
                .clone()
                .filter(|_| {
                    lock(&self.credentials)
                        .summary
                        .as_ref()
                        .is_some_and(|c| c.organization_id == org)
                })
                .ok_or_else(|| {
                    HostError::new(
                        ErrorCode::InvalidInput,
                        "type the API key for this organization",
                    )
                })?
        } else {
            key
        };
        if request.key_storage == KeyStorage::Keyring {
            keyring_store(org.clone(), key.clone()).await?;
        }
        let summary = ConnectionSummary {
            organization_id: org,
            region: request.region,
            source_id,
            provider_id,
            key_storage: request.key_storage,
        };
        {
            let mut creds = lock(&self.credentials);
            creds.summary = Some(summary.clone());
            creds.key = Some(key);
        }
        {
            let mut s = lock(&self.settings);
            s.connection = Some(summary);
            s.use_organization = true;
            self.save_settings(&s)?;
        }
        self.get_app_state().await
    }

    /// Whether the key stored for `org` (in the keyring or in memory) equals `key`; for tests
    /// of "store and replace the key" without ever returning the key to the UI.
    pub async fn stored_key_matches(&self, org: &str, key: &str) -> Result<bool, HostError> {
        let stored = match keyring_load(org.to_owned()).await? {
            Some(k) => Some(k),
            None => lock(&self.credentials).key.clone(),
        };
        Ok(stored.as_deref() == Some(key))
    }

    // ---- folders -------------------------------------------------------------------------

    pub async fn list_folders(&self) -> Result<Vec<FolderSummary>, HostError> {
        let status = self.engine.status().await.map_err(engine_error)?;
        let mut out = Vec::with_capacity(status.len());
        for s in &status {
            out.push(summary_of(
                &s.mapping,
                folder_state(&s.state),
                s.last_full_sync_ms.map(|ms| ms as f64),
                self.item_count(&s.mapping.name).await,
                false,
            ));
        }
        out.extend(lock(&self.settings).awaiting.iter().map(awaiting_summary));
        Ok(out)
    }

    fn target(&self, source_id: &str) -> (String, String, Option<String>) {
        let s = lock(&self.settings);
        match (&s.connection, s.use_organization) {
            (Some(c), true) => (
                c.organization_id.clone(),
                if source_id.is_empty() {
                    c.source_id.clone()
                } else {
                    source_id.to_owned()
                },
                Some(c.provider_id.clone()),
            ),
            _ => (
                SANDBOX_ORG.into(),
                if source_id.is_empty() {
                    SANDBOX_SOURCE.into()
                } else {
                    source_id.to_owned()
                },
                Some(SANDBOX_PROVIDER.into()),
            ),
        }
    }

    /// Adds a folder, paused until its first plan is confirmed (`confirm_plan`).
    pub async fn add_folder(&self, request: AddFolderRequest) -> Result<FolderSummary, HostError> {
        let path = PathBuf::from(request.path.trim());
        if !path.is_absolute() || !path.is_dir() {
            return Err(HostError::new(
                ErrorCode::InvalidInput,
                format!(
                    "{} is not a folder on this computer; pick one with \"Add folder\"",
                    path.display()
                ),
            ));
        }
        let mut taken: Vec<String> = self
            .engine
            .status()
            .await
            .map_err(engine_error)?
            .into_iter()
            .map(|s| s.mapping.name)
            .collect();
        taken.extend(lock(&self.settings).awaiting.iter().map(|m| m.name.clone()));
        let wanted = request.name.trim();
        let name = if wanted.is_empty() {
            sync_engine::config::unique_folder_name(&path, |n| taken.iter().any(|t| t == n))
        } else if taken.iter().any(|t| t == wanted) {
            return Err(HostError::new(
                ErrorCode::Conflict,
                format!("a folder named {wanted:?} exists already; pick another name"),
            ));
        } else {
            wanted.to_owned()
        };
        let (org, source, provider) = self.target(&request.source_id);
        let mut mapping = FolderMapping::new(name, path, org, source);
        mapping.provider = provider;
        mapping.filters = filters_of(&request.include, &request.exclude);
        let mut check = Config::default();
        check.folders.push(mapping.clone());
        check
            .validate()
            .map_err(|e| HostError::new(ErrorCode::InvalidInput, e.to_string()))?;
        let summary = awaiting_summary(&mapping);
        {
            let mut s = lock(&self.settings);
            s.awaiting.push(mapping);
            self.save_settings(&s)?;
        }
        Ok(summary)
    }

    fn awaiting(&self, name: &str) -> Option<FolderMapping> {
        lock(&self.settings)
            .awaiting
            .iter()
            .find(|m| m.name == name)
            .cloned()
    }

    pub async fn folder_action(&self, request: FolderActionRequest) -> Result<(), HostError> {
        let name = request.folder_id.as_str();
        if self.awaiting(name).is_some() {
            return match request.action {
                FolderAction::Remove => {
                    let mut s = lock(&self.settings);
                    s.awaiting.retain(|m| m.name != name);
                    self.save_settings(&s)
                }
                _ => Err(HostError::new(
                    ErrorCode::Conflict,
                    "this folder waits for its first plan: check it and confirm it first",
                )),
            };
        }
        let r = match request.action {
            FolderAction::Pause => self.engine.pause(name).await,
            FolderAction::Resume => self.engine.resume(name).await,
            FolderAction::Rescan => self.engine.rescan_now(name).await,
            FolderAction::Rebuild => self.engine.rebuild(name).await,
            FolderAction::Remove => self.engine.remove_folder(name).await,
        };
        r.map_err(engine_error)
    }

    pub async fn plan_folder(&self, request: FolderRef) -> Result<SyncPlan, HostError> {
        let plan = match self.awaiting(&request.folder_id) {
            Some(mapping) => sync_engine::engine::preview(&self.paths.state(), &mapping)
                .await
                .map_err(engine_error)?,
            None => self
                .engine
                .dry_run(&request.folder_id)
                .await
                .map_err(engine_error)?,
        };
        let plan_id = uuid::Uuid::new_v4().simple().to_string();
        lock(&self.plans).insert(
            request.folder_id.clone(),
            PlanTicket {
                plan_id: plan_id.clone(),
            },
        );
        Ok(plan_dto(&plan, plan_id))
    }

    /// Starts syncing a folder that waited for its first plan, or lets a folder go past a
    /// safety brake once. `conflict` when the plan is not the latest one shown.
    pub async fn confirm_plan(&self, request: ConfirmPlanRequest) -> Result<(), HostError> {
        let current = lock(&self.plans)
            .get(&request.folder_id)
            .map(|t| t.plan_id.clone());
        if current.as_deref() != Some(request.plan_id.as_str()) {
            return Err(HostError::new(
                ErrorCode::Conflict,
                "this plan is out of date; look at the new plan before confirming",
            ));
        }
        lock(&self.plans).remove(&request.folder_id);
        match self.awaiting(&request.folder_id) {
            Some(mapping) => {
                self.engine
                    .add_folder(mapping)
                    .await
                    .map_err(engine_error)?;
                let mut s = lock(&self.settings);
                s.awaiting.retain(|m| m.name != request.folder_id);
                self.save_settings(&s)
            }
            None => {
                self.engine
                    .confirm(&request.folder_id)
                    .await
                    .map_err(engine_error)?;
                self.engine
                    .rescan_now(&request.folder_id)
                    .await
                    .map_err(engine_error)
            }
        }
    }

    pub async fn preview_patterns(
        &self,
        request: PatternRequest,
    ) -> Result<PatternPreview, HostError> {
        let root = PathBuf::from(&request.path);
        let mut problems = Vec::new();
        for p in request.include.iter().chain(&request.exclude) {
            if let Err(e) = sync_engine::config::Filters::new(&[&format!("+ {p}")]) {
                problems.push(PatternProblem {
                    pattern: p.clone(),
                    message: e,
                });
            }
        }
        if !problems.is_empty() {
            return Ok(PatternPreview {
                matched: Vec::new(),
                matched_count: 0,
                excluded_count: 0,
                total_count: 0,
                problems,
            });
        }
        let rules = filters_of(&request.include, &request.exclude);
        let limit = request.limit as usize;
        tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = rules.iter().map(String::as_str).collect();
            let filters = sync_engine::config::Filters::new(&refs)
                .map_err(|e| HostError::new(ErrorCode::InvalidInput, e))?;
            let matches = sync_engine::config::list_matches(&root, &filters).map_err(|e| {
                HostError::new(
                    ErrorCode::NotFound,
                    format!("cannot read {}: {e}", root.display()),
                )
            })?;
            let total = matches.len() as u64;
            let included: Vec<String> = matches
                .iter()
                .filter(|m| m.decision.included)
                .map(|m| m.path.clone())
                .collect();
            let matched_count = included.len() as u64;
            Ok(PatternPreview {
                matched: included.into_iter().take(limit).collect(),
                matched_count,
                excluded_count: total - matched_count,
                total_count: total,
                problems: Vec::new(),
            })
        })
        .await
        .map_err(|e| internal("the pattern preview stopped", e))?
    }

    pub async fn save_patterns(
        &self,
        request: SavePatternsRequest,
    ) -> Result<FolderSummary, HostError> {
        let filters = filters_of(&request.include, &request.exclude);
        if let Some(mut mapping) = self.awaiting(&request.folder_id) {
            mapping.filters = filters;
            let summary = awaiting_summary(&mapping);
            let mut s = lock(&self.settings);
            if let Some(m) = s.awaiting.iter_mut().find(|m| m.name == mapping.name) {
                *m = mapping;
            }
            self.save_settings(&s)?;
            return Ok(summary);
        }
        let status = self.engine.status().await.map_err(engine_error)?;
        let folder = status
            .into_iter()
            .find(|s| s.mapping.name == request.folder_id)
            .ok_or_else(|| engine_error(EngineError::UnknownFolder(request.folder_id.clone())))?;
        let mut mapping = folder.mapping;
        mapping.filters = filters;
        self.engine
            .change_folder(mapping)
            .await
            .map_err(engine_error)?;
        let status = self.engine.status().await.map_err(engine_error)?;
        let folder = status
            .into_iter()
            .find(|s| s.mapping.name == request.folder_id)
            .ok_or_else(|| engine_error(EngineError::UnknownFolder(request.folder_id.clone())))?;
        Ok(summary_of(
            &folder.mapping,
            folder_state(&folder.state),
            folder.last_full_sync_ms.map(|ms| ms as f64),
            self.item_count(&request.folder_id).await,
            false,
        ))
    }

    pub async fn list_problems(&self, request: FolderRef) -> Result<Vec<ItemProblem>, HostError> {
        if self.awaiting(&request.folder_id).is_some() {
            return Ok(Vec::new());
        }
        let status = self.engine.status().await.map_err(engine_error)?;
        let folder = status
            .into_iter()
            .find(|s| s.mapping.name == request.folder_id)
            .ok_or_else(|| engine_error(EngineError::UnknownFolder(request.folder_id.clone())))?;
        let at_ms = folder
            .last_full_sync_ms
            .map(|ms| ms as f64)
            .unwrap_or_else(now_ms);
        Ok(folder
            .last_problems
            .iter()
            .map(|p| ItemProblem {
                path: p.path.clone(),
                code: problem_code(p.kind),
                what: p.message.clone(),
                what_to_do: p.kind.what_to_do().to_owned(),
                at_ms,
            })
            .collect())
    }

    /// Failed files are retried by a full rescan now.
    pub async fn retry_problems(&self, request: FolderRef) -> Result<(), HostError> {
        self.engine
            .rescan_now(&request.folder_id)
            .await
            .map_err(engine_error)
    }

    // ---- activity ------------------------------------------------------------------------

    pub async fn list_activity(&self, q: ActivityQuery) -> Result<Vec<ActivityEntry>, HostError> {
        let a = lock(&self.activity);
        let limit = q.limit.max(1) as usize;
        let out: Vec<ActivityEntry> = match (q.after_id, q.before_id) {
            (Some(after), _) => a
                .iter()
                .filter(|e| e.id > after && q.before_id.is_none_or(|b| e.id < b))
                .take(limit)
                .cloned()
                .collect(),
            (None, before) => {
                let mut newest: Vec<ActivityEntry> = a
                    .iter()
                    .rev()
                    .filter(|e| before.is_none_or(|b| e.id < b))
                    .take(limit)
                    .cloned()
                    .collect();
                newest.reverse();
                newest
            }
        };
        Ok(out)
    }

    // ---- Sandbox browser (the emulator's inspection API) ----------------------------------

    async fn inspect(&self, path_and_query: &str) -> Result<serde_json::Value, HostError> {
        let url = format!("{}/_emulator/v1{path_and_query}", self.emulator.url());
        let response = self.http.get(url).send().await.map_err(|e| {
            HostError::new(
                ErrorCode::Network,
                format!("the Sandbox did not answer: {e}"),
            )
        })?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(HostError::new(
                ErrorCode::NotFound,
                "the Sandbox has no such item",
            ));
        }
        if !status.is_success() {
            return Err(HostError::new(
                ErrorCode::Internal,
                format!("the Sandbox answered {status}"),
            ));
        }
        response
            .json()
            .await
            .map_err(|e| internal("the Sandbox's answer is not JSON", e))
    }

    fn item_summary(item: &serde_json::Value) -> SandboxItemSummary {
        let document_id = item["documentId"].as_str().unwrap_or_default().to_owned();
        let title = item["metadata"]
            .as_object()
            .and_then(|m| {
                m.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("title"))
                    .and_then(|(_, v)| v.as_str())
            })
            .map(str::to_owned)
            .unwrap_or_else(|| {
                document_id
                    .rsplit('/')
                    .next()
                    .unwrap_or(&document_id)
                    .to_owned()
            });
        SandboxItemSummary {
            document_id,
            title,
            size: item["contentSize"].as_u64().unwrap_or(0),
            file_type: item["fileExtension"]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches('.')
                .to_owned(),
            indexed_at_ms: item["updated"]
                .as_f64()
                .or_else(|| {
                    item["updated"]
                        .as_str()
                        .and_then(|s| {
                            time::OffsetDateTime::parse(
                                s,
                                &time::format_description::well_known::Rfc3339,
                            )
                            .ok()
                        })
                        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as f64)
                })
                .unwrap_or(0.0),
        }
    }

    fn content_text(item: &serde_json::Value) -> String {
        use base64::Engine as _;
        let bytes = item["content"]
            .as_str()
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes)
            .chars()
            .take(CONTENT_PREVIEW_CHARS)
            .collect()
    }

    fn sandbox_source(&self) -> String {
        format!("/organizations/{SANDBOX_ORG}/sources/{SANDBOX_SOURCE}")
    }

    pub async fn list_sandbox_items(&self, q: SandboxQuery) -> Result<SandboxPage, HostError> {
        let base = self.sandbox_source();
        let all = self.inspect(&format!("{base}/items")).await?;
        let mut items: Vec<&serde_json::Value> = all["items"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        if let Some(user) = q.as_user.as_deref().filter(|u| !u.trim().is_empty()) {
            let user = user.trim();
            let encoded: String = url_encode(user);
            let seen = self
                .inspect(&format!("{base}/search?user={encoded}&visibleOnly=true"))
                .await?;
            let visible: std::collections::HashSet<String> = seen["items"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|i| i["visible"].as_bool().unwrap_or(false))
                        .filter_map(|i| i["documentId"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            items.retain(|i| visible.contains(i["documentId"].as_str().unwrap_or_default()));
        }
        let words: Vec<String> = q.text.split_whitespace().map(str::to_lowercase).collect();
        let mut summaries: Vec<SandboxItemSummary> = Vec::new();
        for item in items {
            let summary = Self::item_summary(item);
            if !words.is_empty() {
                let hay = format!("{} {}", summary.title, Self::content_text(item)).to_lowercase();
                if !words.iter().all(|w| hay.contains(w)) {
                    continue;
                }
            }
            summaries.push(summary);
        }
        let total = summaries.len() as u64;
        let items = summaries
            .into_iter()
            .skip(q.offset as usize)
            .take(q.limit as usize)
            .collect();
        Ok(SandboxPage {
            total,
            offset: q.offset,
            items,
        })
    }

    pub async fn get_sandbox_item(&self, r: DocumentRef) -> Result<SandboxItemDetail, HostError> {
        let item = self
            .inspect(&format!(
                "{}/item?documentId={}",
                self.sandbox_source(),
                url_encode(&r.document_id)
            ))
            .await?;
        let metadata = item["metadata"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(name, v)| MetadataEntry {
                        name: name.clone(),
                        value: v
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let permissions =
            serde_json::from_value::<permissions::PermissionModel>(item["permissions"].clone())
                .map(|m| (&m).into())
                .unwrap_or_else(|_| empty_model());
        Ok(SandboxItemDetail {
            summary: Self::item_summary(&item),
            ordering_id: item["orderingId"].as_u64().unwrap_or(0),
            metadata,
            permissions,
            content: Self::content_text(&item),
        })
    }

    // ---- permission rules ------------------------------------------------------------------

    /// The mapping of a folder, whether it waits for its first plan or runs in the engine.
    async fn mapping(&self, folder_id: &str) -> Result<(FolderMapping, bool), HostError> {
        if let Some(m) = self.awaiting(folder_id) {
            return Ok((m, true));
        }
        self.engine
            .status()
            .await
            .map_err(engine_error)?
            .into_iter()
            .find(|s| s.mapping.name == folder_id)
            .map(|s| (s.mapping, false))
            .ok_or_else(|| engine_error(EngineError::UnknownFolder(folder_id.into())))
    }

    /// The root, every rule, and every subfolder (which inherits unless a rule names it).
    pub async fn list_rules(&self, request: FolderRef) -> Result<Vec<RuleEntry>, HostError> {
        let (mapping, _) = self.mapping(&request.folder_id).await?;
        let mut entries: BTreeMap<String, RuleEntry> = BTreeMap::new();
        entries.insert(
            String::new(),
            RuleEntry {
                path: String::new(),
                rule: None,
                mode: RuleMode::Replace,
            },
        );
        let root = mapping.path.clone();
        let dirs = tokio::task::spawn_blocking(move || subfolders(&root))
            .await
            .unwrap_or_default();
        for dir in dirs {
            entries.insert(
                dir.clone(),
                RuleEntry {
                    path: dir,
                    rule: None,
                    mode: RuleMode::Replace,
                },
            );
        }
        for rule in &mapping.permission_rules {
            let path = rule.path.trim_matches('/').to_owned();
            entries.insert(
                path.clone(),
                RuleEntry {
                    path,
                    rule: Some(rule_dto(rule)),
                    mode: mode_dto(rule.mode),
                },
            );
        }
        Ok(entries.into_values().collect())
    }

    /// Sets (or with `rule: None`, removes) the rule of one path; the engine re-pushes the
    /// items whose permissions change at its next run.
    pub async fn save_rule(&self, request: RuleChangeRequest) -> Result<(), HostError> {
        let (mut mapping, awaiting) = self.mapping(&request.folder_id).await?;
        let path = request.path.trim_matches('/').to_owned();
        let provider = mapping.provider.clone();
        mapping
            .permission_rules
            .retain(|r| r.path.trim_matches('/') != path);
        if let Some(rule) = &request.rule {
            mapping
                .permission_rules
                .push(rule_domain(&path, rule, request.mode, provider)?);
        }
        mapping
            .compiled_permissions()
            .map_err(|e| HostError::new(ErrorCode::InvalidInput, e))?;
        if awaiting {
            let mut s = lock(&self.settings);
            if let Some(m) = s.awaiting.iter_mut().find(|m| m.name == mapping.name) {
                *m = mapping;
            }
            return self.save_settings(&s);
        }
        self.engine
            .change_folder(mapping)
            .await
            .map_err(engine_error)?;
        self.engine
            .rescan_now(&request.folder_id)
            .await
            .map_err(engine_error)
    }

    /// The effective permission model of a file, from the folder's rules (an empty model: no
    /// rule applies, and the source's own visibility decides).
    pub async fn permission_model(
        &self,
        request: FileRef,
    ) -> Result<PermissionModelView, HostError> {
        let (mapping, _) = self.mapping(&request.folder_id).await?;
        let compiled = mapping
            .compiled_permissions()
            .map_err(|e| HostError::new(ErrorCode::InvalidInput, e))?;
        Ok(compiled
            .and_then(|c| c.resolve(request.path.trim_matches('/')))
            .map(|r| (&r.model).into())
            .unwrap_or_else(empty_model))
    }

    // ---- identities (read from the Sandbox's provider) ----------------------------------------

    /// The security identities of the Sandbox's provider (what the Sandbox's "search as" knows).
    /// With a real organization this is not available yet (the Push API cannot list them).
    pub async fn list_identities(&self) -> Result<Vec<SecurityIdentity>, HostError> {
        if self.get_app_state().await?.mode == ConnectionMode::Organization {
            return Err(not_yet("Listing an organization's security identities"));
        }
        let answer = self
            .inspect(&format!(
                "/organizations/{SANDBOX_ORG}/providers/{SANDBOX_PROVIDER}/identities"
            ))
            .await?;
        // The emulator writes identities as the permissions crate serializes them.
        let kind_of = |v: &serde_json::Value| {
            serde_json::from_value::<permissions::Identity>(v.clone())
                .map(|i| IdentityKind::from(i.identity_type))
                .unwrap_or(IdentityKind::Unknown)
        };
        let reference = |v: &serde_json::Value| IdentityRef {
            name: v["name"].as_str().unwrap_or_default().to_owned(),
            kind: kind_of(v),
        };
        let list = answer["identities"].as_array().cloned().unwrap_or_default();
        Ok(list
            .iter()
            .map(|r| SecurityIdentity {
                name: r["identity"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                kind: kind_of(&r["identity"]),
                members: r["members"]
                    .as_array()
                    .map(|m| m.iter().map(reference).collect())
                    .unwrap_or_default(),
                aliases: r["mappings"]
                    .as_array()
                    .map(|m| {
                        m.iter()
                            .filter_map(|a| a["identity"]["name"].as_str().or(a["name"].as_str()))
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect())
    }

    // ---- View as, who can see (permissions crate over the Sandbox's identities) --------------

    /// The identity graph of the Sandbox's provider (members and granted identities).
    async fn sandbox_graph(&self) -> Result<permissions::IdentityGraph, HostError> {
        if self.get_app_state().await?.mode == ConnectionMode::Organization {
            return Err(not_yet(
                "The access preview with an organization's identities",
            ));
        }
        let answer = self
            .inspect(&format!(
                "/organizations/{SANDBOX_ORG}/providers/{SANDBOX_PROVIDER}/identities"
            ))
            .await?;
        let mut graph = permissions::IdentityGraph::new();
        for record in answer["identities"].as_array().into_iter().flatten() {
            let body = serde_json::json!({
                "identity": record["identity"],
                "members": record["members"],
                "wellKnowns": record["wellKnowns"],
            });
            match serde_json::from_value::<permissions::IdentityBody>(body) {
                Ok(body) => graph.put_identity(SANDBOX_PROVIDER, &body),
                Err(e) => tracing::warn!("skipping an identity the preview cannot read: {e}"),
            }
        }
        Ok(graph)
    }

    /// The effective model of a file, `None` when no rule applies.
    async fn file_model(
        &self,
        folder_id: &str,
        path: &str,
    ) -> Result<Option<permissions::PermissionModel>, HostError> {
        let (mapping, _) = self.mapping(folder_id).await?;
        let compiled = mapping
            .compiled_permissions()
            .map_err(|e| HostError::new(ErrorCode::InvalidInput, e))?;
        Ok(compiled
            .and_then(|c| c.resolve(path.trim_matches('/')))
            .map(|r| r.model))
    }

    fn explain_one(
        graph: &permissions::IdentityGraph,
        model: Option<&permissions::PermissionModel>,
        user: &str,
    ) -> AccessExplanation {
        let Some(model) = model else {
            return AccessExplanation {
                user: user.to_owned(),
                visible: true,
                deciding: None,
                chain: Vec::new(),
                levels: Vec::new(),
                uncertain_level: None,
                summary: "Visible: no rule applies to this file, so it carries no permissions and the source's own visibility decides.".into(),
                model: empty_model(),
            };
        };
        let ctx = permissions::AccessContext::new(graph, SANDBOX_PROVIDER);
        let viewer =
            permissions::Viewer::Identity(permissions::IdentityKey::user(SANDBOX_PROVIDER, user));
        let explanation = permissions::explain(&ctx, model, &viewer);
        AccessExplanation::from_explanation(&explanation, model)
    }

    /// "View as": whether `user` (of the Sandbox's provider) sees the file, and why.
    pub async fn explain_access(
        &self,
        request: ExplainRequest,
    ) -> Result<AccessExplanation, HostError> {
        let model = self.file_model(&request.folder_id, &request.path).await?;
        let graph = self.sandbox_graph().await?;
        Ok(Self::explain_one(
            &graph,
            model.as_ref(),
            request.user.trim(),
        ))
    }

    /// Every user the Sandbox's provider knows, with whether they see the file.
    pub async fn who_can_see(&self, request: FileRef) -> Result<Vec<UserAccess>, HostError> {
        let model = self.file_model(&request.folder_id, &request.path).await?;
        let graph = self.sandbox_graph().await?;
        let mut out: Vec<UserAccess> = graph
            .users()
            .iter()
            .filter_map(|v| match v {
                permissions::Viewer::Identity(key) => Some(key.name.clone()),
                permissions::Viewer::Anonymous => None,
            })
            .map(|user| {
                let e = Self::explain_one(&graph, model.as_ref(), &user);
                UserAccess {
                    user,
                    visible: e.visible,
                    summary: e.summary,
                }
            })
            .collect();
        out.sort_by(|a, b| a.user.cmp(&b.user));
        Ok(out)
    }

    // ---- not yet ---------------------------------------------------------------------------

    /// The calls this version does not implement: an honest `internal` error naming them.
    pub fn not_available(command: &str) -> HostError {
        let what = match command {
            "list_catalog" => "Listing the organization's sources and providers",
            "test_connection" => "Test connection",
            "save_identities" | "import_identities_csv" | "push_identities" => {
                "Editing security identities"
            }
            "preview_rule" | "what_can_user_see" => {
                "The permission preview (who gains or loses access, View as)"
            }
            "prepare_test_items" | "push_test_item" | "delete_test_items" => "Test uploads",
            _ => "This action",
        };
        not_yet(what)
    }
}

/// Subfolders are listed for the rule editor down to this many: enough for a document tree,
/// bounded so a home folder does not stall the call.
const MAX_SUBFOLDERS: usize = 2_000;

fn subfolders(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if out.len() >= MAX_SUBFOLDERS {
                return out;
            }
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    continue;
                }
                let child = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                out.push(child.clone());
                stack.push((entry.path(), child));
            }
        }
    }
    out.sort();
    out
}

fn mode_dto(mode: permissions::rules::RuleMode) -> RuleMode {
    use permissions::rules::RuleMode as M;
    match mode {
        M::Replace => RuleMode::Replace,
        M::AddLevelBefore => RuleMode::AddLevelBefore,
        M::AddLevelAfter => RuleMode::AddLevelAfter,
    }
}

fn identities_of(rule: &permissions::rules::FolderRule) -> Vec<IdentityRef> {
    let named = |names: &[String], kind| {
        names
            .iter()
            .map(move |n| IdentityRef {
                name: n.clone(),
                kind,
            })
            .collect::<Vec<_>>()
    };
    let mut out = named(&rule.groups, IdentityKind::Group);
    out.extend(named(&rule.virtual_groups, IdentityKind::VirtualGroup));
    out.extend(named(&rule.users, IdentityKind::User));
    out
}

fn rule_dto(rule: &permissions::rules::FolderRule) -> FolderRule {
    use permissions::rules::AccessChoice as A;
    match rule.access {
        A::Everyone => FolderRule::Everyone,
        A::Only => FolderRule::Only {
            identities: identities_of(rule),
        },
        A::EveryoneExcept => FolderRule::EveryoneExcept {
            identities: identities_of(rule),
        },
        // A deny-only level and a full model are both shown as the model they produce.
        A::Deny | A::Complete => FolderRule::Complete {
            model: rule
                .own_model()
                .map(|m| (&m).into())
                .unwrap_or_else(|_| empty_model()),
        },
    }
}

fn rule_domain(
    path: &str,
    rule: &FolderRule,
    mode: RuleMode,
    provider: Option<String>,
) -> Result<permissions::rules::FolderRule, HostError> {
    use permissions::rules::AccessChoice as A;
    let (access, identities) = match rule {
        FolderRule::Everyone => (A::Everyone, &[][..]),
        FolderRule::Only { identities } => (A::Only, identities.as_slice()),
        FolderRule::EveryoneExcept { identities } => (A::EveryoneExcept, identities.as_slice()),
        FolderRule::Complete { .. } => {
            return Err(not_yet("Saving a complete permission model from the app"))
        }
    };
    let pick = |kind: IdentityKind| -> Vec<String> {
        identities
            .iter()
            .filter(|i| i.kind == kind)
            .map(|i| i.name.clone())
            .collect()
    };
    if identities.iter().any(|i| i.kind == IdentityKind::Unknown) {
        return Err(HostError::new(
            ErrorCode::InvalidInput,
            "a rule can name users, groups and virtual groups only",
        ));
    }
    Ok(permissions::rules::FolderRule {
        path: path.to_owned(),
        mode: match mode {
            RuleMode::Replace => permissions::rules::RuleMode::Replace,
            RuleMode::AddLevelBefore => permissions::rules::RuleMode::AddLevelBefore,
            RuleMode::AddLevelAfter => permissions::rules::RuleMode::AddLevelAfter,
        },
        access,
        groups: pick(IdentityKind::Group),
        virtual_groups: pick(IdentityKind::VirtualGroup),
        users: pick(IdentityKind::User),
        provider,
        level_name: None,
        model: None,
    })
}

/// The file name under which a running Sandbox is announced (the CLI's `connection::SANDBOX_FILE`).
pub const SANDBOX_FILE: &str = "sandbox.json";

fn announce_sandbox(dir: &Path, emulator: &push_emulator::Emulator) -> std::io::Result<()> {
    use std::io::Write;
    let path = dir.join(SANDBOX_FILE);
    let tmp = path.with_extension("json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(&tmp)?;
    let body = serde_json::json!({
        "url": emulator.url(),
        "api_key": emulator.api_key(),
        "pid": std::process::id(),
    });
    out.write_all(body.to_string().as_bytes())?;
    drop(out);
    std::fs::rename(&tmp, path)
}

fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
