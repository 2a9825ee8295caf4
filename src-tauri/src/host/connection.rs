//! Connecting: the organization form, the keyring, the Sandbox switch.

use super::*;

pub(crate) fn keyring_error(e: &keyring::Error) -> HostError {
    let why = match e {
        keyring::Error::PlatformFailure(e) | keyring::Error::NoStorageAccess(e) => e.to_string(),
        keyring::Error::BadEncoding(_) => "the stored entry is not text".into(),
        other => other.to_string(),
    };
    HostError::new(
        ErrorCode::KeyringUnavailable,
        format!("the operating system's keyring is not available ({why}); you can keep the key for this run only"),
    )
}

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, HostError> + Send + 'static,
) -> Result<T, HostError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| internal("a keyring call stopped unexpectedly", e))?
}

/// Whether the keyring answers (a missing entry counts as an answer).
pub async fn probe_keyring() -> bool {
    blocking(|| {
        let entry = keyring::Entry::new(KEYRING_SERVICE, "pushdeck-probe")
            .map_err(|e| keyring_error(&e))?;
        match entry.get_password() {
            Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(&e)),
        }
    })
    .await
    .is_ok()
}

pub(crate) async fn keyring_store(org: String, key: String) -> Result<(), HostError> {
    blocking(move || {
        let entry = keyring::Entry::new(KEYRING_SERVICE, &org).map_err(|e| keyring_error(&e))?;
        entry.set_password(&key).map_err(|e| keyring_error(&e))
    })
    .await
}

pub(crate) async fn keyring_load(org: String) -> Result<Option<String>, HostError> {
    blocking(move || {
        let entry = keyring::Entry::new(KEYRING_SERVICE, &org).map_err(|e| keyring_error(&e))?;
        match entry.get_password() {
            Ok(key) => Ok(Some(key)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(&e)),
        }
    })
    .await
}

impl Host {
    // ---- connection ----------------------------------------------------------------------

    pub(crate) fn existing_id(choice: &TargetChoice, what: &str) -> Result<String, HostError> {
        match choice {
            TargetChoice::Existing { id } if !id.trim().is_empty() => Ok(id.trim().to_owned()),
            TargetChoice::Existing { .. } => Err(HostError::new(
                ErrorCode::InvalidInput,
                format!("pick a {what}"),
            )),
            TargetChoice::Create { .. } => Err(not_yet(&format!("Creating a {what} from the app"))),
        }
    }

    /// Stores the key (keyring or this run only) and makes the organization the target of
    /// new folders. The key is never returned.
    pub async fn connect(&self, request: ConnectionRequest) -> Result<AppState, HostError> {
        let org = request.organization_id.trim().to_owned();
        if org.is_empty() {
            return Err(HostError::new(
                ErrorCode::InvalidInput,
                "type the organization ID (Administration console → Organization → Settings)",
            ));
        }
        let source_id = Self::existing_id(&request.source, "source")?;
        let provider_id = Self::existing_id(&request.provider, "security identity provider")?;
        let key = request.api_key.trim().to_owned();
        let key = if key.is_empty() {
            // Re-connecting with the stored key.
            lock(&self.credentials)
                .key
                .clone()
                .filter(|_| {
                    lock(&self.credentials)
                        .summary
                        .as_ref()
                        .is_some_and(|c| c.organization_id == org)
                })
                .ok_or_else(|| {
                    HostError::new(
                        ErrorCode::InvalidInput,
                        "type the API key for this organization",
                    )
                })?
        } else {
            key
        };
        if request.key_storage == KeyStorage::Keyring {
            keyring_store(org.clone(), key.clone()).await?;
        }
        let summary = ConnectionSummary {
            organization_id: org,
            region: request.region,
            source_id,
            provider_id,
            key_storage: request.key_storage,
        };
        {
            let mut creds = lock(&self.credentials);
            creds.summary = Some(summary.clone());
            creds.key = Some(key);
        }
        {
            let mut s = lock(&self.settings);
            s.connection = Some(summary);
            s.use_organization = true;
            self.save_settings(&s)?;
        }
        self.get_app_state().await
    }

    /// Whether the key stored for `org` (in the keyring or in memory) equals `key`; for tests
    /// of "store and replace the key" without ever returning the key to the UI.
    pub async fn stored_key_matches(&self, org: &str, key: &str) -> Result<bool, HostError> {
        let stored = match keyring_load(org.to_owned()).await? {
            Some(k) => Some(k),
            None => lock(&self.credentials).key.clone(),
        };
        Ok(stored.as_deref() == Some(key))
    }
}
