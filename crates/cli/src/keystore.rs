//! The API key in the operating system's keyring.
//!
//! Scheme: service `pushdeck`, account = the organization ID (`keyring::Entry::new("pushdeck",
//! ORG)`), so one key per organization. The `keyring` API blocks (Secret Service over D-Bus),
//! so every call runs on a blocking thread. `PUSHDECK_KEYRING=keyutils` selects the Linux
//! kernel keyring instead of the Secret Service (headless servers without a desktop session).

use crate::exit::CliError;

/// The keyring service name under which keys are stored.
pub const KEYRING_SERVICE: &str = "pushdeck";

fn entry(org: &str) -> Result<keyring::Entry, keyring::Error> {
    #[cfg(target_os = "linux")]
    if std::env::var("PUSHDECK_KEYRING").as_deref() == Ok("keyutils") {
        keyring::set_default_credential_builder(keyring::keyutils::default_credential_builder());
    }
    keyring::Entry::new(KEYRING_SERVICE, org)
}

fn unavailable(err: &keyring::Error) -> CliError {
    CliError::auth(
        "keyring_unavailable",
        format!(
            "the operating system's keyring is not available ({}); set the environment variable COVEO_API_KEY instead",
            describe(err)
        ),
    )
}

/// The keyring error without any secret (keyring errors never carry the password, but
/// `BadEncoding` carries raw bytes: do not print those).
fn describe(err: &keyring::Error) -> String {
    match err {
        keyring::Error::PlatformFailure(e) | keyring::Error::NoStorageAccess(e) => e.to_string(),
        keyring::Error::BadEncoding(_) => "the stored entry is not text".into(),
        other => other.to_string(),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, CliError> + Send + 'static,
) -> Result<T, CliError> {
    tokio::task::spawn_blocking(f).await.map_err(|_| {
        CliError::auth(
            "keyring_unavailable",
            "the keyring call stopped unexpectedly; set COVEO_API_KEY instead",
        )
    })?
}

pub async fn store(org: &str, key: String) -> Result<(), CliError> {
    let org = org.to_string();
    blocking(move || {
        let entry = entry(&org).map_err(|e| unavailable(&e))?;
        entry.set_password(&key).map_err(|e| unavailable(&e))
    })
    .await
}

/// The stored key, `None` when there is none (or no keyring at all: the caller then explains
/// how to provide one).
pub async fn load(org: &str) -> Result<Option<String>, CliError> {
    let org = org.to_string();
    blocking(move || {
        let entry = match entry(&org) {
            Ok(entry) => entry,
            Err(e) => {
                tracing::debug!("keyring unavailable: {}", describe(&e));
                return Ok(None);
            }
        };
        match entry.get_password() {
            Ok(key) => Ok(Some(key)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => {
                tracing::debug!("keyring unavailable: {}", describe(&e));
                Ok(None)
            }
        }
    })
    .await
}

/// Removes the stored key; `false` when there was none.
pub async fn remove(org: &str) -> Result<bool, CliError> {
    let org = org.to_string();
    blocking(move || {
        let entry = entry(&org).map_err(|e| unavailable(&e))?;
        match entry.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(unavailable(&e)),
        }
    })
    .await
}
