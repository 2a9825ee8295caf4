//! The streaming batcher against the recording server.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use coveo_push::{Batcher, BatcherConfig, Document, ErrorKind, ProgressEvent};
use support::{Recorded, Reply, Server};

fn collect(
    client: &coveo_push::PushClient,
) -> (coveo_push::PushClient, Arc<Mutex<Vec<ProgressEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    (
        client.with_progress(Arc::new(move |e| sink.lock().unwrap().push(e))),
        events,
    )
}

/// The batch files in the order their `documents/batch` calls were made.
fn applied_batches(reqs: &[Recorded]) -> Vec<(serde_json::Value, &Recorded, &Recorded)> {
    let uploads: HashMap<String, &Recorded> = reqs
        .iter()
        .filter(|r| r.path.starts_with("/upload/"))
        .map(|r| (r.path.trim_start_matches("/upload/").to_string(), r))
        .collect();
    reqs.iter()
        .filter(|r| r.path.ends_with("/documents/batch"))
        .map(|call| {
            let file_id = call
                .query
                .iter()
                .find(|(k, _)| k == "fileId")
                .unwrap()
                .1
                .clone();
            let upload = uploads[&file_id];
            (upload.json(), upload, call)
        })
        .collect()
}

fn ids(batch: &serde_json::Value, key: &str) -> Vec<String> {
    batch[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["documentId"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn packs_under_the_cap_in_order_with_exact_accounting() {
    let server = Server::start().await;
    let (client, _) = server.client();
    let (client, events) = collect(&client);
    let mut config = BatcherConfig::new("src");
    config.max_batch_bytes = 3_000;
    config.ordering_id = Some(1234);
    let mut batcher = Batcher::new(client, config);
    let mut expected = Vec::new();
    for i in 0..40 {
        let id = format!("https://x/{i}");
        batcher
            .add(
                Document::new(&id)
                    .title(format!("doc {i}"))
                    .text("lorem ipsum ".repeat(20)),
            )
            .await
            .unwrap();
        expected.push(id);
        if i % 10 == 9 {
            batcher
                .delete(format!("https://x/old{i}"), true)
                .await
                .unwrap();
        }
    }
    let summary = batcher.finish().await.unwrap();
    let reqs = server.requests();
    let batches = applied_batches(&reqs);
    assert!(batches.len() >= 5, "{} batches", batches.len());
    let mut seen = Vec::new();
    let mut uploaded = 0;
    for (file, upload, call) in &batches {
        assert!(
            upload.body_len <= 3_000,
            "batch of {} bytes",
            upload.body_len
        );
        uploaded += upload.body_len;
        seen.extend(ids(file, "addOrUpdate"));
        for d in file["delete"].as_array().unwrap() {
            assert_eq!(d["deleteChildren"], true);
        }
        assert_eq!(
            call.query_pairs(),
            vec![("fileId", call.query[0].1.as_str()), ("orderingId", "1234")]
        );
    }
    assert_eq!(seen, expected, "every item once, in order");
    assert_eq!(summary.added, expected);
    assert_eq!(summary.deleted.len(), 4);
    assert_eq!(summary.bytes_uploaded, uploaded);
    assert_eq!(summary.batches_accepted, batches.len() as u64);
    assert!(summary.item_problems.is_empty() && summary.batch_problems.is_empty());

    let events = events.lock().unwrap();
    let built: HashMap<u64, u64> = events
        .iter()
        .filter_map(|e| match e {
            ProgressEvent::BatchBuilt { batch, bytes, .. } => Some((*batch, *bytes)),
            _ => None,
        })
        .collect();
    let mut accepted_total = 0;
    for e in events.iter() {
        if let ProgressEvent::BatchAccepted {
            batch,
            added,
            ordering_id,
            bytes,
            ..
        } = e
        {
            assert_eq!(built[batch], *bytes, "built size is the size sent");
            assert_eq!(*ordering_id, Some(1234));
            accepted_total += added.len();
        }
    }
    assert_eq!(accepted_total, 40);
    // Per batch: built, then uploaded, then accepted; never accepted before uploaded.
    for batch in built.keys() {
        let pos = |want: &str| {
            events.iter().position(|e| match e {
                ProgressEvent::BatchBuilt { batch: b, .. } => want == "built" && b == batch,
                ProgressEvent::BatchUploaded { batch: b, .. } => want == "uploaded" && b == batch,
                ProgressEvent::BatchAccepted { batch: b, .. } => want == "accepted" && b == batch,
                _ => false,
            })
        };
        assert!(
            pos("built") < pos("uploaded") && pos("uploaded") < pos("accepted"),
            "batch {batch}"
        );
    }
    // Accepted in batch order.
    let accepted: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            ProgressEvent::BatchAccepted { batch, .. } => Some(*batch),
            _ => None,
        })
        .collect();
    assert!(accepted.windows(2).all(|w| w[0] < w[1]), "{accepted:?}");
    assert_eq!(
        built.values().sum::<u64>(),
        uploaded,
        "exact byte accounting"
    );
}

#[tokio::test]
async fn the_same_item_twice_splits_the_batch() {
    let server = Server::start().await;
    let (client, _) = server.client();
    let mut batcher = Batcher::new(client, BatcherConfig::new("src"));
    batcher
        .add(Document::new("https://x/1").text("a"))
        .await
        .unwrap();
    batcher.delete("https://x/1", false).await.unwrap();
    batcher
        .add(Document::new("https://x/2").text("b"))
        .await
        .unwrap();
    let summary = batcher.finish().await.unwrap();
    let reqs = server.requests();
    let batches = applied_batches(&reqs);
    assert_eq!(batches.len(), 2);
    assert_eq!(ids(&batches[0].0, "addOrUpdate"), vec!["https://x/1"]);
    assert_eq!(ids(&batches[1].0, "delete"), vec!["https://x/1"]);
    assert_eq!(ids(&batches[1].0, "addOrUpdate"), vec!["https://x/2"]);
    assert_eq!(summary.deleted, vec!["https://x/1"]);
}

#[tokio::test]
async fn a_bad_item_is_reported_and_the_rest_goes() {
    let server = Server::start().await;
    let (client, _) = server.client();
    let mut batcher = Batcher::new(client, BatcherConfig::new("src"));
    batcher
        .add(Document::new("https://x/1").text("a"))
        .await
        .unwrap();
    batcher
        .add(Document::new("not a uri").text("b"))
        .await
        .unwrap();
    batcher
        .add(Document::new("https://x/3").file("/does/not/exist.pdf"))
        .await
        .unwrap();
    batcher
        .add(Document::new("https://x/4").text("d"))
        .await
        .unwrap();
    let summary = batcher.finish().await.unwrap();
    assert_eq!(summary.added, vec!["https://x/1", "https://x/4"]);
    let problems: Vec<(&str, &'static str)> = summary
        .item_problems
        .iter()
        .map(|(id, e)| (id.as_str(), e.code()))
        .collect();
    assert_eq!(
        problems,
        vec![
            ("not a uri", "invalid_input"),
            ("https://x/3", "local_file")
        ]
    );
}

#[tokio::test]
async fn a_failed_batch_is_reported_with_its_items_and_not_as_accepted() {
    let server = Server::start().await;
    let (client, _) = server.client();
    let (client, events) = collect(&client);
    server.script(
        "/documents/batch",
        Reply::new(400, r#"{"errorCode":"INVALID_JSON","message":"bad"}"#),
    );
    let mut config = BatcherConfig::new("src");
    config.max_batch_bytes = 500;
    config.uploads_in_flight = 1;
    let mut batcher = Batcher::new(client, config);
    for i in 0..4 {
        batcher
            .add(Document::new(format!("https://x/{i}")).text("x".repeat(200)))
            .await
            .unwrap();
    }
    let summary = batcher.finish().await.unwrap();
    assert_eq!(summary.batch_problems.len(), 1);
    let failed = &summary.batch_problems[0];
    assert!(matches!(failed.error.kind(), ErrorKind::Rejected { .. }));
    assert!(!summary.added.iter().any(|id| failed.added.contains(id)));
    assert_eq!(summary.added.len() + failed.added.len(), 4);
    let events = events.lock().unwrap();
    assert!(events.iter().any(|e| matches!(
        e,
        ProgressEvent::BatchFailed {
            code: "rejected",
            ..
        }
    )));
    assert!(!events.iter().any(
        |e| matches!(e, ProgressEvent::BatchAccepted { batch, .. } if *batch == failed.batch)
    ));
}

#[tokio::test]
async fn unauthorized_stops_the_run() {
    let server = Server::start().await;
    let (client, _) = server.client();
    server.script(
        "/files",
        Reply::new(401, r#"{"errorCode":"INVALID_TOKEN","message":"no"}"#),
    );
    let mut batcher = Batcher::new(client, BatcherConfig::new("src"));
    batcher
        .add(Document::new("https://x/1").text("a"))
        .await
        .unwrap();
    let e = batcher.finish().await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Unauthorized);
}

#[tokio::test]
async fn a_large_item_in_a_batch_references_its_own_container() {
    let server = Server::start().await;
    let (client, _) = server.client();
    let mut x: u64 = 99;
    let big: Vec<u8> = (0..6_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let mut batcher = Batcher::new(client, BatcherConfig::new("src"));
    batcher
        .add(Document::new("https://x/small").text("a"))
        .await
        .unwrap();
    batcher
        .add(Document::new("https://x/big").bytes(big))
        .await
        .unwrap();
    let summary = batcher.finish().await.unwrap();
    let reqs = server.requests();
    let batches = applied_batches(&reqs);
    assert_eq!(batches.len(), 1);
    let items = batches[0].0["addOrUpdate"].as_array().unwrap().clone();
    let big_item = &items[1];
    let file_id = big_item["compressedBinaryDataFileId"].as_str().unwrap();
    // Random bytes are not worth compressing: they go as they are, byte for byte.
    assert_eq!(big_item["compressionType"], "UNCOMPRESSED");
    let content_upload = reqs
        .iter()
        .find(|r| r.path == format!("/upload/{file_id}"))
        .unwrap();
    assert_eq!(content_upload.body_len, 6_000_000);
    assert_eq!(
        summary.bytes_uploaded,
        content_upload.body_len + batches[0].1.body_len
    );
}

#[tokio::test]
async fn a_throttle_that_outlasts_the_retries_stops_every_later_batch() {
    let server = Server::start().await;
    let (client, _) = server.client();
    // The first batch is applied; from the second on, the service throttles every attempt.
    server.script("/documents/batch", Reply::new(202, ""));
    for _ in 0..40 {
        server.script(
            "/documents/batch",
            Reply::new(429, r#"{"errorCode":"TOO_MANY_REQUESTS"}"#).header("retry-after", "1"),
        );
    }
    let mut config = BatcherConfig::new("src");
    config.max_batch_bytes = 500;
    config.uploads_in_flight = 1;
    let mut batcher = Batcher::new(client, config);
    let mut stopped = None;
    for i in 0..8 {
        let doc = Document::new(format!("https://x/{i}")).text("x".repeat(300));
        if let Err(e) = batcher.add(doc).await {
            stopped = Some(e);
            break;
        }
    }
    let outcome = batcher.finish().await;
    let error = stopped.or(outcome.err()).expect("the throttle is returned");
    assert!(
        matches!(error.kind(), ErrorKind::Throttled { .. }),
        "{error:?}"
    );
    let reqs = server.requests();
    let calls: Vec<&Recorded> = reqs
        .iter()
        .filter(|r| r.path.ends_with("/documents/batch"))
        .collect();
    let attempts = coveo_push::DEFAULT_MAX_ATTEMPTS as usize;
    // One applied batch, then the second batch's attempts: no third batch was sent.
    assert_eq!(calls.len(), 1 + attempts, "{:?}", calls.len());
    let second_file = |c: &Recorded| {
        c.query
            .iter()
            .find(|(k, _)| k == "fileId")
            .map(|(_, v)| v.clone())
    };
    let files: std::collections::BTreeSet<_> = calls[1..].iter().map(|c| second_file(c)).collect();
    assert_eq!(files.len(), 1, "only the throttled batch was retried");
}

/// Pushes one-item batches until `add` fails, against a server whose second batch gets
/// `second`, then checks that the batcher stopped: every later call returns the error and
/// sends nothing, no batch is sent after the failed one, and `finish` lists every queued item
/// that was not accepted.
async fn a_stop_on_the_second_batch(second: &[Reply], want: fn(&ErrorKind) -> bool) {
    let server = Server::start().await;
    let (client, _) = server.client();
    server.script("/documents/batch", Reply::new(202, ""));
    for reply in second {
        server.script("/documents/batch", reply.clone());
    }
    // Any later batch would be accepted: only the batcher can keep it from being sent.
    let mut config = BatcherConfig::new("src");
    config.max_batch_bytes = 500;
    config.uploads_in_flight = 1;
    config.encoders = 1;
    let mut batcher = Batcher::new(client, config);
    let mut queued = Vec::new();
    let mut error = None;
    // Adds go to the encoders in chunks, so the stop shows some items later than it came.
    for i in 0..200 {
        let id = format!("https://x/{i}");
        let result = batcher.add(Document::new(&id).text("x".repeat(300))).await;
        queued.push(id);
        if let Err(e) = result {
            error = Some(e);
            break;
        }
    }
    let error = error.expect("an add returns the error");
    assert!(want(error.kind()), "{error:?}");
    let sent_at_stop = server.requests().len();

    // Every later call returns the error and sends nothing, a large item (own container)
    // and a delete included.
    for i in 0..3 {
        let e = batcher
            .add(Document::new(format!("https://x/late{i}")).text("late"))
            .await
            .unwrap_err();
        assert!(want(e.kind()), "later add {i}: {e:?}");
    }
    let e = batcher
        .add(Document::new("https://x/big").bytes(vec![7u8; 6_000_000]))
        .await
        .unwrap_err();
    assert!(want(e.kind()), "{e:?}");
    let e = batcher.delete("https://x/old", false).await.unwrap_err();
    assert!(want(e.kind()), "{e:?}");

    // The caller saw the error: finish lists what was not sent instead of failing.
    let summary = batcher.finish().await.unwrap();
    let reqs = server.requests();
    assert_eq!(
        reqs.len(),
        sent_at_stop,
        "nothing was sent after the stop: {:?}",
        reqs[sent_at_stop..]
            .iter()
            .map(|r| &r.path)
            .collect::<Vec<_>>()
    );
    let batch_calls = reqs
        .iter()
        .filter(|r| r.path.ends_with("/documents/batch"))
        .count();
    assert_eq!(
        batch_calls,
        1 + second.len(),
        "one accepted batch, then the failed one's attempts, and no later batch"
    );
    assert_eq!(summary.added, vec!["https://x/0".to_string()]);
    // Nothing silently dropped: every queued item is accepted or listed, once.
    let mut accounted: Vec<String> = summary.added.clone();
    for p in &summary.batch_problems {
        assert!(want(p.error.kind()), "{:?}", p.error);
        accounted.extend(p.added.iter().cloned());
    }
    for (id, e) in &summary.item_problems {
        assert!(want(e.kind()), "{id}: {e:?}");
        accounted.push(id.clone());
    }
    accounted.sort();
    let mut expected = queued.clone();
    expected.sort();
    assert_eq!(accounted, expected);
    assert!(
        queued.len() >= 3,
        "the stop came on the second batch: {queued:?}"
    );
}

#[tokio::test]
async fn a_throttled_batch_stops_the_batcher_and_every_later_call() {
    let attempts = coveo_push::DEFAULT_MAX_ATTEMPTS as usize;
    let throttled: Vec<Reply> = (0..attempts)
        .map(|_| Reply::new(429, r#"{"errorCode":"TOO_MANY_REQUESTS"}"#).header("retry-after", "1"))
        .collect();
    a_stop_on_the_second_batch(&throttled, |k| matches!(k, ErrorKind::Throttled { .. })).await;
}

#[tokio::test]
async fn a_quota_stops_the_batcher_and_every_later_call() {
    let quota = [Reply::new(
        429,
        r#"{"errorCode":"TOO_MANY_DOCUMENTS_DAILY","message":"daily limit"}"#,
    )];
    a_stop_on_the_second_batch(&quota, |k| matches!(k, ErrorKind::QuotaReached { .. })).await;
}
