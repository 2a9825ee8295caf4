//! Test uploads: a file the person dropped on the window (or chose in the file dialog) becomes
//! exactly the item a sync would send, pushed on request to the Sandbox or a source, and followed
//! from the request to the 202 and to the processing result in the Source Logs.
//!
//! Only granted paths are read: the shell records the paths of the window's native drop event
//! and of the file dialog ([`Host::grant_files`]); `prepare_test_items` refuses any other path,
//! and files without a path (a drop the page received) with a message saying what to do.
//!
//! The item is built by the sync engine's own code (`sync_engine::execute::build_document`, the
//! folder's default rule "everyone") and previewed by the client's encoder
//! ([`PushClient::preview_document`]), so what is shown is what is sent. A file inside a synced
//! folder is built with that folder's rules and metadata instead (its documentId is the synced
//! item's, so a test upload must not widen who sees it), and "delete test items" leaves such an
//! item when the folder pushes to the same source. Items accepted (202) are remembered in
//! `DATA_DIR/test-uploads.json` until `delete_test_items` removes them, also after a restart.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use coveo_push::{Document, LogQuery, RetryPolicy};
use sync_engine::plan::{Change, PlannedItem};
use sync_engine::state::LogVerdict;

use super::*;

/// First wait between two Source Logs reads while an item is only accepted; it doubles up to
/// [`FOLLOW_MAX_WAIT`]. The Sandbox processes at once, so a short first wait shows the result
/// quickly; Coveo takes seconds to minutes, so the waits grow to spare the API.
const FOLLOW_FIRST_WAIT: Duration = Duration::from_millis(200);
/// Longest wait between two Source Logs reads: a result shows at most this late.
const FOLLOW_MAX_WAIT: Duration = Duration::from_secs(15);
/// When following stops without a processing result (the item may still be indexed later).
/// Coveo usually processes within minutes; longer keeps polling for items that will never come.
const FOLLOW_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// Consecutive failed Source Logs reads after which following stops (the key may lack the
/// privilege to read logs, or the service is down).
const FOLLOW_MAX_LOG_ERRORS: u32 = 5;
/// The Source Logs are read from this long before the push, and up to this long after now:
/// the service's clock and this computer's may disagree by a little.
const LOG_CLOCK_SLACK_MS: i64 = 5 * 60 * 1000;
/// A test upload is one request: it retries for a minute at most, then says what happened
/// (a sync keeps retrying much longer).
const PUSH_MAX_ELAPSED: Duration = Duration::from_secs(60);
/// The file (in the data folder) listing the test items accepted and not yet deleted.
const TEST_UPLOADS_FILE: &str = "test-uploads.json";
/// The name of the one-file "folder" a test item is built as.
const TEST_FOLDER_NAME: &str = "test-uploads";

/// A prepared item: the document that will be sent, and the file as it was when previewed.
#[derive(Debug, Clone)]
struct Prepared {
    doc: Document,
    path: PathBuf,
    file_name: String,
    /// The synced folder the file belongs to, whose rules built the item.
    folder: Option<String>,
    size: u64,
    mtime_ns: i64,
}

/// A test item the service accepted: where it went, so it can be deleted there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PushedItem {
    document_id: String,
    organization: String,
    source: String,
    sandbox: bool,
    ordering_id: u64,
    /// The synced folder the file belongs to: the item is that folder's too, so "delete test
    /// items" leaves it when the folder pushes to the same source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    folder: Option<String>,
}

/// The state of test uploads (a field of [`Host`]).
pub(crate) struct TestUploads {
    sink: EventSink,
    granted: Mutex<BTreeSet<PathBuf>>,
    prepared: Mutex<BTreeMap<String, Prepared>>,
    uploads: Arc<Mutex<BTreeMap<String, TestUpload>>>,
    /// Serializes the writes of `test-uploads.json`.
    file_lock: Arc<tokio::sync::Mutex<()>>,
}

impl TestUploads {
    pub(crate) fn new(sink: EventSink) -> Self {
        Self {
            sink,
            granted: Mutex::default(),
            prepared: Mutex::default(),
            uploads: Arc::default(),
            file_lock: Arc::default(),
        }
    }
}

fn invalid(message: impl Into<String>) -> HostError {
    HostError::new(ErrorCode::InvalidInput, message)
}

fn push_error(e: &coveo_push::Error) -> HostError {
    use coveo_push::ErrorKind as K;
    let code = match e.kind() {
        K::Unauthorized => ErrorCode::Unauthorized,
        K::Forbidden => ErrorCode::Forbidden,
        K::NotFound { .. } => ErrorCode::NotFound,
        K::Throttled { .. } | K::QuotaReached { .. } => ErrorCode::Throttled,
        K::ServerError { .. } | K::Transport { .. } => ErrorCode::Network,
        // Invalid input, an unreadable file, too large, refused as written, an unsupported
        // source: something about the item or the target to change.
        _ => ErrorCode::InvalidInput,
    };
    HostError::new(code, e.explanation())
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn compression_dto(c: Option<coveo_push::CompressionType>) -> Compression {
    use coveo_push::CompressionType as C;
    match c {
        None | Some(C::Uncompressed) => Compression::Uncompressed,
        Some(C::Zlib) => Compression::Zlib,
        Some(C::Gzip) => Compression::Gzip,
        Some(C::Deflate) => Compression::Deflate,
    }
}

/// Keys of the item body that are not shown as metadata (they have their own place).
const NOT_METADATA: &[&str] = &[
    "documentId",
    "title",
    "permissions",
    "data",
    "compressedBinaryData",
    "compressedBinaryDataFileId",
    "compressionType",
];

fn time_of(ms: i64) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| format!("the time {ms} ms is out of range: {e}"))
}

/// Updates an upload and tells the UI. A deleted upload keeps its stage (a late answer about
/// an item already deleted changes nothing).
fn set_stage(
    uploads: &Mutex<BTreeMap<String, TestUpload>>,
    sink: &EventSink,
    upload_id: &str,
    stage: UploadStage,
    detail: String,
    reason: Option<String>,
) {
    let upload = {
        let mut all = lock(uploads);
        let Some(upload) = all.get_mut(upload_id) else {
            return;
        };
        if upload.stage == UploadStage::Deleted {
            return;
        }
        upload.stage = stage;
        if reason.is_some() {
            upload.reason = reason;
        }
        upload.steps.push(UploadStep {
            stage,
            at_ms: now_ms(),
            detail,
        });
        upload.clone()
    };
    sink(HostEvent::TestUpload { upload });
}

async fn read_pushed(path: &Path) -> Vec<PushedItem> {
    match tokio::fs::read(path).await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!("ignoring unreadable {}: {e}", path.display());
            Vec::new()
        }),
        Err(_) => Vec::new(),
    }
}

async fn write_pushed(path: &Path, items: &[PushedItem]) -> Result<(), HostError> {
    let text = serde_json::to_vec_pretty(items).map_err(|e| internal("test uploads", e))?;
    let tmp = path.with_extension("json.tmp");
    tokio::fs::write(&tmp, text)
        .await
        .and(tokio::fs::rename(&tmp, path).await)
        .map_err(|e| internal(&format!("cannot save {}", path.display()), e))
}

/// Adds or removes one item of `test-uploads.json`.
async fn remember(
    lock: &tokio::sync::Mutex<()>,
    path: &Path,
    item: &PushedItem,
    keep: bool,
) -> Result<(), HostError> {
    let _guard = lock.lock().await;
    let mut items = read_pushed(path).await;
    items.retain(|i| {
        !(i.document_id == item.document_id
            && i.organization == item.organization
            && i.source == item.source)
    });
    if keep {
        items.push(item.clone());
    }
    write_pushed(path, &items).await
}

/// The synced folder a file belongs to (the deepest one whose filters include it) and the
/// file's path relative to it, `/`-separated.
fn synced_folder(mappings: &[FolderMapping], path: &Path) -> Option<(FolderMapping, String)> {
    mappings
        .iter()
        .filter_map(|m| {
            let rel = path.strip_prefix(&m.path).ok()?;
            let parts: Option<Vec<&str>> = rel
                .components()
                .map(|c| match c {
                    std::path::Component::Normal(part) => part.to_str(),
                    _ => None,
                })
                .collect();
            let rel = parts?.join("/");
            let included = !rel.is_empty() && m.compiled_filters().ok()?.decide(&rel).included;
            included.then(|| (m.clone(), rel))
        })
        .max_by_key(|(m, _)| m.path.components().count())
}

impl Host {
    // ---- test uploads ----------------------------------------------------------------------

    fn test_uploads_file(&self) -> PathBuf {
        self.paths.data_dir.join(TEST_UPLOADS_FILE)
    }

    /// Records paths the person gave the app (the window's native drop, the file dialog), so
    /// that `prepare_test_items` may read them, and describes each as the UI shows it. Called
    /// by the shell only: the web page cannot grant itself a path.
    pub fn grant_files(&self, paths: Vec<PathBuf>) -> Vec<DroppedFile> {
        let mut granted = lock(&self.uploads.granted);
        paths
            .into_iter()
            .map(|path| {
                let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| path.display().to_string());
                let file = DroppedFile {
                    name,
                    size,
                    path: Some(path.display().to_string()),
                    media_type: None,
                };
                granted.insert(path);
                file
            })
            .collect()
    }

    /// The uploads of an item that reached the service (accepted or indexed).
    fn upload_ids(&self, document_id: &str) -> Vec<String> {
        lock(&self.uploads.uploads)
            .values()
            .filter(|u| {
                u.document_id == document_id
                    && matches!(u.stage, UploadStage::Accepted | UploadStage::Indexed)
            })
            .map(|u| u.upload_id.clone())
            .collect()
    }

    /// A client for the Sandbox or the connected organization, with a short retry budget.
    fn test_client(&self, target: &PushTarget) -> Result<(PushClient, String, bool), HostError> {
        let retry = RetryPolicy {
            max_elapsed: PUSH_MAX_ELAPSED,
            ..RetryPolicy::default()
        };
        match target {
            PushTarget::Sandbox => {
                let endpoint = Endpoint::custom(self.emulator.url())
                    .map_err(|e| internal("the Sandbox address", e))?;
                let client = PushClient::new(
                    ClientConfig::new(SANDBOX_ORG, ApiKey::new(self.emulator.api_key()))
                        .with_endpoint(endpoint)
                        .with_retry(retry),
                )
                .map_err(|e| push_error(&e))?;
                Ok((client, SANDBOX_SOURCE.to_owned(), true))
            }
            PushTarget::Source { id } => {
                let creds = lock(&self.credentials);
                let Some(conn) = &creds.summary else {
                    return Err(invalid(
                        "no organization is connected: push to the Sandbox, or connect an organization first",
                    ));
                };
                let Some(key) = creds.key.clone() else {
                    return Err(HostError::new(
                        ErrorCode::Unauthorized,
                        format!(
                            "the API key of {} is not available in this run; enter it again under Connection",
                            conn.organization_id
                        ),
                    ));
                };
                let id = id.trim();
                if id.is_empty() {
                    return Err(invalid("choose the source to push the test item to"));
                }
                let client = PushClient::new(
                    ClientConfig::new(&conn.organization_id, ApiKey::new(key))
                        .with_endpoint(region_endpoint(conn.region, self.coveo_origin.as_ref()))
                        .with_retry(retry),
                )
                .map_err(|e| push_error(&e))?;
                Ok((client, id.to_owned(), false))
            }
        }
    }

    /// An orderingId for a test push or delete on `source`: the engine's counter of that source
    /// (at least now, and above every one handed out for it, folder runs included), so a test
    /// upload never falls below a rebuild's delete-older-than.
    async fn ordering_id(&self, organization: &str, source: &str) -> Result<u64, HostError> {
        self.engine
            .next_ordering_id(organization, source, now_ms() as u64)
            .await
            .map_err(engine_error)
    }

    /// Refuses a test upload into a source a folder owns: that folder's rebuild removes every
    /// item of the source it did not push, so the test item would vanish without a word.
    async fn refuse_owned_source(&self, organization: &str, source: &str) -> Result<(), HostError> {
        let mappings = self.folder_mappings().await?;
        let Some(owner) = mappings
            .iter()
            .find(|m| m.owns_source && m.organization == organization && m.source == source)
        else {
            return Ok(());
        };
        Err(invalid(format!(
            "folder {name} owns this source: its rebuild removes every item it did not push, test uploads included; upload into another source, or turn off 'owns its source' for {name} (owns_source = true in {config})",
            name = owner.name,
            config = self.paths.engine_config().display(),
        )))
    }

    /// The folders synced or waiting for their first plan.
    async fn folder_mappings(&self) -> Result<Vec<FolderMapping>, HostError> {
        let mut all: Vec<FolderMapping> = self
            .engine
            .status()
            .await
            .map_err(engine_error)?
            .into_iter()
            .map(|s| s.mapping)
            .collect();
        all.extend(lock(&self.settings).awaiting.iter().cloned());
        Ok(all)
    }

    /// The document a sync would send for one granted file: built with the rules of the synced
    /// folder it belongs to, if any (so a test upload never widens who may see a synced
    /// item), otherwise as a one-file folder with the default rule (everyone).
    fn build_test_document(
        &self,
        path: &Path,
        synced: Option<(FolderMapping, String)>,
    ) -> Result<Prepared, HostError> {
        let meta = std::fs::metadata(path).map_err(|e| {
            HostError::new(
                ErrorCode::NotFound,
                format!(
                    "cannot read {}: {e}; check that the file still exists",
                    path.display()
                ),
            )
        })?;
        if !meta.is_file() {
            return Err(invalid(format!(
                "{} is not a file; test uploads take files (to sync a whole folder, add it under Folders)",
                path.display()
            )));
        }
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(invalid(format!("{} names no file", path.display())));
        };
        let Some(name) = name.to_str().map(str::to_owned) else {
            return Err(invalid(format!(
                "the name of {} is not valid UTF-8, so it cannot become an item URI; rename the file",
                path.display()
            )));
        };
        let (mapping, rel, folder) = match synced {
            Some((mapping, rel)) => {
                let folder = Some(mapping.name.clone());
                (mapping, rel, folder)
            }
            None => {
                let (organization, source, provider) = self.target("");
                let mut mapping = FolderMapping::new(TEST_FOLDER_NAME, dir, organization, source);
                mapping.provider = provider.clone();
                mapping.permission_rules = vec![rule_domain(
                    "",
                    &FolderRule::Everyone,
                    RuleMode::Replace,
                    provider,
                )?];
                (mapping, name.clone(), None)
            }
        };
        let resolved = mapping
            .compiled_permissions()
            .map_err(|e| {
                HostError::new(
                    ErrorCode::InvalidInput,
                    format!("the permission rules of {}: {e}", mapping.name),
                )
            })?
            .and_then(|rules| rules.resolve(&rel));
        let size = meta.len();
        let mtime_ns = mtime_ns(&meta);
        let (permissions, permission_fp) = match resolved {
            Some(r) => (Some(r.model), r.fingerprint),
            None => (None, String::new()),
        };
        let item = PlannedItem {
            document_id: sync_engine::plan::document_id(&mapping.path, &rel),
            path: rel.clone(),
            change: Change::New,
            size,
            mtime_ns,
            file_id: None,
            content_hash: String::new(),
            metadata: mapping.metadata.metadata_for(&rel),
            metadata_fp: String::new(),
            permissions,
            permission_fp,
        };
        Ok(Prepared {
            doc: sync_engine::execute::build_document(&mapping, &item),
            path: path.to_path_buf(),
            file_name: name,
            folder,
            size,
            mtime_ns,
        })
    }

    /// For each dropped file, exactly the item that would be sent. Refuses files with no path
    /// (the page received the drop) and paths the shell did not grant.
    pub async fn prepare_test_items(
        &self,
        request: PrepareTestItemsRequest,
    ) -> Result<Vec<TestItem>, HostError> {
        if request.files.is_empty() {
            return Err(invalid("Drop at least one file."));
        }
        let mut paths = Vec::with_capacity(request.files.len());
        {
            let granted = lock(&self.uploads.granted);
            for file in &request.files {
                let Some(path) = file.path.as_deref().filter(|p| !p.is_empty()) else {
                    return Err(invalid(format!(
                        "{} reached the page without its location, so the app cannot read it; drop it on the Pushdeck window, or click the drop zone to choose it",
                        file.name
                    )));
                };
                let path = PathBuf::from(path);
                if !granted.contains(&path) {
                    // `invalidInput`, not `forbidden` (which is about the API key): the person
                    // fixes it by dropping or choosing the file.
                    return Err(HostError::new(
                        ErrorCode::InvalidInput,
                        format!(
                            "Pushdeck reads only files you dropped on its window or chose in its file dialog, and {} is neither; drop it on the window or click the drop zone to choose it",
                            path.display()
                        ),
                    ));
                }
                paths.push(path);
            }
        }
        let (client, _, _) = self.test_client(&PushTarget::Sandbox)?;
        let mappings = self.folder_mappings().await?;
        let mut items = Vec::with_capacity(paths.len());
        for path in paths {
            let prepared = self.build_test_document(&path, synced_folder(&mappings, &path))?;
            let preview = client
                .preview_document(&prepared.doc)
                .await
                .map_err(|e| push_error(&e))?;
            let body = &preview.body;
            let text = |key: &str| body.get(key).and_then(|v| v.as_str()).map(str::to_owned);
            let metadata = body
                .iter()
                .filter(|(k, _)| !NOT_METADATA.contains(&k.as_str()))
                .map(|(name, value)| MetadataEntry {
                    name: name.clone(),
                    value: match value {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    },
                })
                .collect();
            let permissions = body
                .get("permissions")
                .cloned()
                .and_then(|v| serde_json::from_value::<permissions::PermissionModel>(v).ok())
                .map(|m| (&m).into())
                .unwrap_or_else(empty_model);
            let json = serde_json::to_string_pretty(body).map_err(|e| internal("item JSON", e))?;
            let item = ItemPreview {
                document_id: prepared.doc.id().to_owned(),
                title: text("title").unwrap_or_else(|| prepared.file_name.clone()),
                file_name: prepared.file_name.clone(),
                size: prepared.size,
                compressed_size: preview.content_bytes,
                compression: compression_dto(preview.compression),
                metadata,
                permissions,
                json,
            };
            let preview_id = format!("p{}", uuid::Uuid::new_v4().simple());
            lock(&self.uploads.prepared).insert(preview_id.clone(), prepared);
            items.push(TestItem { preview_id, item });
        }
        Ok(items)
    }

    /// Pushes a prepared item, then follows it in the background: 202 (orderingId), then
    /// indexed or rejected from the Source Logs, each stage a [`HostEvent::TestUpload`].
    pub async fn push_test_item(
        &self,
        request: PushTestItemRequest,
    ) -> Result<TestUpload, HostError> {
        let prepared = lock(&self.uploads.prepared)
            .get(&request.preview_id)
            .cloned()
            .ok_or_else(|| {
                HostError::new(
                    ErrorCode::NotFound,
                    "This test item is gone; drop the file again.",
                )
            })?;
        let meta = std::fs::metadata(&prepared.path).map_err(|e| {
            HostError::new(
                ErrorCode::NotFound,
                format!("cannot read {}: {e}", prepared.path.display()),
            )
        })?;
        if meta.len() != prepared.size || mtime_ns(&meta) != prepared.mtime_ns {
            return Err(HostError::new(
                ErrorCode::Conflict,
                format!(
                    "{} changed since it was previewed; drop it again to see the item that would be sent now",
                    prepared.file_name
                ),
            ));
        }
        let (client, source, sandbox) = self.test_client(&request.target)?;
        let organization = client.config().organization.clone();
        self.refuse_owned_source(&organization, &source).await?;
        let ordering_id = self.ordering_id(&organization, &source).await?;
        let document_id = prepared.doc.id().to_owned();
        let upload = TestUpload {
            upload_id: format!("u{}", uuid::Uuid::new_v4().simple()),
            preview_id: request.preview_id.clone(),
            document_id: document_id.clone(),
            target: request.target.clone(),
            stage: UploadStage::Requested,
            steps: vec![UploadStep {
                stage: UploadStage::Requested,
                at_ms: now_ms(),
                detail: format!(
                    "PUT /push/v1/organizations/{organization}/sources/{source}/documents?documentId={document_id}"
                ),
            }],
            reason: None,
        };
        lock(&self.uploads.uploads).insert(upload.upload_id.clone(), upload.clone());

        let uploads = self.uploads.uploads.clone();
        let sink = self.uploads.sink.clone();
        let file_lock = self.uploads.file_lock.clone();
        let file = self.test_uploads_file();
        let upload_id = upload.upload_id.clone();
        self.log_activity(
            ActivityKind::Info,
            prepared.folder.as_deref(),
            format!("Test upload of {} requested", prepared.file_name),
            1,
        );
        tokio::spawn(async move {
            let stage = |stage, detail: String, reason: Option<String>| {
                set_stage(&uploads, &sink, &upload_id, stage, detail, reason)
            };
            let pushed_at = now_ms() as i64;
            if let Err(e) = client
                .push_document(&source, &prepared.doc, Some(ordering_id))
                .await
            {
                let status = match e.kind() {
                    coveo_push::ErrorKind::Transport { .. } => "No answer from the Push API".into(),
                    _ => format!("The Push API refused the item ({})", e.code()),
                };
                stage(UploadStage::Rejected, status, Some(e.explanation()));
                return;
            }
            let record = PushedItem {
                document_id: document_id.clone(),
                organization,
                source: source.clone(),
                sandbox,
                ordering_id,
                folder: prepared.folder.clone(),
            };
            if let Err(e) = remember(&file_lock, &file, &record, true).await {
                tracing::warn!("cannot remember the test item {document_id}: {e}");
            }
            stage(
                UploadStage::Accepted,
                format!("202 Accepted: queued with orderingId {ordering_id}. Not searchable yet."),
                None,
            );
            follow(&client, &record, pushed_at, stage, &file_lock, &file).await;
        });
        Ok(upload)
    }

    /// Deletes every test item accepted so far (in this run and, from `test-uploads.json`,
    /// in earlier runs) and marks their uploads Deleted.
    pub async fn delete_test_items(&self) -> Result<DeletedCount, HostError> {
        let file = self.test_uploads_file();
        let _guard = self.uploads.file_lock.lock().await;
        let items = read_pushed(&file).await;
        let mappings = self.folder_mappings().await?;
        let mut kept = Vec::new();
        let mut deleted = 0u64;
        let mut failure: Option<HostError> = None;
        for item in items {
            let synced = item.folder.as_ref().and_then(|name| {
                mappings.iter().find(|m| {
                    &m.name == name
                        && m.organization == item.organization
                        && m.source == item.source
                })
            });
            if let Some(folder) = synced {
                // Deleting it would take a synced file out of the index behind the sync's back.
                for id in self.upload_ids(&item.document_id) {
                    set_stage(
                        &self.uploads.uploads,
                        &self.uploads.sink,
                        &id,
                        UploadStage::Indexed,
                        format!(
                            "Not deleted: this file is also an item of the synced folder {}, which keeps it in the index.",
                            folder.name
                        ),
                        None,
                    );
                }
                continue;
            }
            let target = if item.sandbox {
                PushTarget::Sandbox
            } else {
                PushTarget::Source {
                    id: item.source.clone(),
                }
            };
            let client = match self.test_client(&target) {
                Ok((client, _, _)) if client.config().organization == item.organization => client,
                Ok(_) => {
                    failure.get_or_insert(invalid(format!(
                        "{} is in organization {}, which is not connected now; connect it to delete the item",
                        item.document_id, item.organization
                    )));
                    kept.push(item);
                    continue;
                }
                Err(e) => {
                    failure.get_or_insert(e);
                    kept.push(item);
                    continue;
                }
            };
            let ordering_id = match self.ordering_id(&item.organization, &item.source).await {
                Ok(id) => id,
                Err(e) => {
                    failure.get_or_insert(e);
                    kept.push(item);
                    continue;
                }
            };
            match client
                .delete_document(&item.source, &item.document_id, false, Some(ordering_id))
                .await
            {
                Ok(()) => {
                    deleted += 1;
                    for id in self.upload_ids(&item.document_id) {
                        set_stage(
                            &self.uploads.uploads,
                            &self.uploads.sink,
                            &id,
                            UploadStage::Deleted,
                            "DELETE accepted (202): the item is removed from the index.".into(),
                            None,
                        );
                    }
                }
                Err(e) => {
                    failure.get_or_insert(push_error(&e));
                    kept.push(item);
                }
            }
        }
        write_pushed(&file, &kept).await?;
        if deleted > 0 {
            let items = if deleted == 1 { "item" } else { "items" };
            self.log_activity(
                ActivityKind::Deleted,
                None,
                format!("Deleted {deleted} test {items}"),
                deleted,
            );
        }
        match failure {
            Some(e) if deleted == 0 => Err(e),
            Some(e) => Err(HostError::new(
                e.code,
                format!(
                    "Deleted {deleted} test items; {} could not be deleted: {}",
                    kept.len(),
                    e.message
                ),
            )),
            None => Ok(DeletedCount { deleted }),
        }
    }
}

/// Reads the Source Logs of one pushed item until they say indexed or rejected, with waits
/// that grow from [`FOLLOW_FIRST_WAIT`] to [`FOLLOW_MAX_WAIT`], for [`FOLLOW_TIMEOUT`] at most.
async fn follow(
    client: &PushClient,
    item: &PushedItem,
    pushed_at_ms: i64,
    stage: impl Fn(UploadStage, String, Option<String>),
    file_lock: &tokio::sync::Mutex<()>,
    file: &Path,
) {
    let started = Instant::now();
    let mut wait = FOLLOW_FIRST_WAIT;
    let mut errors = 0u32;
    loop {
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(FOLLOW_MAX_WAIT);
        let outcome = match read_outcome(client, item, pushed_at_ms).await {
            Ok(outcome) => {
                errors = 0;
                outcome
            }
            Err(reason) => {
                errors += 1;
                if errors >= FOLLOW_MAX_LOG_ERRORS {
                    stage(
                        UploadStage::Accepted,
                        format!("Stopped following: the Source Logs could not be read ({reason}). The item was accepted; its processing result is unknown."),
                        None,
                    );
                    return;
                }
                None
            }
        };
        match outcome {
            Some(Ok(())) => {
                stage(
                    UploadStage::Indexed,
                    "Source logs: INDEXED. The item is searchable.".into(),
                    None,
                );
                return;
            }
            Some(Err(reason)) => {
                // Never indexed: nothing to delete later.
                if let Err(e) = remember(file_lock, file, item, false).await {
                    tracing::warn!("cannot forget the rejected test item: {e}");
                }
                stage(
                    UploadStage::Rejected,
                    "Source logs: REJECTED".into(),
                    Some(reason),
                );
                return;
            }
            None if started.elapsed() >= FOLLOW_TIMEOUT => {
                stage(
                    UploadStage::Accepted,
                    format!(
                        "Stopped following after {} minutes: the Source Logs show no processing result yet. The item may still be indexed later; look for it in the search or in the Coveo Log Browser.",
                        FOLLOW_TIMEOUT.as_secs() / 60
                    ),
                    None,
                );
                return;
            }
            None => {}
        }
    }
}

/// The processing result of the push, if the Source Logs have it yet: entries of this item
/// with this push's orderingId (or none given), the last one that decides.
async fn read_outcome(
    client: &PushClient,
    item: &PushedItem,
    pushed_at_ms: i64,
) -> Result<Option<Result<(), String>>, String> {
    let now = now_ms() as i64;
    let mut query = LogQuery::source(
        item.source.clone(),
        time_of(pushed_at_ms - LOG_CLOCK_SLACK_MS)?,
        time_of(now + LOG_CLOCK_SLACK_MS)?,
    );
    query.document_id = Some(item.document_id.clone());
    let entries = client
        .source_logs(&query)
        .await
        .map_err(|e| e.explanation())?;
    Ok(entries
        .iter()
        .filter_map(sync_engine::execute::log_outcome)
        .filter(|o| o.document_id == item.document_id)
        .filter(|o| o.ordering_id.is_none_or(|id| id == item.ordering_id))
        .map(|o| match o.outcome {
            LogVerdict::Indexed => Ok(()),
            LogVerdict::Rejected(reason) => Err(reason),
            // Not applied: what is in the index is not this upload.
            LogVerdict::Skipped(reason) => Err(format!("not applied by the service: {reason}")),
        })
        .next_back())
}
