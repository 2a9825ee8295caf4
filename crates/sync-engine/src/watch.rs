//! Watching: file system events become hints that schedule targeted rescans; they never say
//! what changed (ARCHITECTURE.md, invariant 4). The scan is the truth, so a lost or coalesced
//! event only delays a sync until the next hint or the periodic full rescan.
//!
//! The native watcher (inotify, FSEvents, ReadDirectoryChangesW) runs behind
//! `notify-debouncer-full`. When the system is out of watches (inotify's `max_user_watches`),
//! the folder falls back to polling (`notify::PollWatcher`) and says so once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::RecursiveMode;
use notify_debouncer_full::{new_debouncer, new_debouncer_opt, DebounceEventResult, NoCache};

use crate::model::rel_path_string;

/// Polling interval of the fallback watcher: every tick stats every file of the folder, so it
/// is much slower than native events; 30 s bounds the delay while keeping the disk mostly idle.
pub const POLL_FALLBACK_INTERVAL: Duration = Duration::from_secs(30);

/// A hint: these directories (relative to the folder, `""` = its root) changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchHint {
    pub folder: String,
    pub dirs: Vec<String>,
}

/// Which watcher a folder got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchMode {
    Native,
    /// The native watcher could not be set up; `reason` says why and what to do.
    Polling {
        reason: String,
    },
}

/// A running watcher; dropping it stops it.
pub struct FolderWatcher {
    _native: Option<
        notify_debouncer_full::Debouncer<
            notify::RecommendedWatcher,
            notify_debouncer_full::RecommendedCache,
        >,
    >,
    _poll: Option<notify_debouncer_full::Debouncer<notify::PollWatcher, NoCache>>,
    pub mode: WatchMode,
}

impl std::fmt::Debug for FolderWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FolderWatcher")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// The directories (relative to `root`) that a batch of event paths touched: the parent of
/// each path (a created, changed or removed file or directory). Paths outside `root` or with
/// names that are not UTF-8 widen the hint to the root.
pub fn touched_dirs(root: &Path, paths: &[PathBuf]) -> Vec<String> {
    let mut dirs = BTreeSet::new();
    for path in paths {
        // An existing directory is rescanned itself (a new folder full of files); anything
        // else (a file, a removed folder) through its parent.
        let parent = if path.is_dir() {
            path.as_path()
        } else {
            path.parent().unwrap_or(path)
        };
        let dir = match parent.strip_prefix(root) {
            Ok(rel) => rel_path_string(rel).unwrap_or_default(),
            Err(_) if path == root => String::new(),
            Err(_) => continue,
        };
        dirs.insert(dir);
    }
    // A directory whose ancestor is already listed adds nothing.
    let all: Vec<String> = dirs.into_iter().collect();
    all.iter()
        .filter(|d| {
            !all.iter().any(|a| {
                a != *d
                    && (a.is_empty()
                        || d.strip_prefix(a.as_str())
                            .is_some_and(|r| r.starts_with('/')))
            })
        })
        .cloned()
        .collect()
}

fn is_out_of_watches(e: &notify::Error) -> bool {
    match &e.kind {
        notify::ErrorKind::MaxFilesWatch => true,
        // ENOSPC from inotify_add_watch means the same on Linux.
        notify::ErrorKind::Io(io) => io.raw_os_error() == Some(28),
        _ => false,
    }
}

/// The folder cannot be watched at all, neither by file events nor by polling (the engine
/// then finds changes by its periodic rescan only).
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The native watcher started but refused the folder (not for lack of watches).
    #[error("cannot watch {}: {source}", root.display())]
    Watch {
        root: PathBuf,
        source: notify::Error,
    },
    /// The polling fallback could not start or refused the folder.
    #[error("cannot poll {}: {source}", root.display())]
    Poll {
        root: PathBuf,
        source: notify::Error,
    },
}

/// Starts watching `root` recursively; each debounced batch of events becomes a [`WatchHint`]
/// passed to `send`. `force_polling` is for tests of the fallback.
pub fn watch_folder(
    folder: &str,
    root: &Path,
    debounce: Duration,
    force_polling: bool,
    poll_interval: Duration,
    send: impl Fn(WatchHint) + Send + Sync + Clone + 'static,
) -> Result<FolderWatcher, WatchError> {
    let handler = {
        let folder = folder.to_string();
        let root = root.to_path_buf();
        move |result: DebounceEventResult| {
            let paths: Vec<PathBuf> = match result {
                // Reads (open, close without writing) change nothing.
                Ok(events) => events
                    .iter()
                    .filter(|e| {
                        !matches!(
                            e.kind,
                            notify::EventKind::Access(a)
                                if a != notify::event::AccessKind::Close(notify::event::AccessMode::Write)
                        )
                    })
                    .flat_map(|e| e.paths.clone())
                    .collect(),
                // An error (queue overflow, a removed root) is a reason to rescan everything.
                Err(_) => vec![root.join(".")],
            };
            let dirs = touched_dirs(&root, &paths);
            if !dirs.is_empty() {
                send(WatchHint {
                    folder: folder.clone(),
                    dirs,
                });
            }
        }
    };
    let native_error = if force_polling {
        "polling was requested".to_string()
    } else {
        match new_debouncer(debounce, None, handler.clone()) {
            Ok(mut d) => match d.watch(root, RecursiveMode::Recursive) {
                Ok(()) => {
                    return Ok(FolderWatcher { _native: Some(d), _poll: None, mode: WatchMode::Native })
                }
                Err(e) if is_out_of_watches(&e) => format!(
                    "the system ran out of file watches ({e}); raise fs.inotify.max_user_watches (sysctl) to get instant updates"
                ),
                Err(source) => {
                    return Err(WatchError::Watch {
                        root: root.to_path_buf(),
                        source,
                    })
                }
            },
            Err(e) => format!("the native watcher could not start ({e})"),
        }
    };
    let config = notify::Config::default().with_poll_interval(poll_interval);
    let mut d = new_debouncer_opt::<_, notify::PollWatcher, NoCache>(
        debounce, None, handler, NoCache, config,
    )
    .map_err(|source| WatchError::Poll {
        root: root.to_path_buf(),
        source,
    })?;
    d.watch(root, RecursiveMode::Recursive)
        .map_err(|source| WatchError::Poll {
            root: root.to_path_buf(),
            source,
        })?;
    Ok(FolderWatcher {
        _native: None,
        _poll: Some(d),
        mode: WatchMode::Polling {
            reason: format!(
                "{native_error}; checking for changes every {} instead",
                humantime::format_duration(poll_interval)
            ),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touched_dirs_are_parents_without_nesting() {
        let root = Path::new("/r");
        let paths = vec![
            PathBuf::from("/r/a/b/x.txt"),
            PathBuf::from("/r/a/y.txt"),
            PathBuf::from("/r/c/z.txt"),
            PathBuf::from("/elsewhere/q"),
        ];
        assert_eq!(touched_dirs(root, &paths), vec!["a", "c"]);
        assert_eq!(touched_dirs(root, &[PathBuf::from("/r/top.txt")]), vec![""]);
    }

    #[test]
    fn a_folder_that_cannot_be_watched_is_a_watch_error_with_the_notify_error_inside() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        // The native watcher refuses a missing folder (polling would wait for it to appear).
        let Err(e) = watch_folder(
            "f",
            &missing,
            Duration::from_millis(50),
            false,
            POLL_FALLBACK_INTERVAL,
            |_| {},
        ) else {
            panic!("a missing folder is watched");
        };
        assert!(
            matches!(&e, WatchError::Watch { root, .. } if *root == missing),
            "{e:?}"
        );
        assert!(
            e.to_string()
                .starts_with(&format!("cannot watch {}: ", missing.display())),
            "{e}"
        );
        let source = std::error::Error::source(&e).expect("the notify error");
        assert!(
            source.downcast_ref::<notify::Error>().is_some(),
            "{source:?}"
        );
    }

    #[test]
    fn native_watch_sends_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let tx = std::sync::Arc::new(std::sync::Mutex::new(tx));
        let w = watch_folder(
            "f",
            dir.path(),
            Duration::from_millis(50),
            false,
            POLL_FALLBACK_INTERVAL,
            move |h| {
                if let Ok(tx) = tx.lock() {
                    let _ = tx.send(h);
                }
            },
        )
        .unwrap();
        assert_eq!(w.mode, WatchMode::Native);
        std::fs::write(dir.path().join("sub/new.txt"), "x").unwrap();
        let hint = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(hint.folder, "f");
        assert!(hint.dirs.contains(&"sub".to_string()), "{hint:?}");
    }
}
