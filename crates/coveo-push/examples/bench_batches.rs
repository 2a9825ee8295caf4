//! Benchmark: build, compress and serialize batches from a generated ~200 MB corpus of mixed
//! text and binary files, pushed through the Batcher to a local server that discards uploads.
//! Baseline: `gzip -1 -c FILE > /dev/null` over the same files.
//!
//! Run: `cargo run --release -p coveo-push --example bench_batches [MB]`

#[path = "common/mod.rs"]
mod common;

use std::time::Instant;

use coveo_push::{
    ApiKey, Batcher, BatcherConfig, ClientConfig, Document, Endpoint, ProxyConfig, PushClient,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target_mb: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir()?;
    let mut rng = common::Rng(0x9E37_79B9_7F4A_7C15);
    let mut files = Vec::new();
    let mut total = 0usize;
    let mut buf = Vec::new();
    let mut i = 0;
    // Mix: 60% text-like files (.txt/.html/.pdf-like), 25% binary that compresses a little,
    // 15% already-compressed media (.jpg). Sizes 20 KB .. 3 MB.
    while total < target_mb * 1_000_000 {
        buf.clear();
        let size = 20_000 + (rng.next() % 3_000_000) as usize;
        let kind = rng.next() % 100;
        let ext = if kind < 60 {
            common::text(&mut rng, size, &mut buf);
            if kind < 30 {
                "txt"
            } else {
                "html"
            }
        } else if kind < 85 {
            // half noise, half text: like PDFs or old Office binaries
            common::noise(&mut rng, size / 2, &mut buf);
            common::text(&mut rng, size - size / 2, &mut buf);
            "doc"
        } else {
            common::noise(&mut rng, size, &mut buf);
            "jpg"
        };
        let path = dir.path().join(format!("f{i:05}.{ext}"));
        std::fs::write(&path, &buf)?;
        total += buf.len();
        files.push(path);
        i += 1;
    }
    let mb = total as f64 / 1e6;
    println!(
        "corpus: {} files, {:.1} MB in {}",
        files.len(),
        mb,
        dir.path().display()
    );

    // Baseline: gzip -1 on the same bytes (single process, one file at a time).
    let started = Instant::now();
    for f in &files {
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("gzip -1 -c '{}' > /dev/null", f.display()))
            .status()?;
        if !status.success() {
            return Err("gzip failed".into());
        }
    }
    let gzip_secs = started.elapsed().as_secs_f64();

    let (url, counters) = common::start().await;
    let config = ClientConfig::new("bench", ApiKey::new("k"))
        .with_endpoint(Endpoint::custom(&url)?)
        .with_proxy(ProxyConfig::Direct);
    let client = PushClient::new(config)?;
    let started = Instant::now();
    let mut batcher = Batcher::new(client, BatcherConfig::new("src"));
    for f in &files {
        batcher.add(Document::from_path(f)?).await?;
    }
    let summary = batcher.finish().await?;
    let push_secs = started.elapsed().as_secs_f64();
    let sent = counters.bytes.load(std::sync::atomic::Ordering::Relaxed);

    println!(
        "batcher: {:.2} s, {:.1} MB/s in, {} batches, {} items, {:.1} MB uploaded (exact count {}), problems {}",
        push_secs,
        mb / push_secs,
        summary.batches_accepted,
        summary.added.len(),
        sent as f64 / 1e6,
        summary.bytes_uploaded == sent,
        summary.item_problems.len() + summary.batch_problems.len()
    );
    println!(
        "gzip -1 : {:.2} s, {:.1} MB/s in",
        gzip_secs,
        mb / gzip_secs
    );
    println!(
        "ratio   : batcher is {:.2}x the speed of gzip -1",
        gzip_secs / push_secs
    );
    println!("peak RSS: {} kB", common::peak_rss_kb());
    Ok(())
}
