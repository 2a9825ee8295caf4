//! The built `pushdeck` binary, run in fresh temp folders against a real emulator over loopback
//! sockets. Each scenario snapshots exit code, standard output and standard error (temp paths,
//! ports and times normalized); the comment above each snapshot says why it should hold.
//! Refresh snapshots with `INSTA_UPDATE=always cargo test -p pushdeck-cli` and review the diff.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use push_emulator::{Emulator, EmulatorConfig};
use serde_json::Value;

/// The fake key of the "never printed" checks: distinctive, so a leak cannot hide.
const FAKE_KEY: &str = "xx-fake-secret-0d9f6c1e-never-print-me";

/// A fresh folder (with its own config and data folders), a runtime, and an emulator.
struct World {
    dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    emu: Option<Emulator>,
}

impl World {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        Self {
            dir: tempfile::tempdir().unwrap(),
            rt,
            emu: None,
        }
    }

    fn with_emulator() -> Self {
        let mut world = Self::new();
        let emu = world
            .rt
            .block_on(Emulator::start(EmulatorConfig::default()))
            .unwrap();
        world.emu = Some(emu);
        world
    }

    fn emu(&self) -> &Emulator {
        self.emu.as_ref().unwrap()
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `pushdeck ARGS` in the temp folder, with no key, its own XDG folders and a keyring
    /// selection that cannot touch the developer's own keyring.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("pushdeck").unwrap();
        cmd.current_dir(self.path())
            .args(args)
            .env_remove("COVEO_API_KEY")
            .env_remove("PUSHDECK_CONFIG")
            .env_remove("PUSHDECK_LOG")
            .env_remove("PUSHDECK_STATE")
            .env_remove("PUSHDECK_SANDBOX_DIR")
            .env_remove("RUST_BACKTRACE")
            .env("XDG_DATA_HOME", self.path().join(".data"))
            .env("XDG_CONFIG_HOME", self.path().join(".config"))
            .env("PUSHDECK_MAX_ATTEMPTS", "2");
        cmd
    }

    /// The same, against the emulator with its key.
    fn emu_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = self.cmd(args);
        cmd.args(["--api-url", self.emu().url(), "--org", "sandbox"])
            .env("COVEO_API_KEY", self.emu().api_key());
        if !args.contains(&"--source") {
            cmd.args(["--source", "documents"]);
        }
        cmd
    }

    fn run(&self, cmd: &mut Command) -> Output {
        cmd.output().unwrap()
    }

    /// Exit code, stdout and stderr as one normalized text.
    fn snapshot(&self, output: &Output) -> String {
        let text = format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            output
                .status
                .code()
                .map(|c| c.to_string())
                .unwrap_or_else(|| "signal".into()),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
        self.normalize(&text)
    }

    fn normalize(&self, text: &str) -> String {
        let mut text = text.replace(&self.path().display().to_string(), "[TMP]");
        if let Some(emu) = &self.emu {
            text = text.replace(emu.url(), "http://127.0.0.1:[PORT]");
        }
        text = normalize_uuids(&text);
        text = normalize_waits(&text);
        // Epoch milliseconds (orderingIds) change every run.
        let mut out = String::new();
        let mut digits = String::new();
        for c in text.chars().chain(std::iter::once('\n')) {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            if digits.len() >= 12 {
                out.push_str("[MS]");
            } else {
                out.push_str(&digits);
            }
            digits.clear();
            out.push(c);
        }
        out.pop();
        out
    }

    fn get(&self, path: &str) -> Value {
        let url = format!("{}/_emulator/v1{path}", self.emu().url());
        self.rt.block_on(async {
            self.emu().drain().await;
            reqwest::get(url)
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    }

    fn items(&self) -> Vec<Value> {
        self.get("/organizations/sandbox/sources/documents/items")["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn request_count(&self) -> usize {
        self.get("/requests")["requests"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0)
    }
}

/// fileIds and other v4 UUIDs (8-4-4-4-12 hex digits) become `[UUID]`.
fn normalize_uuids(text: &str) -> String {
    let bytes = text.as_bytes();
    let shape = [8, 4, 4, 4, 12];
    let mut out = String::new();
    let mut i = 0;
    'outer: while i < text.len() {
        let mut j = i;
        for (n, len) in shape.iter().enumerate() {
            let end = j + len;
            if end > bytes.len() || !bytes[j..end].iter().all(u8::is_ascii_hexdigit) {
                let c = text[i..].chars().next().unwrap();
                out.push(c);
                i += c.len_utf8();
                continue 'outer;
            }
            j = end;
            if n < 4 {
                if bytes.get(j) != Some(&b'-') {
                    let c = text[i..].chars().next().unwrap();
                    out.push(c);
                    i += c.len_utf8();
                    continue 'outer;
                }
                j += 1;
            }
        }
        out.push_str("[UUID]");
        i = j;
    }
    out
}

/// Retry waits are drawn at random (jitter): `in 0.7s` becomes `in [WAIT]s`.
fn normalize_waits(text: &str) -> String {
    text.lines()
        .map(|line| match (line.find(" in "), line.find("s (attempt")) {
            (Some(a), Some(b)) if a < b => format!("{} in [WAIT]{}", &line[..a], &line[b..]),
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + if text.ends_with('\n') { "\n" } else { "" }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

// ---- the command line itself --------------------------------------------------------------

#[test]
fn unknown_flag_is_a_usage_error() {
    let w = World::new();
    let out = w.run(&mut w.cmd(&["push", "--frobnicate", "a.txt"]));
    // clap's usage errors exit 2 (documented) and name the flag, without a backtrace.
    insta::assert_snapshot!(w.snapshot(&out));
}

#[test]
fn help_documents_exit_codes_and_examples() {
    let w = World::new();
    let out = w.run(&mut w.cmd(&["--help"]));
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    for needle in [
        "Exit codes:",
        "  4  the API or the network was unreachable after retries",
        "Examples:",
        "COVEO_API_KEY",
    ] {
        assert!(text.contains(needle), "{needle} missing from --help");
    }
    for command in [
        "sync",
        "push",
        "delete",
        "status",
        "identities",
        "access",
        "source",
        "provider",
        "fields",
        "login",
        "logout",
        "config",
        "emulator",
        "service",
        "completions",
        "man",
    ] {
        let out = w.run(&mut w.cmd(&[command, "--help"]));
        assert_eq!(out.status.code(), Some(0), "{command} --help");
        assert!(
            stdout(&out).contains("Examples:"),
            "{command} --help has no examples"
        );
    }
}

#[test]
fn completions_and_man_page() {
    let w = World::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = w.run(&mut w.cmd(&["completions", shell]));
        assert_eq!(out.status.code(), Some(0));
        assert!(stdout(&out).contains("pushdeck"), "{shell}");
    }
    let out = w.run(&mut w.cmd(&["man"]));
    assert!(stdout(&out).starts_with(".ie"), "roff expected");
    let out = w.run(&mut w.cmd(&["man", "--out-dir", "man1"]));
    assert_eq!(out.status.code(), Some(0));
    assert!(w.path().join("man1/pushdeck.1").is_file());
    assert!(w.path().join("man1/pushdeck-sync.1").is_file());
}

/// `pushdeck service` is for Linux (systemd); elsewhere it says what to use and exits 2. (On
/// Linux it is tested in tests/service.rs.)
#[cfg(not(target_os = "linux"))]
#[test]
fn service_is_linux_only() {
    let w = World::new();
    let out = w.run(&mut w.cmd(&["service", "status"]));
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("pushdeck service is for Linux servers (systemd); on Windows"),
        "{text}"
    );
}

// ---- error cases: one test each -----------------------------------------------------------

#[test]
fn missing_key_says_how_to_provide_one() {
    let w = World::new();
    w.write("a.txt", "hello");
    let mut cmd = w.cmd(&["push", "a.txt", "--org", "acme", "--source", "docs"]);
    // The keyring is reachable only in the keyring session; outside it, an absent keyring is "no key" too.
    cmd.env("PUSHDECK_KEYRING", "keyutils");
    let out = w.run(&mut cmd);
    // No COVEO_API_KEY and no keyring entry: exit 3 with both ways to provide a key.
    insta::assert_snapshot!(w.snapshot(&out));
}

#[test]
fn unknown_organization() {
    let w = World::with_emulator();
    w.write("a.txt", "hello");
    let mut cmd = w.cmd(&[
        "push",
        "a.txt",
        "--org",
        "nope",
        "--source",
        "documents",
        "--api-url",
        w.emu().url(),
    ]);
    cmd.env("COVEO_API_KEY", w.emu().api_key());
    let out = w.run(&mut cmd);
    // 404 ORGANIZATION_NOT_FOUND is a configuration error (exit 2) that names the organization as the thing to check.
    insta::assert_snapshot!(w.snapshot(&out));
}

#[test]
fn unknown_source() {
    let w = World::with_emulator();
    w.write("a.txt", "hello");
    let out = w.run(&mut w.emu_cmd(&["push", "a.txt", "--source", "nope"]));
    // 412 SOURCE_DOES_NOT_EXIST is a configuration error (exit 2) that says to check the source ID.
    insta::assert_snapshot!(w.snapshot(&out));
}

#[test]
fn host_that_does_not_answer() {
    let w = World::new();
    w.write("a.txt", "hello");
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let mut cmd = w.cmd(&[
        "push",
        "a.txt",
        "--org",
        "acme",
        "--source",
        "docs",
        "--api-url",
        &url,
        "--max-attempts",
        "2",
    ]);
    cmd.env("COVEO_API_KEY", FAKE_KEY);
    let out = w.run(&mut cmd);
    let text = w.snapshot(&out).replace(&port.to_string(), "[PORT]");
    // A closed port, retried then given up: exit 4 with what to check; never the key.
    insta::assert_snapshot!(text);
    assert!(!text.contains(FAKE_KEY));
}

#[test]
fn malformed_item_file() {
    let w = World::with_emulator();
    w.write(
        "items/good.json",
        r#"{"documentId": "https://x/1", "title": "One"}"#,
    );
    w.write("items/sub/bad.json", r#"[{"documentId": "https://x/2"}]"#);
    let out = w.run(&mut w.emu_cmd(&["push", "items"]));
    // An item without a title stops the command before any request (exit 2), naming file, item and fix.
    insta::assert_snapshot!(w.snapshot(&out));
    assert_eq!(
        w.request_count(),
        0,
        "nothing may be sent when an item file is malformed"
    );
}

#[test]
fn invalid_json_item_file() {
    let w = World::with_emulator();
    w.write("items/broken.json", "{\"documentId\": ");
    let out = w.run(&mut w.emu_cmd(&["push", "items"]));
    // Invalid JSON is exit 2 with the file and serde's line and column.
    insta::assert_snapshot!(w.snapshot(&out));
}

#[test]
fn folder_that_does_not_exist() {
    let w = World::with_emulator();
    let out = w.run(&mut w.emu_cmd(&["sync", "no-such-folder", "--source", "documents", "--once"]));
    // A missing folder is a usage error (exit 2) that names it; nothing is synced.
    insta::assert_snapshot!(w.snapshot(&out));
}

#[test]
fn refused_key_is_an_auth_error_and_never_printed() {
    let w = World::with_emulator();
    w.write("a.txt", "hello");
    let mut cmd = w.cmd(&[
        "push",
        "a.txt",
        "--org",
        "sandbox",
        "--source",
        "documents",
        "--api-url",
        w.emu().url(),
        "-vvv",
    ]);
    cmd.env("COVEO_API_KEY", FAKE_KEY);
    let out = w.run(&mut cmd);
    assert_eq!(out.status.code(), Some(3));
    let all = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(!all.contains(FAKE_KEY), "the key leaked:\n{all}");
    let mut cmd = w.cmd(&[
        "push",
        "a.txt",
        "--org",
        "sandbox",
        "--source",
        "documents",
        "--api-url",
        w.emu().url(),
    ]);
    cmd.env("COVEO_API_KEY", FAKE_KEY);
    let out = w.run(&mut cmd);
    // 401 is exit 3 with what to do about the key.
    insta::assert_snapshot!(w.snapshot(&out));
}

#[test]
fn the_key_appears_in_no_output_of_any_command() {
    let w = World::with_emulator();
    w.write("a.txt", "hello");
    w.write("docs/b.txt", "world");
    w.write(
        "people.csv",
        "name,kind,members,aliases\nHR,group,ann@example.com\n",
    );
    let url = w.emu().url().to_string();
    let commands: Vec<Vec<&str>> = vec![
        vec!["push", "a.txt"],
        vec!["push", "a.txt", "--json"],
        vec!["delete", "https://x/1"],
        vec!["delete", "--older-than", "2024-01-01"],
        vec!["status"],
        vec!["status", "--set", "idle"],
        vec!["identities", "push", "people.csv"],
        vec!["identities", "delete", "group:HR"],
        vec!["sync", "docs", "--once"],
        vec!["sync", "docs", "--dry-run"],
        vec!["fields", "sync", "a.txt"],
        vec!["source", "create", "x"],
        vec!["config", "show"],
    ];
    for key in [FAKE_KEY, w.emu().api_key()] {
        for args in &commands {
            let mut cmd = w.cmd(args);
            cmd.args([
                "--org",
                "sandbox",
                "--source",
                "documents",
                "--provider",
                "sandbox",
                "--api-url",
                &url,
                "-vvv",
            ]);
            if args[0] == "config" {
                cmd = w.cmd(args);
            }
            cmd.env("COVEO_API_KEY", key);
            let out = w.run(&mut cmd);
            let all = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
            assert!(
                !all.contains(key),
                "`pushdeck {}` printed the key:\n{all}",
                args.join(" ")
            );
            assert!(
                !all.contains("panicked"),
                "`pushdeck {}` panicked:\n{all}",
                args.join(" ")
            );
        }
    }
}

#[test]
fn invalid_configuration_file() {
    let w = World::new();
    w.write("pushdeck.toml", "version = 1\n[[folder]]\nname = \"a\"\npath = \"relative\"\norganization = \"o\"\nsource = \"s\"\n");
    let out = w.run(&mut w.cmd(&["config", "check", "--config", "pushdeck.toml"]));
    // An invalid configuration is exit 2 with the file, the line and what to write instead.
    insta::assert_snapshot!(w.snapshot(&out));
}

// ---- commands end to end ------------------------------------------------------------------

#[test]
fn push_files_with_metadata_and_permissions() {
    let w = World::with_emulator();
    w.write("report.txt", "quarterly numbers");
    let out = w.run(&mut w.emu_cmd(&[
        "push",
        "report.txt",
        "--title",
        "Q3 report",
        "--meta",
        "department=finance",
        "--allow",
        "group:Finance",
        "--deny",
        "bob@example.com",
    ]));
    // One file becomes one accepted item in one batch; exit 0.
    insta::assert_snapshot!(w.snapshot(&out));
    let items = w.items();
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert!(item["documentId"]
        .as_str()
        .unwrap()
        .ends_with("/report.txt"));
    let metadata = item["metadata"].to_string().to_lowercase();
    assert!(
        metadata.contains("q3 report") && metadata.contains("finance"),
        "{metadata}"
    );
    let permissions = item["permissions"].to_string();
    assert!(
        permissions.contains("Finance") && permissions.contains("bob@example.com"),
        "{permissions}"
    );
    // --api-url replaces the origin: Push calls go to URL/push/v1/organizations/ORG/...
    let requests = w.get("/requests");
    let paths: Vec<&str> = requests["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["path"].as_str())
        .collect();
    assert!(
        paths
            .iter()
            .any(|p| p
                .starts_with("/push/v1/organizations/sandbox/sources/documents/documents/batch")),
        "{paths:?}"
    );
}

#[test]
fn push_folder_of_coveo_item_files_as_coveo_cli_reads_it() {
    let w = World::with_emulator();
    w.write(
        "items/one.json",
        r#"{"DocumentId": "https://intranet/1", "Title": "One", "Data": "first", "Author": "ann"}"#,
    );
    w.write(
        "items/more/two.json",
        r#"[{"uri": "https://intranet/2", "title": "Two", "tags": ["a", "b"]}, {"documentId": "https://intranet/3", "title": "Three", "permissions": [{"allowAnonymous": true}]}]"#,
    );
    w.write("items/more/ignored.txt", "not an item file");
    w.write("items/.hidden.json", "not even json");
    let out = w.run(&mut w.emu_cmd(&["push", "items", "--json"]));
    // --json prints one object per accepted batch, then the summary: three items, exit 0.
    insta::assert_snapshot!(w.snapshot(&out));
    let ids: Vec<String> = w
        .items()
        .iter()
        .map(|i| i["documentId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ids,
        vec![
            "https://intranet/1",
            "https://intranet/2",
            "https://intranet/3"
        ]
    );
}

#[test]
fn delete_by_uri_and_older_than() {
    let w = World::with_emulator();
    w.write(
        "items/a.json",
        r#"[{"uri": "https://x/1", "title": "1"}, {"uri": "https://x/2", "title": "2"}]"#,
    );
    assert_eq!(
        w.run(&mut w.emu_cmd(&["push", "items"])).status.code(),
        Some(0)
    );
    let out = w.run(&mut w.emu_cmd(&["delete", "https://x/1"]));
    // One delete accepted, exit 0.
    insta::assert_snapshot!(w.snapshot(&out));
    assert_eq!(w.items().len(), 1);
    // A future date would empty the source and make it refuse new items until then: exit 2,
    // one sentence why, and nothing sent.
    let out =
        w.run(&mut w.emu_cmd(&["delete", "--older-than", "2999-01-01", "--queue-delay", "0"]));
    assert_eq!(out.status.code(), Some(2), "{}", w.snapshot(&out));
    let text = w.snapshot(&out);
    assert!(text.contains("is in the future"), "{text}");
    assert!(text.contains("recreate the source"), "{text}");
    let requests = w.get("/requests").to_string();
    assert!(
        !requests.contains("olderthan"),
        "nothing was sent: {requests}"
    );
    assert_eq!(w.items().len(), 1);
    let out = w.run(&mut w.emu_cmd(&[
        "identities",
        "older-than",
        "2999-01-01",
        "--provider",
        "sandbox",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", w.snapshot(&out));
    // A date that has passed goes through.
    let out =
        w.run(&mut w.emu_cmd(&["delete", "--older-than", "2000-01-01", "--queue-delay", "0"]));
    assert_eq!(out.status.code(), Some(0), "{}", w.snapshot(&out));
    assert!(w.get("/requests").to_string().contains("olderthan"));
    let bad = w.run(&mut w.emu_cmd(&["delete", "--older-than", "yesterday"]));
    // A date Pushdeck cannot read is exit 2 with the three accepted spellings.
    insta::assert_snapshot!("delete_bad_date", w.snapshot(&bad));
}

#[test]
fn a_future_older_than_is_a_usage_error_and_sends_nothing() {
    let w = World::with_emulator();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    // Beyond the client core's tolerance (5 minutes) of this computer's clock.
    let soon = (now_ms + 10 * 60 * 1000).to_string();
    let out = w.run(&mut w.emu_cmd(&["delete", "--older-than", "2999-01-01"]));
    // Exit 2 and one sentence: why (every item deleted, then new ones refused until then,
    // only recreating the source fixes it) and what to do (a date that has passed).
    insta::assert_snapshot!("delete_future_date", w.snapshot(&out));
    let out = w.run(&mut w.emu_cmd(&[
        "identities",
        "older-than",
        "2999-01-01",
        "--provider",
        "sandbox",
    ]));
    // The same for identities, in their own words (the provider, not the source).
    insta::assert_snapshot!("identities_future_date", w.snapshot(&out));
    for args in [
        vec!["delete", "--older-than", soon.as_str(), "--json"],
        vec![
            "identities",
            "older-than",
            soon.as_str(),
            "--provider",
            "sandbox",
            "--json",
        ],
    ] {
        let out = w.run(&mut w.emu_cmd(&args));
        assert_eq!(out.status.code(), Some(2), "{}", w.snapshot(&out));
        let last: Value = serde_json::from_str(stdout(&out).lines().last().unwrap()).unwrap();
        assert_eq!(last["code"], "future_date", "{last}");
        assert_eq!(last["exit_code"], 2, "{last}");
    }
    assert_eq!(w.request_count(), 0, "no request was sent");
    // Within the tolerance (clock drift), the date goes through.
    let drift = (now_ms + 60 * 1000).to_string();
    let out = w.run(&mut w.emu_cmd(&[
        "delete",
        "--older-than",
        drift.as_str(),
        "--queue-delay",
        "0",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", w.snapshot(&out));
    assert!(w.get("/requests").to_string().contains("olderthan"));
}

#[test]
fn status_shows_and_sets() {
    let w = World::with_emulator();
    let out = w.run(&mut w.emu_cmd(&["status", "--source", "documents", "--provider", "sandbox"]));
    // The connection summary names target, organization, source and where the key came from (never the key).
    insta::assert_snapshot!(w.snapshot(&out));
    let out = w.run(&mut w.emu_cmd(&["status", "--source", "documents", "--set", "rebuild"]));
    assert_eq!(out.status.code(), Some(0));
    let source = w.get("/organizations/sandbox/sources/documents");
    assert!(source.to_string().contains("REBUILD"), "{source}");
}

#[test]
fn identities_from_csv_and_json() {
    let w = World::with_emulator();
    w.write(
        "people.csv",
        "name,kind,members,aliases\nHR,group,ann@example.com;bob@example.com\nEveryone,group,HR\n",
    );
    let out = w.run(&mut w.emu_cmd(&["identities", "push", "people.csv", "--provider", "sandbox"]));
    // Two groups accepted in one batch; exit 0.
    insta::assert_snapshot!(w.snapshot(&out));
    let identities = w
        .get("/organizations/sandbox/providers/sandbox/identities")
        .to_string();
    assert!(
        identities.contains("ann@example.com") && identities.contains("Everyone"),
        "{identities}"
    );
    w.write("ids.json", r#"[{"identity": {"name": "Legal", "type": "GROUP"}, "members": [{"name": "carl@example.com", "type": "USER"}]}]"#);
    let out = w.run(&mut w.emu_cmd(&["identities", "push", "ids.json", "--provider", "sandbox"]));
    assert_eq!(out.status.code(), Some(0), "{}", w.snapshot(&out));
    let out = w.run(&mut w.emu_cmd(&[
        "identities",
        "delete",
        "group:Legal",
        "--provider",
        "sandbox",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", w.snapshot(&out));
    let out = w.run(&mut w.emu_cmd(&[
        "identities",
        "older-than",
        "2000-01-01",
        "--queue-delay",
        "0",
        "--provider",
        "sandbox",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", w.snapshot(&out));
    let identities = w
        .get("/organizations/sandbox/providers/sandbox/identities")
        .to_string();
    assert!(
        identities.contains("Everyone"),
        "an old cut-off disables nothing recent: {identities}"
    );
    w.write("bad.csv", "group,member\nHR,ann@example.com\n");
    let out = w.run(&mut w.emu_cmd(&["identities", "push", "bad.csv", "--provider", "sandbox"]));
    // The older `group,member` CSV is exit 2 and shows the one format to write instead.
    insta::assert_snapshot!("identities_bad_csv", w.snapshot(&out));
}

#[test]
fn sync_once_pushes_then_deletes() {
    let w = World::with_emulator();
    w.write("docs/a.txt", "alpha");
    w.write(
        "docs/sub/b.html",
        "<html><title>B</title><body>beta</body></html>",
    );
    let out = w.run(&mut w.emu_cmd(&["sync", "docs", "--source", "documents", "--once"]));
    // Two new files, both accepted: one line each, then the summary; exit 0.
    insta::assert_snapshot!(sorted_lines(&w.snapshot(&out)));
    assert_eq!(w.items().len(), 2);
    std::fs::remove_file(w.path().join("docs/a.txt")).unwrap();
    let out = w.run(&mut w.emu_cmd(&["sync", "docs", "--source", "documents", "--once", "--json"]));
    assert_eq!(out.status.code(), Some(0), "{}", w.snapshot(&out));
    let events: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.last().unwrap()["type"], "summary");
    assert!(
        events
            .iter()
            .any(|e| e["path"] == "a.txt" && e["result"]["result"] == "deleted"),
        "{events:?}"
    );
    assert_eq!(w.items().len(), 1);
}

#[test]
fn sync_dry_run_sends_nothing() {
    let w = World::with_emulator();
    w.write("docs/a.txt", "alpha");
    let out = w.run(&mut w.emu_cmd(&["sync", "docs", "--source", "documents", "--dry-run"]));
    assert_eq!(out.status.code(), Some(0), "{}", w.snapshot(&out));
    assert!(stdout(&out).contains("a.txt"));
    assert_eq!(w.request_count(), 0);
    assert!(w.items().is_empty());
}

#[test]
fn sync_lists_failed_files_and_exits_1() {
    use std::os::unix::ffi::OsStrExt;
    let w = World::with_emulator();
    w.write("docs/a.txt", "alpha");
    // A name that is not UTF-8 cannot become an item URI: a per-file problem, not a stop.
    let bad = w
        .path()
        .join("docs")
        .join(std::ffi::OsStr::from_bytes(b"bad-\xff.txt"));
    std::fs::write(bad, "x").unwrap();
    let out = w.run(&mut w.emu_cmd(&["sync", "docs", "--once"]));
    // The good file is accepted, the bad one listed on stderr; exit 1.
    insta::assert_snapshot!(w.snapshot(&out));
    assert_eq!(w.items().len(), 1);
}

#[test]
fn sandbox_without_organization() {
    let w = World::new();
    w.write("a.txt", "hello");
    let out = w.run(&mut w.cmd(&["push", "a.txt"]));
    // Without --org the Sandbox (an emulator on the data folder) takes the item; exit 0.
    insta::assert_snapshot!(w.snapshot(&out));
    assert!(w.path().join(".data/pushdeck/sandbox").is_dir());
    let out = w.run(&mut w.cmd(&["status"]));
    assert_eq!(out.status.code(), Some(0), "{}", w.snapshot(&out));
    assert!(stdout(&out).contains("sandbox"));
}

#[test]
fn config_path_show_and_check() {
    let w = World::new();
    let out = w.run(&mut w.cmd(&["config", "path"]));
    assert_eq!(
        stdout(&out).trim(),
        w.path()
            .join(".config/pushdeck/config.toml")
            .display()
            .to_string()
    );
    let docs = w.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    w.write(
        ".config/pushdeck/config.toml",
        &format!("version = 1\n[[folder]]\nname = \"docs\"\npath = \"{}\"\norganization = \"acme\"\nsource = \"s1\"\n", docs.display()),
    );
    let out = w.run(&mut w.cmd(&["config", "check"]));
    // A valid file: exit 0 with the folder count.
    insta::assert_snapshot!(w.snapshot(&out));
    let out = w.run(&mut w.cmd(&["config", "show", "--json"]));
    let value: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(value["config"]["folder"][0]["organization"], "acme");
}

fn sorted_lines(text: &str) -> String {
    // Items of one batch may be reported in any order; the rest of the text keeps its order.
    let mut lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("pushed:"))
        .unwrap_or(0);
    let end = lines
        .iter()
        .rposition(|l| l.starts_with("pushed:"))
        .map(|e| e + 1)
        .unwrap_or(0);
    if start < end {
        lines[start..end].sort();
    }
    lines.join("\n")
}

// ---- keyring (real gnome-keyring in a private D-Bus session) ------------------------------

/// Keyring tests run only inside `scripts/lib/with-keyring.sh` (CI always uses it).
fn keyring_available() -> bool {
    if std::env::var("PUSHDECK_TEST_KEYRING").is_ok() {
        return true;
    }
    eprintln!("note: skipping a keyring test: PUSHDECK_TEST_KEYRING is not set (run it with scripts/lib/with-keyring.sh cargo test -p pushdeck-cli)");
    false
}

#[test]
fn login_stores_the_key_that_commands_then_use_and_logout_removes_it() {
    if !keyring_available() {
        return;
    }
    let w = World::with_emulator();
    w.write("a.txt", "hello");
    let org = "sandbox";
    let out = w.run(
        w.cmd(&["login", "--org", org])
            .write_stdin(format!("{}\n", w.emu().api_key())),
    );
    // The key is read from standard input and stored; the output names the keyring entry, not the key.
    insta::assert_snapshot!(w.snapshot(&out));
    let out = w.run(&mut w.cmd(&[
        "push",
        "a.txt",
        "--org",
        org,
        "--source",
        "documents",
        "--api-url",
        w.emu().url(),
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", w.snapshot(&out));
    assert!(
        !format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr))
            .contains(w.emu().api_key())
    );
    let out = w.run(&mut w.cmd(&["logout", "--org", org]));
    assert_eq!(out.status.code(), Some(0), "{}", w.snapshot(&out));
    let out = w.run(&mut w.cmd(&[
        "push",
        "a.txt",
        "--org",
        org,
        "--source",
        "documents",
        "--api-url",
        w.emu().url(),
    ]));
    assert_eq!(out.status.code(), Some(3), "{}", w.snapshot(&out));
    let out = w.run(&mut w.cmd(&["logout", "--org", org]));
    assert!(stdout(&out).contains("nothing to remove"));
}

#[test]
fn login_refuses_an_empty_key() {
    let w = World::new();
    let out = w.run(w.cmd(&["login", "--org", "acme"]).write_stdin("\n"));
    // An empty key is exit 2 with how to pipe one; nothing is stored.
    insta::assert_snapshot!(w.snapshot(&out));
}

#[test]
fn access_explain_who_and_what_from_folder_rules() {
    let w = World::new();
    w.write("docs/HR/leave.txt", "x");
    w.write("docs/pub/a.txt", "y");
    w.write("docs/Legal/memo.txt", "z");
    w.write(
        "people.csv",
        "name,kind,members,aliases\nHR Team,group,ann@example.com\nbob@example.com,user\nemitchell@example.com,user,,MysteryUserX\n",
    );
    let docs = w.path().join("docs");
    w.write(
        "pushdeck.toml",
        &format!(
            "version = 1\n[[folder]]\nname = \"docs\"\npath = \"{}\"\norganization = \"acme\"\nsource = \"s1\"\nprovider = \"prov\"\n\
             [[folder.permission]]\npath = \"\"\naccess = \"everyone\"\n\
             [[folder.permission]]\npath = \"HR\"\naccess = \"only\"\ngroups = [\"HR Team\"]\n\
             [[folder.permission]]\npath = \"Legal\"\naccess = \"only\"\nusers = [\"MysteryUserX\"]\n",
            docs.display()
        ),
    );
    let base = ["--config", "pushdeck.toml"];
    let explain_item = |item: &str, user: &str| {
        let mut args = base.to_vec();
        args.extend([
            "access",
            "explain",
            "--item",
            item,
            "--user",
            user,
            "--identities",
            "people.csv",
        ]);
        w.snapshot(&w.run(&mut w.cmd(&args)))
    };
    let explain = |user: &str| explain_item("docs/HR/leave.txt", user);
    // Ann is in HR Team, which the HR rule allows: visible, with the membership chain.
    insta::assert_snapshot!("access_explain_member", explain("ann@example.com"));
    // Bob is in no group the HR rule names: hidden, no set allows him.
    insta::assert_snapshot!("access_explain_outsider", explain("bob@example.com"));
    // The Legal rule names MysteryUserX, an alias of emitchell's (the CSV's fourth column):
    // she is visible through the alias chain.
    insta::assert_snapshot!(
        "access_explain_alias",
        explain_item("docs/Legal/memo.txt", "emitchell@example.com")
    );
    // Asked as MysteryUserX: the user of that name is emitchell's alias, not a person of its
    // own, so hidden; the other reading (a namesake) is printed too.
    insta::assert_snapshot!(
        "access_explain_uncertain",
        explain_item("docs/Legal/memo.txt", "MysteryUserX")
    );
    let mut args = base.to_vec();
    args.extend([
        "access",
        "what",
        "--user",
        "bob@example.com",
        "--folder",
        "docs",
        "--identities",
        "people.csv",
        "--json",
    ]);
    let out = w.run(&mut w.cmd(&args));
    let value: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(value["visible"], serde_json::json!(["pub/a.txt"]));
    let mut args = base.to_vec();
    args.extend([
        "access",
        "who",
        "--item",
        "docs/HR/leave.txt",
        "--identities",
        "people.csv",
        "--json",
    ]);
    let out = w.run(&mut w.cmd(&args));
    let value: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(value["anonymous"], false);
    assert_eq!(value["viewers"].as_array().unwrap().len(), 1);
    let mut args = base.to_vec();
    args.extend(["access", "who", "--item", "people.csv"]);
    let out = w.run(&mut w.cmd(&args));
    // A file outside every configured folder is exit 2 with where to configure it.
    insta::assert_snapshot!("access_outside_folders", w.snapshot(&out));
}

#[test]
fn sync_watch_follows_changes_and_stops_cleanly_on_sigterm() {
    use std::io::BufRead;
    use std::time::{Duration, Instant};
    let w = World::with_emulator();
    w.write("docs/a.txt", "alpha");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("pushdeck"))
        .current_dir(w.path())
        .args([
            "sync",
            "docs",
            "--watch",
            "--org",
            "sandbox",
            "--source",
            "documents",
            "--api-url",
            w.emu().url(),
        ])
        .env("COVEO_API_KEY", w.emu().api_key())
        .env("XDG_DATA_HOME", w.path().join(".data"))
        .env("XDG_CONFIG_HOME", w.path().join(".config"))
        .env_remove("PUSHDECK_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let wait_for = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
                if line.contains(needle) {
                    return;
                }
            }
        }
        panic!("no line with {needle:?} within 20 s");
    };
    wait_for("Watching 1 folder");
    assert_eq!(w.items().len(), 1);
    w.write("docs/b.txt", "beta");
    wait_for("pushed: docs/b.txt");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        assert!(
            Instant::now() < deadline,
            "pushdeck sync --watch did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0), "a clean stop exits 0");
    assert_eq!(w.items().len(), 2);
}

#[test]
fn quiet_prints_nothing_on_success() {
    let w = World::with_emulator();
    w.write("a.txt", "hello");
    let out = w.run(&mut w.emu_cmd(&["push", "a.txt", "--quiet"]));
    // --quiet: exit 0 and not a line on either stream when all is well.
    insta::assert_snapshot!(w.snapshot(&out));
}

#[test]
fn platform_steps_source_provider_and_fields() {
    let w = World::with_emulator();
    let out = w.run(&mut w.emu_cmd(&[
        "source",
        "create",
        "Policies",
        "--visibility",
        "secured",
        "--json",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", w.snapshot(&out));
    let created: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let source = created["source"].as_str().unwrap().to_string();
    let out = w.run(&mut w.emu_cmd(&[
        "provider",
        "create",
        "policies-provider",
        "--source",
        &source,
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", w.snapshot(&out));
    let orgs = w.get("/organizations").to_string();
    assert!(
        orgs.contains(&source) && orgs.contains("policies-provider"),
        "{orgs}"
    );
    w.write("items/a.json", r#"[{"uri": "https://x/1", "title": "1", "department": "HR", "year": 2024, "tags": ["a"]}]"#);
    let out = w.run(&mut w.emu_cmd(&["fields", "sync", "items", "--dry-run"]));
    // The dry run lists the fields the metadata needs, with inferred types, and creates none.
    insta::assert_snapshot!(w.snapshot(&out));
    let out = w.run(&mut w.emu_cmd(&["fields", "sync", "items", "--json"]));
    assert_eq!(out.status.code(), Some(0), "{}", w.snapshot(&out));
    let out = w.run(&mut w.emu_cmd(&["fields", "sync", "items", "--dry-run", "--json"]));
    let last: Value = serde_json::from_str(stdout(&out).lines().last().unwrap()).unwrap();
    assert_eq!(last["created"], 0, "every field exists after fields sync");
}

#[test]
fn sync_folders_of_the_configuration_file() {
    let w = World::with_emulator();
    w.write("share/a.txt", "alpha");
    let share = w.path().join("share");
    w.write(
        "pushdeck.toml",
        &format!(
            "version = 1\n[[folder]]\nname = \"share\"\npath = \"{}\"\norganization = \"sandbox\"\nsource = \"documents\"\n\
             [folder.metadata]\nfields = {{ department = \"HR\" }}\n",
            share.display()
        ),
    );
    let mut cmd = w.cmd(&[
        "sync",
        "--once",
        "--config",
        "pushdeck.toml",
        "--api-url",
        w.emu().url(),
    ]);
    cmd.env("COVEO_API_KEY", w.emu().api_key());
    let out = w.run(&mut cmd);
    // With no FOLDER, the configuration's folders (and their organization and source) are synced.
    insta::assert_snapshot!(w.snapshot(&out));
    let items = w.items();
    assert_eq!(items.len(), 1);
    assert!(items[0]["metadata"].to_string().contains("HR"));
}

#[test]
fn a_second_command_joins_the_running_sandbox() {
    use std::io::BufRead;
    use std::time::{Duration, Instant};
    let w = World::new();
    w.write("docs/a.txt", "alpha");
    w.write("b.txt", "beta");
    let mut host = std::process::Command::new(assert_cmd::cargo::cargo_bin("pushdeck"))
        .current_dir(w.path())
        .args(["sync", "docs", "--watch"])
        .env_remove("COVEO_API_KEY")
        .env_remove("PUSHDECK_CONFIG")
        .env("XDG_DATA_HOME", w.path().join(".data"))
        .env("XDG_CONFIG_HOME", w.path().join(".config"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = host.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "the watching sync did not start");
        if rx
            .recv_timeout(Duration::from_millis(100))
            .is_ok_and(|l| l.contains("Watching"))
        {
            break;
        }
    }
    let announce = w.path().join(".data/pushdeck/sandbox/sandbox.json");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&announce).unwrap()).unwrap();
    let out = w.run(&mut w.cmd(&["push", "b.txt", "-v"]));
    assert_eq!(out.status.code(), Some(0), "{}", w.snapshot(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("joining the Sandbox"),
        "{}",
        w.snapshot(&out)
    );
    let url = format!(
        "{}/_emulator/v1/organizations/sandbox/sources/documents/items",
        file["url"].as_str().unwrap()
    );
    let items = w.rt.block_on(async {
        reqwest::get(url)
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    });
    assert_eq!(items["items"].as_array().unwrap().len(), 2, "{items}");
    std::process::Command::new("kill")
        .args(["-TERM", &host.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while host.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the host did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !announce.exists(),
        "the host removes its announcement when it stops"
    );
}

#[test]
fn login_without_a_keyring_points_to_the_environment_variable() {
    let w = World::new();
    let mut cmd = w.cmd(&["login", "--org", "acme"]);
    // No session bus at all: the Secret Service cannot be reached.
    cmd.env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("XDG_RUNTIME_DIR", w.path())
        .write_stdin("xx-some-key\n");
    let out = w.run(&mut cmd);
    assert_eq!(out.status.code(), Some(3), "{}", w.snapshot(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("COVEO_API_KEY") && !err.contains("xx-some-key"),
        "{err}"
    );
}
