//! The engine: one handle, one task, one loop over a closed enum of inputs.
//!
//! [`Engine::start`] spawns the loop and returns an [`EngineHandle`]. The loop owns the folder
//! mappings, their states and watchers; it matches on [`Input`]: commands from the handle,
//! watch hints, ticks and the outcomes of the work it spawned. Scans and runs are spawned
//! tasks (each opens its own connection to the state store, which SQLite's WAL mode allows),
//! so the loop stays responsive: status, pause and dry runs answer while a folder syncs.
//!
//! Contracts:
//! - At most one run per folder at a time; a run is scan → plan → brakes → execute.
//! - Pause takes effect between batches of the current run: no further item is handed to the
//!   batcher, the batches already formed go out and are recorded (an item is recorded only
//!   once its batch was accepted), and what was not sent is sent at resume (its rows stay
//!   pending, so the resumed run's plan has them).
//! - [`EngineHandle::status`] and the events agree: a run's progress (`Syncing n of N`) goes
//!   through the loop, which keeps it as the folder's state and emits it.
//! - The fronts never read the state store: a folder's card (its item count, the end of its
//!   last full sync, its mapping) is in [`FolderStatus`] and in every [`Event::FolderState`]
//!   ([`FolderCard`]), counted by the loop, and [`EngineHandle::recorded_paths`] lists what
//!   the store recorded.
//! - Events go to a broadcast channel: a subscriber that lags more than [`EVENT_BUFFER`] events
//!   loses the oldest ones (it can always ask [`EngineHandle::status`]).
//! - Dropping the handle (or [`EngineHandle::shutdown`]) stops the loop and the watchers; a
//!   run in flight is awaited by `shutdown`, and abandoned by a plain drop (safe: the state store
//!   records only accepted batches, so the next start re-pushes at worst).
//! - Time and randomness come from [`EngineConfig::clock`] and [`EngineConfig::seed`].

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use coveo_push::PushClient;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::config::{Config, FolderMapping};
pub use crate::error::{ClientFailure, EngineError, ScanStopped, SettingsError, StateFailure};
use crate::execute::{apply_source_logs, execute, ExecuteOptions, Halt, RunProgress, RunReport};
pub use crate::folder_state::FolderState;
use crate::folder_state::{step, Effect, Event as FolderEvent, Phase, Progress, RunEnd, RunHalt};
use crate::model::{FileProblem, ProblemKind};
use crate::plan::{check_brakes, plan, Brake, Plan, PlanMode, PlanRules};
use crate::scan::{scan_with_items, ScanRequest, SCAN_THREADS};
use crate::state::{ItemState, Store};
use crate::watch::{watch_folder, FolderWatcher, WatchHint, WatchMode};

/// Events kept for slow subscribers before the oldest are dropped.
pub const EVENT_BUFFER: usize = 4096;
/// How often the loop looks at timers (full rescans, retries, Source Logs polls). A second is
/// far below every timer it serves, and costs nothing when idle.
pub const TICK: Duration = Duration::from_secs(1);
/// Default debounce of watch events: saves arrive as bursts of events (write, close, rename of
/// a temp file); waiting this long coalesces a burst into one rescan, and stays well under the
/// 300 ms save-to-accepted target.
pub const DEFAULT_WATCH_DEBOUNCE: Duration = Duration::from_millis(100);
/// Full rescans are spread by ± this share of the interval, so folders (and machines) that
/// started together do not rescan together.
pub const RESCAN_JITTER: f64 = 0.1;
/// How many times the Source Logs are polled after a run before giving up on the remaining
/// accepted items (they stay "accepted"; the next run polls again).
pub const SOURCE_LOG_POLLS: u32 = 12;

/// How long a folder waits after a run that could not reach the service at all (the client
/// already spent its attempts): long enough not to hammer a host that is down, short enough
/// that a laptop back on the network syncs soon.
pub const UNREACHABLE_RETRY: Duration = Duration::from_secs(60);

/// Makes the client of an organization (the caller owns the API key: keyring or environment).
pub type ClientFactory =
    Arc<dyn Fn(&FolderMapping) -> Result<PushClient, coveo_push::Error> + Send + Sync>;
/// Milliseconds since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock as a [`Clock`].
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    })
}

/// Everything the engine needs, passed explicitly.
#[derive(Clone)]
pub struct EngineConfig {
    /// The SQLite state store file.
    pub state_path: PathBuf,
    /// Where folder mapping changes are saved; `None` keeps them in memory (tests, CLI runs).
    pub config_path: Option<PathBuf>,
    pub clients: ClientFactory,
    pub clock: Clock,
    /// Seed of the jitter of full rescans.
    pub seed: u64,
    pub watch_debounce: Duration,
    /// Use the polling watcher even where native events work (tests of the fallback).
    pub force_polling: bool,
    /// Interval of the polling watcher (see [`crate::watch::POLL_FALLBACK_INTERVAL`]).
    pub poll_interval: Duration,
    pub execute: ExecuteOptions,
    /// Poll the Source Logs after runs to mark items indexed or rejected.
    pub poll_source_logs: bool,
    pub source_log_interval: Duration,
    /// Whether the engine starts runs by itself: a first run when a folder is added, periodic
    /// full rescans, retries of failed files, watch hints, the end of a quota pause. `false`
    /// leaves only the runs someone asks for (`sync_now`, `rebuild_now`, `rescan_now`...):
    /// what `pushdeck sync --once` wants, so that its one requested run is the only one and a
    /// failing host is not tried twice in a row.
    pub scheduled_runs: bool,
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("state_path", &self.state_path)
            .field("config_path", &self.config_path)
            .field("seed", &self.seed)
            .field("watch_debounce", &self.watch_debounce)
            .finish_non_exhaustive()
    }
}

impl EngineConfig {
    /// Defaults: system clock, random seed, native watching, Source Logs polled.
    pub fn new(state_path: impl Into<PathBuf>, clients: ClientFactory) -> Self {
        Self {
            state_path: state_path.into(),
            config_path: None,
            clients,
            clock: system_clock(),
            seed: rand::random(),
            watch_debounce: DEFAULT_WATCH_DEBOUNCE,
            force_polling: false,
            poll_interval: crate::watch::POLL_FALLBACK_INTERVAL,
            execute: ExecuteOptions::default(),
            poll_source_logs: true,
            source_log_interval: crate::execute::SOURCE_LOG_POLL_INTERVAL,
            scheduled_runs: true,
        }
    }
}

/// What happened to one item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ItemResult {
    Pushed,
    Deleted,
    Indexed,
    Rejected {
        reason: String,
    },
    Problem {
        kind: crate::model::ProblemKind,
        message: String,
        what_to_do: String,
    },
}

/// Something the UI or the CLI may show.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A folder's card changed: its state, or what the card shows besides it (`card`), so a
    /// front draws the card from the event alone, without asking the engine or reading the
    /// state store.
    FolderState {
        folder: String,
        state: FolderState,
        card: Box<FolderCard>,
    },
    /// The folder was removed: no event about it follows, and a card not yet drawn is stale.
    FolderRemoved { folder: String },
    Item {
        folder: String,
        path: String,
        result: ItemResult,
    },
    Activity {
        folder: String,
        at_ms: u64,
        message: String,
    },
}

/// A folder as [`EngineHandle::status`] reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FolderStatus {
    pub mapping: FolderMapping,
    pub state: FolderState,
    pub last_full_sync_ms: Option<i64>,
    /// The items the state store records for the folder (see [`FolderCard::item_count`]).
    pub item_count: u64,
    pub last_problems: Vec<FileProblem>,
    /// A quota pause lifts by itself at this instant (ms since the epoch); `None` when the
    /// folder is not paused by a quota or only a person can resume it.
    pub paused_until_ms: Option<u64>,
}

/// What a folder's card shows besides its state, carried by [`Event::FolderState`]; the same
/// values as the folder's [`FolderStatus`] at that moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FolderCard {
    pub mapping: FolderMapping,
    /// The end of the last full sync (ms since the epoch); `None` before the first one.
    pub last_full_sync_ms: Option<i64>,
    /// The items the state store records for the folder: every row, pending ones (about to
    /// be sent) and deletes not yet accepted included. Counted by the engine when the folder
    /// starts, on every batch of a run and when a run ends.
    pub item_count: u64,
    /// See [`FolderStatus::paused_until_ms`].
    pub paused_until_ms: Option<u64>,
}

/// What a run did, for [`EngineHandle::sync_now`].
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub plan: crate::plan::PlanSummary,
    pub brake: Option<Brake>,
    pub run: Option<RunReport>,
    pub scan_problems: Vec<FileProblem>,
    pub hashed_files: u64,
    /// Files left out of this run because they failed recently and wait for their retry
    /// (background runs only: a run asked for by a person, [`EngineHandle::sync_now`],
    /// retries everything now).
    pub deferred: Vec<String>,
}

impl SyncReport {
    /// Every change was accepted: no brake, no halt, no pause, no problem, nothing left
    /// waiting.
    pub fn is_complete(&self) -> bool {
        self.brake.is_none()
            && self.scan_problems.is_empty()
            && self.deferred.is_empty()
            && self
                .run
                .as_ref()
                .is_none_or(|r| r.halted.is_none() && r.problems.is_empty() && !r.paused)
    }
}

/// The commands of the handle.
#[derive(Debug)]
enum Command {
    AddFolder(Box<FolderMapping>),
    ChangeFolder(Box<FolderMapping>),
    RemoveFolder(String),
    Pause(String),
    Resume(String),
    RescanNow(String),
    Rebuild(String),
    Confirm(String),
    DryRun(String, oneshot::Sender<Result<Plan, EngineError>>),
    SyncNow(
        String,
        PlanMode,
        oneshot::Sender<Result<SyncReport, EngineError>>,
    ),
    Status(oneshot::Sender<Vec<FolderStatus>>),
    RecordedPaths(String, oneshot::Sender<Result<Vec<String>, EngineError>>),
    NextOrderingId {
        organization: String,
        source: String,
        now_ms: u64,
        reply: oneshot::Sender<Result<u64, EngineError>>,
    },
    Shutdown(oneshot::Sender<()>),
}

/// What a spawned run reports back.
#[derive(Debug)]
enum Outcome {
    RunDone {
        folder: String,
        result: Box<Result<SyncReport, EngineError>>,
        full: bool,
    },
    Logs {
        folder: String,
        result: Result<(usize, Vec<FileProblem>), String>,
    },
    /// A run's progress (`Syncing`), to keep in the folder's state and emit.
    Progress { folder: String, progress: Progress },
}

/// The closed set of inputs of the loop.
#[derive(Debug)]
enum Input {
    Command(Command, oneshot::Sender<Result<(), EngineError>>),
    Hint(WatchHint),
    Tick,
    Outcome(Outcome),
}

/// The handle the CLI and the desktop shell hold. Cheap to clone? No: one owner; dropping it
/// stops the engine.
#[derive(Debug)]
pub struct EngineHandle {
    commands: mpsc::Sender<Input>,
    events: broadcast::Sender<Event>,
    task: Option<JoinHandle<()>>,
}

/// Entry point: see [`Engine::start`].
#[derive(Debug)]
pub struct Engine;

#[derive(Debug, Clone)]
enum Pending {
    None,
    Dirs(Vec<String>),
    Full,
}

/// One folder in the loop: its state (one state machine, [`crate::folder_state`]) and the
/// bookkeeping around it, which never decides what the folder shows or whether it may run.
struct FolderRuntime {
    mapping: FolderMapping,
    /// The folder's state; changed only through [`crate::folder_state::step`].
    phase: Phase,
    // The next run's order: what to scan, a rebuild, going past the brakes once.
    pending: Pending,
    rebuild: bool,
    confirmed: bool,
    /// The stop flag of the run in flight (set through `Effect::StopRun`).
    stop_run: Option<Arc<AtomicBool>>,
    // Timers (engine clock): they only queue work.
    next_full_ms: u64,
    retry_at_ms: Option<u64>,
    // The Source Logs follow-up after runs.
    logs_from_ms: Option<i64>,
    log_polls_left: u32,
    next_log_poll_ms: u64,
    watcher: Option<FolderWatcher>,
    /// `sync_now` callers waiting for the next run to start.
    waiters: Vec<oneshot::Sender<Result<SyncReport, EngineError>>>,
    /// `sync_now` callers waiting for the run in flight (it started after they asked).
    run_waiters: Vec<oneshot::Sender<Result<SyncReport, EngineError>>>,
    /// What the card shows of the state store, kept here so that status and events never
    /// read it: counted at start, on a run's progress and at its end (see [`Loop::recount`]).
    item_count: u64,
    last_full_sync_ms: Option<i64>,
}

/// What the fronts last saw of a folder: an [`Event::FolderState`] goes out when it changes.
#[derive(Debug, Clone, PartialEq)]
struct Shown {
    state: FolderState,
    item_count: u64,
    last_full_sync_ms: Option<i64>,
    paused_until_ms: Option<u64>,
}

impl FolderRuntime {
    fn shown(&self) -> Shown {
        Shown {
            state: self.phase.shown(),
            item_count: self.item_count,
            last_full_sync_ms: self.last_full_sync_ms,
            paused_until_ms: self.phase.paused_until_ms(),
        }
    }

    fn card(&self) -> FolderCard {
        FolderCard {
            mapping: self.mapping.clone(),
            last_full_sync_ms: self.last_full_sync_ms,
            item_count: self.item_count,
            paused_until_ms: self.phase.paused_until_ms(),
        }
    }

    fn state_event(&self) -> Event {
        Event::FolderState {
            folder: self.mapping.name.clone(),
            state: self.phase.shown(),
            card: Box::new(self.card()),
        }
    }
}

struct Loop {
    config: EngineConfig,
    store: Store,
    folders: BTreeMap<String, FolderRuntime>,
    events: broadcast::Sender<Event>,
    internal: mpsc::UnboundedSender<Input>,
    rng: StdRng,
    runs: Vec<JoinHandle<()>>,
}

impl Engine {
    /// Opens the state store, starts the loop with `folders`, and schedules a full rescan of
    /// each (changes made while Pushdeck was not running are found by that scan).
    pub async fn start(
        config: EngineConfig,
        folders: Vec<FolderMapping>,
    ) -> Result<EngineHandle, EngineError> {
        Config {
            version: crate::config::CONFIG_VERSION,
            folders: folders.clone(),
        }
        .validate()?;
        let store = Store::open(&config.state_path)?;
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let (commands, mut command_rx) = mpsc::channel::<Input>(64);
        let (internal, mut internal_rx) = mpsc::unbounded_channel::<Input>();
        let mut lp = Loop {
            rng: StdRng::seed_from_u64(config.seed),
            config,
            store,
            folders: BTreeMap::new(),
            events: events.clone(),
            internal,
            runs: Vec::new(),
        };
        for mapping in folders {
            lp.insert_folder(mapping)?;
        }
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let input = tokio::select! {
                    biased;
                    c = command_rx.recv() => match c {
                        Some(c) => c,
                        None => break, // the handle was dropped
                    },
                    Some(i) = internal_rx.recv() => i,
                    _ = tick.tick() => Input::Tick,
                };
                if !lp.handle(input).await {
                    break;
                }
            }
            lp.stop().await;
        });
        Ok(EngineHandle {
            commands,
            events,
            task: Some(task),
        })
    }
}

impl EngineHandle {
    /// A new subscription to the engine's events.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    async fn send(&self, command: Command) -> Result<(), EngineError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Input::Command(command, tx))
            .await
            .map_err(|_| EngineError::Stopped)?;
        rx.await.map_err(|_| EngineError::Stopped)?
    }

    /// Adds a folder mapping (saved to the config file if the engine has one) and syncs it.
    pub async fn add_folder(&self, mapping: FolderMapping) -> Result<(), EngineError> {
        self.send(Command::AddFolder(Box::new(mapping))).await
    }
    /// Replaces the mapping of the same name; the next run applies new rules to every item.
    pub async fn change_folder(&self, mapping: FolderMapping) -> Result<(), EngineError> {
        self.send(Command::ChangeFolder(Box::new(mapping))).await
    }
    /// Stops syncing a folder and forgets its state. Its items stay in the source.
    pub async fn remove_folder(&self, name: &str) -> Result<(), EngineError> {
        self.send(Command::RemoveFolder(name.into())).await
    }
    pub async fn pause(&self, name: &str) -> Result<(), EngineError> {
        self.send(Command::Pause(name.into())).await
    }
    pub async fn resume(&self, name: &str) -> Result<(), EngineError> {
        self.send(Command::Resume(name.into())).await
    }
    /// Schedules a full rescan now.
    pub async fn rescan_now(&self, name: &str) -> Result<(), EngineError> {
        self.send(Command::RescanNow(name.into())).await
    }
    /// Schedules a rebuild: push every file again, delete the folder's items whose files are
    /// gone and, only for a folder that owns its source and pushed every file, every other
    /// item of the source (see [`crate::execute::older_than_allowed`]).
    pub async fn rebuild(&self, name: &str) -> Result<(), EngineError> {
        self.send(Command::Rebuild(name.into())).await
    }
    /// Lets the next run go past a safety brake (the person checked the deletes).
    pub async fn confirm(&self, name: &str) -> Result<(), EngineError> {
        self.send(Command::Confirm(name.into())).await
    }
    /// Scans and plans without sending anything.
    pub async fn dry_run(&self, name: &str) -> Result<Plan, EngineError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::DryRun(name.into(), tx)).await?;
        rx.await.map_err(|_| EngineError::Stopped)?
    }
    /// Runs a full sync of the folder now (after the current run, if any) and returns its
    /// report: what `pushdeck sync --once` needs.
    pub async fn sync_now(&self, name: &str) -> Result<SyncReport, EngineError> {
        self.sync_with(name, PlanMode::Incremental).await
    }
    /// Like [`EngineHandle::sync_now`] with a rebuild.
    pub async fn rebuild_now(&self, name: &str) -> Result<SyncReport, EngineError> {
        self.sync_with(name, PlanMode::Rebuild).await
    }
    async fn sync_with(&self, name: &str, mode: PlanMode) -> Result<SyncReport, EngineError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::SyncNow(name.into(), mode, tx)).await?;
        rx.await.map_err(|_| EngineError::Stopped)?
    }
    /// An orderingId for an operation on `source` outside a folder's run (a test upload): at
    /// least `now_ms`, and above every one the engine handed out for that source, so it never
    /// falls below a rebuild's delete-older-than. One counter per source, in the state store.
    pub async fn next_ordering_id(
        &self,
        organization: &str,
        source: &str,
        now_ms: u64,
    ) -> Result<u64, EngineError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::NextOrderingId {
            organization: organization.into(),
            source: source.into(),
            now_ms,
            reply: tx,
        })
        .await?;
        rx.await.map_err(|_| EngineError::Stopped)?
    }
    /// Every folder with its state.
    pub async fn status(&self) -> Result<Vec<FolderStatus>, EngineError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Status(tx)).await?;
        rx.await.map_err(|_| EngineError::Stopped)
    }
    /// The relative paths of the items the state store records for a folder (what it pushed,
    /// or is about to), sorted. Read on a blocking thread with its own connection, so the
    /// loop keeps answering; the fronts never open the store themselves.
    pub async fn recorded_paths(&self, name: &str) -> Result<Vec<String>, EngineError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::RecordedPaths(name.into(), tx)).await?;
        rx.await.map_err(|_| EngineError::Stopped)?
    }
    /// Stops the loop, waiting for runs in flight to finish.
    pub async fn shutdown(mut self) {
        let (tx, rx) = oneshot::channel();
        if self.send(Command::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for EngineHandle {
    fn drop(&mut self) {
        // Closing the command channel ends the loop; it then drops the watchers.
        if let Some(task) = self.task.take() {
            drop(task);
        }
    }
}

/// How a run ended, as the folder's state machine needs it: the problems it left (one more
/// for an unreachable service) and what holds the folder now (a brake, a fatal halt or a
/// failure needs attention; a quota pauses).
fn run_end(result: &Result<SyncReport, EngineError>) -> RunEnd {
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            return RunEnd {
                problems: 0,
                halt: Some(RunHalt::Attention(e.to_string())),
            }
        }
    };
    let mut end = RunEnd {
        problems: report.scan_problems.len(),
        halt: report
            .brake
            .as_ref()
            .map(|brake| RunHalt::Attention(brake.to_string())),
    };
    if let Some(run) = &report.run {
        end.problems += run.problems.len();
        match &run.halted {
            Some(Halt::Quota { message, .. }) => {
                end.halt = Some(RunHalt::Quota {
                    message: message.clone(),
                    until_ms: run.resume_at_ms,
                });
            }
            Some(Halt::Fatal { message, .. }) => {
                end.halt = Some(RunHalt::Attention(message.clone()));
            }
            Some(Halt::Unreachable { .. }) => end.problems += 1,
            None => {}
        }
    }
    end
}

fn state_name(mode: PlanMode) -> &'static str {
    match mode {
        PlanMode::Incremental => "sync",
        PlanMode::Rebuild => "rebuild",
    }
}

impl Loop {
    fn now(&self) -> u64 {
        (self.config.clock)()
    }

    fn emit(&self, event: Event) {
        let _ = self.events.send(event);
    }

    fn activity(&self, folder: &str, message: impl Into<String>) {
        self.emit(Event::Activity {
            folder: folder.into(),
            at_ms: self.now(),
            message: message.into(),
        });
    }

    /// Moves the folder's state machine by one event; returns what the fronts saw before, and
    /// the effects to carry out (`None`: no such folder).
    fn step(&mut self, folder: &str, event: FolderEvent) -> Option<(Shown, Vec<Effect>)> {
        let f = self.folders.get_mut(folder)?;
        let before = f.shown();
        let (next, effects) = step(&f.phase, event);
        f.phase = next;
        Some((before, effects))
    }

    /// Emits the folder's card (state included) if it differs from what the fronts saw
    /// `before`.
    fn show(&self, folder: &str, before: Shown) {
        let Some(f) = self.folders.get(folder) else {
            return;
        };
        if f.shown() != before {
            self.emit(f.state_event());
        }
    }

    /// Reads what the card shows of the state store again: the item count and, with
    /// `full_sync`, the end of the last full sync (a run records it). A failure keeps the
    /// values the card had (the run's own error, if any, says what is wrong).
    fn recount(&mut self, folder: &str, full_sync: bool) {
        let count = self.store.item_count(folder);
        let record = full_sync.then(|| self.store.folder(folder));
        let Some(f) = self.folders.get_mut(folder) else {
            return;
        };
        match count {
            Ok(n) => f.item_count = n,
            Err(e) => tracing::warn!("counting the items of {folder}: {e}"),
        }
        match record {
            Some(Ok(record)) => f.last_full_sync_ms = record.last_full_sync_ms,
            Some(Err(e)) => tracing::warn!("reading the folder record of {folder}: {e}"),
            None => {}
        }
    }

    /// Carries out the effects of a step, in order; stops at the first that fails.
    fn apply(&mut self, folder: &str, effects: Vec<Effect>) -> Result<(), EngineError> {
        for effect in effects {
            match effect {
                Effect::StartRun => self.start_run(folder),
                Effect::StopRun => {
                    if let Some(stop) = self.folders.get(folder).and_then(|f| f.stop_run.as_ref()) {
                        stop.store(true, Ordering::SeqCst);
                    }
                }
                Effect::QueueFullRun => {
                    if let Some(f) = self.folders.get_mut(folder) {
                        f.pending = Pending::Full;
                    }
                }
                Effect::PassBrakesOnce => {
                    if let Some(f) = self.folders.get_mut(folder) {
                        f.confirmed = true;
                    }
                }
                Effect::SaveAttention(reason) => {
                    self.store.set_attention(folder, reason.as_deref())?;
                }
                Effect::Notify(notice) => self.activity(folder, notice.to_string()),
            }
        }
        Ok(())
    }

    /// [`Loop::step`], then what the fronts see, then the effects.
    fn transition(&mut self, folder: &str, event: FolderEvent) -> Result<(), EngineError> {
        let (before, effects) = self
            .step(folder, event)
            .ok_or_else(|| EngineError::UnknownFolder(folder.into()))?;
        self.show(folder, before);
        self.apply(folder, effects)
    }

    fn jittered(&mut self, interval: Duration) -> u64 {
        let ms = interval.as_millis() as f64;
        let jitter = self.rng.gen_range(-RESCAN_JITTER..=RESCAN_JITTER) * ms;
        self.now() + (ms + jitter).max(0.0) as u64
    }

    fn insert_folder(&mut self, mapping: FolderMapping) -> Result<(), EngineError> {
        let name = mapping.name.clone();
        let record = self.store.folder(&name)?;
        let item_count = self.store.item_count(&name)?;
        let watcher = if mapping.watch {
            self.start_watcher(&mapping)
        } else {
            None
        };
        let phase = Phase::at_start(record.attention, record.last_problems.len());
        let scheduled = self.config.scheduled_runs;
        self.folders.insert(
            name.clone(),
            FolderRuntime {
                phase,
                confirmed: false,
                stop_run: None,
                pending: if scheduled {
                    Pending::Full
                } else {
                    Pending::None
                },
                rebuild: false,
                next_full_ms: if scheduled { 0 } else { u64::MAX },
                retry_at_ms: None,
                logs_from_ms: None,
                log_polls_left: 0,
                next_log_poll_ms: 0,
                watcher,
                waiters: Vec::new(),
                run_waiters: Vec::new(),
                item_count,
                last_full_sync_ms: record.last_full_sync_ms,
                mapping,
            },
        );
        if let Some(f) = self.folders.get(&name) {
            self.emit(f.state_event());
        }
        Ok(())
    }

    fn start_watcher(&self, mapping: &FolderMapping) -> Option<FolderWatcher> {
        let internal = self.internal.clone();
        let result = watch_folder(
            &mapping.name,
            &mapping.path,
            self.config.watch_debounce,
            self.config.force_polling,
            self.config.poll_interval,
            move |hint| {
                let _ = internal.send(Input::Hint(hint));
            },
        );
        match result {
            Ok(w) => {
                if let WatchMode::Polling { reason } = &w.mode {
                    self.activity(&mapping.name, reason.clone());
                }
                Some(w)
            }
            Err(message) => {
                self.activity(
                    &mapping.name,
                    format!("{message}; changes are found by the periodic rescan only"),
                );
                None
            }
        }
    }

    fn save_config(&self) -> Result<(), EngineError> {
        if let Some(path) = &self.config.config_path {
            let config = Config {
                version: crate::config::CONFIG_VERSION,
                folders: self.folders.values().map(|f| f.mapping.clone()).collect(),
            };
            config.save(path)?;
        }
        Ok(())
    }

    fn folder_mut(&mut self, name: &str) -> Result<&mut FolderRuntime, EngineError> {
        self.folders
            .get_mut(name)
            .ok_or_else(|| EngineError::UnknownFolder(name.into()))
    }

    /// Handles one input; `false` ends the loop.
    async fn handle(&mut self, input: Input) -> bool {
        match input {
            Input::Command(Command::Shutdown(done), reply) => {
                let _ = reply.send(Ok(()));
                let _ = done.send(());
                return false;
            }
            Input::Command(command, reply) => {
                let result = self.command(command);
                let _ = reply.send(result);
            }
            Input::Hint(hint) => {
                let scheduled = self.config.scheduled_runs;
                if let Some(f) = self.folders.get_mut(&hint.folder).filter(|_| scheduled) {
                    f.pending = match std::mem::replace(&mut f.pending, Pending::None) {
                        Pending::Full => Pending::Full,
                        Pending::None => Pending::Dirs(hint.dirs),
                        Pending::Dirs(mut d) => {
                            d.extend(hint.dirs);
                            d.sort();
                            d.dedup();
                            Pending::Dirs(d)
                        }
                    };
                }
                self.start_due_runs();
            }
            Input::Tick => {
                let now = self.now();
                let scheduled = self.config.scheduled_runs;
                if scheduled {
                    // The end of a quota pause (the state machine knows when).
                    let names: Vec<String> = self.folders.keys().cloned().collect();
                    for name in names {
                        let _ = self.transition(&name, FolderEvent::Tick { now_ms: now });
                    }
                }
                for f in self.folders.values_mut() {
                    if now >= f.next_full_ms
                        && matches!(f.pending, Pending::None | Pending::Dirs(_))
                    {
                        f.pending = Pending::Full;
                    }
                    if f.retry_at_ms.is_some_and(|t| now >= t) {
                        f.retry_at_ms = None;
                        if scheduled && matches!(f.pending, Pending::None) {
                            f.pending = Pending::Full;
                        }
                    }
                }
                self.start_due_runs();
                self.poll_logs();
            }
            Input::Outcome(outcome) => self.outcome(outcome),
        }
        self.start_due_runs();
        true
    }

    fn command(&mut self, command: Command) -> Result<(), EngineError> {
        match command {
            Command::AddFolder(mapping) => {
                if self.folders.contains_key(&mapping.name) {
                    return Err(EngineError::FolderExists(mapping.name.clone()));
                }
                let mut all: Vec<FolderMapping> =
                    self.folders.values().map(|f| f.mapping.clone()).collect();
                all.push((*mapping).clone());
                Config {
                    version: crate::config::CONFIG_VERSION,
                    folders: all,
                }
                .validate()?;
                let name = mapping.name.clone();
                self.insert_folder(*mapping)?;
                self.activity(&name, "folder added");
                self.save_config()
            }
            Command::ChangeFolder(mapping) => {
                // Validated with the other folders: a folder may not take a source another
                // folder owns, nor own one another folder uses.
                let all: Vec<FolderMapping> = self
                    .folders
                    .values()
                    .map(|f| {
                        if f.mapping.name == mapping.name {
                            (*mapping).clone()
                        } else {
                            f.mapping.clone()
                        }
                    })
                    .collect();
                Config {
                    version: crate::config::CONFIG_VERSION,
                    folders: all,
                }
                .validate()?;
                let watcher = if mapping.watch {
                    self.start_watcher(&mapping)
                } else {
                    None
                };
                let f = self.folder_mut(&mapping.name)?;
                f.watcher = watcher;
                f.mapping = *mapping;
                f.pending = Pending::Full;
                let name = f.mapping.name.clone();
                // The card shows the mapping (its source, its filters).
                let event = f.state_event();
                self.emit(event);
                self.activity(&name, "folder settings changed");
                self.save_config()
            }
            Command::RemoveFolder(name) => {
                let removed = self
                    .folders
                    .remove(&name)
                    .ok_or_else(|| EngineError::UnknownFolder(name.clone()))?;
                drop(removed);
                self.store.remove_folder(&name)?;
                self.emit(Event::FolderRemoved {
                    folder: name.clone(),
                });
                self.activity(&name, "folder removed; its items stay in the source");
                self.save_config()
            }
            // A person's pause lasts until a person resumes; during a run, the run stops
            // between batches.
            Command::Pause(name) => self.transition(&name, FolderEvent::Pause),
            Command::Resume(name) => self.transition(&name, FolderEvent::Resume),
            Command::RescanNow(name) => {
                self.folder_mut(&name)?.pending = Pending::Full;
                Ok(())
            }
            Command::Rebuild(name) => {
                let f = self.folder_mut(&name)?;
                f.rebuild = true;
                f.pending = Pending::Full;
                Ok(())
            }
            Command::Confirm(name) => self.transition(&name, FolderEvent::Confirm),
            Command::DryRun(name, reply) => {
                let f = self
                    .folders
                    .get(&name)
                    .ok_or_else(|| EngineError::UnknownFolder(name.clone()))?;
                let mapping = f.mapping.clone();
                let state_path = self.config.state_path.clone();
                self.runs.push(tokio::spawn(async move {
                    let result = dry_run(&state_path, &mapping).await;
                    let _ = reply.send(result.map(|(plan, _)| plan));
                }));
                Ok(())
            }
            Command::SyncNow(name, mode, reply) => {
                let f = self.folder_mut(&name)?;
                f.waiters.push(reply);
                f.pending = Pending::Full;
                if mode == PlanMode::Rebuild {
                    f.rebuild = true;
                }
                Ok(())
            }
            Command::Status(reply) => {
                let list = self
                    .folders
                    .values()
                    .map(|f| {
                        let record = self.store.folder(&f.mapping.name).unwrap_or_default();
                        FolderStatus {
                            mapping: f.mapping.clone(),
                            state: f.phase.shown(),
                            last_full_sync_ms: f.last_full_sync_ms,
                            item_count: f.item_count,
                            last_problems: record.last_problems,
                            paused_until_ms: f.phase.paused_until_ms(),
                        }
                    })
                    .collect();
                let _ = reply.send(list);
                Ok(())
            }
            Command::RecordedPaths(name, reply) => {
                if !self.folders.contains_key(&name) {
                    return Err(EngineError::UnknownFolder(name));
                }
                let state_path = self.config.state_path.clone();
                tokio::task::spawn_blocking(move || {
                    let paths = Store::open(&state_path)
                        .and_then(|store| store.item_paths(&name))
                        .map_err(EngineError::from);
                    let _ = reply.send(paths);
                });
                Ok(())
            }
            Command::NextOrderingId {
                organization,
                source,
                now_ms,
                reply,
            } => {
                let id = self
                    .store
                    .next_ordering_id(&organization, &source, now_ms)
                    .map_err(EngineError::from);
                let _ = reply.send(id);
                Ok(())
            }
            Command::Shutdown(_) => Ok(()),
        }
    }

    /// Queued work may start: the state machine says whether (free and idle, or a person
    /// waits for it) and starts it (`Effect::StartRun`).
    fn start_due_runs(&mut self) {
        let due: Vec<(String, bool)> = self
            .folders
            .iter()
            .filter(|(_, f)| !matches!(f.pending, Pending::None))
            .map(|(n, f)| (n.clone(), !f.waiters.is_empty()))
            .collect();
        for (name, asked) in due {
            let _ = self.transition(&name, FolderEvent::RunDue { asked });
        }
    }

    /// Starts the run the state machine just started (`Effect::StartRun`): takes the queued
    /// work and spawns scan → plan → brakes → execute.
    fn start_run(&mut self, name: &str) {
        let now = self.now();
        let Some(f) = self.folders.get_mut(name) else {
            return;
        };
        let scope = match std::mem::replace(&mut f.pending, Pending::None) {
            Pending::Dirs(d) => d,
            _ => Vec::new(),
        };
        let full = scope.is_empty();
        if full {
            // The next full rescan is scheduled when this one ends (RunDone); until then the
            // tick must not ask for another one (at start, `next_full_ms` is 0: without this
            // every folder was scanned twice back to back).
            f.next_full_ms = u64::MAX;
        }
        let mode = if std::mem::take(&mut f.rebuild) {
            PlanMode::Rebuild
        } else {
            PlanMode::Incremental
        };
        let confirmed = std::mem::take(&mut f.confirmed);
        let stop = Arc::new(AtomicBool::new(false));
        f.stop_run = Some(Arc::clone(&stop));
        let forced = !f.waiters.is_empty();
        f.run_waiters = std::mem::take(&mut f.waiters);
        let mapping = f.mapping.clone();
        let client = (self.config.clients)(&mapping);
        let job = RunJob {
            mapping,
            scope,
            mode,
            confirmed,
            state_path: self.config.state_path.clone(),
            options: self.config.execute.clone(),
            now_ms: now,
            internal: self.internal.clone(),
            stop,
            forced,
        };
        let internal = self.internal.clone();
        let folder = name.to_string();
        self.runs.retain(|h| !h.is_finished());
        self.runs.push(tokio::spawn(async move {
            let result = match client {
                Ok(client) => run(job, client).await,
                Err(e) => Err(EngineError::from(e)),
            };
            let result = Box::new(result);
            let _ = internal.send(Input::Outcome(Outcome::RunDone {
                folder,
                result,
                full,
            }));
        }));
    }

    fn outcome(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::RunDone {
                folder,
                result,
                full,
            } => self.run_done(&folder, *result, full),
            Outcome::Progress { folder, progress } => {
                // Kept by the run's state; a pause during the run still shows.
                let Some((before, effects)) = self.step(&folder, FolderEvent::Progress(progress))
                else {
                    return;
                };
                // A batch was recorded: the card's count follows the run.
                self.recount(&folder, false);
                self.show(&folder, before);
                let _ = self.apply(&folder, effects);
            }
            Outcome::Logs { folder, result } => match result {
                Ok((remaining, problems)) => {
                    let mut skipped = false;
                    for p in problems {
                        let result = match p.kind {
                            ProblemKind::Rejected => ItemResult::Rejected { reason: p.message },
                            kind => {
                                // Skipped by the service: pending again, retried after its
                                // wait (the store holds the time).
                                skipped = true;
                                ItemResult::Problem {
                                    kind,
                                    message: p.message,
                                    what_to_do: kind.what_to_do().into(),
                                }
                            }
                        };
                        self.emit(Event::Item {
                            folder: folder.clone(),
                            path: p.path,
                            result,
                        });
                    }
                    if skipped {
                        let next = self
                            .store
                            .retries(&folder)
                            .unwrap_or_default()
                            .iter()
                            .map(|r| r.next_attempt_ms.max(0) as u64)
                            .min();
                        if let (Some(f), Some(next)) = (self.folders.get_mut(&folder), next) {
                            f.retry_at_ms = Some(f.retry_at_ms.map_or(next, |t| t.min(next)));
                        }
                    }
                    if remaining == 0 {
                        if let Some(f) = self.folders.get_mut(&folder) {
                            f.logs_from_ms = None;
                            f.log_polls_left = 0;
                        }
                    }
                }
                Err(message) => self.activity(&folder, message),
            },
        }
    }

    /// A run ended: its timers, then the state machine, then the callers and the fronts.
    fn run_done(&mut self, folder: &str, result: Result<SyncReport, EngineError>, full: bool) {
        let Some(waiters) = self.after_run_timers(folder, &result, full) else {
            return;
        };
        let Some((before, effects)) = self.step(folder, FolderEvent::RunFinished(run_end(&result)))
        else {
            return;
        };
        // What the run recorded (items, the end of a full sync) shows on the card with its end.
        self.recount(folder, true);
        // A failure to record the attention is not the run's: the state shows it.
        let _ = self.apply(folder, effects);
        for w in waiters {
            let _ = w.send(result.clone());
        }
        let Ok(report) = &result else {
            self.show(folder, before);
            return;
        };
        self.report_items(folder, report);
        self.show(folder, before);
        if let Some(run) = &report.run {
            if run.paused {
                self.activity(
                    folder,
                    format!(
                        "paused during a run: {} pushed and {} deleted before it stopped; the rest is sent at resume",
                        run.pushed.len(),
                        run.deleted.len()
                    ),
                );
            }
            for warning in &run.warnings {
                self.activity(folder, warning.clone());
            }
            if let Some(Halt::Unreachable { message, .. }) = &run.halted {
                self.activity(
                    folder,
                    format!("could not reach the service: {message}; trying again later"),
                );
            }
        }
    }

    /// The bookkeeping after a run (none of it is the folder's state): the next full rescan,
    /// the retry time, the Source Logs follow-up. Returns the callers waiting for the run;
    /// `None` when the folder is gone.
    fn after_run_timers(
        &mut self,
        folder: &str,
        result: &Result<SyncReport, EngineError>,
        full: bool,
    ) -> Option<Vec<oneshot::Sender<Result<SyncReport, EngineError>>>> {
        let interval = self.folders.get(folder)?.mapping.rescan_interval;
        let next_full = if self.config.scheduled_runs {
            self.jittered(interval)
        } else {
            u64::MAX
        };
        let now = self.now();
        let retries = self.store.retries(folder).unwrap_or_default();
        let poll_source_logs = self.config.poll_source_logs;
        let f = self.folders.get_mut(folder)?;
        f.stop_run = None;
        if full {
            f.next_full_ms = next_full;
        }
        if let Ok(report) = result {
            if let Some(run) = &report.run {
                if let Some(Halt::Unreachable { .. }) = &run.halted {
                    // Not a person's problem to confirm: tried again later.
                    f.retry_at_ms = Some(now + UNREACHABLE_RETRY.as_millis() as u64);
                }
                if !run.pushed.is_empty() && poll_source_logs {
                    f.logs_from_ms = Some(f.logs_from_ms.unwrap_or(now as i64 - 1000));
                    f.log_polls_left = SOURCE_LOG_POLLS;
                    f.next_log_poll_ms = now;
                }
            }
            if let Some(next) = retries.iter().map(|r| r.next_attempt_ms).min() {
                f.retry_at_ms = Some(next.max(0) as u64);
            }
        }
        Some(std::mem::take(&mut f.run_waiters))
    }

    fn report_items(&self, folder: &str, report: &SyncReport) {
        let mut problems: Vec<&FileProblem> = report.scan_problems.iter().collect();
        if let Some(run) = &report.run {
            for path in &run.pushed {
                self.emit(Event::Item {
                    folder: folder.into(),
                    path: path.clone(),
                    result: ItemResult::Pushed,
                });
            }
            for path in &run.deleted {
                self.emit(Event::Item {
                    folder: folder.into(),
                    path: path.clone(),
                    result: ItemResult::Deleted,
                });
            }
            problems.extend(run.problems.iter());
            if !run.pushed.is_empty() || !run.deleted.is_empty() {
                self.activity(
                    folder,
                    format!(
                        "{}: {} pushed, {} deleted, {} problems",
                        state_name(if run.deleted_older_than {
                            PlanMode::Rebuild
                        } else {
                            PlanMode::Incremental
                        }),
                        run.pushed.len(),
                        run.deleted.len(),
                        run.problems.len()
                    ),
                );
            }
        }
        for p in problems {
            self.emit(Event::Item {
                folder: folder.into(),
                path: p.path.clone(),
                result: ItemResult::Problem {
                    kind: p.kind,
                    message: p.message.clone(),
                    what_to_do: p.kind.what_to_do().into(),
                },
            });
        }
    }

    fn poll_logs(&mut self) {
        let now = self.now();
        let interval = self.config.source_log_interval.as_millis() as u64;
        let due: Vec<(FolderMapping, i64)> = self
            .folders
            .values_mut()
            .filter(|f| {
                f.log_polls_left > 0 && now >= f.next_log_poll_ms && f.logs_from_ms.is_some()
            })
            .map(|f| {
                f.log_polls_left -= 1;
                f.next_log_poll_ms = now + interval;
                (f.mapping.clone(), f.logs_from_ms.unwrap_or(0))
            })
            .collect();
        for (mapping, from) in due {
            let client = (self.config.clients)(&mapping);
            let state_path = self.config.state_path.clone();
            let internal = self.internal.clone();
            let to = now as i64 + 60_000;
            self.runs.push(tokio::spawn(async move {
                let result = match client {
                    Ok(client) => {
                        poll_logs_once(&state_path, &client, &mapping, from, to, now as i64).await
                    }
                    Err(e) => Err(e.explanation()),
                };
                let _ = internal.send(Input::Outcome(Outcome::Logs {
                    folder: mapping.name,
                    result,
                }));
            }));
        }
    }

    async fn stop(mut self) {
        for f in self.folders.values_mut() {
            f.watcher = None;
        }
        for run in self.runs.drain(..) {
            let _ = run.await;
        }
    }
}

async fn poll_logs_once(
    state_path: &std::path::Path,
    client: &PushClient,
    mapping: &FolderMapping,
    from: i64,
    to: i64,
    now_ms: i64,
) -> Result<(usize, Vec<FileProblem>), String> {
    let mut store = Store::open(state_path).map_err(|e| e.to_string())?;
    let rejected = apply_source_logs(client, mapping, &mut store, from, to, now_ms).await?;
    let remaining = store
        .items(&mapping.name)
        .map_err(|e| e.to_string())?
        .iter()
        .filter(|i| i.state == ItemState::Accepted)
        .count();
    Ok((remaining, rejected))
}

struct RunJob {
    mapping: FolderMapping,
    scope: Vec<String>,
    mode: PlanMode,
    confirmed: bool,
    state_path: PathBuf,
    options: ExecuteOptions,
    now_ms: u64,
    /// The loop's input: the run's progress goes through it (see [`Outcome::Progress`]).
    internal: mpsc::UnboundedSender<Input>,
    /// Set when the folder is paused during the run.
    stop: Arc<AtomicBool>,
    /// Asked for by a person ([`EngineHandle::sync_now`]): failed items are retried now
    /// instead of waiting for their backoff.
    forced: bool,
}

async fn scan_and_plan(
    store: Store,
    mapping: &FolderMapping,
    scope: Vec<String>,
    mode: PlanMode,
) -> Result<(Plan, crate::scan::Snapshot, Store), EngineError> {
    let filters = mapping.compiled_filters().map_err(SettingsError::Filters)?;
    let permissions = mapping
        .compiled_permissions()
        .map_err(SettingsError::Permissions)?;
    let request = ScanRequest {
        root: mapping.path.clone(),
        filters,
        follow_symlinks: mapping.follow_symlinks,
        scope,
        threads: SCAN_THREADS,
    };
    // The store's items load on another thread while the folder is walked (see
    // `scan_with_items`); the store goes to the blocking task and comes back.
    let name = mapping.name.clone();
    let (scanned, store) = tokio::task::spawn_blocking(move || {
        let mut store = store;
        // `&mut` although only read: a `&Store` cannot cross threads (not `Sync`).
        let loader = &mut store;
        let scanned = scan_with_items(&request, move || loader.items(&name));
        (scanned, store)
    })
    .await?;
    let (snapshot, items) = scanned?;
    let rules = PlanRules {
        folder: mapping,
        permissions: permissions.as_ref(),
        mode,
    };
    let mut plan = plan(&items, &snapshot, &rules);
    let identities = crate::plan::load_identities(mapping).map_err(SettingsError::Identities)?;
    if let Some(loaded) = &identities {
        let stored = store.identity_fingerprint(&mapping.name, &loaded.provider)?;
        plan.identities = crate::plan::plan_identities(Some(loaded), stored.as_deref(), mode);
    }
    Ok((plan, snapshot, store))
}

/// Scans and plans one folder without an engine and without sending anything: what the UI
/// shows before a first sync, and `pushdeck sync --dry-run`.
pub async fn preview(
    state_path: &std::path::Path,
    mapping: &FolderMapping,
) -> Result<Plan, EngineError> {
    Ok(dry_run(state_path, mapping).await?.0)
}

async fn dry_run(
    state_path: &std::path::Path,
    mapping: &FolderMapping,
) -> Result<(Plan, crate::scan::Snapshot), EngineError> {
    let store = Store::open(state_path)?;
    let (plan, snapshot, _) =
        scan_and_plan(store, mapping, Vec::new(), PlanMode::Incremental).await?;
    Ok((plan, snapshot))
}

async fn run(job: RunJob, client: PushClient) -> Result<SyncReport, EngineError> {
    let store = Store::open(&job.state_path)?;
    let (mut plan, snapshot, mut store) =
        scan_and_plan(store, &job.mapping, job.scope.clone(), job.mode).await?;
    // Items that failed recently wait for their retry time (backoff), unless they changed.
    let retries: HashMap<String, i64> = store
        .retries(&job.mapping.name)?
        .into_iter()
        .map(|r| (r.path, r.next_attempt_ms))
        .collect();
    let now = job.now_ms as i64;
    let mut deferred = Vec::new();
    if !job.forced {
        plan.pushes.retain(|p| {
            let wait = p.change == crate::plan::Change::Retry
                && retries.get(&p.path).is_some_and(|t| *t > now);
            if wait {
                deferred.push(p.path.clone());
            }
            !wait
        });
    }
    // The executor must know what was held back: a rebuild that did not push a file may not
    // remove the items it did not push (see `Plan::pushes_every_file`).
    plan.deferred = deferred.clone();
    let mut report = SyncReport {
        plan: plan.summary(),
        brake: None,
        run: None,
        scan_problems: snapshot.problems.clone(),
        hashed_files: snapshot.stats.hashed,
        deferred,
    };
    if !job.confirmed {
        if let Some(brake) = check_brakes(&plan, &snapshot, &job.mapping.safety) {
            report.brake = Some(brake);
            return Ok(report);
        }
    }
    // The push needs the plan, not the snapshot: its file list (tens of MB for 100,000
    // files) is freed now rather than held for the whole push.
    drop(snapshot);
    let folder = job.mapping.name.clone();
    let internal = job.internal.clone();
    let started = Instant::now();
    let mut progress = move |p: RunProgress| {
        let elapsed = started.elapsed().as_secs_f64();
        let eta_secs = (p.bytes_done > 0 && p.bytes_total >= p.bytes_done).then(|| {
            (elapsed * (p.bytes_total - p.bytes_done) as f64 / p.bytes_done as f64) as u64
        });
        let _ = internal.send(Input::Outcome(Outcome::Progress {
            folder: folder.clone(),
            progress: Progress {
                done: p.done,
                total: p.total,
                bytes_done: p.bytes_done,
                bytes_total: p.bytes_total,
                eta_secs,
            },
        }));
    };
    let run = execute(
        &plan,
        &job.mapping,
        &client,
        &mut store,
        &job.options,
        job.now_ms,
        &job.stop,
        &mut progress,
    )
    .await?;
    // A paused run did not sync everything: not a full sync.
    if !plan.scoped && !run.paused {
        let mut problems = report.scan_problems.clone();
        problems.extend(run.problems.iter().cloned());
        store.record_full_sync(&job.mapping.name, now, &problems)?;
    }
    report.run = Some(run);
    Ok(report)
}
