//! orderingId fidelity (reference §6): an update whose orderingId is not higher than the
//! item's is not applied and reaches the Source Logs as SKIPPED; a delete-older-than with a
//! future orderingId poisons the source until the clock passes it.

mod common;

use std::time::Duration;

use common::{b64, enc, T};
use push_emulator::{Clock, EmulatorConfig};
use reqwest::{Method, StatusCode};
use serde_json::json;

const ID: &str = "file:///o/a.txt";

fn results(logs: &[serde_json::Value]) -> Vec<(String, Option<u64>)> {
    logs.iter()
        .map(|e| {
            (
                e["result"].as_str().unwrap_or_default().to_string(),
                e["meta"]["orderingId"].as_u64(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_update_whose_ordering_id_is_not_higher_is_skipped_and_logged() {
    let t = T::new().await;
    let put = |data: &'static str, oid: u64| {
        let t = &t;
        async move {
            let a = t
                .put_item(ID, &format!("&orderingId={oid}"), json!({"data": data}))
                .await;
            assert_eq!(a.status, StatusCode::ACCEPTED);
        }
    };
    put("first", 100).await;
    put("same orderingId", 100).await;
    put("older", 99).await;
    let item = t.item(ID).await.unwrap();
    assert_eq!(item["content"], b64(b"first"), "neither was applied");
    let logs = t.logs(Some(ID)).await;
    let skipped: Vec<&serde_json::Value> =
        logs.iter().filter(|e| e["result"] == "SKIPPED").collect();
    assert_eq!(skipped.len(), 2, "{:?}", results(&logs));
    let reason = skipped[0]["meta"]["error"].as_str().unwrap_or_default();
    assert!(
        reason.contains("orderingId 100") && reason.contains("not higher"),
        "{reason}"
    );
    put("newer", 101).await;
    assert_eq!(t.item(ID).await.unwrap()["content"], b64(b"newer"));

    // A delete is ordered the same way.
    let url = format!(
        "{}?documentId={}&orderingId=101",
        t.push_url("/sources/documents/documents"),
        enc(ID)
    );
    assert_eq!(
        t.send(Method::DELETE, &url, None).await.status,
        StatusCode::ACCEPTED
    );
    assert!(t.item(ID).await.is_some_and(|i| i["state"] != "DELETED"));
}

#[tokio::test]
async fn a_second_identity_call_with_the_same_ordering_id_is_not_applied() {
    let t = T::new().await;
    let perms = t.push_url("/providers/sandbox/permissions?orderingId=50");
    let hr = json!({"identity": {"name": "HR", "type": "GROUP"},
        "members": [{"name": "alice", "type": "USER"}]});
    assert_eq!(
        t.send(Method::PUT, &perms, Some(hr.clone())).await.status,
        StatusCode::ACCEPTED
    );
    let changed = json!({"identity": {"name": "HR", "type": "GROUP"},
        "members": [{"name": "bob", "type": "USER"}]});
    t.send(Method::PUT, &perms, Some(changed)).await;
    t.emu.drain().await;
    let identities = t
        .inspect("/organizations/sandbox/providers/sandbox/identities")
        .await
        .to_string();
    assert!(
        identities.contains("alice") && !identities.contains("bob"),
        "{identities}"
    );
}

#[tokio::test]
async fn a_future_delete_older_than_poisons_the_source_until_the_clock_passes_it() {
    let now = 1_700_000_000_000u64;
    let t = T::with(EmulatorConfig {
        clock: Clock::frozen(now as i64),
        ..Default::default()
    })
    .await;
    t.put_item(ID, "", json!({"data": "a"})).await;
    let hour = 3_600_000;
    let url = format!(
        "{}?orderingId={}&queueDelay=0",
        t.push_url("/sources/documents/documents/olderthan"),
        now + hour
    );
    assert_eq!(
        t.send(Method::DELETE, &url, None).await.status,
        StatusCode::ACCEPTED
    );
    assert!(t.items().await.is_empty(), "everything was deleted");
    // New items with the default orderingId (the service's now) are refused until the clock
    // passes the watermark.
    t.put_item("file:///o/new.txt", "", json!({"data": "n"}))
        .await;
    assert!(t.items().await.is_empty());
    let logs = t.logs(Some("file:///o/new.txt")).await;
    assert!(
        logs.iter().any(|e| e["result"] == "REJECTED"
            && e["meta"]["error"]
                .as_str()
                .is_some_and(|m| m.contains("delete-older-than"))),
        "{logs:?}"
    );
    t.emu
        .advance_clock(Duration::from_millis(hour + 1000))
        .await;
    t.put_item("file:///o/new.txt", "", json!({"data": "n"}))
        .await;
    assert_eq!(t.items().await.len(), 1, "accepted again once it passed");
}
