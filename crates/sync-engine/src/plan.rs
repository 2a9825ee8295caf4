//! The planner: pure code that compares the state store with a scan and says what to send.
//!
//! `plan(state, snapshot, rules)` does no IO and reads no clock, so it is tested with plain
//! values, printed as a dry run ([`Plan`] implements `Display` and `Serialize`), and shown by the
//! UI before a first sync. The safety brakes ([`check_brakes`]) are pure too.
//!
//! Permission-only and metadata-only changes. The Push API has no partial update for Push
//! sources: `PUT documents` and batch `addOrUpdate` replace the whole item, and the
//! `partialUpdate` operations exist only for the Stream API of catalog sources (reference
//! §2.2, §2.7). An item re-pushed without its `data` would lose its content. So a permission
//! change (or a metadata change) still sends the item with its content; what the planner does
//! avoid is everything local: such an item is classified from fingerprints alone, the file is
//! neither re-read for hashing nor compared, and the content hash already recorded is kept.
//! [`Change::PermissionsOnly`] and [`Change::MetadataOnly`] make this visible in the dry run.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::Path;

use permissions::rules::CompiledRules;
use permissions::PermissionModel;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::{FolderMapping, SafetyLimits};
use crate::model::{FileId, FileProblem};
use crate::scan::{RootStatus, Snapshot};
use crate::state::{ItemRecord, ItemState};

/// The share brake only applies from this many deletes on: deleting 2 of a folder's 3 files is
/// a normal afternoon, not a wrong path.
pub const SHARE_BRAKE_MIN_DELETES: usize = 10;

/// How many sample payloads a dry run shows by default.
pub const DRY_RUN_SAMPLES: usize = 3;

/// Whether to send only what changed, or everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanMode {
    Incremental,
    /// Push every file, then delete from the source what this run did not push.
    Rebuild,
}

/// Why an item is pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Never accepted before.
    New,
    /// The end of a move: a new path for known content.
    MovedHere,
    /// The content changed (metadata and permissions may have too).
    Content,
    /// Only the folder's metadata rules changed for it (content re-sent: no partial update).
    MetadataOnly,
    /// Only its permissions changed (content re-sent: no partial update; not re-hashed).
    PermissionsOnly,
    /// Metadata and permissions changed, content did not.
    MetadataAndPermissions,
    /// A push whose acceptance was never recorded (a crash or a failed batch): sent again.
    Retry,
    /// A rebuild sends everything.
    Rebuild,
}

/// One item to add or update.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedItem {
    pub path: String,
    pub document_id: String,
    pub change: Change,
    pub size: u64,
    pub mtime_ns: i64,
    pub file_id: Option<FileId>,
    pub content_hash: String,
    pub metadata: BTreeMap<String, serde_json::Value>,
    pub metadata_fp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<PermissionModel>,
    pub permission_fp: String,
}

/// Why an item is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteReason {
    /// The file is gone (or now excluded by a filter).
    Gone,
    /// The file moved: its old documentId goes, the new one is added.
    MovedAway,
}

/// One item to delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedDelete {
    pub path: String,
    pub document_id: String,
    pub reason: DeleteReason,
}

/// A move, reported as such (executed as a delete of the old id and an add of the new one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedMove {
    pub from: String,
    pub to: String,
}

/// What one run will send, as a value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub folder: String,
    pub mode: PlanMode,
    /// Items to add or update, adds (new, moved here) first, then updates, each by path.
    pub pushes: Vec<PlannedItem>,
    pub deletes: Vec<PlannedDelete>,
    pub moves: Vec<PlannedMove>,
    /// Known items left as they are.
    pub unchanged: usize,
    /// Files and folders the scan could not read: neither pushed nor deleted this time, and
    /// nothing under an unreadable folder is deleted or moved (unknown is not empty).
    pub skipped: Vec<FileProblem>,
    /// The scan covered only some directories (a watch hint), not the whole folder.
    pub scoped: bool,
    /// Pushes left out of this run (failed recently, waiting for their retry time); set by the
    /// engine, not the planner. See [`Plan::pushes_every_file`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deferred: Vec<String>,
    /// Items the state store knows for this folder (the base of the delete share).
    pub known_items: usize,
    /// Security identities to push before any item (their file changed since the API last
    /// accepted it); see [`plan_identities`].
    pub identities: Option<PlannedIdentities>,
}

/// A folder's identities file, read and fingerprinted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadedIdentities {
    pub path: std::path::PathBuf,
    pub provider: String,
    pub batch: coveo_push::IdentityBatch,
    /// SHA-256 of the provider name and the batch as sent (canonical JSON).
    pub fingerprint: String,
}

/// Identities to push in this run: one identity batch to the folder's provider.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedIdentities {
    pub path: std::path::PathBuf,
    pub provider: String,
    pub members: usize,
    pub mappings: usize,
    pub deleted: usize,
    pub fingerprint: String,
    pub batch: coveo_push::IdentityBatch,
}

/// Reads and fingerprints the identities file of a folder (`Ok(None)` when it has none).
/// The error says which file and what to fix.
pub fn load_identities(folder: &FolderMapping) -> Result<Option<LoadedIdentities>, String> {
    let (Some(path), Some(provider)) = (&folder.identities, &folder.provider) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "the identities file {} cannot be read ({e}); fix the path in the folder's `identities` setting",
            path.display()
        )
    })?;
    let batch: coveo_push::IdentityBatch = serde_json::from_str(&text).map_err(|e| {
        format!(
            "the identities file {} is not an identity batch ({e}); write {{\"members\": [...], \"mappings\": [...]}}",
            path.display()
        )
    })?;
    let canonical = serde_json::to_vec(&batch).map_err(|e| {
        format!(
            "the identities of {} cannot be written: {e}",
            path.display()
        )
    })?;
    let mut hasher = Sha256::new();
    hasher.update(provider.as_bytes());
    hasher.update([0]);
    hasher.update(&canonical);
    Ok(Some(LoadedIdentities {
        path: path.clone(),
        provider: provider.clone(),
        batch,
        fingerprint: hex::encode(hasher.finalize()),
    }))
}

/// The identities to push, if any: when the file's fingerprint differs from the one the
/// state store recorded after the API last accepted it (`stored`), or a rebuild. Pure.
pub fn plan_identities(
    loaded: Option<&LoadedIdentities>,
    stored: Option<&str>,
    mode: PlanMode,
) -> Option<PlannedIdentities> {
    let l = loaded?;
    if l.batch.is_empty() || (mode == PlanMode::Incremental && stored == Some(&l.fingerprint)) {
        return None;
    }
    Some(PlannedIdentities {
        path: l.path.clone(),
        provider: l.provider.clone(),
        members: l.batch.members.len(),
        mappings: l.batch.mappings.len(),
        deleted: l.batch.deleted.len(),
        fingerprint: l.fingerprint.clone(),
        batch: l.batch.clone(),
    })
}

/// Inputs of [`plan`] that come from the folder's configuration.
#[derive(Debug, Clone)]
pub struct PlanRules<'a> {
    pub folder: &'a FolderMapping,
    pub permissions: Option<&'a CompiledRules>,
    pub mode: PlanMode,
}

/// The documentId (item URI) of a file of a folder: [`document_id_for`] with this OS's path
/// rules (a root that is not valid Unicode, possible on Unix only, is encoded byte by byte).
pub fn document_id(root: &Path, rel_path: &str) -> String {
    match root.to_str() {
        Some(root) => document_id_for(root, rel_path, cfg!(windows)),
        None => {
            let mut full = root.to_path_buf();
            for part in rel_path.split('/') {
                full.push(part);
            }
            coveo_push::file_uri_from_path(&full).unwrap_or_else(|_| fallback_id(rel_path))
        }
    }
}

/// The documentId of the file `rel_path` (`/`-separated, as the scan writes it) of the folder
/// `root`, with Windows path rules when `windows` is true. Pure, so both sets of rules are
/// tested on any OS.
///
/// - Unix: the root and the parts joined with `/` as `PathBuf::push` does there, then
///   [`coveo_push::file_uri`]: `/srv/f` + `a b.pdf` -> `file:///srv/f/a%20b.pdf`. (A `\` in a
///   Unix file name is part of the name and encoded.)
/// - Windows: the root without its verbatim prefix (`\\?\C:\Share`, what `canonicalize`
///   returns there, is `C:\Share`; `\\?\UNC\server\share` is `\\server\share`), the parts
///   joined with `\`, then the same URI rules: drive `C:\Share` + `a b.pdf` ->
///   `file:///C:/Share/a%20b.pdf`, UNC `\\server\share\docs` + `a.pdf` ->
///   `file://server/share/docs/a.pdf`; `#`, `?`, `%` and non-ASCII percent-encoded as on Unix.
///
/// Letter case is kept as the file system reports it (only the drive letter is upper-cased and
/// a UNC server name lower-cased): on a case-insensitive file system (Windows, macOS), renaming
/// `Report.txt` to `report.txt` changes the name the scan reads, so the documentId changes
/// and the planner sees a move (same content, same file) from the old path to the new one —
/// the old item is deleted and the new one added.
pub fn document_id_for(root: &str, rel_path: &str, windows: bool) -> String {
    let full = if windows {
        // A verbatim root (`\\?\C:\…`, what canonicalize returns on Windows) is read by
        // `file_uri`, like every Windows path.
        let mut full = root.trim_end_matches(['\\', '/']).to_string();
        for part in rel_path.split('/') {
            full.push('\\');
            full.push_str(part);
        }
        full
    } else {
        // PathBuf::push on Unix: a separator unless the path is empty or ends with one (a part
        // of `split('/')` never starts with `/`, which would replace the path).
        let mut full = root.to_string();
        for part in rel_path.split('/') {
            if !full.is_empty() && !full.ends_with('/') {
                full.push('/');
            }
            full.push_str(part);
        }
        full
    };
    coveo_push::file_uri(&full).unwrap_or_else(|_| fallback_id(rel_path))
}

/// The documentId of a file whose folder is not an absolute path (never the case for a
/// configured folder).
fn fallback_id(rel_path: &str) -> String {
    format!("file:///{}", rel_path.trim_start_matches('/'))
}

fn metadata_fingerprint(
    metadata: &BTreeMap<String, serde_json::Value>,
    folder: &FolderMapping,
) -> String {
    let value = serde_json::json!({ "metadata": metadata, "title": folder.metadata.title });
    hex::encode(Sha256::digest(value.to_string().as_bytes()))
}

/// Compares the state store's items with a scan. Pure.
pub fn plan(items: &[ItemRecord], snapshot: &Snapshot, rules: &PlanRules<'_>) -> Plan {
    let folder = rules.folder;
    let by_path: HashMap<&str, usize> = items
        .iter()
        .enumerate()
        .map(|(n, i)| (i.path.as_str(), n))
        .collect();
    // One look-up per file, reused below; the items no file matched are the only ones whose
    // absence is then checked (a rescan with nothing gone checks none).
    let mut matched = vec![false; items.len()];
    let known_of: Vec<Option<&ItemRecord>> = snapshot
        .files
        .keys()
        .map(|path| {
            by_path.get(path.as_str()).map(|&n| {
                matched[n] = true;
                &items[n]
            })
        })
        .collect();
    // What the scan could not read is unknown, not gone: a file, or a whole folder (a
    // directory that cannot be listed). Nothing at or under such a path is deleted or moved.
    let problem_paths: HashSet<&str> = snapshot.problems.iter().map(|p| p.path.as_str()).collect();
    let unknown = |path: &str| {
        problem_paths.contains("")
            || problem_paths.contains(path)
            || path
                .match_indices('/')
                .any(|(n, _)| problem_paths.contains(&path[..n]))
    };
    let mut plan = Plan {
        folder: folder.name.clone(),
        mode: rules.mode,
        pushes: Vec::new(),
        deletes: Vec::new(),
        moves: Vec::new(),
        unchanged: 0,
        skipped: snapshot.problems.clone(),
        scoped: !snapshot.scope.is_empty(),
        deferred: Vec::new(),
        known_items: items.len(),
        identities: None,
    };

    // Items whose file is gone (or unrecorded pending pushes whose file is gone), in scope.
    let gone: Vec<&ItemRecord> = items
        .iter()
        .zip(&matched)
        .filter(|(_, matched)| !**matched)
        .map(|(i, _)| i)
        .filter(|i| {
            snapshot.covers(&i.path) && !snapshot.files.contains_key(&i.path) && !unknown(&i.path)
        })
        .collect();
    // Move candidates: gone items with known content, by (hash, file id). The scan relies on
    // this key: it leaves unhashed a new file whose file id no gone item has
    // (`scan::scan_with_items`), so a move matched on content alone would need it to hash them.
    let mut moved_from: HashMap<(&str, Option<FileId>), Vec<&ItemRecord>> = HashMap::new();
    for item in &gone {
        if item.state != ItemState::Pending && !item.content_hash.is_empty() {
            moved_from
                .entry((item.content_hash.as_str(), item.file_id))
                .or_default()
                .push(item);
        }
    }
    let mut moved_away: HashSet<&str> = HashSet::new();

    // Metadata depends on the file's folder only (static fields, hierarchy): computed once per
    // directory, which keeps a plan over 100,000 unchanged files cheap.
    let mut metadata_by_dir: HashMap<&str, (BTreeMap<String, serde_json::Value>, String)> =
        HashMap::new();
    for ((path, file), known) in snapshot.files.iter().zip(known_of) {
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        // Borrowed: cloned only for an item that is pushed.
        let (metadata, metadata_fp) = &*metadata_by_dir.entry(dir).or_insert_with(|| {
            let metadata = folder.metadata.metadata_for(path);
            let fp = metadata_fingerprint(&metadata, folder);
            (metadata, fp)
        });
        let resolved = rules.permissions.and_then(|r| r.resolve(path));
        let (permissions, permission_fp) = match resolved {
            Some(r) => (Some(r.model), r.fingerprint),
            None => (None, String::new()),
        };
        let change = match known {
            None => {
                let key = (file.content_hash.as_str(), file.file_id);
                match moved_from.get_mut(&key).and_then(|v| v.pop()) {
                    Some(from) => {
                        moved_away.insert(from.path.as_str());
                        plan.moves.push(PlannedMove {
                            from: from.path.clone(),
                            to: path.clone(),
                        });
                        Some(Change::MovedHere)
                    }
                    None => Some(Change::New),
                }
            }
            Some(k) if k.state == ItemState::Pending => Some(Change::Retry),
            Some(k) => {
                let content = k.content_hash != file.content_hash;
                let meta = k.metadata_fp != *metadata_fp;
                let perms = k.permission_fp != permission_fp;
                match (content, meta, perms) {
                    (true, _, _) => Some(Change::Content),
                    (false, true, true) => Some(Change::MetadataAndPermissions),
                    (false, true, false) => Some(Change::MetadataOnly),
                    (false, false, true) => Some(Change::PermissionsOnly),
                    (false, false, false) if rules.mode == PlanMode::Rebuild => {
                        Some(Change::Rebuild)
                    }
                    (false, false, false) => None,
                }
            }
        };
        match change {
            None => plan.unchanged += 1,
            Some(change) => plan.pushes.push(PlannedItem {
                path: path.clone(),
                document_id: document_id(&folder.path, path),
                change,
                size: file.size,
                mtime_ns: file.mtime_ns,
                file_id: file.file_id,
                content_hash: file.content_hash.clone(),
                metadata: metadata.clone(),
                metadata_fp: metadata_fp.clone(),
                permissions,
                permission_fp,
            }),
        }
    }
    for item in gone {
        let reason = if moved_away.contains(item.path.as_str()) {
            DeleteReason::MovedAway
        } else {
            DeleteReason::Gone
        };
        plan.deletes.push(PlannedDelete {
            path: item.path.clone(),
            document_id: item.document_id.clone(),
            reason,
        });
    }
    plan.pushes.sort_by(|a, b| {
        let adds_first = |c: Change| !matches!(c, Change::New | Change::MovedHere);
        (adds_first(a.change), &a.path).cmp(&(adds_first(b.change), &b.path))
    });
    plan
}

/// Counts of a plan, for progress and the dry run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PlanSummary {
    pub adds: usize,
    pub updates: usize,
    pub by_change: BTreeMap<String, usize>,
    pub deletes: usize,
    pub moves: usize,
    pub unchanged: usize,
    pub skipped: usize,
    /// Content bytes the pushes will read and send (before compression).
    pub bytes: u64,
    /// Security identities (members, mappings and deletions) to push before the items.
    pub identities: usize,
}

impl Plan {
    /// Whether this plan sends every file of the folder: a scan of the whole folder with
    /// nothing unreadable, and no push held back for its retry time. Only a rebuild whose plan
    /// pushes every file, and that went through without a problem, may remove items it did
    /// not push (see `crate::execute`): a file left out is not a file gone.
    pub fn pushes_every_file(&self) -> bool {
        !self.scoped && self.skipped.is_empty() && self.deferred.is_empty()
    }

    pub fn is_empty(&self) -> bool {
        self.pushes.is_empty() && self.deletes.is_empty() && self.identities.is_none()
    }

    pub fn summary(&self) -> PlanSummary {
        let mut s = PlanSummary {
            deletes: self.deletes.len(),
            moves: self.moves.len(),
            unchanged: self.unchanged,
            skipped: self.skipped.len(),
            identities: self
                .identities
                .as_ref()
                .map_or(0, |i| i.members + i.mappings + i.deleted),
            ..Default::default()
        };
        for p in &self.pushes {
            if matches!(p.change, Change::New | Change::MovedHere) {
                s.adds += 1;
            } else {
                s.updates += 1;
            }
            let key = serde_json::to_value(p.change)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            *s.by_change.entry(key).or_default() += 1;
            s.bytes += p.size;
        }
        s
    }

    /// The first `n` pushes as the JSON the Push API will receive, content left out (its size
    /// and hash stand in for it).
    pub fn sample_payloads(&self, n: usize) -> Vec<serde_json::Value> {
        self.pushes
            .iter()
            .take(n)
            .map(|p| {
                let mut body = serde_json::Map::new();
                body.insert("documentId".into(), p.document_id.clone().into());
                let name = p.path.rsplit('/').next().unwrap_or(&p.path);
                body.insert("title".into(), name.into());
                if let Some(ext) = Path::new(name).extension().and_then(|e| e.to_str()) {
                    body.insert(
                        "fileExtension".into(),
                        format!(".{}", ext.to_lowercase()).into(),
                    );
                }
                for (k, v) in &p.metadata {
                    body.insert(k.clone(), v.clone());
                }
                if let Some(perms) = &p.permissions {
                    body.insert(
                        "permissions".into(),
                        serde_json::to_value(perms).unwrap_or_default(),
                    );
                }
                let content = if p.content_hash.is_empty() {
                    // A new file the scan did not read: hashed when it is pushed.
                    format!("<{} bytes>", p.size)
                } else {
                    format!("<{} bytes, sha256 {}>", p.size, p.content_hash)
                };
                body.insert("data".into(), content.into());
                serde_json::Value::Object(body)
            })
            .collect()
    }
}

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.summary();
        writeln!(
            f,
            "folder {:?} ({}): {} to add, {} to update, {} to delete, {} moved, {} unchanged, {} skipped; {} to send",
            self.folder,
            match self.mode {
                PlanMode::Incremental => "incremental",
                PlanMode::Rebuild => "rebuild",
            },
            s.adds,
            s.updates,
            s.deletes,
            s.moves,
            s.unchanged,
            s.skipped,
            human_bytes(s.bytes)
        )?;
        if let Some(i) = &self.identities {
            writeln!(
                f,
                "  identities first: {} members, {} mappings, {} deleted to provider {:?} (from {})",
                i.members,
                i.mappings,
                i.deleted,
                i.provider,
                i.path.display()
            )?;
        }
        for (change, n) in &s.by_change {
            writeln!(f, "  {change}: {n}")?;
        }
        for p in &self.pushes {
            writeln!(
                f,
                "  push   {} ({:?}, {})",
                p.path,
                p.change,
                human_bytes(p.size)
            )?;
        }
        for m in &self.moves {
            writeln!(f, "  move   {} -> {}", m.from, m.to)?;
        }
        for d in &self.deletes {
            writeln!(f, "  delete {} ({:?})", d.path, d.reason)?;
        }
        for p in &self.skipped {
            writeln!(
                f,
                "  skip   {} ({:?}: {}; {})",
                p.path,
                p.kind,
                p.message,
                p.kind.what_to_do()
            )?;
        }
        for sample in self.sample_payloads(DRY_RUN_SAMPLES) {
            writeln!(f, "  sample {sample}")?;
        }
        Ok(())
    }
}

/// Why a folder must halt before its plan runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "brake", rename_all = "snake_case")]
pub enum Brake {
    /// The folder is missing or unreadable.
    Vanished { reason: String },
    /// The folder exists but holds none of the items known to be synced.
    Emptied { known: usize },
    /// The plan deletes more than the configured count or share.
    MassDelete {
        deletes: usize,
        known: usize,
        limit: String,
    },
}

impl fmt::Display for Brake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Vanished { reason } => write!(
                f,
                "the folder is not available ({reason}); nothing was deleted. Reconnect the drive or fix the path, or confirm to delete its items from the source"
            ),
            Self::Emptied { known } => write!(
                f,
                "the folder is empty but {known} items were synced from it; nothing was deleted. If the files really are gone, confirm to delete them from the source"
            ),
            Self::MassDelete { deletes, known, limit } => write!(
                f,
                "this sync would delete {deletes} of {known} items, above the limit of {limit}; nothing was deleted. Check the folder, then confirm, or raise the limit in the folder's safety settings"
            ),
        }
    }
}

/// The safety brakes: a vanished or emptied folder, or too many deletes. Pure.
pub fn check_brakes(plan: &Plan, snapshot: &Snapshot, limits: &SafetyLimits) -> Option<Brake> {
    if let RootStatus::Vanished(reason) = &snapshot.root_status {
        return Some(Brake::Vanished {
            reason: reason.clone(),
        });
    }
    if snapshot.scope.is_empty()
        && snapshot.files.is_empty()
        && snapshot.problems.is_empty()
        && plan.known_items > 0
    {
        return Some(Brake::Emptied {
            known: plan.known_items,
        });
    }
    let deletes = plan
        .deletes
        .iter()
        .filter(|d| d.reason == DeleteReason::Gone)
        .count();
    if deletes as u64 > limits.max_delete_count {
        return Some(Brake::MassDelete {
            deletes,
            known: plan.known_items,
            limit: format!("{} items (max_delete_count)", limits.max_delete_count),
        });
    }
    if deletes >= SHARE_BRAKE_MIN_DELETES
        && plan.known_items > 0
        && deletes as f64 / plan.known_items as f64 > limits.max_delete_share
    {
        return Some(Brake::MassDelete {
            deletes,
            known: plan.known_items,
            limit: format!(
                "{:.0}% of the items (max_delete_share)",
                limits.max_delete_share * 100.0
            ),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{ScanStats, ScannedFile};

    fn folder() -> FolderMapping {
        FolderMapping::new("f", "/srv/f", "org", "src")
    }

    fn file(hash: &str, inode: u64) -> ScannedFile {
        ScannedFile {
            size: 10,
            mtime_ns: 1,
            file_id: Some(FileId { device: 1, inode }),
            content_hash: hash.into(),
            hashed: false,
        }
    }

    fn snapshot(files: &[(&str, ScannedFile)]) -> Snapshot {
        Snapshot {
            root_status: RootStatus::Present,
            scope: Vec::new(),
            files: files
                .iter()
                .map(|(p, f)| (p.to_string(), f.clone()))
                .collect(),
            problems: Vec::new(),
            stats: ScanStats::default(),
        }
    }

    /// Records as the executor would after a full accepted sync of `snap`.
    fn accepted(snap: &Snapshot, rules: &PlanRules<'_>) -> Vec<ItemRecord> {
        let p = plan(&[], snap, rules);
        p.pushes
            .into_iter()
            .map(|i| ItemRecord {
                path: i.path,
                document_id: i.document_id,
                content_hash: i.content_hash,
                size: i.size,
                mtime_ns: i.mtime_ns,
                file_id: i.file_id,
                permission_fp: i.permission_fp,
                metadata_fp: i.metadata_fp,
                ordering_id: Some(1),
                state: ItemState::Accepted,
                reason: None,
            })
            .collect()
    }

    fn changes(p: &Plan) -> Vec<(String, Change)> {
        p.pushes
            .iter()
            .map(|i| (i.path.clone(), i.change))
            .collect()
    }

    #[test]
    fn nothing_under_an_unreadable_folder_is_deleted_or_moved() {
        let f = folder();
        let rules = PlanRules {
            folder: &f,
            permissions: None,
            mode: PlanMode::Incremental,
        };
        let s1 = snapshot(&[
            ("a.txt", file("h1", 1)),
            ("HR/pay.pdf", file("h2", 2)),
            ("HR/deep/leave.pdf", file("h3", 3)),
            ("HRx/other.pdf", file("h4", 4)),
        ]);
        let known = accepted(&s1, &rules);
        // HR cannot be listed: its files are missing from the scan, which says so. HR's file
        // content shows up elsewhere too (a copy): still no move out of the unknown folder.
        let mut s2 = snapshot(&[("a.txt", file("h1", 1)), ("copy.pdf", file("h2", 2))]);
        s2.problems.push(FileProblem {
            path: "HR".into(),
            kind: crate::model::ProblemKind::Unreadable,
            message: "permission denied".into(),
        });
        let p = plan(&known, &s2, &rules);
        let deleted: Vec<&str> = p.deletes.iter().map(|d| d.path.as_str()).collect();
        // HRx is a sibling with a common prefix, not under HR: its file is gone.
        assert_eq!(deleted, ["HRx/other.pdf"]);
        assert!(p.moves.is_empty(), "{:?}", p.moves);
        assert_eq!(changes(&p), [("copy.pdf".to_string(), Change::New)]);
        assert!(!p.pushes_every_file());
        // A walk error with no path: the whole folder is unknown, nothing is deleted.
        s2.problems[0].path = String::new();
        assert!(plan(&known, &s2, &rules).deletes.is_empty());
    }

    #[test]
    fn first_sync_then_nothing_then_edits_moves_deletes() {
        let f = folder();
        let rules = PlanRules {
            folder: &f,
            permissions: None,
            mode: PlanMode::Incremental,
        };
        let s1 = snapshot(&[
            ("a.txt", file("h1", 1)),
            ("d/b.txt", file("h2", 2)),
            ("c.txt", file("h3", 3)),
        ]);
        let p = plan(&[], &s1, &rules);
        assert_eq!(p.summary().adds, 3);
        assert_eq!(p.pushes[0].document_id, "file:///srv/f/a.txt");
        let state = accepted(&s1, &rules);
        assert!(plan(&state, &s1, &rules).is_empty());

        // edit a, move d/b -> e/b (same inode), delete c, add n
        let s2 = snapshot(&[
            ("a.txt", file("h1x", 1)),
            ("e/b.txt", file("h2", 2)),
            ("n.txt", file("h9", 9)),
        ]);
        let p = plan(&state, &s2, &rules);
        assert_eq!(
            changes(&p),
            vec![
                ("e/b.txt".into(), Change::MovedHere),
                ("n.txt".into(), Change::New),
                ("a.txt".into(), Change::Content)
            ]
        );
        assert_eq!(
            p.moves,
            vec![PlannedMove {
                from: "d/b.txt".into(),
                to: "e/b.txt".into()
            }]
        );
        let deletes: Vec<_> = p
            .deletes
            .iter()
            .map(|d| (d.path.as_str(), d.reason))
            .collect();
        assert_eq!(
            deletes,
            vec![
                ("c.txt", DeleteReason::Gone),
                ("d/b.txt", DeleteReason::MovedAway)
            ]
        );
        let text = p.to_string();
        assert!(
            text.contains("2 to add, 1 to update, 2 to delete, 1 moved"),
            "{text}"
        );
        assert!(
            text.contains("\"documentId\":\"file:///srv/f/e/b.txt\""),
            "{text}"
        );
    }

    #[test]
    fn same_content_new_inode_is_not_a_move() {
        let f = folder();
        let rules = PlanRules {
            folder: &f,
            permissions: None,
            mode: PlanMode::Incremental,
        };
        let s1 = snapshot(&[("a", file("h", 1))]);
        let state = accepted(&s1, &rules);
        let p = plan(&state, &snapshot(&[("b", file("h", 2))]), &rules);
        assert!(p.moves.is_empty());
        assert_eq!(changes(&p), vec![("b".into(), Change::New)]);
    }

    #[test]
    fn permission_and_metadata_changes_are_classified_without_content() {
        let mut f = folder();
        let rules_v1 = permissions::rules::PermissionRules::from_toml_str(
            "[[rule]]\npath = \"\"\naccess = \"everyone\"\n",
        )
        .unwrap()
        .compile()
        .unwrap();
        let rules_v2 = permissions::rules::PermissionRules::from_toml_str(
            "[[rule]]\npath = \"hr\"\naccess = \"only\"\ngroups = [\"HR\"]\n\n[[rule]]\npath = \"\"\naccess = \"everyone\"\n",
        )
        .unwrap()
        .compile()
        .unwrap();
        let s = snapshot(&[("hr/a", file("h1", 1)), ("b", file("h2", 2))]);
        let state = {
            let r = PlanRules {
                folder: &f,
                permissions: Some(&rules_v1),
                mode: PlanMode::Incremental,
            };
            accepted(&s, &r)
        };
        let r = PlanRules {
            folder: &f,
            permissions: Some(&rules_v2),
            mode: PlanMode::Incremental,
        };
        let p = plan(&state, &s, &r);
        assert_eq!(changes(&p), vec![("hr/a".into(), Change::PermissionsOnly)]);
        assert!(p.pushes[0].permissions.is_some());
        f.metadata.hierarchy_field = Some("folders".into());
        let r = PlanRules {
            folder: &f,
            permissions: Some(&rules_v1),
            mode: PlanMode::Incremental,
        };
        let p = plan(&state, &s, &r);
        assert_eq!(
            changes(&p),
            vec![
                ("b".into(), Change::MetadataOnly),
                ("hr/a".into(), Change::MetadataOnly)
            ]
        );
    }

    #[test]
    fn pending_rows_are_retried_or_deleted_and_problems_left_alone() {
        let f = folder();
        let rules = PlanRules {
            folder: &f,
            permissions: None,
            mode: PlanMode::Incremental,
        };
        let s1 = snapshot(&[
            ("a", file("h1", 1)),
            ("b", file("h2", 2)),
            ("c", file("h3", 3)),
        ]);
        let mut state = accepted(&s1, &rules);
        state[0].state = ItemState::Pending; // a: pushed, acceptance unknown
        state[1].state = ItemState::Pending; // b: same, and then deleted
        let mut s2 = snapshot(&[("a", file("h1", 1))]);
        s2.problems.push(FileProblem {
            path: "c".into(),
            kind: crate::model::ProblemKind::Unreadable,
            message: "denied".into(),
        });
        let p = plan(&state, &s2, &rules);
        assert_eq!(changes(&p), vec![("a".into(), Change::Retry)]);
        assert_eq!(p.deletes.len(), 1);
        assert_eq!(p.deletes[0].path, "b");
        assert_eq!(p.skipped.len(), 1);
    }

    #[test]
    fn rebuild_pushes_everything_and_scoped_scans_delete_only_in_scope() {
        let f = folder();
        let rules = PlanRules {
            folder: &f,
            permissions: None,
            mode: PlanMode::Incremental,
        };
        let s1 = snapshot(&[("x/a", file("h1", 1)), ("y/b", file("h2", 2))]);
        let state = accepted(&s1, &rules);
        let rebuild = PlanRules {
            mode: PlanMode::Rebuild,
            ..rules.clone()
        };
        assert_eq!(plan(&state, &s1, &rebuild).pushes.len(), 2);
        let mut scoped = snapshot(&[]);
        scoped.scope = vec!["x".into()];
        let p = plan(&state, &scoped, &rules);
        assert_eq!(
            p.deletes
                .iter()
                .map(|d| d.path.as_str())
                .collect::<Vec<_>>(),
            vec!["x/a"]
        );
    }

    #[test]
    fn brakes_hold_on_vanished_emptied_and_mass_deletes() {
        let f = folder();
        let rules = PlanRules {
            folder: &f,
            permissions: None,
            mode: PlanMode::Incremental,
        };
        let files: Vec<(String, ScannedFile)> = (0..40)
            .map(|i| (format!("f{i}"), file(&format!("h{i}"), i)))
            .collect();
        let refs: Vec<(&str, ScannedFile)> =
            files.iter().map(|(p, f)| (p.as_str(), f.clone())).collect();
        let s1 = snapshot(&refs);
        let state = accepted(&s1, &rules);
        let limits = SafetyLimits {
            max_delete_count: 25,
            max_delete_share: 0.5,
        };

        let empty = snapshot(&[]);
        let p = plan(&state, &empty, &rules);
        assert_eq!(
            check_brakes(&p, &empty, &limits),
            Some(Brake::Emptied { known: 40 })
        );

        let mut vanished = snapshot(&[]);
        vanished.root_status = RootStatus::Vanished("gone".into());
        assert!(matches!(
            check_brakes(&p, &vanished, &limits),
            Some(Brake::Vanished { .. })
        ));

        let some = snapshot(&refs[..12]); // 28 deletes > 25
        let p = plan(&state, &some, &rules);
        assert!(matches!(
            check_brakes(&p, &some, &limits),
            Some(Brake::MassDelete { deletes: 28, .. })
        ));

        let limits = SafetyLimits {
            max_delete_count: 1000,
            max_delete_share: 0.25,
        };
        let most = snapshot(&refs[..25]); // 15 of 40 = 37% > 25%
        let p = plan(&state, &most, &rules);
        let brake = check_brakes(&p, &most, &limits).unwrap();
        assert!(brake.to_string().contains("15 of 40"), "{brake}");

        let few = snapshot(&refs[..35]); // 5 deletes: under the share minimum
        let p = plan(&state, &few, &rules);
        assert_eq!(check_brakes(&p, &few, &limits), None);
    }

    /// The Unix documentIds are those of the earlier `PathBuf` code, for any input (stored
    /// state and pushed items depend on them).
    #[cfg(unix)]
    #[test]
    fn unix_document_ids_are_unchanged() {
        let before = |root: &str, rel: &str| {
            let mut full = std::path::PathBuf::from(root);
            for part in rel.split('/') {
                full.push(part);
            }
            coveo_push::file_uri_from_path(&full)
                .unwrap_or_else(|_| format!("file:///{}", rel.trim_start_matches('/')))
        };
        let roots = [
            "/srv/f",
            "/srv/f/",
            "/",
            "",
            "/srv/été",
            "/srv/a b/#x?%",
            "relative/dir",
            "C:\\Share",
            "\\\\server\\share",
            "/srv//double",
        ];
        let rels = [
            "a.txt",
            "d/e/f.txt",
            "",
            "/lead",
            "trail/",
            "a//b",
            "a b.pdf",
            "100%/#1?.txt",
            "été/ü.txt",
            "back\\slash.txt",
            "./x",
            "../up",
            "日本/語.txt",
        ];
        for root in roots {
            for rel in rels {
                assert_eq!(
                    document_id_for(root, rel, false),
                    before(root, rel),
                    "{root:?} + {rel:?}"
                );
                assert_eq!(
                    document_id(Path::new(root), rel),
                    before(root, rel),
                    "{root:?} + {rel:?}"
                );
            }
        }
    }

    #[test]
    fn windows_roots_give_file_uris() {
        let cases = [
            // drive, spaces
            ("C:\\Share", "a b.pdf", "file:///C:/Share/a%20b.pdf"),
            (
                "C:\\Share\\",
                "sub/a b.pdf",
                "file:///C:/Share/sub/a%20b.pdf",
            ),
            ("c:\\Share", "x.txt", "file:///C:/Share/x.txt"),
            ("D:\\", "top.txt", "file:///D:/top.txt"),
            ("C:/Share", "x.txt", "file:///C:/Share/x.txt"),
            // UNC
            (
                "\\\\server\\share\\docs",
                "HR/leave.pdf",
                "file://server/share/docs/HR/leave.pdf",
            ),
            ("\\\\Server\\Share\\", "a.pdf", "file://server/Share/a.pdf"),
            // verbatim roots (what canonicalize returns on Windows)
            ("\\\\?\\C:\\Share", "a b.pdf", "file:///C:/Share/a%20b.pdf"),
            (
                "\\\\?\\UNC\\server\\share\\docs",
                "a.pdf",
                "file://server/share/docs/a.pdf",
            ),
            // non-ASCII, #, ?, % encoded as on Unix
            (
                "C:\\Données",
                "été/ü #1?.txt",
                "file:///C:/Donn%C3%A9es/%C3%A9t%C3%A9/%C3%BC%20%231%3F.txt",
            ),
            ("C:\\Share", "100%.txt", "file:///C:/Share/100%25.txt"),
            (
                "C:\\Share",
                "日本.txt",
                "file:///C:/Share/%E6%97%A5%E6%9C%AC.txt",
            ),
        ];
        for (root, rel, want) in cases {
            assert_eq!(document_id_for(root, rel, true), want, "{root:?} + {rel:?}");
        }
        // The same names under a Unix root encode the same way.
        assert_eq!(
            document_id_for("/srv/Données", "été/ü #1?.txt", false),
            "file:///srv/Donn%C3%A9es/%C3%A9t%C3%A9/%C3%BC%20%231%3F.txt"
        );
        // A root that is not absolute (never configured) falls back to the relative path.
        assert_eq!(document_id_for("Share", "a.txt", true), "file:///a.txt");
    }

    /// On a case-insensitive file system (Windows, macOS) a rename that only changes letter
    /// case (`Report.txt` -> `report.txt`) is read by the scan as the new name; the planner
    /// sees a move by content hash and file id: the old item (old documentId) is deleted, the
    /// new one added. No path is compared case-insensitively anywhere.
    #[test]
    fn a_letter_case_rename_is_a_move() {
        let f = folder();
        let rules = PlanRules {
            folder: &f,
            permissions: None,
            mode: PlanMode::Incremental,
        };
        let s1 = snapshot(&[("HR/Report.txt", file("h1", 7))]);
        let state = accepted(&s1, &rules);
        let s2 = snapshot(&[("HR/report.txt", file("h1", 7))]);
        let p = plan(&state, &s2, &rules);
        assert_eq!(
            p.moves,
            vec![PlannedMove {
                from: "HR/Report.txt".into(),
                to: "HR/report.txt".into()
            }]
        );
        assert_eq!(
            changes(&p),
            vec![("HR/report.txt".into(), Change::MovedHere)]
        );
        assert_eq!(p.pushes[0].document_id, "file:///srv/f/HR/report.txt");
        assert_eq!(p.deletes.len(), 1);
        assert_eq!(p.deletes[0].document_id, "file:///srv/f/HR/Report.txt");
        assert_eq!(p.deletes[0].reason, DeleteReason::MovedAway);
        // The same on a Windows root: the documentIds differ by the letter case of the name.
        assert_ne!(
            document_id_for("C:\\Share", "HR/Report.txt", true),
            document_id_for("C:\\Share", "HR/report.txt", true)
        );
    }
}
