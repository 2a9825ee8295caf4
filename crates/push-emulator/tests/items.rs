//! Items: single pushes, batches, validation, compression, orderingId, deleteChildren and the
//! asynchronous rejections reported in the Source Logs.

mod common;

use std::io::Write;
use std::time::Duration;

use common::{b64, enc, sha256_hex, T};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_pushed_item_is_stored_with_decoded_content_and_sha256() {
    let t = T::new().await;
    let a = t
        .put_item(
            "file:///docs/a.txt",
            "",
            json!({"data": "hello", "title": "A", "permanentid": "p1", "fileExtension": ".txt"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    let item = t.item("file:///docs/a.txt").await.expect("item");
    assert_eq!(item["content"], b64(b"hello"));
    assert_eq!(item["contentSha256"], sha256_hex(b"hello"));
    assert_eq!(item["metadata"]["title"], "A");
    assert_eq!(item["metadata"]["permanentid"], "p1");
    assert_eq!(item["state"], "INDEXED");
    assert!(
        item["orderingId"].as_u64().unwrap() > 1_600_000_000_000,
        "default orderingId is now in ms"
    );
    let log = t.logs(Some("file:///docs/a.txt")).await;
    assert_eq!(log.last().unwrap()["result"], "COMPLETED");
}

#[tokio::test]
async fn synchronous_validation_answers_like_the_service() {
    let t = T::new().await;
    let url = t.push_url("/sources/documents/documents?documentId=file%3A%2F%2F%2Fx");
    let raw = |body: &'static str, ct: Option<&'static str>| {
        let mut r = t.http.put(&url).bearer_auth(t.emu.api_key()).body(body);
        if let Some(ct) = ct {
            r = r.header("content-type", ct);
        }
        r
    };
    let cases: Vec<(reqwest::RequestBuilder, StatusCode, &str)> = vec![
        (
            raw("{not json", Some("application/json")),
            StatusCode::BAD_REQUEST,
            "INVALID_JSON",
        ),
        (
            raw(
                r#"{"data":"x","title":"a","Title":"b"}"#,
                Some("application/json"),
            ),
            StatusCode::BAD_REQUEST,
            "INVALID_JSON",
        ),
        (
            raw(r#"{"data":"x","DATA":"y"}"#, Some("application/json")),
            StatusCode::BAD_REQUEST,
            "INVALID_JSON",
        ),
        (
            raw(
                r#"{"data":"x","compressedBinaryData":"eA=="}"#,
                Some("application/json"),
            ),
            StatusCode::BAD_REQUEST,
            "INVALID_JSON",
        ),
        (
            raw(r#"{"title":"no content"}"#, Some("application/json")),
            StatusCode::BAD_REQUEST,
            "INVALID_JSON",
        ),
        (
            raw(r#"{"data":"x","orderingId":5}"#, Some("application/json")),
            StatusCode::BAD_REQUEST,
            "INVALID_JSON",
        ),
        (
            raw(
                r#"{"data":"x","fileExtension":"txt"}"#,
                Some("application/json"),
            ),
            StatusCode::BAD_REQUEST,
            "INVALID_JSON",
        ),
        (
            raw(
                r#"{"compressedBinaryData":"***"}"#,
                Some("application/json"),
            ),
            StatusCode::BAD_REQUEST,
            "INVALID_JSON",
        ),
        (
            raw(
                r#"{"data":"x","documentId":"file:///other"}"#,
                Some("application/json"),
            ),
            StatusCode::PRECONDITION_FAILED,
            "INVALID_PARAMETER",
        ),
        (
            raw(r#"{"data":"x"}"#, Some("text/plain")),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            raw(r#"{"data":"x"}"#, None),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
    ];
    for (i, (req, status, code)) in cases.into_iter().enumerate() {
        let a = T::answer(req.send().await.unwrap()).await;
        assert_eq!(
            (a.status, a.code()),
            (status, code),
            "case {i}: {:?}",
            a.body
        );
    }
    let no_id = t
        .send(
            Method::PUT,
            &t.push_url("/sources/documents/documents"),
            Some(json!({"data": "x"})),
        )
        .await;
    assert_eq!(
        (no_id.status, no_id.code()),
        (StatusCode::PRECONDITION_FAILED, "MISSING_PARAMETER")
    );
    let not_uri = t.put_item("just a name", "", json!({"data": "x"})).await;
    assert_eq!(
        (not_uri.status, not_uri.code()),
        (StatusCode::PRECONDITION_FAILED, "INVALID_PARAMETER")
    );
    let bad_order = t
        .put_item("file:///x", "&orderingId=soon", json!({"data": "x"}))
        .await;
    assert_eq!(
        (bad_order.status, bad_order.code()),
        (StatusCode::PRECONDITION_FAILED, "INVALID_PARAMETER")
    );
    let bad_compression = t
        .put_item(
            "file:///x",
            "&compressionType=RAR",
            json!({"compressedBinaryData": "eA=="}),
        )
        .await;
    assert_eq!(bad_compression.code(), "INVALID_PARAMETER");
    let big = "x".repeat(6 * 1024 * 1024 + 10);
    let too_large = t.put_item("file:///x", "", json!({"data": big})).await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(t.items().await.is_empty(), "nothing was accepted");
}

fn compress(kind: &str, data: &[u8]) -> Vec<u8> {
    match kind {
        "ZLIB" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "GZIP" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "DEFLATE" => {
            let mut e =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "LZMA" => {
            let mut out = Vec::new();
            lzma_rs::lzma_compress(&mut std::io::Cursor::new(data), &mut out).unwrap();
            out
        }
        _ => data.to_vec(),
    }
}

#[tokio::test]
async fn every_compression_type_is_decoded_in_query_or_body_in_any_case() {
    let t = T::new().await;
    let original = b"The quick brown fox jumps over the lazy dog. ".repeat(20);
    for (i, (kind, spelling)) in [
        ("ZLIB", "ZLib"),
        ("GZIP", "gzip"),
        ("DEFLATE", "Deflate"),
        ("LZMA", "LZMA"),
        ("UNCOMPRESSED", "Uncompressed"),
    ]
    .iter()
    .enumerate()
    {
        let data = b64(&compress(kind, &original));
        let id = format!("file:///c/{kind}");
        let a = if i % 2 == 0 {
            t.put_item(
                &id,
                &format!("&compressionType={spelling}"),
                json!({"compressedBinaryData": data}),
            )
            .await
        } else {
            t.put_item(
                &id,
                "",
                json!({"compressedBinaryData": data, "CompressionType": spelling}),
            )
            .await
        };
        assert_eq!(a.status, StatusCode::ACCEPTED, "{kind}: {:?}", a.body);
    }
    let items = t.items().await;
    assert_eq!(items.len(), 5);
    for item in &items {
        assert_eq!(
            item["contentSha256"],
            sha256_hex(&original),
            "{}",
            item["documentId"]
        );
    }
    // A large binary through a container referenced by compressedBinaryDataFileId.
    let file_id = t.upload(compress("GZIP", &original)).await;
    let a = t
        .put_item(
            "file:///c/big",
            "&compressionType=GZIP",
            json!({"compressedBinaryDataFileId": file_id}),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    assert_eq!(
        t.item("file:///c/big").await.unwrap()["content"],
        b64(&original)
    );
    // The container is consumed: a second reference fails synchronously.
    let again = t
        .put_item(
            "file:///c/big2",
            "",
            json!({"compressedBinaryDataFileId": file_id}),
        )
        .await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::PRECONDITION_FAILED, "INVALID_PARAMETER")
    );
    // Bytes that are not what compressionType says are rejected by the pipeline, not by HTTP.
    let a = t
        .put_item(
            "file:///c/bad",
            "&compressionType=ZLIB",
            json!({"compressedBinaryData": b64(b"plain")}),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    let log = t.logs(Some("file:///c/bad")).await;
    assert_eq!(log[0]["result"], "REJECTED");
}

#[tokio::test]
async fn batches_apply_adds_then_deletes_and_accept_every_client_body_form() {
    let t = T::new().await;
    let seed = t
        .batch(
            json!({"addOrUpdate": [{"documentId": "file:///b/old", "data": "old"}]}),
            "",
        )
        .await;
    assert_eq!(seed.status, StatusCode::ACCEPTED);
    t.emu.drain().await;
    let file = json!({
        "AddOrUpdate": [
            {"documentId": "file:///b/1", "data": "one", "title": "1"},
            {"documentId": "file:///b/2", "data": "two"},
            {"documentId": "file:///b/2", "data": "two again"},
            {"documentId": "not a uri", "data": "bad"},
            {"documentId": "file:///b/gone", "data": "x"}
        ],
        "delete": [{"documentId": "file:///b/gone"}, {"documentId": "file:///b/old", "deleteChildren": false}]
    });
    // JS sends no body; JAVA an empty string; others `{}`.
    let id = t.upload(serde_json::to_vec(&file).unwrap()).await;
    let url = format!(
        "{}?fileId={id}",
        t.push_url("/sources/documents/documents/batch")
    );
    let r = t
        .http
        .put(&url)
        .bearer_auth(t.emu.api_key())
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let reuse = t.send(Method::PUT, &url, None).await;
    assert_eq!(
        (reuse.status, reuse.code()),
        (StatusCode::PRECONDITION_FAILED, "INVALID_PARAMETER"),
        "a container is consumed once"
    );
    let items = t.items().await;
    let ids: Vec<&str> = items
        .iter()
        .map(|i| i["documentId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["file:///b/1", "file:///b/2"]);
    assert_eq!(
        items[1]["content"],
        b64(b"two again"),
        "later entries of the same file win"
    );
    let rejected = t.logs(Some("not a uri")).await;
    assert_eq!(rejected[0]["result"], "REJECTED");
    let missing = t
        .send(
            Method::PUT,
            &t.push_url("/sources/documents/documents/batch"),
            None,
        )
        .await;
    assert_eq!(missing.code(), "MISSING_PARAMETER");
    let unknown = t
        .send(
            Method::PUT,
            &format!(
                "{}?fileId=nope",
                t.push_url("/sources/documents/documents/batch")
            ),
            None,
        )
        .await;
    assert_eq!(unknown.code(), "INVALID_PARAMETER");
    // A batch file that is not JSON is accepted, then rejected as a whole in the logs.
    let id = t.upload(b"{ nope".to_vec()).await;
    let a = t
        .send(
            Method::PUT,
            &format!(
                "{}?fileId={id}",
                t.push_url("/sources/documents/documents/batch")
            ),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    let log = t.logs(Some(&id)).await;
    assert_eq!(
        (log[0]["operation"].as_str(), log[0]["result"].as_str()),
        (Some("BATCH_FILE"), Some("REJECTED"))
    );
}

#[tokio::test]
async fn ordering_ids_never_let_an_older_update_win() {
    let t = T::new().await;
    t.put_item("file:///o/a", "&orderingId=100", json!({"data": "v100"}))
        .await;
    t.put_item("file:///o/a", "&orderingId=50", json!({"data": "v50"}))
        .await;
    let item = t.item("file:///o/a").await.unwrap();
    assert_eq!(
        (item["content"].as_str(), item["orderingId"].as_u64()),
        (Some(b64(b"v100").as_str()), Some(100))
    );
    // An older delete does not remove a newer item either.
    t.send(
        Method::DELETE,
        &format!(
            "{}?documentId={}&orderingId=99",
            t.push_url("/sources/documents/documents"),
            enc("file:///o/a")
        ),
        None,
    )
    .await;
    assert_eq!(t.item("file:///o/a").await.unwrap()["state"], "INDEXED");
    // A newer delete leaves a tombstone that an older add cannot resurrect.
    t.send(
        Method::DELETE,
        &format!(
            "{}?documentId={}&orderingId=200",
            t.push_url("/sources/documents/documents"),
            enc("file:///o/a")
        ),
        None,
    )
    .await;
    t.put_item("file:///o/a", "&orderingId=150", json!({"data": "v150"}))
        .await;
    assert_eq!(t.item("file:///o/a").await.unwrap()["state"], "DELETED");
    let skipped = t.logs(Some("file:///o/a")).await;
    assert!(skipped.iter().any(|e| e["result"] == "SKIPPED"));
}

#[tokio::test]
async fn delete_older_than_waits_its_queue_delay_and_raises_a_watermark() {
    let t = T::new().await;
    t.put_item("file:///w/old", "&orderingId=1000", json!({"data": "old"}))
        .await;
    t.put_item("file:///w/new", "&orderingId=3000", json!({"data": "new"}))
        .await;
    t.emu.drain().await;
    let url = format!(
        "{}?orderingId=2000&queueDelay=5",
        t.push_url("/sources/documents/documents/olderthan")
    );
    assert_eq!(
        t.send(Method::DELETE, &url, None).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        t.items().await.len(),
        2,
        "queueDelay 5 minutes: nothing deleted yet"
    );
    t.emu.advance_clock(Duration::from_secs(5 * 60)).await;
    let items = t.items().await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["documentId"], "file:///w/new");
    // Operations below the watermark are rejected by the pipeline.
    t.put_item(
        "file:///w/late",
        "&orderingId=1500",
        json!({"data": "late"}),
    )
    .await;
    assert!(t.item("file:///w/late").await.is_none());
    assert_eq!(
        t.logs(Some("file:///w/late")).await[0]["result"],
        "REJECTED"
    );
    let missing = t
        .send(
            Method::DELETE,
            &t.push_url("/sources/documents/documents/olderthan"),
            None,
        )
        .await;
    assert_eq!(missing.code(), "MISSING_PARAMETER");
    // queueDelay=0 applies at once.
    let now = url.replace(
        "orderingId=2000&queueDelay=5",
        "orderingId=5000&queueDelay=0",
    );
    t.send(Method::DELETE, &now, None).await;
    assert!(t.items().await.is_empty());
}

#[tokio::test]
async fn delete_children_removes_items_whose_parent_is_the_item() {
    let t = T::new().await;
    t.put_item("file:///p/mail", "", json!({"data": "mail"}))
        .await;
    t.put_item(
        "file:///p/mail/att1",
        "",
        json!({"data": "a1", "parentId": "file:///p/mail"}),
    )
    .await;
    t.put_item(
        "file:///p/mail/att1/inner",
        "",
        json!({"data": "i", "parentId": "file:///p/mail/att1"}),
    )
    .await;
    t.put_item("file:///p/other", "", json!({"data": "o"}))
        .await;
    t.emu.drain().await;
    let url = format!(
        "{}?documentId={}&deleteChildren=true",
        t.push_url("/sources/documents/documents"),
        enc("file:///p/mail")
    );
    assert_eq!(
        t.send(Method::DELETE, &url, None).await.status,
        StatusCode::ACCEPTED
    );
    let items = t.items().await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["documentId"], "file:///p/other");
    let bad = format!(
        "{}?documentId={}&deleteChildren=maybe",
        t.push_url("/sources/documents/documents"),
        enc("file:///p/other")
    );
    assert_eq!(
        t.send(Method::DELETE, &bad, None).await.code(),
        "INVALID_PARAMETER"
    );
}

#[tokio::test]
async fn the_pipeline_rejects_bad_metadata_permissions_and_identity_types_into_the_logs() {
    let t = T::new().await;
    let too_many: Vec<_> = (0..5001)
        .map(|i| json!({"identity": format!("u{i}"), "identityType": "User"}))
        .collect();
    let cases = [
        (
            "file:///r/nested",
            json!({"data": "x", "meta": {"a": {"b": 1}}}),
        ),
        (
            "file:///r/robot",
            json!({"data": "x", "permissions": [{"allowedPermissions": [{"identity": "r", "identityType": "Robot"}]}]}),
        ),
        (
            "file:///r/many",
            json!({"data": "x", "permissions": [{"allowedPermissions": too_many}]}),
        ),
    ];
    for (id, body) in &cases {
        assert_eq!(
            t.put_item(id, "", body.clone()).await.status,
            StatusCode::ACCEPTED,
            "{id}"
        );
    }
    // Accepted spellings: USER / User / VirtualGroup / VIRTUAL_GROUP, a dictionary value.
    let ok = json!({"data": "x", "dict": {"": "v", "k": ["a", "b"]}, "permissions": [{"allowAnonymous": false,
        "allowedPermissions": [{"identity": "a", "identityType": "USER"}, {"identity": "g", "identityType": "VirtualGroup"}],
        "DeniedPermissions": [{"identity": "b", "identityType": "VIRTUAL_GROUP"}]}]});
    assert_eq!(
        t.put_item("file:///r/ok", "", ok).await.status,
        StatusCode::ACCEPTED
    );
    let items = t.items().await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["documentId"], "file:///r/ok");
    for (id, _) in &cases {
        let log = t.logs(Some(id)).await;
        assert_eq!(log.len(), 1, "{id}");
        assert_eq!(log[0]["result"], "REJECTED", "{id}");
        assert!(
            log[0]["meta"]["error"].as_str().unwrap().len() > 10,
            "{id} has a reason"
        );
    }
    // The Source Logs API filters by result and by a partial documentId.
    let url = format!(
        "{}/logs/v1/organizations/sandbox?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&documentId=%2Fr%2F&documentIdMatching=PARTIAL",
        t.emu.url()
    );
    let a = t
        .send(Method::POST, &url, Some(json!({"results": ["REJECTED"]})))
        .await;
    assert_eq!(a.body["documentLogEntries"].as_array().unwrap().len(), 3);
    let a = t
        .send(
            Method::POST,
            &format!("{url}&perPage=2"),
            Some(json!({"excludeResults": ["COMPLETED"]})),
        )
        .await;
    assert_eq!(a.body["hasNextPage"], true);
    let stats = t
        .send(
            Method::POST,
            &url.replace("sandbox?", "sandbox/facetsStats?"),
            Some(json!({})),
        )
        .await;
    assert_eq!(stats.body["results"]["REJECTED"], 3, "{:?}", stats.body);
    let facets = t
        .send(
            Method::POST,
            &url.replace("sandbox?", "sandbox/facets?"),
            Some(json!({"results": ["COMPLETED"]})),
        )
        .await;
    assert_eq!(facets.body["results"], json!(["COMPLETED"]));
    let no_range = t
        .send(
            Method::POST,
            &format!("{}/logs/v1/organizations/sandbox", t.emu.url()),
            Some(json!({})),
        )
        .await;
    assert_eq!(no_range.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_stream_replaces_the_catalog_and_update_merges() {
    let t = T::new().await;
    t.put_item("file:///st/old", "&orderingId=1", json!({"data": "old"}))
        .await;
    t.emu.drain().await;
    let base = t.push_url("/sources/documents/stream");
    let open = t.send(Method::POST, &format!("{base}/open"), None).await;
    assert_eq!(open.status, StatusCode::CREATED);
    let stream = open.body["streamId"].as_str().unwrap().to_owned();
    let upload = |uri: String, body: serde_json::Value| {
        let http = t.http.clone();
        async move {
            let r = http
                .put(uri)
                .header("x-amz-server-side-encryption", "AES256")
                .header("content-type", "application/octet-stream")
                .body(serde_json::to_vec(&body).unwrap())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
        }
    };
    upload(
        open.body["uploadUri"].as_str().unwrap().to_owned(),
        json!({"addOrUpdate": [{"documentId": "file:///st/1", "data": "1"}]}),
    )
    .await;
    let chunk = t
        .send(Method::POST, &format!("{base}/{stream}/chunk"), None)
        .await;
    assert_eq!(chunk.status, StatusCode::OK);
    upload(
        chunk.body["uploadUri"].as_str().unwrap().to_owned(),
        json!({"addOrUpdate": [{"documentId": "file:///st/2", "data": "2"}]}),
    )
    .await;
    let close = t
        .send(Method::POST, &format!("{base}/{stream}/close"), None)
        .await;
    assert_eq!(close.status, StatusCode::OK);
    assert!(close.body["orderingId"].is_string());
    let ids: Vec<String> = t
        .items()
        .await
        .iter()
        .map(|i| i["documentId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["file:///st/1", "file:///st/2"]);
    let file = t
        .upload(
            serde_json::to_vec(
                &json!({"addOrUpdate": [{"documentId": "file:///st/3", "data": "3"}]}),
            )
            .unwrap(),
        )
        .await;
    let update = t
        .send(Method::PUT, &format!("{base}/update?fileId={file}"), None)
        .await;
    assert_eq!(update.status, StatusCode::ACCEPTED);
    assert_eq!(t.items().await.len(), 3);
    let gone = t
        .send(Method::POST, &format!("{base}/{stream}/chunk"), None)
        .await;
    assert_eq!(gone.code(), "INVALID_PARAMETER");
}

#[tokio::test]
async fn a_large_batch_is_decoded_in_parallel_and_keeps_file_order() {
    let t = T::new().await;
    let big = t.upload(b"binary content".to_vec()).await;
    let mut adds: Vec<serde_json::Value> = (0..9_000)
        .map(|i| json!({"documentId": format!("file:///l/{i:05}"), "data": format!("item {i}")}))
        .collect();
    adds[4_500] = json!({"documentId": "file:///l/bad", "data": "x", "nested": {"a": {"b": 1}}});
    adds[8_999] = json!({"documentId": "file:///l/08998", "data": "the later entry wins"});
    adds[7_000] = json!({"documentId": "file:///l/bin", "compressedBinaryDataFileId": big, "compressionType": "UNCOMPRESSED"});
    assert_eq!(
        t.batch(json!({"addOrUpdate": adds}), "").await.status,
        StatusCode::ACCEPTED
    );
    let items = t.items().await;
    assert_eq!(
        items.len(),
        8_998,
        "9,000 entries: 04500, 07000 and 08999 replaced, bin added, bad rejected"
    );
    let item = t.item("file:///l/08998").await.unwrap();
    assert_eq!(item["content"], b64(b"the later entry wins"));
    assert_eq!(
        t.item("file:///l/bin").await.unwrap()["content"],
        b64(b"binary content")
    );
    assert_eq!(t.logs(Some("file:///l/bad")).await[0]["result"], "REJECTED");
    assert!(
        t.inspect("/containers").await["containers"]
            .as_array()
            .unwrap()
            .is_empty(),
        "the referenced container is gone"
    );
}
