//! coveo-push: an async client for Coveo's Push API, and the Platform API calls needed to start
//! pushing (create a Push source, a security identity provider, the missing fields).
//!
//! What it is not: it knows nothing of folders, sync state, watching, Tauri or UIs. It reads no
//! environment and no configuration file; it reads only the files its caller names as item
//! content (the one exception: [`ProxyConfig::System`] lets reqwest read the proxy variables).
//!
//! Where to start: [`ClientConfig`] → [`PushClient::new`]; [`Document`] for items;
//! [`Batcher`] to push many items through file containers with honest [`ProgressEvent`]s;
//! [`Error::kind`] and [`Error::explanation`] for what went wrong. Retries live in
//! [`RetryPolicy`], whose clock and jitter are injectable for exact tests.
//!
//! Layers, lowest first; a module uses only modules named before it, so a document goes one
//! way, down, on its way out (batcher → client → encode → document), and there is no import
//! cycle (`tests/layering.rs` checks both from the source):
//! `error`, `progress`, `retry`, `identity`, `compression` (these use no other module) →
//! `config` → `document` (items, and the index fields their metadata needs) → `encode`
//! (free functions from a document to its wire form; it adds no method to the client) →
//! `http` (sending one request, with its retries) → `logs` (Source Logs requests and answers)
//! → `client` (`PushClient`: every method is defined here, over the layers below) →
//! `batcher` (over the client). A type several layers use lives in the lowest of them.

mod batcher;
mod client;
mod compression;
mod config;
mod document;
mod encode;
mod error;
mod http;
mod identity;
mod logs;
mod progress;
mod retry;

pub use batcher::{
    next_level, BatchProblem, BatchSummary, Batcher, BatcherConfig, DEFAULT_MAX_BATCH_BYTES,
    DEFAULT_UPLOADS_IN_FLIGHT, MAX_ADAPTIVE_LEVEL, MAX_QUEUED_CONTENT_BYTES, QUEUED_PER_ENCODER,
    UPLINK_BOUND_WAIT,
};
pub use client::{
    DeleteItem, FileContainer, OpenedStream, PushClient, SecurityProviderInfo, SourceInfo,
    SourceStatus, SourceVisibility, StreamResult, FIELD_CREATE_BATCH, FIELD_LIST_PAGE,
    MAX_SOURCE_PAGES, OLDER_THAN_FUTURE_TOLERANCE, SOURCE_LIST_PAGE,
};
pub use compression::{
    compress, is_already_compressed, CompressionType, ALREADY_COMPRESSED_EXTENSIONS,
    DEFAULT_COMPRESSION_LEVEL,
};
pub use config::{
    ApiKey, ClientConfig, Endpoint, Environment, ProxyConfig, Region, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT, DEFAULT_REQUEST_TIMEOUT,
};
pub use document::{
    file_uri, file_uri_from_path, format_date, is_reserved_key, is_valid_field_name, permanent_id,
    strip_verbatim_prefix, Content, Document, FieldSpec, FieldType, MetadataValue,
    MAX_PERMISSIONS_PER_ITEM, RESERVED_KEYS,
};
pub use encode::{
    changed_while_read, DocumentPreview, UploadSource, IN_MEMORY_COMPRESSION_MAX,
    MAX_CONTAINER_BYTES, MAX_INLINE_CONTENT_BYTES,
};
pub use error::{Error, ErrorKind, NotFoundTarget};
pub use identity::{DeletedIdentity, IdentityBatch, IdentityBody, MappedIdentityBody, Mapping};
pub use logs::{LogEntry, LogQuery, LOG_PAGE_SIZE, MAX_LOG_PAGES};
pub use permissions::{Identity, IdentityType, PermissionModel};
pub use progress::{ProgressEvent, ProgressSink};
pub use retry::{
    parse_retry_after, Clock, FixedJitter, Jitter, ManualClock, RandomJitter, RetryPolicy,
    SystemClock, DEFAULT_INITIAL_BACKOFF, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_ELAPSED,
};
