//! "Nothing lost": a sync never deletes what its folder does not own, and every run ends in a
//! state that can be trusted. Each test here reproduces one way items used to disappear from
//! the index, over a real emulator, a real SQLite state store and real folders.
//! What each delete path may reach, and its guard: `docs/safety.md`.

mod common;
#[path = "common/unprivileged.rs"]
mod unprivileged;

use std::time::Duration;

use common::{client_for, Env};
use coveo_push::{Content, Document};
use sync_engine::config::FolderMapping;
use sync_engine::engine::{Engine, FolderState};
use sync_engine::state::{ItemState, Store};

/// The emulator's items of the sandbox source, by documentId, once the queue delays of every
/// delete-older-than have passed (an hour on the emulator's clock).
async fn items_after_an_hour(env: &Env) -> Vec<String> {
    env.emu.advance_clock(Duration::from_secs(3600)).await;
    env.emulator_items().await.into_keys().collect()
}

fn second_folder(env: &Env, dir: &tempfile::TempDir) -> FolderMapping {
    let mut m = FolderMapping::new("other", dir.path(), "sandbox", "documents");
    m.watch = false;
    let _ = env;
    m
}

/// An item another tool pushed into the same source.
async fn push_foreign_item(env: &Env, id: &str) {
    let client = client_for(env.emu.url(), env.emu.api_key(), "sandbox").unwrap();
    let doc = Document::new(id)
        .title("pushed by another tool")
        .content(Content::Text("elsewhere".into()));
    client.push_document("documents", &doc, None).await.unwrap();
}

fn id_of(env: &Env, rel: &str) -> String {
    sync_engine::plan::document_id(env.root(), rel)
}

#[tokio::test]
async fn a_rebuild_leaves_other_folders_and_other_tools_items() {
    let env = Env::start().await;
    env.write("a.txt", "a");
    env.write("gone.txt", "soon gone");
    let other_dir = tempfile::tempdir().unwrap();
    std::fs::write(other_dir.path().join("b.txt"), "b").unwrap();
    let other = second_folder(&env, &other_dir);
    let engine = Engine::start(env.engine_config(), vec![env.mapping(), other.clone()])
        .await
        .unwrap();
    assert!(engine.sync_now("docs").await.unwrap().is_complete());
    assert!(engine.sync_now("other").await.unwrap().is_complete());
    push_foreign_item(&env, "https://elsewhere.example.com/page").await;
    std::fs::remove_file(env.root().join("gone.txt")).unwrap();

    let report = engine.rebuild_now("docs").await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    let run = report.run.unwrap();
    assert!(!run.deleted_older_than, "docs does not own the source");
    assert_eq!(run.deleted, ["gone.txt"], "its own gone file is deleted");

    let items = items_after_an_hour(&env).await;
    let b = sync_engine::plan::document_id(other_dir.path(), "b.txt");
    assert!(
        items.contains(&b),
        "the other folder's item stays: {items:?}"
    );
    assert!(
        items.contains(&"https://elsewhere.example.com/page".to_string()),
        "another tool's item stays: {items:?}"
    );
    assert!(items.contains(&id_of(&env, "a.txt")));
    assert!(!items.contains(&id_of(&env, "gone.txt")));
    // The other folder's state is still true: nothing of it to push again, and it is there.
    let plan = engine.dry_run("other").await.unwrap();
    assert!(plan.is_empty(), "{plan}");
    engine.shutdown().await;
}

#[tokio::test]
async fn a_rebuild_of_a_folder_that_owns_its_source_removes_what_it_did_not_push() {
    let env = Env::start().await;
    env.write("a.txt", "a");
    let mut mapping = env.mapping();
    mapping.owns_source = true;
    let engine = env.engine(mapping).await;
    assert!(engine.sync_now("docs").await.unwrap().is_complete());
    // Left over from a lost state store, or pushed by hand: unknown to the folder.
    push_foreign_item(&env, "file:///old/place/a.txt").await;
    env.emu.drain().await;
    // Its default orderingId is the service's clock: let the run's be later (the same
    // millisecond would be "not older", and kept).
    tokio::time::sleep(Duration::from_millis(5)).await;
    let report = engine.rebuild_now("docs").await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert!(report.run.unwrap().deleted_older_than);
    assert_eq!(items_after_an_hour(&env).await, [id_of(&env, "a.txt")]);
    engine.shutdown().await;
}

#[tokio::test]
async fn two_folders_cannot_share_a_source_one_of_them_owns() {
    let env = Env::start().await;
    let other_dir = tempfile::tempdir().unwrap();
    let mut owner = env.mapping();
    owner.owns_source = true;
    let other = second_folder(&env, &other_dir);
    let err = Engine::start(env.engine_config(), vec![owner.clone(), other.clone()])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("owns source"), "{err}");
    // Nor can a running folder take ownership of a source another folder uses.
    let engine = Engine::start(env.engine_config(), vec![env.mapping(), other])
        .await
        .unwrap();
    let err = engine.change_folder(owner).await.unwrap_err().to_string();
    assert!(err.contains("owns source"), "{err}");
    let status = engine.status().await.unwrap();
    assert!(status.iter().all(|f| !f.mapping.owns_source));
    engine.shutdown().await;
}

#[tokio::test]
async fn a_skipped_update_is_not_recorded_as_accepted() {
    let env = Env::start().await;
    env.write("a.txt", "first");
    let mapping = env.mapping();
    let engine = env.engine(mapping.clone()).await;
    assert!(engine.sync_now("docs").await.unwrap().is_complete());
    engine.shutdown().await;
    // Another writer updates the item with a much higher orderingId: our next update of it is
    // not applied by the service (Source Logs: SKIPPED).
    let client = client_for(env.emu.url(), env.emu.api_key(), "sandbox").unwrap();
    let id = id_of(&env, "a.txt");
    let newer = Document::new(id.clone())
        .title("newer")
        .content(Content::Text("from another writer".into()));
    client
        .push_document("documents", &newer, Some(u64::MAX / 4))
        .await
        .unwrap();
    env.write("a.txt", "second");
    let from = now_ms() - 1000;
    let engine = env.engine(mapping.clone()).await;
    assert!(engine.sync_now("docs").await.unwrap().is_complete());
    engine.shutdown().await;
    env.emu.drain().await;

    let mut store = Store::open(&env.state_path()).unwrap();
    let problems = sync_engine::execute::apply_source_logs(
        &client,
        &mapping,
        &mut store,
        from,
        now_ms() + 60_000,
        now_ms(),
    )
    .await
    .unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].path, "a.txt");
    assert!(
        problems[0].message.contains("did not apply"),
        "{problems:?}"
    );
    let items = store.items("docs").unwrap();
    assert_eq!(
        items[0].state,
        ItemState::Pending,
        "pushed again, not accepted"
    );
    assert_eq!(store.retries("docs").unwrap().len(), 1);
    // The next plan pushes it again.
    let plan = sync_engine::engine::preview(&env.state_path(), &mapping)
        .await
        .unwrap();
    assert_eq!(plan.pushes.len(), 1, "{plan}");
}

#[tokio::test]
async fn the_source_status_goes_back_to_idle_when_the_state_store_fails_mid_run() {
    let env = Env::start().await;
    for i in 0..3 {
        env.write(&format!("f{i}.txt"), format!("file {i}"));
    }
    let mapping = env.mapping();
    let client = client_for(env.emu.url(), env.emu.api_key(), "sandbox").unwrap();
    let mut store = Store::open(&env.state_path()).unwrap();
    let plan = sync_engine::engine::preview(&env.state_path(), &mapping)
        .await
        .unwrap();
    let db = env.state_path();
    let mut broke = false;
    // Once the items are marked pending, another process breaks the state store: recording
    // the accepted batch then fails.
    let mut progress = move |_: sync_engine::execute::RunProgress| {
        if !broke {
            broke = true;
            let conn = rusqlite::Connection::open(&db).unwrap();
            conn.execute_batch("DROP TABLE items").unwrap();
        }
    };
    let result = sync_engine::execute::execute(
        &plan,
        &mapping,
        &client,
        &mut store,
        &Default::default(),
        now_ms() as u64,
        &std::sync::atomic::AtomicBool::new(false),
        &mut progress,
    )
    .await;
    assert!(result.is_err(), "the state store failed");
    let url = format!(
        "{}/_emulator/v1/organizations/sandbox/sources/documents",
        env.emu.url()
    );
    let source: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    assert_eq!(
        source["information"]["sourceStatus"]["type"], "IDLE",
        "{source}"
    );
    assert!(
        source["activities"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["ended"].is_string()),
        "the run's activity is closed: {source}"
    );
}

#[tokio::test]
async fn an_engine_start_scans_each_folder_once() {
    let env = Env::start().await;
    env.write("a.txt", "a");
    // Every Push request takes 1.5 s: the first run lasts several ticks of the loop.
    env.set_faults(serde_json::json!({"latencyMs": 1500})).await;
    let engine = env.engine(env.mapping()).await;
    // A current-thread runtime: the loop has not run yet, no event is missed.
    let mut events = engine.subscribe();
    let mut scans = 0;
    let mut done_at = None;
    loop {
        let wait = match done_at {
            // After the first run: three more ticks, in which nothing may start.
            Some(t) => t,
            None => tokio::time::Instant::now() + Duration::from_secs(60),
        };
        let Ok(Ok(event)) = tokio::time::timeout_at(wait, events.recv()).await else {
            break;
        };
        match event {
            sync_engine::engine::Event::FolderState {
                state: FolderState::Scanning,
                ..
            } => scans += 1,
            sync_engine::engine::Event::FolderState {
                state: FolderState::UpToDate { .. },
                ..
            } if scans > 0 && done_at.is_none() => {
                done_at = Some(tokio::time::Instant::now() + sync_engine::engine::TICK * 3);
            }
            _ => {}
        }
    }
    assert!(done_at.is_some(), "the first run ended");
    assert_eq!(scans, 1, "one full scan at start, not two back to back");
    engine.shutdown().await;
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test]
async fn an_unreadable_subfolder_keeps_its_items() {
    if !unprivileged::body_runs_here("an_unreadable_subfolder_keeps_its_items") {
        return;
    }
    let env = Env::start().await;
    env.write("a.txt", "a");
    env.write("HR/pay.txt", "pay");
    env.write("HR/deep/leave.txt", "leave");
    let engine = env.engine(env.mapping()).await;
    assert!(engine.sync_now("docs").await.unwrap().is_complete());
    assert_eq!(env.emulator_items().await.len(), 3);

    set_mode(&env.root().join("HR"), 0o000);
    let report = engine.sync_now("docs").await.unwrap();
    set_mode(&env.root().join("HR"), 0o755);
    assert!(!report.is_complete(), "an unreadable folder is a problem");
    assert_eq!(report.plan.deletes, 0, "{report:?}");
    assert_eq!(report.plan.moves, 0, "{report:?}");
    let problem = report
        .scan_problems
        .iter()
        .find(|p| p.path == "HR")
        .unwrap_or_else(|| panic!("HR is named: {:?}", report.scan_problems));
    assert!(
        problem.message.contains("nothing under it is deleted"),
        "{problem:?}"
    );
    assert_eq!(
        env.emulator_items().await.len(),
        3,
        "HR's items are still in the index"
    );
    let status = engine.status().await.unwrap();
    assert!(
        matches!(status[0].state, FolderState::UpToDate { problems } if problems > 0),
        "the folder shows the problem: {:?}",
        status[0].state
    );
    // Readable again: nothing to do, the items were never lost.
    let report = engine.sync_now("docs").await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(
        report.plan.adds + report.plan.updates + report.plan.deletes,
        0
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn an_owning_rebuild_with_an_unreadable_file_removes_nothing_it_did_not_push() {
    if !unprivileged::body_runs_here(
        "an_owning_rebuild_with_an_unreadable_file_removes_nothing_it_did_not_push",
    ) {
        return;
    }
    let env = Env::start().await;
    env.write("a.txt", "a");
    env.write("HR/b.txt", "b");
    let mut mapping = env.mapping();
    mapping.owns_source = true;
    let engine = env.engine(mapping).await;
    assert!(engine.sync_now("docs").await.unwrap().is_complete());
    push_foreign_item(&env, "file:///old/place/x.txt").await;
    env.emu.drain().await;
    tokio::time::sleep(Duration::from_millis(5)).await;

    // A folder the scan cannot list (its files are skipped, not pushed), then a file the
    // push cannot read (refused): either way the rebuild does not push every file.
    set_mode(&env.root().join("HR"), 0o000);
    let report = engine.rebuild_now("docs").await.unwrap();
    set_mode(&env.root().join("HR"), 0o755);
    check_no_older_than(&report);
    let items = items_after_an_hour(&env).await;
    assert!(items.contains(&id_of(&env, "HR/b.txt")), "{items:?}");
    assert!(items.contains(&"file:///old/place/x.txt".to_string()));

    set_mode(&env.root().join("HR/b.txt"), 0o000);
    let report = engine.rebuild_now("docs").await.unwrap();
    set_mode(&env.root().join("HR/b.txt"), 0o644);
    check_no_older_than(&report);
    let items = items_after_an_hour(&env).await;
    assert!(items.contains(&id_of(&env, "HR/b.txt")), "{items:?}");
    assert!(items.contains(&"file:///old/place/x.txt".to_string()));

    // Every file readable: the rebuild goes through and removes what it did not push.
    let report = engine.rebuild_now("docs").await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert!(report.run.unwrap().deleted_older_than);
    let mut expected = vec![id_of(&env, "a.txt"), id_of(&env, "HR/b.txt")];
    expected.sort();
    assert_eq!(items_after_an_hour(&env).await, expected);
    engine.shutdown().await;
}

#[tokio::test]
async fn an_owning_rebuild_without_its_state_store_keeps_a_new_file_it_could_not_read() {
    // Without a state store every file is new, so the scan reads none of them (issue 15: the
    // push hashes what it reads). A file the push then cannot read must still keep the
    // rebuild from removing its item, which the index holds from before the store was lost.
    if !unprivileged::body_runs_here(
        "an_owning_rebuild_without_its_state_store_keeps_a_new_file_it_could_not_read",
    ) {
        return;
    }
    let env = Env::start().await;
    env.write("a.txt", "a");
    env.write("b.txt", "b");
    let mut mapping = env.mapping();
    mapping.owns_source = true;
    let engine = env.engine(mapping.clone()).await;
    assert!(engine.sync_now("docs").await.unwrap().is_complete());
    engine.shutdown().await;
    for suffix in ["", "-wal", "-shm"] {
        let mut path = env.state_path().into_os_string();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }
    env.emu.drain().await;
    tokio::time::sleep(Duration::from_millis(5)).await;

    let engine = env.engine(mapping).await;
    set_mode(&env.root().join("b.txt"), 0o000);
    let report = engine.rebuild_now("docs").await.unwrap();
    set_mode(&env.root().join("b.txt"), 0o644);
    assert_eq!(report.hashed_files, 0, "the scan read no new file");
    check_no_older_than(&report);
    let items = items_after_an_hour(&env).await;
    assert!(items.contains(&id_of(&env, "b.txt")), "{items:?}");
    engine.shutdown().await;
}

fn check_no_older_than(report: &sync_engine::engine::SyncReport) {
    assert!(!report.is_complete());
    let run = report.run.as_ref().unwrap();
    assert!(!run.deleted_older_than, "a file was not pushed: {report:?}");
    assert!(
        run.problems
            .iter()
            .any(|p| p.message.contains("did not remove older items")),
        "the run says why: {:?}",
        run.problems
    );
}

#[tokio::test]
async fn a_rebuild_ahead_of_the_service_clock_removes_nothing_and_says_why() {
    // The service's clock is an hour behind this machine's: the run's orderingId (ours) is in
    // the service's future, where a delete-older-than would empty the source and block it.
    let hour = 3_600_000;
    let env = Env::start_with(push_emulator::EmulatorConfig {
        clock: push_emulator::Clock::frozen(now_ms() - hour),
        ..Default::default()
    })
    .await;
    env.write("a.txt", "a");
    let mut mapping = env.mapping();
    mapping.owns_source = true;
    let engine = env.engine(mapping).await;
    let mut events = engine.subscribe();
    let report = engine.rebuild_now("docs").await.unwrap();
    let run = report.run.as_ref().unwrap();
    assert!(!run.deleted_older_than, "{report:?}");
    assert!(
        run.problems
            .iter()
            .any(|p| p.message.contains("did not remove older items")
                && p.message.contains("in the future")),
        "{:?}",
        run.problems
    );
    assert!(
        run.warnings
            .iter()
            .any(|w| w.contains("1h ahead of Coveo's")),
        "{:?}",
        run.warnings
    );
    let requests = env.requests().await;
    assert!(
        !requests.iter().any(|r| r["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("/olderthan"))),
        "no delete-older-than was sent"
    );
    // The warning reaches the activity log.
    let mut told = false;
    while let Ok(event) = events.try_recv() {
        if let sync_engine::engine::Event::Activity { message, .. } = event {
            told |= message.contains("ahead of Coveo's");
        }
    }
    assert!(told, "the activity log says the clock is off");
    engine.shutdown().await;
}
