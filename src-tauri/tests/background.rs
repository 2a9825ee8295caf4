//! Syncing in the background, against a real [`Host`] (embedded Sandbox, engine, SQLite):
//! "pause all" from the tray pauses every folder until its end and then resumes only the
//! folders it paused, also across a restart; and a folder that halts raises one desktop
//! notification (`pushdeck_app::companion`, fed by the host's own events), however often the
//! engine looks again.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pushdeck_app::companion::{Companion, Notice};
use pushdeck_app::dto::*;
use pushdeck_app::host::{Host, HostPaths};

const TIMEOUT: Duration = Duration::from_secs(60);

struct Fixture {
    _dirs: tempfile::TempDir,
    paths: HostPaths,
    host: Arc<Host>,
    notices: Arc<Mutex<Vec<Notice>>>,
}

async fn start(dirs: tempfile::TempDir) -> Fixture {
    let paths = HostPaths {
        config_dir: dirs.path().join("config"),
        data_dir: dirs.path().join("data"),
    };
    let companion = Arc::new(Mutex::new(Companion::default()));
    let notices = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let (companion, notices) = (companion.clone(), notices.clone());
        Arc::new(move |event: HostEvent| {
            if let Some(n) = companion.lock().unwrap().on_event(&event) {
                notices.lock().unwrap().push(n);
            }
        })
    };
    let host = Host::start(paths.clone(), sink).await.unwrap();
    Fixture {
        _dirs: dirs,
        paths,
        host,
        notices,
    }
}

async fn add(host: &Host, dir: &std::path::Path, name: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("a.txt"), format!("{name} a")).unwrap();
    host.add_folder(AddFolderRequest {
        path: dir.display().to_string(),
        name: name.into(),
        source_id: String::new(),
        include: vec![],
        exclude: vec![],
    })
    .await
    .unwrap();
    let plan = host
        .plan_folder(FolderRef {
            folder_id: name.into(),
        })
        .await
        .unwrap();
    host.confirm_plan(ConfirmPlanRequest {
        folder_id: name.into(),
        plan_id: plan.plan_id,
    })
    .await
    .unwrap();
    wait(host, name, "up to date", |s| {
        matches!(s, FolderState::UpToDate { problems: 0 })
    })
    .await;
}

async fn wait(host: &Host, name: &str, what: &str, ok: impl Fn(&FolderState) -> bool) {
    let start = Instant::now();
    loop {
        let folders = host.list_folders().await.unwrap();
        let f = folders.iter().find(|f| f.id == name).unwrap();
        if ok(&f.state) {
            return;
        }
        assert!(
            start.elapsed() < TIMEOUT,
            "{name} never {what}: {:?}",
            f.state
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn paused(s: &FolderState) -> bool {
    matches!(s, FolderState::Paused { reason: None })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_all_pauses_every_folder_and_resume_all_resumes_only_those_it_paused() {
    let fx = start(tempfile::tempdir().unwrap()).await;
    let docs = tempfile::tempdir().unwrap();
    add(&fx.host, &docs.path().join("one"), "One").await;
    add(&fx.host, &docs.path().join("two"), "Two").await;
    add(&fx.host, &docs.path().join("three"), "Three").await;
    // The person paused Three before.
    fx.host
        .folder_action(FolderActionRequest {
            folder_id: "Three".into(),
            action: FolderAction::Pause,
        })
        .await
        .unwrap();

    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let state = fx
        .host
        .pause_all(PauseAllRequest {
            duration: PauseAllFor::OneHour,
        })
        .await
        .unwrap();
    let until = state.paused_until_ms.expect("a pause end");
    assert!(
        (before + 3_590_000..=before + 3_610_000).contains(&until),
        "an hour from now: {until} vs {before}"
    );
    for name in ["One", "Two", "Three"] {
        wait(&fx.host, name, "paused", paused).await;
    }
    // A file changed during the pause is not pushed.
    std::fs::write(docs.path().join("one/b.txt"), "during the pause").unwrap();
    fx.host
        .folder_action(FolderActionRequest {
            folder_id: "One".into(),
            action: FolderAction::Rescan,
        })
        .await
        .ok();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let one = fx.host.list_folders().await.unwrap();
    let one = one.iter().find(|f| f.id == "One").unwrap();
    assert!(paused(&one.state), "{:?}", one.state);
    assert_eq!(one.item_count, 1, "nothing pushed during the pause");

    let state = fx.host.resume_all().await.unwrap();
    assert_eq!(state.paused_until_ms, None);
    wait(&fx.host, "One", "resumed", |s| !paused(s)).await;
    wait(&fx.host, "Two", "resumed", |s| !paused(s)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let folders = fx.host.list_folders().await.unwrap();
    let three = folders.iter().find(|f| f.id == "Three").unwrap();
    assert!(
        paused(&three.state),
        "the person's own pause stays: {:?}",
        three.state
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_that_ended_while_the_app_was_closed_resumes_at_start() {
    let dirs = tempfile::tempdir().unwrap();
    let docs = tempfile::tempdir().unwrap();
    let config_dir;
    {
        let fx = start(dirs).await;
        add(&fx.host, &docs.path().join("one"), "One").await;
        fx.host
            .pause_all(PauseAllRequest {
                duration: PauseAllFor::OneHour,
            })
            .await
            .unwrap();
        wait(&fx.host, "One", "paused", paused).await;
        config_dir = fx.paths.config_dir.clone();
        // Move the end into the past, as if the app had been closed for an hour.
        let settings = config_dir.join("app.json");
        let mut json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&settings).unwrap()).unwrap();
        assert!(json["pausedAll"]["untilMs"].is_u64(), "{json}");
        json["pausedAll"]["untilMs"] = serde_json::json!(1);
        fx.host.clone().shutdown().await;
        std::fs::write(&settings, serde_json::to_vec(&json).unwrap()).unwrap();
        let fx2 = start_at(fx._dirs).await;
        wait(&fx2.host, "One", "resumed at start", |s| !paused(s)).await;
        assert_eq!(
            fx2.host.get_app_state().await.unwrap().paused_until_ms,
            None
        );
    }
}

async fn start_at(dirs: tempfile::TempDir) -> Fixture {
    start(dirs).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_that_halts_raises_one_notification() {
    let fx = start(tempfile::tempdir().unwrap()).await;
    let docs = tempfile::tempdir().unwrap();
    let root = docs.path().join("Notes");
    add(&fx.host, &root, "Notes").await;
    assert!(
        fx.notices.lock().unwrap().is_empty(),
        "syncing notifies nothing"
    );
    std::fs::rename(&root, docs.path().join("elsewhere")).unwrap();
    for _ in 0..3 {
        fx.host
            .folder_action(FolderActionRequest {
                folder_id: "Notes".into(),
                action: FolderAction::Rescan,
            })
            .await
            .ok();
        wait(&fx.host, "Notes", "halted", |s| {
            matches!(s, FolderState::NeedsAttention { .. })
        })
        .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let notices = fx.notices.lock().unwrap().clone();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].title, "Notes needs attention");
    assert!(
        notices[0].body.contains(&root.display().to_string())
            || notices[0].body.to_lowercase().contains("folder"),
        "{notices:?}"
    );
}
