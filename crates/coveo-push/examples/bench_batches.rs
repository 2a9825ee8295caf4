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

    // Baseline: gzip -1 on the same bytes, one file at a time (one core), then two at a time.
    let list = dir.path().join("files.txt");
    std::fs::write(
        &list,
        files
            .iter()
            .map(|f| format!("{}\n", f.display()))
            .collect::<String>(),
    )?;
    let (gzip_secs, gzip_cpu) = timed_shell(&format!(
        "while read f; do gzip -1 -c \"$f\" > /dev/null; done < '{}'",
        list.display()
    ))?;
    let (gzip2_secs, _) = timed_shell(&format!(
        "xargs -P 2 -I{{}} sh -c 'gzip -1 -c \"$1\" > /dev/null' _ {{}} < '{}'",
        list.display()
    ))?;

    let (url, counters) = common::start().await;
    let config = ClientConfig::new("bench", ApiKey::new("k"))
        .with_endpoint(Endpoint::custom(&url)?)
        .with_proxy(ProxyConfig::Direct);
    let client = PushClient::new(config)?;
    let cpu_before = common::cpu_seconds();
    let started = Instant::now();
    let mut batcher = Batcher::new(client, BatcherConfig::new("src"));
    for f in &files {
        batcher.add(Document::from_path(f)?).await?;
    }
    let summary = batcher.finish().await?;
    let push_secs = started.elapsed().as_secs_f64();
    let push_cpu = common::cpu_seconds() - cpu_before;
    let sent = counters.bytes.load(std::sync::atomic::Ordering::Relaxed);

    println!(
        "batcher   : {:.2} s wall, {:.2} s CPU, {:.1} MB/s in; {} batches, {} items, {:.1} MB uploaded (exact count: {}), problems {}",
        push_secs,
        push_cpu,
        mb / push_secs,
        summary.batches_accepted,
        summary.added.len(),
        sent as f64 / 1e6,
        summary.bytes_uploaded == sent,
        summary.item_problems.len() + summary.batch_problems.len()
    );
    println!(
        "gzip -1   : {:.2} s wall, {:.2} s CPU, {:.1} MB/s in (one file at a time)",
        gzip_secs,
        gzip_cpu,
        mb / gzip_secs
    );
    println!(
        "gzip -1 x2: {:.2} s wall, {:.1} MB/s in (xargs -P 2)",
        gzip2_secs,
        mb / gzip2_secs
    );
    println!(
        "ratio     : batcher / gzip -1 = {:.2}x wall, {:.2}x CPU-time efficiency",
        gzip_secs / push_secs,
        gzip_cpu / push_cpu.max(1e-9)
    );
    println!("peak RSS: {} kB", common::peak_rss_kb());
    Ok(())
}

/// Runs `script` with `sh -c` under `/usr/bin/time`; returns (wall s, user+sys CPU s).
fn timed_shell(script: &str) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let out = std::process::Command::new("/usr/bin/time")
        .args(["-f", "%e %U %S", "sh", "-c", script])
        .output()?;
    if !out.status.success() {
        return Err(format!("baseline failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or("");
    let v: Vec<f64> = last
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    match v[..] {
        [wall, user, sys] => Ok((wall, user + sys)),
        _ => Err(format!("cannot read /usr/bin/time output {last:?}").into()),
    }
}
