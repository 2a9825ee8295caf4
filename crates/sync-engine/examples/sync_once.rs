//! Syncs one folder once and exits: the process the crash test kills at random points.
//!
//! `sync_once FOLDER STATE_DB API_URL [ORG SOURCE]`, API key in `COVEO_API_KEY`.
//! `SYNC_ONCE_BATCH_BYTES` lowers the batch size (more batches, more kill points).
//! Exit status: 0 when every change was accepted, 1 with a problem list, 2 on an error.

use std::sync::Arc;

use coveo_push::{ApiKey, ClientConfig, Endpoint, PushClient};
use sync_engine::config::FolderMapping;
use sync_engine::engine::{Engine, EngineConfig};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: sync_once FOLDER STATE_DB API_URL [ORG SOURCE] (key in COVEO_API_KEY)");
        std::process::exit(2);
    }
    let org = args.get(4).cloned().unwrap_or_else(|| "sandbox".into());
    let source = args.get(5).cloned().unwrap_or_else(|| "documents".into());
    let Ok(key) = std::env::var("COVEO_API_KEY") else {
        eprintln!("set COVEO_API_KEY to the API key");
        std::process::exit(2);
    };
    let url = args[3].clone();
    let clients: sync_engine::engine::ClientFactory = Arc::new(move |m: &FolderMapping| {
        PushClient::new(
            ClientConfig::new(m.organization.clone(), ApiKey::new(key.clone()))
                .with_endpoint(Endpoint::custom(&url)?),
        )
    });
    let mut config = EngineConfig::new(&args[2], clients);
    config.poll_source_logs = false;
    config.execute.rebuild_queue_delay_minutes = 0;
    if let Some(bytes) = std::env::var("SYNC_ONCE_BATCH_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.execute.max_batch_bytes = bytes;
    }
    let mut mapping = FolderMapping::new("folder", &args[1], org, source);
    mapping.watch = false;
    mapping.safety.max_delete_count = u64::MAX;
    mapping.safety.max_delete_share = 1.0;
    let engine = match Engine::start(config, vec![mapping]).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let report = match engine.sync_now("folder").await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    engine.shutdown().await;
    println!(
        "{} pushed, {} deleted",
        report.run.as_ref().map_or(0, |r| r.pushed.len()),
        report.run.as_ref().map_or(0, |r| r.deleted.len())
    );
    if report.is_complete() {
        std::process::exit(0);
    }
    for p in report
        .scan_problems
        .iter()
        .chain(report.run.iter().flat_map(|r| r.problems.iter()))
    {
        eprintln!("{}: {} ({})", p.path, p.message, p.kind.what_to_do());
    }
    if let Some(brake) = &report.brake {
        eprintln!("{brake}");
    }
    std::process::exit(1);
}
