//! The exact request of every operation (method, path, query, headers, JSON body), checked
//! against a recording server and the reference (§2, endpoints: `docs/push-api-reference.md`).

mod support;

use coveo_push::{
    DeleteItem, DeletedIdentity, Document, ErrorKind, FieldSpec, FieldType, Identity,
    IdentityBatch, IdentityBody, IdentityType, MappedIdentityBody, Mapping, PermissionModel,
    SourceStatus, SourceVisibility,
};
use permissions::{PermissionIdentity, PermissionSet};
use serde_json::json;
use support::{Recorded, Server, API_KEY};

const PUSH: &str = "/push/v1/organizations/my-org";
const REST: &str = "/rest/organizations/my-org";

fn check(r: &Recorded, method: &str, path: &str, query: &[(&str, &str)]) {
    assert_eq!(r.method, method, "{r:?}");
    assert_eq!(r.path, path);
    assert_eq!(r.query_pairs(), query.to_vec(), "query of {method} {path}");
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {API_KEY}").as_str())
    );
}

fn check_upload(r: &Recorded, n: u64) {
    assert_eq!(r.method, "PUT");
    assert_eq!(r.path, format!("/upload/file-{n}"));
    assert_eq!(r.raw_query.as_deref(), Some("X-Amz-Signature=abc"));
    assert_eq!(
        r.header("authorization"),
        None,
        "no Authorization on container uploads"
    );
    assert_eq!(r.header("x-amz-server-side-encryption"), Some("AES256"));
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert_eq!(
        r.header("content-length"),
        Some(r.body_len.to_string().as_str())
    );
    assert_eq!(r.header("transfer-encoding"), None);
}

#[tokio::test]
async fn source_status() {
    let server = Server::start().await;
    let (client, _) = server.client();
    client
        .set_source_status("src", SourceStatus::Rebuild)
        .await
        .unwrap();
    client
        .set_source_status("src", SourceStatus::Idle)
        .await
        .unwrap();
    let r = server.requests();
    check(
        &r[0],
        "POST",
        &format!("{PUSH}/sources/src/status"),
        &[("statusType", "REBUILD")],
    );
    check(
        &r[1],
        "POST",
        &format!("{PUSH}/sources/src/status"),
        &[("statusType", "IDLE")],
    );
    assert!(r[0].body.is_empty());
}

#[tokio::test]
async fn add_one_item_with_text() {
    let server = Server::start().await;
    let (client, _) = server.client();
    let perms = PermissionModel::Simple(vec![PermissionSet {
        allow_anonymous: false,
        allowed_permissions: vec![PermissionIdentity::group("HR")],
        denied_permissions: vec![],
    }]);
    let doc = Document::new("https://x.com/a b?c=1")
        .title("A")
        .author("me")
        .clickable_uri("https://x.com/view")
        .file_extension(".html")
        .date(time::macros::datetime!(2024-01-02 03:04:05 UTC))
        .permissions(perms)
        .metadata("dept", "hr")
        .text("<p>hi</p>");
    client.push_document("src", &doc, Some(42)).await.unwrap();
    let r = &server.requests()[0];
    check(
        r,
        "PUT",
        &format!("{PUSH}/sources/src/documents"),
        &[
            ("documentId", "https://x.com/a b?c=1"),
            ("orderingId", "42"),
        ],
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.json(),
        json!({
            "documentId": "https://x.com/a b?c=1",
            "permanentid": coveo_push::permanent_id("https://x.com/a b?c=1"),
            "title": "A",
            "clickableUri": "https://x.com/view",
            "author": "me",
            "fileExtension": ".html",
            "date": "2024-01-02T03:04:05.000Z",
            "permissions": [{"allowAnonymous": false, "allowedPermissions": [{"identity": "HR", "identityType": "Group"}], "deniedPermissions": []}],
            "dept": "hr",
            "data": "<p>hi</p>"
        })
    );
}

#[tokio::test]
async fn add_one_binary_item_sets_compression_type() {
    let server = Server::start().await;
    let (client, _) = server.client();
    client
        .push_document(
            "src",
            &Document::new("https://x/1").bytes(b"hello ".repeat(20)),
            None,
        )
        .await
        .unwrap();
    let r = &server.requests()[0];
    check(
        r,
        "PUT",
        &format!("{PUSH}/sources/src/documents"),
        &[("documentId", "https://x/1"), ("compressionType", "ZLIB")],
    );
    let body = r.json();
    assert_eq!(body["compressionType"], "ZLIB");
    assert!(body["compressedBinaryData"].is_string());
}

#[tokio::test]
async fn invalid_document_sends_nothing() {
    let server = Server::start().await;
    let (client, _) = server.client();
    let e = client
        .push_document(
            "src",
            &Document::new("https://x/1").metadata("Title", "x"),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::InvalidInput);
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn delete_one_item() {
    let server = Server::start().await;
    let (client, _) = server.client();
    client
        .delete_document("src", "https://x/1", true, None)
        .await
        .unwrap();
    client
        .delete_document("src", "https://x/2", false, Some(7))
        .await
        .unwrap();
    let r = server.requests();
    check(
        &r[0],
        "DELETE",
        &format!("{PUSH}/sources/src/documents"),
        &[("documentId", "https://x/1"), ("deleteChildren", "true")],
    );
    check(
        &r[1],
        "DELETE",
        &format!("{PUSH}/sources/src/documents"),
        &[
            ("documentId", "https://x/2"),
            ("deleteChildren", "false"),
            ("orderingId", "7"),
        ],
    );
}

#[tokio::test]
async fn delete_older_than() {
    let server = Server::start().await;
    let (client, _) = server.client();
    client
        .delete_older_than("src", 1_700_000_000_000, Some(0))
        .await
        .unwrap();
    client.delete_older_than("src", 5, None).await.unwrap();
    let r = server.requests();
    check(
        &r[0],
        "DELETE",
        &format!("{PUSH}/sources/src/documents/olderthan"),
        &[("orderingId", "1700000000000"), ("queueDelay", "0")],
    );
    check(
        &r[1],
        "DELETE",
        &format!("{PUSH}/sources/src/documents/olderthan"),
        &[("orderingId", "5")],
    );
}

#[tokio::test]
async fn batch_through_file_container() {
    let server = Server::start().await;
    let (client, _) = server.client();
    client
        .push_batch(
            "src",
            vec![Document::new("https://x/1").title("one").text("1")],
            vec![DeleteItem {
                document_id: "https://x/2".into(),
                delete_children: false,
            }],
            Some(99),
        )
        .await
        .unwrap();
    let r = server.requests();
    assert_eq!(r.len(), 3);
    check(&r[0], "POST", &format!("{PUSH}/files"), &[]);
    check_upload(&r[1], 1);
    let file = r[1].json();
    assert_eq!(file["addOrUpdate"][0]["documentId"], "https://x/1");
    assert_eq!(file["addOrUpdate"][0]["data"], "1");
    assert_eq!(
        file["delete"],
        json!([{"documentId": "https://x/2", "deleteChildren": false}])
    );
    check(
        &r[2],
        "PUT",
        &format!("{PUSH}/sources/src/documents/batch"),
        &[("fileId", "file-1"), ("orderingId", "99")],
    );
    assert!(r[2].body.is_empty());
}

#[tokio::test]
async fn large_item_goes_through_its_own_container() {
    let server = Server::start().await;
    let (client, _) = server.client();
    // 6 MB of incompressible bytes: too large for compressedBinaryData, and not worth
    // compressing, so sent as they are.
    let mut x: u32 = 7;
    let bytes: Vec<u8> = (0..6 * 1024 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    client
        .push_document(
            "src",
            &Document::new("https://x/big").bytes(bytes.clone()),
            None,
        )
        .await
        .unwrap();
    let r = server.requests();
    assert_eq!(r.len(), 3);
    check(&r[0], "POST", &format!("{PUSH}/files"), &[]);
    check_upload(&r[1], 1);
    assert!(r[1].body == bytes, "the raw bytes, not base64");
    check(
        &r[2],
        "PUT",
        &format!("{PUSH}/sources/src/documents"),
        &[
            ("documentId", "https://x/big"),
            ("compressionType", "UNCOMPRESSED"),
        ],
    );
    let body = r[2].json();
    assert_eq!(body["compressedBinaryDataFileId"], "file-1");
    assert_eq!(body["compressionType"], "UNCOMPRESSED");
    assert!(body.get("compressedBinaryData").is_none());
}

#[tokio::test]
async fn large_file_streams_through_its_own_container() {
    let server = Server::start().await;
    let (client, _) = server.client();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("movie.mp4");
    // Already compressed content (random bytes): uploaded as is, with its length.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let content: Vec<u8> = (0..7 * 1024 * 1024u32)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(&path, &content).unwrap();
    let doc = Document::from_path(&path).unwrap();
    client.push_document("src", &doc, None).await.unwrap();
    let r = server.requests();
    check_upload(&r[1], 1);
    assert_eq!(r[1].body_len, content.len() as u64);
    assert!(r[1].body == content);
    let body = r[2].json();
    assert_eq!(body["compressionType"], "UNCOMPRESSED");
    assert_eq!(body["fileExtension"], ".mp4");
    assert_eq!(body["title"], "movie.mp4");
    assert_eq!(
        r[2].query_pairs()[0].1,
        coveo_push::file_uri_from_path(&path).unwrap()
    );
}

#[tokio::test]
async fn file_over_256_mb_is_refused_naming_the_file() {
    let server = Server::start().await;
    let (client, _) = server.client();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.zip");
    // Its first block incompressible (so it would go as it is), the rest sparse.
    let mut x: u64 = 3;
    let first: Vec<u8> = (0..1024 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(&path, first).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(300 * 1000 * 1000)
        .unwrap(); // sparse
    let e = client
        .push_document("src", &Document::from_path(&path).unwrap(), None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("huge.zip"), "{e}");
    assert!(e.to_string().contains("256 MB"), "{e}");
    assert!(server.requests().is_empty());
}

fn alice() -> Identity {
    Identity::new("alice@x.com", IdentityType::User)
}

#[tokio::test]
async fn identity_operations() {
    let server = Server::start().await;
    let (client, _) = server.client();
    let group = Identity::new("HR", IdentityType::Group);
    client
        .put_identity(
            "prov",
            &IdentityBody::new(group.clone()).members(vec![alice()]),
            Some(3),
        )
        .await
        .unwrap();
    client.delete_identity("prov", &group, None).await.unwrap();
    let mapped = MappedIdentityBody {
        identity: Identity::new("ALICE", IdentityType::User),
        mappings: vec![Mapping::user(
            "alice@x.com",
            Some("Email Security Provider".into()),
        )],
        well_knowns: vec![],
    };
    client.put_mapping("prov", &mapped, None).await.unwrap();
    client
        .delete_identities_older_than("prov", 100, Some(5))
        .await
        .unwrap();
    let r = server.requests();
    check(
        &r[0],
        "PUT",
        &format!("{PUSH}/providers/prov/permissions"),
        &[("orderingId", "3")],
    );
    assert_eq!(
        r[0].json(),
        json!({"identity": {"name": "HR", "type": "GROUP"}, "members": [{"name": "alice@x.com", "type": "USER"}], "wellKnowns": []})
    );
    check(
        &r[1],
        "DELETE",
        &format!("{PUSH}/providers/prov/permissions"),
        &[],
    );
    assert_eq!(r[1].header("content-type"), Some("application/json"));
    assert_eq!(
        r[1].json(),
        json!({"identity": {"name": "HR", "type": "GROUP"}})
    );
    check(
        &r[2],
        "PUT",
        &format!("{PUSH}/providers/prov/mappings"),
        &[],
    );
    assert_eq!(
        r[2].json(),
        json!({"identity": {"name": "ALICE", "type": "USER"}, "mappings": [{"name": "alice@x.com", "type": "USER", "provider": "Email Security Provider"}], "wellKnowns": []})
    );
    check(
        &r[3],
        "DELETE",
        &format!("{PUSH}/providers/prov/permissions/olderthan"),
        &[("orderingId", "100"), ("queueDelay", "5")],
    );
}

#[tokio::test]
async fn identity_batch() {
    let server = Server::start().await;
    let (client, _) = server.client();
    let batch = IdentityBatch {
        members: vec![
            IdentityBody::new(Identity::new("HR", IdentityType::Group)).members(vec![alice()])
        ],
        mappings: vec![],
        deleted: vec![DeletedIdentity {
            identity: Identity::new("Old", IdentityType::Group),
        }],
    };
    client
        .push_identity_batch("prov", &batch, Some(11))
        .await
        .unwrap();
    let r = server.requests();
    check(&r[0], "POST", &format!("{PUSH}/files"), &[]);
    check_upload(&r[1], 1);
    assert_eq!(
        r[1].json(),
        json!({
            "members": [{"identity": {"name": "HR", "type": "GROUP"}, "members": [{"name": "alice@x.com", "type": "USER"}], "wellKnowns": []}],
            "mappings": [],
            "deleted": [{"identity": {"name": "Old", "type": "GROUP"}}]
        })
    );
    check(
        &r[2],
        "PUT",
        &format!("{PUSH}/providers/prov/permissions/batch"),
        &[("fileId", "file-1"), ("orderingId", "11")],
    );
}

#[tokio::test]
async fn platform_source_provider_and_fields() {
    let server = Server::start().await;
    let (client, _) = server.client();
    let source = client
        .create_push_source("Docs", SourceVisibility::Secured)
        .await
        .unwrap();
    assert_eq!(source.id, "my-org-newsource");
    client
        .create_security_provider("pushdeck", &source.id)
        .await
        .unwrap();
    let info = client.check_source("src-1").await.unwrap();
    assert_eq!(info.source_type, "PUSH");
    let wanted = vec![
        FieldSpec {
            name: "dept".into(),
            field_type: FieldType::String,
            multi_value_facet: false,
        },
        FieldSpec {
            name: "TITLE".into(),
            field_type: FieldType::String,
            multi_value_facet: false,
        },
        FieldSpec {
            name: "tags".into(),
            field_type: FieldType::String,
            multi_value_facet: true,
        },
        FieldSpec {
            name: "size".into(),
            field_type: FieldType::Long64,
            multi_value_facet: false,
        },
    ];
    let created = client.ensure_fields(&wanted).await.unwrap();
    assert_eq!(
        created.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        vec!["tags", "size"]
    );
    let r = server.requests();
    check(&r[0], "POST", &format!("{REST}/sources"), &[]);
    assert_eq!(
        r[0].json(),
        json!({"sourceType": "PUSH", "pushEnabled": true, "name": "Docs", "sourceVisibility": "SECURED"})
    );
    check(&r[1], "POST", &format!("{REST}/securityproviders"), &[]);
    assert_eq!(
        r[1].json(),
        json!({
            "id": "pushdeck", "displayName": "pushdeck", "nodeRequired": false, "type": "EXPANDED",
            "referencedBy": [{"id": "my-org-newsource", "type": "SOURCE"}],
            "cascadingSecurityProviders": {"EmailSecurityProvider": {"id": "Email Security Provider", "type": "EMAIL"}}
        })
    );
    check(&r[2], "GET", &format!("{REST}/sources/src-1"), &[]);
    check(
        &r[3],
        "GET",
        &format!("{REST}/indexes/page/fields"),
        &[("page", "0"), ("perPage", "1000")],
    );
    check(
        &r[4],
        "POST",
        &format!("{REST}/indexes/fields/batch/create"),
        &[],
    );
    assert_eq!(
        r[4].json(),
        json!([{"name": "tags", "type": "STRING", "multiValueFacet": true}, {"name": "size", "type": "LONG_64"}])
    );
}

#[tokio::test]
async fn fields_are_created_in_batches_of_500() {
    let server = Server::start().await;
    let (client, _) = server.client();
    let fields: Vec<FieldSpec> = (0..1201)
        .map(|i| FieldSpec {
            name: format!("f{i}"),
            field_type: FieldType::String,
            multi_value_facet: false,
        })
        .collect();
    client.create_fields(&fields).await.unwrap();
    let sizes: Vec<usize> = server
        .requests()
        .iter()
        .map(|r| r.json().as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![500, 500, 201]);
}

#[tokio::test]
async fn sources_that_must_not_be_pushed_into_are_refused() {
    let server = Server::start().await;
    let (client, _) = server.client();
    server.script(
        "/sources/web",
        support::Reply::new(
            200,
            r#"{"id":"web","name":"Site","sourceType":"WEB2","pushEnabled":false}"#,
        ),
    );
    let e = client.check_source("web").await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::UnsupportedSource { .. }));
    assert!(
        e.explanation().contains("not a Push source"),
        "{}",
        e.explanation()
    );
    server.script(
        "/sources/sc",
        support::Reply::new(
            200,
            r#"{"id":"sc","name":"Coveo_web_index - prod","sourceType":"PUSH","pushEnabled":true}"#,
        ),
    );
    let e = client.check_source("sc").await.unwrap_err();
    assert!(e.explanation().contains("Sitecore"), "{}", e.explanation());
    server.script(
        "/sources/m",
        support::Reply::new(
            200,
            r#"{"id":"m","name":"X","sourceType":"PUSH","managedBy":"Coveo for Salesforce"}"#,
        ),
    );
    let e = client.check_source("m").await.unwrap_err();
    assert!(
        e.explanation().contains("Coveo for Salesforce"),
        "{}",
        e.explanation()
    );
}

#[tokio::test]
async fn stream_api() {
    let server = Server::start().await;
    let (client, _) = server.client();
    let opened = client.open_stream("cat").await.unwrap();
    assert_eq!(opened.stream_id, "stream-1");
    assert_eq!(opened.container.file_id, "file-1");
    let chunk = client.stream_chunk("cat", &opened.stream_id).await.unwrap();
    assert_eq!(chunk.file_id, "file-2");
    let closed = client.close_stream("cat", &opened.stream_id).await.unwrap();
    assert_eq!(closed.ordering_id, Some(1_700_000_000_000));
    client.stream_update("cat", "file-9").await.unwrap();
    client.stream_merge("cat", "file-9").await.unwrap();
    let r = server.requests();
    check(
        &r[0],
        "POST",
        &format!("{PUSH}/sources/cat/stream/open"),
        &[],
    );
    check(
        &r[1],
        "POST",
        &format!("{PUSH}/sources/cat/stream/stream-1/chunk"),
        &[],
    );
    check(
        &r[2],
        "POST",
        &format!("{PUSH}/sources/cat/stream/stream-1/close"),
        &[],
    );
    check(
        &r[3],
        "PUT",
        &format!("{PUSH}/sources/cat/stream/update"),
        &[("fileId", "file-9")],
    );
    check(
        &r[4],
        "PUT",
        &format!("{PUSH}/sources/cat/stream/merge"),
        &[("fileId", "file-9")],
    );
}

#[tokio::test]
async fn errors_by_meaning_never_show_the_key() {
    let server = Server::start().await;
    let (client, _) = server.client();
    server.script(
        "/documents",
        support::Reply::new(
            401,
            r#"{"errorCode":"INVALID_TOKEN","message":"The token is invalid"}"#,
        ),
    );
    let e = client
        .delete_document("src", "https://x/1", false, None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Unauthorized);
    assert!(!e.to_string().contains(API_KEY));
    assert!(!format!("{e:?}").contains(API_KEY));
    assert!(!format!("{client:?}").contains(API_KEY));
    server.script(
        "/documents",
        support::Reply::new(
            412,
            r#"{"errorCode":"SOURCE_DOES_NOT_EXIST","message":"nope"}"#,
        ),
    );
    let e = client
        .delete_document("src", "https://x/1", false, None)
        .await
        .unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::NotFound {
            target: coveo_push::NotFoundTarget::Source
        }
    );
    assert_eq!(
        server.requests().len(),
        2,
        "non-retryable errors are not retried"
    );
}

#[tokio::test]
async fn source_logs() {
    let server = Server::start().await;
    let (client, _) = server.client();
    let page = json!({
        "documentLogEntries": [{"id": "https://x/1", "operation": "ADD", "result": "REJECTED", "task": "MAPPING",
                                "sourceId": "src", "meta": {"error": "bad field", "orderingId": 5}}],
        "hasNextPage": true
    });
    server.script("/logs/v1/", support::Reply::new(200, &page.to_string()));
    server.script(
        "/logs/v1/",
        support::Reply::new(200, r#"{"documentLogEntries":[],"hasNextPage":false}"#),
    );
    let mut query = coveo_push::LogQuery::source(
        "src",
        time::macros::datetime!(2026-11-28 10:00 UTC),
        time::macros::datetime!(2026-11-28 11:00 UTC),
    );
    query.results = vec!["REJECTED".into()];
    let entries = client.source_logs(&query).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].error(), Some("bad field"));
    assert_eq!(entries[0].ordering_id(), Some(5));
    let r = server.requests();
    assert_eq!(r.len(), 2);
    check(
        &r[0],
        "POST",
        "/logs/v1/organizations/my-org",
        &[
            ("from", "2026-11-28T10:00:00.000Z"),
            ("to", "2026-11-28T11:00:00.000Z"),
            ("page", "0"),
            ("perPage", "100"),
        ],
    );
    assert_eq!(
        r[0].json(),
        json!({"sourcesIds": ["src"], "results": ["REJECTED"]})
    );
    assert_eq!(r[1].query_pairs()[2], ("page", "1"));
}
