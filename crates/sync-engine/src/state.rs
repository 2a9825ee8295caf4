//! The state store: what the Push API accepted, per item, in one SQLite file.
//!
//! SQLite (bundled) in WAL mode with `synchronous = FULL`: every recorded acceptance survives a
//! crash or a power cut, so the only loss is a transaction not yet committed, which leads to a
//! re-push (ARCHITECTURE.md, invariant 5). The schema evolves through numbered migrations kept in
//! [`MIGRATIONS`] and applied by `PRAGMA user_version`.
//!
//! How rows follow the item's life:
//! - before a batch is sent, its items are marked `pending` ([`Store::mark_pending`]): a new
//!   item gets a row with an empty content hash, an existing row keeps its last accepted values.
//!   So if the process dies after the API accepted the batch but before it was recorded, the
//!   next plan sees a pending row and pushes again; and if the file is deleted meanwhile, the
//!   row still exists, so the delete is sent too (no orphan in the index).
//! - when the API accepted the batch, the new values and its orderingId are recorded
//!   ([`Store::record_accepted`]), state `accepted`.
//! - a delete keeps the row until the API accepted the delete ([`Store::record_deleted`]); a
//!   crash in between re-sends the delete.
//! - the Source Logs then mark items `indexed` or `rejected` with the reason.
//!
//! Contract: a [`Store`] is used from one thread at a time (the engine's loop); every write is
//! one transaction; calls are short (milliseconds) and may run on the async loop.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::model::{FileId, FileProblem, KnownFile};

/// Numbered schema migrations: entry `i` moves `user_version` from `i` to `i + 1`. Never edit a
/// shipped entry; append a new one.
pub const MIGRATIONS: &[&str] = &[
    // 1: folders and items.
    "CREATE TABLE folders (
        name TEXT PRIMARY KEY,
        last_full_sync_ms INTEGER,
        last_problems TEXT NOT NULL DEFAULT '[]',
        attention TEXT
    );
    CREATE TABLE items (
        folder TEXT NOT NULL,
        path TEXT NOT NULL,
        document_id TEXT NOT NULL,
        content_hash TEXT NOT NULL DEFAULT '',
        size INTEGER NOT NULL DEFAULT 0,
        mtime_ns INTEGER NOT NULL DEFAULT 0,
        file_device INTEGER,
        file_inode INTEGER,
        permission_fp TEXT NOT NULL DEFAULT '',
        metadata_fp TEXT NOT NULL DEFAULT '',
        ordering_id INTEGER,
        state TEXT NOT NULL,
        reason TEXT,
        PRIMARY KEY (folder, path)
    );",
    // 2: look-ups by documentId (Source Logs) and retry bookkeeping for per-file problems.
    "CREATE INDEX items_by_document ON items (document_id);
    CREATE TABLE retries (
        folder TEXT NOT NULL,
        path TEXT NOT NULL,
        kind TEXT NOT NULL,
        message TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_ms INTEGER NOT NULL,
        PRIMARY KEY (folder, path)
    );",
    // 3: the last orderingId used per source, so every run's orderingId is higher than the
    // previous one even when the clock goes back.
    "CREATE TABLE sources (
        organization TEXT NOT NULL,
        source TEXT NOT NULL,
        last_ordering_id INTEGER NOT NULL,
        PRIMARY KEY (organization, source)
    );",
    // 4: the fingerprint of the security identities last accepted for a folder (its
    // `identities` file), so an unchanged file is not pushed again.
    "CREATE TABLE identities (
        folder TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        accepted_ms INTEGER NOT NULL
    );",
];

/// First wait before retrying a file that failed; doubled per attempt up to [`RETRY_MAX_MS`].
/// A minute lets a file being copied finish; the cap keeps a broken file from being forgotten.
pub const RETRY_BASE_MS: i64 = 60_000;
/// Longest wait between two retries of one file (6 hours).
pub const RETRY_MAX_MS: i64 = 6 * 60 * 60 * 1000;

/// The state store could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("the state store {} cannot be opened: {source}; check the folder's permissions and free space", path.display())]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("the state store {} was written by a newer Pushdeck (schema {found}, this one knows {known}); update Pushdeck", path.display())]
    TooNew {
        path: PathBuf,
        found: i64,
        known: usize,
    },
    #[error("the state store failed: {0}; if it repeats, check free disk space")]
    Sqlite(#[from] rusqlite::Error),
}

/// Where an item stands with the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// Sent (or about to be) but acceptance not recorded: the next plan pushes it again.
    Pending,
    /// The API accepted it (202).
    Accepted,
    /// The Source Logs say it was indexed.
    Indexed,
    /// The Source Logs say indexing rejected it ([`ItemRecord::reason`]).
    Rejected,
}

/// What the Source Logs say of one pushed item, in the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogVerdict {
    /// `ADD`/`UPDATE` completed at `INDEXING`.
    Indexed,
    /// `REJECTED`, with the service's reason.
    Rejected(String),
    /// `SKIPPED`: the service did not apply this update (a newer or equal orderingId was
    /// already there), with its reason.
    Skipped(String),
}

impl ItemState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Indexed => "indexed",
            Self::Rejected => "rejected",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "accepted" => Self::Accepted,
            "indexed" => Self::Indexed,
            "rejected" => Self::Rejected,
            // Anything unknown is treated as not accepted: at worst a re-push.
            _ => Self::Pending,
        }
    }
}

/// One item as last accepted by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemRecord {
    pub path: String,
    pub document_id: String,
    /// Empty for a new item whose first push was never confirmed.
    pub content_hash: String,
    pub size: u64,
    pub mtime_ns: i64,
    pub file_id: Option<FileId>,
    pub permission_fp: String,
    pub metadata_fp: String,
    pub ordering_id: Option<u64>,
    pub state: ItemState,
    pub reason: Option<String>,
}

/// What the API accepted for one item, to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedItem {
    pub path: String,
    pub document_id: String,
    pub content_hash: String,
    pub size: u64,
    pub mtime_ns: i64,
    pub file_id: Option<FileId>,
    pub permission_fp: String,
    pub metadata_fp: String,
}

/// Per-folder bookkeeping.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FolderRecord {
    pub last_full_sync_ms: Option<i64>,
    pub last_problems: Vec<FileProblem>,
    /// Why the folder halted (safety brake, quota), until the person confirms or resumes.
    pub attention: Option<String>,
}

/// A per-file problem waiting for its next attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    pub path: String,
    pub kind: String,
    pub message: String,
    pub attempts: u32,
    pub next_attempt_ms: i64,
}

/// The SQLite state store. See the module documentation for the row life cycle.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// How long a statement waits for another connection's write before "database is locked".
/// Writes are short (one transaction per batch or per log page, milliseconds); the margin
/// covers a slow disk syncing a large batch and the app's own readers, without hiding a
/// real deadlock for long.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl Store {
    /// Opens (creating if needed) the store at `path` and migrates it to the latest schema.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        let open_err = |source| StateError::Open {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            // A missing directory shows up as an open error just below, with the path.
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path).map_err(open_err)?;
        // First, so that even switching to WAL waits for another connection's write instead
        // of failing with "database is locked".
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        let mut store = Self { conn };
        store.migrate(path)?;
        Ok(store)
    }

    /// The schema version of the open store.
    pub fn schema_version(&self) -> Result<i64, StateError> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    fn migrate(&mut self, path: &Path) -> Result<(), StateError> {
        let current = self.schema_version()?;
        if current > MIGRATIONS.len() as i64 {
            return Err(StateError::TooNew {
                path: path.to_path_buf(),
                found: current,
                known: MIGRATIONS.len(),
            });
        }
        for (i, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(current).unwrap_or(0))
        {
            let tx = self.write_tx()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i + 1)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// A write transaction that takes the write lock when it begins (`BEGIN IMMEDIATE`), so it
    /// waits its turn (the busy timeout) behind another connection's write. A deferred one
    /// that reads first and writes after another connection wrote fails at once with
    /// "database is locked" (WAL: its read snapshot is stale), which the busy timeout cannot
    /// help: the engine, the Source Logs follow-up and the app each open their own `Store`.
    fn write_tx(&mut self) -> Result<rusqlite::Transaction<'_>, rusqlite::Error> {
        self.conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
    }

    fn ensure_folder(conn: &Connection, folder: &str) -> Result<(), rusqlite::Error> {
        conn.execute("INSERT OR IGNORE INTO folders (name) VALUES (?1)", [folder])?;
        Ok(())
    }

    /// Every item of a folder, sorted by path.
    ///
    /// The list is allocated once at its size (counted first): grown by doubling, 100,000
    /// items (208 bytes each) took a 27 MB buffer for 21 MB of items, and the buffers it left
    /// behind stayed with the allocator. The count is only a capacity hint: a write between
    /// the two statements changes no result.
    pub fn items(&self, folder: &str) -> Result<Vec<ItemRecord>, StateError> {
        let count = usize::try_from(self.item_count(folder)?).unwrap_or(0);
        let mut items = Vec::with_capacity(count);
        let mut stmt = self.conn.prepare_cached(
            "SELECT path, document_id, content_hash, size, mtime_ns, file_device, file_inode,
                    permission_fp, metadata_fp, ordering_id, state, reason
             FROM items WHERE folder = ?1 ORDER BY path",
        )?;
        let rows = stmt.query_map([folder], |r| {
            let device: Option<i64> = r.get(5)?;
            let inode: Option<i64> = r.get(6)?;
            let ordering: Option<i64> = r.get(9)?;
            // Borrowed: no String per row for a word that is parsed at once.
            let state = ItemState::parse(r.get_ref(10)?.as_str().unwrap_or(""));
            Ok(ItemRecord {
                path: r.get(0)?,
                document_id: r.get(1)?,
                content_hash: r.get(2)?,
                size: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                mtime_ns: r.get(4)?,
                file_id: match (device, inode) {
                    (Some(d), Some(i)) => Some(FileId {
                        device: d as u64,
                        inode: i as u64,
                    }),
                    _ => None,
                },
                permission_fp: r.get(7)?,
                metadata_fp: r.get(8)?,
                ordering_id: ordering.map(|o| o as u64),
                state,
                reason: r.get(11)?,
            })
        })?;
        for row in rows {
            items.push(row?);
        }
        drop(stmt);
        // Reading every row of the folder filled the page cache (2 MB) with pages no other
        // call is likely to want; freeing it lowers the peak of the scan that follows.
        self.conn.execute_batch("PRAGMA shrink_memory")?;
        Ok(items)
    }

    /// How many items the store records for a folder (every row: pending, accepted, indexed,
    /// rejected, and deletes not yet accepted), what [`Store::items`] would list.
    pub fn item_count(&self, folder: &str) -> Result<u64, StateError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM items WHERE folder = ?1")?;
        let count: i64 = stmt.query_row([folder], |r| r.get(0))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// The relative paths of a folder's items, sorted: [`Store::items`] without the rest.
    pub fn item_paths(&self, folder: &str) -> Result<Vec<String>, StateError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT path FROM items WHERE folder = ?1 ORDER BY path")?;
        let rows = stmt.query_map([folder], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// What the scan needs to skip unchanged files: accepted items only (a pending item is
    /// hashed again, which is cheap insurance).
    pub fn known_files(&self, folder: &str) -> Result<HashMap<String, KnownFile>, StateError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT path, content_hash, size, mtime_ns, file_device, file_inode FROM items
             WHERE folder = ?1 AND state != 'pending' AND content_hash != ''",
        )?;
        let rows = stmt.query_map([folder], |r| {
            let device: Option<i64> = r.get(4)?;
            let inode: Option<i64> = r.get(5)?;
            Ok((
                r.get::<_, String>(0)?,
                KnownFile {
                    content_hash: r.get(1)?,
                    size: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                    mtime_ns: r.get(3)?,
                    file_id: match (device, inode) {
                        (Some(d), Some(i)) => Some(FileId {
                            device: d as u64,
                            inode: i as u64,
                        }),
                        _ => None,
                    },
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks items as about to be sent: see the module documentation. `(path, documentId)`.
    pub fn mark_pending(
        &mut self,
        folder: &str,
        items: &[(String, String)],
    ) -> Result<(), StateError> {
        let tx = self.write_tx()?;
        Self::ensure_folder(&tx, folder)?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO items (folder, path, document_id, state) VALUES (?1, ?2, ?3, 'pending')
                 ON CONFLICT (folder, path) DO UPDATE SET state = 'pending', reason = NULL",
            )?;
            for (path, document_id) in items {
                stmt.execute(params![folder, path, document_id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Records items the API accepted in a batch with `ordering_id`.
    pub fn record_accepted(
        &mut self,
        folder: &str,
        items: &[AcceptedItem],
        ordering_id: Option<u64>,
    ) -> Result<(), StateError> {
        let tx = self.write_tx()?;
        Self::ensure_folder(&tx, folder)?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO items (folder, path, document_id, content_hash, size, mtime_ns,
                    file_device, file_inode, permission_fp, metadata_fp, ordering_id, state, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'accepted', NULL)
                 ON CONFLICT (folder, path) DO UPDATE SET
                    document_id = excluded.document_id, content_hash = excluded.content_hash,
                    size = excluded.size, mtime_ns = excluded.mtime_ns,
                    file_device = excluded.file_device, file_inode = excluded.file_inode,
                    permission_fp = excluded.permission_fp, metadata_fp = excluded.metadata_fp,
                    ordering_id = excluded.ordering_id, state = 'accepted', reason = NULL",
            )?;
            for i in items {
                stmt.execute(params![
                    folder,
                    i.path,
                    i.document_id,
                    i.content_hash,
                    i64_of(i.size),
                    i.mtime_ns,
                    i.file_id.map(|f| f.device as i64),
                    i.file_id.map(|f| f.inode as i64),
                    i.permission_fp,
                    i.metadata_fp,
                    ordering_id.map(i64_of),
                ])?;
            }
            let mut clear =
                tx.prepare_cached("DELETE FROM retries WHERE folder = ?1 AND path = ?2")?;
            for i in items {
                clear.execute(params![folder, i.path])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Forgets items whose delete the API accepted.
    pub fn record_deleted(&mut self, folder: &str, paths: &[String]) -> Result<(), StateError> {
        let tx = self.write_tx()?;
        {
            let mut stmt =
                tx.prepare_cached("DELETE FROM items WHERE folder = ?1 AND path = ?2")?;
            let mut clear =
                tx.prepare_cached("DELETE FROM retries WHERE folder = ?1 AND path = ?2")?;
            for path in paths {
                stmt.execute(params![folder, path])?;
                clear.execute(params![folder, path])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Marks accepted items indexed, rejected with the reason, or pending again when the
    /// service skipped the update (so the next plan pushes it again, as a retry), from the
    /// Source Logs. Only a row whose recorded orderingId is not newer than the log entry's
    /// changes, so a stale log line cannot mark a newer push.
    pub fn record_outcome(
        &mut self,
        document_id: &str,
        ordering_id: Option<u64>,
        outcome: LogVerdict,
    ) -> Result<usize, StateError> {
        let changed = self.record_outcomes(&[(document_id, ordering_id, outcome)])?;
        Ok(changed.first().copied().unwrap_or(0))
    }

    /// [`Store::record_outcome`] for many log entries in one transaction (one disk sync, one
    /// turn of the write lock: 10,000 separate commits would keep the lock busy for seconds
    /// and starve the engine's own writes). Returns the rows changed per entry.
    pub fn record_outcomes(
        &mut self,
        outcomes: &[(&str, Option<u64>, LogVerdict)],
    ) -> Result<Vec<usize>, StateError> {
        let tx = self.write_tx()?;
        let mut changed = Vec::with_capacity(outcomes.len());
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE items SET state = ?1, reason = ?2
                 WHERE document_id = ?3 AND state IN ('accepted', 'indexed', 'rejected')
                   AND (?4 IS NULL OR ordering_id IS NULL OR ordering_id <= ?4)",
            )?;
            for (document_id, ordering_id, outcome) in outcomes {
                let (state, reason) = match outcome {
                    LogVerdict::Indexed => (ItemState::Indexed, None),
                    LogVerdict::Rejected(r) => (ItemState::Rejected, Some(r.as_str())),
                    // Not applied: the item in the index is not this push. Pending = pushed
                    // again by the next run (never "accepted" for a version not indexed).
                    LogVerdict::Skipped(r) => (ItemState::Pending, Some(r.as_str())),
                };
                changed.push(stmt.execute(params![
                    state.as_str(),
                    reason,
                    document_id,
                    ordering_id.map(i64_of)
                ])?);
            }
        }
        tx.commit()?;
        Ok(changed)
    }

    /// The folder's bookkeeping (default values for a folder never synced).
    pub fn folder(&self, folder: &str) -> Result<FolderRecord, StateError> {
        let row = self
            .conn
            .query_row(
                "SELECT last_full_sync_ms, last_problems, attention FROM folders WHERE name = ?1",
                [folder],
                |r| {
                    Ok((
                        r.get::<_, Option<i64>>(0)?,
                        r.get::<_, String>(1)?,
                        r.get(2)?,
                    ))
                },
            )
            .optional()?;
        Ok(match row {
            None => FolderRecord::default(),
            Some((last, problems, attention)) => FolderRecord {
                last_full_sync_ms: last,
                last_problems: serde_json::from_str(&problems).unwrap_or_default(),
                attention,
            },
        })
    }

    /// Records the end of a full sync and the problems it left.
    pub fn record_full_sync(
        &mut self,
        folder: &str,
        at_ms: i64,
        problems: &[FileProblem],
    ) -> Result<(), StateError> {
        let json = serde_json::to_string(problems).unwrap_or_else(|_| "[]".into());
        let tx = self.write_tx()?;
        Self::ensure_folder(&tx, folder)?;
        tx.execute(
            "UPDATE folders SET last_full_sync_ms = ?2, last_problems = ?3 WHERE name = ?1",
            params![folder, at_ms, json],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Sets or clears why a folder needs attention; survives restarts.
    pub fn set_attention(&mut self, folder: &str, reason: Option<&str>) -> Result<(), StateError> {
        Self::ensure_folder(&self.conn, folder)?;
        self.conn.execute(
            "UPDATE folders SET attention = ?2 WHERE name = ?1",
            params![folder, reason],
        )?;
        Ok(())
    }

    /// Records a failed attempt for a file and when to try again (exponential backoff).
    pub fn record_retry(
        &mut self,
        folder: &str,
        path: &str,
        kind: &str,
        message: &str,
        now_ms: i64,
    ) -> Result<Retry, StateError> {
        let attempts: u32 = self
            .conn
            .query_row(
                "SELECT attempts FROM retries WHERE folder = ?1 AND path = ?2",
                params![folder, path],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0)
            + 1;
        let wait = RETRY_BASE_MS
            .saturating_mul(1i64 << (attempts - 1).min(20))
            .min(RETRY_MAX_MS);
        let next = now_ms + wait;
        self.conn.execute(
            "INSERT INTO retries (folder, path, kind, message, attempts, next_attempt_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (folder, path) DO UPDATE SET kind = excluded.kind,
                message = excluded.message, attempts = excluded.attempts,
                next_attempt_ms = excluded.next_attempt_ms",
            params![folder, path, kind, message, attempts, next],
        )?;
        Ok(Retry {
            path: path.into(),
            kind: kind.into(),
            message: message.into(),
            attempts,
            next_attempt_ms: next,
        })
    }

    /// Files of a folder waiting for a retry, with their next attempt time.
    pub fn retries(&self, folder: &str) -> Result<Vec<Retry>, StateError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT path, kind, message, attempts, next_attempt_ms FROM retries
             WHERE folder = ?1 ORDER BY path",
        )?;
        let rows = stmt.query_map([folder], |r| {
            Ok(Retry {
                path: r.get(0)?,
                kind: r.get(1)?,
                message: r.get(2)?,
                attempts: r.get(3)?,
                next_attempt_ms: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The orderingId of a new run against a source: `now_ms`, or one more than the last one
    /// handed out if the clock went back. Persisted before it is returned, so it is never
    /// handed out twice.
    pub fn next_ordering_id(
        &mut self,
        organization: &str,
        source: &str,
        now_ms: u64,
    ) -> Result<u64, StateError> {
        let tx = self.write_tx()?;
        let last: Option<i64> = tx
            .query_row(
                "SELECT last_ordering_id FROM sources WHERE organization = ?1 AND source = ?2",
                params![organization, source],
                |r| r.get(0),
            )
            .optional()?;
        let next = now_ms.max(last.map_or(0, |l| l as u64 + 1));
        tx.execute(
            "INSERT INTO sources (organization, source, last_ordering_id) VALUES (?1, ?2, ?3)
             ON CONFLICT (organization, source) DO UPDATE SET last_ordering_id = excluded.last_ordering_id",
            params![organization, source, i64_of(next)],
        )?;
        tx.commit()?;
        Ok(next)
    }

    /// Forgets everything about a folder (its mapping was removed).
    /// The fingerprint of the identities last accepted for `folder` on `provider`.
    pub fn identity_fingerprint(
        &self,
        folder: &str,
        provider: &str,
    ) -> Result<Option<String>, StateError> {
        Ok(self
            .conn
            .query_row(
                "SELECT fingerprint FROM identities WHERE folder = ?1 AND provider = ?2",
                params![folder, provider],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Records the identities the API accepted for `folder` (call only after it answered).
    pub fn record_identities(
        &mut self,
        folder: &str,
        provider: &str,
        fingerprint: &str,
        now_ms: i64,
    ) -> Result<(), StateError> {
        self.conn.execute(
            "INSERT INTO identities (folder, provider, fingerprint, accepted_ms)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (folder) DO UPDATE SET provider = excluded.provider,
                fingerprint = excluded.fingerprint, accepted_ms = excluded.accepted_ms",
            params![folder, provider, fingerprint, now_ms],
        )?;
        Ok(())
    }

    pub fn remove_folder(&mut self, folder: &str) -> Result<(), StateError> {
        let tx = self.write_tx()?;
        tx.execute("DELETE FROM items WHERE folder = ?1", [folder])?;
        tx.execute("DELETE FROM retries WHERE folder = ?1", [folder])?;
        tx.execute("DELETE FROM identities WHERE folder = ?1", [folder])?;
        tx.execute("DELETE FROM folders WHERE name = ?1", [folder])?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_then_write_waits_for_another_connections_write_instead_of_failing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite3");
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.next_ordering_id("org", "src", 1_000).unwrap(), 1_000);
        // Another connection (the app, the Source Logs follow-up) holds the write lock and
        // commits a little later, while `next_ordering_id` (a read, then a write) runs.
        let other = rusqlite::Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        other
            .execute(
                "UPDATE sources SET last_ordering_id = 5000 WHERE organization = 'org'",
                [],
            )
            .unwrap();
        let committer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            other.execute_batch("COMMIT").unwrap();
        });
        // A deferred transaction would read the old row, then fail at its write with
        // "database is locked" once the other commit made its snapshot stale.
        let next = store.next_ordering_id("org", "src", 1_000).unwrap();
        committer.join().unwrap();
        assert_eq!(
            next, 5_001,
            "the id follows the other connection's committed write"
        );
    }

    fn accepted(path: &str, hash: &str) -> AcceptedItem {
        AcceptedItem {
            path: path.into(),
            document_id: format!("file:///r/{path}"),
            content_hash: hash.into(),
            size: 3,
            mtime_ns: 42,
            file_id: Some(FileId {
                device: 1,
                inode: 7,
            }),
            permission_fp: "p".into(),
            metadata_fp: "m".into(),
        }
    }

    #[test]
    fn item_count_and_paths_agree_with_items() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("state.db")).unwrap();
        assert_eq!(store.item_count("f").unwrap(), 0);
        assert!(store.item_paths("f").unwrap().is_empty());
        store
            .mark_pending(
                "f",
                &[
                    ("b".into(), "file:///r/b".into()),
                    ("a".into(), "file:///r/a".into()),
                ],
            )
            .unwrap();
        store
            .mark_pending("other", &[("c".into(), "file:///r/c".into())])
            .unwrap();
        // Pending rows count: what `items` lists.
        assert_eq!(store.item_count("f").unwrap(), 2);
        store
            .record_accepted("f", &[accepted("a", "h1")], Some(1))
            .unwrap();
        store.record_deleted("f", &["b".into()]).unwrap();
        assert_eq!(store.item_count("f").unwrap(), 1);
        let listed: Vec<String> = store
            .items("f")
            .unwrap()
            .into_iter()
            .map(|i| i.path)
            .collect();
        assert_eq!(store.item_paths("f").unwrap(), listed);
        assert_eq!(listed, vec!["a".to_string()]);
        assert_eq!(store.item_count("other").unwrap(), 1);
    }

    #[test]
    fn rows_follow_the_item_life_cycle_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        {
            let mut store = Store::open(&path).unwrap();
            let mode: String = store
                .conn
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap();
            assert_eq!(mode, "wal");
            store
                .mark_pending("f", &[("a".into(), "file:///r/a".into())])
                .unwrap();
            let items = store.items("f").unwrap();
            assert_eq!(items[0].state, ItemState::Pending);
            assert_eq!(items[0].content_hash, "");
            assert!(store.known_files("f").unwrap().is_empty());
            store
                .record_accepted("f", &[accepted("a", "h1")], Some(100))
                .unwrap();
            store
                .mark_pending("f", &[("a".into(), "file:///r/a".into())])
                .unwrap();
            let items = store.items("f").unwrap();
            assert_eq!(
                (items[0].state, items[0].content_hash.as_str()),
                (ItemState::Pending, "h1")
            );
            store
                .record_accepted("f", &[accepted("a", "h2")], Some(200))
                .unwrap();
            assert_eq!(
                store
                    .record_outcome("file:///r/a", Some(100), LogVerdict::Indexed)
                    .unwrap(),
                0,
                "stale log line"
            );
            assert_eq!(
                store
                    .record_outcome(
                        "file:///r/a",
                        Some(200),
                        LogVerdict::Rejected("too big".into())
                    )
                    .unwrap(),
                1
            );
        }
        let mut store = Store::open(&path).unwrap();
        let items = store.items("f").unwrap();
        assert_eq!(items[0].state, ItemState::Rejected);
        assert_eq!(items[0].reason.as_deref(), Some("too big"));
        assert_eq!(items[0].ordering_id, Some(200));
        assert_eq!(
            items[0].file_id,
            Some(FileId {
                device: 1,
                inode: 7
            })
        );
        assert_eq!(store.known_files("f").unwrap()["a"].content_hash, "h2");
        store.record_deleted("f", &["a".into()]).unwrap();
        assert!(store.items("f").unwrap().is_empty());
    }

    #[test]
    fn opens_a_version_1_store_and_migrates_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO items (folder, path, document_id, content_hash, state)
                 VALUES ('f', 'old.txt', 'file:///old.txt', 'abc', 'accepted')",
                [],
            )
            .unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
        assert_eq!(store.items("f").unwrap()[0].content_hash, "abc");
        let r = store
            .record_retry("f", "old.txt", "unreadable", "denied", 1_000)
            .unwrap();
        assert_eq!((r.attempts, r.next_attempt_ms), (1, 1_000 + RETRY_BASE_MS));
        let r = store
            .record_retry("f", "old.txt", "unreadable", "denied", 1_000)
            .unwrap();
        assert_eq!(
            (r.attempts, r.next_attempt_ms),
            (2, 1_000 + 2 * RETRY_BASE_MS)
        );
        assert_eq!(store.retries("f").unwrap().len(), 1);
    }

    #[test]
    fn ordering_ids_increase_even_when_the_clock_goes_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        assert_eq!(store.next_ordering_id("o", "s", 1_000).unwrap(), 1_000);
        assert_eq!(store.next_ordering_id("o", "s", 900).unwrap(), 1_001);
        assert_eq!(store.next_ordering_id("o", "s", 5_000).unwrap(), 5_000);
        assert_eq!(store.next_ordering_id("o", "other", 10).unwrap(), 10);
    }

    #[test]
    fn refuses_a_store_from_a_newer_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", 99).unwrap();
        }
        let err = Store::open(&path).unwrap_err().to_string();
        assert!(err.contains("newer Pushdeck"), "{err}");
    }

    #[test]
    fn folder_bookkeeping() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        assert_eq!(store.folder("f").unwrap(), FolderRecord::default());
        store.set_attention("f", Some("emptied")).unwrap();
        let problem = FileProblem {
            path: "x".into(),
            kind: crate::model::ProblemKind::Unreadable,
            message: "denied".into(),
        };
        store
            .record_full_sync("f", 5, std::slice::from_ref(&problem))
            .unwrap();
        let rec = store.folder("f").unwrap();
        assert_eq!(rec.attention.as_deref(), Some("emptied"));
        assert_eq!(rec.last_full_sync_ms, Some(5));
        assert_eq!(rec.last_problems, vec![problem]);
        store.remove_folder("f").unwrap();
        assert_eq!(store.folder("f").unwrap(), FolderRecord::default());
    }
}
