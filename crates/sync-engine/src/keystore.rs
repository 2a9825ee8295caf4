//! The API key in the operating system's keyring: the one copy both fronts (the command line
//! and the desktop app) use, so a key stored by one is found by the other.
//!
//! Scheme: service [`KEYRING_SERVICE`], account = the organization ID, so one key per
//! organization. The `keyring` API blocks (Secret Service over D-Bus, and on some platforms it
//! starts its own runtime), so every call runs on a blocking thread. On Linux,
//! `PUSHDECK_KEYRING=keyutils` selects the kernel keyring instead of the Secret Service
//! (headless servers without a desktop session).
//!
//! Errors never carry the key: keyring errors do not hold the password, and
//! [`keyring::Error::BadEncoding`]'s raw bytes are never printed.

/// The keyring service name under which keys are stored.
pub const KEYRING_SERVICE: &str = "pushdeck";
/// The account the probe reads (it never exists: reading it proves the keyring answers).
const PROBE_ACCOUNT: &str = "pushdeck-probe";

/// The keyring could not be used; the sentence says why, without any secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the operating system's keyring is not available ({0})")]
pub struct KeystoreError(pub String);

impl KeystoreError {
    fn of(err: &keyring::Error) -> Self {
        Self(match err {
            keyring::Error::PlatformFailure(e) | keyring::Error::NoStorageAccess(e) => {
                e.to_string()
            }
            keyring::Error::BadEncoding(_) => "the stored entry is not text".into(),
            other => other.to_string(),
        })
    }
}

/// Which store: the Secret Service (or the platform's), or the Linux kernel keyring when
/// `PUSHDECK_KEYRING=keyutils` says so.
fn entry(account: &str) -> Result<keyring::Entry, KeystoreError> {
    #[cfg(target_os = "linux")]
    if std::env::var("PUSHDECK_KEYRING").as_deref() == Ok("keyutils") {
        keyring::set_default_credential_builder(keyring::keyutils::default_credential_builder());
    }
    keyring::Entry::new(KEYRING_SERVICE, account).map_err(|e| KeystoreError::of(&e))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, KeystoreError> + Send + 'static,
) -> Result<T, KeystoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| KeystoreError(format!("the keyring call stopped unexpectedly: {e}")))?
}

/// Stores the key of `organization`, replacing any earlier one.
pub async fn store(organization: &str, key: String) -> Result<(), KeystoreError> {
    let org = organization.to_string();
    blocking(move || {
        entry(&org)?
            .set_password(&key)
            .map_err(|e| KeystoreError::of(&e))
    })
    .await
}

/// The stored key of `organization`; `None` when there is none.
pub async fn load(organization: &str) -> Result<Option<String>, KeystoreError> {
    let org = organization.to_string();
    blocking(move || match entry(&org)?.get_password() {
        Ok(key) => Ok(Some(key)),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(KeystoreError::of(&e)),
    })
    .await
}

/// Removes the stored key of `organization`; `false` when there was none.
pub async fn remove(organization: &str) -> Result<bool, KeystoreError> {
    let org = organization.to_string();
    blocking(move || match entry(&org)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(KeystoreError::of(&e)),
    })
    .await
}

/// Whether the keyring answers at all (a missing entry counts as an answer).
pub async fn probe() -> Result<(), KeystoreError> {
    blocking(|| match entry(PROBE_ACCOUNT)?.get_password() {
        Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(KeystoreError::of(&e)),
    })
    .await
}
