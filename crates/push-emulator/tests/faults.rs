//! Fault injection (deterministic from a seed), file container rules, and the absence of
//! per-request stalls.

mod common;

use std::time::{Duration, Instant};

use common::T;
use push_emulator::{EmulatorConfig, Faults};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn statuses(t: &T, n: usize) -> Vec<u16> {
    let url = t.push_url("/sources/documents/status?statusType=IDLE");
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(t.send(Method::POST, &url, None).await.status.as_u16());
    }
    out
}

#[tokio::test]
async fn throttling_and_error_bursts_are_deterministic_from_the_seed() {
    let t = T::new().await;
    let faults = json!({"seed": 42, "throttleShare": 0.3, "retryAfterSeconds": 7, "errorBurstShare": 0.1, "errorBurstLength": 2});
    let r = t
        .http
        .post(format!("{}/_emulator/v1/faults", t.emu.url()))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let first = statuses(&t, 60).await;
    t.http
        .post(format!("{}/_emulator/v1/faults", t.emu.url()))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert_eq!(
        first,
        statuses(&t, 60).await,
        "the same seed replays the same faults"
    );
    assert!(
        first.contains(&429) && first.contains(&503) && first.contains(&201),
        "{first:?}"
    );
    t.emu.set_faults(Faults {
        throttle_share: 1.0,
        retry_after_seconds: 7,
        ..Faults::default()
    });
    let a = t
        .send(
            Method::POST,
            &t.push_url("/sources/documents/status?statusType=IDLE"),
            None,
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_REQUESTS")
    );
    assert_eq!(a.headers["retry-after"], "7");
    // Inspection is never faulted.
    t.inspect("/requests").await;
}

#[tokio::test]
async fn dropped_connections_latency_and_failing_uploads() {
    let t = T::new().await;
    t.emu.set_faults(Faults {
        drop_share: 1.0,
        ..Faults::default()
    });
    let r = t
        .http
        .post(t.push_url("/sources/documents/status?statusType=IDLE"))
        .bearer_auth(t.emu.api_key())
        .send()
        .await;
    assert!(
        r.is_err(),
        "the connection is dropped without an answer: {r:?}"
    );
    t.emu.set_faults(Faults {
        latency_ms: 150,
        ..Faults::default()
    });
    let started = Instant::now();
    assert_eq!(statuses(&t, 1).await, [201]);
    assert!(started.elapsed() >= Duration::from_millis(150));
    t.emu.set_faults(Faults {
        upload_failure_share: 1.0,
        ..Faults::default()
    });
    let c = t.send(Method::POST, &t.push_url("/files"), None).await;
    let r = t
        .http
        .put(c.body["uploadUri"].as_str().unwrap())
        .header("x-amz-server-side-encryption", "AES256")
        .header("content-type", "application/octet-stream")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn daily_quota_and_item_limit() {
    let t = T::new().await;
    t.emu.set_faults(Faults {
        item_limit: Some(2),
        ..Faults::default()
    });
    for i in 0..2 {
        assert_eq!(
            t.put_item(&format!("file:///q/{i}"), "", json!({"data": "x"}))
                .await
                .status,
            StatusCode::ACCEPTED
        );
    }
    t.emu.drain().await;
    let a = t.put_item("file:///q/2", "", json!({"data": "x"})).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::PRECONDITION_FAILED, "DOCUMENT_LIMIT_EXCEEDED")
    );
    // Deletes still pass, and free room.
    let url = format!(
        "{}?documentId=file%3A%2F%2F%2Fq%2F0",
        t.push_url("/sources/documents/documents")
    );
    assert_eq!(
        t.send(Method::DELETE, &url, None).await.status,
        StatusCode::ACCEPTED
    );
    t.emu.drain().await;
    assert_eq!(
        t.put_item("file:///q/2", "", json!({"data": "x"}))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    t.emu.set_faults(Faults {
        daily_item_quota: Some(3),
        ..Faults::default()
    });
    t.emu.drain().await;
    let a = t.put_item("file:///q/3", "", json!({"data": "x"})).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_DOCUMENTS_DAILY")
    );
    assert!(
        a.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            <= 86_400
    );
    // A new UTC day resets the quota.
    t.emu.advance_clock(Duration::from_secs(86_400)).await;
    assert_eq!(
        t.put_item("file:///q/3", "", json!({"data": "x"}))
            .await
            .status,
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn uploads_need_exactly_the_required_headers_and_respect_size_expiry_and_single_use() {
    let t = T::with(EmulatorConfig {
        container_limit: 1024 * 1024,
        ..EmulatorConfig::default()
    })
    .await;
    let c = t
        .send(
            Method::POST,
            &t.push_url("/files?useVirtualHostedStyleUrl=true"),
            None,
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED);
    assert_eq!(
        c.body["requiredHeaders"],
        json!({"x-amz-server-side-encryption": "AES256", "Content-Type": "application/octet-stream"})
    );
    let uri = c.body["uploadUri"].as_str().unwrap().to_owned();
    assert!(uri.starts_with(t.emu.url()));
    let put = |sse: Option<&str>, ct: Option<&str>, auth: bool| {
        let mut r = t.http.put(&uri).body("{}");
        if let Some(v) = sse {
            r = r.header("x-amz-server-side-encryption", v);
        }
        if let Some(v) = ct {
            r = r.header("content-type", v);
        }
        if auth {
            r = r.bearer_auth(t.emu.api_key());
        }
        r
    };
    let code = |r: reqwest::Response| r.status();
    assert_eq!(
        code(
            put(Some("AES256"), Some("application/octet-stream"), true)
                .send()
                .await
                .unwrap()
        ),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        code(
            put(None, Some("application/octet-stream"), false)
                .send()
                .await
                .unwrap()
        ),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        code(
            put(Some("aws:kms"), Some("application/octet-stream"), false)
                .send()
                .await
                .unwrap()
        ),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        code(
            put(Some("AES256"), Some("application/json"), false)
                .send()
                .await
                .unwrap()
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let tampered = t
        .http
        .put(uri.replace("Signature=", "Signature=x"))
        .header("x-amz-server-side-encryption", "AES256")
        .header("content-type", "application/octet-stream")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status(), StatusCode::FORBIDDEN);
    // Over the cap while streaming (chunked, no Content-Length): 413 before the end.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..40).map(|_| Ok(vec![b' '; 64 * 1024])).collect();
    let body = reqwest::Body::wrap_stream(futures_stream(chunks));
    let r = t
        .http
        .put(&uri)
        .header("x-amz-server-side-encryption", "AES256")
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    // Declared too large: refused at once.
    let r = t
        .http
        .put(&uri)
        .header("x-amz-server-side-encryption", "AES256")
        .header("content-type", "application/octet-stream")
        .body(vec![b' '; 1024 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A good upload, then expiry: after 60 minutes neither uploads nor batches accept it.
    assert_eq!(
        code(
            put(Some("AES256"), Some("application/octet-stream"), false)
                .send()
                .await
                .unwrap()
        ),
        StatusCode::OK
    );
    t.emu.advance_clock(Duration::from_secs(61 * 60)).await;
    assert_eq!(
        code(
            put(Some("AES256"), Some("application/octet-stream"), false)
                .send()
                .await
                .unwrap()
        ),
        StatusCode::FORBIDDEN
    );
    let file_id = c.body["fileId"].as_str().unwrap();
    let a = t
        .send(
            Method::PUT,
            &format!(
                "{}?fileId={file_id}",
                t.push_url("/sources/documents/documents/batch")
            ),
            None,
        )
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::PRECONDITION_FAILED, "INVALID_PARAMETER")
    );
    // Single use: a consumed container refuses a second upload.
    let fresh = t.upload(br#"{"addOrUpdate":[]}"#.to_vec()).await;
    t.send(
        Method::PUT,
        &format!(
            "{}?fileId={fresh}",
            t.push_url("/sources/documents/documents/batch")
        ),
        None,
    )
    .await;
    let containers = t.inspect("/containers").await;
    assert!(containers["containers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["fileId"] != fresh.as_str() || c["state"] == "CONSUMED"));
}

fn futures_stream(
    chunks: Vec<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_core_stream::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_core_stream::iter(chunks)
}

mod futures_core_stream {
    pub use futures::stream::{iter, Stream};
}

#[tokio::test]
async fn small_requests_on_one_connection_do_not_stall() {
    let t = T::new().await;
    let started = Instant::now();
    for i in 0..200 {
        let a = t
            .put_item(&format!("file:///n/{i}"), "", json!({"data": "x"}))
            .await;
        assert_eq!(a.status, StatusCode::ACCEPTED);
    }
    let elapsed = started.elapsed();
    // With Nagle stalls (40 ms per request) this would take 8 s; it takes well under 1 s.
    assert!(
        elapsed < Duration::from_secs(4),
        "200 small pushes took {elapsed:?}"
    );
    assert_eq!(t.items().await.len(), 200);
}
