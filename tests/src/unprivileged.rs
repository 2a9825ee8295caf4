// Running part of a test as an unprivileged user, so that checks of unreadable files assert on
// every run. Root reads a file or lists a folder of mode 000, so as root such a check would
// test nothing; this machine and CI run everything as root.
//
// This file is the module `pushdeck_proof::unprivileged`. sync-engine's tests, which do not
// depend on pushdeck-proof, compile the same file with `include!` (its scan unit test, and
// `crates/sync-engine/tests/common/unprivileged.rs`). So: std only, no `crate::` paths, no
// inner attributes and no `//!` comments.

use std::ffi::OsString;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The uid and gid the body runs as when the test runs as root (`nobody`, `nogroup`).
pub const UID: u32 = 65534;
pub const GID: u32 = 65534;

/// Set in the re-executed test process: it is the child, and runs the body.
pub const CHILD_ENV: &str = "PUSHDECK_TEST_UNPRIVILEGED_CHILD";

/// The root parent's test executable, given to the child (whose own executable may be a copy,
/// see [`reachable_by_nobody`]).
pub const PARENT_EXE_ENV: &str = "PUSHDECK_TEST_PARENT_EXE";

/// Printed by the body's process; the root parent requires it, with uid 65534, in the child's
/// output.
const MARKER: &str = "unprivileged: the test body runs as uid";

/// `true` where the test body must run now, `false` where it already ran elsewhere and passed.
///
/// - Not root: prints the uid and returns `true` (mode 000 already stops reads here).
/// - The re-executed child: checks it is not root, prints its uid, returns `true`.
/// - Root: runs this same test again in its own test executable (`--exact TEST --nocapture
///   --include-ignored`) under `setpriv --reuid=65534 --regid=65534 --clear-groups`, with
///   `TMPDIR=/tmp`; asserts the child ran exactly this one test as uid 65534 and passed
///   (showing the child's output otherwise), prints the child's output, returns `false`.
///
/// `test` is the name libtest knows the test by: the bare function name in an integration
/// test file, `module::tests::name` in a unit test. A wrong name fails (the child would run no
/// test). Files the body uses must be reachable by uid 65534: make them inside the body, in a
/// temp folder (under /tmp), not before the call. A root process without `setpriv`
/// (util-linux) fails with a message; nothing is skipped.
///
/// ```text
/// #[tokio::test]
/// async fn an_unreadable_folder_is_reported() {
///     if !unprivileged::body_runs_here("an_unreadable_folder_is_reported") {
///         return;
///     }
///     // ...the body, as uid 65534 when the test runs as root
/// }
/// ```
pub fn body_runs_here(test: &str) -> bool {
    let uid = effective_uid();
    if std::env::var_os(CHILD_ENV).is_some() {
        assert_ne!(
            uid, 0,
            "the re-executed test still runs as root: setpriv did not change the uid"
        );
        println!("{MARKER} {uid} (re-executed by its root parent through setpriv)");
        return true;
    }
    if uid != 0 {
        println!("{MARKER} {uid} (not root: the body runs in this process)");
        return true;
    }
    run_child(test);
    false
}

/// Runs `body` as [`body_runs_here`] says: here, or in a child as uid 65534.
pub fn run(test: &str, body: impl FnOnce()) {
    if body_runs_here(test) {
        body();
    }
}

/// Gives `path` mode 000 and asserts that this process can no longer read it (a file) or list
/// it (a folder): the check that the unreadable case is really tested. Fails as root; call it
/// in a body guarded by [`body_runs_here`].
pub fn make_unreadable(path: &Path) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o000))
        .unwrap_or_else(|e| panic!("chmod 000 {}: {e}", path.display()));
    let still_readable = if path.is_dir() {
        std::fs::read_dir(path).is_ok()
    } else {
        std::fs::File::open(path).is_ok()
    };
    assert!(
        !still_readable,
        "{} is still readable at mode 000 by uid {}: run this part of the test through \
         unprivileged::body_runs_here",
        path.display(),
        effective_uid()
    );
}

/// This process's effective uid, from `/proc/self/status` (no libc call, no unsafe code).
pub fn effective_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status")
        .expect("/proc/self/status is readable (Linux)");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1)?.parse().ok())
        .expect("/proc/self/status has a Uid line: real, effective, saved, filesystem")
}

/// The test executable of the root parent when this is its child, else this process's own.
/// Use it instead of `current_exe()` to find files next to the test executable.
pub fn original_exe() -> PathBuf {
    match std::env::var_os(PARENT_EXE_ENV) {
        Some(exe) if std::env::var_os(CHILD_ENV).is_some() => PathBuf::from(exe),
        _ => std::env::current_exe().expect("the test executable has a path"),
    }
}

/// Copies of files uid 65534 could not reach, made by the root parent: (original, copy).
static COPIES: std::sync::Mutex<Vec<(PathBuf, PathBuf)>> = std::sync::Mutex::new(Vec::new());

/// The copies the root parent made, given to the child: `original\ncopy\n` for each.
pub const COPIES_ENV: &str = "PUSHDECK_TEST_UNPRIVILEGED_COPIES";

/// `path` itself when uid 65534 can read and execute it (every folder above it searchable by
/// others, the file readable and executable by others), else a copy it can.
///
/// As root, the copy is made (or reused, for the same file, size and modification time) in
/// `/tmp/pushdeck-unprivileged-<hash>/`, a folder of root's of mode 755, and remembered: the
/// child started by [`body_runs_here`] is told every copy made before it started. In that
/// child, the copy is looked up; a file unreachable without a copy is a failure that says so.
/// This is how the test executable runs when the target folder is private (e.g. a
/// `CARGO_TARGET_DIR` under `/root`); call it in the parent for any other executable the body
/// needs (pushdeck-proof's `pushdeck_bin()` does).
pub fn reachable_by_nobody(path: &Path) -> PathBuf {
    if others_can_run(path) {
        return path.to_path_buf();
    }
    if std::env::var_os(CHILD_ENV).is_some() {
        let given = std::env::var(COPIES_ENV).unwrap_or_default();
        let lines: Vec<&str> = given.lines().collect();
        let copy = lines
            .chunks(2)
            .find(|pair| pair.len() == 2 && Path::new(pair[0]) == path)
            .map(|pair| PathBuf::from(pair[1]));
        return copy.unwrap_or_else(|| {
            panic!(
                "{} is not readable and executable by uid {}, and the root parent made no \
                 copy of it: call unprivileged::reachable_by_nobody on it before \
                 body_runs_here",
                path.display(),
                effective_uid()
            )
        });
    }
    assert_eq!(
        effective_uid(),
        0,
        "{} is not readable and executable by others; only root copies it for uid {UID}",
        path.display()
    );
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let key = {
        use std::hash::{Hash as _, Hasher as _};
        let mut h = std::hash::DefaultHasher::new();
        (path, meta.len(), meta.mtime(), meta.mtime_nsec()).hash(&mut h);
        h.finish()
    };
    let name = path.file_name().expect("a file name");
    let dir = PathBuf::from(format!("/tmp/pushdeck-unprivileged-{key:016x}"));
    let copy = dir.join(name);
    match std::fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => panic!("{}: {e}", dir.display()),
    }
    let dmeta = std::fs::symlink_metadata(&dir).expect("the copy's folder");
    assert!(
        dmeta.is_dir() && dmeta.uid() == 0 && dmeta.mode() & 0o022 == 0,
        "{} must be a folder of root's that only root can write to",
        dir.display()
    );
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod 755");
    let reusable = std::fs::symlink_metadata(&copy).is_ok_and(|m| {
        m.is_file() && m.uid() == 0 && m.mode() & 0o777 == 0o755 && m.len() == meta.len()
    });
    if !reusable {
        // Copied under a name of its own, then renamed: tests running at the same time each
        // make a whole copy, and the last rename wins with the same bytes.
        let partial = dir.join(format!(
            ".{}.{}.{:?}",
            name.to_string_lossy(),
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::copy(path, &partial)
            .unwrap_or_else(|e| panic!("copying {} for uid {UID}: {e}", path.display()));
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755))
            .expect("chmod 755");
        std::fs::rename(&partial, &copy).expect("rename the copy");
    }
    for p in [path, &copy] {
        assert!(
            p.to_str().is_some_and(|t| !t.contains('\n')),
            "{p:?}: only paths in UTF-8 without line breaks are passed to the child"
        );
    }
    let mut copies = COPIES.lock().unwrap_or_else(|e| e.into_inner());
    if !copies.iter().any(|(o, _)| o == path) {
        copies.push((path.to_path_buf(), copy.clone()));
    }
    copy
}

fn others_can_run(path: &Path) -> bool {
    let Ok(path) = path.canonicalize() else {
        return false;
    };
    let Ok(meta) = std::fs::metadata(&path) else {
        return false;
    };
    if !meta.is_file() || meta.mode() & 0o005 != 0o005 {
        return false;
    }
    path.ancestors()
        .skip(1)
        .filter(|d| !d.as_os_str().is_empty())
        .all(|d| std::fs::metadata(d).is_ok_and(|m| m.mode() & 0o001 != 0))
}

fn copies_for_the_child() -> String {
    let copies = COPIES.lock().unwrap_or_else(|e| e.into_inner());
    copies
        .iter()
        .map(|(o, c)| format!("{}\n{}\n", o.display(), c.display()))
        .collect()
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/bin:/bin"));
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/bin")])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn run_child(test: &str) {
    let setpriv = find_in_path("setpriv").unwrap_or_else(|| {
        panic!(
            "`{test}` runs as root and must run its body as uid {UID}, but `setpriv` \
             (util-linux) is not installed: install util-linux, or run the tests as an \
             ordinary user"
        )
    });
    let parent_exe = std::env::current_exe().expect("the test executable has a path");
    let exe = reachable_by_nobody(&parent_exe);
    let out = Command::new(&setpriv)
        .args([
            format!("--reuid={UID}"),
            format!("--regid={GID}"),
            "--clear-groups".into(),
            "--".into(),
        ])
        .arg(&exe)
        .args([
            "--exact",
            test,
            "--nocapture",
            "--include-ignored",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .env(PARENT_EXE_ENV, &parent_exe)
        .env(COPIES_ENV, copies_for_the_child())
        .env("TMPDIR", "/tmp")
        .output()
        .unwrap_or_else(|e| panic!("{} does not start: {e}", setpriv.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = text
        .lines()
        .map(|l| format!("  | {l}"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        out.status.success(),
        "`{test}` failed as uid {UID} ({}; exit {:?}):\n{shown}",
        exe.display(),
        out.status.code()
    );
    assert!(
        text.contains(&format!("{MARKER} {UID} ")) && text.contains("test result: ok. 1 passed;"),
        "the child did not run `{test}` as uid {UID} (is the name libtest's full name of this \
         test?):\n{shown}"
    );
    println!("ran `{test}` as uid {UID} through setpriv; it passed. Its output:\n{shown}");
    let _ = std::io::stdout().flush();
}
