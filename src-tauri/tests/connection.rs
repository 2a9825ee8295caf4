//! Connecting a "real" organization: a push-emulator stands in for Coveo through the origin
//! override ([`COVEO_ORIGIN_ENV`]), the host runs over temporary folders, and the key goes to
//! the keyring when one answers (run with `scripts/lib/with-keyring.sh cargo test ...`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use push_emulator::{Emulator, EmulatorConfig, OrgConfig};
use pushdeck_app::dto::*;
use pushdeck_app::host::{Host, HostOptions, HostPaths, COVEO_ORIGIN_ENV};
use serde_json::Value;

const ORG: &str = "acmeproduction1x2y3z";
const SOURCE: &str = "acme-documents";
const PROVIDER: &str = "acme-identities";
/// How long a folder may take to reach the emulator on a loaded 2-core machine.
const SYNC_TIMEOUT: Duration = Duration::from_secs(60);

/// The origin override is read once when a host starts; tests start hosts one at a time.
static ENV_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Fixture {
    dirs: tempfile::TempDir,
    paths: HostPaths,
    emu: Emulator,
    key: String,
}

impl Fixture {
    async fn new() -> Self {
        let dirs = tempfile::tempdir().unwrap();
        let paths = HostPaths {
            config_dir: dirs.path().join("config"),
            data_dir: dirs.path().join("data"),
        };
        // A key unique to this test, so finding it in a file can only mean it leaked there.
        let key = format!("xx-acme-{}", uuid::Uuid::new_v4().simple());
        let emu = Emulator::start(EmulatorConfig {
            api_key: key.clone(),
            organizations: vec![OrgConfig::new(ORG, SOURCE, PROVIDER)],
            ..EmulatorConfig::default()
        })
        .await
        .unwrap();
        Self {
            dirs,
            paths,
            emu,
            key,
        }
    }

    /// A host whose organization calls go to the emulator.
    async fn host(&self) -> Arc<Host> {
        Host::start_with(
            self.paths.clone(),
            Arc::new(|_| {}),
            HostOptions {
                coveo_origin: Some(self.emu.url().to_owned()),
            },
        )
        .await
        .unwrap()
    }

    fn request(
        &self,
        key: &str,
        source: TargetChoice,
        provider: TargetChoice,
    ) -> ConnectionRequest {
        ConnectionRequest {
            organization_id: ORG.into(),
            region: Region::Eu,
            source,
            provider,
            api_key: key.into(),
            key_storage: KeyStorage::ThisRunOnly,
        }
    }

    fn existing(&self, key: &str) -> ConnectionRequest {
        self.request(
            key,
            TargetChoice::Existing { id: SOURCE.into() },
            TargetChoice::Existing {
                id: PROVIDER.into(),
            },
        )
    }

    /// Registers a second key with only some privileges (push-emulator's `/_emulator/v1/keys`).
    async fn restricted_key(&self, items: bool, identities: bool, platform: bool) -> String {
        let key = format!("xx-restricted-{}", uuid::Uuid::new_v4().simple());
        let resp = reqwest::Client::new()
            .post(format!("{}/_emulator/v1/keys", self.emu.url()))
            .json(&serde_json::json!({
                "key": key, "items": items, "identities": identities, "platform": platform
            }))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
        key
    }

    /// A Platform API GET on the emulator, with the organization's key.
    async fn platform(&self, path: &str) -> Value {
        let resp = reqwest::Client::new()
            .get(format!(
                "{}/rest/organizations/{ORG}/{path}",
                self.emu.url()
            ))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    /// Every file the app wrote (config, state, Sandbox), as bytes.
    fn written_files(&self) -> Vec<(std::path::PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![self.dirs.path().to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    out.push((path, bytes));
                }
            }
        }
        out
    }

    /// `expected` files must exist (so the search cannot pass by finding nothing).
    fn assert_key_in_no_file(&self, key: &str, expected: &[&str]) {
        let files = self.written_files();
        let names: Vec<String> = files
            .iter()
            .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for expected in expected {
            assert!(
                names.iter().any(|n| n == expected),
                "no {expected} in {names:?}"
            );
        }
        for (path, bytes) in files {
            assert!(
                !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
                "the API key was written to {}",
                path.display()
            );
        }
    }
}

fn check<'a>(test: &'a ConnectionTest, label: &str) -> &'a ConnectionCheck {
    test.checks
        .iter()
        .find(|c| c.label.starts_with(label))
        .unwrap_or_else(|| panic!("no check {label:?} in {:#?}", test.checks))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_lists_push_sources_and_identity_providers_only() {
    let fx = Fixture::new().await;
    // A catalog source: Pushdeck must not offer it.
    let resp = reqwest::Client::new()
        .post(format!("{}/rest/organizations/{ORG}/sources", fx.emu.url()))
        .bearer_auth(&fx.key)
        .json(&serde_json::json!({
            "sourceType": "CATALOG", "streamEnabled": true, "pushEnabled": true,
            "name": "Products", "sourceVisibility": "SHARED"
        }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let host = fx.host().await;

    let catalog = host.list_catalog(fx.existing(&fx.key)).await.unwrap();
    let sources: Vec<&str> = catalog.sources.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(sources, vec![SOURCE]);
    let providers: Vec<&str> = catalog.providers.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(providers, vec![PROVIDER], "the e-mail provider is left out");

    // A wrong key: the plain-words error, not a list.
    let err = host
        .list_catalog(fx.existing("xx-not-this-org-key"))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Unauthorized);
    assert!(err.message.contains("API key"), "{}", err.message);
    // A key that cannot read sources says which privilege to add.
    let limited = fx.restricted_key(true, true, false).await;
    let err = host.list_catalog(fx.existing(&limited)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Forbidden);
    assert!(
        err.message.contains("Content › Sources: View"),
        "{}",
        err.message
    );
    // An empty form field.
    let mut empty = fx.existing("");
    assert_eq!(
        host.list_catalog(empty.clone()).await.unwrap_err().code,
        ErrorCode::InvalidInput
    );
    empty.api_key = fx.key.clone();
    empty.organization_id = " ".into();
    assert_eq!(
        host.list_catalog(empty).await.unwrap_err().code,
        ErrorCode::InvalidInput
    );
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_connection_says_everything_works_with_a_full_key() {
    let fx = Fixture::new().await;
    let host = fx.host().await;
    let test = host.test_connection(fx.existing(&fx.key)).await.unwrap();
    assert!(test.ok, "{test:#?}");
    assert!(
        test.summary.starts_with("Everything works"),
        "{}",
        test.summary
    );
    let labels: Vec<String> = test.checks.iter().map(|c| c.label.clone()).collect();
    let expected = [
        format!("Reach organization {ORG} (EU)"),
        "API key accepted".into(),
        "Read sources".into(),
        format!("Source {SOURCE}"),
        "Push items".into(),
        format!("Security identity provider {PROVIDER}"),
        "Push security identities".into(),
        "Read the Source Logs".into(),
    ];
    assert_eq!(labels, expected);
    assert!(check(&test, "Read sources")
        .detail
        .contains("1 Push source"));
    // The push check set the source's status (a harmless IDLE) through the Push API.
    let source = fx.platform(&format!("sources/{SOURCE}")).await;
    assert_eq!(
        source["information"]["sourceStatus"]["type"], "IDLE",
        "{source}"
    );
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_connection_says_the_key_was_refused() {
    let fx = Fixture::new().await;
    let host = fx.host().await;
    let test = host
        .test_connection(fx.existing("xx-mistyped-key-0000"))
        .await
        .unwrap();
    assert!(!test.ok);
    assert!(check(&test, "Reach organization").ok);
    let key = check(&test, "API key accepted");
    assert!(!key.ok);
    assert!(key.detail.starts_with("401"), "{}", key.detail);
    assert!(
        test.summary.contains("refused the API key"),
        "{}",
        test.summary
    );
    // Nothing else was tried with a refused key.
    assert_eq!(test.checks.len(), 2);

    // An organization the service does not know.
    let mut other = fx.existing(&fx.key);
    other.organization_id = "nosuchorg".into();
    let test = host.test_connection(other).await.unwrap();
    assert!(!test.ok);
    let reach = check(&test, "Reach organization nosuchorg");
    assert!(!reach.ok && reach.detail.contains("organization id and the region"));
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_connection_names_the_privileges_a_restricted_key_lacks() {
    let fx = Fixture::new().await;
    let host = fx.host().await;

    // Can push items and read sources, but not identities.
    let no_identities = fx.restricted_key(true, false, true).await;
    let test = host
        .test_connection(fx.existing(&no_identities))
        .await
        .unwrap();
    assert!(!test.ok);
    assert!(check(&test, "Push items").ok);
    assert!(check(&test, "Read the Source Logs").ok);
    let identities = check(&test, "Push security identities");
    assert!(!identities.ok);
    assert!(
        identities.detail.starts_with("403"),
        "{}",
        identities.detail
    );
    assert!(identities
        .detail
        .contains("Content › Security identity providers: Edit"));
    assert!(
        test.summary
            .contains("lacks a privilege: add Content › Security identity providers: Edit"),
        "{}",
        test.summary
    );
    assert!(test.summary.contains("Administration console"));

    // Can read sources and push identities, but not items (nor read the logs).
    let no_items = fx.restricted_key(false, true, true).await;
    let test = host.test_connection(fx.existing(&no_items)).await.unwrap();
    assert!(!test.ok);
    assert!(check(&test, "Push security identities").ok);
    assert!(!check(&test, "Push items").ok);
    assert!(check(&test, "Push items")
        .detail
        .contains("Content › Sources: Edit"));
    assert!(!check(&test, "Read the Source Logs").ok);
    assert!(
        test.summary
            .contains("Content › Sources: Edit and Content › Logs: View"),
        "{}",
        test.summary
    );

    // connect refuses what the test refuses, and stores nothing.
    let err = host.connect(fx.existing(&no_items)).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Forbidden);
    assert!(err.message.contains("Content › Sources: Edit"));
    let state = host.get_app_state().await.unwrap();
    assert_eq!(state.mode, ConnectionMode::Sandbox);
    assert!(state.connection.is_none());
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_connection_says_a_source_or_provider_is_missing() {
    let fx = Fixture::new().await;
    let host = fx.host().await;
    let request = fx.request(
        &fx.key,
        TargetChoice::Existing { id: "nope".into() },
        TargetChoice::Existing {
            id: "no-provider".into(),
        },
    );
    let test = host.test_connection(request.clone()).await.unwrap();
    assert!(!test.ok);
    let source = check(&test, "Source nope");
    assert!(!source.ok);
    assert!(source.detail.contains("There is no source nope"));
    assert!(!check(&test, "Security identity provider no-provider").ok);
    assert!(
        test.summary.starts_with("There is no source nope"),
        "{}",
        test.summary
    );
    // No push was tried into a source that does not exist.
    assert!(test.checks.iter().all(|c| c.label != "Push items"));

    let err = host.connect(request).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_creates_the_source_and_provider_and_keeps_the_key_in_the_keyring_only() {
    let fx = Fixture::new().await;
    let host = fx.host().await;
    let keyring = host.get_app_state().await.unwrap().keyring_available;
    if std::env::var_os("PUSHDECK_TEST_KEYRING").is_some() {
        assert!(keyring, "the test keyring session did not answer");
    }
    let mut request = fx.request(
        &fx.key,
        TargetChoice::Create {
            name: "Pushdeck documents".into(),
        },
        TargetChoice::Create {
            name: "Pushdeck identities".into(),
        },
    );
    request.key_storage = if keyring {
        KeyStorage::Keyring
    } else {
        KeyStorage::ThisRunOnly
    };

    let test = host.test_connection(request.clone()).await.unwrap();
    assert!(test.ok, "{test:#?}");
    assert!(test.summary.contains("created when you connect"));

    let state = host.connect(request).await.unwrap();
    assert_eq!(state.mode, ConnectionMode::Organization);
    let conn = state.connection.clone().unwrap();
    assert_eq!(conn.organization_id, ORG);
    assert_eq!(conn.provider_id, "Pushdeck identities");
    let wire = serde_json::to_string(&state).unwrap();
    assert!(!wire.contains(&fx.key), "the key came back in {wire}");
    assert!(!state.first_launch, "connecting ends the welcome");
    let activity = host
        .list_activity(ActivityQuery {
            after_id: None,
            before_id: None,
            limit: 50,
        })
        .await
        .unwrap();
    assert!(
        activity
            .iter()
            .any(|e| e.message == format!("Connected to organization {ORG}")),
        "{activity:?}"
    );

    // The emulator has both, the provider attached to the new source.
    let sources = fx.platform("sources").await;
    let created = sources
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Pushdeck documents")
        .unwrap_or_else(|| panic!("no new source in {sources}"));
    assert_eq!(created["id"], conn.source_id.as_str());
    assert_eq!(created["sourceType"], "PUSH");
    let provider = fx.platform("securityproviders/Pushdeck%20identities").await;
    assert_eq!(provider["type"], "EXPANDED");
    assert_eq!(provider["referencedBy"][0]["id"], conn.source_id.as_str());

    // The new source now shows in the catalog, and the stored key is re-tested with an
    // empty key field.
    let mut again = fx.existing("");
    again.source = TargetChoice::Existing {
        id: conn.source_id.clone(),
    };
    again.provider = TargetChoice::Existing {
        id: conn.provider_id.clone(),
    };
    let catalog = host.list_catalog(again.clone()).await.unwrap();
    assert!(catalog.sources.iter().any(|s| s.id == conn.source_id));
    assert!(catalog
        .providers
        .iter()
        .any(|p| p.id == "Pushdeck identities"));
    assert!(host.test_connection(again).await.unwrap().ok);

    if keyring {
        assert!(host.stored_key_matches(ORG, &fx.key).await.unwrap());
    }
    host.shutdown().await;
    fx.assert_key_in_no_file(&fx.key, &["app.json", "state.sqlite3"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_source_is_attached_to_the_existing_provider_picked() {
    let fx = Fixture::new().await;
    let host = fx.host().await;
    let request = fx.request(
        &fx.key,
        TargetChoice::Create {
            name: "Pushdeck documents".into(),
        },
        TargetChoice::Existing {
            id: PROVIDER.into(),
        },
    );
    let conn = host.connect(request).await.unwrap().connection.unwrap();
    assert_eq!(conn.provider_id, PROVIDER);
    assert_ne!(conn.source_id, SOURCE);
    let source = fx.platform(&format!("sources/{}", conn.source_id)).await;
    assert_eq!(source["name"], "Pushdeck documents");
    assert_eq!(source["securityProviders"], serde_json::json!([PROVIDER]));
    let provider = fx.platform(&format!("securityproviders/{PROVIDER}")).await;
    let refs: Vec<&str> = provider["referencedBy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(
        refs.contains(&SOURCE) && refs.contains(&conn.source_id.as_str()),
        "{refs:?}"
    );
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connected_folder_syncs_to_the_organization_through_the_origin_override() {
    let fx = Fixture::new().await;
    let host = fx.host().await;
    host.connect(fx.existing(&fx.key)).await.unwrap();
    let docs = tempfile::tempdir().unwrap();
    std::fs::write(docs.path().join("leave.txt"), "Leave policy: 25 days.").unwrap();
    let added = host
        .add_folder(AddFolderRequest {
            path: docs.path().display().to_string(),
            name: "Policies".into(),
            source_id: String::new(),
            include: vec![],
            exclude: vec![],
        })
        .await
        .unwrap();
    assert_eq!(added.source_id, SOURCE);
    let plan = host
        .plan_folder(FolderRef {
            folder_id: added.id.clone(),
        })
        .await
        .unwrap();
    host.confirm_plan(ConfirmPlanRequest {
        folder_id: added.id.clone(),
        plan_id: plan.plan_id,
    })
    .await
    .unwrap();
    let start = Instant::now();
    loop {
        fx.emu.drain().await;
        let items: Value = reqwest::get(format!(
            "{}/_emulator/v1/organizations/{ORG}/sources/{SOURCE}/items",
            fx.emu.url()
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        if items["items"].as_array().is_some_and(|a| a.len() == 1) {
            break;
        }
        assert!(
            start.elapsed() < SYNC_TIMEOUT,
            "nothing reached the organization: {items}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    host.shutdown().await;
    fx.assert_key_in_no_file(&fx.key, &["app.json", "config.toml", "state.sqlite3"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_origin_override_stops_the_start_with_a_clear_message() {
    let dirs = tempfile::tempdir().unwrap();
    let paths = HostPaths {
        config_dir: dirs.path().join("config"),
        data_dir: dirs.path().join("data"),
    };
    let _env = ENV_LOCK.lock().await;
    std::env::set_var(COVEO_ORIGIN_ENV, "http://127.0.0.1:9/with/a/path");
    let started = Host::start(paths, Arc::new(|_| {})).await;
    std::env::remove_var(COVEO_ORIGIN_ENV);
    let err = started.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(err.message.contains(COVEO_ORIGIN_ENV), "{}", err.message);
}
