//! The engine's errors, by meaning: what went wrong is the variant, the cause is kept as a
//! typed value (and as the `source`, for a report that walks the chain), and `Display` is the
//! sentence a person reads, as before.
//!
//! The codes are a closed set ([`EngineError::code`]), what the fronts map to their own codes
//! (ARCHITECTURE.md, invariant 10). Every cause is held in an `Arc` so that one error can
//! answer several callers waiting for the same run ([`EngineError`] is `Clone`).

use std::sync::Arc;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::config::ConfigError;
use crate::execute::ExecuteError;
use crate::state::StateError;

/// Why a command of the engine failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    #[error("no folder is named {0:?}; check the name in the folder list")]
    UnknownFolder(String),
    #[error("a folder named {0:?} exists already; pick another name or change that folder")]
    FolderExists(String),
    /// The folder list or one folder's settings cannot be used.
    #[error(transparent)]
    InvalidConfig(#[from] SettingsError),
    /// The state store failed, or the work on this machine stopped.
    #[error(transparent)]
    State(#[from] StateFailure),
    /// The client of the folder's organization could not be made (the caller's
    /// `ClientFactory`: no key, a host that is not valid...).
    #[error(transparent)]
    Client(ClientFailure),
    #[error("the sync engine has stopped; restart Pushdeck")]
    Stopped,
}

/// What makes the folder list or a folder's settings unusable.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SettingsError {
    /// The folder list, checked as the configuration file is, or the file itself.
    #[error(transparent)]
    Config(Arc<ConfigError>),
    /// A filter rule does not compile (`FolderMapping::compiled_filters`).
    #[error("{0}")]
    Filters(String),
    /// A permission rule does not compile (`FolderMapping::compiled_permissions`).
    #[error("{0}")]
    Permissions(String),
    /// The folder's identities file cannot be read or is not an identity batch
    /// (`plan::load_identities`).
    #[error("{0}")]
    Identities(String),
}

/// What failed on this machine.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StateFailure {
    /// The state store.
    #[error(transparent)]
    Store(Arc<StateError>),
    /// The scan's thread ended without an answer (it panicked or was cancelled).
    #[error(transparent)]
    ScanStopped(ScanStopped),
}

/// A client error: says what to do in the client core's words
/// ([`coveo_push::Error::explanation`]); the error itself is the `source`.
#[derive(Debug, Clone)]
pub struct ClientFailure(Arc<coveo_push::Error>);

impl ClientFailure {
    pub fn error(&self) -> &coveo_push::Error {
        &self.0
    }
}

impl std::fmt::Display for ClientFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.explanation())
    }
}

impl std::error::Error for ClientFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// The scan's thread stopped; the join error is the `source`.
#[derive(Debug, Clone)]
pub struct ScanStopped(Arc<tokio::task::JoinError>);

impl ScanStopped {
    pub fn error(&self) -> &tokio::task::JoinError {
        &self.0
    }
}

impl std::fmt::Display for ScanStopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the scan stopped unexpectedly: {}", self.0)
    }
}

impl std::error::Error for ScanStopped {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

impl EngineError {
    /// A stable code for the fronts, one per variant.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownFolder(_) => "unknown_folder",
            Self::FolderExists(_) => "folder_exists",
            Self::InvalidConfig(_) => "invalid_config",
            Self::State(_) => "state",
            Self::Client(_) => "client",
            Self::Stopped => "stopped",
        }
    }
}

impl From<ConfigError> for EngineError {
    fn from(e: ConfigError) -> Self {
        Self::InvalidConfig(SettingsError::Config(Arc::new(e)))
    }
}

impl From<StateError> for EngineError {
    fn from(e: StateError) -> Self {
        Self::State(StateFailure::Store(Arc::new(e)))
    }
}

impl From<ExecuteError> for EngineError {
    fn from(e: ExecuteError) -> Self {
        match e {
            ExecuteError::State(e) => e.into(),
        }
    }
}

impl From<coveo_push::Error> for EngineError {
    fn from(e: coveo_push::Error) -> Self {
        Self::Client(ClientFailure(Arc::new(e)))
    }
}

impl From<tokio::task::JoinError> for EngineError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::State(StateFailure::ScanStopped(ScanStopped(Arc::new(e))))
    }
}

/// `{code, message}`; the message is the sentence (`Display`), the folder's name for
/// `unknown_folder` and `folder_exists`, and absent for `stopped`.
impl Serialize for EngineError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let message = match self {
            Self::UnknownFolder(name) | Self::FolderExists(name) => Some(name.clone()),
            Self::Stopped => None,
            Self::InvalidConfig(_) | Self::State(_) | Self::Client(_) => Some(self.to_string()),
        };
        let mut s =
            serializer.serialize_struct("EngineError", 1 + usize::from(message.is_some()))?;
        s.serialize_field("code", self.code())?;
        if let Some(message) = message {
            s.serialize_field("message", &message)?;
        }
        s.end()
    }
}
