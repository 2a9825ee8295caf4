//! The processing queue: the asynchronous half of the Push API. Handlers journal an operation
//! and answer 202; one processor thread applies operations in acceptance order, after the
//! configured processing delay, and writes what the pipeline would log.
//!
//! Batches are applied per file in this order: every `addOrUpdate` entry in file order, then
//! every `delete` entry in file order (the JS and Java clients write them in that order); all
//! share the batch's orderingId, and an equal orderingId does overwrite, so an item both added
//! and deleted in one batch ends deleted.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::batch;
use crate::clock::Millis;
use crate::json::{get_ci, parse_strict, parse_strict_nested, SERDE_JSON_MAX_DEPTH};
use crate::state::{Changes, ContainerState, Item, ItemStamp, OpContext, State};
use crate::wire::{self, CheckedDocument, ContentSource, IdentityBody, RawIdentity};
use crate::Shared;

/// How often the processor wakes up without work, to run scheduled delete-older-than
/// operations whose time came. Short enough for tests that advance the clock, long enough
/// to cost nothing.
const IDLE_WAKE: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum OpKind {
    PutItem {
        source: String,
        doc: CheckedDocument,
    },
    DeleteItem {
        source: String,
        document_id: String,
        delete_children: bool,
    },
    ItemBatch {
        source: String,
        file_id: String,
    },
    DeleteItemsOlderThan {
        source: String,
        queue_delay_minutes: u64,
    },
    PutIdentity {
        provider: String,
        body: IdentityBody,
        alias: bool,
    },
    DeleteIdentity {
        provider: String,
        identity: RawIdentity,
    },
    IdentityBatch {
        provider: String,
        file_id: String,
    },
    DeleteIdentitiesOlderThan {
        provider: String,
        queue_delay_minutes: u64,
    },
    /// No effect: `drain()` waits for it to pass, and it runs due scheduled operations.
    Tick,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Op {
    pub org: String,
    pub request_id: String,
    pub ordering_id: u64,
    pub accepted_ms: Millis,
    pub kind: OpKind,
    #[serde(skip)]
    pub journal_id: Option<i64>,
    #[serde(skip)]
    pub seq: u64,
    #[serde(skip)]
    pub accepted_at: Option<Instant>,
}

impl Op {
    fn ctx(&self, now: Millis) -> OpContext {
        OpContext::new(&self.org, &self.request_id, self.ordering_id, now)
    }

    fn due_ms(&self) -> Millis {
        let minutes = match &self.kind {
            OpKind::DeleteItemsOlderThan {
                queue_delay_minutes,
                ..
            }
            | OpKind::DeleteIdentitiesOlderThan {
                queue_delay_minutes,
                ..
            } => *queue_delay_minutes,
            _ => 0,
        };
        self.accepted_ms + (minutes as Millis) * 60_000
    }
}

pub(crate) fn run(shared: Arc<Shared>, rx: Receiver<Op>) {
    let mut scheduled: Vec<Op> = Vec::new();
    loop {
        let received = rx.recv_timeout(IDLE_WAKE);
        match received {
            Ok(op) => {
                if shared.stopped.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                if let Some(at) = op.accepted_at {
                    let ready = at + shared.processing_delay;
                    let now = Instant::now();
                    if ready > now {
                        std::thread::sleep(ready - now);
                    }
                    if shared.stopped.load(std::sync::atomic::Ordering::SeqCst) {
                        return;
                    }
                }
                run_due(&shared, &mut scheduled);
                let seq = op.seq;
                // A bug in one operation must not stop the queue (drain() would wait forever).
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    process(&shared, op, &mut scheduled)
                }));
                if outcome.is_err() {
                    tracing::error!("the emulator failed to process an operation; it was skipped");
                }
                run_due(&shared, &mut scheduled);
                shared.processed.send_replace(seq);
            }
            Err(RecvTimeoutError::Timeout) => run_due(&shared, &mut scheduled),
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn run_due(shared: &Shared, scheduled: &mut Vec<Op>) {
    if scheduled.is_empty() {
        return;
    }
    let now = shared.clock.now_ms();
    let (due, later): (Vec<Op>, Vec<Op>) = std::mem::take(scheduled)
        .into_iter()
        .partition(|op| op.due_ms() <= now);
    *scheduled = later;
    for op in due {
        execute_older_than(shared, &op);
    }
}

fn execute_older_than(shared: &Shared, op: &Op) {
    let now = shared.clock.now_ms();
    let ctx = op.ctx(now);
    let mut changes = Changes::default();
    let mut state = shared.lock_state();
    match &op.kind {
        OpKind::DeleteItemsOlderThan { source, .. } => {
            state.delete_items_older_than(&ctx, source, &mut changes)
        }
        OpKind::DeleteIdentitiesOlderThan { provider, .. } => {
            state.delete_identities_older_than(&ctx, provider, &mut changes)
        }
        _ => {}
    }
    finish(shared, &mut state, changes, op.journal_id);
}

/// Appends the log entries, and journals the effects (and the end of the operation).
fn finish(shared: &Shared, state: &mut State, changes: Changes, done_op: Option<i64>) {
    if let Some(store) = &shared.store {
        let mut store = store.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = store.commit(state, &changes, done_op) {
            tracing::error!("could not journal a processed operation: {e}");
        }
    }
    state.append_logs(changes.logs);
}

/// Takes the content of a container that an operation references (and forgets the container).
fn take_container(
    shared: &Shared,
    file_id: &str,
    changes: &mut Changes,
) -> Result<bytes::Bytes, String> {
    let mut state = shared.lock_state();
    let now = shared.clock.now_ms();
    let container = state
        .containers
        .get(file_id)
        .ok_or_else(|| format!("file container {file_id:?} does not exist"))?;
    if container.state == ContainerState::Created {
        return Err(format!("file container {file_id:?} was never uploaded"));
    }
    if container.state == ContainerState::Uploaded && container.expires_ms <= now {
        return Err(format!("file container {file_id:?} has expired"));
    }
    let content = container.content.clone().unwrap_or_default();
    state.containers.remove(file_id);
    changes.containers_removed.push(file_id.to_owned());
    Ok(content)
}

fn process(shared: &Shared, op: Op, scheduled: &mut Vec<Op>) {
    let mut changes = Changes::default();
    let now = shared.clock.now_ms();
    let ctx = op.ctx(now);
    let mut done = op.journal_id;
    match &op.kind {
        OpKind::Tick => return,
        OpKind::PutItem { source, doc } => {
            let container = match &doc.content {
                ContentSource::CompressedBinaryDataFileId(id) => {
                    match take_container(shared, id, &mut changes) {
                        Ok(bytes) => Some(bytes),
                        Err(e) => {
                            changes.logs.push(ctx.log(
                                source,
                                &doc.document_id,
                                "ADD",
                                "CONSUMING",
                                "REJECTED",
                                Some(e),
                            ));
                            None
                        }
                    }
                }
                _ => None,
            };
            let failed = matches!(doc.content, ContentSource::CompressedBinaryDataFileId(_))
                && container.is_none();
            if !failed {
                let mut doc = doc.clone();
                let mat = wire::materialize(&mut doc, container.as_deref());
                let mut state = shared.lock_state();
                // A `rejectItems` fault rejects the item here, as the pipeline would.
                let rejection = state
                    .faults
                    .faults
                    .rejection(&doc.document_id)
                    .map(str::to_owned);
                match (mat, rejection) {
                    (Ok(_), Some(reason)) => changes.logs.push(ctx.log(
                        source,
                        &doc.document_id,
                        "ADD",
                        "PROCESSING",
                        "REJECTED",
                        Some(reason),
                    )),
                    (Ok(mat), None) => state.put_item(&ctx, source, doc, mat, &mut changes),
                    (Err(e), _) => changes.logs.push(ctx.log(
                        source,
                        &doc.document_id,
                        "ADD",
                        "PROCESSING",
                        "REJECTED",
                        Some(e),
                    )),
                }
                finish(shared, &mut state, changes, done);
                return;
            }
        }
        OpKind::DeleteItem {
            source,
            document_id,
            delete_children,
        } => {
            let mut state = shared.lock_state();
            state.delete_item(&ctx, source, document_id, *delete_children, &mut changes);
            finish(shared, &mut state, changes, done);
            return;
        }
        OpKind::ItemBatch { source, file_id } => {
            process_item_batch(shared, &ctx, source, file_id, &mut changes)
        }
        OpKind::DeleteItemsOlderThan { source, .. } => {
            let mut state = shared.lock_state();
            state.raise_source_watermark(&op.org, source, op.ordering_id, &mut changes);
            if op.due_ms() <= now {
                state.delete_items_older_than(&ctx, source, &mut changes);
            } else {
                done = None;
                scheduled.push(op.clone());
            }
            finish(shared, &mut state, changes, done);
            return;
        }
        OpKind::PutIdentity {
            provider,
            body,
            alias,
        } => {
            let mut state = shared.lock_state();
            state.put_identity(&ctx, provider, body, *alias, &mut changes);
            finish(shared, &mut state, changes, done);
            return;
        }
        OpKind::DeleteIdentity { provider, identity } => {
            let mut state = shared.lock_state();
            state.delete_identity(&ctx, provider, identity, &mut changes);
            finish(shared, &mut state, changes, done);
            return;
        }
        OpKind::IdentityBatch { provider, file_id } => {
            match take_container(shared, file_id, &mut changes)
                .and_then(|bytes| {
                    parse_strict(&bytes)
                        .map_err(|e| format!("the batch file is not valid JSON: {e}"))
                })
                .and_then(|v| wire::parse_identity_batch(&v))
            {
                Err(e) => changes.logs.push(ctx.log(
                    provider,
                    file_id,
                    "BATCH_FILE",
                    "CONSUMING_BATCH",
                    "REJECTED",
                    Some(e),
                )),
                Ok(batch) => {
                    let mut state = shared.lock_state();
                    for (list, alias) in [(&batch.members, false), (&batch.mappings, true)] {
                        for body in list {
                            match body {
                                Ok(b) => state.put_identity(&ctx, provider, b, alias, &mut changes),
                                Err(e) => changes.logs.push(ctx.log(
                                    provider,
                                    "",
                                    "UPDATE",
                                    "CONSUMING",
                                    "REJECTED",
                                    Some(e.clone()),
                                )),
                            }
                        }
                    }
                    for body in &batch.deleted {
                        match body.as_ref().map(|b| b.identity.clone()) {
                            Ok(Some(identity)) => {
                                state.delete_identity(&ctx, provider, &identity, &mut changes)
                            }
                            Ok(None) => {}
                            Err(e) => changes.logs.push(ctx.log(
                                provider,
                                "",
                                "DELETE",
                                "CONSUMING",
                                "REJECTED",
                                Some(e.clone()),
                            )),
                        }
                    }
                    changes.logs.push(ctx.log(
                        provider,
                        file_id,
                        "BATCH_FILE",
                        "CONSUMING_BATCH",
                        "COMPLETED",
                        None,
                    ));
                    finish(shared, &mut state, changes, done);
                    return;
                }
            }
        }
        OpKind::DeleteIdentitiesOlderThan { provider, .. } => {
            let mut state = shared.lock_state();
            state.raise_provider_watermark(&op.org, provider, op.ordering_id, &mut changes);
            if op.due_ms() <= now {
                state.delete_identities_older_than(&ctx, provider, &mut changes);
            } else {
                done = None;
                scheduled.push(op.clone());
            }
            finish(shared, &mut state, changes, done);
            return;
        }
    }
    let mut state = shared.lock_state();
    finish(shared, &mut state, changes, done);
}

/// Threads that check and decode the items of one batch. The work per item is a few
/// microseconds, so only large batches are split, and a handful of threads is enough to keep
/// the single apply step (under the state lock) busy.
const PREPARE_THREADS: usize = 4;
/// Items per thread below which splitting a batch costs more than it saves.
const MIN_ITEMS_PER_THREAD: usize = 2_000;

/// One `addOrUpdate` entry after the pipeline's checks. `Ready` is the common case, so it
/// stays unboxed (boxing would add an allocation per item).
#[allow(clippy::large_enum_variant)]
enum Prepared {
    /// The item to store, built before the state is locked, and its key (its documentId).
    Ready {
        key: String,
        item: Item,
        /// The file container the entry named (and consumed).
        consumed: Option<String>,
    },
    Rejected {
        id: String,
        task: &'static str,
        error: String,
        /// A container the entry referenced (and consumed) before failing.
        consumed: Option<String>,
    },
}

fn prepare(shared: &Shared, stamp: &ItemStamp, index: usize, entry: Value) -> Prepared {
    match check(index, entry) {
        Ok(doc) => prepare_checked(shared, stamp, doc),
        Err(rejected) => rejected.into(),
    }
}

/// A batch entry that failed the checks a single push answers synchronously: the id its log
/// entry names, and why.
struct CheckFailed {
    id: String,
    error: String,
}

impl From<CheckFailed> for Prepared {
    fn from(f: CheckFailed) -> Self {
        Prepared::Rejected {
            id: f.id,
            task: "CONSUMING",
            error: f.error,
            consumed: None,
        }
    }
}

/// The checks a single push answers synchronously.
fn check(index: usize, entry: Value) -> Result<CheckedDocument, CheckFailed> {
    let hint = entry
        .as_object()
        .and_then(|o| get_ci(o, "documentId"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    wire::check_document(entry, None, None).map_err(|e| CheckFailed {
        id: hint.unwrap_or_else(|| format!("addOrUpdate[{index}]")),
        error: e.message,
    })
}

/// Takes the entry's file container, if it names one, decodes its content and builds the item.
fn prepare_checked(shared: &Shared, stamp: &ItemStamp, mut doc: CheckedDocument) -> Prepared {
    let mut consumed = None;
    let container = match &doc.content {
        ContentSource::CompressedBinaryDataFileId(id) => {
            let mut scratch = Changes::default();
            match take_container(shared, id, &mut scratch) {
                Ok(b) => {
                    consumed = Some(id.clone());
                    Some(b)
                }
                Err(error) => {
                    return Prepared::Rejected {
                        id: doc.document_id,
                        task: "CONSUMING",
                        error,
                        consumed: None,
                    };
                }
            }
        }
        _ => None,
    };
    match wire::materialize(&mut doc, container.as_deref()) {
        Ok(mat) => {
            let item = Item::indexed(doc, mat, stamp);
            Prepared::Ready {
                key: item.document_id.clone(),
                item,
                consumed,
            }
        }
        Err(error) => Prepared::Rejected {
            id: doc.document_id,
            task: "PROCESSING",
            error,
            consumed,
        },
    }
}

/// How many threads to split `items` entries over.
fn threads_for(items: usize) -> usize {
    PREPARE_THREADS.min(items / MIN_ITEMS_PER_THREAD).max(1)
}

fn prepare_all(shared: &Shared, stamp: &ItemStamp, adds: Vec<Value>) -> Vec<Prepared> {
    let threads = threads_for(adds.len());
    batch::par_chunks(adds, threads, |i, e| prepare(shared, stamp, i, e))
        .into_iter()
        .flat_map(|chunk| chunk.unwrap_or_else(|_| vec![decoding_failed()]))
        .collect()
}

/// What a batch entry becomes when the thread decoding it failed (a bug).
fn decoding_failed() -> Prepared {
    Prepared::Rejected {
        id: String::new(),
        task: "PROCESSING",
        error: "the emulator failed while decoding part of this batch".into(),
        consumed: None,
    }
}

/// How deep an `addOrUpdate` entry may nest: it sits in the file's object and its array, and
/// the file as a whole is read under serde_json's recursion limit.
const ENTRY_MAX_DEPTH: usize = SERDE_JSON_MAX_DEPTH - 2;

/// An `addOrUpdate` entry after the steps that touch nothing shared.
enum FirstStep {
    Done(Prepared),
    /// The entry names a file container, which is taken in a second step: only once every
    /// entry of the file has been read, since a file that does not read consumes none.
    NeedsContainer(CheckedDocument),
}

/// Reads, checks and decodes one raw entry (decodes only if it names no file container).
/// `None` when the entry does not read as strict JSON: the file is then rejected as a whole.
fn first_step(
    shared: &Shared,
    stamp: &ItemStamp,
    index: usize,
    raw: &RawValue,
) -> Option<FirstStep> {
    let entry = parse_strict_nested(raw.get().as_bytes(), ENTRY_MAX_DEPTH).ok()?;
    let doc = match check(index, entry) {
        Ok(doc) => doc,
        Err(rejected) => return Some(FirstStep::Done(rejected.into())),
    };
    Some(match doc.content {
        ContentSource::CompressedBinaryDataFileId(_) => FirstStep::NeedsContainer(doc),
        _ => FirstStep::Done(prepare_checked(shared, stamp, doc)),
    })
}

/// The prepared `addOrUpdate` entries and the `delete` entries of a batch file, the fast
/// way (see `batch.rs`): `None` when the file is not a well-formed batch file, and the caller
/// reads it whole.
fn prepare_batch(
    shared: &Shared,
    stamp: &ItemStamp,
    bytes: &[u8],
) -> Option<(Vec<Prepared>, Vec<Value>)> {
    let split = batch::split(bytes)?;
    let threads = threads_for(split.adds.len());
    let mut prepared: Vec<Prepared> = Vec::with_capacity(split.adds.len());
    let mut waiting = Vec::new();
    for chunk in batch::par_chunks(split.adds, threads, |i, raw| {
        first_step(shared, stamp, i, raw)
    }) {
        for step in chunk.ok()? {
            match step? {
                FirstStep::Done(p) => prepared.push(p),
                FirstStep::NeedsContainer(doc) => {
                    waiting.push((prepared.len(), doc));
                    // Replaced below, unless the thread that takes the container fails.
                    prepared.push(decoding_failed());
                }
            }
        }
    }
    // Each of these decodes (and hashes) a whole container, far more work than a small
    // entry: they are split over every prepare thread however few they are.
    let done = batch::par_chunks(waiting, PREPARE_THREADS, |_, (index, doc)| {
        (index, prepare_checked(shared, stamp, doc))
    });
    for (i, p) in done.into_iter().flatten().flatten() {
        prepared[i] = p;
    }
    Some((prepared, split.deletes))
}

/// The `addOrUpdate` and `delete` entries of a batch file read as a whole (one tree), or why
/// the pipeline rejects the file.
fn read_batch(bytes: &[u8]) -> Result<(Vec<Value>, Vec<Value>), String> {
    let value =
        parse_strict(bytes).map_err(|e| format!("the batch file is not valid JSON: {e}"))?;
    match value {
        Value::Object(mut obj) => take_array_ci(&mut obj, "addOrUpdate")
            .and_then(|adds| Ok((adds, take_array_ci(&mut obj, "delete")?))),
        _ => Err(
            "the batch file must be a JSON object with addOrUpdate and delete arrays".to_owned(),
        ),
    }
}

/// Removes the array under `key` (any letter case) from `obj`.
fn take_array_ci(
    obj: &mut serde_json::Map<String, Value>,
    key: &str,
) -> Result<Vec<Value>, String> {
    let found = obj.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned();
    match found.and_then(|k| obj.remove(&k)) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(format!("{key} must be an array")),
    }
}

fn process_item_batch(
    shared: &Shared,
    ctx: &OpContext,
    source: &str,
    file_id: &str,
    changes: &mut Changes,
) {
    let lists = take_container(shared, file_id, changes).and_then(|bytes| {
        // Check and decode outside the state lock, on several threads for large batches: this
        // is the expensive part. Results keep file order.
        let stamp = ItemStamp::of(ctx);
        match prepare_batch(shared, &stamp, &bytes) {
            Some(lists) => Ok(lists),
            None => read_batch(&bytes)
                .map(|(adds, deletes)| (prepare_all(shared, &stamp, adds), deletes)),
        }
    });
    let (prepared, deletes) = match lists {
        Ok(l) => l,
        Err(e) => {
            changes.logs.push(ctx.log(
                source,
                file_id,
                "BATCH_FILE",
                "CONSUMING_BATCH",
                "REJECTED",
                Some(e),
            ));
            return;
        }
    };
    changes.logs.reserve(prepared.len() + deletes.len() + 1);
    // Entries rejected so far are logged first, then the others are applied, in file order.
    for p in &prepared {
        match p {
            Prepared::Ready { consumed, .. } => {
                // The journal forgets the container.
                changes.containers_removed.extend(consumed.clone());
            }
            Prepared::Rejected {
                id,
                task,
                error,
                consumed,
            } => {
                changes.logs.push(ctx.log(
                    source,
                    id,
                    "ADD",
                    task,
                    "REJECTED",
                    Some(error.clone()),
                ));
                changes.containers_removed.extend(consumed.clone());
            }
        }
    }
    let ready = prepared.into_iter().filter_map(|p| match p {
        Prepared::Ready { key, item, .. } => Some((key, item)),
        Prepared::Rejected { .. } => None,
    });
    let mut state = shared.lock_state();
    for (key, item) in ready {
        // A `rejectItems` fault rejects the item here, as the pipeline would.
        match state
            .faults
            .faults
            .rejection(&item.document_id)
            .map(str::to_owned)
        {
            Some(reason) => changes.logs.push(ctx.log(
                source,
                &item.document_id,
                "ADD",
                "PROCESSING",
                "REJECTED",
                Some(reason),
            )),
            None => state.put_indexed_item(ctx, source, key, item, changes),
        }
    }
    for (index, entry) in deletes.iter().enumerate() {
        let obj = entry.as_object();
        let id = obj
            .and_then(|o| get_ci(o, "documentId"))
            .and_then(Value::as_str);
        let children = obj
            .and_then(|o| get_ci(o, "deleteChildren"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        match id {
            Some(id) => state.delete_item(ctx, source, id, children, changes),
            None => changes.logs.push(ctx.log(
                source,
                &format!("delete[{index}]"),
                "DELETE",
                "CONSUMING",
                "REJECTED",
                Some("the entry has no documentId".into()),
            )),
        }
    }
    changes.logs.push(ctx.log(
        source,
        file_id,
        "BATCH_FILE",
        "CONSUMING_BATCH",
        "COMPLETED",
        None,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::{FaultState, Faults};

    fn shared() -> Shared {
        let (tx, _rx) = std::sync::mpsc::channel::<Op>();
        let config = crate::EmulatorConfig {
            clock: crate::Clock::frozen(0),
            container_limit: 1 << 20,
            ..crate::EmulatorConfig::default()
        };
        let state = State::new(FaultState::new(Faults::default()));
        Shared::new(&config, state, None, String::new(), tx)
    }

    const STAMP: ItemStamp = ItemStamp {
        ordering_id: 7,
        updated: "2025-01-01T00:00:00.000Z",
        request_id: "request",
    };

    fn describe(p: &Prepared) -> Value {
        match p {
            Prepared::Ready {
                key,
                item,
                consumed,
            } => serde_json::json!({
                "key": key,
                "item": item,
                "content": item.content.to_vec(),
                "consumed": consumed,
            }),
            Prepared::Rejected {
                id,
                task,
                error,
                consumed,
            } => serde_json::json!({"id": id, "task": task, "error": error, "consumed": consumed}),
        }
    }

    /// The batch read the one way it always was: one strict tree, then each entry checked.
    fn whole(shared: &Shared, bytes: &[u8]) -> Result<(Vec<Value>, Vec<Value>), String> {
        read_batch(bytes).map(|(adds, deletes)| {
            (
                prepare_all(shared, &STAMP, adds)
                    .iter()
                    .map(describe)
                    .collect(),
                deletes,
            )
        })
    }

    fn fast(shared: &Shared, bytes: &[u8]) -> Option<(Vec<Value>, Vec<Value>)> {
        prepare_batch(shared, &STAMP, bytes)
            .map(|(adds, deletes)| (adds.iter().map(describe).collect(), deletes))
    }

    fn nested(depth: usize) -> String {
        let mut v = "1".to_owned();
        for _ in 1..depth {
            v = format!("[{v}]");
        }
        format!(r#"{{"documentId":"file:///deep","data":"x","m":{v}}}"#)
    }

    /// Plain entries and odd ones (each rejection reason, any letter case, escapes, depth).
    fn entries() -> Vec<String> {
        let metadata: Vec<String> = (0..30).map(|i| format!(r#""k{i}":{i}"#)).collect();
        let z = {
            use std::io::Write;
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(b"zipped").unwrap();
            base64::engine::general_purpose::STANDARD.encode(e.finish().unwrap())
        };
        use base64::Engine;
        vec![
            r#"{"documentId":"file:///a/1.txt","data":"one","title":"1.txt","fileExtension":".txt","permanentid":"p1","permissions":[{"allowAnonymous":false,"allowedPermissions":[{"identity":"HR","identityType":"Group"}]}]}"#.to_owned(),
            r#"{"DocumentId":"file:///a/2.txt","DATA":"two","Permissions":[{"AllowAnonymous":true,"allowedPermissions":null,"deniedPermissions":[{"identity":"x","IdentityType":"user","securityProvider":"p"}]}]}"#.to_owned(),
            r#"{"documentId":"file:///a/3","data":"x","permissions":[{"name":"L1","permissionSets":[{"allowAnonymous":true}]}]}"#.to_owned(),
            r#"{"documentId":"file:///a/4","data":"x","permissions":null}"#.to_owned(),
            r#"{"documentId":"file:///a/5","data":"x","permissions":{}}"#.to_owned(),
            r#"{"documentId":"file:///a/6","data":"x","permissions":[{"allowedPermissions":[{"identity":"a","identityType":"Group","provider":"p"}]}]}"#.to_owned(),
            r#"{"documentId":"file:///a/7","data":"x","permissions":[{"allowedPermissions":[{"identity":"a","identityType":"Robot"}]}]}"#.to_owned(),
            r#"{"documentId":"file:///a/8","data":"x","permissions":[{"allowAnonymous":"no"}]}"#.to_owned(),
            r#"{"documentId":"file:///a/9","data":"x","permissions":[3]}"#.to_owned(),
            r#"{"documentId":"file:///a/10","data":"x","permissions":[]}"#.to_owned(),
            r#"{"data":"no id"}"#.to_owned(),
            r#"{"documentId":"no uri","data":"x"}"#.to_owned(),
            r#"{"documentId":7,"data":"x"}"#.to_owned(),
            r#"{"documentId":"file:///a/11","data":"x","compressedBinaryData":"eA=="}"#.to_owned(),
            r#"{"documentId":"file:///a/12"}"#.to_owned(),
            format!(r#"{{"documentId":"file:///a/13","compressedBinaryData":"{z}"}}"#),
            format!(r#"{{"documentId":"file:///a/14","compressedBinaryData":"{z}","compressionType":"zlib"}}"#),
            format!(r#"{{"documentId":"file:///a/15","compressedBinaryData":"{z}","CompressionType":"GZip"}}"#),
            r#"{"documentId":"file:///a/16","compressedBinaryData":"not base64!"}"#.to_owned(),
            r#"{"documentId":"file:///a/17","data":"x","compressionType":"rar"}"#.to_owned(),
            r#"{"documentId":"file:///a/18","data":"x","fileExtension":"txt"}"#.to_owned(),
            r#"{"documentId":"file:///a/19","data":"x","orderingId":5}"#.to_owned(),
            r#"{"documentId":"file:///a/20","data":"x","nested":{"a":{"b":1}}}"#.to_owned(),
            r#"{"documentId":"file:///a/21","data":"x","list":[{"a":1}],"dict":{"a":[1,"b"]},"n":1.5,"b":true,"z":null}"#.to_owned(),
            r#"{"\u0064ocumentId":"file:///a/22","d\u0061ta":"x","t\u0069tle":"esc\"aped"}"#.to_owned(),
            format!(r#"{{"documentId":"file:///a/23","data":"x",{}}}"#, metadata.join(",")),
            "42".to_owned(),
            r#""text""#.to_owned(),
            "[]".to_owned(),
            "null".to_owned(),
            r#"{"documentId":"file:///a/24","compressedBinaryDataFileId":"unknown"}"#.to_owned(),
            r#"{"documentId":"file:///a/25","data":"x","parentId":3}"#.to_owned(),
            r#"{"documentId":"file:///a/26","data":"x","parentId":"file:///a"}"#.to_owned(),
            r#"{"documentId":"file:///a/27","data":null}"#.to_owned(),
            r#"{"documentId":"file:///a/28","data":"x","Ｔitle":"wide"}"#.to_owned(),
            nested(125),
        ]
    }

    #[test]
    fn the_fast_reading_of_a_batch_answers_as_the_whole_reading() {
        let shared = shared();
        let all = entries();
        // Every entry alone, then all together (large enough for several threads).
        let mut files: Vec<String> = all
            .iter()
            .map(|e| format!(r#"{{"addOrUpdate":[{e}],"delete":[{{"documentId":"file:///d"}}]}}"#))
            .collect();
        let many: Vec<&str> = (0..MIN_ITEMS_PER_THREAD * 3)
            .map(|i| all[i % all.len()].as_str())
            .collect();
        files.push(format!(r#"{{"AddOrUpdate":[{}]}}"#, many.join(",")));
        for file in &files {
            let expected = whole(&shared, file.as_bytes()).expect("a well-formed batch file");
            let got = fast(&shared, file.as_bytes()).expect("read the fast way");
            assert_eq!(got, expected, "{file}");
        }
    }

    #[test]
    fn a_file_the_fast_reading_refuses_is_read_whole() {
        let shared = shared();
        for file in [
            // Repeated keys in an entry, in any letter case, at any depth.
            r#"{"addOrUpdate":[{"documentId":"file:///a","data":"x","title":"a","Title":"b"}]}"#.to_owned(),
            r#"{"addOrUpdate":[{"documentId":"file:///a","data":"x","K":1,"k":2}]}"#.to_owned(),
            r#"{"addOrUpdate":[{"documentId":"file:///a","data":"x","m":[{"a":1,"A":2}]}]}"#.to_owned(),
            r#"{"addOrUpdate":[{"documentId":"file:///a","data":"x","permissions":[{"allowedPermissions":[{"identity":"a","identityType":"Group","identity":"b"}]}]}]}"#.to_owned(),
            r#"{"addOrUpdate":[{"documentId":"file:///a","data":"x","permissions":[{"allowedPermissions":[],"allowedPermissions":[]}]}]}"#.to_owned(),
            // Deeper than the whole file may nest.
            format!(r#"{{"addOrUpdate":[{}]}}"#, nested(126)),
            r#"{"addOrUpdate":[{"documentId":"file:///a","data":"x"}],"addorupdate":[]}"#.to_owned(),
            r#"{"addOrUpdate":null}"#.to_owned(),
            r#"{"addOrUpdate":{}}"#.to_owned(),
            r#"{"delete":{}}"#.to_owned(),
            r#"{"addOrUpdate":[1,]}"#.to_owned(),
            r#"[]"#.to_owned(),
        ] {
            assert!(fast(&shared, file.as_bytes()).is_none(), "{file}");
        }
        assert!(whole(
            &shared,
            format!(r#"{{"addOrUpdate":[{}]}}"#, nested(126)).as_bytes()
        )
        .is_err());
        assert!(whole(
            &shared,
            format!(r#"{{"addOrUpdate":[{}]}}"#, nested(125)).as_bytes()
        )
        .is_ok());
    }
}
