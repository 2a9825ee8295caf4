//! `pushdeck service install | status | uninstall`, with the real binary: its own
//! `XDG_CONFIG_HOME` and `HOME` in a temp folder, and `PATH` holding either nothing (no
//! systemctl: the commands are printed) or a fake `systemctl` that logs its arguments and
//! environment. Paths with spaces on purpose. Snapshots normalize the temp folder to `[TMP]`.

#![cfg(target_os = "linux")]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

/// Must never appear in anything the command writes or prints.
const FAKE_KEY: &str = "xx-fake-secret-5b1e-service-never-print-me";

struct World {
    dir: tempfile::TempDir,
    /// The pushdeck binary, hard-linked into a folder whose name has a space.
    exe: PathBuf,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bin_dir = dir.path().join("my bin");
        std::fs::create_dir_all(&bin_dir).unwrap();
        let exe = bin_dir.join("pushdeck");
        let built = assert_cmd::cargo::cargo_bin("pushdeck");
        if std::fs::hard_link(&built, &exe).is_err() {
            std::fs::copy(&built, &exe).unwrap();
        }
        std::fs::create_dir_all(dir.path().join("empty-path")).unwrap();
        let w = Self { dir, exe };
        // A configuration with one folder, in a folder whose name has a space.
        let docs = w.path().join("Shared Docs");
        std::fs::create_dir_all(&docs).unwrap();
        w.write(
            "my config/config.toml",
            &format!(
                "version = 1\n[[folder]]\nname = \"docs\"\npath = \"{}\"\norganization = \"acme\"\nsource = \"s1\"\n",
                docs.display()
            ),
        );
        w
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

    fn config(&self) -> PathBuf {
        self.path().join("my config/config.toml")
    }

    fn unit(&self) -> PathBuf {
        self.path().join("xdg config/systemd/user/pushdeck.service")
    }

    fn env_file(&self) -> PathBuf {
        self.path().join("xdg config/pushdeck/service.env")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path().join("systemctl.log")).unwrap_or_default()
    }

    /// A fake `systemctl` on PATH: logs `ARGS` and whether COVEO_API_KEY reached it; answers
    /// `is-active` with "active"; exits `status`.
    fn fake_systemctl(&self, status: u8) {
        let bin = self.path().join("fake-bin");
        std::fs::create_dir_all(&bin).unwrap();
        let script = bin.join("systemctl");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$*\" >> '{log}'\nexport -p >> '{log}.env'\n\
                 case \"$*\" in *is-active*) echo active;; esac\n\
                 if [ {status} -ne 0 ]; then echo 'Failed to connect to bus: No medium found' >&2; fi\n\
                 exit {status}\n",
                log = self.path().join("systemctl.log").display(),
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// `pushdeck --config CONFIG ARGS` from the linked binary, with COVEO_API_KEY set (it must
    /// go nowhere). `with_systemctl`: PATH holds the fake systemctl, else nothing.
    fn cmd(&self, args: &[&str], with_systemctl: bool) -> Command {
        let mut cmd = Command::new(&self.exe);
        let path = if with_systemctl {
            self.path().join("fake-bin")
        } else {
            self.path().join("empty-path")
        };
        cmd.current_dir(self.path())
            .arg("--config")
            .arg(self.config())
            .args(args)
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.path())
            .env("USER", "ann")
            .env("XDG_CONFIG_HOME", self.path().join("xdg config"))
            .env("XDG_DATA_HOME", self.path().join("xdg data"))
            .env("COVEO_API_KEY", FAKE_KEY);
        cmd
    }

    fn run(&self, args: &[&str], with_systemctl: bool) -> Output {
        let out = self.cmd(args, with_systemctl).output().unwrap();
        for stream in [&out.stdout, &out.stderr] {
            assert!(
                !String::from_utf8_lossy(stream).contains(FAKE_KEY),
                "the key was printed"
            );
        }
        out
    }

    fn snapshot(&self, out: &Output) -> String {
        let text = format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            out.status.code().map_or("signal".into(), |c| c.to_string()),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        text.replace(&self.path().display().to_string(), "[TMP]")
    }

    /// Nothing Pushdeck wrote holds the key.
    fn assert_no_key_written(&self) {
        for file in [self.unit(), self.env_file()] {
            if let Ok(text) = std::fs::read_to_string(&file) {
                assert!(!text.contains(FAKE_KEY), "{} holds the key", file.display());
            }
        }
    }
}

fn json_summary(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().expect("a summary line");
    let value: Value = serde_json::from_str(last).unwrap();
    assert_eq!(value["type"], "summary", "{text}");
    value
}

fn unit_line<'a>(unit: &'a str, key: &str) -> Option<&'a str> {
    unit.lines().find_map(|l| l.strip_prefix(key))
}

#[test]
fn install_without_systemctl_writes_the_unit_and_prints_the_commands() {
    let w = World::new();
    let out = w.run(&["service", "install"], false);
    // No systemctl on PATH: the unit and the empty environment file are written, and the exact
    // commands to start it are printed, with linger for servers. Paths with spaces are quoted.
    insta::assert_snapshot!(w.snapshot(&out));
    let unit = std::fs::read_to_string(w.unit()).unwrap();
    assert_eq!(
        unit_line(&unit, "ExecStart="),
        Some(
            format!(
                "\"{}\" sync --watch --config \"{}\"",
                w.exe.display(),
                w.config().display()
            )
            .as_str()
        ),
        "{unit}"
    );
    assert_eq!(unit_line(&unit, "Restart="), Some("on-failure"));
    assert_eq!(unit_line(&unit, "RestartSec="), Some("30"));
    assert_eq!(
        unit_line(&unit, "EnvironmentFile="),
        Some(format!("-{}", w.env_file().display()).as_str()),
        "EnvironmentFile= takes the rest of the line, unquoted"
    );
    assert_eq!(unit_line(&unit, "WantedBy="), Some("default.target"));
    let env = std::fs::metadata(w.env_file()).unwrap();
    assert_eq!(env.len(), 0, "created empty");
    assert_eq!(env.permissions().mode() & 0o777, 0o600);
    w.assert_no_key_written();
    systemd_reads_the_unit(&w);
}

/// systemd's own parser, where it is installed: `systemd-analyze verify` accepts the unit and
/// finds the program at the quoted path (with its space); once the program is gone, it names
/// the path it looked for, unquoted and whole.
fn systemd_reads_the_unit(w: &World) {
    let verify = || {
        std::process::Command::new("systemd-analyze")
            .arg("verify")
            .arg(w.unit())
            .output()
    };
    let Ok(out) = verify() else {
        eprintln!(
            "note: systemd-analyze not found; the unit's syntax is checked by the tests above only"
        );
        return;
    };
    assert!(
        out.status.success(),
        "systemd-analyze verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let moved = w.exe.with_file_name("moved");
    std::fs::rename(&w.exe, &moved).unwrap();
    let out = verify().unwrap();
    std::fs::rename(&moved, &w.exe).unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains(&format!("Command {} is not executable", w.exe.display())),
        "{text}"
    );
}

#[test]
fn install_is_idempotent_status_reports_it_and_uninstall_removes_it() {
    let w = World::new();
    let out = w.run(&["service", "install", "--no-start"], false);
    assert_eq!(out.status.code(), Some(0), "{}", w.snapshot(&out));
    let first = std::fs::read_to_string(w.unit()).unwrap();
    // The person puts the key in the environment file by hand; install never touches it again.
    std::fs::write(w.env_file(), format!("COVEO_API_KEY={FAKE_KEY}\n")).unwrap();

    let out = w.run(&["service", "install", "--no-start", "--json"], false);
    let summary = json_summary(&out);
    assert_eq!(summary["changed"], false, "the same unit: not rewritten");
    assert_eq!(summary["started"], false);
    assert_eq!(
        summary["commands"],
        serde_json::json!([
            "systemctl --user daemon-reload",
            "systemctl --user enable --now pushdeck.service"
        ])
    );
    assert_eq!(std::fs::read_to_string(w.unit()).unwrap(), first);
    assert_eq!(
        std::fs::read_to_string(w.env_file()).unwrap(),
        format!("COVEO_API_KEY={FAKE_KEY}\n"),
        "the environment file is left as the person wrote it"
    );

    let out = w.run(&["service", "status"], false);
    // Installed, with its ExecStart and the environment file's mode; no systemctl to ask.
    insta::assert_snapshot!("status_installed_without_systemctl", w.snapshot(&out));
    let out = w.run(&["service", "status", "--json"], false);
    let status = json_summary(&out);
    assert_eq!(status["installed"], true);
    assert_eq!(
        status["exec_start"],
        unit_line(&first, "ExecStart=").unwrap()
    );
    assert_eq!(status["env_file_mode"], "0600");
    assert_eq!(status["active"], Value::Null);

    let out = w.run(&["service", "uninstall"], false);
    // The unit is removed; without systemctl, the stop commands are printed; the environment
    // file holds the person's key, so it is kept and they are told.
    insta::assert_snapshot!(
        "uninstall_without_systemctl_keeps_the_env_file",
        w.snapshot(&out)
    );
    assert!(!w.unit().exists());
    assert!(w.env_file().exists());

    let out = w.run(&["service", "uninstall", "--json"], false);
    assert_eq!(json_summary(&out)["removed"], false, "already gone");
    let out = w.run(&["service", "status", "--json"], false);
    assert_eq!(json_summary(&out)["installed"], false);
}

#[test]
fn install_starts_it_through_systemctl_and_uninstall_stops_it() {
    let w = World::new();
    w.fake_systemctl(0);
    let out = w.run(&["service", "install"], true);
    assert_eq!(out.status.code(), Some(0), "{}", w.snapshot(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Started: systemctl --user enable --now pushdeck.service"),
        "{text}"
    );
    assert!(text.contains("loginctl enable-linger ann"), "{text}");
    let out = w.run(&["service", "status"], true);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("systemctl --user is-active: active"),
        "{text}"
    );
    let out = w.run(&["service", "uninstall", "--json"], true);
    let summary = json_summary(&out);
    assert_eq!(summary["stopped"], true);
    assert_eq!(summary["commands"], serde_json::json!([]));
    assert!(!w.unit().exists());
    assert!(!w.env_file().exists(), "still empty: removed with the unit");
    assert_eq!(
        w.log(),
        "--user daemon-reload\n\
         --user enable --now pushdeck.service\n\
         --user is-active pushdeck.service\n\
         --user disable --now pushdeck.service\n\
         --user daemon-reload\n"
    );
    let env = std::fs::read_to_string(w.path().join("systemctl.log.env")).unwrap();
    assert!(
        !env.contains("COVEO_API_KEY"),
        "systemctl does not get the installing shell's key"
    );
    w.assert_no_key_written();
}

#[test]
fn a_systemctl_that_fails_is_a_configuration_error_with_the_commands() {
    let w = World::new();
    w.fake_systemctl(1);
    let out = w.run(&["service", "install"], true);
    // No user bus (an ssh session without one, a container): exit 2, the unit is written and
    // the message says what to run and where.
    insta::assert_snapshot!(w.snapshot(&out));
    assert!(w.unit().exists());
}

#[test]
fn install_refuses_a_configuration_without_folders() {
    let w = World::new();
    w.write("my config/config.toml", "version = 1\n");
    let out = w.run(&["service", "install", "--no-start", "--json"], false);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    let error: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(error["code"], "no_folders");
    assert!(!w.unit().exists(), "nothing written");
}

#[test]
fn service_help_explains_the_key_linger_and_the_commands() {
    let w = World::new();
    let out = w.run(&["service", "--help"], false);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "Examples:",
        "pushdeck service install",
        "loginctl enable-linger",
        "service.env",
        "COVEO_API_KEY",
        "One agent per file server",
    ] {
        assert!(
            text.contains(needle),
            "{needle} missing from service --help"
        );
    }
}
