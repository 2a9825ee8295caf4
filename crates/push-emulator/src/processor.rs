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
use serde_json::Value;

use crate::clock::Millis;
use crate::json::{get_ci, parse_strict};
use crate::state::{Changes, ContainerState, OpContext, State};
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
    Ready(CheckedDocument, wire::Materialized),
    Rejected {
        id: String,
        task: &'static str,
        error: String,
        /// A container the entry referenced (and consumed) before failing.
        consumed: Option<String>,
    },
}

fn prepare(shared: &Shared, index: usize, entry: Value) -> Prepared {
    let hint = entry
        .as_object()
        .and_then(|o| get_ci(o, "documentId"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut doc = match wire::check_document(entry, None, None) {
        Ok(doc) => doc,
        Err(e) => {
            let id = hint.unwrap_or_else(|| format!("addOrUpdate[{index}]"));
            return Prepared::Rejected {
                id,
                task: "CONSUMING",
                error: e.message,
                consumed: None,
            };
        }
    };
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
            if let Some(id) = consumed {
                // Keep the reference so the journal forgets the container.
                doc.content = ContentSource::CompressedBinaryDataFileId(id);
            }
            Prepared::Ready(doc, mat)
        }
        Err(error) => Prepared::Rejected {
            id: doc.document_id,
            task: "PROCESSING",
            error,
            consumed,
        },
    }
}

fn prepare_all(shared: &Shared, adds: Vec<Value>) -> Vec<Prepared> {
    let threads = PREPARE_THREADS
        .min(adds.len() / MIN_ITEMS_PER_THREAD)
        .max(1);
    if threads == 1 {
        return adds
            .into_iter()
            .enumerate()
            .map(|(i, e)| prepare(shared, i, e))
            .collect();
    }
    let per_thread = adds.len().div_ceil(threads);
    let mut chunks: Vec<(usize, Vec<Value>)> = Vec::with_capacity(threads);
    let mut rest = adds;
    let mut offset = 0;
    while !rest.is_empty() {
        let tail = rest.split_off(per_thread.min(rest.len()));
        let len = rest.len();
        chunks.push((offset, std::mem::replace(&mut rest, tail)));
        offset += len;
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|(offset, chunk)| {
                scope.spawn(move || {
                    chunk
                        .into_iter()
                        .enumerate()
                        .map(|(i, e)| prepare(shared, offset + i, e))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join().unwrap_or_else(|_| {
                    vec![Prepared::Rejected {
                        id: String::new(),
                        task: "PROCESSING",
                        error: "the emulator failed while decoding part of this batch".into(),
                        consumed: None,
                    }]
                })
            })
            .collect()
    })
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
    let parsed = take_container(shared, file_id, changes).and_then(|bytes| {
        parse_strict(&bytes).map_err(|e| format!("the batch file is not valid JSON: {e}"))
    });
    let value = match parsed {
        Ok(v) => v,
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
    let lists = match value {
        Value::Object(mut obj) => take_array_ci(&mut obj, "addOrUpdate")
            .and_then(|adds| Ok((adds, take_array_ci(&mut obj, "delete")?))),
        _ => Err(
            "the batch file must be a JSON object with addOrUpdate and delete arrays".to_owned(),
        ),
    };
    let (adds, deletes) = match lists {
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
    // Check and decode outside the state lock, on several threads for large batches: this is
    // the expensive part. Results keep file order.
    let mut ready = Vec::with_capacity(adds.len());
    for prepared in prepare_all(shared, adds) {
        match prepared {
            Prepared::Ready(doc, mat) => ready.push((doc, mat)),
            Prepared::Rejected {
                id,
                task,
                error,
                consumed,
            } => {
                changes
                    .logs
                    .push(ctx.log(source, &id, "ADD", task, "REJECTED", Some(error)));
                changes.containers_removed.extend(consumed);
            }
        }
    }
    for (doc, _) in &ready {
        if let ContentSource::CompressedBinaryDataFileId(id) = &doc.content {
            changes.containers_removed.push(id.clone());
        }
    }
    let mut state = shared.lock_state();
    for (doc, mat) in ready {
        // A `rejectItems` fault rejects the item here, as the pipeline would.
        match state
            .faults
            .faults
            .rejection(&doc.document_id)
            .map(str::to_owned)
        {
            Some(reason) => changes.logs.push(ctx.log(
                source,
                &doc.document_id,
                "ADD",
                "PROCESSING",
                "REJECTED",
                Some(reason),
            )),
            None => state.put_item(ctx, source, doc, mat, changes),
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
