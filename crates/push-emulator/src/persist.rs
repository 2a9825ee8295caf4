//! The `--data DIR` journal: SQLite (WAL) holding everything the emulator knows, so the
//! Sandbox survives restarts. Every acknowledged write is in the `ops` table before its 202
//! is sent, and leaves it in the same transaction that stores its effects; on start, the
//! operations still in `ops` are processed again. A process crash therefore loses nothing
//! that was acknowledged. (`synchronous=NORMAL`: a power loss may lose the last
//! transactions; a process crash does not.)

use std::path::Path;

use bytes::Bytes;
use rusqlite::{params, Connection};

use crate::state::{Changes, Container, LogEntry, Org, State};

/// The file inside `--data DIR`.
pub const DATABASE_FILE: &str = "emulator.sqlite3";

#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

#[derive(Debug, thiserror::Error)]
#[error("the emulator's data store failed: {0}")]
pub struct StoreError(#[from] rusqlite::Error);

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError(rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS orgs (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (org TEXT, id TEXT, json TEXT NOT NULL, PRIMARY KEY (org, id));
CREATE TABLE IF NOT EXISTS providers (org TEXT, id TEXT, json TEXT NOT NULL, PRIMARY KEY (org, id));
CREATE TABLE IF NOT EXISTS fields (org TEXT, name TEXT, json TEXT NOT NULL, PRIMARY KEY (org, name));
CREATE TABLE IF NOT EXISTS items (org TEXT, source TEXT, document_id TEXT, json TEXT NOT NULL, content BLOB,
    PRIMARY KEY (org, source, document_id));
CREATE TABLE IF NOT EXISTS identities (org TEXT, provider TEXT, key TEXT, json TEXT NOT NULL,
    PRIMARY KEY (org, provider, key));
CREATE TABLE IF NOT EXISTS containers (file_id TEXT PRIMARY KEY, json TEXT NOT NULL, content BLOB);
CREATE TABLE IF NOT EXISTS ops (id INTEGER PRIMARY KEY AUTOINCREMENT, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS logs (id INTEGER PRIMARY KEY AUTOINCREMENT, ms INTEGER NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keys (key TEXT PRIMARY KEY, json TEXT NOT NULL);
";

impl Store {
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(dir.join(DATABASE_FILE))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self { conn })
    }

    /// Loads everything into `state`; returns the journaled operations not yet processed.
    pub fn load(&self, state: &mut State) -> Result<Vec<(i64, String)>, StoreError> {
        let c = &self.conn;
        let mut stmt = c.prepare("SELECT json FROM orgs")?;
        for json in stmt.query_map([], |r| r.get::<_, String>(0))? {
            let org: Org = serde_json::from_str(&json?)?;
            let entry = state
                .orgs
                .entry(org.id.clone())
                .or_insert_with(|| Org::new(&org.id));
            entry.daily_day = org.daily_day;
            entry.daily_count = org.daily_count;
        }
        let mut stmt = c.prepare("SELECT org, json FROM sources")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (org, json) = row?;
            let source: crate::state::Source = serde_json::from_str(&json)?;
            let o = state
                .orgs
                .entry(org.clone())
                .or_insert_with(|| Org::new(&org));
            o.sources.insert(source.id.clone(), source);
        }
        let mut stmt = c.prepare("SELECT org, json FROM providers")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (org, json) = row?;
            let provider: crate::state::Provider = serde_json::from_str(&json)?;
            let o = state
                .orgs
                .entry(org.clone())
                .or_insert_with(|| Org::new(&org));
            o.providers.insert(provider.id.clone(), provider);
        }
        let mut stmt = c.prepare("SELECT org, name, json FROM fields")?;
        for row in stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })? {
            let (org, name, json) = row?;
            if let Some(o) = state.orgs.get_mut(&org) {
                o.fields.insert(name, serde_json::from_str(&json)?);
            }
        }
        let mut stmt = c.prepare("SELECT org, source, json, content FROM items")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<Vec<u8>>>(3)?,
            ))
        })?;
        for row in rows {
            let (org, source, json, content) = row?;
            let mut item: crate::state::Item = serde_json::from_str(&json)?;
            item.content = Bytes::from(content.unwrap_or_default());
            if let Some(s) = state
                .orgs
                .get_mut(&org)
                .and_then(|o| o.sources.get_mut(&source))
            {
                s.items.insert(item.document_id.clone(), item);
            }
        }
        let mut stmt = c.prepare("SELECT org, provider, key, json FROM identities")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        for row in rows {
            let (org, provider, key, json) = row?;
            if let Some(p) = state
                .orgs
                .get_mut(&org)
                .and_then(|o| o.providers.get_mut(&provider))
            {
                p.identities.insert(key, serde_json::from_str(&json)?);
            }
        }
        let mut stmt = c.prepare("SELECT json, content FROM containers")?;
        for row in stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<Vec<u8>>>(1)?))
        })? {
            let (json, content) = row?;
            let mut container: Container = serde_json::from_str(&json)?;
            container.content = content.map(Bytes::from);
            state
                .containers
                .insert(container.file_id.clone(), container);
        }
        // Only the newest entries are kept (in memory and, after this, on disk).
        c.execute(
            "DELETE FROM logs WHERE id <= (SELECT MAX(id) FROM logs) - ?1",
            params![crate::state::PROCESSING_LOG_CAPACITY as i64],
        )?;
        let mut stmt = c.prepare("SELECT ms, json FROM logs ORDER BY id")?;
        let mut entries = Vec::new();
        for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
            let (ms, json) = row?;
            let mut entry: LogEntry = serde_json::from_str(&json)?;
            entry.ms = ms;
            entries.push(entry);
        }
        state.append_logs(entries);
        let mut stmt = c.prepare("SELECT json FROM keys")?;
        for json in stmt.query_map([], |r| r.get::<_, String>(0))? {
            state.keys.push(serde_json::from_str(&json?)?);
        }
        let mut stmt = c.prepare("SELECT id, json FROM ops ORDER BY id")?;
        let ops = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ops)
    }

    /// Journals an accepted operation (before its 202 is sent); returns its journal id.
    pub fn insert_op(&self, json: &str) -> Result<i64, StoreError> {
        self.conn
            .execute("INSERT INTO ops (json) VALUES (?1)", params![json])?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn save_container(&self, container: &Container) -> Result<(), StoreError> {
        let json = serde_json::to_string(container)?;
        self.conn.execute(
            "INSERT OR REPLACE INTO containers (file_id, json, content) VALUES (?1, ?2, ?3)",
            params![container.file_id, json, container.content.as_deref()],
        )?;
        Ok(())
    }

    pub fn save_key(&self, key: &crate::state::ApiKeyScope) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO keys (key, json) VALUES (?1, ?2)",
            params![key.key, serde_json::to_string(key)?],
        )?;
        Ok(())
    }

    pub fn save_field(
        &self,
        org: &str,
        name: &str,
        json: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO fields (org, name, json) VALUES (?1, ?2, ?3)",
            params![org, name, json.to_string()],
        )?;
        Ok(())
    }

    /// Writes the effects of one processed operation and removes it from the journal, in one
    /// transaction (`done_op`: the journal id, `None` when the operation stays journaled).
    pub fn commit(
        &mut self,
        state: &State,
        changes: &Changes,
        done_op: Option<i64>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut orgs =
                tx.prepare_cached("INSERT OR REPLACE INTO orgs (id, json) VALUES (?1, ?2)")?;
            let mut seen = std::collections::HashSet::new();
            for org_id in &changes.orgs {
                if seen.insert(org_id) {
                    if let Some(org) = state.orgs.get(org_id) {
                        orgs.execute(params![org_id, serde_json::to_string(org)?])?;
                    }
                }
            }
            let mut sources = tx.prepare_cached(
                "INSERT OR REPLACE INTO sources (org, id, json) VALUES (?1, ?2, ?3)",
            )?;
            for (org, id) in &changes.sources {
                if let Some(s) = state.orgs.get(org).and_then(|o| o.sources.get(id)) {
                    sources.execute(params![org, id, serde_json::to_string(s)?])?;
                }
            }
            let mut providers = tx.prepare_cached(
                "INSERT OR REPLACE INTO providers (org, id, json) VALUES (?1, ?2, ?3)",
            )?;
            for (org, id) in &changes.providers {
                if let Some(p) = state.orgs.get(org).and_then(|o| o.providers.get(id)) {
                    providers.execute(params![org, id, serde_json::to_string(p)?])?;
                }
            }
            let mut items = tx.prepare_cached(
                "INSERT OR REPLACE INTO items (org, source, document_id, json, content) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (org, source, doc) in &changes.items {
                if let Some(item) = state
                    .orgs
                    .get(&**org)
                    .and_then(|o| o.sources.get(&**source))
                    .and_then(|s| s.items.get(doc))
                {
                    items.execute(params![
                        &**org,
                        &**source,
                        doc,
                        serde_json::to_string(item)?,
                        &item.content[..]
                    ])?;
                }
            }
            let mut identities = tx.prepare_cached(
                "INSERT OR REPLACE INTO identities (org, provider, key, json) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (org, provider, key) in &changes.identities {
                if let Some(rec) = state
                    .orgs
                    .get(org)
                    .and_then(|o| o.providers.get(provider))
                    .and_then(|p| p.identities.get(key))
                {
                    identities.execute(params![org, provider, key, serde_json::to_string(rec)?])?;
                }
            }
            let mut containers = tx.prepare_cached("DELETE FROM containers WHERE file_id = ?1")?;
            for id in &changes.containers_removed {
                containers.execute(params![id])?;
            }
            let mut logs = tx.prepare_cached("INSERT INTO logs (ms, json) VALUES (?1, ?2)")?;
            for entry in &changes.logs {
                logs.execute(params![entry.ms, serde_json::to_string(entry)?])?;
            }
            if let Some(id) = done_op {
                tx.execute("DELETE FROM ops WHERE id = ?1", params![id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}
