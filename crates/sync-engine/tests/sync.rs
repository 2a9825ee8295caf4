//! End-to-end syncs: real temp folders, a real SQLite state store, the real emulator over a
//! socket, through the engine handle.

mod common;

use std::time::Duration;

use common::Env;
use sync_engine::engine::{Event, FolderState, ItemResult};
use sync_engine::plan::Brake;

#[tokio::test]
async fn first_sync_edits_moves_deletes_and_excluded_files() {
    let env = Env::start().await;
    env.write("a.txt", "alpha");
    env.write("d/b.txt", "bravo");
    env.write(
        "d/e/c.html",
        "<html><head><title>Charlie page</title></head><body>c</body></html>",
    );
    env.write("skip.tmp", "temporary");
    let mut mapping = env.mapping();
    mapping.metadata.hierarchy_field = Some("folders".into());
    mapping.metadata.title = sync_engine::config::TitleRule::HtmlTitle;
    let engine = env.engine(mapping).await;

    let report = engine.sync_now("docs").await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.plan.adds, 3);
    assert_eq!(env.emulator_hashes().await, env.folder_hashes());
    // A first push reads each file once: the scan hashed none of them (new, and no item
    // could have moved), the push hashed them while reading, and the state store holds
    // exactly the SHA-256 of what was sent.
    assert_eq!(report.hashed_files, 0);
    let recorded: std::collections::BTreeMap<String, String> =
        sync_engine::state::Store::open(&env.state_path())
            .unwrap()
            .items("docs")
            .unwrap()
            .into_iter()
            .map(|i| (i.document_id, i.content_hash))
            .collect();
    assert_eq!(recorded, env.folder_hashes());
    let items = env.emulator_items().await;
    let c = &items[&sync_engine::plan::document_id(env.root(), "d/e/c.html")];
    assert_eq!(c["metadata"]["title"], "Charlie page", "{c}");
    assert_eq!(
        c["metadata"]["folders"],
        serde_json::json!(["d", "d/e"]),
        "{c}"
    );

    // Nothing changed: nothing hashed, nothing sent.
    let report = engine.sync_now("docs").await.unwrap();
    assert_eq!(
        (report.hashed_files, report.plan.adds + report.plan.updates),
        (0, 0)
    );

    // Edit, rename (move), delete, add.
    env.write("a.txt", "alpha, edited");
    std::fs::create_dir_all(env.root().join("moved")).unwrap();
    std::fs::rename(env.root().join("d/b.txt"), env.root().join("moved/b.txt")).unwrap();
    std::fs::remove_file(env.root().join("d/e/c.html")).unwrap();
    env.write("new.txt", "november");
    let report = engine.sync_now("docs").await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(
        (
            report.plan.adds,
            report.plan.updates,
            report.plan.deletes,
            report.plan.moves
        ),
        (2, 1, 2, 1),
        "{:?}",
        report.plan
    );
    assert_eq!(env.emulator_hashes().await, env.folder_hashes());
    engine.shutdown().await;
}

#[tokio::test]
async fn deletes_while_stopped_are_found_at_the_next_start() {
    let env = Env::start().await;
    for i in 0..5 {
        env.write(&format!("f{i}.txt"), format!("file {i}"));
    }
    let engine = env.engine(env.mapping()).await;
    assert!(engine.sync_now("docs").await.unwrap().is_complete());
    engine.shutdown().await;

    std::fs::remove_file(env.root().join("f1.txt")).unwrap();
    std::fs::remove_file(env.root().join("f3.txt")).unwrap();
    env.write("f4.txt", "changed while stopped");

    let engine = env.engine(env.mapping()).await;
    let report = engine.sync_now("docs").await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!((report.plan.deletes, report.plan.updates), (2, 1));
    assert_eq!(env.emulator_hashes().await, env.folder_hashes());
    assert_eq!(env.emulator_hashes().await.len(), 3);
}

#[tokio::test]
async fn permission_change_resends_items_without_rehashing() {
    let env = Env::start().await;
    env.write("hr/pay.txt", "salaries");
    env.write("public/news.txt", "news");
    let rule = |text: &str| -> Vec<permissions::rules::FolderRule> {
        permissions::rules::PermissionRules::from_toml_str(text)
            .unwrap()
            .rules
    };
    let mut mapping = env.mapping();
    mapping.permission_rules = rule("[[rule]]\npath = \"\"\naccess = \"everyone\"\n");
    let engine = env.engine(mapping.clone()).await;
    assert!(engine.sync_now("docs").await.unwrap().is_complete());
    let before = env.emulator_items().await;

    mapping.permission_rules = rule(
        "[[rule]]\npath = \"\"\naccess = \"everyone\"\n\n[[rule]]\npath = \"hr\"\naccess = \"only\"\ngroups = [\"HR\"]\n",
    );
    // Paused, so that the change does not start a run on its own before `sync_now`.
    engine.pause("docs").await.unwrap();
    engine.change_folder(mapping).await.unwrap();
    let report = engine.sync_now("docs").await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    // Classified from fingerprints: no file was read for hashing.
    assert_eq!(report.hashed_files, 0);
    assert_eq!(
        report.plan.by_change.get("permissions_only"),
        Some(&1),
        "{:?}",
        report.plan
    );
    assert_eq!(report.plan.updates, 1);
    let after = env.emulator_items().await;
    let pay = sync_engine::plan::document_id(env.root(), "hr/pay.txt");
    assert_ne!(before[&pay]["permissions"], after[&pay]["permissions"]);
    assert!(
        after[&pay]["permissions"].to_string().contains("\"HR\""),
        "{}",
        after[&pay]
    );
    assert_eq!(before[&pay]["contentSha256"], after[&pay]["contentSha256"]);
    let news = sync_engine::plan::document_id(env.root(), "public/news.txt");
    assert_eq!(
        before[&news]["orderingId"], after[&news]["orderingId"],
        "untouched item"
    );
}

#[tokio::test]
async fn a_file_too_large_for_one_request_goes_through() {
    let env = Env::start().await;
    // 7 MB of incompressible bytes: over the 5 MB inline limit and the 6 MB request limit.
    let mut bytes = vec![0u8; 7 * 1024 * 1024];
    let mut x: u32 = 12345;
    for b in bytes.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    env.write("big.bin", &bytes);
    env.write("small.txt", "small");
    let engine = env.engine(env.mapping()).await;
    let report = engine.sync_now("docs").await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(env.emulator_hashes().await, env.folder_hashes());
}

#[tokio::test]
async fn emptied_folder_holds_until_confirmed() {
    let env = Env::start().await;
    for i in 0..3 {
        env.write(&format!("f{i}.txt"), format!("file {i}"));
    }
    let engine = env.engine(env.mapping()).await;
    assert!(engine.sync_now("docs").await.unwrap().is_complete());
    for i in 0..3 {
        std::fs::remove_file(env.root().join(format!("f{i}.txt"))).unwrap();
    }
    let report = engine.sync_now("docs").await.unwrap();
    assert_eq!(report.brake, Some(Brake::Emptied { known: 3 }));
    assert!(report.run.is_none());
    assert_eq!(env.emulator_hashes().await.len(), 3, "nothing deleted");
    let status = engine.status().await.unwrap();
    assert!(
        matches!(status[0].state, FolderState::NeedsAttention { .. }),
        "{:?}",
        status[0].state
    );
    // Still held at the next sync, and across restarts.
    let report = engine.sync_now("docs").await.unwrap();
    assert!(report.brake.is_some());
    engine.shutdown().await;
    let engine = env.engine(env.mapping()).await;
    let status = engine.status().await.unwrap();
    assert!(matches!(
        status[0].state,
        FolderState::NeedsAttention { .. }
    ));

    engine.confirm("docs").await.unwrap();
    let report = engine.sync_now("docs").await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert!(env.emulator_hashes().await.is_empty());
}

#[tokio::test]
async fn vanished_root_holds() {
    let env = Env::start().await;
    env.write("a.txt", "a");
    let mut mapping = env.mapping();
    let engine = env.engine(mapping.clone()).await;
    assert!(engine.sync_now("docs").await.unwrap().is_complete());
    engine.shutdown().await;
    mapping.path = env.root().join("unplugged");
    let engine = env.engine(mapping).await;
    let report = engine.sync_now("docs").await.unwrap();
    assert!(
        matches!(report.brake, Some(Brake::Vanished { .. })),
        "{report:?}"
    );
    assert_eq!(env.emulator_hashes().await.len(), 1);
}

#[tokio::test]
async fn dry_run_sends_nothing() {
    let env = Env::start().await;
    env.write("a.txt", "a");
    env.write("b/c.txt", "c");
    let plan = sync_engine::engine::preview(&env.state_path(), &env.mapping())
        .await
        .unwrap();
    assert_eq!(plan.summary().adds, 2);
    let text = plan.to_string();
    assert!(text.contains("2 to add"), "{text}");
    assert!(env.emulator_hashes().await.is_empty());
    let pushes = env
        .requests()
        .await
        .iter()
        .filter(|r| r["method"] != "GET")
        .count();
    assert_eq!(pushes, 0);
    // Through the handle, after a sync: an edit shows as one update.
    let engine = env.engine(env.mapping()).await;
    assert!(engine.sync_now("docs").await.unwrap().is_complete());
    env.write("a.txt", "a2");
    let plan = engine.dry_run("docs").await.unwrap();
    assert_eq!((plan.summary().adds, plan.summary().updates), (0, 1));
}

#[tokio::test]
async fn rebuild_removes_items_the_folder_does_not_have() {
    let env = Env::start().await;
    env.write("a.txt", "a");
    env.write("b.txt", "b");
    // Only a folder that owns its source removes what it did not push (docs/safety.md).
    let mut mapping = env.mapping();
    mapping.owns_source = true;
    let engine = env.engine(mapping).await;
    assert!(engine.sync_now("docs").await.unwrap().is_complete());
    // An item that reached the source some other way (an old run, another tool).
    let client = common::client_for(env.emu.url(), env.emu.api_key(), "sandbox").unwrap();
    client
        .push_document(
            "documents",
            &coveo_push::Document::new("file:///elsewhere/orphan.txt")
                .title("orphan")
                .text("x"),
            Some(1),
        )
        .await
        .unwrap();
    assert_eq!(env.emulator_hashes().await.len(), 3);
    let report = engine.rebuild_now("docs").await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert!(report.run.as_ref().unwrap().deleted_older_than);
    assert_eq!(env.emulator_hashes().await, env.folder_hashes());
    let statuses: Vec<String> = env
        .requests()
        .await
        .iter()
        .filter_map(|r| {
            r["query"]
                .as_str()
                .filter(|q| q.contains("statusType"))
                .map(str::to_string)
        })
        .collect();
    assert!(
        statuses.iter().any(|q| q.contains("REBUILD")),
        "{statuses:?}"
    );
    assert!(
        statuses.last().is_some_and(|q| q.contains("IDLE")),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn watching_pushes_a_saved_file() {
    let env = Env::start().await;
    env.write("a.txt", "a");
    let mut mapping = env.mapping();
    mapping.watch = true;
    let engine = env.engine(mapping).await;
    let mut events = engine.subscribe();
    assert!(engine.sync_now("docs").await.unwrap().is_complete());
    env.write("sub/new.txt", "saved");
    let pushed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.recv().await {
                Ok(Event::Item {
                    path,
                    result: ItemResult::Pushed,
                    ..
                }) if path == "sub/new.txt" => return true,
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return false,
            }
        }
    })
    .await;
    assert_eq!(pushed, Ok(true));
    assert_eq!(env.emulator_hashes().await, env.folder_hashes());
}

#[tokio::test]
async fn faults_from_the_emulator_end_in_the_exact_state() {
    let env = Env::start().await;
    for i in 0..40 {
        env.write(
            &format!("d{}/f{i}.txt", i % 4),
            format!("content {i}").repeat(50),
        );
    }
    env.set_faults(serde_json::json!({
        "seed": 3,
        "throttleShare": 0.2,
        "retryAfterSeconds": 1,
        "errorBurstShare": 0.1,
        "errorBurstLength": 2,
        "dropShare": 0.1,
        "uploadFailureShare": 0.1
    }))
    .await;
    let mut mapping = env.mapping();
    mapping.safety.max_delete_count = 1000;
    let mut config = env.engine_config();
    config.execute.max_batch_bytes = 4096; // many batches, so many chances to fail
    let engine = sync_engine::engine::Engine::start(config, vec![mapping])
        .await
        .unwrap();
    let mut complete = false;
    for _ in 0..10 {
        let report = engine.sync_now("docs").await.unwrap();
        if report.is_complete() && report.plan.adds + report.plan.updates == 0 {
            complete = true;
            break;
        }
    }
    assert!(complete, "converged within 10 runs");
    env.set_faults(serde_json::json!({})).await;
    // Delete and edit under faults too.
    std::fs::remove_file(env.root().join("d1/f1.txt")).unwrap();
    env.write("d2/f2.txt", "edited");
    assert!(engine.sync_now("docs").await.unwrap().is_complete());
    assert_eq!(env.emulator_hashes().await, env.folder_hashes());
}

#[tokio::test]
async fn a_quota_pauses_the_folder_with_a_clear_message() {
    let env = Env::start().await;
    let mut config = env.engine_config();
    config.execute.max_batch_bytes = 1500; // about one item per batch
    let engine = sync_engine::engine::Engine::start(config, vec![env.mapping()])
        .await
        .unwrap();
    // One item processed today, then a quota of one: every later write is refused. (The
    // quota counts processed items; a larger quota would race with the processor.)
    env.write("f0.txt", "first");
    assert!(engine.sync_now("docs").await.unwrap().is_complete());
    env.emu.drain().await;
    env.set_faults(serde_json::json!({ "dailyItemQuota": 1 }))
        .await;
    for i in 1..10 {
        env.write(&format!("f{i}.txt"), format!("file {i}").repeat(100));
    }
    let report = engine.sync_now("docs").await.unwrap();
    let run = report.run.as_ref().unwrap();
    assert!(
        matches!(run.halted, Some(sync_engine::execute::Halt::Quota { .. })),
        "{report:?}"
    );
    let status = engine.status().await.unwrap();
    match &status[0].state {
        FolderState::Paused {
            reason: Some(reason),
        } => assert!(!reason.is_empty()),
        other => panic!("expected paused with a reason, got {other:?}"),
    }
    // What was accepted is recorded; the rest is pushed once the quota allows.
    let accepted = env.emulator_hashes().await.len();
    assert!(accepted < 10, "{accepted}");
    env.set_faults(serde_json::json!({})).await;
    engine.resume("docs").await.unwrap();
    let report = engine.sync_now("docs").await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(env.emulator_hashes().await, env.folder_hashes());
}

#[tokio::test]
async fn source_logs_mark_items_indexed() {
    let env = Env::start().await;
    env.write("a.txt", "a");
    env.write("b.txt", "b");
    let mut config = env.engine_config();
    config.poll_source_logs = true;
    config.source_log_interval = Duration::from_millis(100);
    let engine = sync_engine::engine::Engine::start(config, vec![env.mapping()])
        .await
        .unwrap();
    assert!(engine.sync_now("docs").await.unwrap().is_complete());
    env.emu.drain().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let store = sync_engine::state::Store::open(&env.state_path()).unwrap();
        let states: Vec<_> = store
            .items("docs")
            .unwrap()
            .iter()
            .map(|i| i.state)
            .collect();
        if states
            .iter()
            .all(|s| *s == sync_engine::state::ItemState::Indexed)
        {
            assert_eq!(states.len(), 2);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "items not marked indexed: {states:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn dropping_the_handle_stops_the_engine() {
    let env = Env::start().await;
    env.write("a.txt", "a");
    let mut mapping = env.mapping();
    mapping.watch = true;
    let engine = env.engine(mapping).await;
    assert!(engine.sync_now("docs").await.unwrap().is_complete());
    let mut events = engine.subscribe();
    drop(engine);
    // The loop ends: the event channel closes once its task is gone.
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Err(tokio::sync::broadcast::error::RecvError::Closed) = events.recv().await {
                return;
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the engine kept running after its handle was dropped"
    );
    env.write("b.txt", "b");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        env.emulator_hashes().await.len(),
        1,
        "nothing synced after the drop"
    );
}

#[tokio::test]
async fn polling_fallback_says_so_and_still_syncs() {
    let env = Env::start().await;
    env.write("a.txt", "a");
    let mut mapping = env.mapping();
    mapping.watch = true;
    let mut config = env.engine_config();
    config.force_polling = true;
    config.poll_interval = Duration::from_millis(200);
    let engine = sync_engine::engine::Engine::start(config, vec![])
        .await
        .unwrap();
    let mut events = engine.subscribe();
    engine.add_folder(mapping).await.unwrap();
    assert!(engine.sync_now("docs").await.unwrap().is_complete());
    env.write("later.txt", "written while polled");
    let mut said_polling = false;
    let pushed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.recv().await {
                Ok(Event::Activity { message, .. })
                    if message.contains("checking for changes every") =>
                {
                    said_polling = true
                }
                Ok(Event::Item {
                    path,
                    result: ItemResult::Pushed,
                    ..
                }) if path == "later.txt" => return true,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return false,
            }
        }
    })
    .await;
    assert_eq!(pushed, Ok(true));
    assert!(said_polling, "no activity entry about the polling fallback");
    assert_eq!(env.emulator_hashes().await, env.folder_hashes());
}

#[tokio::test]
async fn sync_now_retries_files_in_backoff_after_add_folder() {
    let env = Env::start().await;
    for i in 0..10 {
        env.write(&format!("f{i}.txt"), format!("file {i}").repeat(100));
    }
    // An earlier run: every upload fails (beyond the client's retries); the files wait for
    // their retry (a backoff of a minute or more).
    env.set_faults(serde_json::json!({ "uploadFailureShare": 1.0 }))
        .await;
    let mut config = env.engine_config();
    config.execute.max_batch_bytes = 1500; // about one item per batch
    let engine = sync_engine::engine::Engine::start(config, vec![env.mapping()])
        .await
        .unwrap();
    let report = engine.sync_now("docs").await.unwrap();
    assert!(!report.is_complete(), "{report:?}");
    engine.shutdown().await;
    {
        let store = sync_engine::state::Store::open(&env.state_path()).unwrap();
        assert!(
            !store.retries("docs").unwrap().is_empty(),
            "failed files wait for a retry"
        );
    }
    env.set_faults(serde_json::json!({})).await;
    // Next process: no folder at start, the folder added, then "sync now" (`sync --once`).
    let mut config = env.engine_config();
    config.execute.max_batch_bytes = 1500;
    let engine = sync_engine::engine::Engine::start(config, Vec::new())
        .await
        .unwrap();
    engine.add_folder(env.mapping()).await.unwrap();
    let report = engine.sync_now("docs").await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(env.emulator_hashes().await, env.folder_hashes());
    let store = sync_engine::state::Store::open(&env.state_path()).unwrap();
    assert!(store.retries("docs").unwrap().is_empty());
}

/// An engine clock the test moves by hand (ms since the epoch), starting at the real time.
fn manual_clock() -> (
    std::sync::Arc<std::sync::atomic::AtomicU64>,
    sync_engine::engine::Clock,
) {
    let now = sync_engine::engine::system_clock()();
    let cell = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(now));
    let read = cell.clone();
    let clock: sync_engine::engine::Clock =
        std::sync::Arc::new(move || read.load(std::sync::atomic::Ordering::SeqCst));
    (cell, clock)
}

async fn paused_until(engine: &sync_engine::engine::EngineHandle) -> (String, Option<u64>) {
    let status = engine.status().await.unwrap();
    match &status[0].state {
        FolderState::Paused {
            reason: Some(reason),
        } => (reason.clone(), status[0].paused_until_ms),
        other => panic!("expected paused with a reason, got {other:?}"),
    }
}

#[tokio::test]
async fn a_daily_quota_pause_resumes_by_itself_at_utc_midnight() {
    const DAY_MS: u64 = 24 * 60 * 60 * 1000;
    let env = Env::start().await;
    let (clock, read) = manual_clock();
    let mut config = env.engine_config();
    config.clock = read;
    let engine = sync_engine::engine::Engine::start(config, vec![env.mapping()])
        .await
        .unwrap();
    // One item processed today, then a quota of one: every later write is refused (the
    // quota counts processed items, so this does not race with the processor).
    env.write("f0.txt", "first");
    assert!(engine.sync_now("docs").await.unwrap().is_complete());
    env.emu.drain().await;
    env.set_faults(serde_json::json!({ "dailyItemQuota": 1 }))
        .await;
    for i in 1..10 {
        env.write(&format!("f{i}.txt"), format!("file {i}").repeat(100));
    }
    let report = engine.sync_now("docs").await.unwrap();
    assert!(!report.is_complete());
    let now = clock.load(std::sync::atomic::Ordering::SeqCst);
    let midnight = now - now % DAY_MS + DAY_MS;
    // The emulator sends Retry-After = the seconds left until its midnight (UTC).
    let (reason, until) = paused_until(&engine).await;
    let until = until.unwrap_or_else(|| panic!("no resume time: {reason}"));
    assert!(
        until <= midnight && until + 5_000 > midnight,
        "{until} vs midnight {midnight}: {reason}"
    );
    assert!(reason.contains("paused until"), "{reason}");
    // The quota lifts (a new day for the service); the engine waits for its own clock.
    env.set_faults(serde_json::json!({})).await;
    clock.store(until - 1_000, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(paused_until(&engine).await.1, Some(until));
    assert!(env.emulator_hashes().await.len() < 10);
    clock.store(until + 1, std::sync::atomic::Ordering::SeqCst);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while env.emulator_hashes().await != env.folder_hashes() {
        assert!(
            std::time::Instant::now() < deadline,
            "the folder did not resume by itself: {:?}",
            engine.status().await.unwrap()[0].state
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_item_limit_stays_paused_until_a_person_resumes() {
    let env = Env::start().await;
    for i in 0..10 {
        env.write(&format!("f{i}.txt"), format!("file {i}").repeat(100));
    }
    env.set_faults(serde_json::json!({ "itemLimit": 0 })).await;
    let (clock, read) = manual_clock();
    let mut config = env.engine_config();
    config.clock = read;
    config.execute.max_batch_bytes = 1500;
    let engine = sync_engine::engine::Engine::start(config, vec![env.mapping()])
        .await
        .unwrap();
    let report = engine.sync_now("docs").await.unwrap();
    assert!(
        matches!(
            report.run.as_ref().and_then(|r| r.halted.as_ref()),
            Some(sync_engine::execute::Halt::Quota { .. })
        ),
        "{report:?}"
    );
    let (reason, until) = paused_until(&engine).await;
    assert_eq!(until, None, "{reason}");
    assert!(reason.contains("until you resume"), "{reason}");
    env.set_faults(serde_json::json!({})).await;
    clock.fetch_add(3 * 24 * 60 * 60 * 1000, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    paused_until(&engine).await;
    engine.resume("docs").await.unwrap();
    assert!(engine.sync_now("docs").await.unwrap().is_complete());
    assert_eq!(env.emulator_hashes().await, env.folder_hashes());
}

async fn emulator_identities(env: &Env) -> Vec<serde_json::Value> {
    let url = format!(
        "{}/_emulator/v1/organizations/sandbox/providers/sandbox/identities",
        env.emu.url()
    );
    let body: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    body["identities"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn identities_are_pushed_before_items_and_only_when_they_change() {
    let env = Env::start().await;
    env.write("a.txt", "a");
    let ids_dir = tempfile::tempdir().unwrap();
    let ids_path = ids_dir.path().join("identities.json");
    let group = |members: &[&str]| {
        serde_json::json!({
            "members": [{
                "identity": {"name": "HR", "type": "GROUP", "additionalInfo": {}},
                "members": members.iter().map(|m| serde_json::json!(
                    {"name": m, "type": "USER", "additionalInfo": {}})).collect::<Vec<_>>(),
                "wellKnowns": []
            }],
            "mappings": []
        })
        .to_string()
    };
    std::fs::write(&ids_path, group(&["alice@example.com"])).unwrap();
    let mut mapping = env.mapping();
    mapping.identities = Some(ids_path.clone());
    let plan = sync_engine::engine::preview(&env.state_path(), &mapping)
        .await
        .unwrap();
    assert_eq!(plan.summary().identities, 1);
    assert!(plan.to_string().contains("identities first"), "{plan}");
    let engine = env.engine(mapping).await;

    let report = engine.sync_now("docs").await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    env.emu.drain().await;
    let ids = emulator_identities(&env).await;
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(ids[0]["identity"]["name"], "HR");
    assert!(ids[0]["members"].to_string().contains("alice@example.com"));
    // Identities before items: the identity batch request precedes the item batch.
    let paths: Vec<String> = env
        .requests()
        .await
        .iter()
        .filter_map(|r| r["path"].as_str().map(str::to_string))
        .collect();
    let ids_at = paths.iter().position(|p| p.ends_with("/permissions/batch"));
    let items_at = paths.iter().position(|p| p.ends_with("/documents/batch"));
    assert!(
        ids_at.is_some() && items_at.is_some() && ids_at < items_at,
        "{paths:?}"
    );

    let identity_pushes = |paths: &[String]| {
        paths
            .iter()
            .filter(|p| p.ends_with("/permissions/batch"))
            .count()
    };
    assert_eq!(identity_pushes(&paths), 1);
    // Unchanged file: nothing planned, nothing pushed.
    let report = engine.sync_now("docs").await.unwrap();
    assert_eq!(report.plan.identities, 0);
    assert!(report.run.as_ref().is_none_or(|r| !r.identities_pushed));
    let paths: Vec<String> = env
        .requests()
        .await
        .iter()
        .filter_map(|r| r["path"].as_str().map(str::to_string))
        .collect();
    assert_eq!(identity_pushes(&paths), 1);

    // Changed file: pushed again.
    std::fs::write(&ids_path, group(&["alice@example.com", "bob@example.com"])).unwrap();
    let report = engine.sync_now("docs").await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert!(report.run.as_ref().unwrap().identities_pushed);
    env.emu.drain().await;
    let ids = emulator_identities(&env).await;
    assert!(
        ids[0]["members"].to_string().contains("bob@example.com"),
        "{ids:?}"
    );
}

#[tokio::test]
async fn an_item_rejected_in_processing_is_learned_from_the_source_logs() {
    let env = Env::start().await;
    env.write("a.txt", "a");
    env.write("sub/b.txt", "b");
    env.write("blob.bin", [0u8, 1, 2, 3]);
    // The engine's own checks let this item through; the emulator's processing rejects it.
    env.set_faults(serde_json::json!({"rejectItems": [
        {"documentIdContains": ".bin", "reason": "binary content cannot be indexed"}
    ]}))
    .await;
    let mut config = env.engine_config();
    config.poll_source_logs = true;
    config.source_log_interval = Duration::from_millis(100);
    let engine = sync_engine::engine::Engine::start(config, vec![env.mapping()])
        .await
        .unwrap();
    let mut events = engine.subscribe();
    // The API accepted all three (202): the run itself is complete.
    let report = engine.sync_now("docs").await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.run.as_ref().map(|r| r.pushed.len()), Some(3));

    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut rejected_event = None;
    loop {
        while let Ok(e) = events.try_recv() {
            if let Event::Item {
                path,
                result: ItemResult::Rejected { reason },
                ..
            } = e
            {
                rejected_event = Some((path, reason));
            }
        }
        let store = sync_engine::state::Store::open(&env.state_path()).unwrap();
        let states: Vec<(String, sync_engine::state::ItemState, Option<String>)> = store
            .items("docs")
            .unwrap()
            .into_iter()
            .map(|i| (i.path, i.state, i.reason))
            .collect();
        use sync_engine::state::ItemState::{Indexed, Rejected};
        let expected = vec![
            ("a.txt".to_string(), Indexed, None),
            (
                "blob.bin".to_string(),
                Rejected,
                Some("binary content cannot be indexed".to_string()),
            ),
            ("sub/b.txt".to_string(), Indexed, None),
        ];
        if states == expected && rejected_event.is_some() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not learned from the Source Logs: {states:?}, event {rejected_event:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        rejected_event,
        Some((
            "blob.bin".to_string(),
            "binary content cannot be indexed".to_string()
        ))
    );
    // The emulator holds the other two only.
    let held: Vec<String> = env.emulator_items().await.into_keys().collect();
    let want: Vec<String> = ["a.txt", "sub/b.txt"]
        .iter()
        .map(|p| sync_engine::plan::document_id(env.root(), p))
        .collect();
    assert_eq!(held, want);
    // An unchanged rejected file is not pushed again by the next run.
    let again = engine.sync_now("docs").await.unwrap();
    assert_eq!(again.run.map(|r| r.pushed.len()), Some(0));
}

/// 640 hex characters that compress poorly (distinct per `i`), so that batches fill up.
fn noise(i: usize) -> String {
    use sha2::{Digest, Sha256};
    (0..10)
        .map(|k| hex::encode(Sha256::digest(format!("{i}/{k}").as_bytes())))
        .collect()
}

/// A folder of `n` text files big enough that, with `max_batch_bytes` of 2,000, a run takes
/// many batches (a few items each); the emulator answers every Push request after
/// `latency_ms`.
async fn slow_many_batches(n: usize, latency_ms: u64) -> (Env, sync_engine::engine::EngineHandle) {
    let env = Env::start().await;
    for i in 0..n {
        env.write(&format!("f{i:02}.txt"), noise(i));
    }
    env.set_faults(serde_json::json!({"latencyMs": latency_ms}))
        .await;
    let mut config = env.engine_config();
    config.execute.max_batch_bytes = 2_000;
    // Only the runs the test asks for.
    config.scheduled_runs = false;
    let engine = sync_engine::engine::Engine::start(config, vec![env.mapping()])
        .await
        .unwrap();
    (env, engine)
}

#[tokio::test]
async fn pause_during_a_run_stops_between_batches_and_resume_sends_the_rest() {
    use sync_engine::state::ItemState;
    let (env, engine) = slow_many_batches(30, 40).await;
    let engine = std::sync::Arc::new(engine);
    let mut events = engine.subscribe();
    let run = tokio::spawn({
        let engine = std::sync::Arc::clone(&engine);
        async move { engine.sync_now("docs").await }
    });
    // Pause once the first batch was accepted.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let e = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("a batch is accepted")
            .unwrap();
        if let Event::FolderState {
            state: FolderState::Syncing { done, .. },
            ..
        } = e
        {
            if done > 0 {
                break;
            }
        }
    }
    engine.pause("docs").await.unwrap();
    let report = run.await.unwrap().unwrap();
    let ran = report.run.clone().unwrap();
    assert!(ran.paused, "{report:?}");
    assert!(!report.is_complete());
    assert!(
        !ran.pushed.is_empty() && ran.pushed.len() < 30,
        "pushed {} of 30",
        ran.pushed.len()
    );
    // After the pause, no progress shows: the folder stays paused.
    let mut after_pause = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let Event::FolderState { state, .. } = e {
            after_pause.push(state);
        }
    }
    let paused_at = after_pause
        .iter()
        .position(|s| *s == FolderState::Paused { reason: None })
        .expect("a paused state event");
    assert!(
        after_pause[paused_at..]
            .iter()
            .all(|s| *s == FolderState::Paused { reason: None }),
        "{after_pause:?}"
    );
    assert_eq!(
        engine.status().await.unwrap()[0].state,
        FolderState::Paused { reason: None }
    );

    // Nothing half-recorded: what the store records as accepted is exactly what the run
    // reports and what the emulator holds; the rest waits as pending.
    let store = sync_engine::state::Store::open(&env.state_path()).unwrap();
    let items = store.items("docs").unwrap();
    let accepted: Vec<&str> = items
        .iter()
        .filter(|i| i.state == ItemState::Accepted)
        .map(|i| i.path.as_str())
        .collect();
    let mut pushed: Vec<&str> = ran.pushed.iter().map(String::as_str).collect();
    pushed.sort();
    assert_eq!(accepted, pushed);
    assert!(items
        .iter()
        .all(|i| i.state == ItemState::Accepted || i.state == ItemState::Pending));
    let held: Vec<String> = env.emulator_items().await.into_keys().collect();
    let mut want: Vec<String> = pushed
        .iter()
        .map(|p| sync_engine::plan::document_id(env.root(), p))
        .collect();
    want.sort();
    assert_eq!(held, want);
    // Paused means paused: nothing is sent while it lasts.
    let requests = env.requests().await.len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.requests().await.len(), requests);

    // Resume: the rest goes, and the source equals the folder.
    engine.resume("docs").await.unwrap();
    let report = engine.sync_now("docs").await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(env.emulator_hashes().await, env.folder_hashes());
    let store = sync_engine::state::Store::open(&env.state_path()).unwrap();
    assert!(store
        .items("docs")
        .unwrap()
        .iter()
        .all(|i| i.state == ItemState::Accepted));
}

#[tokio::test]
async fn status_shows_syncing_n_of_n_while_the_run_uploads() {
    let (env, engine) = slow_many_batches(20, 40).await;
    let bytes_total: u64 = (0..20).map(|i| noise(i).len() as u64).sum();
    let engine = std::sync::Arc::new(engine);
    let mut events = engine.subscribe();
    let run = tokio::spawn({
        let engine = std::sync::Arc::clone(&engine);
        async move { engine.sync_now("docs").await }
    });
    let mut seen = Vec::new();
    while !run.is_finished() {
        let state = engine.status().await.unwrap()[0].state.clone();
        if let FolderState::Syncing { .. } = state {
            seen.push(state);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(run.await.unwrap().unwrap().is_complete());
    assert!(!seen.is_empty(), "status never said syncing");
    for s in &seen {
        let FolderState::Syncing {
            done,
            total,
            bytes_done,
            bytes_total: bt,
            ..
        } = s
        else {
            unreachable!()
        };
        assert_eq!((*total, *bt), (20, bytes_total), "{s:?}");
        assert!(*done <= 20 && *bytes_done <= bytes_total, "{s:?}");
    }
    // Part-way figures were seen, with a time left once something was sent.
    assert!(
        seen.iter().any(|s| matches!(s, FolderState::Syncing { done, eta_secs: Some(_), .. } if *done > 0 && *done < 20)),
        "{seen:?}"
    );
    // The events said the same things, in order: 0 of 20 first, 20 of 20 last.
    let mut syncing = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let Event::FolderState {
            state: s @ FolderState::Syncing { .. },
            ..
        } = e
        {
            syncing.push(s);
        }
    }
    for s in &seen {
        assert!(syncing.contains(s), "status {s:?} was never an event");
    }
    assert!(matches!(
        syncing.first(),
        Some(FolderState::Syncing { done: 0, .. })
    ));
    assert!(matches!(
        syncing.last(),
        Some(FolderState::Syncing { done: 20, .. })
    ));
    assert!(matches!(
        engine.status().await.unwrap()[0].state,
        FolderState::UpToDate { .. }
    ));
    drop(env);
}
