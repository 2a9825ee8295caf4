//! The command bodies as plain functions: a real [`Host`] (the embedded Sandbox emulator on a
//! loopback socket, the sync engine with its SQLite state) over temporary folders, no Tauri.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pushdeck_app::dto::*;
use pushdeck_app::host::{Host, HostOptions, HostPaths};

/// How long a folder may take to reach Up to date on a loaded 2-core machine.
const SYNC_TIMEOUT: Duration = Duration::from_secs(60);

struct Fixture {
    _dirs: tempfile::TempDir,
    paths: HostPaths,
    events: Arc<Mutex<Vec<HostEvent>>>,
}

impl Fixture {
    fn new() -> Self {
        let dirs = tempfile::tempdir().unwrap();
        let paths = HostPaths {
            config_dir: dirs.path().join("config"),
            data_dir: dirs.path().join("data"),
        };
        Self {
            _dirs: dirs,
            paths,
            events: Arc::default(),
        }
    }

    /// A Push API client for the app's Sandbox, from what it announces in `sandbox.json`.
    fn sandbox_client(&self) -> coveo_push::PushClient {
        use coveo_push::{ApiKey, ClientConfig, Endpoint};
        let announce: serde_json::Value = serde_json::from_slice(
            &std::fs::read(self.paths.data_dir.join("sandbox/sandbox.json")).unwrap(),
        )
        .unwrap();
        let key = ApiKey::new(announce["api_key"].as_str().unwrap());
        let origin = Endpoint::custom(announce["url"].as_str().unwrap()).unwrap();
        coveo_push::PushClient::new(ClientConfig::new("sandbox", key).with_endpoint(origin))
            .unwrap()
    }

    async fn host(&self) -> Arc<Host> {
        self.host_with(HostOptions::default()).await
    }

    async fn host_with(&self, options: HostOptions) -> Arc<Host> {
        let events = self.events.clone();
        Host::start_with(
            self.paths.clone(),
            Arc::new(move |e| events.lock().unwrap().push(e)),
            options,
        )
        .await
        .unwrap()
    }
}

fn folder_with_files(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

async fn wait_up_to_date(host: &Host, id: &str) -> FolderSummary {
    let start = Instant::now();
    loop {
        let folders = host.list_folders().await.unwrap();
        let folder = folders.into_iter().find(|f| f.id == id).unwrap();
        if matches!(folder.state, FolderState::UpToDate { .. }) && folder.item_count > 0 {
            return folder;
        }
        assert!(
            start.elapsed() < SYNC_TIMEOUT,
            "folder {id} did not reach Up to date: {:?}",
            folder.state
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_launch_is_sandbox_and_welcome_is_remembered() {
    let fx = Fixture::new();
    let host = fx.host().await;
    let state = host.get_app_state().await.unwrap();
    assert_eq!(state.mode, ConnectionMode::Sandbox);
    assert!(state.first_launch);
    assert!(state.connection.is_none());
    assert!(!host.dismiss_welcome().await.unwrap().first_launch);
    host.shutdown().await;

    let again = fx.host().await;
    assert!(!again.get_app_state().await.unwrap().first_launch);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_waits_for_its_plan_then_syncs_into_the_sandbox() {
    let fx = Fixture::new();
    let host = fx.host().await;
    let docs = folder_with_files(&[
        ("leave.txt", "Leave policy: 25 days."),
        ("handbook/travel.md", "# Travel\nBook trains."),
        ("notes.tmp", "scratch"),
    ]);

    let added = host
        .add_folder(AddFolderRequest {
            path: docs.path().display().to_string(),
            name: "Policies".into(),
            source_id: String::new(),
            include: vec![],
            exclude: vec!["*.tmp".into()],
        })
        .await
        .unwrap();
    assert!(added.awaiting_first_sync);
    assert_eq!(added.source_id, "documents");
    assert!(matches!(added.state, FolderState::Paused { .. }));
    assert_eq!(added.exclude, vec!["*.tmp".to_string()]);

    // Nothing is sent before the plan is confirmed.
    let plan = host
        .plan_folder(FolderRef {
            folder_id: "Policies".into(),
        })
        .await
        .unwrap();
    assert_eq!((plan.added, plan.deleted), (2, 0));
    assert!(plan.sample.is_some());
    host.drain_sandbox().await;
    let empty = host
        .list_sandbox_items(SandboxQuery {
            offset: 0,
            limit: 10,
            text: String::new(),
            as_user: None,
        })
        .await
        .unwrap();
    assert_eq!(empty.total, 0);

    let stale = host
        .confirm_plan(ConfirmPlanRequest {
            folder_id: "Policies".into(),
            plan_id: "not-the-plan".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code, ErrorCode::Conflict);

    host.confirm_plan(ConfirmPlanRequest {
        folder_id: "Policies".into(),
        plan_id: plan.plan_id,
    })
    .await
    .unwrap();
    let folder = wait_up_to_date(&host, "Policies").await;
    assert!(!folder.awaiting_first_sync);
    assert_eq!(folder.item_count, 2);

    host.drain_sandbox().await;
    let page = host
        .list_sandbox_items(SandboxQuery {
            offset: 0,
            limit: 10,
            text: "trains".into(),
            as_user: None,
        })
        .await
        .unwrap();
    assert_eq!(page.total, 1, "{page:?}");
    let detail = host
        .get_sandbox_item(DocumentRef {
            document_id: page.items[0].document_id.clone(),
        })
        .await
        .unwrap();
    assert!(detail.content.contains("Book trains."));

    // The UI heard about it.
    let events = fx.events.lock().unwrap().clone();
    assert!(events
        .iter()
        .any(|e| matches!(e, HostEvent::Folder { folder } if folder.id == "Policies")));
    assert!(events
        .iter()
        .any(|e| matches!(e, HostEvent::Items { pushed, .. } if *pushed > 0)));

    // The activity log has one line for the run's accepted items, with their count (the
    // events are forwarded by a task: give it a moment).
    let start = Instant::now();
    loop {
        let activity = host
            .list_activity(ActivityQuery {
                after_id: None,
                before_id: None,
                limit: 100,
            })
            .await
            .unwrap();
        if activity
            .iter()
            .any(|e| e.kind == ActivityKind::Pushed && e.count == 2)
        {
            break;
        }
        assert!(start.elapsed() < SYNC_TIMEOUT, "{activity:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The mapping survives a restart (engine config in the app's config folder).
    host.shutdown().await;
    let again = fx.host().await;
    let folders = again.list_folders().await.unwrap();
    assert_eq!(folders.len(), 1);
    assert!(!folders[0].awaiting_first_sync);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pattern_preview_counts_what_the_filters_keep() {
    let fx = Fixture::new();
    let host = fx.host().await;
    let docs = folder_with_files(&[
        ("a.md", "a"),
        ("b.md", "b"),
        ("c.tmp", "c"),
        ("d/e.md", "e"),
    ]);
    let preview = host
        .preview_patterns(PatternRequest {
            path: docs.path().display().to_string(),
            include: vec!["*.md".into()],
            exclude: vec!["d/".into()],
            limit: 1,
        })
        .await
        .unwrap();
    assert_eq!(preview.total_count, 4);
    assert_eq!(preview.matched_count, 2);
    assert_eq!(preview.excluded_count, 2);
    assert_eq!(preview.matched.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_cross_as_code_and_message() {
    let fx = Fixture::new();
    let host = fx.host().await;
    let err = host
        .add_folder(AddFolderRequest {
            path: "/definitely/not/here".into(),
            name: String::new(),
            source_id: String::new(),
            include: vec![],
            exclude: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    let wire = serde_json::to_value(&err).unwrap();
    assert_eq!(wire["code"], "invalidInput");
    assert!(wire["message"]
        .as_str()
        .unwrap()
        .contains("/definitely/not/here"));
    assert_eq!(wire.as_object().unwrap().len(), 2);

    let unknown = host
        .folder_action(FolderActionRequest {
            folder_id: "nope".into(),
            action: FolderAction::Pause,
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code, ErrorCode::NotFound);

    let missing = host
        .get_sandbox_item(DocumentRef {
            document_id: "file:///nothing".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code, ErrorCode::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_keeps_the_key_out_of_every_answer() {
    let fx = Fixture::new();
    // An organization that cannot be reached (a closed local port, whatever the network):
    // connect keeps the existing ids unchecked, as it does offline; tests/connection.rs
    // covers a reachable one.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let host = fx
        .host_with(HostOptions {
            coveo_origin: Some(origin),
        })
        .await;
    let keyring = host.get_app_state().await.unwrap().keyring_available;
    // scripts/lib/with-keyring.sh runs the tests with a real, unlocked gnome-keyring.
    if std::env::var_os("PUSHDECK_TEST_KEYRING").is_some() {
        assert!(keyring, "the test keyring session did not answer");
    }
    let org = format!("pushdeck-test-{}", std::process::id());
    let request = |key: &str, storage| ConnectionRequest {
        organization_id: org.clone(),
        region: Region::Eu,
        source: TargetChoice::Existing { id: "src".into() },
        provider: TargetChoice::Existing { id: "prov".into() },
        api_key: key.into(),
        key_storage: storage,
    };

    let stored = host
        .connect(request("xx-first-key", KeyStorage::Keyring))
        .await;
    if keyring {
        let state = stored.unwrap();
        assert_eq!(state.mode, ConnectionMode::Organization);
        assert!(host.stored_key_matches(&org, "xx-first-key").await.unwrap());
        // Replacing the key.
        host.connect(request("xx-second-key", KeyStorage::Keyring))
            .await
            .unwrap();
        assert!(host
            .stored_key_matches(&org, "xx-second-key")
            .await
            .unwrap());
    } else {
        assert_eq!(stored.unwrap_err().code, ErrorCode::KeyringUnavailable);
    }

    let state = host
        .connect(request("xx-run-only-key", KeyStorage::ThisRunOnly))
        .await
        .unwrap();
    let wire = serde_json::to_string(&state).unwrap();
    assert!(!wire.contains("xx-"), "the key leaked into {wire}");
    assert_eq!(
        state.connection.unwrap().key_storage,
        KeyStorage::ThisRunOnly
    );
    let settings = std::fs::read_to_string(fx.paths.config_dir.join("app.json")).unwrap();
    assert!(!settings.contains("xx-"), "the key was written to app.json");

    // Back to the Sandbox.
    assert_eq!(
        host.use_sandbox().await.unwrap().mode,
        ConnectionMode::Sandbox
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_rule_gives_the_model_the_sandbox_receives() {
    let fx = Fixture::new();
    let host = fx.host().await;
    let docs = folder_with_files(&[("HR/leave.txt", "Leave"), ("open.txt", "Open")]);
    host.add_folder(AddFolderRequest {
        path: docs.path().display().to_string(),
        name: "Docs".into(),
        source_id: String::new(),
        include: vec![],
        exclude: vec![],
    })
    .await
    .unwrap();
    let folder = || FolderRef {
        folder_id: "Docs".into(),
    };
    let rules = host.list_rules(folder()).await.unwrap();
    let paths: Vec<&str> = rules.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, vec!["", "HR"]);
    assert!(rules.iter().all(|r| r.rule.is_none()));

    let hr = IdentityRef {
        name: "HR".into(),
        kind: IdentityKind::Group,
    };
    host.save_rule(RuleChangeRequest {
        folder_id: "Docs".into(),
        path: "HR".into(),
        rule: Some(FolderRule::Only {
            identities: vec![hr.clone()],
        }),
        mode: RuleMode::Replace,
    })
    .await
    .unwrap();
    let rules = host.list_rules(folder()).await.unwrap();
    assert_eq!(
        rules.iter().find(|r| r.path == "HR").unwrap().rule,
        Some(FolderRule::Only {
            identities: vec![hr.clone()]
        })
    );
    let model = host
        .permission_model(FileRef {
            folder_id: "Docs".into(),
            path: "HR/leave.txt".into(),
        })
        .await
        .unwrap();
    assert_eq!(model.levels.len(), 1);
    assert_eq!(model.levels[0].sets[0].allowed, vec![hr.clone()]);
    let open = host
        .permission_model(FileRef {
            folder_id: "Docs".into(),
            path: "open.txt".into(),
        })
        .await
        .unwrap();
    assert!(open.levels.is_empty());

    let plan = host.plan_folder(folder()).await.unwrap();
    host.confirm_plan(ConfirmPlanRequest {
        folder_id: "Docs".into(),
        plan_id: plan.plan_id,
    })
    .await
    .unwrap();
    wait_up_to_date(&host, "Docs").await;
    host.drain_sandbox().await;
    let page = host
        .list_sandbox_items(SandboxQuery {
            offset: 0,
            limit: 10,
            text: "leave".into(),
            as_user: None,
        })
        .await
        .unwrap();
    let detail = host
        .get_sandbox_item(DocumentRef {
            document_id: page.items[0].document_id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(
        detail.permissions, model,
        "the Sandbox got another model than the preview"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identities_are_read_from_the_sandbox_provider() {
    use coveo_push::{Identity, IdentityBody, IdentityType};
    let fx = Fixture::new();
    let host = fx.host().await;
    assert!(host.list_identities().await.unwrap().is_empty());

    let client = fx.sandbox_client();
    let body = IdentityBody::new(Identity::new("HR", IdentityType::Group))
        .members(vec![Identity::new("ana@example.com", IdentityType::User)]);
    client.put_identity("sandbox", &body, None).await.unwrap();
    host.drain_sandbox().await;

    let identities = host.list_identities().await.unwrap();
    assert_eq!(identities.len(), 1, "{identities:?}");
    assert_eq!(identities[0].name, "HR");
    assert_eq!(identities[0].kind, IdentityKind::Group);
    assert_eq!(
        identities[0].members,
        vec![IdentityRef {
            name: "ana@example.com".into(),
            kind: IdentityKind::User
        }]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn view_as_and_who_can_see_follow_the_rule_and_the_sandbox_groups() {
    use coveo_push::{Identity, IdentityBody, IdentityType};
    let fx = Fixture::new();
    let host = fx.host().await;
    let docs = folder_with_files(&[("HR/leave.txt", "Leave"), ("open.txt", "Open")]);
    host.add_folder(AddFolderRequest {
        path: docs.path().display().to_string(),
        name: "Docs".into(),
        source_id: String::new(),
        include: vec![],
        exclude: vec![],
    })
    .await
    .unwrap();
    host.save_rule(RuleChangeRequest {
        folder_id: "Docs".into(),
        path: "HR".into(),
        rule: Some(FolderRule::Only {
            identities: vec![IdentityRef {
                name: "HR".into(),
                kind: IdentityKind::Group,
            }],
        }),
        mode: RuleMode::Replace,
    })
    .await
    .unwrap();
    let client = fx.sandbox_client();
    let hr = IdentityBody::new(Identity::new("HR", IdentityType::Group))
        .members(vec![Identity::new("ana@example.com", IdentityType::User)]);
    client.put_identity("sandbox", &hr, None).await.unwrap();
    let sales = IdentityBody::new(Identity::new("Sales", IdentityType::Group))
        .members(vec![Identity::new("bob@example.com", IdentityType::User)]);
    client.put_identity("sandbox", &sales, None).await.unwrap();
    host.drain_sandbox().await;

    let explain = |user: &str, path: &str| ExplainRequest {
        folder_id: "Docs".into(),
        path: path.into(),
        user: user.into(),
    };
    let ana = host
        .explain_access(explain("ana@example.com", "HR/leave.txt"))
        .await
        .unwrap();
    assert!(ana.visible, "{ana:?}");
    assert_eq!(ana.chain.last().unwrap().identity.name, "HR");
    let bob = host
        .explain_access(explain("bob@example.com", "HR/leave.txt"))
        .await
        .unwrap();
    assert!(!bob.visible, "{bob:?}");
    let open = host
        .explain_access(explain("bob@example.com", "open.txt"))
        .await
        .unwrap();
    assert!(open.visible);

    let who = host
        .who_can_see(FileRef {
            folder_id: "Docs".into(),
            path: "HR/leave.txt".into(),
        })
        .await
        .unwrap();
    let seen: Vec<(&str, bool, bool)> = who
        .iter()
        .map(|u| (u.user.as_str(), u.anonymous, u.visible))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("ana@example.com", false, true),
            ("bob@example.com", false, false),
            ("anonymous", true, false)
        ]
    );
}
