//! Kill -9 of a sync process at random points, then a restart: the emulator's items must equal
//! the folder exactly (documentIds and content hashes). `CRASH_KILL_POINTS` sets how many kills
//! (default 5); `CRASH_SEED` the seed of the kill delays and edits.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Env;
use rand::{Rng, SeedableRng};

fn sync_once_binary() -> PathBuf {
    // `cargo test -p sync-engine` builds the examples next to the test binaries
    // (target/debug/examples); `cargo test --test crash` does not, so build it then.
    let exe = std::env::current_exe().unwrap();
    let debug = exe.parent().unwrap().parent().unwrap();
    let path = debug
        .join("examples")
        .join(format!("sync_once{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "sync-engine", "--example", "sync_once"])
            .status()
            .unwrap();
        assert!(status.success(), "building the sync_once example failed");
    }
    path
}

fn spawn(env: &Env) -> std::process::Child {
    Command::new(sync_once_binary())
        .arg(env.root())
        .arg(env.state_path())
        .arg(env.emu.url())
        .env("COVEO_API_KEY", env.emu.api_key())
        .env("SYNC_ONCE_BATCH_BYTES", "2048")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sync_once example is built by cargo test")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_at_random_points_then_restart_converges() {
    let kills: usize = std::env::var("CRASH_KILL_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(11);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut config = push_emulator::EmulatorConfig::default();
    config.organizations[0].sources.push("probe".into());
    let env = Env::start_with(config).await;
    for i in 0..60 {
        env.write(
            &format!("d{}/f{i}.txt", i % 5),
            format!("content {i} ").repeat(40),
        );
    }
    // How long does one uninterrupted first sync take (into another source)? Kill points are
    // drawn within it.
    let probe = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let status = Command::new(sync_once_binary())
        .arg(env.root())
        .arg(probe.path().join("probe.db"))
        .arg(env.emu.url())
        .arg("sandbox")
        .arg("probe")
        .env("COVEO_API_KEY", env.emu.api_key())
        .env("SYNC_ONCE_BATCH_BYTES", "2048")
        .status()
        .unwrap();
    assert!(status.success());
    let span = started.elapsed().max(Duration::from_millis(50));

    // (kill delay in ms, items in the source after the kill), printed for the record.
    let mut counts = Vec::new();
    for k in 0..kills {
        let mut child = spawn(&env);
        let delay = rng.gen_range(0..=span.as_millis() as u64);
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
        counts.push((delay, env.emulator_hashes().await.len()));
        // Change the folder between crashes, enough for several batches: edits, a delete,
        // new files, a move.
        for i in (k % 3..60).step_by(3) {
            let p = env.root().join(format!("d{}/f{i}.txt", i % 5));
            if p.exists() {
                std::fs::write(&p, format!("edit {k} of {i} ").repeat(30)).unwrap();
            }
        }
        let _ = std::fs::remove_file(env.root().join(format!("d1/f{}.txt", 1 + (k % 12) * 5)));
        env.write(&format!("new/n{k}.txt"), format!("new {k}"));
        let from = env.root().join(format!("d3/f{}.txt", 3 + (k % 12) * 5));
        if from.exists() {
            std::fs::create_dir_all(env.root().join("moved")).unwrap();
            let _ = std::fs::rename(&from, env.root().join(format!("moved/m{k}.txt")));
        }
    }
    eprintln!("kill points (ms after start, items in the source): {counts:?}");
    let out = spawn(&env).wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "final run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(env.emulator_hashes().await, env.folder_hashes());
}
