//! What a client learns over HTTP: `SKIPPED` outcomes in the Source Logs (with the item or
//! identity, the operation, the orderingId and why), a future delete-older-than of identities
//! blocking default pushes until the clock passes it, one stream applied as one operation, and
//! the `Date` header following the clock that `POST /_emulator/v1/clock` advances.

mod common;

use common::{b64, enc, T};
use push_emulator::{Clock, EmulatorConfig};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const START_MS: u64 = 1_700_000_000_000; // Tue, 14 Nov 2023 22:13:20 GMT

fn frozen() -> EmulatorConfig {
    EmulatorConfig {
        clock: Clock::frozen(START_MS as i64),
        ..Default::default()
    }
}

/// `POST /_emulator/v1/clock {"advanceSeconds": N}`, the HTTP way to move the clock.
async fn advance(t: &T, seconds: u64) -> Value {
    let r = t
        .http
        .post(format!("{}/_emulator/v1/clock", t.emu.url()))
        .json(&json!({"advanceSeconds": seconds}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// Source Logs entries with result SKIPPED, through the POST route's body filter.
async fn skipped(t: &T) -> Vec<Value> {
    t.emu.drain().await;
    let url = format!(
        "{}/logs/v1/organizations/sandbox?from=2000-01-01T00:00:00.000Z&to=2100-01-01T00:00:00.000Z",
        t.emu.url()
    );
    let a = t
        .send(Method::POST, &url, Some(json!({"results": ["SKIPPED"]})))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    a.body["documentLogEntries"].as_array().unwrap().clone()
}

async fn identities(t: &T) -> Vec<Value> {
    t.emu.drain().await;
    t.inspect("/organizations/sandbox/providers/sandbox/identities")
        .await["identities"]
        .as_array()
        .unwrap()
        .clone()
}

fn find<'a>(entries: &'a [Value], id: &str, operation: &str) -> &'a Value {
    entries
        .iter()
        .find(|e| e["id"] == id && e["operation"] == operation)
        .unwrap_or_else(|| panic!("no SKIPPED {operation} of {id}: {entries:?}"))
}

fn names_both(entry: &Value, skipped: u64, stored: u64) {
    assert_eq!(entry["result"], "SKIPPED");
    assert_eq!(entry["meta"]["orderingId"], skipped, "{entry}");
    let reason = entry["meta"]["error"].as_str().unwrap_or_default();
    assert!(
        reason.contains(&format!("orderingId {skipped}"))
            && reason.contains(&format!("orderingId {stored}")),
        "the reason names both orderingIds: {reason}"
    );
}

#[tokio::test]
async fn skipped_items_and_identities_reach_the_source_logs_with_both_ordering_ids() {
    let t = T::new().await;
    let id = "file:///s/a.txt";
    t.put_item(id, "&orderingId=500", json!({"data": "v500"}))
        .await;
    t.put_item(id, "&orderingId=500", json!({"data": "again"}))
        .await;
    t.put_item(id, "&orderingId=400", json!({"data": "older"}))
        .await;
    let delete = format!(
        "{}?documentId={}&orderingId=500",
        t.push_url("/sources/documents/documents"),
        enc(id)
    );
    assert_eq!(
        t.send(Method::DELETE, &delete, None).await.status,
        StatusCode::ACCEPTED
    );
    let perms = t.push_url("/providers/sandbox/permissions");
    let hr = json!({"identity": {"name": "HR", "type": "GROUP"}, "members": [{"name": "alice", "type": "USER"}]});
    t.send(
        Method::PUT,
        &format!("{perms}?orderingId=70"),
        Some(hr.clone()),
    )
    .await;
    t.send(
        Method::PUT,
        &format!("{perms}?orderingId=70"),
        Some(hr.clone()),
    )
    .await;
    let a = t
        .send(
            Method::DELETE,
            &format!("{perms}?orderingId=70"),
            Some(json!({"identity": {"name": "HR", "type": "GROUP"}})),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED);

    let entries = skipped(&t).await;
    assert_eq!(entries.len(), 5, "{entries:?}");
    let items: Vec<&Value> = entries
        .iter()
        .filter(|e| e["id"] == id && e["operation"] == "UPDATE")
        .collect();
    assert_eq!(
        items.len(),
        2,
        "both updates of the indexed item: {entries:?}"
    );
    names_both(items[0], 500, 500);
    names_both(items[1], 400, 500);
    assert_eq!(items[0]["sourceId"], "documents");
    names_both(find(&entries, id, "DELETE"), 500, 500);
    let identity = find(&entries, "HR", "UPDATE");
    names_both(identity, 70, 70);
    assert_eq!(
        identity["sourceId"], "sandbox",
        "identity entries name the provider"
    );
    names_both(find(&entries, "HR", "DELETE"), 70, 70);
    assert_eq!(
        t.item(id).await.unwrap()["content"],
        b64(b"v500"),
        "nothing after the first was applied"
    );
    let hr_state = t
        .inspect("/organizations/sandbox/providers/sandbox/identities")
        .await;
    assert_eq!(hr_state["identities"][0]["state"], "ACTIVE", "{hr_state}");

    // The deprecated GET form filters the same way.
    let url = format!(
        "{}/logs/v1/organizations/sandbox?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&results=SKIPPED&sourceId=documents",
        t.emu.url()
    );
    let a = t.send(Method::GET, &url, None).await;
    assert_eq!(a.body["documentLogEntries"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_future_identity_delete_older_than_blocks_default_pushes_until_the_http_clock_passes_it()
{
    let t = T::with(frozen()).await;
    let perms = t.push_url("/providers/sandbox/permissions");
    let group = |member: &str| json!({"identity": {"name": "HR", "type": "GROUP"}, "members": [{"name": member, "type": "USER"}]});
    t.send(Method::PUT, &perms, Some(group("alice"))).await;
    let hour_ahead = START_MS + 3_600_000;
    let url = format!(
        "{}?orderingId={hour_ahead}&queueDelay=0",
        t.push_url("/providers/sandbox/permissions/olderthan")
    );
    assert_eq!(
        t.send(Method::DELETE, &url, None).await.status,
        StatusCode::ACCEPTED
    );
    // A default orderingId is the emulator's now, below the watermark: refused by the
    // pipeline, reported in the Source Logs.
    let a = t.send(Method::PUT, &perms, Some(group("bob"))).await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    assert!(
        identities(&t).await.is_empty(),
        "HR was disabled, bob refused"
    );
    let logs = t.logs(Some("HR")).await;
    let refused = logs
        .iter()
        .rfind(|e| e["result"] == "REJECTED")
        .unwrap_or_else(|| panic!("{logs:?}"));
    assert_eq!(refused["sourceId"], "sandbox");
    let reason = refused["meta"]["error"].as_str().unwrap_or_default();
    assert!(
        reason.contains("delete-older-than") && reason.contains(&hour_ahead.to_string()),
        "{reason}"
    );
    // Still refused a second before the watermark, accepted once the clock passed it.
    let now = advance(&t, 3_599).await;
    assert_eq!(now["nowMs"], START_MS + 3_599_000);
    t.send(Method::PUT, &perms, Some(group("bob"))).await;
    assert!(identities(&t).await.is_empty());
    advance(&t, 2).await;
    t.send(Method::PUT, &perms, Some(group("carol"))).await;
    let list = identities(&t).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["members"][0]["name"], "carol");
}

#[tokio::test]
async fn a_future_item_delete_older_than_refuses_default_deletes_and_batches_too() {
    let t = T::with(frozen()).await;
    t.put_item("file:///f/keep", "", json!({"data": "k"})).await;
    t.emu.drain().await;
    let url = format!(
        "{}?orderingId={}&queueDelay=15",
        t.push_url("/sources/documents/documents/olderthan"),
        START_MS + 3_600_000
    );
    assert_eq!(
        t.send(Method::DELETE, &url, None).await.status,
        StatusCode::ACCEPTED
    );
    // The watermark applies at once, the deletion after queueDelay.
    let batch = json!({"addOrUpdate": [{"documentId": "file:///f/new", "data": "n"}]});
    assert_eq!(
        t.batch(batch.clone(), "").await.status,
        StatusCode::ACCEPTED
    );
    let delete = format!(
        "{}?documentId={}",
        t.push_url("/sources/documents/documents"),
        enc("file:///f/keep")
    );
    t.send(Method::DELETE, &delete, None).await;
    let items = t.items().await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["documentId"], "file:///f/keep");
    for id in ["file:///f/new", "file:///f/keep"] {
        let logs = t.logs(Some(id)).await;
        assert!(
            logs.iter().any(|e| e["result"] == "REJECTED"),
            "{id}: {logs:?}"
        );
    }
    advance(&t, 15 * 60).await;
    assert!(t.items().await.is_empty(), "queueDelay passed: deleted");
    advance(&t, 3_600).await;
    assert_eq!(t.batch(batch, "").await.status, StatusCode::ACCEPTED);
    assert_eq!(t.items().await.len(), 1, "past the watermark: applied");
}

#[tokio::test]
async fn a_stream_is_one_operation_so_a_later_chunk_updates_an_earlier_one() {
    let t = T::new().await;
    let base = t.push_url("/sources/documents/stream");
    let open = t.send(Method::POST, &format!("{base}/open"), None).await;
    assert_eq!(open.status, StatusCode::CREATED);
    let stream = open.body["streamId"].as_str().unwrap().to_owned();
    let upload = |uri: &str, body: Value| {
        let req = t
            .http
            .put(uri)
            .header("x-amz-server-side-encryption", "AES256")
            .header("content-type", "application/octet-stream")
            .body(serde_json::to_vec(&body).unwrap());
        async move { assert_eq!(req.send().await.unwrap().status(), StatusCode::OK) }
    };
    let doc = |data: &str| json!({"addOrUpdate": [{"documentId": "file:///st/x", "data": data}]});
    upload(open.body["uploadUri"].as_str().unwrap(), doc("first")).await;
    let chunk = t
        .send(Method::POST, &format!("{base}/{stream}/chunk"), None)
        .await;
    upload(chunk.body["uploadUri"].as_str().unwrap(), doc("second")).await;
    let close = t
        .send(Method::POST, &format!("{base}/{stream}/close"), None)
        .await;
    assert_eq!(close.status, StatusCode::OK);
    let item = t.item("file:///st/x").await.unwrap();
    assert_eq!(item["content"], b64(b"second"));
    assert_eq!(item["requestId"], close.body["requestId"]);
    assert!(skipped(&t).await.is_empty());
}

fn date(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get("date")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_date_header_follows_the_clock_advanced_over_http() {
    let t = T::with(frozen()).await;
    let push = t
        .send(
            Method::POST,
            &t.push_url("/sources/documents/status?statusType=REBUILD"),
            None,
        )
        .await;
    assert_eq!(date(&push.headers), "Tue, 14 Nov 2023 22:13:20 GMT");
    let r = t
        .http
        .post(format!("{}/_emulator/v1/clock", t.emu.url()))
        .json(&json!({"advanceSeconds": 3 * 86_400 + 3_661}))
        .send()
        .await
        .unwrap();
    // The clock answer itself already carries the advanced clock.
    assert_eq!(date(r.headers()), "Fri, 17 Nov 2023 23:14:21 GMT");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["nowMs"], START_MS + (3 * 86_400 + 3_661) * 1000);
    // Push, Source Logs, Platform, upload and inspection answers, errors included.
    let logs = t
        .send(
            Method::GET,
            &format!(
                "{}/logs/v1/organizations/sandbox?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z",
                t.emu.url()
            ),
            None,
        )
        .await;
    let platform = t
        .send(
            Method::GET,
            &format!("{}/rest/organizations/sandbox/sources", t.emu.url()),
            None,
        )
        .await;
    let unauthorized = t
        .http
        .put(t.push_url("/sources/documents/documents?documentId=file%3A%2F%2F%2Fx"))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
    let upload = t
        .http
        .put(format!(
            "{}/_emulator/s3/nope?X-Amz-Signature=x",
            t.emu.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), StatusCode::FORBIDDEN);
    let health = t
        .http
        .get(format!("{}/_emulator/v1/health", t.emu.url()))
        .send()
        .await
        .unwrap();
    for (what, headers) in [
        ("logs", &logs.headers),
        ("platform", &platform.headers),
        ("401", unauthorized.headers()),
        ("upload", upload.headers()),
        ("health", health.headers()),
    ] {
        assert_eq!(date(headers), "Fri, 17 Nov 2023 23:14:21 GMT", "{what}");
    }
}
