//! Proof suites for Pushdeck: end-to-end tests that drive the real `pushdeck` binary against a
//! real emulator and try to break it (kill -9, faults, bad inputs, key leaks).
//!
//! This crate is not a library anyone ships; it holds the one helper every suite shares,
//! [`World`]: a temp folder with Pushdeck's configuration, data and state isolated inside it,
//! an in-process [`push_emulator::Emulator`] on loopback, and [`World::check_exact`], which
//! compares the emulator's items with the folder (documentIds, SHA-256 of the content, and
//! permissions when a reference is given). Start there, then read `tests/crash.rs`.
//!
//! What it is not: a unit test of any crate (each crate has its own), nor the benchmark
//! (`bench/compare.py`, run by `scripts/bench-compare.sh`).

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use push_emulator::{Emulator, EmulatorConfig};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Running part of a test as uid 65534 when the test runs as root, so that checks of unreadable
/// files (mode 000, which root reads anyway) assert on every run: [`unprivileged::body_runs_here`]
/// re-executes the test's own executable under `setpriv`, [`unprivileged::make_unreadable`]
/// sets mode 000 and asserts that reads now fail. sync-engine's tests compile the same file
/// with `include!` (they do not depend on this crate).
pub mod unprivileged;

/// The fake API key of the security suite: searched for in everything Pushdeck writes.
pub const FAKE_KEY: &str = "xx-proof-0c6f1e2d-KEEP-THIS-SECRET-7a9b";

/// The organization, source and provider of the default emulator.
pub const ORG: &str = "sandbox";
pub const SOURCE: &str = "documents";
pub const PROVIDER: &str = "sandbox";

/// Attempts per request given to pushdeck in the suites: enough to ride out injected faults,
/// few enough that a host that never answers gives up in seconds, not minutes.
pub const MAX_ATTEMPTS: &str = "6";

/// Reads an environment variable as a number, with a default.
pub fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `pushdeck` binary under test: `PUSHDECK_BIN` if set (e.g. a release build), else
/// `target/<profile>/pushdeck`, next to this test's `deps/` folder. Built with cargo when
/// missing (the workspace's test command builds every target first, so this is only for
/// `cargo test -p pushdeck-proof` on a fresh target dir). As root, and in a test body re-run
/// as uid 65534, it is a path uid 65534 can run (see [`unprivileged::reachable_by_nobody`]):
/// call it before [`unprivileged::body_runs_here`], so that the root parent builds it (and
/// copies it when the target folder is private) before the child needs it.
pub fn pushdeck_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let bin = located_pushdeck_bin();
        if unprivileged::effective_uid() == 0 || std::env::var_os(unprivileged::CHILD_ENV).is_some()
        {
            unprivileged::reachable_by_nobody(&bin)
        } else {
            bin
        }
    })
}

fn located_pushdeck_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("PUSHDECK_BIN") {
        return PathBuf::from(bin);
    }
    // The root parent's executable in a re-run child (whose own may be a copy in /tmp).
    let exe = unprivileged::original_exe();
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable lives in target/<profile>/deps");
    let bin = profile_dir.join(format!("pushdeck{}", std::env::consts::EXE_SUFFIX));
    // A re-run child may not see into the target folder; its root parent built the binary.
    if !bin.exists() && std::env::var_os(unprivileged::CHILD_ENV).is_none() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "pushdeck-cli", "--bin", "pushdeck"])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the pushdeck binary failed");
    }
    bin
}

/// A temp folder with everything Pushdeck writes kept inside it, and an emulator.
#[derive(Debug)]
pub struct World {
    pub dir: tempfile::TempDir,
    pub rt: tokio::runtime::Runtime,
    pub emu: Emulator,
    http: reqwest::Client,
}

impl World {
    /// The default emulator (org `sandbox`, source `documents` and a second source `probe`
    /// for reference runs, provider `sandbox`).
    pub fn new() -> Self {
        let mut config = EmulatorConfig::default();
        config.organizations[0].sources.push("probe".into());
        Self::with_config(config)
    }

    pub fn with_config(config: EmulatorConfig) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let emu = rt
            .block_on(Emulator::start(config))
            .expect("the emulator starts on loopback");
        let dir = tempfile::tempdir().expect("a temp folder");
        std::fs::create_dir_all(dir.path().join("docs")).expect("docs folder");
        Self {
            dir,
            rt,
            emu,
            http: reqwest::Client::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The synced folder.
    pub fn docs(&self) -> PathBuf {
        self.path().join("docs")
    }

    /// Where Pushdeck's own files go (HOME, XDG folders, state, config): searched by the
    /// security suite.
    pub fn pushdeck_home(&self) -> PathBuf {
        self.path().join("home")
    }

    pub fn state_path(&self) -> PathBuf {
        self.pushdeck_home().join("state.sqlite3")
    }

    pub fn config_path(&self) -> PathBuf {
        self.pushdeck_home().join("config.toml")
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.docs().join(rel);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&path, content).expect("write");
        path
    }

    /// `pushdeck ARGS` with its configuration, data and state isolated in this world, no key,
    /// and no inherited Pushdeck settings.
    pub fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let home = self.pushdeck_home();
        std::fs::create_dir_all(&home).expect("home");
        let mut cmd = Command::new(pushdeck_bin());
        cmd.current_dir(self.path())
            .args(args)
            .env_remove("COVEO_API_KEY")
            .env_remove("PUSHDECK_CONFIG")
            .env_remove("PUSHDECK_LOG")
            .env_remove("PUSHDECK_SANDBOX_DIR")
            .env_remove("PUSHDECK_EMULATOR_API_KEY")
            .env_remove("RUST_BACKTRACE")
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_STATE_HOME", home.join("xdg-state"))
            .env("PUSHDECK_STATE", self.state_path())
            .env("PUSHDECK_KEYRING", "keyutils")
            .env("PUSHDECK_MAX_ATTEMPTS", MAX_ATTEMPTS)
            .stdin(Stdio::null());
        cmd
    }

    /// The same, against the emulator with its key.
    pub fn emu_cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = self.cmd(args);
        cmd.args(["--api-url", self.emu.url(), "--org", ORG])
            .env("COVEO_API_KEY", self.emu.api_key());
        cmd
    }

    /// `pushdeck sync docs --once` into `source`.
    pub fn sync_cmd(&self, source: &str, extra: &[&str]) -> Command {
        let mut cmd = self.emu_cmd(["sync"]);
        cmd.arg(self.docs())
            .args(["--once", "--source", source, "--provider", PROVIDER])
            .args(extra);
        cmd
    }

    /// Writes a configuration file for the docs folder into `source` (folder name
    /// `docs-SOURCE`; permission rules: `HR/` only for the group "HR Team", the rest for
    /// everyone; no mass-delete brake) and returns its path.
    pub fn write_config(&self, source: &str) -> PathBuf {
        let path = self.pushdeck_home().join(format!("config-{source}.toml"));
        std::fs::create_dir_all(self.pushdeck_home()).expect("home");
        let text = format!(
            "version = 1\n\n[[folder]]\nname = \"docs-{source}\"\npath = \"{}\"\norganization = \"{ORG}\"\n\
             source = \"{source}\"\nprovider = \"{PROVIDER}\"\nwatch = false\n\n\
             [folder.safety]\nmax_delete_count = 1000000\nmax_delete_share = 1.0\n\n\
             [[folder.permission]]\npath = \"\"\naccess = \"everyone\"\n\n\
             [[folder.permission]]\npath = \"HR\"\naccess = \"only\"\ngroups = [\"HR Team\"]\n",
            self.docs().display()
        );
        std::fs::write(&path, text).expect("config");
        path
    }

    /// `pushdeck sync --once` of the configuration written by [`World::write_config`], with its
    /// own state store when `source` is not the main one (a reference run must not share it).
    pub fn config_sync_cmd(&self, source: &str, extra: &[&str]) -> Command {
        let config = self.write_config(source);
        let mut cmd = self.emu_cmd([
            "sync".as_ref(),
            "--once".as_ref(),
            "--config".as_ref(),
            config.as_os_str(),
        ]);
        cmd.args(extra);
        if source != SOURCE {
            cmd.env(
                "PUSHDECK_STATE",
                self.pushdeck_home().join(format!("state-{source}.sqlite3")),
            );
        }
        cmd
    }

    pub fn run(&self, cmd: &mut Command) -> Output {
        cmd.output().expect("pushdeck runs")
    }

    /// GET an inspection route (`/_emulator/v1` + `path`).
    pub fn get(&self, path: &str) -> Value {
        let url = format!("{}/_emulator/v1{path}", self.emu.url());
        self.rt.block_on(async {
            let resp = self.http.get(&url).send().await.expect("inspection GET");
            resp.json::<Value>().await.expect("inspection JSON")
        })
    }

    /// Every request the emulator logged (inspection routes excluded), oldest first.
    pub fn requests(&self) -> Vec<Value> {
        let log = self.get("/requests?limit=20000");
        log["requests"].as_array().cloned().unwrap_or_default()
    }

    pub fn clear_requests(&self) {
        let url = format!("{}/_emulator/v1/requests", self.emu.url());
        self.rt.block_on(async {
            self.http.delete(&url).send().await.expect("clear log");
        });
    }

    /// Every item of `source` still indexed, after the processor caught up.
    pub fn items(&self, source: &str) -> BTreeMap<String, Value> {
        self.rt.block_on(self.emu.drain());
        let v = self.get(&format!("/organizations/{ORG}/sources/{source}/items"));
        v["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|it| it["state"] == "INDEXED")
            .map(|it| {
                (
                    it["documentId"].as_str().unwrap_or_default().to_string(),
                    it,
                )
            })
            .collect()
    }

    /// Runs what a rebuild's delete-older-than left queued (its queueDelay is 15 minutes on the
    /// emulator's clock).
    pub fn run_queued_deletes(&self) {
        self.rt
            .block_on(self.emu.advance_clock(Duration::from_secs(16 * 60)));
    }

    /// The folder as Coveo should hold it: documentId → SHA-256 of the file's bytes.
    pub fn expected(&self) -> BTreeMap<String, String> {
        expected_items(&self.docs())
    }

    /// Compares `source` with the folder: the same documentIds, each with the file's exact
    /// content (an older content is a failure, not a pass); with `reference`, the same
    /// permissions as that source holds for each item. Returns the differences, empty when
    /// exact.
    pub fn differences(&self, source: &str, reference: Option<&str>) -> Vec<String> {
        // Keyed by the decoded URI, so that the two percent-encodings (ours and Pushdeck's,
        // which leaves more characters as they are) compare equal for the same path.
        let expected: BTreeMap<String, String> = self
            .expected()
            .into_iter()
            .map(|(id, sha)| (decoded(&id), sha))
            .collect();
        let items: BTreeMap<String, Value> = self
            .items(source)
            .into_iter()
            .map(|(id, it)| (decoded(&id), it))
            .collect();
        let mut out = Vec::new();
        for (id, sha) in &expected {
            match items.get(id) {
                None => out.push(format!("missing: {id}")),
                Some(it) if it["contentSha256"].as_str() != Some(sha.as_str()) => {
                    out.push(format!("older or wrong content: {id}"))
                }
                Some(_) => {}
            }
        }
        for id in items.keys() {
            if !expected.contains_key(id) {
                out.push(format!("stale: {id}"));
            }
        }
        if let Some(reference) = reference {
            let refs: BTreeMap<String, Value> = self
                .items(reference)
                .into_iter()
                .map(|(id, it)| (decoded(&id), it))
                .collect();
            for (id, it) in &items {
                if let Some(r) = refs.get(id) {
                    if it["permissions"] != r["permissions"] {
                        out.push(format!(
                            "permissions differ for {id}: {} vs {}",
                            it["permissions"], r["permissions"]
                        ));
                    }
                }
            }
        }
        out
    }

    /// Asserts [`World::differences`] is empty.
    pub fn check_exact(&self, source: &str, reference: Option<&str>) {
        let diff = self.differences(source, reference);
        assert!(
            diff.is_empty(),
            "the emulator does not hold exactly the folder ({} differences):\n{}",
            diff.len(),
            diff.iter().take(30).cloned().collect::<Vec<_>>().join("\n")
        );
    }

    /// Every file below the Pushdeck home (config, data, state, logs), for the security scan.
    pub fn files_written(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        walk(&self.pushdeck_home(), &mut out);
        out
    }
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, out),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
}

/// documentId (percent-encoded `file://` URI of the absolute path) → SHA-256 of every regular
/// file below `root`.
pub fn expected_items(root: &Path) -> BTreeMap<String, String> {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut files = Vec::new();
    walk(&root, &mut files);
    files
        .into_iter()
        .filter_map(|p| {
            let bytes = std::fs::read(&p).ok()?;
            Some((file_uri(&p), hex::encode(Sha256::digest(&bytes))))
        })
        .collect()
}

/// A `file://` URI with every byte outside the unreserved set percent-encoded (the same form
/// Pushdeck gives documentIds; written here independently so the two are checked).
pub fn file_uri(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::from("file://");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A URI with its percent-escapes decoded (bytes that are not UTF-8 shown as escapes), so
/// that two encodings of one path compare equal.
pub fn decoded(uri: &str) -> String {
    let bytes = uri.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out.utf8_chunks()
        .map(|c| {
            let mut s = c.valid().to_string();
            for b in c.invalid() {
                s.push_str(&format!("\\x{b:02x}"));
            }
            s
        })
        .collect()
}

/// Standard output and error as one text (for messages and the key search).
pub fn all_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Parses the emulator's request-log time (`2026-11-29T00:41:02.123Z`) to Unix milliseconds.
pub fn log_time_ms(text: &str) -> Option<i128> {
    let t =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Some(t.unix_timestamp_nanos() / 1_000_000)
}

/// Runs `cmd` and kills it when it outlives `limit`: a hang is a failure with what it printed
/// so far, not a test suite stuck forever.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Output {
    use std::io::Read;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pushdeck starts");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let out = out_reader.join().unwrap_or_default();
            let err = err_reader.join().unwrap_or_default();
            panic!(
                "pushdeck still ran after {limit:?} (killed):\n{}{}",
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&err)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}
