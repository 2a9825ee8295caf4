//! A local server that answers like the Push API and discards uploads (counting bytes), for
//! the benchmark examples.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures::StreamExt;

#[derive(Default)]
pub struct Counters {
    pub bytes: AtomicU64,
    pub files: AtomicU64,
    pub url: std::sync::OnceLock<String>,
}

pub async fn start() -> (String, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let app = Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::disable())
        .with_state(counters.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let _ = counters.url.set(url.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, counters)
}

async fn handle(State(c): State<Arc<Counters>>, method: Method, uri: Uri, body: Body) -> Response {
    let mut stream = body.into_data_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        if uri.path().starts_with("/upload/") {
            c.bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
    }
    if method == Method::POST && uri.path().ends_with("/files") {
        let n = c.files.fetch_add(1, Ordering::Relaxed);
        let url = c.url.get().cloned().unwrap_or_default();
        let body = serde_json::json!({
            "uploadUri": format!("{url}/upload/{n}"),
            "fileId": format!("file-{n}"),
            "requiredHeaders": {"x-amz-server-side-encryption": "AES256", "Content-Type": "application/octet-stream"}
        });
        return (StatusCode::CREATED, body.to_string()).into_response();
    }
    if uri.path().starts_with("/upload/") {
        return StatusCode::OK.into_response();
    }
    StatusCode::ACCEPTED.into_response()
}

/// VmHWM (peak resident set) of this process, in kB.
pub fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.to_string())
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// Deterministic pseudo-random generator (xorshift), so corpora are the same on every run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const WORDS: &[&str] = &[
    "policy",
    "employee",
    "the",
    "of",
    "and",
    "benefits",
    "leave",
    "manager",
    "request",
    "approval",
    "document",
    "section",
    "shall",
    "must",
    "within",
    "days",
    "report",
    "travel",
    "expense",
    "security",
    "access",
    "data",
    "customer",
    "contract",
    "payment",
    "invoice",
    "review",
    "quarter",
    "annual",
    "team",
    "project",
    "deadline",
    "budget",
    "training",
    "compliance",
    "office",
    "remote",
    "schedule",
    "holiday",
    "insurance",
];

/// Appends `len` bytes of word-like text (compresses about 3-4x, like prose).
pub fn text(rng: &mut Rng, len: usize, out: &mut Vec<u8>) {
    let start = out.len();
    while out.len() - start < len {
        let w = WORDS[(rng.next() % WORDS.len() as u64) as usize];
        out.extend_from_slice(w.as_bytes());
        out.push(if rng.next() % 12 == 0 { b'\n' } else { b' ' });
    }
    out.truncate(start + len);
}

/// Appends `len` bytes of noise (does not compress, like media).
pub fn noise(rng: &mut Rng, len: usize, out: &mut Vec<u8>) {
    let end = out.len() + len;
    out.reserve(len);
    while out.len() + 8 <= end {
        out.extend_from_slice(&rng.next().to_le_bytes());
    }
    while out.len() < end {
        out.push(rng.next() as u8);
    }
}

/// User + system CPU seconds of this process so far (from /proc/self/stat, 100 ticks/s).
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}
