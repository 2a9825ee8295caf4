//! Benchmark: peak memory while pushing one 1 GB file (a log file, so it compresses below the
//! 256 MB container limit) to a local server. Reads VmHWM from /proc/self/status.
//!
//! Run: `cargo run --release -p coveo-push --example bench_rss [MB]`

#[path = "common/mod.rs"]
mod common;

use std::io::Write;
use std::time::Instant;

use coveo_push::{ApiKey, ClientConfig, Document, Endpoint, ProxyConfig, PushClient};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mb: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1024);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("big.log");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let mut rng = common::Rng(42);
        let mut buf = Vec::with_capacity(1 << 20);
        for _ in 0..mb {
            buf.clear();
            while buf.len() < 1 << 20 {
                let line = format!(
                    "2026-11-28T23:{:02}:{:02}Z INFO request id={} user=u{} status={} path=/api/items/{}\n",
                    rng.next() % 60,
                    rng.next() % 60,
                    rng.next() % 1_000_000,
                    rng.next() % 500,
                    [200, 200, 200, 404, 500][(rng.next() % 5) as usize],
                    rng.next() % 10_000
                );
                buf.extend_from_slice(line.as_bytes());
            }
            buf.truncate(1 << 20);
            out.write_all(&buf)?;
        }
        out.flush()?;
    }
    let size = std::fs::metadata(&path)?.len();
    let before = common::peak_rss_kb();
    println!(
        "file: {:.0} MB; peak RSS before pushing: {} kB",
        size as f64 / 1e6,
        before
    );

    let (url, counters) = common::start().await;
    let config = ClientConfig::new("bench", ApiKey::new("k"))
        .with_endpoint(Endpoint::custom(&url)?)
        .with_proxy(ProxyConfig::Direct)
        .with_temp_dir(dir.path());
    let client = PushClient::new(config)?;
    let started = Instant::now();
    client
        .push_document("src", &Document::from_path(&path)?, None)
        .await?;
    let secs = started.elapsed().as_secs_f64();
    let uploaded = counters.bytes.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "pushed in {:.1} s ({:.0} MB/s); uploaded {:.1} MB compressed; peak RSS: {} kB ({:.1} MB)",
        secs,
        size as f64 / 1e6 / secs,
        uploaded as f64 / 1e6,
        common::peak_rss_kb(),
        common::peak_rss_kb() as f64 / 1024.0
    );
    Ok(())
}
