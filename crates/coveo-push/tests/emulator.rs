//! Conformance: the main operations against push-emulator, checked through its inspection API.

use std::sync::Arc;

use base64::Engine as _;
use coveo_push::{
    ApiKey, Batcher, BatcherConfig, ClientConfig, Document, Endpoint, Identity, IdentityBody,
    IdentityType, ProxyConfig, PushClient, SourceStatus,
};
use push_emulator::{Emulator, EmulatorConfig};
use serde_json::Value;

async fn setup() -> (Emulator, PushClient) {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let config = ClientConfig::new("sandbox", ApiKey::new(emu.api_key()))
        .with_endpoint(Endpoint::custom(emu.url()).unwrap())
        .with_proxy(ProxyConfig::Direct);
    let client = PushClient::new(config).unwrap();
    (emu, client)
}

async fn get(emu: &Emulator, path: &str) -> Value {
    let resp = reqwest::get(format!("{}/_emulator/v1/{path}", emu.url()))
        .await
        .unwrap();
    assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
    resp.json().await.unwrap()
}

async fn items(emu: &Emulator) -> Vec<Value> {
    emu.drain().await;
    let v = get(emu, "organizations/sandbox/sources/documents/items").await;
    v["items"].as_array().unwrap().clone()
}

fn find<'a>(items: &'a [Value], id: &str) -> Option<&'a Value> {
    items.iter().find(|i| i["documentId"] == id)
}

fn content(item: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(item["content"].as_str().unwrap())
        .unwrap()
}

fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[tokio::test]
async fn single_items_round_trip() {
    let (emu, client) = setup().await;
    client.check_source("documents").await.unwrap();
    client
        .set_source_status("documents", SourceStatus::Rebuild)
        .await
        .unwrap();
    client
        .push_document(
            "documents",
            &Document::new("https://x/text")
                .title("Text")
                .metadata("dept", "hr")
                .text("hello world"),
            None,
        )
        .await
        .unwrap();
    client
        .push_document(
            "documents",
            &Document::new("https://x/bin").bytes(b"\x00\x01binary".to_vec()),
            None,
        )
        .await
        .unwrap();
    let big = noise(6 * 1024 * 1024);
    client
        .push_document(
            "documents",
            &Document::new("https://x/big").bytes(big.clone()),
            None,
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a b.png");
    std::fs::write(&path, noise(1000)).unwrap();
    client
        .push_document("documents", &Document::from_path(&path).unwrap(), None)
        .await
        .unwrap();
    client
        .set_source_status("documents", SourceStatus::Idle)
        .await
        .unwrap();

    let all = items(&emu).await;
    let text = find(&all, "https://x/text").expect("text item");
    assert_eq!(content(text), b"hello world");
    assert_eq!(text["metadata"]["dept"], "hr");
    assert_eq!(
        content(find(&all, "https://x/bin").unwrap()),
        b"\x00\x01binary"
    );
    let big_item = find(&all, "https://x/big").unwrap();
    assert_eq!(big_item["contentKey"], "compressedBinaryDataFileId");
    assert!(content(big_item) == big);
    let uri = coveo_push::file_uri_from_path(&path).unwrap();
    assert!(uri.ends_with("/a%20b.png"));
    assert_eq!(content(find(&all, &uri).unwrap()).len(), 1000);

    client
        .delete_document("documents", "https://x/bin", false, None)
        .await
        .unwrap();
    let all = items(&emu).await;
    assert!(find(&all, "https://x/bin").is_none());
    assert!(find(&all, "https://x/text").is_some());
}

#[tokio::test]
async fn batcher_round_trip() {
    let (emu, client) = setup().await;
    let events = Arc::new(std::sync::Mutex::new(0usize));
    let sink = events.clone();
    let client = client.with_progress(Arc::new(move |e| {
        if let coveo_push::ProgressEvent::BatchAccepted { added, .. } = e {
            *sink.lock().unwrap() += added.len();
        }
    }));
    let mut config = BatcherConfig::new("documents");
    config.max_batch_bytes = 64 * 1024;
    let mut batcher = Batcher::new(client.clone(), config);
    for i in 0..50 {
        batcher
            .add(
                Document::new(format!("https://x/{i}"))
                    .title(format!("Doc {i}"))
                    .text("word ".repeat(2000)),
            )
            .await
            .unwrap();
    }
    let summary = batcher.finish().await.unwrap();
    assert!(summary.batches_accepted > 1);
    assert_eq!(*events.lock().unwrap(), 50);
    assert_eq!(items(&emu).await.len(), 50);

    let mut batcher = Batcher::new(client, BatcherConfig::new("documents"));
    for i in 0..10 {
        batcher
            .delete(format!("https://x/{i}"), false)
            .await
            .unwrap();
    }
    batcher
        .add(Document::new("https://x/new").text("new"))
        .await
        .unwrap();
    let summary = batcher.finish().await.unwrap();
    assert_eq!(summary.deleted.len(), 10);
    let all = items(&emu).await;
    assert_eq!(all.len(), 41);
    assert!(find(&all, "https://x/0").is_none());
    assert_eq!(content(find(&all, "https://x/new").unwrap()), b"new");
}

#[tokio::test]
async fn identities_round_trip() {
    let (emu, client) = setup().await;
    let group = Identity::new("HR", IdentityType::Group);
    let alice = Identity::new("alice@example.com", IdentityType::User);
    client
        .put_identity(
            "sandbox",
            &IdentityBody::new(group.clone()).members(vec![alice]),
            None,
        )
        .await
        .unwrap();
    emu.drain().await;
    let v = get(&emu, "organizations/sandbox/providers/sandbox/identities").await;
    let names: Vec<&str> = v["identities"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["identity"]["name"].as_str())
        .collect();
    assert!(names.contains(&"HR"), "{v}");
    client
        .delete_identity("sandbox", &group, None)
        .await
        .unwrap();
    emu.drain().await;
    let v = get(&emu, "organizations/sandbox/providers/sandbox/identities").await;
    let names: Vec<&str> = v["identities"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["identity"]["name"].as_str())
        .collect();
    assert!(!names.contains(&"HR"), "{v}");
}

#[tokio::test]
async fn wrong_key_and_unknown_source_are_classified() {
    let (emu, _) = setup().await;
    let config = ClientConfig::new("sandbox", ApiKey::new("wrong"))
        .with_endpoint(Endpoint::custom(emu.url()).unwrap())
        .with_proxy(ProxyConfig::Direct);
    let bad = PushClient::new(config).unwrap();
    let e = bad
        .set_source_status("documents", SourceStatus::Idle)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &coveo_push::ErrorKind::Unauthorized, "{e}");
    let config = ClientConfig::new("sandbox", ApiKey::new(emu.api_key()))
        .with_endpoint(Endpoint::custom(emu.url()).unwrap())
        .with_proxy(ProxyConfig::Direct);
    let good = PushClient::new(config).unwrap();
    let e = good
        .delete_document("nope", "https://x/1", false, None)
        .await
        .unwrap_err();
    assert!(
        matches!(e.kind(), coveo_push::ErrorKind::NotFound { .. }),
        "{e}"
    );
}

#[tokio::test]
async fn delete_older_than_and_explicit_ordering_ids() {
    let (emu, client) = setup().await;
    client
        .push_document(
            "documents",
            &Document::new("https://x/old").text("old"),
            Some(1_000),
        )
        .await
        .unwrap();
    client
        .push_document(
            "documents",
            &Document::new("https://x/new").text("new"),
            Some(3_000),
        )
        .await
        .unwrap();
    assert_eq!(items(&emu).await.len(), 2);
    client
        .delete_older_than("documents", 2_000, Some(0))
        .await
        .unwrap();
    let all = items(&emu).await;
    assert!(find(&all, "https://x/old").is_none(), "{all:?}");
    assert_eq!(find(&all, "https://x/new").unwrap()["orderingId"], 3_000);
}

#[tokio::test]
async fn identity_batch_and_mapping() {
    let (emu, client) = setup().await;
    let batch = coveo_push::IdentityBatch {
        members: vec![
            IdentityBody::new(Identity::new("Team", IdentityType::Group))
                .members(vec![Identity::new("bob@example.com", IdentityType::User)]),
        ],
        mappings: vec![coveo_push::MappedIdentityBody {
            identity: Identity::new("BOB", IdentityType::User),
            mappings: vec![coveo_push::Mapping::user("bob@example.com", None)],
            well_knowns: vec![],
        }],
        deleted: vec![],
    };
    client
        .push_identity_batch("sandbox", &batch, None)
        .await
        .unwrap();
    emu.drain().await;
    let v = get(&emu, "organizations/sandbox/providers/sandbox/identities").await;
    let names: Vec<&str> = v["identities"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["identity"]["name"].as_str())
        .collect();
    assert!(names.contains(&"Team") && names.contains(&"BOB"), "{v}");
}

#[tokio::test]
async fn platform_setup() {
    let (_emu, client) = setup().await;
    let source = client
        .create_push_source("My docs", coveo_push::SourceVisibility::Secured)
        .await
        .unwrap();
    assert!(!source.id.is_empty());
    assert!(
        source.source_type.eq_ignore_ascii_case("PUSH"),
        "{source:?}"
    );
    let checked = client.check_source(&source.id).await.unwrap();
    assert_eq!(checked.id, source.id);
    client
        .create_security_provider("my-provider", &source.id)
        .await
        .unwrap();
    let doc = Document::new("https://x/1")
        .metadata("department", "hr")
        .metadata("pages", 3i64);
    let created = client.ensure_fields(&doc.field_specs()).await.unwrap();
    assert_eq!(created.len(), 2);
    let again = client.ensure_fields(&doc.field_specs()).await.unwrap();
    assert!(again.is_empty(), "{again:?}");
    let e = client.check_source("no-such-source").await.unwrap_err();
    assert!(
        matches!(e.kind(), coveo_push::ErrorKind::NotFound { .. }),
        "{e}"
    );
}

#[tokio::test]
async fn source_logs_show_indexed_items() {
    let (emu, client) = setup().await;
    let from = time::OffsetDateTime::now_utc() - time::Duration::minutes(5);
    client
        .push_document(
            "documents",
            &Document::new("https://x/logged").text("hi"),
            None,
        )
        .await
        .unwrap();
    emu.drain().await;
    let to = time::OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let entries = client
        .source_logs(&coveo_push::LogQuery::source("documents", from, to))
        .await
        .unwrap();
    assert!(
        entries.iter().any(|e| e.id == "https://x/logged"),
        "{entries:?}"
    );
}

/// Compressible text, different for each `i`.
fn prose(i: usize, len: usize) -> Vec<u8> {
    let words = [
        "policy", "budget", "review", "holiday", "contract", "folder", "search",
    ];
    let mut out = Vec::with_capacity(len + 16);
    let mut x = i as u64 * 2654435761 + 1;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(words[(x % words.len() as u64) as usize].as_bytes());
        out.push(b' ');
    }
    out.truncate(len);
    out
}

/// Pushes 400 items of text in batches of about 60 KB through an emulator answering every
/// Push API call after `latency_ms`; returns the highest compression level used, after
/// checking every item arrived with its exact content. (The batcher encodes up to a few
/// hundred items ahead of the uploads, so a change of level shows on later items only.)
async fn push_through(latency_ms: u64) -> u32 {
    let mut config = EmulatorConfig::default();
    config.faults.latency_ms = latency_ms;
    let emu = Emulator::start(config).await.unwrap();
    let client = PushClient::new(
        ClientConfig::new("sandbox", ApiKey::new(emu.api_key()))
            .with_endpoint(Endpoint::custom(emu.url()).unwrap())
            .with_proxy(ProxyConfig::Direct),
    )
    .unwrap();
    let mut config = BatcherConfig::new("documents");
    config.max_batch_bytes = 60_000;
    let mut batcher = Batcher::new(client, config);
    for i in 0..400 {
        let doc = Document::new(format!("https://x/{i}")).bytes(prose(i, 12_000));
        batcher.add(doc).await.unwrap();
    }
    let summary = batcher.finish().await.unwrap();
    assert_eq!(summary.added.len(), 400, "{summary:?}");
    let all = items(&emu).await;
    for i in 0..400 {
        let item = find(&all, &format!("https://x/{i}")).unwrap();
        assert!(
            content(item) == prose(i, 12_000),
            "item {i}: content differs"
        );
    }
    summary.highest_level
}

#[tokio::test]
async fn a_slow_uplink_raises_the_compression_level_a_fast_one_leaves_it() {
    // Loopback without latency: the encoders set the pace, the client's level holds (a
    // stall of the test machine may raise it a step; reaching the ceiling takes three).
    let base = coveo_push::DEFAULT_COMPRESSION_LEVEL;
    let fast = push_through(0).await;
    assert!(
        fast >= base && fast < coveo_push::MAX_ADAPTIVE_LEVEL,
        "level {fast}"
    );
    // 150 ms per call: sealing waits for an upload slot, so compressing harder costs no
    // time; the level climbs to the adaptive ceiling, and the content still round-trips.
    assert_eq!(
        push_through(150).await,
        coveo_push::MAX_ADAPTIVE_LEVEL.max(base)
    );
}
