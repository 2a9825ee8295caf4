//! The API key in the operating system's keyring: the one copy both fronts (the command line
//! and the desktop app) use, so a key stored by one is found by the other.
//!
//! Scheme: service [`KEYRING_SERVICE`], account = the organization ID, so one key per
//! organization. The `keyring` API blocks (Secret Service over D-Bus, and on some platforms it
//! starts its own runtime), so every call runs on a blocking thread. On Linux,
//! `PUSHDECK_KEYRING=keyutils` selects the kernel keyring instead of the Secret Service
//! (headless servers without a desktop session).
//!
//! The native store of each OS is enabled per target in this crate's `Cargo.toml` (the Secret
//! Service and the kernel keyring on Linux, the Keychain on macOS, the Credential Manager on
//! Windows). On a system with none of them, `keyring` silently falls back to an in-memory mock
//! that forgets every key when the process exits; every call here then refuses with
//! [`NO_NATIVE_STORE`] instead of pretending to have stored the key (the fronts add how to give
//! the key another way: `COVEO_API_KEY` for the command line).
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

/// Why a store that keeps nothing past the process (keyring's mock) is refused.
pub const NO_NATIVE_STORE: &str = "this system has no keyring Pushdeck can use: \
a key stored in it would be forgotten when Pushdeck exits";

/// Whether a store whose keys live this long can hold Pushdeck's key: it must outlive the
/// process (the Secret Service, Keychain and Credential Manager keep keys until deleted, the
/// kernel keyring until reboot, which `PUSHDECK_KEYRING=keyutils` asks for knowingly). Pure.
fn check_persistence(
    persistence: &keyring::credential::CredentialPersistence,
) -> Result<(), KeystoreError> {
    use keyring::credential::CredentialPersistence as P;
    match persistence {
        P::EntryOnly | P::ProcessOnly => Err(KeystoreError(NO_NATIVE_STORE.into())),
        _ => Ok(()),
    }
}

/// Which store: the OS's native one (on Linux the Secret Service), or the Linux kernel keyring
/// when `PUSHDECK_KEYRING=keyutils` says so; refused when it would be keyring's mock.
fn entry(account: &str) -> Result<keyring::Entry, KeystoreError> {
    #[cfg(target_os = "linux")]
    let builder = if std::env::var("PUSHDECK_KEYRING").as_deref() == Ok("keyutils") {
        keyring::keyutils::default_credential_builder()
    } else {
        keyring::default::default_credential_builder()
    };
    #[cfg(not(target_os = "linux"))]
    let builder = keyring::default::default_credential_builder();
    check_persistence(&builder.persistence())?;
    let credential = builder
        .build(None, KEYRING_SERVICE, account)
        .map_err(|e| KeystoreError::of(&e))?;
    Ok(keyring::Entry::new_with_credential(credential))
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

#[cfg(test)]
mod tests {
    use super::*;
    use keyring::credential::CredentialPersistence as P;

    #[test]
    fn a_store_that_forgets_the_key_at_exit_is_refused_with_a_clear_sentence() {
        for forgetful in [P::EntryOnly, P::ProcessOnly] {
            let err = check_persistence(&forgetful).unwrap_err();
            assert_eq!(err.0, NO_NATIVE_STORE);
            assert_eq!(
                err.to_string(),
                "the operating system's keyring is not available (this system has no keyring \
                 Pushdeck can use: a key stored in it would be forgotten when Pushdeck exits)"
            );
        }
        assert_eq!(check_persistence(&P::UntilDelete), Ok(()));
        assert_eq!(
            check_persistence(&P::UntilReboot),
            Ok(()),
            "keyutils, chosen knowingly"
        );
    }

    #[test]
    fn keyrings_mock_store_is_the_one_refused() {
        let mock = keyring::mock::default_credential_builder();
        assert!(check_persistence(&mock.persistence()).is_err());
    }

    /// This build has a native store for the OS it runs on (the per-target features in
    /// Cargo.toml), so the default builder is not the mock.
    #[cfg(any(target_os = "linux", target_os = "macos", target_os = "windows"))]
    #[test]
    fn this_os_has_a_native_store() {
        let native = keyring::default::default_credential_builder();
        assert_eq!(check_persistence(&native.persistence()), Ok(()));
    }
}
