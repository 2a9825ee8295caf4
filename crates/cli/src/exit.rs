//! Exit statuses and the one error type of the command line.
//!
//! Commands return `Result<Outcome, CliError>`: partial failure (some items refused) is an
//! [`Outcome`] with problems, decided once at the top; only what stops a whole run is a
//! [`CliError`]. Every error carries the exit status, a stable `code` for `--json` and one
//! message that says what to do. No message ever contains the API key: errors are built from
//! our own words and from `coveo_push::Error::explanation`, which never sees the key.

use std::fmt;
use std::process::ExitCode;

/// The documented exit statuses (see `pushdeck --help` and the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: all good.
    Ok = 0,
    /// 1: some items failed; each one was listed.
    ItemsFailed = 1,
    /// 2: usage or configuration error (clap's own usage errors also exit 2).
    Usage = 2,
    /// 3: authentication or permission problem.
    Auth = 3,
    /// 4: the API or network was unreachable after retries.
    Unreachable = 4,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// An error that stops the command.
#[derive(Debug)]
pub struct CliError {
    pub exit: Exit,
    /// Stable, for scripts reading `--json` (`no_api_key`, `not_found`, `unreachable`, ...).
    pub code: &'static str,
    /// One or two sentences: what went wrong and what to do.
    pub message: String,
}

impl CliError {
    pub fn new(exit: Exit, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            exit,
            code,
            message: message.into(),
        }
    }

    /// A usage or configuration error (exit 2).
    pub fn usage(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, code, message)
    }

    /// An authentication or permission problem (exit 3).
    pub fn auth(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Exit::Auth, code, message)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// How a command ended when it did not stop on a [`CliError`].
#[derive(Debug, Default)]
pub struct Outcome {
    /// Items (or identities, files) that failed, already listed to the user.
    pub failed: usize,
}

impl Outcome {
    pub fn ok() -> Self {
        Self::default()
    }

    pub fn exit(&self) -> Exit {
        if self.failed == 0 {
            Exit::Ok
        } else {
            Exit::ItemsFailed
        }
    }
}
