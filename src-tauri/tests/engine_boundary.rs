//! The rule: the desktop host never reads the sync engine's state store itself. Everything it
//! shows of a folder (its card, its item count, the paths it recorded) comes from the engine
//! handle (`status()`, the `FolderState` event's card, `recorded_paths()`), so no file under
//! `src-tauri/src` may mention `state::Store` or `rusqlite`. Tests (this folder) may still open
//! the store read-only to check what the engine wrote.

use std::path::{Path, PathBuf};

const RULE: &str = "the host never opens the sync engine's state store: it asks the engine \
     (EngineHandle::status, the FolderState event's card, EngineHandle::recorded_paths) \
     instead of naming state::Store or rusqlite under src-tauri/src";

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Why `text` breaks the rule, one line per mention: `rusqlite`, `state::Store`, a glob import
/// of the engine's `state` module, or `Store` inside a `state::{...}` group import.
fn mentions(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.contains("rusqlite") {
            found.push(format!("line {n} names rusqlite"));
        }
        if line.contains("state::Store") {
            found.push(format!("line {n} names state::Store"));
        }
        if line.contains("state::*") {
            found.push(format!("line {n} imports all of a state module (state::*)"));
        }
    }
    // `use sync_engine::state::{Store, ...}`, possibly over several lines.
    let mut rest = text;
    while let Some(at) = rest.find("state::{") {
        let group = &rest[at + "state::{".len()..];
        let end = group.find('}').unwrap_or(group.len());
        if group[..end]
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .any(|word| word == "Store")
        {
            let line = text.len() - rest.len() + at;
            let n = text[..line].lines().count().max(1);
            found.push(format!("line {n} imports Store from a state module"));
        }
        rest = &group[end..];
    }
    found
}

#[test]
fn the_host_never_reads_the_engine_state_store() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 5, "no sources found under {}", src.display());
    let mut broken = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for why in mentions(&text) {
            broken.push(format!("{}: {why}", file.display()));
        }
    }
    assert!(broken.is_empty(), "{RULE}:\n{}", broken.join("\n"));
}

#[test]
fn the_scan_finds_each_way_of_naming_the_store() {
    assert!(mentions("fn f() { let _ = 1; }\n// the engine's state\n").is_empty());
    assert_eq!(mentions("use rusqlite::Connection;").len(), 1);
    assert_eq!(
        mentions("sync_engine::state::Store::open(&p)"),
        vec!["line 1 names state::Store".to_string()]
    );
    assert_eq!(mentions("use sync_engine::state::*;").len(), 1);
    assert_eq!(
        mentions("use a::b;\nuse sync_engine::state::{\n    LogVerdict,\n    Store,\n};"),
        vec!["line 2 imports Store from a state module".to_string()]
    );
    // Another name of the module that only starts with Store is fine.
    assert!(mentions("use sync_engine::state::{LogVerdict, StoreKind};").is_empty());
}
