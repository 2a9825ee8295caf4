//! Retry behaviour against scripted servers, with the injected clock so every wait is exact.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use coveo_push::{ErrorKind, FileContainer, ProgressEvent, RetryPolicy, UploadSource};
use support::{Reply, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn secs(v: &[u64]) -> Vec<Duration> {
    v.iter().map(|s| Duration::from_secs(*s)).collect()
}

#[tokio::test]
async fn throttled_then_ok_honours_retry_after_seconds() {
    let server = Server::start().await;
    let (client, clock) = server.client();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let client = client.with_progress(Arc::new(move |e| sink.lock().unwrap().push(e)));
    server.script(
        "/documents",
        Reply::new(
            429,
            r#"{"errorCode":"TOO_MANY_REQUESTS","message":"slow down"}"#,
        )
        .header("retry-after", "7"),
    );
    client
        .delete_document("src", "https://x/1", false, None)
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 2);
    assert_eq!(clock.sleeps(), secs(&[7]));
    let events = events.lock().unwrap();
    match &events[..] {
        [ProgressEvent::RetryWaiting {
            attempt: 2,
            wait,
            reason,
            ..
        }] => {
            assert_eq!(*wait, Duration::from_secs(7));
            assert!(reason.contains("429"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn retry_after_as_http_date() {
    let server = Server::start().await;
    let (client, clock) = server.client(); // clock starts at 1_700_000_000 s
    server.script(
        "/documents",
        Reply::new(429, "").header("retry-after", "Tue, 14 Nov 2023 22:13:50 GMT"),
    );
    client
        .delete_document("src", "https://x/1", false, None)
        .await
        .unwrap();
    assert_eq!(clock.sleeps(), secs(&[30]));
}

#[tokio::test]
async fn throttled_without_retry_after_backs_off() {
    let server = Server::start().await;
    let (client, clock) = server.client();
    server.script("/documents", Reply::new(429, ""));
    server.script("/documents", Reply::new(429, ""));
    client
        .delete_document("src", "https://x/1", false, None)
        .await
        .unwrap();
    assert_eq!(clock.sleeps(), secs(&[1, 2]));
}

#[tokio::test]
async fn server_errors_and_408_are_retried() {
    let server = Server::start().await;
    let (client, clock) = server.client();
    server.script("/olderthan", Reply::new(500, "oops"));
    server.script("/olderthan", Reply::new(408, ""));
    server.script("/olderthan", Reply::new(504, r#"{"message":"gateway"}"#));
    client.delete_older_than("src", 1, None).await.unwrap();
    assert_eq!(server.requests().len(), 4);
    assert_eq!(clock.sleeps(), secs(&[1, 2, 4]));
}

#[tokio::test]
async fn a_503_with_retry_after_waits_what_it_says() {
    let server = Server::start().await;
    let (client, clock) = server.client();
    server.script(
        "/documents",
        Reply::new(503, "maintenance").header("retry-after", "3"),
    );
    client
        .delete_document("src", "https://x/1", false, None)
        .await
        .unwrap();
    assert_eq!(clock.sleeps(), secs(&[3]));
}

#[tokio::test]
async fn storm_of_503_is_bounded_by_attempts() {
    let server = Server::start().await;
    let (client, clock) = server.client();
    for _ in 0..20 {
        server.script("/status", Reply::new(503, "busy"));
    }
    let e = client
        .set_source_status("src", coveo_push::SourceStatus::Idle)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::ServerError { status: 503 });
    assert_eq!(server.requests().len(), 8);
    assert_eq!(clock.sleeps(), secs(&[1, 2, 4, 8, 16, 32, 60]));
}

#[tokio::test]
async fn storm_of_503_is_bounded_by_total_time() {
    let server = Server::start().await;
    let (client, clock) = server.client();
    let policy = RetryPolicy {
        max_elapsed: Duration::from_secs(10),
        ..client.config().retry.clone()
    };
    let config = client.config().clone().with_retry(policy);
    let client = coveo_push::PushClient::new(config).unwrap();
    for _ in 0..20 {
        server.script("/status", Reply::new(503, "busy"));
    }
    client
        .set_source_status("src", coveo_push::SourceStatus::Idle)
        .await
        .unwrap_err();
    assert_eq!(
        clock.sleeps(),
        secs(&[1, 2, 4]),
        "1+2+4 = 7 s; waiting 8 more would pass 10 s"
    );
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn retry_after_beyond_the_budget_fails_at_once_with_the_wait() {
    let server = Server::start().await;
    let (client, clock) = server.client();
    server.script(
        "/documents",
        Reply::new(429, "").header("retry-after", "86400"),
    );
    let e = client
        .delete_document("src", "https://x/1", false, None)
        .await
        .unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::Throttled {
            retry_after: Some(Duration::from_secs(86400))
        }
    );
    assert!(clock.sleeps().is_empty());
    assert!(e.explanation().contains("24 hours"), "{}", e.explanation());
}

#[tokio::test]
async fn daily_quota_is_not_retried() {
    let server = Server::start().await;
    let (client, clock) = server.client();
    server.script(
        "/documents",
        Reply::new(
            429,
            r#"{"errorCode":"TOO_MANY_DOCUMENTS_DAILY","message":"limit"}"#,
        )
        .header("retry-after", "3600"),
    );
    let e = client
        .delete_document("src", "https://x/1", false, None)
        .await
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::QuotaReached { .. }));
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported_as_transport() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let server = Server {
        url,
        ..Server::start().await
    };
    let (client, clock) = server.client();
    let e = client
        .set_source_status("src", coveo_push::SourceStatus::Idle)
        .await
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Transport { .. }), "{e:?}");
    assert_eq!(clock.sleeps().len(), 7);
    assert!(e.explanation().contains("network"));
}

/// A raw HTTP/1.1 server that drops the first connection after reading part of the body, then
/// answers 200 to the next request and returns the body it received in full.
async fn dropping_server() -> (String, tokio::task::JoinHandle<(Vec<u8>, String)>) {
    first_connection_fails(false).await
}

/// Like `dropping_server`, but with `hold` the first connection is kept open and never read
/// again (a stalled network) instead of being closed.
async fn first_connection_fails(
    hold: bool,
) -> (String, tokio::task::JoinHandle<(Vec<u8>, String)>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        // First connection: read the headers and 64 KB of body, then drop it.
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = 0;
        while got < buf.len() {
            let n = sock.read(&mut buf[got..]).await.unwrap();
            if n == 0 {
                break;
            }
            got += n;
        }
        let _held = if hold {
            Some(sock)
        } else {
            drop(sock);
            None
        };
        // Second connection: read the whole request.
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut data = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let (head, body_start, len) = loop {
            let n = sock.read(&mut chunk).await.unwrap();
            data.extend_from_slice(&chunk[..n]);
            if let Some(pos) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&data[..pos]).to_string();
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap();
                break (head, pos + 4, len);
            }
        };
        while data.len() < body_start + len {
            let n = sock.read(&mut chunk).await.unwrap();
            assert!(n > 0);
            data.extend_from_slice(&chunk[..n]);
        }
        sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .await
            .unwrap();
        (data[body_start..].to_vec(), head)
    });
    (url, task)
}

fn container(url: &str) -> FileContainer {
    FileContainer {
        upload_uri: format!("{url}/bucket/file-1?X-Amz-Signature=s"),
        file_id: "file-1".into(),
        required_headers: [(
            "x-amz-server-side-encryption".to_string(),
            "AES256".to_string(),
        )]
        .into_iter()
        .collect(),
    }
}

#[tokio::test]
async fn connection_dropped_mid_upload_is_retried_from_memory() {
    let (url, task) = dropping_server().await;
    let server = Server::start().await;
    let (client, clock) = server.client();
    let body: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    client
        .upload(
            &container(&url),
            UploadSource::Memory(body.clone().into()),
            body.len() as u64,
            "upload batch",
        )
        .await
        .unwrap();
    let (received, head) = task.await.unwrap();
    assert_eq!(received, body);
    assert!(head
        .to_ascii_lowercase()
        .contains("x-amz-server-side-encryption: aes256"));
    assert!(!head.to_ascii_lowercase().contains("authorization"));
    assert_eq!(clock.sleeps(), secs(&[1]));
}

#[tokio::test]
async fn connection_dropped_mid_upload_is_retried_from_file() {
    let (url, task) = dropping_server().await;
    let server = Server::start().await;
    let (client, clock) = server.client();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("batch.json");
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 13) as u8).collect();
    std::fs::write(&path, &body).unwrap();
    client
        .upload(
            &container(&url),
            UploadSource::Path(path),
            body.len() as u64,
            "upload batch",
        )
        .await
        .unwrap();
    let (received, _) = task.await.unwrap();
    assert_eq!(received.len(), body.len());
    assert!(received == body);
    assert_eq!(clock.sleeps().len(), 1);
}

/// Accepts connections; the first `silent` ones are read and then left unanswered (held open
/// or closed), later ones get `200 {}`. Returns the number of connections seen.
async fn scripted_tcp(silent: usize, hold: bool) -> (String, Arc<Mutex<usize>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(0usize));
    let count = seen.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let n = {
                let mut c = count.lock().unwrap();
                *c += 1;
                *c
            };
            let mut buf = vec![0u8; 64 * 1024];
            let _ = sock.read(&mut buf).await;
            if n <= silent {
                if hold {
                    held.push(sock);
                }
                continue;
            }
            let _ = sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}").await;
        }
    });
    (url, seen)
}

#[tokio::test]
async fn a_timed_out_request_is_retried() {
    let (url, seen) = scripted_tcp(1, true).await;
    let server = Server {
        url,
        ..Server::start().await
    };
    let (client, clock) = server.client();
    let mut config = client.config().clone();
    config.request_timeout = Duration::from_secs(2);
    let client = coveo_push::PushClient::new(config).unwrap();
    client
        .delete_document("src", "https://x/1", false, None)
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), 2);
    assert_eq!(clock.sleeps(), secs(&[1]));
}

#[tokio::test]
async fn creating_a_source_is_not_replayed_after_a_dropped_connection() {
    let (url, seen) = scripted_tcp(1, false).await;
    let server = Server {
        url,
        ..Server::start().await
    };
    let (client, clock) = server.client();
    let e = client
        .create_push_source("Docs", coveo_push::SourceVisibility::Shared)
        .await
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Transport { .. }), "{e:?}");
    assert_eq!(
        *seen.lock().unwrap(),
        1,
        "a request that may have created a source is not sent twice"
    );
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn a_stalled_upload_is_abandoned_and_retried() {
    let (url, task) = first_connection_fails(true).await;
    let server = Server::start().await;
    let (client, clock) = server.client();
    let mut config = client.config().clone();
    config.read_timeout = Duration::from_millis(1500);
    let client = coveo_push::PushClient::new(config).unwrap();
    // Larger than the socket buffers, so the first attempt blocks.
    let body: Vec<u8> = (0..40_000_000u32).map(|i| (i % 7) as u8).collect();
    let started = std::time::Instant::now();
    client
        .upload(
            &container(&url),
            UploadSource::Memory(body.clone().into()),
            body.len() as u64,
            "upload batch",
        )
        .await
        .unwrap();
    let (received, _) = task.await.unwrap();
    assert!(received == body);
    assert_eq!(clock.sleeps(), secs(&[1]));
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn creating_a_source_is_retried_on_503_but_not_on_504() {
    let server = Server::start().await;
    let (client, clock) = server.client();
    server.script("/sources", Reply::new(503, "busy"));
    client
        .create_push_source("Docs", coveo_push::SourceVisibility::Shared)
        .await
        .unwrap();
    assert_eq!(clock.sleeps(), secs(&[1]));
    server.script(
        "/sources",
        Reply::new(504, r#"{"message":"gateway timeout"}"#),
    );
    let e = client
        .create_push_source("Docs", coveo_push::SourceVisibility::Shared)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::ServerError { status: 504 });
    assert_eq!(server.requests().len(), 3);
}
