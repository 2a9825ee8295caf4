//! The plain types several modules share, and the path convention of items.
//!
//! The lowest module of the crate: it depends on no other. The scan produces these values
//! ([`crate::scan`]), the state store keeps them ([`crate::state`]), the planner and the
//! executor read them; none of those needs another's types for them.

use std::path::Path;

use serde::{Deserialize, Serialize};

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
}
