//! What a front needs to draw a folder's card comes from the engine: `status()` and the
//! `FolderState` event carry the item count the state store records, the end of the last full
//! sync and the mapping, and `recorded_paths()` lists the recorded items. Real folder, real
//! state store, the real emulator.

mod common;

use common::Env;
use sync_engine::engine::{
    Engine, EngineError, EngineHandle, Event, FolderCard, FolderState, FolderStatus,
};
use tokio::sync::broadcast::Receiver;

/// An engine that runs only what it is asked to (no run at start, no rescans).
async fn engine(env: &Env) -> EngineHandle {
    let mut config = env.engine_config();
    config.scheduled_runs = false;
    Engine::start(config, vec![env.mapping()])
        .await
        .expect("engine starts")
}

/// Every `FolderState` event received so far, with its card.
fn state_events(events: &mut Receiver<Event>) -> Vec<(FolderState, FolderCard)> {
    let mut out = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let Event::FolderState { state, card, .. } = e {
            out.push((state, *card));
        }
    }
    out
}

async fn status(engine: &EngineHandle) -> FolderStatus {
    let mut all = engine.status().await.unwrap();
    assert_eq!(all.len(), 1);
    all.remove(0)
}

/// The card of the last event agrees with the status.
fn assert_same_card(last: &(FolderState, FolderCard), status: &FolderStatus) {
    let (state, card) = last;
    assert_eq!(state, &status.state);
    assert_eq!(card.mapping, status.mapping);
    assert_eq!(card.item_count, status.item_count);
    assert_eq!(card.last_full_sync_ms, status.last_full_sync_ms);
    assert_eq!(card.paused_until_ms, status.paused_until_ms);
}

#[tokio::test]
async fn the_card_counts_recorded_items_after_a_sync_and_after_deletes() {
    let env = Env::start().await;
    for i in 0..5 {
        env.write(&format!("f{i}.txt"), format!("file {i}"));
    }
    let engine = engine(&env).await;
    let before = status(&engine).await;
    assert_eq!((before.item_count, before.last_full_sync_ms), (0, None));
    assert!(engine.recorded_paths("docs").await.unwrap().is_empty());
    let mut events = engine.subscribe();

    assert!(engine.sync_now("docs").await.unwrap().is_complete());
    // The status answers after the run's end was handled: its events are out.
    let after_sync = status(&engine).await;
    assert_eq!(after_sync.item_count, 5);
    assert!(after_sync.last_full_sync_ms.is_some());
    let seen = state_events(&mut events);
    let last = seen.last().expect("the run's end is an event");
    assert!(
        matches!(last.0, FolderState::UpToDate { problems: 0 }),
        "{seen:?}"
    );
    assert_same_card(last, &after_sync);
    // While it synced, the card already counted the items being sent (recorded as pending
    // before the first batch).
    let syncing: Vec<u64> = seen
        .iter()
        .filter(|(s, _)| matches!(s, FolderState::Syncing { .. }))
        .map(|(_, c)| c.item_count)
        .collect();
    assert!(!syncing.is_empty(), "{seen:?}");
    assert!(syncing.iter().all(|&n| n == 5), "{syncing:?}");
    assert_eq!(
        engine.recorded_paths("docs").await.unwrap(),
        ["f0.txt", "f1.txt", "f2.txt", "f3.txt", "f4.txt"]
    );

    // Deletes: the accepted deletes leave the count and the recorded paths.
    std::fs::remove_file(env.root().join("f1.txt")).unwrap();
    std::fs::remove_file(env.root().join("f3.txt")).unwrap();
    let report = engine.sync_now("docs").await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.plan.deletes, 2);
    let after_deletes = status(&engine).await;
    assert_eq!(after_deletes.item_count, 3);
    assert!(after_deletes.last_full_sync_ms >= after_sync.last_full_sync_ms);
    let seen = state_events(&mut events);
    assert_same_card(
        seen.last().expect("the run's end is an event"),
        &after_deletes,
    );
    assert_eq!(
        engine.recorded_paths("docs").await.unwrap(),
        ["f0.txt", "f2.txt", "f4.txt"]
    );
    engine.shutdown().await;

    // A new engine counts at start, before any run.
    let engine = self::engine(&env).await;
    let restarted = status(&engine).await;
    assert_eq!(restarted.item_count, 3);
    assert_eq!(restarted.last_full_sync_ms, after_deletes.last_full_sync_ms);
    engine.shutdown().await;
}

#[tokio::test]
async fn a_settings_change_sends_the_new_card_a_removal_ends_them_and_unknown_folders_are_refused()
{
    let env = Env::start().await;
    env.write("a.txt", "alpha");
    let engine = engine(&env).await;
    assert!(matches!(
        engine.recorded_paths("nope").await,
        Err(EngineError::UnknownFolder(name)) if name == "nope"
    ));
    let mut events = engine.subscribe();
    let mut mapping = env.mapping();
    mapping.filters = vec!["- *.tmp".into()];
    engine.change_folder(mapping.clone()).await.unwrap();
    let seen = state_events(&mut events);
    // The change's own event comes first (a run it queued may follow).
    let (_, card) = seen.first().expect("the change is an event");
    assert_eq!(card.mapping, mapping);
    assert_eq!(status(&engine).await.mapping, mapping);

    // Removed: the fronts hear it (a card they still hold is stale), and the engine no
    // longer knows the folder.
    engine.remove_folder("docs").await.unwrap();
    let mut removed = false;
    while let Ok(e) = events.try_recv() {
        match e {
            Event::FolderRemoved { folder } => {
                assert_eq!(folder, "docs");
                removed = true;
            }
            Event::FolderState { .. } => assert!(!removed, "a card after the removal"),
            _ => {}
        }
    }
    assert!(removed);
    assert!(matches!(
        engine.recorded_paths("docs").await,
        Err(EngineError::UnknownFolder(_))
    ));
    engine.shutdown().await;
}
