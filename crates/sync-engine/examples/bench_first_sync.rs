//! First sync of 10,000 files (about 200 MB, mixed) to the emulator.
//!
//! `cargo run --release -p sync-engine --example bench_first_sync -- DIR [FILES]`
//! The emulator runs in a child process (this same binary, `emulator` mode), so the figures
//! are the sync engine's own: wall time, CPU time, peak RSS, and the HTTP requests made.

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use coveo_push::{ApiKey, ClientConfig, Endpoint, PushClient};
use sync_engine::config::FolderMapping;
use sync_engine::engine::{Engine, EngineConfig};

include!("support/figures.rs");

/// Sizes of the mixed tree, cycling: mostly small office-like files, some large ones.
const SIZES: &[usize] = &[
    2_000, 8_000, 15_000, 25_000, 50_000, 4_000, 30_000, 10_000, 50_000, 6_000,
];

fn prepare(dir: &Path, files: usize) -> u64 {
    let mut total = 0u64;
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for i in 0..files {
        let size = SIZES[i % SIZES.len()];
        let sub = dir.join(format!("team{:02}/year{}", i % 50, 2015 + i % 10));
        std::fs::create_dir_all(&sub).unwrap();
        let (name, bytes) = if i % 3 == 0 {
            // Text: compressible.
            let line = format!("Policy {i}: the quick brown fox jumps over the lazy dog.\n");
            (
                format!("doc{i}.txt"),
                line.repeat(size / line.len() + 1).into_bytes()[..size].to_vec(),
            )
        } else {
            // Binary: incompressible.
            let mut b = vec![0u8; size];
            for v in b.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *v = x as u8;
            }
            (format!("file{i}.pdf"), b)
        };
        total += bytes.len() as u64;
        std::fs::write(sub.join(name), bytes).unwrap();
    }
    total
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("emulator") {
        let emu = push_emulator::Emulator::start(push_emulator::EmulatorConfig::default())
            .await
            .unwrap();
        println!("{}", emu.url());
        // Serve until the parent closes our stdin.
        let _ = tokio::task::spawn_blocking(|| {
            let mut s = String::new();
            let _ = std::io::stdin().read_line(&mut s);
        })
        .await;
        return;
    }
    let Some(dir) = args.get(1) else {
        eprintln!("usage: bench_first_sync DIR [FILES]");
        std::process::exit(2);
    };
    let files: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let dir = Path::new(dir);
    let t = Instant::now();
    let bytes = prepare(dir, files);
    println!(
        "prepared {files} files, {:.1} MB, in {:.1}s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("emulator")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_string();
    let key = push_emulator::TEST_API_KEY.to_string();

    let state = tempfile::tempdir().unwrap();
    let u = url.clone();
    let clients: sync_engine::engine::ClientFactory = Arc::new(move |m: &FolderMapping| {
        PushClient::new(
            ClientConfig::new(m.organization.clone(), ApiKey::new(key.clone()))
                .with_endpoint(Endpoint::custom(&u)?),
        )
    });
    let mut config = EngineConfig::new(state.path().join("state.db"), clients);
    config.poll_source_logs = false;
    let mut mapping = FolderMapping::new("bench", dir, "sandbox", "documents");
    mapping.watch = false;
    let (cpu0, _) = process_figures();
    let t = Instant::now();
    let engine = Engine::start(config, vec![mapping]).await.unwrap();
    let report = engine.sync_now("bench").await.unwrap();
    let wall = t.elapsed().as_secs_f64();
    engine.shutdown().await;
    let (cpu1, rss) = process_figures();
    let requests: serde_json::Value = reqwest::get(format!("{url}/_emulator/v1/requests"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let requests = requests["requests"]
        .as_array()
        .map_or(0, |r| r.len().saturating_sub(0));
    let run = report.run.as_ref();
    println!(
        "first sync: {} items pushed, complete {} | wall {wall:.2}s cpu {:.2}s peak RSS {rss:.1} MB | {} batches, {:.1} MB uploaded | {} HTTP requests (emulator log)",
        run.map_or(0, |r| r.pushed.len()),
        report.is_complete(),
        cpu1 - cpu0,
        run.map_or(0, |r| r.batches),
        run.map_or(0, |r| r.bytes_uploaded) as f64 / 1e6,
        requests
    );
    drop(child.stdin.take());
    let _ = child.wait();
}
