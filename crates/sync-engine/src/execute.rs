//! The executor: applies a [`Plan`] through `coveo-push`, recording only what the API accepted.
//!
//! Order of a run:
//! 1. an orderingId `T` for the run ([`Store::next_ordering_id`]: the clock, but always above
//!    the previous run's);
//! 2. source status `REBUILD` (rebuild) or `INCREMENTAL` (anything else);
//! 3. the items to push are marked pending in the state store (see [`crate::state`]);
//! 4. pushes, then deletes, through the client's [`Batcher`] with orderingId `T` on every
//!    batch; each "batch accepted" event records exactly the documentIds of that batch;
//! 5. for a rebuild that went through without problems, `DELETE olderthan?orderingId=T`;
//! 6. source status `IDLE`, whatever happened.
//!
//! Why one explicit orderingId per run, for the rebuild's delete-older-than: every item pushed
//! by this run carries `T` exactly, and the service deletes only items whose orderingId is
//! strictly lower than `T`, so nothing pushed in the run can be deleted by it, however wrong the
//! local clock is (the service never compares `T` with its own clock for items we pushed).
//! Items from earlier runs carry lower values, since `T` always exceeds the last one handed
//! out. A clock minutes ahead makes `T` a few minutes "in the future" for the service's own
//! default orderingIds, but Pushdeck never relies on those: every operation it sends carries
//! an explicit, increasing orderingId.
//!
//! Identities (the folder's `identities` file, pushed to its provider as one identity batch)
//! go before items, right after the status, with the run's orderingId; their fingerprint is
//! recorded only once the API accepted them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use coveo_push::{
    Batcher, BatcherConfig, Content, Document, ErrorKind, LogEntry, LogQuery, MetadataValue,
    ProgressEvent, PushClient, SourceStatus,
};
use serde::Serialize;

use crate::config::{FolderMapping, TitleRule};
use crate::model::{FileProblem, ProblemKind};
use crate::plan::{Plan, PlanMode, PlannedItem};
use crate::state::{AcceptedItem, LogVerdict, StateError, Store};

/// How many leading bytes of an HTML file are read to find its `<title>`. Titles sit in the
/// head, near the top; reading more would make every HTML push read the file twice in full.
pub const HTML_TITLE_SCAN_BYTES: usize = 64 * 1024;

/// Default `queueDelay` of the rebuild's delete-older-than, in minutes (the service's default):
/// leaves the service time to index the items of the run before older ones are removed.
pub const DEFAULT_REBUILD_QUEUE_DELAY_MINUTES: u32 = 15;

/// Pause after a throttled run when the service sent no `Retry-After`: long enough not to
/// hammer the API, short enough that a passing throttle costs little.
pub const THROTTLE_PAUSE_DEFAULT: Duration = Duration::from_secs(5 * 60);
/// Longest automatic pause for a quota or throttle: a `Retry-After` (or the time left until
/// the next UTC midnight for the daily quota) is never followed beyond this; after it the
/// folder tries again, and pauses again if the quota still holds.
pub const QUOTA_PAUSE_MAX: Duration = Duration::from_secs(24 * 60 * 60);
const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// When a run halted by `e` may try again by itself (ms since the epoch), or `None` when only
/// a person can lift the halt: a throttle resumes after `Retry-After` (or
/// [`THROTTLE_PAUSE_DEFAULT`]), the daily quota (`TOO_MANY_DOCUMENTS_DAILY`) after
/// `Retry-After` or else at the next UTC midnight, both capped by [`QUOTA_PAUSE_MAX`]; the item
/// limit (`DOCUMENT_LIMIT_EXCEEDED`) does not go away by itself.
pub fn quota_resume_at(e: &coveo_push::Error, now_ms: u64) -> Option<u64> {
    let cap = QUOTA_PAUSE_MAX.as_millis() as u64;
    let wait_ms = match e.kind() {
        ErrorKind::Throttled { retry_after } => retry_after
            .or(e.retry_after())
            .unwrap_or(THROTTLE_PAUSE_DEFAULT)
            .as_millis() as u64,
        ErrorKind::QuotaReached { error_code } if error_code == "TOO_MANY_DOCUMENTS_DAILY" => {
            match e.retry_after() {
                Some(d) => d.as_millis() as u64,
                None => DAY_MS - now_ms % DAY_MS,
            }
        }
        _ => return None,
    };
    Some(now_ms.saturating_add(wait_ms.min(cap)))
}

/// Settings of the executor.
#[derive(Debug, Clone)]
pub struct ExecuteOptions {
    /// Byte cap of one batch file (see `coveo_push::DEFAULT_MAX_BATCH_BYTES`).
    pub max_batch_bytes: u64,
    pub rebuild_queue_delay_minutes: u32,
}

impl Default for ExecuteOptions {
    fn default() -> Self {
        Self {
            max_batch_bytes: coveo_push::DEFAULT_MAX_BATCH_BYTES,
            rebuild_queue_delay_minutes: DEFAULT_REBUILD_QUEUE_DELAY_MINUTES,
        }
    }
}

/// Where a run stands, after each accepted batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RunProgress {
    pub done: usize,
    pub total: usize,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// Why a run stopped before the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "halt", rename_all = "snake_case")]
pub enum Halt {
    /// A daily or item quota, or throttling that outlasted the retries: the folder pauses.
    Quota { code: String, message: String },
    /// An error no retry fixes (key, privileges, unknown source): the folder needs attention.
    Fatal { code: String, message: String },
    /// The service could not be reached, or kept failing, after every attempt of the run's
    /// first call: nothing else of the run could succeed, so it stops there (no item calls,
    /// no IDLE status) and the engine tries again later.
    Unreachable { code: String, message: String },
}

impl Halt {
    pub fn message(&self) -> &str {
        match self {
            Self::Quota { message, .. }
            | Self::Fatal { message, .. }
            | Self::Unreachable { message, .. } => message,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    pub ordering_id: u64,
    /// Paths whose push the API accepted.
    pub pushed: Vec<String>,
    /// Paths whose delete the API accepted.
    pub deleted: Vec<String>,
    pub batches: u64,
    /// Bytes uploaded (batch files and item containers, as sent).
    pub bytes_uploaded: u64,
    /// Items that were not accepted, with the error's meaning and what to do.
    pub problems: Vec<FileProblem>,
    pub halted: Option<Halt>,
    /// The rebuild's delete-older-than was accepted.
    pub deleted_older_than: bool,
    /// The plan's security identities were accepted (and recorded).
    pub identities_pushed: bool,
    /// For a [`Halt::Quota`]: when the folder may try again by itself (ms since the epoch);
    /// `None` = a person must resume it (the item limit). See [`quota_resume_at`].
    pub resume_at_ms: Option<u64>,
    /// The folder was paused during the run: it stopped handing items to the batcher, its
    /// last batch and those in flight went out and were recorded, the rest was not sent (it
    /// is sent at resume: those items stay pending, and the next run's plan has them).
    pub paused: bool,
    /// Things the person should know that are not a file's problem (a clock skew).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The executor failed locally (the state store); nothing more was sent.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    #[error(transparent)]
    State(#[from] StateError),
}

fn halt_of(e: &coveo_push::Error) -> Option<Halt> {
    let code = e.code().to_string();
    let message = e.explanation();
    match e.kind() {
        ErrorKind::QuotaReached { .. } | ErrorKind::Throttled { .. } => {
            Some(Halt::Quota { code, message })
        }
        ErrorKind::Unauthorized
        | ErrorKind::Forbidden
        | ErrorKind::NotFound { .. }
        | ErrorKind::UnsupportedSource { .. } => Some(Halt::Fatal { code, message }),
        _ => None,
    }
}

/// The title of an HTML document from its first bytes, if it has one.
pub fn html_title(head: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(head);
    let lower = text.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let title = text[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let title = title
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'");
    (!title.is_empty()).then_some(title)
}

fn title_of(folder: &FolderMapping, item: &PlannedItem, abs: &std::path::Path) -> String {
    let name = item
        .path
        .rsplit('/')
        .next()
        .unwrap_or(&item.path)
        .to_string();
    let is_html =
        name.to_ascii_lowercase().ends_with(".html") || name.to_ascii_lowercase().ends_with(".htm");
    if folder.metadata.title == TitleRule::HtmlTitle && is_html {
        use std::io::Read;
        let mut head = Vec::with_capacity(HTML_TITLE_SCAN_BYTES);
        if let Ok(file) = std::fs::File::open(abs) {
            let _ = file
                .take(HTML_TITLE_SCAN_BYTES as u64)
                .read_to_end(&mut head);
            if let Some(t) = html_title(&head) {
                return t;
            }
        }
    }
    name
}

fn metadata_value(v: &serde_json::Value) -> Option<MetadataValue> {
    match v {
        serde_json::Value::String(s) => Some(s.clone().into()),
        serde_json::Value::Bool(b) => Some((*b).into()),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Some(i.into()),
            None => n.as_f64().map(Into::into),
        },
        serde_json::Value::Array(list) => Some(
            list.iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| x.to_string())
                })
                .collect::<Vec<String>>()
                .into(),
        ),
        _ => None,
    }
}

/// The document the Push API receives for a planned item: the file's content (streamed),
/// title, extension, modification date, the folder's metadata and the item's permissions.
pub fn build_document(folder: &FolderMapping, item: &PlannedItem) -> Document {
    let mut abs = folder.path.clone();
    for part in item.path.split('/') {
        abs.push(part);
    }
    let mut doc = Document::new(item.document_id.clone())
        .title(title_of(folder, item, &abs))
        .content(Content::File(abs.clone()))
        .file_size_hint(item.size);
    if let Some(ext) = abs.extension().and_then(|e| e.to_str()) {
        doc = doc.file_extension(format!(".{}", ext.to_ascii_lowercase()));
    }
    if let Ok(date) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(item.mtime_ns)) {
        doc = doc.modified_date(date);
    }
    for (key, value) in &item.metadata {
        if let Some(v) = metadata_value(value) {
            doc = doc.metadata(key.clone(), v);
        }
    }
    if let Some(model) = &item.permissions {
        doc = doc.permissions(model.clone());
    }
    // Not hashed by the scan (a new file that cannot be a move): hashed while it is read for
    // the push, so it is read once.
    if item.content_hash.is_empty() {
        doc = doc.report_content_hash();
    }
    doc
}

struct Recorder<'a> {
    folder: &'a str,
    pushes: HashMap<&'a str, &'a PlannedItem>,
    /// SHA-256 of content hashed while it was pushed (items the scan did not hash), by
    /// documentId, until their batch is accepted.
    read_hashes: HashMap<String, String>,
    deletes: HashMap<&'a str, &'a str>,
    report: RunReport,
    done: usize,
    total: usize,
    bytes_done: u64,
    bytes_total: u64,
}

impl Recorder<'_> {
    fn on_event(
        &mut self,
        store: &mut Store,
        event: ProgressEvent,
        progress: &mut dyn FnMut(RunProgress),
    ) -> Result<(), StateError> {
        if let ProgressEvent::ContentRead {
            document_id,
            sha256,
            ..
        } = event
        {
            self.read_hashes.insert(document_id, sha256);
            return Ok(());
        }
        if let ProgressEvent::BatchAccepted {
            added,
            deleted,
            ordering_id,
            bytes,
            ..
        } = event
        {
            let accepted: Vec<AcceptedItem> = added
                .iter()
                .filter_map(|id| self.pushes.get(id.as_str()))
                .map(|p| AcceptedItem {
                    path: p.path.clone(),
                    document_id: p.document_id.clone(),
                    // The scan's hash, else the one taken while the content was read (an
                    // empty hash, which cannot happen, would only make the next scan read
                    // the file again).
                    content_hash: match self.read_hashes.remove(&p.document_id) {
                        Some(read) if p.content_hash.is_empty() => read,
                        _ => p.content_hash.clone(),
                    },
                    size: p.size,
                    mtime_ns: p.mtime_ns,
                    file_id: p.file_id,
                    permission_fp: p.permission_fp.clone(),
                    metadata_fp: p.metadata_fp.clone(),
                })
                .collect();
            let gone: Vec<String> = deleted
                .iter()
                .filter_map(|id| self.deletes.get(id.as_str()).map(|p| p.to_string()))
                .collect();
            store.record_accepted(self.folder, &accepted, ordering_id)?;
            store.record_deleted(self.folder, &gone)?;
            self.done += accepted.len() + gone.len();
            self.bytes_done += accepted.iter().map(|a| a.size).sum::<u64>();
            self.report
                .pushed
                .extend(accepted.into_iter().map(|a| a.path));
            self.report.deleted.extend(gone);
            self.report.batches += 1;
            self.report.bytes_uploaded += bytes;
            progress(RunProgress {
                done: self.done,
                total: self.total,
                bytes_done: self.bytes_done,
                bytes_total: self.bytes_total,
            });
        }
        Ok(())
    }
}

/// Runs a plan. `now_ms` seeds the run's orderingId (injected: tests and clocks).
/// `progress` is called once items are about to be sent (nothing done yet) and after each
/// accepted batch. `pause` is read before each item: once set, no further item goes to the
/// batcher, the batches already formed are sent and recorded, and the report says `paused`
/// (no delete, no rebuild's delete-older-than). Per-item problems are in the report; an error
/// is returned only when the state store fails.
#[allow(clippy::too_many_arguments)]
pub async fn execute(
    plan: &Plan,
    folder: &FolderMapping,
    client: &PushClient,
    store: &mut Store,
    options: &ExecuteOptions,
    now_ms: u64,
    pause: &AtomicBool,
    progress: &mut (dyn FnMut(RunProgress) + Send),
) -> Result<RunReport, ExecuteError> {
    let paused = || pause.load(Ordering::SeqCst);
    let ordering_id = store.next_ordering_id(&folder.organization, &folder.source, now_ms)?;
    let mut rec = Recorder {
        folder: &folder.name,
        pushes: plan
            .pushes
            .iter()
            .map(|p| (p.document_id.as_str(), p))
            .collect(),
        read_hashes: HashMap::new(),
        deletes: plan
            .deletes
            .iter()
            .map(|d| (d.document_id.as_str(), d.path.as_str()))
            .collect(),
        report: RunReport {
            ordering_id,
            ..Default::default()
        },
        done: 0,
        total: plan.pushes.len() + plan.deletes.len(),
        bytes_done: 0,
        bytes_total: plan.pushes.iter().map(|p| p.size).sum(),
    };
    if plan.is_empty() && plan.mode == PlanMode::Incremental {
        return Ok(rec.report);
    }
    if paused() {
        rec.report.paused = true;
        return Ok(rec.report);
    }
    let status = if plan.mode == PlanMode::Rebuild {
        SourceStatus::Rebuild
    } else {
        SourceStatus::Incremental
    };
    if let Err(e) = client.set_source_status(&folder.source, status).await {
        if let Some(h) = halt_of(&e) {
            rec.report.halted = Some(h);
            rec.report.resume_at_ms = quota_resume_at(&e, now_ms);
            return Ok(rec.report);
        }
        if matches!(
            e.kind(),
            ErrorKind::Transport { .. } | ErrorKind::ServerError { .. }
        ) {
            // The client already retried; the items' calls would fail the same way, each
            // after its own attempts. Stop now and let the next run try again.
            rec.report.halted = Some(Halt::Unreachable {
                code: e.code().to_string(),
                message: e.explanation(),
            });
            return Ok(rec.report);
        }
        // The status is informational (console activity); a failure does not stop the run.
        tracing::warn!(error = %e, "could not set the source status");
    }
    if plan.mode == PlanMode::Rebuild {
        if let Some(warning) = clock_skew_warning(client.service_clock_skew_ms()) {
            tracing::warn!("{warning}");
            rec.report.warnings.push(warning);
        }
    }

    let result = send_plan(
        plan,
        folder,
        client,
        store,
        options,
        now_ms,
        pause,
        progress,
        &mut rec,
        ordering_id,
    )
    .await;
    // IDLE whatever happened, a state store failure included: the console must not show the
    // source rebuilding or updating for ever.
    if let Err(e) = client
        .set_source_status(&folder.source, SourceStatus::Idle)
        .await
    {
        tracing::warn!(error = %e, "could not set the source status back to IDLE");
    }
    result.map(|()| rec.report)
}

/// The body of a run between the two source statuses: identities, pushes, deletes, and a
/// rebuild's end. An error is the state store's; the caller sets the status back either way.
#[allow(clippy::too_many_arguments)]
async fn send_plan(
    plan: &Plan,
    folder: &FolderMapping,
    client: &PushClient,
    store: &mut Store,
    options: &ExecuteOptions,
    now_ms: u64,
    pause: &AtomicBool,
    progress: &mut (dyn FnMut(RunProgress) + Send),
    rec: &mut Recorder<'_>,
    ordering_id: u64,
) -> Result<(), ExecuteError> {
    let paused = || pause.load(Ordering::SeqCst);
    // Identities before items: permissions of the items may name them. Recorded only once
    // the API accepted the batch; a failure is a problem of this run (retried next run, as
    // the fingerprint stays the old one), the items still go.
    if let Some(ids) = &plan.identities {
        match client
            .push_identity_batch(&ids.provider, &ids.batch, Some(ordering_id))
            .await
        {
            Ok(()) => {
                let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
                store.record_identities(&folder.name, &ids.provider, &ids.fingerprint, now)?;
                rec.report.identities_pushed = true;
            }
            Err(e) => {
                if let Some(h) = halt_of(&e) {
                    rec.report.resume_at_ms = quota_resume_at(&e, now_ms);
                    rec.report.halted = Some(h);
                    return Ok(());
                }
                rec.report.problems.push(FileProblem {
                    path: ids.path.display().to_string(),
                    kind: ProblemKind::PushFailed,
                    message: format!(
                        "the security identities were not pushed: {}; they are pushed again at the next run",
                        e.explanation()
                    ),
                });
            }
        }
    }

    let pending: Vec<(String, String)> = plan
        .pushes
        .iter()
        .map(|p| (p.path.clone(), p.document_id.clone()))
        .collect();
    store.mark_pending(&folder.name, &pending)?;
    if rec.total > 0 {
        progress(RunProgress {
            done: 0,
            total: rec.total,
            bytes_done: 0,
            bytes_total: rec.bytes_total,
        });
    }

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<ProgressEvent>();
    let sink: coveo_push::ProgressSink = Arc::new(move |e| {
        let _ = tx.send(e);
    });
    let mut config = BatcherConfig::new(folder.source.clone());
    config.ordering_id = Some(ordering_id);
    config.max_batch_bytes = options.max_batch_bytes;
    let mut batcher = Batcher::new(client.with_progress(sink), config);

    let mut fatal: Option<coveo_push::Error> = None;
    for item in &plan.pushes {
        if paused() {
            rec.report.paused = true;
            break;
        }
        if let Err(e) = batcher.add(build_document(folder, item)).await {
            fatal = Some(e);
            break;
        }
        while let Ok(event) = rx.try_recv() {
            rec.on_event(store, event, progress)?;
        }
    }
    if fatal.is_none() && !rec.report.paused {
        for d in &plan.deletes {
            if paused() {
                rec.report.paused = true;
                break;
            }
            if let Err(e) = batcher.delete(d.document_id.clone(), false).await {
                fatal = Some(e);
                break;
            }
            while let Ok(event) = rx.try_recv() {
                rec.on_event(store, event, progress)?;
            }
        }
    }
    let summary = batcher.finish().await;
    while let Ok(event) = rx.try_recv() {
        rec.on_event(store, event, progress)?;
    }
    let by_id_path = |id: &str| -> String {
        rec.pushes
            .get(id)
            .map(|p| p.path.clone())
            .or_else(|| rec.deletes.get(id).map(|p| p.to_string()))
            .unwrap_or_else(|| id.to_string())
    };
    let mut problems = Vec::new();
    match summary {
        Ok(summary) => {
            for (id, e) in &summary.item_problems {
                problems.push(FileProblem {
                    path: by_id_path(id),
                    kind: ProblemKind::PushFailed,
                    message: e.explanation(),
                });
            }
            for b in &summary.batch_problems {
                if fatal.is_none() {
                    if let Some(h) = halt_of(&b.error) {
                        rec.report.halted = Some(h);
                        rec.report.resume_at_ms = quota_resume_at(&b.error, now_ms);
                    }
                }
                for id in b.added.iter().chain(&b.deleted) {
                    problems.push(FileProblem {
                        path: by_id_path(id),
                        kind: ProblemKind::PushFailed,
                        message: b.error.explanation(),
                    });
                }
            }
        }
        Err(e) => {
            if fatal.is_none() {
                fatal = Some(e);
            }
        }
    }
    if let Some(e) = &fatal {
        rec.report.resume_at_ms = quota_resume_at(e, now_ms);
        rec.report.halted = Some(halt_of(e).unwrap_or(Halt::Fatal {
            code: e.code().to_string(),
            message: e.explanation(),
        }));
    }
    let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
    for p in &problems {
        store.record_retry(&folder.name, &p.path, "push_failed", &p.message, now)?;
    }
    rec.report.problems.extend(problems);

    if plan.mode == PlanMode::Rebuild {
        delete_older_than_if_owned(plan, folder, client, ordering_id, options, &mut rec.report)
            .await;
    }
    Ok(())
}

/// A skew between this machine's clock and the service's beyond which a rebuild says so:
/// orderingIds follow the local clock, and a rebuild's delete-older-than is refused when its
/// orderingId is ahead of the service's clock by more than `coveo_push`'s tolerance.
pub const CLOCK_SKEW_WARNING: Duration = Duration::from_secs(60);

/// What to tell the person about a clock skew (ms, the service's clock minus ours), if it is
/// beyond [`CLOCK_SKEW_WARNING`]. Pure.
pub fn clock_skew_warning(skew_ms: Option<i64>) -> Option<String> {
    let skew = skew_ms?;
    if skew.unsigned_abs() <= CLOCK_SKEW_WARNING.as_millis() as u64 {
        return None;
    }
    let by = humantime::format_duration(Duration::from_secs(skew.unsigned_abs() / 1000));
    let side = if skew < 0 { "ahead of" } else { "behind" };
    Some(format!(
        "this computer's clock is {by} {side} Coveo's; set it right (automatic time) so that a rebuild can remove older items"
    ))
}

/// Whether a rebuild of `folder` may end with the source-wide delete-older-than, which removes
/// every item of the source whose last update is older than the run: `Ok` when it may, else
/// the reason it may not, as a sentence. Pure.
///
/// What it may reach is the whole source, so all of these must hold:
/// - the person said the folder owns its source ([`FolderMapping::owns_source`]; the
///   configuration refuses it when another folder maps the same source);
/// - the run pushed every file of the folder ([`Plan::pushes_every_file`]: the whole folder
///   scanned, nothing unreadable, nothing held back for its retry time), and the API accepted
///   every one of them: no problem, no halt, no pause. A file left out of the run would be
///   older than the run and deleted although it still exists.
///
/// Without ownership a rebuild removes only what the planner deletes explicitly: the items
/// this folder's state store knows and the scan did not find.
pub fn older_than_allowed(
    plan: &Plan,
    folder: &FolderMapping,
    report: &RunReport,
) -> Result<(), String> {
    if !folder.owns_source {
        return Err(format!(
            "folder {:?} does not own source {:?}, so the rebuild removed only the items of this folder whose files are gone",
            folder.name, folder.source
        ));
    }
    let left_out = plan.skipped.len() + plan.deferred.len() + report.problems.len();
    if plan.scoped {
        return Err("the run did not scan the whole folder".into());
    }
    if report.halted.is_some() || report.paused {
        return Err("the run stopped before every file was pushed".into());
    }
    if left_out > 0 {
        return Err(format!(
            "{left_out} files were not pushed in this run (unreadable, waiting for a retry, or refused), and older items would include them"
        ));
    }
    Ok(())
}

/// The end of a rebuild: the delete-older-than, when [`older_than_allowed`] says so and the
/// service's clock agrees the run's orderingId is not in its future (a future orderingId would
/// delete everything and then make the source refuse new items until that time; the client
/// core refuses it, see `coveo_push::PushClient::check_older_than`).
async fn delete_older_than_if_owned(
    plan: &Plan,
    folder: &FolderMapping,
    client: &PushClient,
    ordering_id: u64,
    options: &ExecuteOptions,
    report: &mut RunReport,
) {
    let refused = |report: &mut RunReport, why: String| {
        report.problems.push(FileProblem {
            path: String::new(),
            kind: ProblemKind::PushFailed,
            message: format!(
                "the rebuild did not remove older items of the source: {why}; run the rebuild again once this is fixed"
            ),
        })
    };
    match older_than_allowed(plan, folder, report) {
        Ok(()) => {}
        // Not owning the source is the normal case, not a problem of the run.
        Err(why) if !folder.owns_source => {
            tracing::debug!("{why}");
            return;
        }
        Err(why) => return refused(report, why),
    }
    // The client core refuses an orderingId ahead of the service's clock (read from the
    // `Date` of this run's answers): a clock running fast would otherwise poison the source.
    match client
        .delete_older_than(
            &folder.source,
            ordering_id,
            Some(options.rebuild_queue_delay_minutes),
        )
        .await
    {
        Ok(()) => report.deleted_older_than = true,
        Err(e) => refused(report, e.explanation()),
    }
}

/// How long to wait between two Source Logs polls while items are still only accepted.
pub const SOURCE_LOG_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// Outcome of one item per the Source Logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOutcome {
    pub document_id: String,
    pub ordering_id: Option<u64>,
    pub outcome: LogVerdict,
}

/// Reads the Source Logs of `source` between two instants (ms since the epoch) through
/// [`PushClient::source_logs`] (the right host, the client's retries and proxy) and keeps the
/// final word on each item: `ADD`/`UPDATE` completed at `INDEXING` = indexed, `REJECTED` =
/// rejected with the service's reason, `SKIPPED` = not applied (pushed again). The error is a
/// sentence saying what to do.
pub async fn read_source_logs(
    client: &PushClient,
    source: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<LogOutcome>, String> {
    let instant = |ms: i64| {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .map_err(|e| format!("the Source Logs range is out of bounds ({ms} ms): {e}"))
    };
    let query = LogQuery::source(source, instant(from_ms)?, instant(to_ms)?);
    let entries = client.source_logs(&query).await.map_err(|e| {
        format!(
            "the Source Logs could not be read: {}; they are read again at the next run",
            e.explanation()
        )
    })?;
    Ok(entries.iter().filter_map(log_outcome).collect())
}

/// The final word of one log entry on its item, if it is one (see [`read_source_logs`]).
pub fn log_outcome(entry: &LogEntry) -> Option<LogOutcome> {
    if entry.id.is_empty() || !matches!(entry.operation.as_str(), "ADD" | "UPDATE") {
        return None;
    }
    let outcome = match (entry.task.as_str(), entry.result.as_str()) {
        (_, "REJECTED") => LogVerdict::Rejected(
            entry
                .error()
                .unwrap_or("rejected by the indexing pipeline")
                .to_string(),
        ),
        (_, "SKIPPED") => LogVerdict::Skipped(
            entry
                .error()
                .unwrap_or("the service skipped this update")
                .to_string(),
        ),
        ("INDEXING", "COMPLETED" | "WARNING") => LogVerdict::Indexed,
        _ => return None,
    };
    Some(LogOutcome {
        document_id: entry.id.clone(),
        ordering_id: entry.ordering_id(),
        outcome,
    })
}

/// Reads the Source Logs and marks items indexed, rejected, or pending again (skipped) in the
/// state store. Returns the rejected ones ([`ProblemKind::Rejected`]) and the skipped ones
/// ([`ProblemKind::PushFailed`], with a retry time from `now_ms`) as problems.
pub async fn apply_source_logs(
    client: &PushClient,
    folder: &FolderMapping,
    store: &mut Store,
    from_ms: i64,
    to_ms: i64,
    now_ms: i64,
) -> Result<Vec<FileProblem>, String> {
    let outcomes = read_source_logs(client, &folder.source, from_ms, to_ms).await?;
    let items = store.items(&folder.name).map_err(|e| e.to_string())?;
    let path_of: HashMap<&str, &str> = items
        .iter()
        .map(|i| (i.document_id.as_str(), i.path.as_str()))
        .collect();
    let ours: Vec<(&str, &LogOutcome)> = outcomes
        .iter()
        .filter_map(|o| Some((*path_of.get(o.document_id.as_str())?, o)))
        .collect();
    let rows: Vec<(&str, Option<u64>, LogVerdict)> = ours
        .iter()
        .map(|(_, o)| (o.document_id.as_str(), o.ordering_id, o.outcome.clone()))
        .collect();
    let changed = store.record_outcomes(&rows).map_err(|e| e.to_string())?;
    let mut problems = Vec::new();
    for ((path, o), changed) in ours.iter().zip(changed) {
        if changed == 0 {
            continue;
        }
        match &o.outcome {
            LogVerdict::Indexed => {}
            LogVerdict::Rejected(reason) => problems.push(FileProblem {
                path: path.to_string(),
                kind: ProblemKind::Rejected,
                message: reason.clone(),
            }),
            LogVerdict::Skipped(reason) => {
                let message = format!(
                    "the service did not apply this update ({reason}); it is pushed again with a newer orderingId"
                );
                store
                    .record_retry(&folder.name, path, "push_failed", &message, now_ms)
                    .map_err(|e| e.to_string())?;
                problems.push(FileProblem {
                    path: path.to_string(),
                    kind: ProblemKind::PushFailed,
                    message,
                });
            }
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_skews_beyond_a_minute_are_told() {
        assert_eq!(clock_skew_warning(None), None);
        assert_eq!(clock_skew_warning(Some(59_000)), None);
        assert_eq!(clock_skew_warning(Some(-60_000)), None);
        let ahead = clock_skew_warning(Some(-3_600_000)).unwrap();
        assert!(ahead.contains("1h ahead of Coveo's"), "{ahead}");
        let behind = clock_skew_warning(Some(125_000)).unwrap();
        assert!(behind.contains("2m 5s behind"), "{behind}");
    }

    #[test]
    fn html_titles() {
        assert_eq!(
            html_title(b"<html><head><TITLE id=x>\n Leave &amp; pay\n</title>").as_deref(),
            Some("Leave & pay")
        );
        assert_eq!(html_title(b"<html><title></title>"), None);
        assert_eq!(html_title(b"no title here"), None);
    }

    #[test]
    fn log_entries_become_outcomes() {
        let entry = |json: serde_json::Value| -> LogEntry {
            serde_json::from_value(json).unwrap_or_else(|e| panic!("bad test entry: {e}"))
        };
        let rejected = entry(serde_json::json!({"id": "file:///a", "operation": "ADD",
            "result": "REJECTED", "task": "PROCESSING",
            "meta": {"error": "too many permissions", "orderingId": 7}}));
        assert_eq!(
            log_outcome(&rejected),
            Some(LogOutcome {
                document_id: "file:///a".into(),
                ordering_id: Some(7),
                outcome: LogVerdict::Rejected("too many permissions".into()),
            })
        );
        let indexed = entry(serde_json::json!({"id": "file:///b", "operation": "UPDATE",
            "result": "COMPLETED", "task": "INDEXING"}));
        assert_eq!(
            log_outcome(&indexed).map(|o| o.outcome),
            Some(LogVerdict::Indexed)
        );
        let skipped = entry(serde_json::json!({"id": "file:///b", "operation": "UPDATE",
            "result": "SKIPPED", "task": "INDEXING",
            "meta": {"error": "a newer operation already updated this item", "orderingId": 9}}));
        assert_eq!(
            log_outcome(&skipped).map(|o| o.outcome),
            Some(LogVerdict::Skipped(
                "a newer operation already updated this item".into()
            ))
        );
        let consuming = entry(serde_json::json!({"id": "file:///b", "operation": "ADD",
            "result": "COMPLETED", "task": "CONSUMING"}));
        assert_eq!(log_outcome(&consuming), None);
        let delete = entry(serde_json::json!({"id": "file:///c", "operation": "DELETE",
            "result": "COMPLETED", "task": "INDEXING"}));
        assert_eq!(log_outcome(&delete), None);
    }
}
