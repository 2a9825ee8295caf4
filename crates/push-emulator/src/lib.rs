//! A faithful local Coveo Push API: the Pushdeck **Sandbox**, and the server every test and
//! benchmark talks to.
//!
//! What it is: an HTTP server (axum on tokio) with every Push API route under
//! `/push/v1/organizations/{org}/...`, file containers with presigned-style upload URIs on
//! itself, the Platform API routes that create Push sources, security identity providers and
//! fields (`/rest/organizations/{org}/...`), the Source Logs API (`/logs/v1/organizations/{org}`),
//! plus an inspection and fault-injection API under `/_emulator/v1/` (see the README).
//! Writes answer 202 and are processed afterwards, as by the service; what the pipeline
//! rejects shows up in the Source Logs, not as an HTTP error.
//!
//! What it is not: a search engine (it evaluates permissions, not queries), nor a copy of the
//! client's wire types — its own types are written from the reference so that it catches the
//! client's mistakes. It never talks to the network beyond its listening socket.
//!
//! Where to start: [`Emulator::start`] with an [`EmulatorConfig`]; [`command`] for the
//! `pushdeck emulator` subcommand; `server.rs` for the routes (the handlers in `server/`, one
//! module per route family); `processor.rs` for the asynchronous rules; `state.rs` for
//! orderingId and identity semantics; [`inspect`] for the typed reads a program embedding the
//! emulator uses instead of the inspection API
//! ([`Emulator::items`], [`Emulator::item`], [`Emulator::search_as`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), push_emulator::StartError> {
//! let emu = push_emulator::Emulator::start(push_emulator::EmulatorConfig::default()).await?;
//! let base = emu.url(); // http://127.0.0.1:PORT, replaces https://api.cloud.coveo.com
//! let key = emu.api_key();
//! // ... push through coveo-push ...
//! emu.drain().await; // every accepted write is processed
//! # Ok(()) }
//! ```

mod batch;
pub mod clock;
pub mod command;
pub mod error;
pub mod faults;
pub mod inspect;
pub mod json;
mod net;
mod persist;
mod processor;
mod search;
mod server;
pub mod state;
pub mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub use clock::Clock;
pub use faults::Faults;
pub use inspect::{InspectError, ItemAccess, SearchAs, Seen};

use crate::faults::FaultState;
use crate::persist::Store;
use crate::processor::{Op, OpKind};
use crate::state::{Org, Provider, Source, State, EMAIL_PROVIDER};

/// The API key of [`EmulatorConfig::default`]: fixed, so tests can share it.
pub const TEST_API_KEY: &str = "xx-emulator-test-key";

/// The default `queueDelay` of delete-older-than, in minutes, as documented by Coveo.
pub const DEFAULT_QUEUE_DELAY_MINUTES: u64 = 15;

/// An organization to create at start (if it does not exist yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgConfig {
    pub id: String,
    /// Push sources (SECURED, using this organization's providers; the first is the default
    /// `securityProvider` of their permissions).
    pub sources: Vec<String>,
    /// Security identity providers (EXPANDED, cascading to the Email Security Provider).
    pub providers: Vec<String>,
}

impl OrgConfig {
    pub fn new(id: &str, source: &str, provider: &str) -> Self {
        Self {
            id: id.into(),
            sources: vec![source.into()],
            providers: vec![provider.into()],
        }
    }
}

/// How to start an emulator. `Default`: 127.0.0.1:0, organization `sandbox` with source
/// `documents` and provider `sandbox`, in memory, processing delay zero, [`TEST_API_KEY`].
#[derive(Clone)]
pub struct EmulatorConfig {
    pub listen: SocketAddr,
    pub api_key: String,
    pub organizations: Vec<OrgConfig>,
    /// Time between a 202 and the processing of the write (zero in tests; a few hundred
    /// milliseconds make the Sandbox feel like the asynchronous service).
    pub processing_delay: Duration,
    /// `Some(dir)`: keep everything in `dir/emulator.sqlite3`; `None`: in memory.
    pub data_dir: Option<PathBuf>,
    pub faults: Faults,
    pub clock: Clock,
    /// queueDelay used when a delete-older-than request names none.
    pub default_queue_delay_minutes: u64,
    /// Largest upload a file container accepts ([`CONTAINER_LIMIT`], 256 MB, like the
    /// service; tests lower it to exercise the 413 without sending 256 MB).
    pub container_limit: u64,
}

/// The service's cap on one file container (push-api.md §2.3).
pub const CONTAINER_LIMIT: u64 = 256 * 1024 * 1024;

impl std::fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("listen", &self.listen)
            .field("api_key", &"****")
            .field("organizations", &self.organizations)
            .field("processing_delay", &self.processing_delay)
            .field("data_dir", &self.data_dir)
            .field("faults", &self.faults)
            .field("clock", &self.clock)
            .field(
                "default_queue_delay_minutes",
                &self.default_queue_delay_minutes,
            )
            .field("container_limit", &self.container_limit)
            .finish()
    }
}

/// The organization, source and provider of the default configuration: the Sandbox of the
/// command line and of the desktop app (both use these, so they name the same place).
pub const SANDBOX_ORG: &str = "sandbox";
pub const SANDBOX_SOURCE: &str = "documents";
pub const SANDBOX_PROVIDER: &str = "sandbox";

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            api_key: TEST_API_KEY.into(),
            organizations: vec![OrgConfig::new(
                SANDBOX_ORG,
                SANDBOX_SOURCE,
                SANDBOX_PROVIDER,
            )],
            processing_delay: Duration::ZERO,
            data_dir: None,
            faults: Faults::default(),
            clock: Clock::system(),
            default_queue_delay_minutes: DEFAULT_QUEUE_DELAY_MINUTES,
            container_limit: CONTAINER_LIMIT,
        }
    }
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}; pick another address or port with --listen")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot use the data directory {dir}: {source}")]
    DataDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] persist::StoreError),
    #[error("the data directory holds an operation the emulator cannot read ({0}); it was written by another version")]
    Journal(String),
}

/// Everything the handlers and the processor share.
pub(crate) struct Shared {
    pub state: Mutex<State>,
    pub store: Option<Mutex<Store>>,
    pub clock: Clock,
    pub api_key: String,
    pub processing_delay: Duration,
    pub default_queue_delay_minutes: u64,
    pub container_limit: u64,
    pub base_url: String,
    /// Set when the [`Emulator`] is dropped: the processor stops before the next operation
    /// (what is journaled and unprocessed is processed at the next start).
    pub stopped: std::sync::atomic::AtomicBool,
    queue: Mutex<Option<std::sync::mpsc::Sender<Op>>>,
    accepted: AtomicU64,
    pub processed: tokio::sync::watch::Sender<u64>,
    /// The last default orderingId given (see [`Shared::default_ordering_id`]).
    last_default_ordering: AtomicU64,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// What the handlers and the processor share for `config`, with the state and store read
    /// at start, the emulator's URL, and the processor's queue.
    pub(crate) fn new(
        config: &EmulatorConfig,
        state: State,
        store: Option<Store>,
        base_url: String,
        queue: std::sync::mpsc::Sender<Op>,
    ) -> Self {
        Self {
            state: Mutex::new(state),
            store: store.map(Mutex::new),
            clock: config.clock.clone(),
            api_key: config.api_key.clone(),
            processing_delay: config.processing_delay,
            default_queue_delay_minutes: config.default_queue_delay_minutes,
            container_limit: config.container_limit,
            stopped: std::sync::atomic::AtomicBool::new(false),
            base_url,
            last_default_ordering: AtomicU64::new(0),
            queue: Mutex::new(Some(queue)),
            accepted: AtomicU64::new(0),
            processed: tokio::sync::watch::channel(0u64).0,
        }
    }

    /// The orderingId of an operation sent without one: the clock's milliseconds, as the
    /// service does, but above the last one given, so two requests in the same millisecond
    /// are still ordered (an equal orderingId is not applied, see `OpContext::superseded_by`).
    pub fn default_ordering_id(&self) -> u64 {
        let now = self.clock.now_ms().max(0) as u64;
        let previous = self
            .last_default_ordering
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
                Some(now.max(last + 1))
            })
            .unwrap_or(0);
        now.max(previous + 1)
    }

    pub fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn lock_store(&self) -> Option<MutexGuard<'_, Store>> {
        self.store
            .as_ref()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Journals (with `--data`) and queues an operation; returns its sequence number. The
    /// journal write happens before the caller answers 202.
    pub fn enqueue(&self, mut op: Op, journal: bool) -> Result<u64, error::ApiError> {
        let queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let Some(sender) = queue.as_ref() else {
            return Err(error::ApiError::internal("the emulator is shutting down"));
        };
        if journal && !matches!(op.kind, OpKind::Tick) {
            if let Some(store) = self.lock_store() {
                let json = serde_json::to_string(&op)
                    .map_err(|e| error::ApiError::internal(e.to_string()))?;
                op.journal_id = Some(
                    store
                        .insert_op(&json)
                        .map_err(|e| error::ApiError::internal(e.to_string()))?,
                );
            }
        }
        let seq = self.accepted.fetch_add(1, Ordering::SeqCst) + 1;
        op.seq = seq;
        op.accepted_at = Some(Instant::now());
        sender
            .send(op)
            .map_err(|_| error::ApiError::internal("the processing queue stopped"))?;
        Ok(seq)
    }

    /// Waits until every operation accepted before this call is processed (and scheduled
    /// operations whose time came have run).
    pub async fn drain(&self) {
        let tick = Op {
            org: String::new(),
            request_id: String::new(),
            ordering_id: 0,
            accepted_ms: self.clock.now_ms(),
            kind: OpKind::Tick,
            journal_id: None,
            seq: 0,
            accepted_at: None,
        };
        let Ok(target) = self.enqueue(tick, false) else {
            return;
        };
        let mut rx = self.processed.subscribe();
        let _ = rx.wait_for(|done| *done >= target).await;
    }

    fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

/// A running emulator. Dropping it stops the server (open connections are closed once idle)
/// and the processor.
#[derive(Debug)]
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Emulator {
    /// Binds, loads `data_dir` if any, creates the configured organizations, sources and
    /// providers that do not exist, and starts serving. Must run inside a tokio runtime.
    pub async fn start(config: EmulatorConfig) -> Result<Self, StartError> {
        let store = match &config.data_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|source| StartError::DataDir {
                    dir: dir.clone(),
                    source,
                })?;
                Some(Store::open(dir)?)
            }
            None => None,
        };
        let mut state = State::new(FaultState::new(config.faults.clone()));
        let journal = match &store {
            Some(s) => s.load(&mut state)?,
            None => Vec::new(),
        };
        let now = config.clock.now_ms();
        let mut changes = state::Changes::default();
        for org_config in &config.organizations {
            let org = state
                .orgs
                .entry(org_config.id.clone())
                .or_insert_with(|| Org::new(&org_config.id));
            changes.orgs.push(org_config.id.clone());
            changes
                .providers
                .push((org_config.id.clone(), EMAIL_PROVIDER.to_owned()));
            for p in &org_config.providers {
                if !org.providers.contains_key(p) {
                    org.providers.insert(
                        p.clone(),
                        Provider::new(
                            p,
                            "EXPANDED",
                            vec![EMAIL_PROVIDER.to_owned()],
                            org_config.sources.clone(),
                            now,
                        ),
                    );
                    changes.providers.push((org_config.id.clone(), p.clone()));
                }
            }
            for s in &org_config.sources {
                if !org.sources.contains_key(s) {
                    org.sources.insert(
                        s.clone(),
                        Source::new(s, s, "SECURED", org_config.providers.clone(), now),
                    );
                    changes.sources.push((org_config.id.clone(), s.clone()));
                }
            }
        }
        let mut store = store;
        if let Some(s) = store.as_mut() {
            s.commit(&state, &changes, None)?;
        }
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
        let url = format!("http://{addr}");
        let (tx, rx) = std::sync::mpsc::channel::<Op>();
        let shared = Arc::new(Shared::new(&config, state, store, url.clone(), tx));
        for (journal_id, json) in journal {
            let mut op: Op =
                serde_json::from_str(&json).map_err(|e| StartError::Journal(e.to_string()))?;
            op.journal_id = Some(journal_id);
            shared
                .enqueue(op, false)
                .map_err(|e| StartError::Journal(e.message))?;
        }
        let processor_shared = shared.clone();
        std::thread::Builder::new()
            .name("push-emulator-processor".into())
            .spawn(move || processor::run(processor_shared, rx))
            .map_err(|source| StartError::Bind { addr, source })?;
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let app = server::router(shared.clone());
        let listener = net::EmulatorListener { inner: listener };
        tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<net::ConnectionKill>();
            let _ = axum::serve(listener, service)
                .with_graceful_shutdown(async {
                    let _ = shutdown_rx.await;
                })
                .await;
        });
        Ok(Self {
            shared,
            addr,
            url,
            shutdown: Some(shutdown_tx),
        })
    }

    /// `http://127.0.0.1:PORT`: the origin that replaces `https://api.cloud.coveo.com`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The Bearer key the emulator accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// Returns once every write accepted so far has been processed.
    pub async fn drain(&self) {
        self.shared.drain().await;
    }

    /// The emulator's clock (advance it to expire containers or run a delayed delete-older-than).
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// Advances the clock and waits until what became due has run.
    pub async fn advance_clock(&self, by: Duration) {
        self.shared.clock.advance(by);
        self.shared.drain().await;
    }

    /// Replaces the injected faults (and restarts their random draws from the seed).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.lock_state().faults = FaultState::new(faults);
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.shared.stop();
    }
}
