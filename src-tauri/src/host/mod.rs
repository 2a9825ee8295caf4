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

mod access;
mod background;
mod connection;
#[cfg(test)]
mod fake_answers;
mod folders;
mod identities;
mod sample;
mod sandbox;
mod uploads;

#[allow(unused_imports)]
use self::{access::*, connection::*, folders::*, identities::*, sandbox::*, uploads::*};

/// The Sandbox's organization, source and provider: the emulator's defaults, one copy for
/// the CLI and the app.
pub use push_emulator::{SANDBOX_ORG, SANDBOX_PROVIDER, SANDBOX_SOURCE};
/// Activity lines kept in memory for the log. More lines cost memory (~200 bytes each); fewer
/// cut the history the Activity screen can scroll back to.
const ACTIVITY_CAPACITY: usize = 20_000;
/// Replaces the hosts of every region with one origin (`http://host:port`), for tests, the
/// end-to-end suite (a push-emulator posing as a real organization) and private deployments.
/// Read once when the host starts.
pub const COVEO_ORIGIN_ENV: &str = "PUSHDECK_COVEO_ORIGIN";
/// Characters of an item's content shown in the Sandbox browser: enough to recognize it,
/// small enough for the IPC.
const CONTENT_PREVIEW_CHARS: usize = 4_000;
/// The filter that ends an include list: a file no include matched is left out.
const EXCLUDE_REST: &str = "- *";

/// The errors shared by every area: the engine's, and what cannot happen in normal use.
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
    /// True once the app offered to start at login.
    #[serde(default)]
    autostart_offered: bool,
    /// A "pause all" in force: until when, and the folders it paused (resumed at its end).
    #[serde(default)]
    paused_all: Option<background::PausedAll>,
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

/// The activity log kept in memory (the last [`ACTIVITY_CAPACITY`] lines), with ids 1, 2, ...
/// in time order so the UI can page by id.
#[derive(Debug, Default)]
struct ActivityLog {
    inner: Mutex<(u64, VecDeque<ActivityEntry>)>,
}

impl ActivityLog {
    fn push(
        &self,
        kind: ActivityKind,
        folder: Option<&str>,
        message: String,
        at_ms: f64,
        count: u64,
    ) -> ActivityEntry {
        let mut guard = lock(&self.inner);
        let (last_id, entries) = &mut *guard;
        *last_id += 1;
        let entry = ActivityEntry {
            id: *last_id,
            at_ms,
            kind,
            folder_id: folder.map(str::to_owned),
            message,
            count,
        };
        if entries.len() >= ACTIVITY_CAPACITY {
            entries.pop_front();
        }
        entries.push_back(entry.clone());
        entry
    }

    fn with_entries<T>(&self, f: impl FnOnce(&VecDeque<ActivityEntry>) -> T) -> T {
        f(&lock(&self.inner).1)
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
    activity: Arc<ActivityLog>,
    /// Where events for the UI go (engine events are forwarded by `forward_events`).
    sink: EventSink,
    plans: Mutex<BTreeMap<String, PlanTicket>>,
    /// Test uploads: granted paths, prepared items, uploads being followed (uploads.rs).
    uploads: TestUploads,
    keyring_available: bool,
    /// [`COVEO_ORIGIN_ENV`] when set: where every organization's calls go instead of Coveo.
    coveo_origin: Option<Endpoint>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("paths", &self.paths)
            .field("sandbox", &self.emulator.url())
            .finish_non_exhaustive()
    }
}

/// How a [`Host`] starts, beyond its folders.
#[derive(Debug, Clone, Default)]
pub struct HostOptions {
    /// Where every organization's calls go instead of Coveo's region hosts (an origin such as
    /// `http://127.0.0.1:8080`): for tests, the end-to-end suite and private deployments.
    pub coveo_origin: Option<String>,
}

impl HostOptions {
    /// The options the environment asks for ([`COVEO_ORIGIN_ENV`]).
    pub fn from_env() -> Self {
        Self {
            coveo_origin: std::env::var(COVEO_ORIGIN_ENV).ok(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Where the calls for an organization in `region` go: the region's Coveo hosts, or the
/// origin of [`COVEO_ORIGIN_ENV`] when it is set.
fn region_endpoint(region: Region, origin: Option<&Endpoint>) -> Endpoint {
    if let Some(origin) = origin {
        return origin.clone();
    }
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
// The host
// ---------------------------------------------------------------------------------------------

impl Host {
    /// Starts the Sandbox and the engine, loads the settings, and forwards engine events to
    /// `sink`. Must run inside a tokio runtime.
    /// Reads [`COVEO_ORIGIN_ENV`] from the environment; the tests use [`Host::start_with`].
    pub async fn start(paths: HostPaths, sink: EventSink) -> Result<Arc<Self>, HostError> {
        Self::start_with(paths, sink, HostOptions::from_env()).await
    }

    /// [`Host::start`] with explicit options (no environment read).
    pub async fn start_with(
        paths: HostPaths,
        sink: EventSink,
        options: HostOptions,
    ) -> Result<Arc<Self>, HostError> {
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
        let coveo_origin = match options.coveo_origin {
            Some(origin) if !origin.trim().is_empty() => {
                let endpoint = Endpoint::custom(origin.trim()).map_err(|e| {
                    HostError::new(
                        ErrorCode::InvalidInput,
                        format!("{COVEO_ORIGIN_ENV} is not usable: {}; unset it to use Coveo's own hosts", e.explanation()),
                    )
                })?;
                tracing::info!(
                    "{COVEO_ORIGIN_ENV} is set: organization calls go to {} instead of Coveo's region hosts",
                    endpoint.push_origin()
                );
                Some(endpoint)
            }
            _ => None,
        };

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
        let factory_origin = coveo_origin.clone();
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
                    .with_endpoint(region_endpoint(region, factory_origin.as_ref())),
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
            activity: Arc::new(ActivityLog::default()),
            sink: sink.clone(),
            plans: Mutex::new(BTreeMap::new()),
            uploads: TestUploads::new(sink.clone()),
            keyring_available,
            coveo_origin,
        });
        host.forward_events(sink);
        // A "pause all" that ended while the app was closed ends before the host answers
        // anything, so no answer shows a pause that is over; a later end has its timer.
        if host
            .paused_until_ms()
            .is_some_and(|until| until <= now_ms() as u64)
        {
            if let Err(e) = host.resume_all().await {
                tracing::warn!("resuming after the pause: {}", e.message);
            }
        }
        host.resume_all_when_due();
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

    /// Forwards engine events to the UI, coalesced: every webview event is a script run in the
    /// window, so a 10,000-file sync sending one event per item stalls the window for a third
    /// of a second. Item outcomes go out as counts per folder ([`HostEvent::Items`]) and a
    /// folder's card as its latest state ([`HostEvent::Folder`]), each at most once per
    /// `FLUSH_INTERVAL`; the last state is always sent. Items with a reason (rejected, failed)
    /// also go out one by one, at most `DETAILS_PER_FLUSH` per folder and interval.
    fn forward_events(self: &Arc<Self>, sink: EventSink) {
        /// How often the UI hears of a busy folder: shorter follows progress more closely,
        /// longer sends fewer events (each one a script run in the webview).
        const FLUSH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);
        /// Individual `item` events per folder and interval (failures with their reason);
        /// the counts stay exact beyond it, and every failure is in the activity log.
        const DETAILS_PER_FLUSH: u32 = 20;

        #[derive(Default)]
        struct Pending {
            counts: [u64; 5],
            details: u32,
            /// The folder's latest card (the engine's event carries all of it).
            card: Option<FolderSummary>,
        }

        let mut events = self.engine.subscribe();
        let activity = self.activity.clone();
        tokio::spawn(async move {
            // Items accepted per folder since the last line: one "pushed"/"deleted" line per
            // run (with its count, for the chart) instead of one line per item.
            let mut tally: BTreeMap<String, (u64, u64)> = BTreeMap::new();
            let mut pending: BTreeMap<String, Pending> = BTreeMap::new();
            let mut ticker = tokio::time::interval(FLUSH_INTERVAL);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut open = true;
            while open {
                let event = tokio::select! {
                    received = events.recv() => match received {
                        Ok(e) => Some(e),
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!("the UI missed {n} engine events");
                            continue;
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                            open = false;
                            None
                        }
                    },
                    _ = ticker.tick() => None,
                };
                let Some(event) = event else {
                    // A tick (or the end): send what piled up, counts before cards.
                    for (folder, p) in std::mem::take(&mut pending) {
                        let [pushed, deleted, indexed, rejected, failed] = p.counts;
                        if p.counts.iter().any(|&n| n > 0) {
                            sink(HostEvent::Items {
                                folder_id: folder.clone(),
                                pushed,
                                deleted,
                                indexed,
                                rejected,
                                failed,
                            });
                        }
                        if let Some(summary) = p.card {
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
                    continue;
                };
                let log_n = |kind, folder: &str, message: String, at_ms: f64, count: u64| {
                    activity.push(kind, Some(folder), message, at_ms, count)
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
                let log = |kind, folder: &str, message: String, at_ms: f64| {
                    log_n(kind, folder, message, at_ms, 1)
                };
                match event {
                    Event::FolderState {
                        folder,
                        state,
                        card,
                    } => {
                        pending.entry(folder).or_default().card = Some(card_summary(&state, &card));
                    }
                    Event::FolderRemoved { folder } => {
                        // A card waiting for the next flush would bring the folder back.
                        if let Some(p) = pending.get_mut(&folder) {
                            p.card = None;
                        }
                        sink(HostEvent::FolderRemoved { folder_id: folder });
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
                        let (slot, outcome, detail) = match &result {
                            ItemResult::Pushed => (0, ItemOutcome::Pushed, None),
                            ItemResult::Deleted => (1, ItemOutcome::Deleted, None),
                            ItemResult::Indexed => (2, ItemOutcome::Indexed, None),
                            ItemResult::Rejected { reason } => {
                                (3, ItemOutcome::Rejected, Some(reason.clone()))
                            }
                            ItemResult::Problem {
                                message,
                                what_to_do,
                                ..
                            } => (
                                4,
                                ItemOutcome::Failed,
                                Some(format!("{message}; {what_to_do}")),
                            ),
                        };
                        let p = pending.entry(folder.clone()).or_default();
                        p.counts[slot] += 1;
                        let Some(detail) = detail else { continue };
                        let entry = log(
                            ActivityKind::Failed,
                            &folder,
                            format!("{path}: {detail}"),
                            now_ms(),
                        );
                        sink(HostEvent::Activity { entry });
                        if p.details < DETAILS_PER_FLUSH {
                            p.details += 1;
                            sink(HostEvent::Item {
                                folder_id: folder,
                                path,
                                outcome,
                                bytes: 0,
                                detail: Some(detail),
                            });
                        }
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

    /// Adds a line to the activity log and shows it in the UI at once.
    pub(crate) fn log_activity(
        &self,
        kind: ActivityKind,
        folder: Option<&str>,
        message: String,
        count: u64,
    ) {
        let entry = self.activity.push(kind, folder, message, now_ms(), count);
        (self.sink)(HostEvent::Activity { entry });
    }

    fn save_settings(&self, settings: &Settings) -> Result<(), HostError> {
        let text = serde_json::to_vec_pretty(settings).map_err(|e| internal("settings", e))?;
        let path = self.paths.settings();
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| internal(&format!("cannot save {}", path.display()), e))
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
            autostart_offered: s.autostart_offered,
            paused_until_ms: s.paused_all.as_ref().map(|p| p.until_ms),
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
