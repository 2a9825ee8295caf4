//! Ingestion benchmark: small items per second through batches (file containers), MB/s of
//! large binaries, and sequential single pushes per second on one keep-alive connection.
//! Everything goes over real sockets to an in-process emulator; batch files are built before
//! the clock starts, so the figures are the emulator's (plus reqwest's) cost.
//!
//! Run: `cargo run -p push-emulator --release --example ingest_bench [-- SMALL_ITEMS]`

use std::time::{Duration, Instant};

use push_emulator::{Emulator, EmulatorConfig};
use serde_json::json;

/// Items per batch file: about 5 MB of small items, the size the JS client flushes at.
const ITEMS_PER_BATCH: usize = 25_000;
/// Batches uploaded concurrently (the JS client's default is 10 uploads in flight).
const IN_FLIGHT: usize = 4;

fn small_batch(start: usize, count: usize) -> Vec<u8> {
    let items: Vec<_> = (start..start + count)
        .map(|i| {
            json!({
                "documentId": format!("file:///bench/dir{}/file{i}.txt", i % 97),
                "data": format!("small item number {i} with a little text"),
                "title": format!("file{i}.txt"),
                "fileExtension": ".txt",
                "permanentid": format!("{i:060}"),
                "permissions": [{"allowAnonymous": false, "allowedPermissions": [{"identity": "HR", "identityType": "Group"}]}]
            })
        })
        .collect();
    serde_json::to_vec(&json!({"addOrUpdate": items, "delete": []})).unwrap_or_default()
}

/// CPU seconds this process used so far (user + system), from /proc (Linux); the machine
/// running the benchmark may be shared, so items per CPU second is printed beside wall time.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of stat, counted after the command name: indexes 11 and 12 here.
    (ticks(11) + ticks(12)) / 100.0
}

async fn push_file(
    http: &reqwest::Client,
    emu: &Emulator,
    body: Vec<u8>,
) -> Result<String, reqwest::Error> {
    let base = format!("{}/push/v1/organizations/sandbox", emu.url());
    let c: serde_json::Value = http
        .post(format!("{base}/files"))
        .bearer_auth(emu.api_key())
        .send()
        .await?
        .json()
        .await?;
    let mut put = http
        .put(c["uploadUri"].as_str().unwrap_or_default())
        .body(body);
    if let Some(headers) = c["requiredHeaders"].as_object() {
        for (k, v) in headers {
            put = put.header(k.as_str(), v.as_str().unwrap_or_default());
        }
    }
    put.send().await?.error_for_status()?;
    Ok(c["fileId"].as_str().unwrap_or_default().to_owned())
}

async fn small_items(
    config: EmulatorConfig,
    total: usize,
    label: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let emu = Emulator::start(config).await?;
    let http = reqwest::Client::new();
    let bodies: Vec<Vec<u8>> = (0..total.div_ceil(ITEMS_PER_BATCH))
        .map(|b| {
            small_batch(
                b * ITEMS_PER_BATCH,
                ITEMS_PER_BATCH.min(total - b * ITEMS_PER_BATCH),
            )
        })
        .collect();
    let bytes: usize = bodies.iter().map(Vec::len).sum();
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let mut pending = bodies.into_iter();
    loop {
        let chunk: Vec<Vec<u8>> = pending.by_ref().take(IN_FLIGHT).collect();
        if chunk.is_empty() {
            break;
        }
        let uploads = chunk.into_iter().map(|body| {
            let http = http.clone();
            let emu = &emu;
            async move {
                let file_id = push_file(&http, emu, body).await?;
                let url = format!("{}/push/v1/organizations/sandbox/sources/documents/documents/batch?fileId={file_id}", emu.url());
                http.put(url).bearer_auth(emu.api_key()).send().await?.error_for_status()?;
                Ok::<(), reqwest::Error>(())
            }
        });
        for r in futures::future::join_all(uploads).await {
            r?;
        }
    }
    let accepted = started.elapsed();
    emu.drain().await;
    let processed = started.elapsed();
    let cpu = cpu_seconds() - cpu_before;
    println!(
        "small items ({label}): {total} items ({:.1} MB of batch files) accepted in {:.2} s, processed in {:.2} s -> {:.0} items/s ({:.1} CPU s, {:.0} items per CPU second)",
        bytes as f64 / 1e6,
        accepted.as_secs_f64(),
        processed.as_secs_f64(),
        total as f64 / processed.as_secs_f64(),
        cpu,
        total as f64 / cpu.max(0.01)
    );
    Ok(())
}

async fn large_binaries(count: usize, size: usize) -> Result<(), Box<dyn std::error::Error>> {
    let emu = Emulator::start(EmulatorConfig::default()).await?;
    let http = reqwest::Client::new();
    let mut x: u64 = 0x9e37_79b9;
    let blob: Vec<u8> = (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let started = Instant::now();
    for i in 0..count {
        let file_id = push_file(&http, &emu, blob.clone()).await?;
        let url = format!(
            "{}/push/v1/organizations/sandbox/sources/documents/documents?documentId=file%3A%2F%2F%2Fbig%2F{i}.bin&compressionType=UNCOMPRESSED",
            emu.url()
        );
        http.put(url)
            .bearer_auth(emu.api_key())
            .json(&json!({"compressedBinaryDataFileId": file_id, "fileExtension": ".bin"}))
            .send()
            .await?
            .error_for_status()?;
    }
    emu.drain().await;
    let elapsed = started.elapsed();
    let mb = (count * size) as f64 / 1e6;
    println!(
        "large binaries: {count} x {:.0} MB uploaded and processed (sha256) in {:.2} s -> {:.0} MB/s",
        size as f64 / 1e6,
        elapsed.as_secs_f64(),
        mb / elapsed.as_secs_f64()
    );
    Ok(())
}

async fn single_pushes(count: usize) -> Result<(), Box<dyn std::error::Error>> {
    let emu = Emulator::start(EmulatorConfig::default()).await?;
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    for i in 0..count {
        let t = Instant::now();
        let url = format!(
            "{}/push/v1/organizations/sandbox/sources/documents/documents?documentId=file%3A%2F%2F%2Fs%2F{i}",
            emu.url()
        );
        http.put(url)
            .bearer_auth(emu.api_key())
            .json(&json!({"data": "x"}))
            .send()
            .await?
            .error_for_status()?;
        slowest = slowest.max(t.elapsed());
    }
    emu.drain().await;
    let elapsed = started.elapsed();
    println!(
        "single pushes: {count} sequential PUTs on one connection in {:.2} s -> {:.0} requests/s (slowest {:.1} ms)",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64(),
        slowest.as_secs_f64() * 1e3
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let total: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    small_items(EmulatorConfig::default(), total, "in memory").await?;
    let dir = tempfile::tempdir()?;
    let persistent = EmulatorConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..EmulatorConfig::default()
    };
    small_items(persistent, total / 2, "--data, SQLite").await?;
    large_binaries(8, 32 * 1024 * 1024).await?;
    single_pushes(5_000).await?;
    Ok(())
}
