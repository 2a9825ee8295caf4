//! `scripts/check-boundaries.sh` (ARCHITECTURE.md, invariant 2) fails when a boundary is
//! broken: each test copies what the script reads (the workspace's manifests with empty
//! `src/lib.rs` stubs, Cargo.lock, `ui/src`) into a temp folder, breaks one rule in the copy,
//! and expects exit 1 with exactly that rule's sentences. The unbroken copy and this
//! repository itself pass.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The `members = [...]` entries of the workspace's Cargo.toml.
fn workspace_members(root: &Path) -> Vec<String> {
    let manifest = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let start = manifest.find("members = [").expect("members in Cargo.toml");
    let list = &manifest[start..];
    let list = &list[..list.find(']').unwrap()];
    list.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of what the check reads: manifests (sources stubbed), Cargo.lock, ui/src.
fn copy_of_repo() -> tempfile::TempDir {
    let root = repo_root();
    let copy = tempfile::tempdir().unwrap();
    for file in ["Cargo.toml", "Cargo.lock"] {
        fs::copy(root.join(file), copy.path().join(file)).unwrap();
    }
    let members = workspace_members(&root);
    assert!(members.len() >= 6, "members: {members:?}");
    for member in members {
        fs::create_dir_all(copy.path().join(&member).join("src")).unwrap();
        fs::copy(
            root.join(&member).join("Cargo.toml"),
            copy.path().join(&member).join("Cargo.toml"),
        )
        .unwrap();
        fs::write(copy.path().join(&member).join("src/lib.rs"), "").unwrap();
    }
    copy_dir(&root.join("ui/src"), &copy.path().join("ui/src"));
    copy
}

/// Runs the check on `root`: its exit code and its "boundary broken" lines, sorted.
fn check(root: &Path) -> (i32, Vec<String>, String) {
    let output = Command::new("bash")
        .arg(repo_root().join("scripts/check-boundaries.sh"))
        .arg(root)
        .output()
        .expect("bash runs the check");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let text = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let mut broken: Vec<String> = stdout
        .lines()
        .filter(|line| line.starts_with("boundary broken: "))
        .map(str::to_owned)
        .collect();
    broken.sort();
    (output.status.code().unwrap_or(-1), broken, text)
}

/// Breaks the copy with `edit` and asserts exit 1 with exactly `expected` (in any order).
fn assert_broken(edit: impl FnOnce(&Path), expected: &[&str]) {
    let copy = copy_of_repo();
    edit(copy.path());
    let (code, broken, text) = check(copy.path());
    let mut expected: Vec<String> = expected
        .iter()
        .map(|sentence| format!("boundary broken: {sentence}"))
        .collect();
    expected.sort();
    assert_eq!(code, 1, "the check should fail:\n{text}");
    assert_eq!(broken, expected, "output:\n{text}");
}

/// Inserts `lines` right under the `[section]` header of `crate_dir`'s manifest, or appends
/// the section when the manifest has none.
fn add_to_manifest(root: &Path, crate_dir: &str, section: &str, lines: &str) {
    let path = root.join(crate_dir).join("Cargo.toml");
    let manifest = fs::read_to_string(&path).unwrap();
    let header = format!("[{section}]\n");
    let manifest = match manifest.find(&header) {
        Some(at) => {
            let at = at + header.len();
            format!("{}{lines}\n{}", &manifest[..at], &manifest[at..])
        }
        None => format!("{manifest}\n{header}{lines}\n"),
    };
    fs::write(&path, manifest).unwrap();
}

/// Removes one exact line from a manifest (asserting it was there).
fn remove_from_manifest(root: &Path, crate_dir: &str, line: &str) {
    let path = root.join(crate_dir).join("Cargo.toml");
    let manifest = fs::read_to_string(&path).unwrap();
    let without = manifest.replacen(&format!("{line}\n"), "", 1);
    assert_ne!(manifest, without, "{line} in {crate_dir}/Cargo.toml");
    fs::write(&path, without).unwrap();
}

#[test]
fn this_repository_and_an_unbroken_copy_pass() {
    let copy = copy_of_repo();
    for root in [repo_root().as_path(), copy.path()] {
        let (code, broken, text) = check(root);
        assert_eq!(code, 0, "{}:\n{text}", root.display());
        assert!(broken.is_empty(), "{text}");
        assert!(text.contains("boundaries hold"), "{text}");
    }
}

#[test]
fn a_tauri_dependency_outside_the_app_is_named() {
    assert_broken(
        |root| add_to_manifest(root, "crates/sync-engine", "dependencies", r#"tauri = "2""#),
        &["only src-tauri (pushdeck-app) may depend on tauri, but sync-engine depends on tauri"],
    );
}

#[test]
fn target_specific_and_build_dependencies_count_and_so_do_external_crates() {
    assert_broken(
        |root| {
            add_to_manifest(
                root,
                "crates/permissions",
                "target.'cfg(windows)'.dependencies",
                r#"tauri-utils = "2""#,
            );
            // notify-rust pulls in tauri-winrt-notification on Windows (Cargo.lock).
            add_to_manifest(root, "crates/cli", "build-dependencies", r#"notify-rust = "4""#);
        },
        &[
            "only src-tauri (pushdeck-app) may depend on tauri, but permissions depends on tauri-utils",
            "only src-tauri (pushdeck-app) may depend on tauri, but pushdeck-cli depends on \
             tauri-winrt-notification (through notify-rust)",
        ],
    );
}

#[test]
fn a_dev_dependency_does_not_count() {
    let copy = copy_of_repo();
    add_to_manifest(
        copy.path(),
        "crates/sync-engine",
        "dev-dependencies",
        r#"tauri = "2""#,
    );
    let (code, broken, text) = check(copy.path());
    assert_eq!((code, broken.len()), (0, 0), "{text}");
}

#[test]
fn the_emulator_as_a_normal_dependency_of_the_client_core_is_named() {
    assert_broken(
        |root| {
            remove_from_manifest(
                root,
                "crates/coveo-push",
                "push-emulator = { workspace = true }",
            );
            add_to_manifest(
                root,
                "crates/coveo-push",
                "dependencies",
                "push-emulator = { workspace = true }",
            );
        },
        &[
            "push-emulator may only be a dev-dependency of coveo-push and sync-engine, but \
             coveo-push depends on it",
            "coveo-push may depend on no workspace crate but permissions, but coveo-push depends \
             on push-emulator",
        ],
    );
}

#[test]
fn the_emulator_reached_through_another_crate_is_named_where_the_manifest_is_wrong() {
    // sync-engine -> coveo-push -> push-emulator: only coveo-push's manifest needs fixing.
    assert_broken(
        |root| {
            add_to_manifest(
                root,
                "crates/coveo-push",
                "build-dependencies",
                "push-emulator = { workspace = true }",
            )
        },
        &[
            "push-emulator may only be a dev-dependency of coveo-push and sync-engine, but \
             coveo-push depends on it",
            "coveo-push may depend on no workspace crate but permissions, but coveo-push depends \
             on push-emulator",
        ],
    );
}

#[test]
fn permissions_depending_on_a_workspace_crate_is_named() {
    assert_broken(
        |root| {
            add_to_manifest(
                root,
                "crates/permissions",
                "dependencies",
                "coveo-push = { workspace = true }",
            )
        },
        &["permissions may depend on no workspace crate, but permissions depends on coveo-push"],
    );
}

#[test]
fn the_client_core_depending_on_the_engine_is_named() {
    assert_broken(
        |root| {
            add_to_manifest(
                root,
                "crates/coveo-push",
                "dependencies",
                "sync-engine = { workspace = true }",
            )
        },
        &["coveo-push may depend on no workspace crate but permissions, but coveo-push depends on \
           sync-engine"],
    );
}

#[test]
fn a_dependency_on_a_front_is_named() {
    assert_broken(
        |root| {
            add_to_manifest(
                root,
                "crates/sync-engine",
                "dependencies",
                r#"pushdeck-cli = { path = "../cli" }"#,
            );
            add_to_manifest(
                root,
                "crates/push-emulator",
                "dependencies",
                r#"renamed-app = { package = "pushdeck-app", path = "../../src-tauri" }"#,
            );
        },
        &[
            "nothing may depend on the fronts (pushdeck-app, pushdeck-cli), but sync-engine \
             depends on pushdeck-cli",
            "nothing may depend on the fronts (pushdeck-app, pushdeck-cli), but push-emulator \
             depends on pushdeck-app",
        ],
    );
}

#[test]
fn a_tauri_import_outside_ui_src_ipc_is_named() {
    let app_lines = fs::read_to_string(repo_root().join("ui/src/App.svelte"))
        .unwrap()
        .lines()
        .count();
    assert_broken(
        |root| {
            let main = root.join("ui/src/main.ts");
            let text = fs::read_to_string(&main).unwrap();
            let broken = format!("import {{ invoke }} from \"@tauri-apps/api/core\";\n{text}");
            fs::write(&main, broken).unwrap();
            let app = root.join("ui/src/App.svelte");
            let text = fs::read_to_string(&app).unwrap();
            let broken =
                format!("{text}<script>const e = import('@tauri-apps/api/event');</script>\n");
            fs::write(&app, broken).unwrap();
            // Inside ui/src/ipc/ the same import is the rule, not a break.
            fs::write(
                root.join("ui/src/ipc/extra.ts"),
                "import { listen } from \"@tauri-apps/api/event\";\n",
            )
            .unwrap();
        },
        &[
            "only ui/src/ipc/ may import @tauri-apps/*, but ui/src/main.ts:1 imports \
             @tauri-apps/api/core",
            &format!(
                "only ui/src/ipc/ may import @tauri-apps/*, but ui/src/App.svelte:{} imports \
                 @tauri-apps/api/event",
                app_lines + 1
            ),
        ],
    );
}
