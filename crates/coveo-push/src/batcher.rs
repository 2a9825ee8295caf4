//! The streaming batcher: packs item adds and deletes into batch files, each uploaded to its
//! own file container and applied with `PUT documents/batch?fileId=`.
//!
//! Memory: the batch being built is written to a temp file as items arrive, so the batcher
//! holds only the items being encoded (each at most ~5 MB, larger content goes to its own
//! container) plus fixed buffers. Uploads stream from those files with a known length.
//!
//! Concurrency and order: adds go in chunks of consecutive items ([`CHUNK_ITEMS`]); each chunk
//! is validated, read and compressed on a blocking thread, up to one chunk per core at a time,
//! and items are appended in the order they were given. Up to
//! [`DEFAULT_UPLOADS_IN_FLIGHT`] batches upload at once, but the `documents/batch` calls that
//! apply them are made strictly one after the other in batch order, so a later change to an
//! item always reaches the service after an earlier one. An item id seen twice in the batch
//! being built seals that batch first (the order of operations inside one batch is not
//! documented).
//!
//! Errors: a problem with one item (invalid, unreadable) is recorded and the run goes on; a
//! batch that fails after retries is recorded with its items and the run goes on. An error
//! that dooms every later request (unauthorized, forbidden, unknown source, a quota, and
//! throttling that outlasted the retries) **stops** the batcher:
//! - every later `add`/`delete` returns that error (and queues nothing), so the caller halts
//!   and, for a throttle or quota, pauses until the time the service gave;
//! - nothing more is sent: no batch is applied after it (not even one already uploaded), no
//!   file container is created and no item content is uploaded;
//! - nothing is dropped silently: [`Batcher::finish`] still waits for the batches in flight
//!   and lists every item that was not sent, with that error: batches already built (or being
//!   built) as [`BatchProblem`]s, items still queued for encoding in
//!   [`BatchSummary::item_problems`]. It returns the error itself instead of the summary only
//!   when no `add`/`delete` returned it yet, so a caller always sees the error once.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::client::{DeleteItem, PushClient};
use crate::document::Document;
use crate::encode::{UploadSource, IN_MEMORY_COMPRESSION_MAX, MAX_CONTAINER_BYTES};
use crate::error::{Error, ErrorKind};
use crate::progress::ProgressEvent;

/// Default byte cap of one batch file. Bigger batches mean fewer requests (the Push API's
/// throughput guidance counts calls, and each batch is one `documents/batch` call), but a failed
/// upload is retried whole, and the "accepted" event (what the caller may record as pushed)
/// comes once per batch. 32 MB uploads in about 25 s on a 10 Mbit/s office uplink, so a retry
/// costs seconds, not minutes, while still packing hundreds of typical office files per call;
/// it stays far below the 256 MB container limit.
pub const DEFAULT_MAX_BATCH_BYTES: u64 = 32 * 1024 * 1024;
/// Default number of batch uploads running at once. Two overlap one upload with the next
/// batch's building and the previous batch's `documents/batch` call; more only splits the
/// same uplink bandwidth.
pub const DEFAULT_UPLOADS_IN_FLIGHT: usize = 2;
/// The highest compression level the batcher goes to while the uplink sets the pace (see
/// [`next_level`]). Level 6 is zlib's default, the level of Coveo's own clients.
pub const MAX_ADAPTIVE_LEVEL: u32 = 6;
/// A wait for an upload slot at least this long means the uplink, not the encoders, sets the
/// pace: the CPU time compressing harder costs is then hidden behind the upload.
pub const UPLINK_BOUND_WAIT: Duration = Duration::from_millis(100);

/// The compression level for the items after a batch was sealed, from the level they were
/// encoded at, the client's own level (`base`) and how long sealing waited for an upload slot:
/// up two levels (to at most [`MAX_ADAPTIVE_LEVEL`]) when the uplink is the bottleneck, since
/// every byte saved then saves upload time; back down two (to at least `base`) when sealing
/// did not wait at all, since the encoders are then the bottleneck. Pure.
pub fn next_level(current: u32, base: u32, waited: Duration) -> u32 {
    let top = MAX_ADAPTIVE_LEVEL.max(base);
    if waited >= UPLINK_BOUND_WAIT {
        (current + 2).min(top)
    } else if waited < UPLINK_BOUND_WAIT / 10 {
        current.saturating_sub(2).max(base)
    } else {
        current
    }
}

/// Chunks queued for encoding per encoder: while the oldest chunk is still being encoded (or
/// appended to the batch), the next ones are already being read and compressed, so no
/// encoder waits for the slowest chunk in front of it.
pub const QUEUED_PER_ENCODER: usize = 4;
/// Content bytes queued for encoding at most (by [`Document::expected_size`]; a file of
/// unknown size counts as `IN_MEMORY_COMPRESSION_MAX`), and never more than a batch's cap:
/// each encoded item waits in memory until it is appended, so this bounds the queue's memory
/// whatever the files' sizes. The oldest chunk always goes, however large.
pub const MAX_QUEUED_CONTENT_BYTES: u64 = 16 * 1024 * 1024;

/// How a [`Batcher`] packs and sends.
#[derive(Debug, Clone)]
pub struct BatcherConfig {
    pub source: String,
    /// Byte cap of one batch file (an item larger than the cap alone still goes in one batch).
    pub max_batch_bytes: u64,
    pub uploads_in_flight: usize,
    /// Items encoded (read, compressed) at once; default: one per core.
    pub encoders: usize,
    /// Sent as the orderingId of every batch; `None` lets the service use its receipt time.
    pub ordering_id: Option<u64>,
}

impl BatcherConfig {
    pub fn new(source: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
            uploads_in_flight: DEFAULT_UPLOADS_IN_FLIGHT,
            encoders: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            ordering_id: None,
        }
    }
}

/// A batch that failed after retries.
#[derive(Debug)]
pub struct BatchProblem {
    pub batch: u64,
    pub added: Vec<String>,
    pub deleted: Vec<String>,
    pub error: Error,
}

/// What a run did. `added`/`deleted` list only what the Push API accepted.
#[derive(Debug, Default)]
pub struct BatchSummary {
    pub batches_accepted: u64,
    pub added: Vec<String>,
    pub deleted: Vec<String>,
    /// Bytes of batch files and item containers whose upload succeeded (bodies as sent).
    pub bytes_uploaded: u64,
    /// Items refused before sending (invalid, unreadable, too large), with why; after a stop
    /// (see the module docs), also the adds and deletes still queued, with the stopping error.
    pub item_problems: Vec<(String, Error)>,
    /// Batches that failed, or were not sent because the batcher had stopped.
    pub batch_problems: Vec<BatchProblem>,
    /// The highest compression level items were encoded at (see [`next_level`]).
    pub highest_level: u32,
}

/// What one item of a chunk became: its JSON and the bytes of its own container (0 when
/// inline), or why it was not.
type Encoded = Result<(Vec<u8>, u64), Error>;

enum Pending {
    /// A chunk of consecutive adds being encoded: the task (one result per item, in order),
    /// their documentIds, and the content bytes they were expected to read.
    Adds(JoinHandle<Vec<Encoded>>, Vec<String>, u64),
    Delete(DeleteItem),
}

/// Consecutive adds not yet handed to an encoder: they go as one chunk, so a thousand small
/// files cost a few dozen task switches instead of thousands.
#[derive(Default)]
struct Forming {
    docs: Vec<Document>,
    bytes: u64,
}

/// A chunk goes to an encoder once it holds this many items...
pub const CHUNK_ITEMS: usize = 16;
/// ...or this many bytes of expected content, or half a batch's cap if that is less (a chunk
/// never holds much more than a batch, so a pause still stops within a batch or two).
pub const CHUNK_BYTES: u64 = 1024 * 1024;

struct BatchFile {
    writer: tokio::io::BufWriter<tokio::fs::File>,
    path: tempfile::TempPath,
    /// Bytes written so far (header + items + commas).
    written: u64,
    added: Vec<String>,
    deletes: Vec<DeleteItem>,
    /// Length of the `delete` array's JSON content (without brackets).
    deletes_len: u64,
    ids: HashSet<String>,
}

const HEADER: &[u8] = b"{\"addOrUpdate\":[";
const MIDDLE: &[u8] = b"],\"delete\":[";
const FOOTER: &[u8] = b"]}";

impl BatchFile {
    /// The exact size the file will have if sealed now.
    fn size(&self) -> u64 {
        self.written + MIDDLE.len() as u64 + self.deletes_len + FOOTER.len() as u64
    }

    fn is_empty(&self) -> bool {
        self.added.is_empty() && self.deletes.is_empty()
    }
}

#[derive(Default)]
struct Shared {
    summary: BatchSummary,
    /// The error that stopped the batcher (kept): nothing is sent after it.
    stopped: Option<Error>,
    /// Whether `add`, `delete` or `finish` returned `stopped` to the caller already.
    stop_returned: bool,
}

impl Shared {
    fn stop(&mut self, error: &Error) {
        if self.stopped.is_none() {
            self.stopped = Some(error.duplicate());
        }
    }
}

/// The error that stopped the batcher, if it stopped.
fn stopped(shared: &Mutex<Shared>) -> Option<Error> {
    shared
        .lock()
        .ok()
        .and_then(|s| s.stopped.as_ref().map(Error::duplicate))
}

/// Packs items into file containers. Call [`Batcher::finish`] at the end: it sends the last
/// batch and waits for every upload. Dropping a batcher without `finish` aborts its work:
/// batches not yet accepted are simply not accepted (no "accepted" event), so a caller that
/// records only accepted items stays correct.
pub struct Batcher {
    client: PushClient,
    config: BatcherConfig,
    pending: VecDeque<Pending>,
    forming: Forming,
    /// One permit per encoder: what may be read and compressed at once.
    encoders: Arc<tokio::sync::Semaphore>,
    /// The compression level of the chunks that start encoding from now on (see
    /// [`next_level`]).
    level: Arc<AtomicU32>,
    /// Sum of the expected content sizes of the adds in `pending`.
    pending_bytes: u64,
    current: Option<BatchFile>,
    in_flight: VecDeque<JoinHandle<()>>,
    previous_applied: Option<oneshot::Receiver<()>>,
    next_batch: u64,
    shared: Arc<Mutex<Shared>>,
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher")
            .field("config", &self.config)
            .field("next_batch", &self.next_batch)
            .finish_non_exhaustive()
    }
}

impl Drop for Batcher {
    fn drop(&mut self) {
        for task in self.in_flight.drain(..) {
            task.abort();
        }
        for pending in self.pending.drain(..) {
            if let Pending::Adds(task, ..) = pending {
                task.abort();
            }
        }
    }
}

/// Errors after which no later request can succeed for now: the batcher stops. A throttle that
/// outlasted the retries is one of them: sending the next batches would only be throttled too
/// (and count against the same limit), so the caller pauses until `Retry-After` instead.
fn is_fatal(kind: &ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Unauthorized
            | ErrorKind::Forbidden
            | ErrorKind::NotFound { .. }
            | ErrorKind::QuotaReached { .. }
            | ErrorKind::Throttled { .. }
            | ErrorKind::UnsupportedSource { .. }
    )
}

fn temp_error(e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::LocalFile {
            path: std::env::temp_dir(),
        },
        "write batch file",
        format!("cannot write a temp batch file: {e}"),
    )
}

impl Batcher {
    pub fn new(client: PushClient, mut config: BatcherConfig) -> Self {
        config.max_batch_bytes = config.max_batch_bytes.clamp(1, MAX_CONTAINER_BYTES);
        config.uploads_in_flight = config.uploads_in_flight.max(1);
        config.encoders = config.encoders.max(1);
        Self {
            level: Arc::new(AtomicU32::new(client.compression_level())),
            client,
            encoders: Arc::new(tokio::sync::Semaphore::new(config.encoders)),
            config,
            pending: VecDeque::new(),
            forming: Forming::default(),
            pending_bytes: 0,
            current: None,
            in_flight: VecDeque::new(),
            previous_applied: None,
            next_batch: 1,
            shared: Arc::new(Mutex::new(Shared::default())),
        }
    }

    /// `Err` with the stopping error once the batcher stopped (every time), marking it seen.
    fn refuse_if_stopped(&self) -> Result<(), Error> {
        let mut shared = self
            .shared
            .lock()
            .map_err(|_| Error::invalid_input("the batcher state is poisoned"))?;
        match shared.stopped.as_ref().map(Error::duplicate) {
            Some(e) => {
                shared.stop_returned = true;
                Err(e)
            }
            None => Ok(()),
        }
    }

    /// Queues an add or update. Returns once the item is queued for encoding (it may wait for
    /// earlier items and uploads to make room). Once the batcher stopped, returns the error
    /// that stopped it (see the module docs), every time, and queues nothing.
    pub async fn add(&mut self, doc: Document) -> Result<(), Error> {
        self.refuse_if_stopped()?;
        // What encoding may hold in memory: files above the in-memory limit stream, and a
        // file of unknown size counts as one at the limit.
        let expected = doc
            .expected_size()
            .unwrap_or(IN_MEMORY_COMPRESSION_MAX)
            .min(IN_MEMORY_COMPRESSION_MAX);
        self.forming.docs.push(doc);
        self.forming.bytes += expected;
        let chunk_bytes = CHUNK_BYTES.min(self.config.max_batch_bytes / 2);
        if self.forming.docs.len() >= CHUNK_ITEMS || self.forming.bytes >= chunk_bytes {
            self.hand_over();
            self.drain_pending(self.queue_len()).await?;
        }
        self.refuse_if_stopped()
    }

    /// Hands the forming chunk to an encoder: one task reads, hashes and compresses its items
    /// in order on one blocking thread (once it has an encoder's permit), then uploads the
    /// content of any item too large for a request, and writes each item's JSON.
    fn hand_over(&mut self) {
        let Forming { docs, bytes } = std::mem::take(&mut self.forming);
        if docs.is_empty() {
            return;
        }
        let ids: Vec<String> = docs.iter().map(|d| d.id().to_string()).collect();
        let client = self.client.clone();
        let shared = self.shared.clone();
        let encoders = self.encoders.clone();
        let level = self.level.clone();
        let task = tokio::spawn(async move {
            // Chunks wait their turn (the semaphore is first come, first served), so no
            // more than `encoders` read and compress at once, each on its own thread.
            let turn = encoders.acquire_owned().await;
            // The level as it is when encoding starts, not when the chunk was queued.
            let level = level.load(Ordering::Relaxed);
            if let Ok(mut s) = shared.lock() {
                s.summary.highest_level = s.summary.highest_level.max(level);
            }
            let items = client.encode_documents_at(docs, Some(level)).await;
            drop(turn);
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(match (item, stopped(&shared)) {
                    (Err(e), _) => Err(e),
                    // Stopped meanwhile: no content is uploaded.
                    (Ok(_), Some(stop)) => Err(stop),
                    (Ok(item), None) => {
                        let before = item.content_container_len();
                        match client.upload_item_content(&item).await {
                            Ok(file_id) => Ok((item.into_json(file_id.as_deref()), before)),
                            Err(e) => Err(e),
                        }
                    }
                });
            }
            out
        });
        self.pending.push_back(Pending::Adds(task, ids, bytes));
        self.pending_bytes += bytes;
    }

    /// Queues a delete (ordered with the adds around it). Once the batcher stopped, returns
    /// the error that stopped it, every time, and queues nothing.
    pub async fn delete(
        &mut self,
        document_id: impl Into<String>,
        delete_children: bool,
    ) -> Result<(), Error> {
        self.refuse_if_stopped()?;
        // After the adds before it, in order.
        self.hand_over();
        self.pending.push_back(Pending::Delete(DeleteItem {
            document_id: document_id.into(),
            delete_children,
        }));
        self.drain_pending(self.queue_len()).await?;
        self.refuse_if_stopped()
    }

    /// Sends what is left, waits for every batch, and returns what happened.
    ///
    /// After a stop (see the module docs) nothing more is sent, and every item not sent is in
    /// the summary's problems with the stopping error; the error itself is returned instead
    /// when no `add`/`delete` returned it yet. Other errors: the temp batch file could not be
    /// written.
    pub async fn finish(mut self) -> Result<BatchSummary, Error> {
        self.hand_over();
        self.drain_pending(0).await?;
        self.seal().await?;
        while let Some(task) = self.in_flight.pop_front() {
            let _ = task.await;
        }
        let mut shared = self
            .shared
            .lock()
            .map_err(|_| Error::invalid_input("the batcher state is poisoned"))?;
        if let Some(e) = shared.stopped.take() {
            if !shared.stop_returned {
                return Err(e);
            }
        }
        Ok(std::mem::take(&mut shared.summary))
    }

    /// Records an item not sent because the batcher stopped.
    fn not_sent(&self, id: String, error: Error) {
        if let Ok(mut s) = self.shared.lock() {
            s.summary.item_problems.push((id, error));
        }
    }

    /// How many chunks may wait in the queue (see [`QUEUED_PER_ENCODER`]).
    fn queue_len(&self) -> usize {
        self.config.encoders * QUEUED_PER_ENCODER
    }

    /// Moves encoded chunks from the head of the queue into the batch until at most `keep`
    /// remain queued and their content is within [`MAX_QUEUED_CONTENT_BYTES`] and the batch
    /// cap, then any that are already encoded; once the batcher stopped, records their items
    /// as not sent instead. Returns only local
    /// errors (the temp batch file).
    async fn drain_pending(&mut self, keep: usize) -> Result<(), Error> {
        // Beyond what must go, whatever is already encoded at the head goes too: batches
        // fill, seal and upload while the encoders work on what follows.
        let ready = |p: &Pending| match p {
            Pending::Adds(task, ..) => task.is_finished(),
            Pending::Delete(_) => true,
        };
        // Never more content queued than one batch holds either: what is queued is sent even
        // when the caller pauses, so a pause stops within a batch or two.
        let max_bytes = MAX_QUEUED_CONTENT_BYTES.min(self.config.max_batch_bytes);
        while self.pending.len() > keep
            || (self.pending.len() > 1 && self.pending_bytes > max_bytes)
            || self.pending.front().is_some_and(ready)
        {
            let Some(next) = self.pending.pop_front() else {
                break;
            };
            if let Pending::Adds(_, _, expected) = &next {
                self.pending_bytes = self.pending_bytes.saturating_sub(*expected);
            }
            if let Some(e) = stopped(&self.shared) {
                match next {
                    Pending::Adds(task, ids, _) => {
                        task.abort();
                        for id in ids {
                            self.not_sent(id, e.duplicate());
                        }
                    }
                    Pending::Delete(d) => self.not_sent(d.document_id, e),
                }
                continue;
            }
            match next {
                Pending::Adds(task, ids, _) => {
                    let results = match task.await {
                        Ok(results) => results,
                        Err(e) => ids
                            .iter()
                            .map(|id| Err(Error::encoder_stopped(id, &e)))
                            .collect(),
                    };
                    for (id, result) in ids.into_iter().zip(results) {
                        self.take_encoded(id, result).await?;
                    }
                }
                Pending::Delete(d) => self.append_delete(d).await?,
            }
        }
        Ok(())
    }

    /// Appends one encoded item to the batch, or records why it was not sent.
    async fn take_encoded(&mut self, id: String, result: Encoded) -> Result<(), Error> {
        match result {
            Ok((json, container_bytes)) => {
                if let Ok(mut s) = self.shared.lock() {
                    s.summary.bytes_uploaded += container_bytes;
                }
                match stopped(&self.shared) {
                    Some(e) => self.not_sent(id, e),
                    None => self.append_add(id, json).await?,
                }
            }
            Err(e) if is_fatal(e.kind()) => {
                // This item's own calls were refused for good (or the batcher stopped while
                // it was encoded): stop, and say it was not sent.
                if let Ok(mut s) = self.shared.lock() {
                    s.stop(&e);
                    s.summary.item_problems.push((id, e));
                }
            }
            Err(e) => {
                tracing::debug!(item = %id, error = %e, "item refused");
                if let Ok(mut s) = self.shared.lock() {
                    s.summary.item_problems.push((id, e));
                }
            }
        }
        Ok(())
    }

    async fn open_batch(&self) -> Result<BatchFile, Error> {
        let temp = match &self.client.config().temp_dir {
            Some(dir) => tempfile::NamedTempFile::new_in(dir),
            None => tempfile::NamedTempFile::new(),
        }
        .map_err(temp_error)?;
        let (file, path) = temp.into_parts();
        let mut writer =
            tokio::io::BufWriter::with_capacity(256 * 1024, tokio::fs::File::from_std(file));
        writer.write_all(HEADER).await.map_err(temp_error)?;
        Ok(BatchFile {
            writer,
            path,
            written: HEADER.len() as u64,
            added: Vec::new(),
            deletes: Vec::new(),
            deletes_len: 0,
            ids: HashSet::new(),
        })
    }

    /// Seals the current batch first if `id` is already in it or `extra` bytes would pass the cap.
    async fn make_room(&mut self, id: &str, extra: u64) -> Result<(), Error> {
        if let Some(b) = &self.current {
            if !b.is_empty()
                && (b.ids.contains(id) || b.size() + extra > self.config.max_batch_bytes)
            {
                self.seal().await?;
            }
        }
        if self.current.is_none() {
            self.current = Some(self.open_batch().await?);
        }
        Ok(())
    }

    async fn append_add(&mut self, id: String, json: Vec<u8>) -> Result<(), Error> {
        let comma = |b: &BatchFile| u64::from(!b.added.is_empty());
        let extra = json.len() as u64 + self.current.as_ref().map(comma).unwrap_or(0);
        self.make_room(&id, extra).await?;
        let Some(b) = self.current.as_mut() else {
            return Ok(());
        };
        if !b.added.is_empty() {
            b.writer.write_all(b",").await.map_err(temp_error)?;
            b.written += 1;
        }
        b.writer.write_all(&json).await.map_err(temp_error)?;
        b.written += json.len() as u64;
        b.ids.insert(id.clone());
        b.added.push(id);
        Ok(())
    }

    async fn append_delete(&mut self, d: DeleteItem) -> Result<(), Error> {
        let json = serde_json::to_vec(&d).unwrap_or_default();
        let extra = json.len() as u64
            + self
                .current
                .as_ref()
                .map(|b| u64::from(!b.deletes.is_empty()))
                .unwrap_or(0);
        self.make_room(&d.document_id, extra).await?;
        let Some(b) = self.current.as_mut() else {
            return Ok(());
        };
        b.deletes_len += extra;
        b.ids.insert(d.document_id.clone());
        b.deletes.push(d);
        Ok(())
    }

    /// Finishes the current batch file and starts its upload (waiting for room first).
    async fn seal(&mut self) -> Result<(), Error> {
        let Some(mut b) = self.current.take() else {
            return Ok(());
        };
        if b.is_empty() {
            return Ok(());
        }
        let size = b.size();
        b.writer.write_all(MIDDLE).await.map_err(temp_error)?;
        for (i, d) in b.deletes.iter().enumerate() {
            if i > 0 {
                b.writer.write_all(b",").await.map_err(temp_error)?;
            }
            b.writer
                .write_all(&serde_json::to_vec(d).unwrap_or_default())
                .await
                .map_err(temp_error)?;
        }
        b.writer.write_all(FOOTER).await.map_err(temp_error)?;
        b.writer.flush().await.map_err(temp_error)?;
        // Flushed is enough: the upload reads it back through the page cache, and a temp
        // batch file is worth nothing after a crash, so it is never forced to disk.
        drop(b.writer);

        let batch = self.next_batch;
        self.next_batch += 1;
        let added = b.added;
        let deleted: Vec<String> = b.deletes.into_iter().map(|d| d.document_id).collect();
        self.client.emit(ProgressEvent::BatchBuilt {
            batch,
            items: added.len(),
            deletes: deleted.len(),
            bytes: size,
        });

        let waiting = Instant::now();
        while self.in_flight.len() >= self.config.uploads_in_flight {
            if let Some(task) = self.in_flight.pop_front() {
                let _ = task.await;
            }
        }
        let current = self.level.load(Ordering::Relaxed);
        let next = next_level(current, self.client.compression_level(), waiting.elapsed());
        if next != current {
            tracing::debug!(
                from = current,
                to = next,
                "compression level changed: the uplink {} the pace",
                if next > current {
                    "sets"
                } else {
                    "no longer sets"
                }
            );
            self.level.store(next, Ordering::Relaxed);
        }
        let previous = self.previous_applied.take();
        let (applied_tx, applied_rx) = oneshot::channel::<()>();
        self.previous_applied = Some(applied_rx);
        let client = self.client.clone();
        let shared = self.shared.clone();
        let source = self.config.source.clone();
        let ordering_id = self.config.ordering_id;
        let path = Arc::new(b.path);
        let task = tokio::spawn(async move {
            let result = async {
                if let Some(e) = stopped(&shared) {
                    return Err(e);
                }
                let container = client.create_file_container().await?;
                client
                    .upload(
                        &container,
                        UploadSource::Temp(path.clone()),
                        size,
                        &format!("upload batch {batch}"),
                    )
                    .await?;
                if let Ok(mut s) = shared.lock() {
                    s.summary.bytes_uploaded += size;
                }
                client.emit(ProgressEvent::BatchUploaded { batch, bytes: size });
                // Apply batches strictly in order (see the module docs).
                if let Some(previous) = previous {
                    let _ = previous.await;
                }
                // An earlier batch stopped the batcher: this one is not applied.
                if let Some(e) = stopped(&shared) {
                    return Err(e);
                }
                client
                    .push_batch_file(&source, &container.file_id, ordering_id)
                    .await
            }
            .await;
            drop(applied_tx);
            drop(path);
            match result {
                Ok(()) => {
                    client.emit(ProgressEvent::BatchAccepted {
                        batch,
                        added: added.clone(),
                        deleted: deleted.clone(),
                        ordering_id,
                        bytes: size,
                    });
                    if let Ok(mut s) = shared.lock() {
                        s.summary.batches_accepted += 1;
                        s.summary.added.extend(added);
                        s.summary.deleted.extend(deleted);
                    }
                }
                Err(error) => {
                    client.emit(ProgressEvent::BatchFailed {
                        batch,
                        added: added.clone(),
                        deleted: deleted.clone(),
                        code: error.code(),
                        message: error.to_string(),
                    });
                    if let Ok(mut s) = shared.lock() {
                        if is_fatal(error.kind()) {
                            s.stop(&error);
                        }
                        s.summary.batch_problems.push(BatchProblem {
                            batch,
                            added,
                            deleted,
                            error,
                        });
                    }
                }
            }
        });
        self.in_flight.push_back(task);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_follows_what_sets_the_pace() {
        let slow = UPLINK_BOUND_WAIT;
        let none = Duration::ZERO;
        let some = UPLINK_BOUND_WAIT / 2;
        // (current, base, waited) -> next
        let cases = [
            ((2, 2, slow), 4),
            ((4, 2, slow), 6),
            ((6, 2, slow), MAX_ADAPTIVE_LEVEL),
            ((5, 2, slow), 6),
            ((6, 2, none), 4),
            ((4, 2, none), 2),
            ((2, 2, none), 2),
            ((3, 2, none), 2),
            ((4, 2, some), 4),
            // A client set above the ceiling stays where it was set.
            ((9, 9, slow), 9),
            ((9, 9, none), 9),
        ];
        for ((current, base, waited), want) in cases {
            assert_eq!(
                next_level(current, base, waited),
                want,
                "from {current} (base {base}) after waiting {waited:?}"
            );
        }
    }
}
