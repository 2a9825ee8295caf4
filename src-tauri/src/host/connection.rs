//! Connecting: the organization form, the keyring, the Sandbox switch.

use super::*;

// The keyring itself is `sync_engine::keystore`, the one wrapper the CLI uses too (a key
// stored by one front is found by the other); here its errors become the UI's.
pub(crate) fn keyring_error(e: sync_engine::keystore::KeystoreError) -> HostError {
    HostError::new(
        ErrorCode::KeyringUnavailable,
        format!("{e}; you can keep the key for this run only"),
    )
}

/// Whether the keyring answers (a missing entry counts as an answer).
pub async fn probe_keyring() -> bool {
    sync_engine::keystore::probe().await.is_ok()
}

pub(crate) async fn keyring_store(org: String, key: String) -> Result<(), HostError> {
    sync_engine::keystore::store(&org, key)
        .await
        .map_err(keyring_error)
}

pub(crate) async fn keyring_load(org: String) -> Result<Option<String>, HostError> {
    sync_engine::keystore::load(&org)
        .await
        .map_err(keyring_error)
}

/// Attempts per call of the connection form: one retry of a dropped connection, no more, so a
/// wrong region or an unreachable network answers in seconds, not after the engine's
/// 15-minute retry budget.
const FORM_ATTEMPTS: u32 = 2;
/// Time budget per call of the connection form (retries included). Longer lets a slow proxy
/// answer; shorter keeps the form responsive.
const FORM_CALL_BUDGET: std::time::Duration = std::time::Duration::from_secs(20);
/// The identity "Test connection" deletes to prove that the key may push security identities:
/// it never exists, so deleting it changes nothing.
const PROBE_IDENTITY: &str = "pushdeck-connection-check@invalid";
/// The window of Source Logs read by "Test connection" (only the answer matters, not entries).
const PROBE_LOG_WINDOW: time::Duration = time::Duration::minutes(5);

/// Privileges, named as the Administration console shows them (Organization → API keys →
/// the key → Privileges).
const PRIV_SOURCES_VIEW: &str = "Content › Sources: View";
const PRIV_SOURCES_EDIT: &str = "Content › Sources: Edit";
const PRIV_PROVIDERS_VIEW: &str = "Content › Security identity providers: View";
const PRIV_PROVIDERS_EDIT: &str = "Content › Security identity providers: Edit";
const PRIV_LOGS_VIEW: &str = "Content › Logs: View";

/// A `coveo-push` error as the UI shows it: the code by meaning, the plain-words explanation.
pub(crate) fn push_error(e: &coveo_push::Error) -> HostError {
    use coveo_push::ErrorKind as K;
    let code = match e.kind() {
        K::Unauthorized => ErrorCode::Unauthorized,
        K::Forbidden => ErrorCode::Forbidden,
        K::NotFound { .. } => ErrorCode::NotFound,
        K::Throttled { .. } => ErrorCode::Throttled,
        K::Transport { .. } | K::ServerError { .. } => ErrorCode::Network,
        K::InvalidInput | K::UnsupportedSource { .. } | K::Rejected { .. } => {
            ErrorCode::InvalidInput
        }
        _ => ErrorCode::Internal,
    };
    HostError::new(code, e.explanation())
}

/// Whether Coveo answered at all (a refusal is an answer; a dropped connection is not).
fn answered(e: &coveo_push::Error) -> bool {
    !matches!(
        e.kind(),
        coveo_push::ErrorKind::Transport { .. } | coveo_push::ErrorKind::ServerError { .. }
    )
}

fn region_label(region: Region) -> &'static str {
    match region {
        Region::Us => "US",
        Region::Eu => "EU",
        Region::Au => "AU",
        Region::Ca => "CA",
        Region::Hipaa => "HIPAA",
    }
}

/// The checks of "Test connection", gathered in order, with what the key lacks.
#[derive(Default)]
struct Checks {
    checks: Vec<ConnectionCheck>,
    /// Privileges a 403 showed missing, in the order found.
    missing: Vec<&'static str>,
    /// The first failure that is not a missing privilege: (code, what to do).
    first_problem: Option<(ErrorCode, String)>,
    /// False when Coveo could not be reached, so nothing could be checked.
    reached: bool,
}

impl Checks {
    fn ok(&mut self, label: impl Into<String>, detail: impl Into<String>) {
        self.checks.push(ConnectionCheck {
            label: label.into(),
            ok: true,
            detail: detail.into(),
        });
    }

    fn fail(&mut self, label: impl Into<String>, detail: impl Into<String>, code: ErrorCode) {
        let detail = detail.into();
        if self.first_problem.is_none() {
            self.first_problem = Some((code, detail.clone()));
        }
        self.checks.push(ConnectionCheck {
            label: label.into(),
            ok: false,
            detail,
        });
    }

    fn lacks(&mut self, label: impl Into<String>, privilege: &'static str) {
        if !self.missing.contains(&privilege) {
            self.missing.push(privilege);
        }
        self.checks.push(ConnectionCheck {
            label: label.into(),
            ok: false,
            detail: format!("403 Forbidden: the key lacks the privilege {privilege}."),
        });
    }

    /// Records a failed call: a 403 names the privilege, anything else says what to do.
    fn failed(&mut self, label: &str, e: &coveo_push::Error, privilege: &'static str) {
        if matches!(e.kind(), coveo_push::ErrorKind::Forbidden) {
            self.lacks(label, privilege);
        } else {
            let code = push_error(e).code;
            self.fail(label, e.explanation(), code);
        }
    }

    /// The result, and the error `connect` gives when the checks failed on Coveo's answer.
    fn finish(self, created_later: bool) -> (ConnectionTest, Option<HostError>) {
        let ok = self.checks.iter().all(|c| c.ok);
        let summary = if ok && created_later {
            "The key works; the new source and provider are created when you connect.".to_owned()
        } else if ok {
            "Everything works: the key can push items and security identities.".to_owned()
        } else if let Some((_, what)) = &self.first_problem {
            what.clone()
        } else {
            format!(
                "The key works but lacks {}: add {} to the key in the Administration console (Organization → API keys → the key → Privileges), or use a key that has {}.",
                if self.missing.len() == 1 { "a privilege" } else { "privileges" },
                join_and(&self.missing),
                if self.missing.len() == 1 { "it" } else { "them" },
            )
        };
        let refusal = (!ok && self.reached).then(|| {
            let code = match &self.first_problem {
                Some((code, _)) => *code,
                None => ErrorCode::Forbidden,
            };
            HostError::new(code, summary.clone())
        });
        (
            ConnectionTest {
                ok,
                summary,
                checks: self.checks,
            },
            refusal,
        )
    }
}

fn join_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

impl Host {
    // ---- connection ----------------------------------------------------------------------

    /// The organization of the form, or the plain-words error of an empty field.
    fn form_org(request: &ConnectionRequest) -> Result<String, HostError> {
        let org = request.organization_id.trim();
        if org.is_empty() {
            return Err(HostError::new(
                ErrorCode::InvalidInput,
                "Type the organization id (for example acmecorpproduction1x2y3z).",
            ));
        }
        Ok(org.to_owned())
    }

    /// The key typed in the form, or the one kept for this organization when the field is
    /// left empty (re-testing an existing connection).
    fn form_key(&self, org: &str, request: &ConnectionRequest) -> Result<String, HostError> {
        let typed = request.api_key.trim();
        if !typed.is_empty() {
            return Ok(typed.to_owned());
        }
        let creds = lock(&self.credentials);
        creds
            .key
            .clone()
            .filter(|_| {
                creds
                    .summary
                    .as_ref()
                    .is_some_and(|c| c.organization_id == org)
            })
            .ok_or_else(|| {
                HostError::new(
                    ErrorCode::InvalidInput,
                    "Paste the API key created in the Coveo Administration Console.",
                )
            })
    }

    /// A client for the form's organization, with short retries (see [`FORM_ATTEMPTS`]).
    fn form_client(&self, org: &str, region: Region, key: &str) -> Result<PushClient, HostError> {
        let retry = coveo_push::RetryPolicy {
            max_attempts: FORM_ATTEMPTS,
            max_elapsed: FORM_CALL_BUDGET,
            ..coveo_push::RetryPolicy::default()
        };
        let mut config = ClientConfig::new(org, ApiKey::new(key))
            .with_endpoint(region_endpoint(region, self.coveo_origin.as_ref()))
            .with_retry(retry);
        config.request_timeout = FORM_CALL_BUDGET;
        PushClient::new(config).map_err(|e| push_error(&e))
    }

    /// The organization's Push sources and identity providers for the pickers, asked with the
    /// key of the form (used for these calls only, never stored here). Sources Pushdeck must
    /// not push into (not Push, catalog, managed by a Coveo product) are left out; so are
    /// providers that cannot take pushed identities (the built-in e-mail provider).
    pub async fn list_catalog(
        &self,
        request: ConnectionRequest,
    ) -> Result<OrganizationCatalog, HostError> {
        let org = Self::form_org(&request)?;
        let key = self.form_key(&org, &request)?;
        let client = self.form_client(&org, request.region, &key)?;
        let forbidden = |e: coveo_push::Error, privilege: &str, what: &str| {
            if matches!(e.kind(), coveo_push::ErrorKind::Forbidden) {
                HostError::new(
                    ErrorCode::Forbidden,
                    format!("The key cannot list the {what}: add the privilege {privilege} to it in the Administration console, or create a new one from here."),
                )
            } else {
                push_error(&e)
            }
        };
        let (sources, providers) =
            tokio::join!(client.list_sources(), client.list_security_providers());
        let sources = sources.map_err(|e| forbidden(e, PRIV_SOURCES_VIEW, "sources"))?;
        let providers = providers
            .map_err(|e| forbidden(e, PRIV_PROVIDERS_VIEW, "security identity providers"))?;
        let mut sources: Vec<NamedRef> = sources
            .into_iter()
            .filter(|s| s.refusal().is_none())
            .map(|s| NamedRef {
                name: if s.name.trim().is_empty() {
                    s.id.clone()
                } else {
                    s.name
                },
                id: s.id,
            })
            .collect();
        sources.sort_by_key(|s| s.name.to_lowercase());
        let mut providers: Vec<NamedRef> = providers
            .into_iter()
            .filter(|p| {
                p.provider_type.is_empty() || p.provider_type.eq_ignore_ascii_case("EXPANDED")
            })
            .map(|p| NamedRef {
                name: p.label().to_owned(),
                id: p.id,
            })
            .collect();
        providers.sort_by_key(|p| p.name.to_lowercase());
        Ok(OrganizationCatalog { sources, providers })
    }

    /// "Test connection": reaches the organization, checks the key, the source, the right to
    /// push items and identities, the provider and the Source Logs, and says in plain words
    /// what works and what the key lacks. Refusals are results (`ok: false`), not errors.
    pub async fn test_connection(
        &self,
        request: ConnectionRequest,
    ) -> Result<ConnectionTest, HostError> {
        let org = Self::form_org(&request)?;
        let key = self.form_key(&org, &request)?;
        let (checks, created_later) = self.run_checks(&org, &key, &request).await?;
        Ok(checks.finish(created_later).0)
    }

    async fn run_checks(
        &self,
        org: &str,
        key: &str,
        request: &ConnectionRequest,
    ) -> Result<(Checks, bool), HostError> {
        let client = self.form_client(org, request.region, key)?;
        let mut c = Checks::default();
        let created_later = matches!(request.source, TargetChoice::Create { .. })
            || matches!(request.provider, TargetChoice::Create { .. });
        let reach = format!(
            "Reach organization {org} ({})",
            region_label(request.region)
        );
        const KEY: &str = "API key accepted";
        const READ: &str = "Read sources";

        // 1. The organization, the key, the list of sources: one call answers all three.
        let listed = match client.list_sources().await {
            Ok(list) => {
                c.reached = true;
                c.ok(&reach, "The organization answered.");
                c.ok(KEY, "Coveo accepted the key.");
                let usable = list.iter().filter(|s| s.refusal().is_none()).count();
                c.ok(READ, format!("The key lists {usable} Push source(s)."));
                Some(list)
            }
            Err(e) => match e.kind() {
                coveo_push::ErrorKind::Unauthorized => {
                    c.reached = true;
                    c.ok(&reach, "The organization answered.");
                    c.fail(KEY, "401 Unauthorized: Coveo refused the API key: it is not a key of this organization, or it was mistyped, expired or disabled. Check the key and the region.", ErrorCode::Unauthorized);
                    return Ok((c, created_later));
                }
                coveo_push::ErrorKind::Forbidden => {
                    c.reached = true;
                    c.ok(&reach, "The organization answered.");
                    c.ok(KEY, "Coveo accepted the key.");
                    c.lacks(READ, PRIV_SOURCES_VIEW);
                    None
                }
                coveo_push::ErrorKind::NotFound { .. } => {
                    c.reached = true;
                    c.fail(&reach, format!("Coveo does not know the organization {org} in the {} region; check the organization id and the region.", region_label(request.region)), ErrorCode::NotFound);
                    return Ok((c, created_later));
                }
                _ => {
                    c.reached = answered(&e);
                    c.fail(&reach, e.explanation(), push_error(&e).code);
                    return Ok((c, created_later));
                }
            },
        };

        // 2. The source: it exists and Pushdeck may push into it; then a harmless status call
        //    proves the key may push items.
        match &request.source {
            TargetChoice::Create { name } => {
                let name = name.trim();
                c.ok(
                    format!("New source \"{name}\""),
                    format!("Created when you connect (the key needs {PRIV_SOURCES_EDIT})."),
                );
            }
            TargetChoice::Existing { id } => {
                let id = id.trim();
                let label = format!("Source {id}");
                let info = match &listed {
                    Some(list) => list.iter().find(|s| s.id == id).cloned().ok_or(None),
                    None => client.get_source(id).await.map_err(Some),
                };
                let usable = match info {
                    Ok(info) => match info.refusal() {
                        Some(reason) => {
                            c.fail(&label, format!("Pushdeck will not push into it: {reason}. Pick a Push source or create one."), ErrorCode::InvalidInput);
                            false
                        }
                        None => {
                            let name = if info.name.is_empty() {
                                id
                            } else {
                                info.name.as_str()
                            };
                            c.ok(&label, format!("\"{name}\" is a Push source."));
                            true
                        }
                    },
                    Err(None) => {
                        c.fail(&label, format!("There is no source {id} in organization {org}; pick one from the list or create a new one."), ErrorCode::NotFound);
                        false
                    }
                    Err(Some(e)) if matches!(e.kind(), coveo_push::ErrorKind::NotFound { .. }) => {
                        c.fail(&label, format!("There is no source {id} in organization {org}; pick one from the list or create a new one."), ErrorCode::NotFound);
                        false
                    }
                    Err(Some(e)) => {
                        c.failed(&label, &e, PRIV_SOURCES_VIEW);
                        // The source may exist; the push check below still tells.
                        true
                    }
                };
                if usable {
                    const PUSH: &str = "Push items";
                    match client
                        .set_source_status(id, coveo_push::SourceStatus::Idle)
                        .await
                    {
                        Ok(()) => c.ok(PUSH, "Allowed."),
                        Err(e) => c.failed(PUSH, &e, PRIV_SOURCES_EDIT),
                    }
                }
            }
        }

        // 3. The provider: it exists; then deleting an identity that never existed proves the
        //    key may push identities without changing any.
        match &request.provider {
            TargetChoice::Create { name } => {
                let name = name.trim();
                c.ok(
                    format!("New security identity provider \"{name}\""),
                    format!("Created when you connect, for the source (the key needs {PRIV_PROVIDERS_EDIT})."),
                );
            }
            TargetChoice::Existing { id } => {
                let id = id.trim();
                let label = format!("Security identity provider {id}");
                let exists = match client.get_security_provider(id).await {
                    Ok(p) => {
                        c.ok(&label, format!("\"{}\" exists.", p.label()));
                        true
                    }
                    Err(e) if matches!(e.kind(), coveo_push::ErrorKind::NotFound { .. }) => {
                        c.fail(&label, format!("There is no security identity provider {id} in organization {org}; pick one from the list or create a new one."), ErrorCode::NotFound);
                        false
                    }
                    Err(e) => {
                        c.failed(&label, &e, PRIV_PROVIDERS_VIEW);
                        true
                    }
                };
                if exists {
                    const PUSH: &str = "Push security identities";
                    let probe =
                        coveo_push::Identity::new(PROBE_IDENTITY, coveo_push::IdentityType::User);
                    match client.delete_identity(id, &probe, None).await {
                        Ok(()) => c.ok(PUSH, "Allowed."),
                        Err(e) => c.failed(PUSH, &e, PRIV_PROVIDERS_EDIT),
                    }
                }
            }
        }

        // 4. The Source Logs, which tell whether pushed items were indexed or rejected.
        const LOGS: &str = "Read the Source Logs";
        let to = time::OffsetDateTime::now_utc();
        let mut query = coveo_push::LogQuery::source("", to - PROBE_LOG_WINDOW, to);
        query.sources = match &request.source {
            TargetChoice::Existing { id } => vec![id.trim().to_owned()],
            TargetChoice::Create { .. } => Vec::new(),
        };
        match client.source_logs_page(&query, 0, 1).await {
            Ok(_) => c.ok(
                LOGS,
                "Allowed: Pushdeck can tell which items were indexed or rejected.",
            ),
            Err(e) => c.failed(LOGS, &e, PRIV_LOGS_VIEW),
        }
        Ok((c, created_later))
    }

    /// Connects the organization: checks the key (a refusal from Coveo stops here, nothing is
    /// stored), creates the source and provider the form asks to create, stores the key
    /// (keyring or this run only) and makes the organization the target of new folders. The
    /// key is never returned. When Coveo cannot be reached, existing ids are accepted
    /// unchecked (the folders say so when they sync), but nothing can be created.
    pub async fn connect(&self, request: ConnectionRequest) -> Result<AppState, HostError> {
        let org = Self::form_org(&request)?;
        for (choice, what) in [
            (&request.source, "source"),
            (&request.provider, "security identity provider"),
        ] {
            match choice {
                TargetChoice::Existing { id } if id.trim().is_empty() => {
                    return Err(HostError::new(
                        ErrorCode::InvalidInput,
                        format!("pick a {what}"),
                    ));
                }
                TargetChoice::Create { name } if name.trim().is_empty() => {
                    return Err(HostError::new(
                        ErrorCode::InvalidInput,
                        format!("give the new {what} a name"),
                    ));
                }
                _ => {}
            }
        }
        let key = self.form_key(&org, &request)?;
        if request.key_storage == KeyStorage::Keyring && !self.keyring_available {
            return Err(HostError::new(
                ErrorCode::KeyringUnavailable,
                "No keyring is available on this computer, so the key cannot be stored. You can keep it for this run only: you will type it again next time.",
            ));
        }

        let (checks, created_later) = self.run_checks(&org, &key, &request).await?;
        let reached = checks.reached;
        let (_, refusal) = checks.finish(created_later);
        if let Some(refusal) = refusal {
            return Err(refusal);
        }
        if !reached {
            if created_later {
                return Err(HostError::new(
                    ErrorCode::Network,
                    "Pushdeck could not reach Coveo, so the new source or provider cannot be created now; check the network connection and the region, then connect again.",
                ));
            }
            tracing::warn!("connecting {org} without checking the key: Coveo could not be reached");
        }

        let client = self.form_client(&org, request.region, &key)?;
        let source_id = match &request.source {
            TargetChoice::Existing { id } => id.trim().to_owned(),
            TargetChoice::Create { name } => {
                client
                    .create_push_source(name.trim(), coveo_push::SourceVisibility::Secured)
                    .await
                    .map_err(|e| push_error(&e))?
                    .id
            }
        };
        let provider_id = match &request.provider {
            TargetChoice::Existing { id } => {
                let id = id.trim().to_owned();
                if matches!(request.source, TargetChoice::Create { .. }) {
                    // The new source's item permissions are resolved by this provider.
                    client
                        .attach_security_provider(&id, &source_id)
                        .await
                        .map_err(|e| {
                            let mut err = push_error(&e);
                            err.message = format!("{} The new source was created (id {source_id}) but is not attached to the provider {id}: attach it in the Administration console, or pick the source next time instead of creating another.", err.message);
                            err
                        })?;
                }
                id
            }
            TargetChoice::Create { name } => {
                let name = name.trim().to_owned();
                client
                    .create_security_provider(&name, &source_id)
                    .await
                    .map_err(|e| {
                        let mut err = push_error(&e);
                        if matches!(request.source, TargetChoice::Create { .. }) {
                            err.message = format!("{} The new source was created (id {source_id}): pick it from the list next time instead of creating another.", err.message);
                        }
                        err
                    })?;
                name
            }
        };
        if request.key_storage == KeyStorage::Keyring {
            keyring_store(org.clone(), key.clone()).await?;
        }
        let summary = ConnectionSummary {
            organization_id: org.clone(),
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
            // Connecting is a deliberate first step: the welcome has done its job.
            s.welcome_dismissed = true;
            self.save_settings(&s)?;
        }
        self.log_activity(
            ActivityKind::Info,
            None,
            format!("Connected to organization {org}"),
            0,
        );
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
