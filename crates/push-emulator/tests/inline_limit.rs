//! The 5 MB cap on content sent inside an item body (reference §3.4): `data` ≤ 5 MB
//! uncompressed, `compressedBinaryData` ≤ 5 MB; larger content goes to a file container named
//! by `compressedBinaryDataFileId`. A batch is accepted and the item rejected by the pipeline
//! (Source Logs); a single push is the same unless its request passes 6 MB (413).

mod common;

use common::{b64, T};
use reqwest::StatusCode;
use serde_json::json;

const LIMIT: usize = 5 * 1024 * 1024;

fn rejected_for_the_limit(log: &[serde_json::Value], id: &str) {
    assert_eq!(log.len(), 1, "{id}: {log:?}");
    assert_eq!(log[0]["result"], "REJECTED", "{id}");
    let error = log[0]["meta"]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("5 MB") && error.contains("compressedBinaryDataFileId"),
        "{id}: {error}"
    );
}

#[tokio::test]
async fn a_single_push_over_5_mb_inline_is_accepted_then_rejected_by_the_pipeline() {
    let t = T::new().await;
    let at_limit = "a".repeat(LIMIT);
    let over = "b".repeat(LIMIT + 1);
    let a = t
        .put_item("file:///l/at", "", json!({"data": at_limit}))
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    // Under the 6 MB request limit, so the HTTP answer is 202; the pipeline refuses it.
    let a = t
        .put_item("file:///l/over", "", json!({"data": over}))
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{:?}", a.body);
    let binary = b64(&vec![7u8; LIMIT / 4 * 3 + 3]);
    assert!(binary.len() > LIMIT);
    let a = t
        .put_item(
            "file:///l/binary",
            "&compressionType=UNCOMPRESSED",
            json!({"compressedBinaryData": binary}),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{:?}", a.body);
    let items = t.items().await;
    let ids: Vec<&str> = items
        .iter()
        .map(|i| i["documentId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["file:///l/at"]);
    assert_eq!(items[0]["contentSize"], LIMIT as u64);
    rejected_for_the_limit(&t.logs(Some("file:///l/over")).await, "over");
    rejected_for_the_limit(&t.logs(Some("file:///l/binary")).await, "binary");
    // Over 6 MB, the request itself is refused.
    let a = t
        .put_item(
            "file:///l/huge",
            "",
            json!({"data": "c".repeat(6 * 1024 * 1024 + 1)}),
        )
        .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_batch_item_over_5_mb_inline_is_rejected_and_the_rest_indexed() {
    let t = T::new().await;
    let raw = vec![9u8; LIMIT];
    let container = t.upload(raw.clone()).await;
    let file = json!({"addOrUpdate": [
        {"documentId": "file:///l/text", "data": "x".repeat(LIMIT + 1)},
        {"documentId": "file:///l/binary", "compressedBinaryData": b64(&raw), "compressionType": "UNCOMPRESSED"},
        {"documentId": "file:///l/small", "data": "small"},
        {"documentId": "file:///l/container", "compressedBinaryDataFileId": container, "compressionType": "UNCOMPRESSED"}
    ]});
    assert_eq!(t.batch(file, "").await.status, StatusCode::ACCEPTED);
    let items = t.items().await;
    let ids: Vec<&str> = items
        .iter()
        .map(|i| i["documentId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["file:///l/container", "file:///l/small"]);
    assert_eq!(
        items[0]["contentSize"], LIMIT as u64,
        "the container way has no 5 MB cap"
    );
    rejected_for_the_limit(&t.logs(Some("file:///l/text")).await, "text");
    rejected_for_the_limit(&t.logs(Some("file:///l/binary")).await, "binary");
}
