//! Scan: what is in a folder right now, cheaply.
//!
//! The walk is parallel (`ignore::WalkParallel`). A file whose size, modification time and
//! file id equal what the state store knows keeps its known content hash; only the others
//! (the candidates) are read and hashed. Problems with single files (unreadable, changed while
//! read, a name that is not UTF-8, a symlink loop) are data in [`Snapshot::problems`]: the scan
//! goes on, and the planner leaves those paths alone so an unreadable file is never deleted.
//!
//! Content hash: SHA-256. It is the hash the emulator (and our own tests) expose for items, it
//! is collision resistant (a collision would silently skip an update), and `sha2` uses the CPU's
//! SHA extensions when present (well over 1 GB/s), faster than the disks it reads from. Because
//! only candidates are hashed, a rescan with nothing changed reads no file content at all.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Filters;

/// Threads of the parallel walk. Two keeps a laptop responsive while still overlapping the
/// directory reads of one thread with the hashing of the other.
pub const SCAN_THREADS: usize = 2;

/// Read buffer for hashing: large enough to amortize syscalls, small enough per thread.
const HASH_BUFFER: usize = 256 * 1024;

/// Identity of a file on its volume (device and inode on Unix); lets a rename be told apart from
/// a delete plus an unrelated add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileId {
    pub device: u64,
    pub inode: u64,
}

/// What the state store knows of a file, to decide whether it must be hashed again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownFile {
    pub size: u64,
    pub mtime_ns: i64,
    pub file_id: Option<FileId>,
    pub content_hash: String,
}

/// One file found by the scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScannedFile {
    pub size: u64,
    pub mtime_ns: i64,
    pub file_id: Option<FileId>,
    /// SHA-256 of the content, hex.
    pub content_hash: String,
    /// Whether the content was read in this scan (false: taken from the state store).
    pub hashed: bool,
}

/// Why a single file could not be scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// Permission denied or an IO error while reading.
    Unreadable,
    /// The file's size or modification time changed while it was hashed.
    ChangedWhileRead,
    /// The name is not valid UTF-8, so it cannot become an item URI.
    NameNotUtf8,
    /// A symbolic link leads back to one of its own parents.
    SymlinkLoop,
    /// The Push API refused or failed this item (set by the executor, not the scan).
    PushFailed,
    /// The API accepted the item but indexing rejected it (from the Source Logs).
    Rejected,
}

impl ProblemKind {
    /// What the person can do about it, one sentence.
    pub fn what_to_do(self) -> &'static str {
        match self {
            Self::Unreadable => "check the file's permissions; it is retried at the next scan",
            Self::ChangedWhileRead => {
                "nothing: the file was being written; it is read again once it is stable"
            }
            Self::NameNotUtf8 => "rename the file with valid characters; it is skipped until then",
            Self::SymlinkLoop => "remove the looping link or exclude it with a filter",
            Self::PushFailed => "see the message; the item is retried with backoff",
            Self::Rejected => "see the reason; fix the file and save it again to retry",
        }
    }
}

/// A problem with one file; the rest of the scan goes on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileProblem {
    /// Relative path (lossy for names that are not UTF-8).
    pub path: String,
    pub kind: ProblemKind,
    pub message: String,
}

/// Whether the folder itself is usable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum RootStatus {
    Present,
    /// The folder is missing, not a folder, or unreadable: an unplugged drive or a wrong path.
    Vanished(String),
}

/// Counters of one scan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScanStats {
    pub files: u64,
    pub hashed: u64,
    pub bytes_hashed: u64,
    pub excluded: u64,
    pub symlinks_skipped: u64,
    #[serde(with = "duration_ms")]
    pub elapsed: Duration,
}

mod duration_ms {
    use serde::Serializer;
    pub fn serialize<S: Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// The result of a scan: the truth the planner compares the state store with.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub root_status: RootStatus,
    /// Directories (relative) this snapshot covers; empty = the whole folder. The planner only
    /// deletes known items under these.
    pub scope: Vec<String>,
    /// Included files by relative `/`-separated path.
    pub files: BTreeMap<String, ScannedFile>,
    pub problems: Vec<FileProblem>,
    pub stats: ScanStats,
}

impl Snapshot {
    /// Whether `rel_path` lies in the scanned part of the folder.
    pub fn covers(&self, rel_path: &str) -> bool {
        self.scope.is_empty()
            || self.scope.iter().any(|dir| {
                dir.is_empty()
                    || rel_path
                        .strip_prefix(dir.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
    }
}

/// What to scan and how.
#[derive(Debug, Clone)]
pub struct ScanRequest {
    pub root: PathBuf,
    pub filters: Filters,
    pub follow_symlinks: bool,
    /// Directories (relative) to rescan; empty = the whole folder.
    pub scope: Vec<String>,
    pub threads: usize,
}

/// A path relative to the folder as an item path: `/`-separated, `None` if not UTF-8.
pub fn rel_path_string(rel: &Path) -> Option<String> {
    // Fast path (every file of a rescan comes here): on Unix a walk path relative to the root
    // is already `/`-separated; copy it as is unless it has parts `components()` would
    // normalize (empty, `.`, a leading or trailing `/`).
    #[cfg(unix)]
    if let Some(s) = rel.to_str() {
        if !s.starts_with('/')
            && !s.ends_with('/')
            && !s.split('/').any(|p| p.is_empty() || p == ".")
        {
            return Some(s.to_owned());
        }
    }
    let mut out = String::new();
    for part in rel.components() {
        let part = part.as_os_str().to_str()?;
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(part);
    }
    Some(out)
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(unix)]
fn file_id(meta: &std::fs::Metadata) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    Some(FileId {
        device: meta.dev(),
        inode: meta.ino(),
    })
}

#[cfg(not(unix))]
fn file_id(_meta: &std::fs::Metadata) -> Option<FileId> {
    // Stable Rust exposes no file index on Windows; moves are then detected by content alone.
    None
}

/// SHA-256 of a file, checking that its size and mtime did not change while it was read.
pub fn hash_file(path: &Path) -> Result<(String, u64, i64), (ProblemKind, String)> {
    let unreadable = |e: std::io::Error| (ProblemKind::Unreadable, e.to_string());
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let before = file.metadata().map_err(unreadable)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; HASH_BUFFER];
    let mut read_total = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        read_total += n as u64;
        hasher.update(&buf[..n]);
    }
    let after = std::fs::metadata(path).map_err(unreadable)?;
    if after.len() != before.len()
        || mtime_ns(&after) != mtime_ns(&before)
        || read_total != before.len()
    {
        return Err((
            ProblemKind::ChangedWhileRead,
            format!(
                "size went from {} to {} bytes while it was read",
                before.len(),
                after.len()
            ),
        ));
    }
    Ok((
        hex::encode(hasher.finalize()),
        before.len(),
        mtime_ns(&before),
    ))
}

enum Found {
    File(String, ScannedFile),
    Problem(FileProblem),
    Excluded,
    Symlink,
}

/// Checks the root, then walks it in parallel. Blocking: run it on a blocking thread.
pub fn scan(request: &ScanRequest, known: &HashMap<String, KnownFile>) -> Snapshot {
    let started = Instant::now();
    let mut snapshot = Snapshot {
        root_status: RootStatus::Present,
        scope: request.scope.clone(),
        files: BTreeMap::new(),
        problems: Vec::new(),
        stats: ScanStats::default(),
    };
    match std::fs::metadata(&request.root) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            snapshot.root_status =
                RootStatus::Vanished(format!("{} is not a folder", request.root.display()));
            return snapshot;
        }
        Err(e) => {
            snapshot.root_status = RootStatus::Vanished(format!(
                "{} cannot be opened ({e}); is the drive plugged in and the path right?",
                request.root.display()
            ));
            return snapshot;
        }
    }
    if let Err(e) = std::fs::read_dir(&request.root) {
        snapshot.root_status =
            RootStatus::Vanished(format!("{} cannot be listed ({e})", request.root.display()));
        return snapshot;
    }

    let starts: Vec<PathBuf> = if request.scope.is_empty() {
        vec![request.root.clone()]
    } else {
        request
            .scope
            .iter()
            .map(|d| {
                if d.is_empty() {
                    request.root.clone()
                } else {
                    request.root.join(d)
                }
            })
            .filter(|p| p.is_dir())
            .collect()
    };
    if starts.is_empty() {
        snapshot.stats.elapsed = started.elapsed();
        return snapshot;
    }
    let mut builder = ignore::WalkBuilder::new(&starts[0]);
    for extra in &starts[1..] {
        builder.add(extra);
    }
    builder
        .standard_filters(false)
        .follow_links(request.follow_symlinks)
        .threads(request.threads.max(1));

    let (tx, rx) = mpsc::channel::<Found>();
    let root = Arc::new(request.root.clone());
    let filters = Arc::new(request.filters.clone());
    std::thread::scope(|s| {
        s.spawn(|| {
            builder.build_parallel().run(|| {
                let tx = tx.clone();
                let root = Arc::clone(&root);
                let filters = Arc::clone(&filters);
                let mut dir_rules = HashMap::new();
                Box::new(move |entry| visit(entry, &root, &filters, &mut dir_rules, known, &tx))
            });
            drop(tx);
        });
        for found in rx {
            match found {
                Found::File(path, file) => {
                    snapshot.stats.files += 1;
                    if file.hashed {
                        snapshot.stats.hashed += 1;
                        snapshot.stats.bytes_hashed += file.size;
                    }
                    snapshot.files.insert(path, file);
                }
                Found::Problem(p) => snapshot.problems.push(p),
                Found::Excluded => snapshot.stats.excluded += 1,
                Found::Symlink => snapshot.stats.symlinks_skipped += 1,
            }
        }
    });
    snapshot.problems.sort_by(|a, b| a.path.cmp(&b.path));
    snapshot.stats.elapsed = started.elapsed();
    snapshot
}

fn visit(
    entry: Result<ignore::DirEntry, ignore::Error>,
    root: &Path,
    filters: &Filters,
    dir_rules: &mut HashMap<String, Option<usize>>,
    known: &HashMap<String, KnownFile>,
    tx: &mpsc::Sender<Found>,
) -> ignore::WalkState {
    let send = |f: Found| {
        // The receiver lives until the walk ends; a send error cannot happen before that.
        let _ = tx.send(f);
    };
    let entry = match entry {
        Ok(e) => e,
        Err(err) => {
            let is_loop = walk_error_is_loop(&err);
            let path = walk_error_path(&err)
                .and_then(|p| {
                    p.strip_prefix(root)
                        .ok()
                        .map(|r| r.to_string_lossy().into_owned())
                })
                .unwrap_or_default();
            send(Found::Problem(FileProblem {
                path,
                kind: if is_loop {
                    ProblemKind::SymlinkLoop
                } else {
                    ProblemKind::Unreadable
                },
                message: err.to_string(),
            }));
            return ignore::WalkState::Continue;
        }
    };
    let Ok(rel) = entry.path().strip_prefix(root) else {
        return ignore::WalkState::Continue;
    };
    let Some(rel_str) = rel_path_string(rel) else {
        send(Found::Problem(FileProblem {
            path: rel.to_string_lossy().into_owned(),
            kind: ProblemKind::NameNotUtf8,
            message: "the name is not valid UTF-8".into(),
        }));
        return if entry.file_type().is_some_and(|t| t.is_dir()) {
            ignore::WalkState::Skip
        } else {
            ignore::WalkState::Continue
        };
    };
    let Some(file_type) = entry.file_type() else {
        return ignore::WalkState::Continue;
    };
    if file_type.is_dir() {
        if !rel_str.is_empty() && filters.prunes_dir(&rel_str) {
            return ignore::WalkState::Skip;
        }
        return ignore::WalkState::Continue;
    }
    if file_type.is_symlink() {
        send(Found::Symlink);
        return ignore::WalkState::Continue;
    }
    if !file_type.is_file() {
        return ignore::WalkState::Continue;
    }
    let parent = rel_str.rsplit_once('/').map_or("", |(p, _)| p);
    let dir_rule = dir_rule_cached(filters, dir_rules, parent);
    if !filters.includes_file(&rel_str, dir_rule) {
        send(Found::Excluded);
        return ignore::WalkState::Continue;
    }
    let meta = match entry.metadata() {
        Ok(m) => m,
        Err(e) => {
            send(Found::Problem(FileProblem {
                path: rel_str,
                kind: ProblemKind::Unreadable,
                message: e.to_string(),
            }));
            return ignore::WalkState::Continue;
        }
    };
    let (size, mtime, id) = (meta.len(), mtime_ns(&meta), file_id(&meta));
    if let Some(k) = known.get(&rel_str) {
        if k.size == size && k.mtime_ns == mtime && k.file_id == id && !k.content_hash.is_empty() {
            send(Found::File(
                rel_str,
                ScannedFile {
                    size,
                    mtime_ns: mtime,
                    file_id: id,
                    content_hash: k.content_hash.clone(),
                    hashed: false,
                },
            ));
            return ignore::WalkState::Continue;
        }
    }
    match hash_file(entry.path()) {
        Ok((hash, size, mtime)) => send(Found::File(
            rel_str,
            ScannedFile {
                size,
                mtime_ns: mtime,
                file_id: id,
                content_hash: hash,
                hashed: true,
            },
        )),
        Err((kind, message)) => send(Found::Problem(FileProblem {
            path: rel_str,
            kind,
            message,
        })),
    }
    ignore::WalkState::Continue
}

/// [`Filters::dir_rule`] of a directory, computed once per directory and walk thread.
fn dir_rule_cached(
    filters: &Filters,
    cache: &mut HashMap<String, Option<usize>>,
    rel_dir: &str,
) -> Option<usize> {
    if rel_dir.is_empty() {
        return None;
    }
    if let Some(rule) = cache.get(rel_dir) {
        return *rule;
    }
    let parent = rel_dir.rsplit_once('/').map_or("", |(p, _)| p);
    let parent_rule = dir_rule_cached(filters, cache, parent);
    let rule = filters.dir_rule(rel_dir, parent_rule);
    cache.insert(rel_dir.to_string(), rule);
    rule
}

fn walk_error_is_loop(err: &ignore::Error) -> bool {
    match err {
        ignore::Error::Loop { .. } => true,
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => walk_error_is_loop(err),
        _ => false,
    }
}

fn walk_error_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::Loop { child, .. } => Some(child),
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_error_path(err)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rel_path_strings_match_the_components() {
        for (raw, want) in [
            ("a/b/c.txt", Some("a/b/c.txt")),
            ("a//b", Some("a/b")),
            ("./a/./b/", Some("./a/b")),
            ("", Some("")),
            ("f.txt", Some("f.txt")),
        ] {
            assert_eq!(rel_path_string(Path::new(raw)).as_deref(), want, "{raw:?}");
        }
    }

    fn request(root: &Path) -> ScanRequest {
        ScanRequest {
            root: root.to_path_buf(),
            filters: Filters::new(&["- *.tmp"]).unwrap(),
            follow_symlinks: false,
            scope: Vec::new(),
            threads: SCAN_THREADS,
        }
    }

    fn known_from(s: &Snapshot) -> HashMap<String, KnownFile> {
        s.files
            .iter()
            .map(|(p, f)| {
                (
                    p.clone(),
                    KnownFile {
                        size: f.size,
                        mtime_ns: f.mtime_ns,
                        file_id: f.file_id,
                        content_hash: f.content_hash.clone(),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn hashes_only_candidates() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/one.txt"), "one").unwrap();
        std::fs::write(dir.path().join("two.txt"), "two").unwrap();
        std::fs::write(dir.path().join("skip.tmp"), "x").unwrap();
        let first = scan(&request(dir.path()), &HashMap::new());
        assert_eq!(first.root_status, RootStatus::Present);
        assert_eq!(
            first.files.keys().collect::<Vec<_>>(),
            vec!["a/b/one.txt", "two.txt"]
        );
        assert_eq!(first.stats.hashed, 2);
        assert_eq!(first.stats.excluded, 1);
        assert_eq!(
            first.files["two.txt"].content_hash,
            hex::encode(Sha256::digest(b"two")),
        );
        let second = scan(&request(dir.path()), &known_from(&first));
        assert_eq!(second.stats.hashed, 0);
        assert_eq!(
            second.files,
            first
                .files
                .iter()
                .map(|(p, f)| (
                    p.clone(),
                    ScannedFile {
                        hashed: false,
                        ..f.clone()
                    }
                ))
                .collect()
        );
        std::fs::write(dir.path().join("two.txt"), "two, edited").unwrap();
        let third = scan(&request(dir.path()), &known_from(&second));
        assert_eq!(third.stats.hashed, 1);
        assert!(third.files["two.txt"].hashed);
    }

    #[test]
    fn a_file_written_while_hashed_is_a_problem_not_a_hash() {
        use std::io::Write;
        use std::sync::atomic::{AtomicBool, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("growing.log");
        std::fs::write(&path, vec![b'x'; 8 * 1024 * 1024]).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (path, stop) = (path.clone(), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    f.write_all(b"more\n").unwrap();
                }
            })
        };
        // The writer appends continuously, so each hash sees the size change.
        let results: Vec<_> = (0..3).map(|_| hash_file(&path)).collect();
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err((ProblemKind::ChangedWhileRead, _)))),
            "{results:?}"
        );
        // Once stable, it hashes.
        assert!(hash_file(&path).is_ok());
    }

    #[test]
    fn vanished_root_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let s = scan(&request(&dir.path().join("gone")), &HashMap::new());
        assert!(matches!(s.root_status, RootStatus::Vanished(ref r) if r.contains("plugged")));
    }

    #[test]
    fn scoped_scan_covers_only_its_dirs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a")).unwrap();
        std::fs::create_dir_all(dir.path().join("ab")).unwrap();
        std::fs::write(dir.path().join("a/x"), "x").unwrap();
        std::fs::write(dir.path().join("ab/y"), "y").unwrap();
        let mut req = request(dir.path());
        req.scope = vec!["a".into()];
        let s = scan(&req, &HashMap::new());
        assert_eq!(s.files.keys().collect::<Vec<_>>(), vec!["a/x"]);
        assert!(s.covers("a/x") && s.covers("a/gone") && !s.covers("ab/y"));
        req.scope = vec!["missing".into()];
        assert!(scan(&req, &HashMap::new()).files.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_skipped_and_loops_detected_when_followed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("d/f"), "f").unwrap();
        std::os::unix::fs::symlink(dir.path(), dir.path().join("d/loop")).unwrap();
        let s = scan(&request(dir.path()), &HashMap::new());
        assert_eq!(s.files.len(), 1);
        assert_eq!(s.stats.symlinks_skipped, 1);
        assert!(s.problems.is_empty());
        let mut req = request(dir.path());
        req.follow_symlinks = true;
        let s = scan(&req, &HashMap::new());
        assert_eq!(s.files.len(), 1, "{:?}", s.files);
        assert_eq!(s.problems.len(), 1, "{:?}", s.problems);
        assert_eq!(s.problems[0].kind, ProblemKind::SymlinkLoop);
    }

    #[cfg(unix)]
    #[test]
    fn per_file_problems_do_not_stop_the_scan() {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ok"), "ok").unwrap();
        let bad = std::ffi::OsStr::from_bytes(b"bad\xff.txt");
        std::fs::write(dir.path().join(bad), "x").unwrap();
        let locked = dir.path().join("locked");
        std::fs::write(&locked, "secret").unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        let s = scan(&request(dir.path()), &HashMap::new());
        let kinds: Vec<ProblemKind> = s.problems.iter().map(|p| p.kind).collect();
        assert!(
            kinds.contains(&ProblemKind::NameNotUtf8),
            "{:?}",
            s.problems
        );
        // root can read anything; the unreadable case only shows up for ordinary users.
        let is_root = std::fs::read(&locked).is_ok();
        if !is_root {
            assert!(kinds.contains(&ProblemKind::Unreadable), "{:?}", s.problems);
        }
        assert!(s.files.contains_key("ok"));
    }
}
