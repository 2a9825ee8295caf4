//! Everything the command prints goes through [`Output`], so the four modes stay consistent:
//!
//! - people at a terminal: plain lines on standard output, progress bars on standard error;
//! - people or scripts without a terminal: the same plain lines, no bars, no colours;
//! - `--json`: one JSON object per line per event on standard output, then a final
//!   `{"type":"summary",...}` object (or `{"type":"error",...}`);
//! - `--quiet`: only problems and errors (on standard error).
//!
//! Problems (one item failed) and errors (the command stopped) go to standard error in the
//! human modes, so `pushdeck ... > out.txt` still shows them.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};

use crate::args::GlobalArgs;
use crate::exit::CliError;

/// How often a progress bar redraws. Ten times a second looks live without costing CPU.
const PROGRESS_REFRESH_HZ: u8 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Human,
    Json,
    Quiet,
}

#[derive(Debug)]
pub struct Output {
    mode: Mode,
    /// Progress bars only when both streams are terminals: a bar in a log file is noise.
    bars: bool,
    current: Mutex<Option<ProgressBar>>,
}

impl Output {
    pub fn new(global: &GlobalArgs) -> Self {
        let mode = if global.json {
            Mode::Json
        } else if global.quiet {
            Mode::Quiet
        } else {
            Mode::Human
        };
        let bars = mode == Mode::Human
            && std::io::stdout().is_terminal()
            && std::io::stderr().is_terminal();
        Self {
            mode,
            bars,
            current: Mutex::new(None),
        }
    }

    /// Something that happened: a line for people, an object for `--json`, nothing when quiet.
    /// `kind` becomes the object's `"type"`.
    pub fn event(&self, kind: &str, fields: Value, line: impl FnOnce() -> String) {
        match self.mode {
            Mode::Human => self.print_line(&line(), false),
            Mode::Json => print_json(kind, fields),
            Mode::Quiet => {}
        }
    }

    /// Something worth knowing that is not the result (a retry wait): standard error for
    /// people, an event for `--json`, nothing when quiet.
    pub fn notice(&self, kind: &str, fields: Value, line: impl FnOnce() -> String) {
        match self.mode {
            Mode::Human => self.print_line(&line(), true),
            Mode::Json => print_json(kind, fields),
            Mode::Quiet => {}
        }
    }

    /// One item failed: always shown (standard error for people, an event for `--json`).
    pub fn problem(&self, kind: &str, fields: Value, line: impl FnOnce() -> String) {
        match self.mode {
            Mode::Human | Mode::Quiet => self.print_line(&line(), true),
            Mode::Json => print_json(kind, fields),
        }
    }

    /// The final line of a command.
    pub fn summary(&self, fields: Value, line: impl FnOnce() -> String) {
        self.finish_progress();
        match self.mode {
            Mode::Human => self.print_line(&line(), false),
            Mode::Json => print_json("summary", fields),
            Mode::Quiet => {}
        }
    }

    /// The command stopped: `error: ...` on standard error (and an object for `--json`).
    pub fn error(&self, err: &CliError) {
        self.finish_progress();
        if self.mode == Mode::Json {
            print_json(
                "error",
                json!({"code": err.code, "message": err.message, "exit_code": err.exit.code()}),
            );
        }
        self.print_line(&format!("error: {}", err.message), true);
    }

    /// Starts a progress bar of `total` steps (hidden unless at a terminal in human mode).
    pub fn start_progress(&self, total: u64, message: &str) -> ProgressBar {
        let bar = if self.bars {
            let bar = ProgressBar::with_draw_target(
                Some(total),
                ProgressDrawTarget::stderr_with_hz(PROGRESS_REFRESH_HZ),
            );
            let style =
                ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        } else {
            ProgressBar::hidden()
        };
        bar.set_message(message.to_string());
        if let Ok(mut current) = self.current.lock() {
            *current = Some(bar.clone());
        }
        bar
    }

    pub fn finish_progress(&self) {
        if let Ok(mut current) = self.current.lock() {
            if let Some(bar) = current.take() {
                bar.finish_and_clear();
            }
        }
    }

    fn print_line(&self, line: &str, to_stderr: bool) {
        let print = || {
            if to_stderr {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            } else {
                let _ = writeln!(std::io::stdout().lock(), "{line}");
            }
        };
        let bar = self.current.lock().ok().and_then(|c| c.clone());
        match bar {
            Some(bar) if !bar.is_hidden() => bar.suspend(print),
            _ => print(),
        }
    }
}

fn print_json(kind: &str, fields: Value) {
    let mut object = serde_json::Map::new();
    object.insert("type".into(), Value::from(kind));
    if let Value::Object(map) = fields {
        object.extend(map);
    }
    let _ = writeln!(std::io::stdout().lock(), "{}", Value::Object(object));
}

/// Installs the tracing subscriber: nothing by default, `-v` info, `-vv` debug, `-vvv` trace;
/// `PUSHDECK_LOG` (an env-filter directive) overrides. Always standard error.
pub fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "off",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PUSHDECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
