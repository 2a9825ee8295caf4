//! [`PushClient`]: every Push API operation (items, file containers, security identities,
//! Stream API), the Platform API calls needed to get started, and Source Logs. Every method of
//! `PushClient` is defined here, over the modules below it: `encode` turns a document into
//! its wire form, `http` sends one request, `logs` builds and reads Source Logs pages.
//!
//! Concurrency: a `PushClient` is cheap to clone and every method takes `&self`; calls may run
//! concurrently. Each call either returns after the service accepted the request (2xx) or
//! returns the last error once retries are exhausted; nothing is retried after a non-retryable
//! answer.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::compression::{CompressionType, DEFAULT_COMPRESSION_LEVEL};
use crate::config::ClientConfig;
use crate::document::{Document, FieldSpec};
use crate::encode::{
    encode, DocumentPreview, EncodeOptions, EncodedContent, EncodedItem, UploadSource,
    MAX_CONTAINER_BYTES,
};
use crate::error::{Error, ErrorKind};
use crate::http::{build_http, millis_between, send, Body, Request, ServiceClock};
use crate::identity::{DeletedIdentity, IdentityBatch, IdentityBody, MappedIdentityBody};
use crate::logs::{self, LogEntry, LogQuery, LOG_PAGE_SIZE, MAX_LOG_PAGES};
use crate::progress::{ProgressEvent, ProgressSink};
use permissions::Identity;

/// The activity status of a Push source (informational: it shows in the Administration
/// Console and activity logs; it has no effect on items).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceStatus {
    Rebuild,
    Refresh,
    Incremental,
    Idle,
}

impl SourceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rebuild => "REBUILD",
            Self::Refresh => "REFRESH",
            Self::Incremental => "INCREMENTAL",
            Self::Idle => "IDLE",
        }
    }
}

/// A file container: where to upload, with which headers, and the id to reference it by.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileContainer {
    pub upload_uri: String,
    pub file_id: String,
    #[serde(default)]
    pub required_headers: BTreeMap<String, String>,
}

/// One delete of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteItem {
    pub document_id: String,
    pub delete_children: bool,
}

/// Who may see the items of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SourceVisibility {
    /// Item permissions decide (needs a security identity provider).
    Secured,
    /// Everyone who can search the organization.
    Shared,
    /// Only identities listed on the source.
    Private,
}

/// What the Platform API says about a source (the fields we read; others are ignored).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceInfo {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub source_type: String,
    #[serde(default)]
    pub push_enabled: bool,
    #[serde(default)]
    pub stream_enabled: bool,
    #[serde(default)]
    pub source_visibility: Option<String>,
    /// Every field of the answer, for checks on product-managed sources.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl SourceInfo {
    /// Why Pushdeck must not push into this source, if it must not.
    pub fn refusal(&self) -> Option<String> {
        if !self.source_type.eq_ignore_ascii_case("PUSH") {
            let ty = if self.source_type.is_empty() {
                "unknown"
            } else {
                &self.source_type
            };
            return Some(format!(
                "source {:?} is a {ty} source, not a Push source; Coveo fills it by itself and pushed items would be lost or mixed",
                self.name
            ));
        }
        if self.stream_enabled {
            return Some(format!(
                "source {:?} is a catalog (stream) source, which takes whole catalogs, not files",
                self.name
            ));
        }
        let managed_by = [
            "managedBy",
            "productManaged",
            "owningProduct",
            "managedByProduct",
        ]
        .iter()
        .filter_map(|k| self.other.get(*k))
        .find_map(|v| match v {
            serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
            serde_json::Value::Bool(true) => Some("a Coveo product".to_string()),
            _ => None,
        });
        if let Some(product) = managed_by {
            return Some(format!(
                "source {:?} is managed by {product}; Coveo asks other tools not to push into it because that product would overwrite or delete the items",
                self.name
            ));
        }
        // Coveo for Sitecore names its Push sources "Coveo_<index>_index - <instance>".
        if self.name.starts_with("Coveo_") && self.name.contains("_index") {
            return Some(format!(
                "source {:?} looks like a Coveo for Sitecore source; Coveo asks other tools not to push into it because Sitecore would overwrite or delete the items",
                self.name
            ));
        }
        None
    }
}

/// A security identity provider as the Platform API lists it (the fields we read).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityProviderInfo {
    pub id: String,
    /// The name shown in the Administration Console (empty when the service sent none).
    #[serde(default)]
    pub display_name: String,
    /// `EXPANDED`, `EMAIL`, `SHAREPOINT`...
    #[serde(default, rename = "type")]
    pub provider_type: String,
}

impl SecurityProviderInfo {
    /// The display name, or the id when there is none.
    pub fn label(&self) -> &str {
        if self.display_name.trim().is_empty() {
            &self.id
        } else {
            &self.display_name
        }
    }
}

/// Page size when listing sources (`GET sources/pages`): a few hundred sources is a large
/// organization, so this is usually one call; larger pages make a slower first answer.
pub const SOURCE_LIST_PAGE: usize = 100;
/// At most this many pages of sources are read (10,000 sources): a bound, so a service that
/// keeps announcing more pages cannot keep a caller waiting forever.
pub const MAX_SOURCE_PAGES: usize = 100;

/// How many fields one `batch/create` call creates (the JS client's batch size).
pub const FIELD_CREATE_BATCH: usize = 500;
/// Page size when listing fields.
pub const FIELD_LIST_PAGE: usize = 1000;

/// The answer of Stream API calls that close or update.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamResult {
    #[serde(default)]
    pub ordering_id: Option<u64>,
    #[serde(default)]
    pub request_id: Option<String>,
}

/// An open stream: its id and the container for the first chunk.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenedStream {
    pub stream_id: String,
    #[serde(flatten)]
    pub container: FileContainer,
}

/// The Push API client. See the crate docs for an overview.
#[derive(Clone)]
pub struct PushClient {
    pub(crate) inner: Arc<Inner>,
    pub(crate) progress: Option<ProgressSink>,
}

pub(crate) struct Inner {
    pub http: reqwest::Client,
    pub config: ClientConfig,
    pub compression: CompressionType,
    pub level: u32,
    /// The service's clock, from the `Date` of its answers. See
    /// [`PushClient::service_clock_skew_ms`].
    pub service_clock: ServiceClock,
}

/// How far an older-than orderingId may lie ahead of "now": the earlier of our clock and the
/// service's (see [`PushClient::older_than_limit_ms`]). A future orderingId makes Coveo delete
/// every item of the source (or disable every identity of the provider) and then refuse new
/// ones until that time; the only fix is to recreate the source. Five minutes absorb the
/// `Date` header's one-second resolution, the time between a run taking its orderingId and
/// its end, and ordinary clock drift, while still refusing every date typed in the future.
pub const OLDER_THAN_FUTURE_TOLERANCE: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// What an older-than call removes, for the refusal's wording.
#[derive(Clone, Copy)]
enum OlderThan {
    Items,
    Identities,
}

impl std::fmt::Debug for PushClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushClient")
            .field("organization", &self.inner.config.organization)
            .field("endpoint", &self.inner.config.endpoint)
            .finish_non_exhaustive()
    }
}

/// Escaped in ids placed in a URL path (organization, source, provider, stream ids).
const ID_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

pub(crate) fn enc(segment: &str) -> String {
    utf8_percent_encode(segment, ID_SEGMENT).to_string()
}

impl PushClient {
    /// Builds a client; fails only on an invalid organization, proxy URL or TLS setup.
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        if config.organization.trim().is_empty() {
            return Err(Error::invalid_input("the organization ID is empty"));
        }
        let http = build_http(&config)?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                config,
                compression: CompressionType::Zlib,
                level: DEFAULT_COMPRESSION_LEVEL,
                service_clock: ServiceClock::new(),
            }),
            progress: None,
        })
    }

    /// The same client, reporting retry waits and batch events to `sink`.
    pub fn with_progress(&self, sink: ProgressSink) -> Self {
        Self {
            inner: self.inner.clone(),
            progress: Some(sink),
        }
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    pub(crate) fn emit(&self, event: ProgressEvent) {
        if let Some(sink) = &self.progress {
            sink(event);
        }
    }

    /// The compression level content is encoded at, unless a batcher raised it.
    pub(crate) fn compression_level(&self) -> u32 {
        self.inner.level
    }

    pub(crate) fn encode_options(&self) -> EncodeOptions {
        EncodeOptions {
            compression: self.inner.compression,
            level: self.inner.level,
            temp_dir: self.inner.config.temp_dir.clone(),
        }
    }

    fn push_url(&self, rest: &str) -> String {
        format!(
            "{}/push/v1/organizations/{}/{rest}",
            self.inner.config.endpoint.push_origin(),
            enc(&self.inner.config.organization)
        )
    }

    fn platform_url(&self, rest: &str) -> String {
        format!(
            "{}/rest/organizations/{}/{rest}",
            self.inner.config.endpoint.platform_origin(),
            enc(&self.inner.config.organization)
        )
    }

    fn source_url(&self, source: &str, rest: &str) -> String {
        self.push_url(&format!("sources/{}/{rest}", enc(source)))
    }

    fn provider_url(&self, provider: &str, rest: &str) -> String {
        self.push_url(&format!("providers/{}/{rest}", enc(provider)))
    }

    pub(crate) async fn send(&self, req: Request) -> Result<crate::http::Response, Error> {
        send(
            &self.inner.http,
            &self.inner.config,
            self.progress.as_ref(),
            &self.inner.service_clock,
            &req,
        )
        .await
    }

    /// The local clock (the retry policy's, injectable).
    fn local_now(&self) -> std::time::SystemTime {
        self.inner.config.retry.clock.now()
    }

    /// How far the service's clock is ahead of ours (negative: behind), in ms, as measured
    /// from the `Date` header of the last answer of Coveo's API that had one (any status;
    /// file container uploads do not count), against the client's clock (the retry policy's,
    /// injectable); `None` before any. One-second resolution: read it after a call of the
    /// run (e.g. [`PushClient::set_source_status`]), not before the first.
    pub fn service_clock_skew_ms(&self) -> Option<i64> {
        self.inner.service_clock.skew_ms()
    }

    /// The service's clock now, in ms since the epoch: ours corrected by
    /// [`PushClient::service_clock_skew_ms`], or ours alone before the service answered once.
    pub fn service_now_ms(&self) -> u64 {
        let local = self.local_now_ms();
        let skew = self.service_clock_skew_ms().unwrap_or(0);
        (local as i64).saturating_add(skew).max(0) as u64
    }

    fn local_now_ms(&self) -> u64 {
        millis_between(std::time::UNIX_EPOCH, self.local_now()).max(0) as u64
    }

    /// The latest orderingId an older-than call may carry now: the earlier of our clock and
    /// the service's ([`PushClient::service_now_ms`]), plus [`OLDER_THAN_FUTURE_TOLERANCE`].
    /// The earlier of the two, because a date in the future of either is refused: the
    /// service's future poisons the source, and a date in our future was typed wrong or comes
    /// from an answer whose `Date` we should not trust.
    pub fn older_than_limit_ms(&self) -> u64 {
        let local = self.local_now_ms();
        local
            .min(self.service_now_ms())
            .saturating_add(OLDER_THAN_FUTURE_TOLERANCE.as_millis() as u64)
    }

    /// Refuses, as [`ErrorKind::InvalidInput`] with a sentence saying why, an orderingId for
    /// [`PushClient::delete_older_than`] later than [`PushClient::older_than_limit_ms`]:
    /// `delete_older_than` runs it before anything is sent, and a front may call it first to
    /// refuse a date before doing anything else.
    pub fn check_older_than(&self, ordering_id: u64) -> Result<(), Error> {
        self.guard_older_than(ordering_id, OlderThan::Items)
    }

    /// [`PushClient::check_older_than`] for
    /// [`PushClient::delete_identities_older_than`].
    pub fn check_identities_older_than(&self, ordering_id: u64) -> Result<(), Error> {
        self.guard_older_than(ordering_id, OlderThan::Identities)
    }

    fn guard_older_than(&self, ordering_id: u64, what: OlderThan) -> Result<(), Error> {
        if ordering_id <= self.older_than_limit_ms() {
            return Ok(());
        }
        let date = |ms: u64| {
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                .ok()
                .and_then(|t| {
                    t.replace_nanosecond(0)
                        .ok()?
                        .format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_else(|| format!("{ms} ms"))
        };
        let at = date(ordering_id);
        // Say whose future it is when it is only the service's (this computer's clock is ahead).
        let service = self.service_now_ms();
        let whose = if ordering_id
            <= self.local_now_ms() + OLDER_THAN_FUTURE_TOLERANCE.as_millis() as u64
        {
            format!(" for Coveo, whose clock says {}", date(service))
        } else {
            String::new()
        };
        let why = match what {
            OlderThan::Items => "deleting everything older than a future date would remove every item of the source and make Coveo refuse new items until then (the only fix is to recreate the source)",
            OlderThan::Identities => "disabling every identity older than a future date would disable every identity of the provider and make Coveo refuse identity updates until then (the only fix is to recreate the provider)",
        };
        Err(Error::invalid_input(format!(
            "the date {at} is in the future{whose}; {why}, so give a date that has passed"
        )))
    }

    // ---- items ------------------------------------------------------------------------

    /// `POST sources/{source}/status?statusType=...`
    pub async fn set_source_status(&self, source: &str, status: SourceStatus) -> Result<(), Error> {
        let req = Request::new(
            Method::POST,
            self.source_url(source, "status"),
            format!("set status {} on source {source}", status.as_str()),
        )
        .query("statusType", status.as_str());
        self.send(req).await.map(|_| ())
    }

    /// Adds or updates one item (`PUT sources/{source}/documents?documentId=`). Content too
    /// large for one request goes through its own file container first
    /// (`compressedBinaryDataFileId`). Validation and compression happen before anything is
    /// sent.
    pub async fn push_document(
        &self,
        source: &str,
        doc: &Document,
        ordering_id: Option<u64>,
    ) -> Result<(), Error> {
        let item = self.encode_document(doc.clone()).await?;
        let file_id = self.upload_item_content(&item).await?;
        let op = format!("add item {}", item.id);
        let mut req = Request::new(Method::PUT, self.source_url(source, "documents"), op)
            .query("documentId", &item.id)
            .query_opt("orderingId", ordering_id);
        if let Some(c) = item.compression() {
            req = req.query("compressionType", c.as_str());
        }
        let req = req.json(item.into_json(file_id.as_deref()));
        self.send(req).await.map(|_| ())
    }

    /// What [`PushClient::push_document`] would send for `doc`, without sending anything:
    /// validated, read and compressed exactly as a push does (on a blocking thread).
    pub async fn preview_document(&self, doc: &Document) -> Result<DocumentPreview, Error> {
        Ok(self.encode_document(doc.clone()).await?.preview())
    }

    /// Validates and encodes a document on a blocking thread (files are read there).
    pub(crate) async fn encode_document(&self, doc: Document) -> Result<EncodedItem, Error> {
        let id = doc.id().to_string();
        self.encode_documents_at(vec![doc], None)
            .await
            .pop()
            .unwrap_or_else(|| Err(Error::invalid_input(format!("item {id} was not encoded"))))
    }

    /// Encodes documents in order on one blocking thread, at compression `level` instead of
    /// the client's (the batcher raises it while the uplink sets the pace); one result per
    /// document.
    pub(crate) async fn encode_documents_at(
        &self,
        docs: Vec<Document>,
        level: Option<u32>,
    ) -> Vec<Result<EncodedItem, Error>> {
        let mut opts = self.encode_options();
        if let Some(level) = level {
            opts.level = level;
        }
        let ids: Vec<String> = docs.iter().map(|d| d.id().to_string()).collect();
        let items = tokio::task::spawn_blocking(move || {
            docs.into_iter().map(|d| encode(d, &opts)).collect()
        });
        let items: Vec<Result<EncodedItem, Error>> = match items.await {
            Ok(items) => items,
            Err(e) => ids
                .iter()
                .map(|id| Err(Error::encoder_stopped(id, &e)))
                .collect(),
        };
        for item in items.iter().flatten() {
            self.report_read(item);
        }
        items
    }

    fn report_read(&self, item: &EncodedItem) {
        if let Some((sha256, bytes)) = &item.content_read {
            self.emit(ProgressEvent::ContentRead {
                document_id: item.id.clone(),
                sha256: sha256.clone(),
                bytes: *bytes,
            });
        }
    }

    /// Uploads container content of an encoded item, if it has some; returns its fileId.
    pub(crate) async fn upload_item_content(
        &self,
        item: &EncodedItem,
    ) -> Result<Option<String>, Error> {
        let EncodedContent::Container {
            source,
            len,
            display,
            ..
        } = &item.content
        else {
            return Ok(None);
        };
        let container = self.create_file_container().await?;
        self.upload(
            &container,
            source.clone(),
            *len,
            &format!("upload content of {display}"),
        )
        .await?;
        self.emit(ProgressEvent::ItemContentUploaded {
            document_id: item.id.clone(),
            bytes: *len,
        });
        Ok(Some(container.file_id))
    }

    /// Deletes one item (`DELETE sources/{source}/documents?documentId=&deleteChildren=`).
    pub async fn delete_document(
        &self,
        source: &str,
        document_id: &str,
        delete_children: bool,
        ordering_id: Option<u64>,
    ) -> Result<(), Error> {
        let req = Request::new(
            Method::DELETE,
            self.source_url(source, "documents"),
            format!("delete item {document_id}"),
        )
        .query("documentId", document_id)
        .query("deleteChildren", delete_children)
        .query_opt("orderingId", ordering_id);
        self.send(req).await.map(|_| ())
    }

    /// Deletes every item last updated with an orderingId lower than `ordering_id`
    /// (`DELETE sources/{source}/documents/olderthan`), after `queue_delay_minutes` (the
    /// service's default is 15 when `None`). A future `ordering_id` is refused before anything
    /// is sent (see [`PushClient::check_older_than`]).
    pub async fn delete_older_than(
        &self,
        source: &str,
        ordering_id: u64,
        queue_delay_minutes: Option<u32>,
    ) -> Result<(), Error> {
        self.check_older_than(ordering_id)?;
        let req = Request::new(
            Method::DELETE,
            self.source_url(source, "documents/olderthan"),
            format!("delete items older than {ordering_id}"),
        )
        .query("orderingId", ordering_id)
        .query_opt("queueDelay", queue_delay_minutes);
        self.send(req).await.map(|_| ())
    }

    /// Pushes a small batch held in memory: one container, one `documents/batch` call. For
    /// large or streaming work use [`crate::Batcher`].
    pub async fn push_batch(
        &self,
        source: &str,
        add: Vec<Document>,
        delete: Vec<DeleteItem>,
        ordering_id: Option<u64>,
    ) -> Result<(), Error> {
        let mut parts: Vec<Vec<u8>> = Vec::with_capacity(add.len());
        for doc in add {
            let item = self.encode_document(doc).await?;
            let file_id = self.upload_item_content(&item).await?;
            parts.push(item.into_json(file_id.as_deref()));
        }
        let mut body = Vec::new();
        body.extend_from_slice(b"{\"addOrUpdate\":[");
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(p);
        }
        body.extend_from_slice(b"],\"delete\":");
        body.extend_from_slice(&serde_json::to_vec(&delete).unwrap_or_else(|_| b"[]".to_vec()));
        body.push(b'}');
        let len = body.len() as u64;
        if len > MAX_CONTAINER_BYTES {
            return Err(Error::invalid_input(format!(
                "the batch is {len} bytes; use the Batcher, which splits batches"
            )));
        }
        let container = self.create_file_container().await?;
        self.upload(
            &container,
            UploadSource::Memory(Bytes::from(body)),
            len,
            "upload batch",
        )
        .await?;
        self.push_batch_file(source, &container.file_id, ordering_id)
            .await
    }

    /// `PUT sources/{source}/documents/batch?fileId=`: applies a batch file already uploaded.
    pub async fn push_batch_file(
        &self,
        source: &str,
        file_id: &str,
        ordering_id: Option<u64>,
    ) -> Result<(), Error> {
        let req = Request::new(
            Method::PUT,
            self.source_url(source, "documents/batch"),
            format!("push batch {file_id}"),
        )
        .query("fileId", file_id)
        .query_opt("orderingId", ordering_id);
        self.send(req).await.map(|_| ())
    }

    // ---- file containers --------------------------------------------------------------

    /// `POST files`: a new private container, valid for 60 minutes, consumed once.
    pub async fn create_file_container(&self) -> Result<FileContainer, Error> {
        let op = "create file container";
        let req = Request::new(Method::POST, self.push_url("files"), op);
        let resp = self.send(req).await?;
        resp.json(op)
    }

    /// `PUT {uploadUri}` with exactly the container's required headers and no Authorization.
    /// Retried like every request; the body is re-read from its source on each attempt.
    pub async fn upload(
        &self,
        container: &FileContainer,
        source: UploadSource,
        len: u64,
        operation: &str,
    ) -> Result<(), Error> {
        if len > MAX_CONTAINER_BYTES {
            return Err(Error::new(
                ErrorKind::PayloadTooLarge,
                operation,
                format!("{len} bytes is more than the 256 MB a file container holds"),
            ));
        }
        let mut req = Request::new(Method::PUT, container.upload_uri.clone(), operation);
        req.auth = false;
        req.headers = container.required_headers.clone();
        req.body = Body::Upload { source, len };
        self.send(req).await.map(|_| ())
    }

    /// Uploads bytes to a new container and returns it (for callers that build files).
    pub async fn upload_bytes(&self, bytes: Bytes) -> Result<FileContainer, Error> {
        let container = self.create_file_container().await?;
        let len = bytes.len() as u64;
        self.upload(
            &container,
            UploadSource::Memory(bytes),
            len,
            "upload file container",
        )
        .await?;
        Ok(container)
    }

    // ---- security identities ------------------------------------------------------------

    /// `PUT providers/{provider}/permissions`: adds or updates one identity.
    pub async fn put_identity(
        &self,
        provider: &str,
        body: &IdentityBody,
        ordering_id: Option<u64>,
    ) -> Result<(), Error> {
        let req = Request::new(
            Method::PUT,
            self.provider_url(provider, "permissions"),
            format!("update identity {}", body.identity.name),
        )
        .query_opt("orderingId", ordering_id)
        .json(to_json(body)?);
        self.send(req).await.map(|_| ())
    }

    /// `DELETE providers/{provider}/permissions` with body `{"identity": ...}`.
    pub async fn delete_identity(
        &self,
        provider: &str,
        identity: &Identity,
        ordering_id: Option<u64>,
    ) -> Result<(), Error> {
        let body = DeletedIdentity {
            identity: identity.clone(),
        };
        let req = Request::new(
            Method::DELETE,
            self.provider_url(provider, "permissions"),
            format!("delete identity {}", identity.name),
        )
        .query_opt("orderingId", ordering_id)
        .json(to_json(&body)?);
        self.send(req).await.map(|_| ())
    }

    /// `PUT providers/{provider}/mappings`: adds or updates an alias.
    pub async fn put_mapping(
        &self,
        provider: &str,
        body: &MappedIdentityBody,
        ordering_id: Option<u64>,
    ) -> Result<(), Error> {
        let req = Request::new(
            Method::PUT,
            self.provider_url(provider, "mappings"),
            format!("update alias {}", body.identity.name),
        )
        .query_opt("orderingId", ordering_id)
        .json(to_json(body)?);
        self.send(req).await.map(|_| ())
    }

    /// Members, mappings and deletions in one batch: container, then
    /// `PUT providers/{provider}/permissions/batch?fileId=`.
    pub async fn push_identity_batch(
        &self,
        provider: &str,
        batch: &IdentityBatch,
        ordering_id: Option<u64>,
    ) -> Result<(), Error> {
        let container = self.upload_bytes(Bytes::from(to_json(batch)?)).await?;
        let req = Request::new(
            Method::PUT,
            self.provider_url(provider, "permissions/batch"),
            "push identity batch",
        )
        .query("fileId", &container.file_id)
        .query_opt("orderingId", ordering_id);
        self.send(req).await.map(|_| ())
    }

    /// `DELETE providers/{provider}/permissions/olderthan`: disables identities last updated
    /// before `ordering_id`. A future `ordering_id` is refused before anything is sent (see
    /// [`PushClient::check_identities_older_than`]).
    pub async fn delete_identities_older_than(
        &self,
        provider: &str,
        ordering_id: u64,
        queue_delay_minutes: Option<u32>,
    ) -> Result<(), Error> {
        self.check_identities_older_than(ordering_id)?;
        let req = Request::new(
            Method::DELETE,
            self.provider_url(provider, "permissions/olderthan"),
            format!("delete identities older than {ordering_id}"),
        )
        .query("orderingId", ordering_id)
        .query_opt("queueDelay", queue_delay_minutes);
        self.send(req).await.map(|_| ())
    }

    // ---- Platform API --------------------------------------------------------------------

    /// Creates a Push source (`POST /rest/organizations/{org}/sources`). Not retried after a
    /// request may have reached the server (that could create two sources).
    pub async fn create_push_source(
        &self,
        name: &str,
        visibility: SourceVisibility,
    ) -> Result<SourceInfo, Error> {
        let op = format!("create Push source {name}");
        let body = serde_json::json!({
            "sourceType": "PUSH",
            "pushEnabled": true,
            "name": name,
            "sourceVisibility": visibility,
        });
        let req = Request::new(Method::POST, self.platform_url("sources"), op.clone())
            .json(to_json(&body)?)
            .not_idempotent();
        self.send(req).await?.json(&op)
    }

    /// Reads a source (`GET /rest/organizations/{org}/sources/{id}`).
    pub async fn get_source(&self, source: &str) -> Result<SourceInfo, Error> {
        let op = format!("read source {source}");
        let req = Request::new(
            Method::GET,
            self.platform_url(&format!("sources/{}", enc(source))),
            op.clone(),
        );
        self.send(req).await?.json(&op)
    }

    /// Lists every source of the organization (`GET /rest/organizations/{org}/sources/pages`,
    /// page after page, as Coveo's own clients do). Pushdeck may push into those whose
    /// [`SourceInfo::refusal`] is `None`. An answer that is a plain array (the older
    /// `GET sources` shape) is read too.
    pub async fn list_sources(&self) -> Result<Vec<SourceInfo>, Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Answer {
            Page {
                #[serde(default)]
                items: Vec<SourceInfo>,
                #[serde(default, rename = "totalPages")]
                total_pages: usize,
            },
            List(Vec<SourceInfo>),
        }
        let op = "list sources";
        let mut all = Vec::new();
        for page in 0..MAX_SOURCE_PAGES {
            let req = Request::new(Method::GET, self.platform_url("sources/pages"), op)
                .query("page", page)
                .query("perPage", SOURCE_LIST_PAGE);
            match self.send(req).await?.json::<Answer>(op)? {
                Answer::List(items) => {
                    all.extend(items);
                    break;
                }
                Answer::Page { items, total_pages } => {
                    let n = items.len();
                    all.extend(items);
                    if page + 1 >= total_pages || n == 0 {
                        break;
                    }
                }
            }
        }
        Ok(all)
    }

    /// Lists the organization's security identity providers
    /// (`GET /rest/organizations/{org}/securityproviders`), built-in ones included.
    pub async fn list_security_providers(&self) -> Result<Vec<SecurityProviderInfo>, Error> {
        let op = "list security identity providers";
        let req = Request::new(Method::GET, self.platform_url("securityproviders"), op);
        self.send(req).await?.json(op)
    }

    /// Reads one security identity provider
    /// (`GET /rest/organizations/{org}/securityproviders/{id}`).
    pub async fn get_security_provider(
        &self,
        provider: &str,
    ) -> Result<SecurityProviderInfo, Error> {
        let op = format!("read security identity provider {provider}");
        let req = Request::new(
            Method::GET,
            self.platform_url(&format!("securityproviders/{}", enc(provider))),
            op.clone(),
        );
        self.send(req).await?.json(&op)
    }

    /// Reads a source and refuses it, with the reason, when Pushdeck must not push into it.
    pub async fn check_source(&self, source: &str) -> Result<SourceInfo, Error> {
        let info = self.get_source(source).await?;
        match info.refusal() {
            Some(reason) => Err(Error::new(
                ErrorKind::UnsupportedSource {
                    reason: reason.clone(),
                },
                format!("check source {source}"),
                reason,
            )),
            None => Ok(info),
        }
    }

    /// Creates a security identity provider attached to `source_id`, cascading to the
    /// "Email Security Provider" (`POST /rest/organizations/{org}/securityproviders`).
    pub async fn create_security_provider(
        &self,
        provider_id: &str,
        source_id: &str,
    ) -> Result<(), Error> {
        let body = serde_json::json!({
            "id": provider_id,
            "displayName": provider_id,
            "nodeRequired": false,
            "type": "EXPANDED",
            "referencedBy": [{"id": source_id, "type": "SOURCE"}],
            "cascadingSecurityProviders": {
                "EmailSecurityProvider": {"id": "Email Security Provider", "type": "EMAIL"}
            }
        });
        let req = Request::new(
            Method::POST,
            self.platform_url("securityproviders"),
            format!("create security provider {provider_id}"),
        )
        .json(to_json(&body)?)
        .not_idempotent();
        self.send(req).await.map(|_| ())
    }

    /// Makes an existing provider secure the items of `source_id` too: reads the provider,
    /// adds the source to its `referencedBy` and writes it back
    /// (`PUT /rest/organizations/{org}/securityproviders/{id}`, the whole model as read, so
    /// nothing else changes). Does nothing when the source is already listed.
    pub async fn attach_security_provider(
        &self,
        provider_id: &str,
        source_id: &str,
    ) -> Result<(), Error> {
        let op = format!("attach security provider {provider_id} to source {source_id}");
        let url = self.platform_url(&format!("securityproviders/{}", enc(provider_id)));
        let req = Request::new(Method::GET, url.clone(), op.clone());
        let mut model: serde_json::Value = self.send(req).await?.json(&op)?;
        let Some(obj) = model.as_object_mut() else {
            return Err(Error::new(
                ErrorKind::ServerError { status: 200 },
                op,
                "the provider was not a JSON object",
            ));
        };
        let refs = obj
            .entry("referencedBy")
            .or_insert_with(|| serde_json::Value::Array(Vec::new()));
        if !refs.is_array() {
            *refs = serde_json::Value::Array(Vec::new());
        }
        if let Some(list) = refs.as_array_mut() {
            if list.iter().any(|r| r["id"] == source_id) {
                return Ok(());
            }
            list.push(serde_json::json!({"id": source_id, "type": "SOURCE"}));
        }
        let req = Request::new(Method::PUT, url, op).json(to_json(&model)?);
        self.send(req).await.map(|_| ())
    }

    /// Lists every index field (`GET /rest/organizations/{org}/indexes/page/fields`, all pages).
    pub async fn list_fields(&self) -> Result<Vec<FieldSpec>, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            #[serde(default)]
            items: Vec<FieldSpec>,
            #[serde(default)]
            total_pages: usize,
        }
        let op = "list fields";
        let mut all = Vec::new();
        let mut page = 0usize;
        loop {
            let req = Request::new(Method::GET, self.platform_url("indexes/page/fields"), op)
                .query("page", page)
                .query("perPage", FIELD_LIST_PAGE);
            let p: Page = self.send(req).await?.json(op)?;
            let n = p.items.len();
            all.extend(p.items);
            page += 1;
            if page >= p.total_pages || n == 0 {
                return Ok(all);
            }
        }
    }

    /// Creates fields (`POST /rest/organizations/{org}/indexes/fields/batch/create`, in
    /// batches of [`FIELD_CREATE_BATCH`]).
    pub async fn create_fields(&self, fields: &[FieldSpec]) -> Result<(), Error> {
        for chunk in fields.chunks(FIELD_CREATE_BATCH) {
            let req = Request::new(
                Method::POST,
                self.platform_url("indexes/fields/batch/create"),
                format!("create {} fields", chunk.len()),
            )
            .json(to_json(&chunk)?)
            .not_idempotent();
            self.send(req).await?;
        }
        Ok(())
    }

    /// Creates the fields of `wanted` that do not exist yet (names compared case-insensitively);
    /// returns those it created.
    pub async fn ensure_fields(&self, wanted: &[FieldSpec]) -> Result<Vec<FieldSpec>, Error> {
        let existing: std::collections::HashSet<String> = self
            .list_fields()
            .await?
            .into_iter()
            .map(|f| f.name.to_lowercase())
            .collect();
        let mut seen = std::collections::HashSet::new();
        let missing: Vec<FieldSpec> = wanted
            .iter()
            .filter(|f| {
                !existing.contains(&f.name.to_lowercase()) && seen.insert(f.name.to_lowercase())
            })
            .cloned()
            .collect();
        self.create_fields(&missing).await?;
        Ok(missing)
    }

    // ---- Source Logs -----------------------------------------------------------------------

    /// One page of Source Logs; returns the entries and whether another page follows.
    pub async fn source_logs_page(
        &self,
        query: &LogQuery,
        page: u32,
        per_page: u32,
    ) -> Result<(Vec<LogEntry>, bool), Error> {
        let url = format!(
            "{}/logs/v1/organizations/{}",
            self.config().endpoint.push_origin(),
            enc(&self.config().organization)
        );
        let req = logs::page_request(url, query, page, per_page)?;
        logs::page_entries(&self.send(req).await?)
    }

    /// Every entry matching `query`, page after page (at most [`MAX_LOG_PAGES`] pages).
    pub async fn source_logs(&self, query: &LogQuery) -> Result<Vec<LogEntry>, Error> {
        let mut all = Vec::new();
        for page in 0..MAX_LOG_PAGES {
            let (entries, more) = self.source_logs_page(query, page, LOG_PAGE_SIZE).await?;
            all.extend(entries);
            if !more {
                break;
            }
        }
        Ok(all)
    }

    // ---- Stream API -----------------------------------------------------------------------

    /// `POST sources/{source}/stream/open`: starts replacing the whole catalog.
    pub async fn open_stream(&self, source: &str) -> Result<OpenedStream, Error> {
        let op = format!("open stream on source {source}");
        let req = Request::new(
            Method::POST,
            self.source_url(source, "stream/open"),
            op.clone(),
        )
        .not_idempotent();
        self.send(req).await?.json(&op)
    }

    /// `POST sources/{source}/stream/{id}/chunk`: a container for the next chunk.
    pub async fn stream_chunk(
        &self,
        source: &str,
        stream_id: &str,
    ) -> Result<FileContainer, Error> {
        let op = format!("request stream chunk {stream_id}");
        let req = Request::new(
            Method::POST,
            self.source_url(source, &format!("stream/{}/chunk", enc(stream_id))),
            op.clone(),
        );
        self.send(req).await?.json(&op)
    }

    /// `POST sources/{source}/stream/{id}/close`: commits the catalog.
    pub async fn close_stream(&self, source: &str, stream_id: &str) -> Result<StreamResult, Error> {
        let op = format!("close stream {stream_id}");
        let req = Request::new(
            Method::POST,
            self.source_url(source, &format!("stream/{}/close", enc(stream_id))),
            op.clone(),
        )
        .not_idempotent();
        let resp = self.send(req).await?;
        if resp.body.is_empty() {
            return Ok(StreamResult {
                ordering_id: None,
                request_id: None,
            });
        }
        resp.json(&op)
    }

    /// `PUT sources/{source}/stream/update?fileId=`: incremental catalog update.
    pub async fn stream_update(&self, source: &str, file_id: &str) -> Result<StreamResult, Error> {
        self.stream_put(source, "stream/update", file_id).await
    }

    /// `PUT sources/{source}/stream/merge?fileId=`: shallow merge.
    pub async fn stream_merge(&self, source: &str, file_id: &str) -> Result<StreamResult, Error> {
        self.stream_put(source, "stream/merge", file_id).await
    }

    async fn stream_put(
        &self,
        source: &str,
        path: &str,
        file_id: &str,
    ) -> Result<StreamResult, Error> {
        let op = format!("{path} {file_id}");
        let req = Request::new(Method::PUT, self.source_url(source, path), op.clone())
            .query("fileId", file_id);
        let resp = self.send(req).await?;
        if resp.body.is_empty() {
            return Ok(StreamResult {
                ordering_id: None,
                request_id: None,
            });
        }
        resp.json(&op)
    }
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value)
        .map_err(|e| Error::invalid_input(format!("cannot write the request as JSON: {e}")))
}
