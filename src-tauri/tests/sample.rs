//! "Try the sample folder" against the real thing: a real [`Host`] (embedded Sandbox on a
//! loopback socket, the engine with its SQLite state) copies the shipped sample into its data
//! folder, pushes the sample identities to the Sandbox, and adds the folder with its rules;
//! once the first plan is confirmed, every sample file is an item of the Sandbox and the
//! permission preview of a file shows a nested group and an alias.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pushdeck_app::dto::*;
use pushdeck_app::host::{Host, HostPaths};

const SYNC_TIMEOUT: Duration = Duration::from_secs(60);

async fn host() -> (tempfile::TempDir, HostPaths, Arc<Host>) {
    let dirs = tempfile::tempdir().unwrap();
    let paths = HostPaths {
        config_dir: dirs.path().join("config"),
        data_dir: dirs.path().join("data"),
    };
    let host = Host::start(paths.clone(), Arc::new(|_| {})).await.unwrap();
    (dirs, paths, host)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_folder_syncs_into_the_sandbox_and_its_preview_shows_a_group_and_an_alias() {
    let (_dirs, paths, host) = host().await;
    let folder = host.add_sample_folder().await.unwrap();
    assert_eq!(folder.id, "Sample folder");
    assert!(folder.awaiting_first_sync, "{folder:?}");
    let copied = paths.data_dir.join("sample");
    assert!(copied.join("Projects/Roadmap.docx").is_file());
    assert!(copied.join("Handbook/Benefits.pdf").is_file());

    // A second click finds the same folder and adds nothing.
    let again = host.add_sample_folder().await.unwrap();
    assert_eq!(again.id, folder.id);
    let listed = host.list_folders().await.unwrap();
    assert_eq!(listed.iter().filter(|f| f.id == folder.id).count(), 1);

    // The sample identities are in the list and in the Sandbox's provider.
    let identities = host.list_identities().await.unwrap();
    let emitchell = identities
        .iter()
        .find(|i| i.name == "emitchell@example.com")
        .expect("the sample users are in the list");
    assert_eq!(emitchell.aliases, ["MysteryUserX"]);
    host.drain_sandbox().await;
    let held: serde_json::Value = reqwest::get(format!(
        "{}/_emulator/v1/organizations/sandbox/providers/sandbox/identities",
        host.sandbox_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    for name in ["SampleTeam1", "Editors", "MysteryUserX"] {
        assert!(held.to_string().contains(name), "{name} not in {held}");
    }

    // Check and confirm the first plan, as the person does.
    let plan = host
        .plan_folder(FolderRef {
            folder_id: folder.id.clone(),
        })
        .await
        .unwrap();
    host.confirm_plan(ConfirmPlanRequest {
        folder_id: folder.id.clone(),
        plan_id: plan.plan_id,
    })
    .await
    .unwrap();
    let start = Instant::now();
    loop {
        let folders = host.list_folders().await.unwrap();
        let f = folders.iter().find(|f| f.id == folder.id).unwrap();
        if matches!(f.state, FolderState::UpToDate { .. }) && f.item_count == 7 {
            break;
        }
        assert!(start.elapsed() < SYNC_TIMEOUT, "no first sync: {f:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    host.drain_sandbox().await;
    let items: serde_json::Value = reqwest::get(format!(
        "{}/_emulator/v1/organizations/sandbox/sources/documents/items",
        host.sandbox_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(items["items"].as_array().unwrap().len(), 7, "{items}");

    // The preview of the roadmap: asmith through the nested group, emitchell through her alias.
    let view_as = |user: &str| {
        let host = host.clone();
        let request = ExplainRequest {
            folder_id: "Sample folder".into(),
            path: "Projects/Roadmap.docx".into(),
            user: user.into(),
        };
        async move { host.explain_access(request).await.unwrap() }
    };
    let asmith = view_as("asmith@example.com").await;
    assert!(asmith.visible, "{asmith:?}");
    assert!(
        asmith.because.iter().any(|b| b
            .contains("member of group Editors (sandbox) → member of group SampleTeam1 (sandbox)")),
        "{:?}",
        asmith.because
    );
    let emitchell = view_as("emitchell@example.com").await;
    assert!(emitchell.visible, "{emitchell:?}");
    assert!(
        emitchell
            .because
            .iter()
            .any(|b| b.contains("alias MysteryUserX (sandbox)")),
        "{:?}",
        emitchell.because
    );
    let hlee = view_as("hlee@example.com").await;
    assert!(!hlee.visible, "{hlee:?}");
    // The HR rule: only the HR group, two folders down too.
    let who = host
        .who_can_see(FileRef {
            folder_id: "Sample folder".into(),
            path: "HR/Reviews/Review notes.txt".into(),
        })
        .await
        .unwrap();
    let visible: Vec<&str> = who
        .iter()
        .filter(|r| r.visible)
        .map(|r| r.user.as_str())
        .collect();
    assert_eq!(visible, ["fgarcia@example.com", "hlee@example.com"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sample_the_person_changed_is_kept_when_they_add_it_again() {
    let (_dirs, paths, host) = host().await;
    let copied = paths.data_dir.join("sample");
    std::fs::create_dir_all(&copied).unwrap();
    std::fs::write(copied.join("Welcome.txt"), "my own notes").unwrap();
    host.add_sample_folder().await.unwrap();
    assert_eq!(
        std::fs::read_to_string(copied.join("Welcome.txt")).unwrap(),
        "my own notes"
    );
    assert!(copied.join("Board/Minutes.txt").is_file());
}
