//! The `rejectItems` fault: writes are accepted (202), then processing rejects the matching
//! items, and the Source Logs say so with the rule's reason. Real sockets, both the single
//! item route and batch files.

mod common;

use common::T;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn rejected_entries<'a>(logs: &'a [Value], id: &str) -> Vec<&'a Value> {
    logs.iter()
        .filter(|e| e["id"] == id && e["result"] == "REJECTED")
        .collect()
}

#[tokio::test]
async fn processing_rejects_the_matching_items_and_logs_the_reason() {
    let t = T::new().await;
    let faults = json!({"rejectItems": [
        {"documentIdContains": ".bin", "reason": "binary content cannot be indexed"}
    ]});
    let r = t
        .http
        .post(format!("{}/_emulator/v1/faults", t.emu.url()))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let got = t.inspect("/faults").await;
    assert_eq!(got["rejectItems"], faults["rejectItems"]);

    // One item by the single-item route, two in a batch file.
    let single = t
        .put_item("file:///r/single.bin", "", json!({"data": "x"}))
        .await;
    assert_eq!(single.status, StatusCode::ACCEPTED, "{:?}", single.body);
    let batch = t
        .batch(
            json!({"addOrUpdate": [
                {"documentId": "file:///r/kept.txt", "data": "kept"},
                {"documentId": "file:///r/blob.bin", "data": "blob"}
            ]}),
            "",
        )
        .await;
    assert_eq!(batch.status, StatusCode::ACCEPTED, "{:?}", batch.body);

    let ids: Vec<String> = t
        .items()
        .await
        .iter()
        .map(|i| i["documentId"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ids, ["file:///r/kept.txt"]);
    let logs = t.logs(None).await;
    for id in ["file:///r/single.bin", "file:///r/blob.bin"] {
        let rejected = rejected_entries(&logs, id);
        assert_eq!(rejected.len(), 1, "{id}: {logs:?}");
        assert_eq!(rejected[0]["task"], "PROCESSING");
        assert_eq!(
            rejected[0]["meta"]["error"],
            "binary content cannot be indexed"
        );
    }
    assert!(rejected_entries(&logs, "file:///r/kept.txt").is_empty());

    // Cleared faults: the same item is indexed.
    t.http
        .post(format!("{}/_emulator/v1/faults", t.emu.url()))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let again = t
        .send(
            Method::PUT,
            &format!(
                "{}?documentId={}",
                t.push_url("/sources/documents/documents"),
                common::enc("file:///r/single.bin")
            ),
            Some(json!({"data": "x"})),
        )
        .await;
    assert_eq!(again.status, StatusCode::ACCEPTED);
    assert!(t.item("file:///r/single.bin").await.is_some());
}
