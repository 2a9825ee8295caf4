//! `pushdeck service install | uninstall | status`: `pushdeck sync --watch` as a systemd user
//! service, for Linux file servers (one agent per server, syncing the folders of its
//! configuration file).
//!
//! - The unit is `$XDG_CONFIG_HOME/systemd/user/pushdeck.service` (`~/.config/...`), written
//!   atomically (a temporary file renamed). It runs this very binary, by its absolute path,
//!   with the absolute path of the configuration file this command resolved (`--config`,
//!   `PUSHDECK_CONFIG`, or the default), restarts 30 s after a failure, and runs as the user, so
//!   it finds the same keyring entry (`pushdeck login`) when the user's Secret Service is
//!   reachable and unlocked.
//! - The key can also come from `COVEO_API_KEY` in the unit's `EnvironmentFile`,
//!   `$XDG_CONFIG_HOME/pushdeck/service.env`: created empty with mode 0600, never written to
//!   afterwards, never read (only its mode is checked), so no key passes through this command.
//! - `install` then runs `systemctl --user daemon-reload` and `enable --now pushdeck.service`,
//!   unless `--no-start` is given or `systemctl` is not found: then it prints those commands.
//!
//! The unit text ([`unit_text`]) and systemd's quoting ([`systemd_quote`]) are pure and tested
//! on every OS; writing files and calling `systemctl` is Linux only. On other systems the
//! command exits 2 and says what to use instead.

// The pure part is compiled everywhere (and tested), used only by the Linux commands.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

use std::path::Path;

use crate::args::{GlobalArgs, ServiceCommand};
use crate::exit::{CliError, Outcome};
use crate::output::Output;

/// The unit's name.
pub const UNIT_NAME: &str = "pushdeck.service";
/// The environment file of the unit, in Pushdeck's configuration folder.
pub const ENV_FILE_NAME: &str = "service.env";
/// Seconds systemd waits before restarting the service after a failure.
pub const RESTART_SEC: u32 = 30;

/// What other systems use instead (exit 2 there).
#[cfg_attr(target_os = "linux", allow(dead_code))]
pub const NOT_LINUX: &str = "pushdeck service is for Linux servers (systemd); on Windows, run \
`pushdeck sync --watch` at startup with Task Scheduler (a task \"At startup\", run whether the \
user is logged on or not, with COVEO_API_KEY in its environment); on macOS, as a launchd agent \
(a plist in ~/Library/LaunchAgents whose ProgramArguments are pushdeck sync --watch)";

/// One argument as systemd reads it in `ExecStart=`: as is when it is only safe characters,
/// else in double quotes with `\` and `"` escaped and control characters C-escaped. `%` (a
/// specifier, expanded over the whole line) is doubled, and `$` (a variable) too.
pub fn systemd_quote(arg: &str) -> String {
    quote(arg, true)
}

/// The program of `ExecStart=` (its first word): quoted as [`systemd_quote`] does, except `$`,
/// which systemd never expands there and so reads literally.
pub fn systemd_quote_program(path: &str) -> String {
    quote(path, false)
}

fn quote(arg: &str, variables: bool) -> String {
    let safe = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_.,:+@=-%$".contains(c));
    let mut out = String::with_capacity(arg.len() + 2);
    if !safe {
        out.push('"');
    }
    for c in arg.chars() {
        match c {
            '%' => out.push_str("%%"),
            '$' if variables => out.push_str("$$"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            }
            c => out.push(c),
        }
    }
    if !safe {
        out.push('"');
    }
    out
}

/// The `ExecStart=` value: this binary, `sync --watch --config CONFIG`.
pub fn exec_start(exe: &str, config: &str) -> String {
    format!(
        "{} sync --watch --config {}",
        systemd_quote_program(exe),
        systemd_quote(config)
    )
}

/// The unit file. `exe`, `config` and `env_file` are absolute paths that pass
/// [`check_unit_path`]. `EnvironmentFile=` is not quoted (systemd reads the rest of the line
/// as the path); its `%` are doubled.
pub fn unit_text(exe: &str, config: &str, env_file: &str) -> String {
    format!(
        "\
# Written by `pushdeck service install`; `pushdeck service uninstall` removes it.
[Unit]
Description=Pushdeck: keep folders in sync with a Coveo Push source

[Service]
Type=simple
ExecStart={exec}
Restart=on-failure
RestartSec={RESTART_SEC}
# The API key: this user's keyring entry (pushdeck login --org ORG), or the variable
# COVEO_API_KEY set in this file (mode 0600; Pushdeck never writes a key into it).
EnvironmentFile=-{env}

[Install]
WantedBy=default.target
",
        exec = exec_start(exe, config),
        env = env_file.replace('%', "%%"),
    )
}

/// Whether systemd can name `path` in a unit: `EnvironmentFile=` takes the rest of its line
/// as the path, unquoted, so a path with a control character (a line break) or leading or
/// trailing whitespace cannot be written. The same rule for every path of the unit, for one
/// explanation.
pub fn check_unit_path(path: &str) -> Result<(), &'static str> {
    if path.chars().any(char::is_control) {
        return Err("has a control character (a line break, a tab)");
    }
    if path.trim() != path {
        return Err("starts or ends with a space");
    }
    Ok(())
}

/// The `ExecStart=` value of a unit file's text, if it has one.
pub fn exec_start_of(unit: &str) -> Option<&str> {
    unit.lines()
        .find_map(|l| l.trim_start().strip_prefix("ExecStart="))
}

/// What to run to start the service (printed when `install` does not run them itself).
pub fn start_commands() -> Vec<String> {
    vec![
        "systemctl --user daemon-reload".into(),
        format!("systemctl --user enable --now {UNIT_NAME}"),
    ]
}

/// What to run to stop it (printed when `uninstall` cannot run them itself).
pub fn stop_commands() -> Vec<String> {
    vec![
        format!("systemctl --user disable --now {UNIT_NAME}"),
        "systemctl --user daemon-reload".into(),
    ]
}

/// A path as text for a unit file (systemd reads UTF-8 only, see also [`check_unit_path`]).
fn path_text(path: &Path, what: &str) -> Result<String, CliError> {
    let refuse = |why: &str| {
        CliError::usage(
            "service_path",
            format!(
                "the path of {what}, {}, {why}, which a systemd unit cannot name; move it to a path that does not",
                path.display()
            ),
        )
    };
    let text = path.to_str().ok_or_else(|| refuse("is not valid UTF-8"))?;
    check_unit_path(text).map_err(refuse)?;
    Ok(text.to_owned())
}

pub fn run(
    command: &ServiceCommand,
    global: &GlobalArgs,
    out: &Output,
) -> Result<Outcome, CliError> {
    #[cfg(target_os = "linux")]
    {
        linux::run(command, global, out)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (command, global, out);
        Err(CliError::usage("service_unsupported", NOT_LINUX))
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use serde_json::json;

    use super::*;
    use crate::connection::config_path;

    /// Where the unit and the environment file go.
    struct Paths {
        unit: PathBuf,
        env_file: PathBuf,
    }

    fn paths() -> Result<Paths, CliError> {
        let no_home = || {
            CliError::usage(
                "no_config_dir",
                "cannot find the home folder (set HOME or XDG_CONFIG_HOME)",
            )
        };
        let base = directories::BaseDirs::new().ok_or_else(no_home)?;
        let pushdeck_dir = sync_engine::config::default_config_path()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .ok_or_else(no_home)?;
        Ok(Paths {
            unit: base.config_dir().join("systemd/user").join(UNIT_NAME),
            env_file: pushdeck_dir.join(ENV_FILE_NAME),
        })
    }

    pub fn run(
        command: &ServiceCommand,
        global: &GlobalArgs,
        out: &Output,
    ) -> Result<Outcome, CliError> {
        let paths = paths()?;
        match command {
            ServiceCommand::Install(args) => install(&paths, args.no_start, global, out),
            ServiceCommand::Uninstall => uninstall(&paths, out),
            ServiceCommand::Status => status(&paths, out),
        }
    }

    fn io_error(what: &str, path: &Path, e: &std::io::Error) -> CliError {
        CliError::usage(
            "service_io",
            format!("cannot {what} {} ({e})", path.display()),
        )
    }

    /// `systemctl --user ARGS`: `None` when there is no `systemctl`, else whether it succeeded
    /// and what it printed (standard output, else standard error).
    fn systemctl(args: &[&str]) -> Option<(bool, String)> {
        let output = Command::new("systemctl")
            .arg("--user")
            .args(args)
            // The service gets its key from the keyring or its environment file, never from
            // the environment of the command that installed it.
            .env_remove(crate::connection::API_KEY_ENV)
            .output();
        match output {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => Some((false, e.to_string())),
            Ok(o) => {
                let stdout = String::from_utf8_lossy(&o.stdout).trim().to_string();
                let stderr = String::from_utf8_lossy(&o.stderr).trim().to_string();
                let text = if stdout.is_empty() { stderr } else { stdout };
                Some((o.status.success(), text))
            }
        }
    }

    fn install(
        paths: &Paths,
        no_start: bool,
        global: &GlobalArgs,
        out: &Output,
    ) -> Result<Outcome, CliError> {
        let exe = std::env::current_exe().map_err(|e| {
            CliError::usage(
                "service_exe",
                format!("cannot find the path of this pushdeck binary ({e})"),
            )
        })?;
        let config = config_path(global)?;
        let config = std::path::absolute(&config).map_err(|e| io_error("resolve", &config, &e))?;
        let loaded = sync_engine::config::Config::load_or_default(&config)
            .map_err(|e| CliError::usage(e.code(), e.to_string()))?;
        if loaded.folders.is_empty() {
            return Err(CliError::usage(
                "no_folders",
                format!(
                    "the configuration file {} has no folders, so the service would have nothing to sync: add [[folder]] tables first (pushdeck config check)",
                    config.display()
                ),
            ));
        }
        let text = unit_text(
            &path_text(&exe, "this pushdeck binary")?,
            &path_text(&config, "the configuration file")?,
            &path_text(&paths.env_file, "the environment file")?,
        );
        let changed = std::fs::read_to_string(&paths.unit).ok().as_deref() != Some(&text);
        if changed {
            write_atomically(&paths.unit, &text)?;
        }
        let env_created = create_env_file(&paths.env_file)?;
        let exec = exec_start_of(&text).unwrap_or_default().to_string();
        out.event(
            "service_unit",
            json!({"unit": paths.unit, "changed": changed, "exec_start": exec}),
            || {
                let verb = if changed { "Wrote" } else { "Unchanged:" };
                format!("{verb} {}\n  ExecStart={exec}", paths.unit.display())
            },
        );
        out.event(
            "service_env_file",
            json!({"env_file": paths.env_file, "created": env_created}),
            || {
                format!(
                    "The API key: this user's keyring entry (pushdeck login --org ORG), or a line\n  COVEO_API_KEY=... in {} (mode 0600{})",
                    paths.env_file.display(),
                    if env_created { ", created empty" } else { "" }
                )
            },
        );
        let (started, commands) = if no_start {
            (false, start_commands())
        } else {
            start()?
        };
        out.summary(
            json!({
                "unit": paths.unit,
                "exec_start": exec,
                "env_file": paths.env_file,
                "changed": changed,
                "started": started,
                "commands": commands,
            }),
            || {
                if started {
                    format!("Started: systemctl --user enable --now {UNIT_NAME}. On a server, also run `loginctl enable-linger {}` so it runs without a login session.", user_name())
                } else {
                    let mut text = String::from("To start it now and at every login, run:");
                    for c in &commands {
                        text.push_str("\n  ");
                        text.push_str(c);
                    }
                    text.push_str(&format!("\nOn a server, also run `loginctl enable-linger {}` so it runs at boot without a login session.", user_name()));
                    text
                }
            },
        );
        Ok(Outcome::ok())
    }

    /// daemon-reload and enable --now: `(true, [])` when done, `(false, commands)` when there
    /// is no systemctl; an error when systemctl refused.
    fn start() -> Result<(bool, Vec<String>), CliError> {
        for args in [&["daemon-reload"][..], &["enable", "--now", UNIT_NAME][..]] {
            match systemctl(args) {
                None => return Ok((false, start_commands())),
                Some((true, _)) => {}
                Some((false, why)) => {
                    return Err(CliError::usage(
                        "systemctl_failed",
                        format!(
                            "the unit is written, but `systemctl --user {}` failed: {}. Run {} in a session of this user with a user bus (log in over ssh as this user; on a server, `loginctl enable-linger {}` first)",
                            args.join(" "),
                            first_line(&why),
                            start_commands().iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(" and "),
                            user_name()
                        ),
                    ))
                }
            }
        }
        Ok((true, Vec::new()))
    }

    fn uninstall(paths: &Paths, out: &Output) -> Result<Outcome, CliError> {
        if !paths.unit.exists() {
            out.summary(
                json!({"unit": paths.unit, "installed": false, "removed": false}),
                || {
                    format!(
                        "{} is not installed ({} does not exist); nothing to remove.",
                        UNIT_NAME,
                        paths.unit.display()
                    )
                },
            );
            return Ok(Outcome::ok());
        }
        // Stop it first (a unit file removed under a running service leaves it running).
        let stopped = systemctl(&["disable", "--now", UNIT_NAME]);
        if let Some((false, why)) = &stopped {
            out.notice(
                "service_stop_failed",
                json!({"message": first_line(why)}),
                || {
                    format!(
                        "warning: `systemctl --user disable --now {UNIT_NAME}` failed: {}",
                        first_line(why)
                    )
                },
            );
        }
        std::fs::remove_file(&paths.unit).map_err(|e| io_error("remove", &paths.unit, &e))?;
        let reloaded =
            stopped.is_some() && matches!(systemctl(&["daemon-reload"]), Some((true, _)));
        // The environment file may hold the person's key: removed only when still empty.
        let env_removed = std::fs::metadata(&paths.env_file).is_ok_and(|m| m.len() == 0)
            && std::fs::remove_file(&paths.env_file).is_ok();
        let env_kept = !env_removed && paths.env_file.exists();
        let commands = if matches!(stopped, Some((true, _))) && reloaded {
            Vec::new()
        } else {
            stop_commands()
        };
        out.summary(
            json!({
                "unit": paths.unit,
                "installed": false,
                "removed": true,
                "stopped": matches!(stopped, Some((true, _))),
                "env_file": paths.env_file,
                "env_file_kept": env_kept,
                "commands": commands,
            }),
            || {
                let mut text = format!("Removed {}.", paths.unit.display());
                if !commands.is_empty() {
                    text.push_str(" If it was running, stop it with:");
                    for c in &commands {
                        text.push_str("\n  ");
                        text.push_str(c);
                    }
                }
                if env_kept {
                    text.push_str(&format!("\nKept {} (it may hold your key): remove it yourself when you no longer need it.", paths.env_file.display()));
                }
                text
            },
        );
        Ok(Outcome::ok())
    }

    fn status(paths: &Paths, out: &Output) -> Result<Outcome, CliError> {
        let unit = std::fs::read_to_string(&paths.unit).ok();
        let exec = unit.as_deref().and_then(exec_start_of).map(str::to_string);
        let env_mode = std::fs::metadata(&paths.env_file)
            .ok()
            .map(|m| m.permissions().mode() & 0o777);
        let active =
            systemctl(&["is-active", UNIT_NAME]).map(|(_, text)| first_line(&text).to_string());
        if let Some(mode) = env_mode.filter(|m| m & 0o077 != 0) {
            out.notice(
                "service_env_file_readable",
                json!({"env_file": paths.env_file, "mode": format!("{mode:04o}")}),
                || format!("warning: {} is readable by other users (mode {mode:04o}); run chmod 600 on it", paths.env_file.display()),
            );
        }
        out.summary(
            json!({
                "unit": paths.unit,
                "installed": unit.is_some(),
                "exec_start": exec,
                "env_file": paths.env_file,
                "env_file_mode": env_mode.map(|m| format!("{m:04o}")),
                "active": active,
            }),
            || {
                let mut text = match &exec {
                    Some(exec) => format!(
                        "{UNIT_NAME} is installed: {}\n  ExecStart={exec}",
                        paths.unit.display()
                    ),
                    None if unit.is_some() => format!(
                        "{UNIT_NAME} is installed: {} (without an ExecStart line)",
                        paths.unit.display()
                    ),
                    None => format!(
                        "{UNIT_NAME} is not installed ({} does not exist)",
                        paths.unit.display()
                    ),
                };
                match env_mode {
                    Some(mode) => text.push_str(&format!(
                        "\n  environment file: {} (mode {mode:04o})",
                        paths.env_file.display()
                    )),
                    None => text.push_str(&format!(
                        "\n  environment file: {} (none)",
                        paths.env_file.display()
                    )),
                }
                match &active {
                    Some(state) => {
                        text.push_str(&format!("\n  systemctl --user is-active: {state}"))
                    }
                    None => text.push_str("\n  systemctl: not found"),
                }
                text
            },
        );
        Ok(Outcome::ok())
    }

    /// Writes `text` to `path` through a temporary file in the same folder, renamed over it.
    fn write_atomically(path: &Path, text: &str) -> Result<(), CliError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| io_error("create", dir, &e))?;
        let tmp = path.with_extension("service.tmp");
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o644)
                .open(&tmp)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io_error("write", path, &e)
        })
    }

    /// Creates the environment file empty, mode 0600, unless it exists (it is never written
    /// to or read). Whether it was created.
    fn create_env_file(path: &Path) -> Result<bool, CliError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io_error("create", dir, &e))?;
        }
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(io_error("create", path, &e)),
        }
    }

    fn first_line(text: &str) -> &str {
        text.lines().next().unwrap_or("").trim()
    }

    fn user_name() -> String {
        std::env::var("USER")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "$USER".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_arguments_are_written_as_they_are() {
        assert_eq!(
            systemd_quote("/usr/local/bin/pushdeck"),
            "/usr/local/bin/pushdeck"
        );
        assert_eq!(
            systemd_quote("/srv/a_b-c.d/config.toml"),
            "/srv/a_b-c.d/config.toml"
        );
    }

    #[test]
    fn spaces_quotes_backslashes_specifiers_and_variables_follow_systemds_rules() {
        assert_eq!(
            systemd_quote("/home/ann/My Files/config.toml"),
            "\"/home/ann/My Files/config.toml\""
        );
        assert_eq!(systemd_quote("/a\"b\\c"), "\"/a\\\"b\\\\c\"");
        assert_eq!(systemd_quote("/srv/100%/x"), "/srv/100%%/x");
        assert_eq!(systemd_quote("/srv/$HOME"), "/srv/$$HOME");
        assert_eq!(systemd_quote("/a b/50%"), "\"/a b/50%%\"");
        assert_eq!(systemd_quote("/a\nb"), "\"/a\\nb\"");
        assert_eq!(systemd_quote("/a\u{7}b"), "\"/a\\x07b\"");
        assert_eq!(systemd_quote("/a'b"), "\"/a'b\"");
        assert_eq!(systemd_quote("/été"), "\"/été\"");
        assert_eq!(systemd_quote(""), "\"\"");
        // The program: `$` is literal there (systemd expands no variable in it).
        assert_eq!(
            systemd_quote_program("/opt/a$b c/pushdeck"),
            "\"/opt/a$b c/pushdeck\""
        );
        assert_eq!(
            systemd_quote_program("/opt/50%/pushdeck"),
            "/opt/50%%/pushdeck"
        );
    }

    #[test]
    fn paths_a_unit_cannot_name_are_refused() {
        assert_eq!(check_unit_path("/home/ann/My Files/x"), Ok(()));
        assert!(check_unit_path("/home/ann/a\nb").is_err());
        assert!(check_unit_path("/home/ann/tab\there").is_err());
        assert!(check_unit_path("/home/ann/x ").is_err());
    }

    #[test]
    fn the_unit_runs_this_binary_on_the_configuration_and_restarts_after_a_failure() {
        let text = unit_text(
            "/opt/push deck/pushdeck",
            "/home/ann/.config/pushdeck/config.toml",
            "/home/ann/.config/pushdeck/service.env",
        );
        assert_eq!(
            exec_start_of(&text),
            Some("\"/opt/push deck/pushdeck\" sync --watch --config /home/ann/.config/pushdeck/config.toml")
        );
        for line in [
            "[Service]",
            "Restart=on-failure",
            "RestartSec=30",
            "EnvironmentFile=-/home/ann/.config/pushdeck/service.env",
            "[Install]",
            "WantedBy=default.target",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
        assert!(
            !text.contains("COVEO_API_KEY="),
            "no key line, only the comment"
        );
        // EnvironmentFile= is the rest of the line: spaces unquoted, `%` doubled.
        let text = unit_text("/usr/bin/pushdeck", "/c", "/home/ann/My 100%/service.env");
        assert!(
            text.lines()
                .any(|l| l == "EnvironmentFile=-/home/ann/My 100%%/service.env"),
            "{text}"
        );
    }

    #[test]
    fn commands_to_run_by_hand() {
        assert_eq!(
            start_commands(),
            [
                "systemctl --user daemon-reload",
                "systemctl --user enable --now pushdeck.service"
            ]
        );
        assert_eq!(
            stop_commands()[0],
            "systemctl --user disable --now pushdeck.service"
        );
        assert!(NOT_LINUX.starts_with("pushdeck service is for Linux servers (systemd)"));
    }
}
