//! The API key in the operating system's keyring, through the one wrapper both fronts use
//! (`sync_engine::keystore`: service `pushdeck`, account = the organization ID;
//! `PUSHDECK_KEYRING=keyutils` selects the Linux kernel keyring). This module only turns its
//! errors into the command line's.

use sync_engine::keystore::{self, KeystoreError};

use crate::exit::CliError;

pub use sync_engine::keystore::KEYRING_SERVICE;

fn unavailable(err: KeystoreError) -> CliError {
    CliError::auth(
        "keyring_unavailable",
        format!("{err}; set the environment variable COVEO_API_KEY instead"),
    )
}

pub async fn store(org: &str, key: String) -> Result<(), CliError> {
    keystore::store(org, key).await.map_err(unavailable)
}

/// The stored key, `None` when there is none (or no keyring at all: the caller then explains
/// how to provide one).
pub async fn load(org: &str) -> Result<Option<String>, CliError> {
    match keystore::load(org).await {
        Ok(key) => Ok(key),
        Err(e) => {
            tracing::debug!("{e}");
            Ok(None)
        }
    }
}

/// Removes the stored key; `false` when there was none.
pub async fn remove(org: &str) -> Result<bool, CliError> {
    keystore::remove(org).await.map_err(unavailable)
}
