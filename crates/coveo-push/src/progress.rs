//! Progress events, so a progress bar can be honest: a batch is "accepted" only when the Push
//! API answered 202 to it, never merely because its upload finished.

use std::sync::Arc;
use std::time::Duration;

/// Something that happened while pushing.
#[derive(Debug, Clone, PartialEq)]
pub enum ProgressEvent {
    /// A batch file is complete (not yet sent).
    BatchBuilt {
        batch: u64,
        items: usize,
        deletes: usize,
        bytes: u64,
    },
    /// The batch file is in its file container (not yet accepted).
    BatchUploaded { batch: u64, bytes: u64 },
    /// The Push API accepted the batch (202): these items are queued for indexing.
    /// `ordering_id` is the one sent, or `None` when the service assigned its own (its
    /// receipt time in ms).
    BatchAccepted {
        batch: u64,
        added: Vec<String>,
        deleted: Vec<String>,
        ordering_id: Option<u64>,
        bytes: u64,
    },
    /// The batch failed for good (after retries); its items were not accepted.
    BatchFailed {
        batch: u64,
        added: Vec<String>,
        deleted: Vec<String>,
        code: &'static str,
        message: String,
    },
    /// The encoder read an item's content whole (asked with
    /// [`Document::report_content_hash`](crate::Document::report_content_hash)): its SHA-256
    /// (hex) and length, of exactly the bytes sent. Comes before the batch holding the item
    /// is accepted.
    ContentRead {
        document_id: String,
        sha256: String,
        bytes: u64,
    },
    /// An item too large for a request went to its own file container.
    ItemContentUploaded { document_id: String, bytes: u64 },
    /// A request failed in a retryable way; the client waits `wait` before attempt `attempt`.
    RetryWaiting {
        operation: String,
        attempt: u32,
        wait: Duration,
        reason: String,
    },
}

/// Where events go. Called from the task doing the work; must not block.
pub type ProgressSink = Arc<dyn Fn(ProgressEvent) + Send + Sync>;
