//! Watch latency: from a file saved to its item accepted by the emulator (the "batch accepted"
//! answer), over N saves. `cargo run --release -p sync-engine --example bench_watch -- [N]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use coveo_push::{ApiKey, ClientConfig, Endpoint, PushClient};
use sync_engine::config::FolderMapping;
use sync_engine::engine::{Engine, EngineConfig, Event, ItemResult};

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let emu = push_emulator::Emulator::start(push_emulator::EmulatorConfig::default())
        .await
        .unwrap();
    let url = emu.url().to_string();
    let key = emu.api_key().to_string();
    let dir = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let clients: sync_engine::engine::ClientFactory = Arc::new(move |m: &FolderMapping| {
        PushClient::new(
            ClientConfig::new(m.organization.clone(), ApiKey::new(key.clone()))
                .with_endpoint(Endpoint::custom(&url)?),
        )
    });
    let mut config = EngineConfig::new(state.path().join("state.db"), clients);
    config.poll_source_logs = false;
    let mut mapping = FolderMapping::new("bench", dir.path(), "sandbox", "documents");
    mapping.watch = true;
    let engine = Engine::start(config, vec![mapping]).await.unwrap();
    let mut events = engine.subscribe();
    engine.sync_now("bench").await.unwrap();
    let mut latencies = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("sub{}/note{i}.txt", i % 5);
        std::fs::create_dir_all(dir.path().join(format!("sub{}", i % 5))).unwrap();
        let t = Instant::now();
        std::fs::write(dir.path().join(&name), format!("note {i}")).unwrap();
        let got = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match events.recv().await {
                    Ok(Event::Item {
                        path,
                        result: ItemResult::Pushed,
                        ..
                    }) if path == name => return,
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => return,
                }
            }
        })
        .await;
        if got.is_ok() {
            latencies.push(t.elapsed());
        } else {
            eprintln!("save {i} not accepted within 10 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "watch latency over {} saves: median {:?}, p99 {:?}, max {:?} (debounce {:?})",
        latencies.len(),
        pct(0.5),
        pct(0.99),
        latencies.last().copied().unwrap_or_default(),
        sync_engine::engine::DEFAULT_WATCH_DEBOUNCE
    );
}
