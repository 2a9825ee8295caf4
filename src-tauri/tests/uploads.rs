//! Test uploads as plain functions: a real [`Host`] (the embedded Sandbox emulator on a loopback
//! socket) and real temporary files. A granted file is prepared as the exact item body, pushed,
//! followed through the Source Logs to Indexed or Rejected, and deleted; paths the shell did not
//! grant are refused.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use pushdeck_app::dto::*;
use pushdeck_app::host::{Host, HostOptions, HostPaths};
use serde_json::json;

/// How long a test upload may take to reach its final stage on a loaded 2-core machine.
const STAGE_TIMEOUT: Duration = Duration::from_secs(30);

struct Fixture {
    dirs: tempfile::TempDir,
    paths: HostPaths,
    events: Arc<Mutex<Vec<HostEvent>>>,
}

impl Fixture {
    fn new() -> Self {
        let dirs = tempfile::tempdir().unwrap();
        let paths = HostPaths {
            config_dir: dirs.path().join("config"),
            data_dir: dirs.path().join("data"),
        };
        Self {
            dirs,
            paths,
            events: Arc::default(),
        }
    }

    async fn host(&self) -> Arc<Host> {
        self.host_with(HostOptions::default()).await
    }

    async fn host_with(&self, options: HostOptions) -> Arc<Host> {
        let events = self.events.clone();
        Host::start_with(
            self.paths.clone(),
            Arc::new(move |e| events.lock().unwrap().push(e)),
            options,
        )
        .await
        .unwrap()
    }

    /// A file under the fixture's own folder `desktop` (`name` may hold `/`).
    fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.dirs.path().join("desktop").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }

    /// Waits for the upload's event at `stage`; returns that upload.
    async fn wait_stage(&self, upload_id: &str, stage: UploadStage) -> TestUpload {
        let start = Instant::now();
        loop {
            let found = self
                .events
                .lock()
                .unwrap()
                .iter()
                .rev()
                .find_map(|e| match e {
                    HostEvent::TestUpload { upload }
                        if upload.upload_id == upload_id && upload.stage == stage =>
                    {
                        Some(upload.clone())
                    }
                    _ => None,
                });
            if let Some(upload) = found {
                return upload;
            }
            assert!(
                start.elapsed() < STAGE_TIMEOUT,
                "upload {upload_id} did not reach {stage:?}; events: {:#?}",
                self.events.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn remembered(&self) -> serde_json::Value {
        match std::fs::read(self.paths.data_dir.join("test-uploads.json")) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap(),
            Err(_) => json!([]),
        }
    }
}

fn dropped(path: &Path) -> DroppedFile {
    DroppedFile {
        name: path.file_name().unwrap().to_string_lossy().into_owned(),
        size: 0,
        path: Some(path.display().to_string()),
        media_type: None,
    }
}

async fn prepare_one(host: &Host, path: &Path) -> TestItem {
    let mut items = host
        .prepare_test_items(PrepareTestItemsRequest {
            files: vec![dropped(path)],
        })
        .await
        .unwrap();
    assert_eq!(items.len(), 1);
    items.remove(0)
}

/// Pushes a prepared test item to the Sandbox.
async fn push_to_sandbox(host: &Host, preview_id: String) -> Result<TestUpload, HostError> {
    host.push_test_item(PushTestItemRequest {
        preview_id,
        target: PushTarget::Sandbox,
    })
    .await
}

/// The Sandbox's item (a deleted one too), or `None` when it was never pushed.
async fn sandbox_item(host: &Host, document_id: &str) -> Option<serde_json::Value> {
    let url = format!(
        "{}/_emulator/v1/organizations/sandbox/sources/documents/item",
        host.sandbox_url()
    );
    let answer = reqwest::Client::new()
        .get(url)
        .query(&[("documentId", document_id)])
        .send()
        .await
        .unwrap();
    if answer.status() == reqwest::StatusCode::NOT_FOUND {
        return None;
    }
    Some(answer.error_for_status().unwrap().json().await.unwrap())
}

fn steps(upload: &TestUpload) -> Vec<UploadStage> {
    upload.steps.iter().map(|s| s.stage).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_granted_text_file_is_shown_exactly_pushed_indexed_and_deleted() {
    let fx = Fixture::new();
    let host = fx.host().await;
    let content = b"Release notes: test uploads follow the item to Indexed. ".repeat(40);
    let path = fx.file("release notes.txt", &content);
    let granted = host.grant_files(vec![path.clone()]);
    assert_eq!(granted[0].size, content.len() as u64);
    assert_eq!(granted[0].name, "release notes.txt");

    let item = prepare_one(&host, &path).await;
    let document_id = coveo_push::file_uri_from_path(&path).unwrap();
    assert!(document_id.starts_with("file:///") && document_id.ends_with("release%20notes.txt"));
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let compressed = coveo_push::compress(
        &content,
        coveo_push::CompressionType::Zlib,
        coveo_push::DEFAULT_COMPRESSION_LEVEL,
    );
    // The exact body that is sent, content aside (its place names what goes there).
    let expected = json!({
        "documentId": document_id,
        "permanentid": coveo_push::permanent_id(&document_id),
        "title": "release notes.txt",
        "fileExtension": ".txt",
        "modifiedDate": coveo_push::format_date(mtime.into()),
        "permissions": [{"allowAnonymous": true, "allowedPermissions": [], "deniedPermissions": []}],
        "compressedBinaryData": format!("<base64 of {} bytes of ZLIB-compressed content>", compressed.len()),
        "compressionType": "ZLIB",
    });
    let shown: serde_json::Value = serde_json::from_str(&item.item.json).unwrap();
    assert_eq!(shown, expected);
    assert_eq!(item.item.document_id, document_id);
    assert_eq!(item.item.title, "release notes.txt");
    assert_eq!(item.item.file_name, "release notes.txt");
    assert_eq!(item.item.size, content.len() as u64);
    assert_eq!(item.item.compressed_size, compressed.len() as u64);
    assert_eq!(item.item.compression, Compression::Zlib);
    let names: Vec<&str> = item.item.metadata.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["permanentid", "fileExtension", "modifiedDate"]);
    assert!(!item.item.permissions.complete);
    assert!(item.item.permissions.levels[0].sets[0].allow_anonymous);
    assert_eq!(
        sandbox_item(&host, &document_id).await,
        None,
        "nothing is sent before Push"
    );

    let upload = push_to_sandbox(&host, item.preview_id.clone())
        .await
        .unwrap();
    assert_eq!(upload.stage, UploadStage::Requested);
    assert_eq!(upload.document_id, document_id);
    let indexed = fx.wait_stage(&upload.upload_id, UploadStage::Indexed).await;
    assert_eq!(
        steps(&indexed),
        [
            UploadStage::Requested,
            UploadStage::Accepted,
            UploadStage::Indexed
        ]
    );
    assert!(indexed.steps[1]
        .detail
        .starts_with("202 Accepted: queued with orderingId "));
    assert!(indexed.reason.is_none());

    // What the Sandbox received is what was shown: content, permissions, orderingId.
    let stored = sandbox_item(&host, &document_id).await.unwrap();
    assert_eq!(stored["state"], "INDEXED");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(stored["content"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, content);
    assert_eq!(stored["permissions"], expected["permissions"]);
    assert_eq!(stored["fileExtension"], ".txt");
    let ordering = stored["orderingId"].as_u64().unwrap();
    assert!(indexed.steps[1].detail.contains(&ordering.to_string()));
    assert_eq!(fx.remembered()[0]["documentId"], document_id.as_str());

    let deleted = host.delete_test_items().await.unwrap();
    assert_eq!(deleted.deleted, 1);
    let gone = fx.wait_stage(&upload.upload_id, UploadStage::Deleted).await;
    assert_eq!(gone.stage, UploadStage::Deleted);
    host.drain_sandbox().await;
    assert_eq!(
        sandbox_item(&host, &document_id).await.unwrap()["state"],
        "DELETED"
    );
    assert_eq!(fx.remembered(), json!([]));
    assert_eq!(
        host.delete_test_items().await.unwrap().deleted,
        0,
        "nothing left to delete"
    );
    let lines: Vec<String> = host
        .list_activity(ActivityQuery {
            after_id: None,
            before_id: None,
            limit: 100,
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Test upload of ") && l.ends_with(" requested")),
        "the push is in the activity log: {lines:?}"
    );
    assert_eq!(
        lines.iter().filter(|l| *l == "Deleted 1 test item").count(),
        1,
        "one delete line, none for the empty second delete: {lines:?}"
    );
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_the_pipeline_rejects_reaches_rejected_with_the_reason_from_the_source_logs() {
    let fx = Fixture::new();
    let host = fx.host().await;
    // A delete-older-than with an orderingId an hour ahead, sent by another tool (Pushdeck's
    // client core refuses to send one): the pipeline then rejects every item pushed with an
    // older orderingId (as Coveo does), and says so in the Source Logs.
    let announced: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fx.paths.data_dir.join("sandbox/sandbox.json")).unwrap(),
    )
    .unwrap();
    let future = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 3_600_000;
    let answer = reqwest::Client::new()
        .delete(format!(
            "{}/push/v1/organizations/sandbox/sources/documents/documents/olderthan?orderingId={future}&queueDelay=0",
            host.sandbox_url()
        ))
        .bearer_auth(announced["api_key"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), reqwest::StatusCode::ACCEPTED);
    host.drain_sandbox().await;

    let path = fx.file("minutes.txt", b"Minutes of the meeting");
    host.grant_files(vec![path.clone()]);
    let item = prepare_one(&host, &path).await;
    let upload = push_to_sandbox(&host, item.preview_id).await.unwrap();
    let rejected = fx
        .wait_stage(&upload.upload_id, UploadStage::Rejected)
        .await;
    assert_eq!(
        steps(&rejected),
        [
            UploadStage::Requested,
            UploadStage::Accepted,
            UploadStage::Rejected
        ]
    );
    assert_eq!(rejected.steps[2].detail, "Source logs: REJECTED");
    let reason = rejected.reason.unwrap();
    assert!(
        reason.contains("lower than the source's delete-older-than orderingId"),
        "{reason}"
    );
    // Never indexed: it is not kept for deletion, and stays Rejected.
    assert_eq!(fx.remembered(), json!([]));
    assert_eq!(host.delete_test_items().await.unwrap().deleted, 0);
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_the_api_refuses_is_rejected_with_the_api_reason() {
    let fx = Fixture::new();
    let host = fx.host().await;
    // The source holds as many items as it may: the Push API answers 412 DOCUMENT_LIMIT_EXCEEDED.
    reqwest::Client::new()
        .post(format!("{}/_emulator/v1/faults", host.sandbox_url()))
        .json(&json!({"itemLimit": 0}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let path = fx.file("report.txt", b"Quarterly report");
    host.grant_files(vec![path.clone()]);
    let item = prepare_one(&host, &path).await;
    let upload = push_to_sandbox(&host, item.preview_id).await.unwrap();
    let rejected = fx
        .wait_stage(&upload.upload_id, UploadStage::Rejected)
        .await;
    assert_eq!(
        steps(&rejected),
        [UploadStage::Requested, UploadStage::Rejected]
    );
    assert!(
        rejected.steps[1].detail.contains("refused"),
        "{:?}",
        rejected.steps
    );
    let reason = rejected.reason.unwrap();
    assert!(reason.contains("item limit"), "{reason}");
    assert_eq!(sandbox_item(&host, &upload.document_id).await, None);
    assert_eq!(fx.remembered(), json!([]));
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_paths_the_shell_granted_are_read() {
    let fx = Fixture::new();
    let host = fx.host().await;
    let secret = fx.file("secret.txt", b"not chosen by the person");
    let refuse = |files: Vec<DroppedFile>| {
        let host = host.clone();
        async move {
            host.prepare_test_items(PrepareTestItemsRequest { files })
                .await
                .unwrap_err()
        }
    };

    let e = refuse(vec![dropped(&secret)]).await;
    assert_eq!(e.code, ErrorCode::InvalidInput);
    assert!(
        e.message
            .contains("only files you dropped on its window or chose in its file dialog"),
        "{e}"
    );
    assert!(e.message.contains("secret.txt"), "{e}");

    // Another spelling of a granted path is not granted: only the very path the shell saw.
    host.grant_files(vec![secret.clone()]);
    let sneaky = secret
        .parent()
        .unwrap()
        .join("..")
        .join("desktop")
        .join("secret.txt");
    assert_eq!(
        refuse(vec![dropped(&sneaky)]).await.code,
        ErrorCode::InvalidInput
    );

    // A file the page received (a browser drop) has no path.
    let e = refuse(vec![DroppedFile {
        name: "notes.txt".into(),
        size: 10,
        path: None,
        media_type: Some("text/plain".into()),
    }])
    .await;
    assert_eq!(e.code, ErrorCode::InvalidInput);
    assert!(
        e.message
            .contains("drop it on the Pushdeck window, or click the drop zone to choose it"),
        "{e}"
    );

    // A granted folder is not a file.
    let folder = secret.parent().unwrap().to_path_buf();
    host.grant_files(vec![folder.clone()]);
    let e = refuse(vec![dropped(&folder)]).await;
    assert_eq!(e.code, ErrorCode::InvalidInput);
    assert!(e.message.contains("is not a file"), "{e}");

    assert_eq!(refuse(Vec::new()).await.code, ErrorCode::InvalidInput);
    let e = push_to_sandbox(&host, "p-unknown".into())
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);

    // Once granted, the same file is read.
    assert_eq!(
        prepare_one(&host, &secret).await.item.file_name,
        "secret.txt"
    );
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_changed_after_its_preview_is_not_pushed() {
    let fx = Fixture::new();
    let host = fx.host().await;
    let path = fx.file("draft.txt", b"first words");
    host.grant_files(vec![path.clone()]);
    let item = prepare_one(&host, &path).await;
    std::fs::write(&path, b"first words, and many more since the preview").unwrap();
    let e = push_to_sandbox(&host, item.preview_id).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Conflict);
    assert!(e.message.contains("changed since it was previewed"), "{e}");
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_items_are_remembered_and_deleted_after_a_restart() {
    let fx = Fixture::new();
    let path = fx.file("handbook.txt", b"Employee handbook");
    let document_id;
    {
        let host = fx.host().await;
        host.grant_files(vec![path.clone()]);
        let item = prepare_one(&host, &path).await;
        let upload = push_to_sandbox(&host, item.preview_id).await.unwrap();
        fx.wait_stage(&upload.upload_id, UploadStage::Indexed).await;
        document_id = upload.document_id;
        host.shutdown().await;
    }
    assert_eq!(fx.remembered()[0]["documentId"], document_id.as_str());
    let host = fx.host().await;
    assert_eq!(
        sandbox_item(&host, &document_id).await.unwrap()["state"],
        "INDEXED"
    );
    assert_eq!(host.delete_test_items().await.unwrap().deleted, 1);
    host.drain_sandbox().await;
    assert_eq!(
        sandbox_item(&host, &document_id).await.unwrap()["state"],
        "DELETED"
    );
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_item_goes_to_a_chosen_source_of_the_connected_organization() {
    const ORG: &str = "acmetest1x2y3z";
    const SOURCE: &str = "acme-documents";
    const PROVIDER: &str = "acme-identities";
    let key = format!("xx-acme-{}", uuid::Uuid::new_v4().simple());
    // A push-emulator stands in for Coveo through the origin override.
    let coveo = push_emulator::Emulator::start(push_emulator::EmulatorConfig {
        api_key: key.clone(),
        organizations: vec![push_emulator::OrgConfig::new(ORG, SOURCE, PROVIDER)],
        ..push_emulator::EmulatorConfig::default()
    })
    .await
    .unwrap();
    let fx = Fixture::new();
    let host = fx
        .host_with(HostOptions {
            coveo_origin: Some(coveo.url().to_owned()),
        })
        .await;

    let path = fx.file("policy.txt", b"Travel policy");
    host.grant_files(vec![path.clone()]);
    let item = prepare_one(&host, &path).await;
    let target = PushTarget::Source { id: SOURCE.into() };
    let e = host
        .push_test_item(PushTestItemRequest {
            preview_id: item.preview_id.clone(),
            target: target.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput);
    assert!(e.message.contains("no organization is connected"), "{e}");

    host.connect(ConnectionRequest {
        organization_id: ORG.into(),
        region: Region::Us,
        source: TargetChoice::Existing { id: SOURCE.into() },
        provider: TargetChoice::Existing {
            id: PROVIDER.into(),
        },
        api_key: key.clone(),
        key_storage: KeyStorage::ThisRunOnly,
    })
    .await
    .unwrap();
    let upload = host
        .push_test_item(PushTestItemRequest {
            preview_id: item.preview_id,
            target,
        })
        .await
        .unwrap();
    assert!(
        upload.steps[0].detail.starts_with(&format!(
            "PUT /push/v1/organizations/{ORG}/sources/{SOURCE}/documents"
        )),
        "{:?}",
        upload.steps
    );
    fx.wait_stage(&upload.upload_id, UploadStage::Indexed).await;
    let url = format!(
        "{}/_emulator/v1/organizations/{ORG}/sources/{SOURCE}/item",
        coveo.url()
    );
    let stored = |url: String, document_id: String| async move {
        reqwest::Client::new()
            .get(url)
            .query(&[("documentId", document_id.as_str())])
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    };
    assert_eq!(
        stored(url.clone(), upload.document_id.clone()).await["state"],
        "INDEXED"
    );
    assert_eq!(
        sandbox_item(&host, &upload.document_id).await,
        None,
        "the Sandbox did not receive it"
    );
    assert_eq!(host.delete_test_items().await.unwrap().deleted, 1);
    coveo.drain().await;
    assert_eq!(
        stored(url, upload.document_id.clone()).await["state"],
        "DELETED"
    );
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_of_a_synced_folder_keeps_the_folder_rules_and_is_not_deleted_as_a_test_item() {
    let fx = Fixture::new();
    let host = fx.host().await;
    let leave = fx.file("HR/leave.txt", b"Leave policy");
    let docs = leave.parent().unwrap().parent().unwrap().to_path_buf();
    host.add_folder(AddFolderRequest {
        path: docs.display().to_string(),
        name: "Docs".into(),
        source_id: String::new(),
        include: vec![],
        exclude: vec![],
    })
    .await
    .unwrap();
    let hr = IdentityRef {
        name: "HR".into(),
        kind: IdentityKind::Group,
    };
    host.save_rule(RuleChangeRequest {
        folder_id: "Docs".into(),
        path: "HR".into(),
        rule: Some(FolderRule::Only {
            identities: vec![hr.clone()],
        }),
        mode: RuleMode::Replace,
    })
    .await
    .unwrap();
    host.grant_files(vec![leave.clone()]);
    let item = prepare_one(&host, &leave).await;
    // The folder's rule, not "everyone": a test upload never widens who sees a synced file.
    assert_eq!(item.item.permissions.levels[0].sets[0].allowed, vec![hr]);
    assert!(!item.item.permissions.levels[0].sets[0].allow_anonymous);
    let shown: serde_json::Value = serde_json::from_str(&item.item.json).unwrap();
    assert_eq!(shown["permissions"][0]["allowAnonymous"], false);
    assert_eq!(
        item.item.document_id,
        coveo_push::file_uri_from_path(&leave).unwrap()
    );

    let upload = push_to_sandbox(&host, item.preview_id).await.unwrap();
    fx.wait_stage(&upload.upload_id, UploadStage::Indexed).await;
    // The folder pushes to the same source: the item is the folder's too, so it stays.
    assert_eq!(host.delete_test_items().await.unwrap().deleted, 0);
    host.drain_sandbox().await;
    let stored = sandbox_item(&host, &upload.document_id).await.unwrap();
    assert_eq!(stored["state"], "INDEXED");
    let kept = fx
        .events
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find_map(|e| match e {
            HostEvent::TestUpload { upload: u } if u.upload_id == upload.upload_id => {
                Some(u.clone())
            }
            _ => None,
        });
    let kept = kept.unwrap();
    assert_eq!(kept.stage, UploadStage::Indexed);
    assert!(
        kept.steps
            .last()
            .unwrap()
            .detail
            .contains("synced folder Docs"),
        "{:?}",
        kept.steps
    );
    assert_eq!(fx.remembered(), json!([]));

    // A file of the same folder left out by its filters is built as a plain test item.
    host.save_patterns(SavePatternsRequest {
        folder_id: "Docs".into(),
        include: vec![],
        exclude: vec!["*.md".into()],
    })
    .await
    .unwrap();
    let notes = fx.file("HR/notes.md", b"# notes");
    host.grant_files(vec![notes.clone()]);
    let item = prepare_one(&host, &notes).await;
    assert!(item.item.permissions.levels[0].sets[0].allow_anonymous);
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_processing_rejects_is_followed_to_rejected_and_another_to_indexed() {
    let fx = Fixture::new();
    let host = fx.host().await;
    // The Sandbox's pipeline refuses .exe content after accepting the write (push-emulator's
    // rejectItems fault), as Coveo's converter does for file types it cannot index.
    let reason = "the converter refused the file type .exe";
    reqwest::Client::new()
        .post(format!("{}/_emulator/v1/faults", host.sandbox_url()))
        .json(&json!({"rejectItems": [{"documentIdContains": ".exe", "reason": reason}]}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let exe = fx.file("installer.exe", &[0x4d, 0x5a, 0x90, 0x00, 0x03]);
    let txt = fx.file("readme.txt", b"Read me first");
    let granted = host.grant_files(vec![exe.clone(), txt.clone()]);
    let items = host
        .prepare_test_items(PrepareTestItemsRequest { files: granted })
        .await
        .unwrap();
    assert_eq!(items.len(), 2);
    let mut uploads = Vec::new();
    for item in &items {
        uploads.push(
            push_to_sandbox(&host, item.preview_id.clone())
                .await
                .unwrap(),
        );
    }
    let rejected = fx
        .wait_stage(&uploads[0].upload_id, UploadStage::Rejected)
        .await;
    assert_eq!(
        steps(&rejected),
        [
            UploadStage::Requested,
            UploadStage::Accepted,
            UploadStage::Rejected
        ]
    );
    assert_eq!(rejected.reason.as_deref(), Some(reason));
    let indexed = fx
        .wait_stage(&uploads[1].upload_id, UploadStage::Indexed)
        .await;
    assert!(indexed.reason.is_none());
    assert_eq!(sandbox_item(&host, &uploads[0].document_id).await, None);
    // Only the indexed one is left to delete.
    let remembered = fx.remembered();
    assert_eq!(remembered.as_array().unwrap().len(), 1);
    assert_eq!(remembered[0]["documentId"], uploads[1].document_id.as_str());
    assert_eq!(host.delete_test_items().await.unwrap().deleted, 1);
    host.shutdown().await;
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_upload_takes_its_ordering_id_above_every_one_the_engine_handed_out_for_the_source()
{
    let fx = Fixture::new();
    // A folder run handed out an orderingId for the Sandbox's source an hour ahead of this
    // clock (a rebuild's delete-older-than uses it): the engine's state store keeps it.
    let ahead = now_ms() + 3_600_000;
    std::fs::create_dir_all(&fx.paths.data_dir).unwrap();
    {
        let mut store =
            sync_engine::state::Store::open(&fx.paths.data_dir.join("state.sqlite3")).unwrap();
        assert_eq!(
            store
                .next_ordering_id("sandbox", "documents", ahead)
                .unwrap(),
            ahead
        );
    }
    let host = fx.host().await;
    let path = fx.file("agenda.txt", b"Agenda of the meeting");
    host.grant_files(vec![path.clone()]);
    let item = prepare_one(&host, &path).await;
    let upload = push_to_sandbox(&host, item.preview_id).await.unwrap();
    let indexed = fx.wait_stage(&upload.upload_id, UploadStage::Indexed).await;
    let stored = sandbox_item(&host, &upload.document_id).await.unwrap();
    let pushed = stored["orderingId"].as_u64().unwrap();
    assert!(
        pushed > ahead,
        "the upload's orderingId {pushed} is above the engine's {ahead}"
    );
    assert!(indexed.steps[1].detail.contains(&pushed.to_string()));

    // The delete too: above the push (or the Sandbox would keep the item as newer).
    assert_eq!(host.delete_test_items().await.unwrap().deleted, 1);
    host.drain_sandbox().await;
    let stored = sandbox_item(&host, &upload.document_id).await.unwrap();
    assert_eq!(stored["state"], "DELETED");
    let deleted = stored["orderingId"].as_u64().unwrap();
    assert!(deleted > pushed, "delete {deleted} after push {pushed}");

    // And the next folder run of that source starts above both.
    host.shutdown().await;
    let mut store =
        sync_engine::state::Store::open(&fx.paths.data_dir.join("state.sqlite3")).unwrap();
    let next = store
        .next_ordering_id("sandbox", "documents", now_ms())
        .unwrap();
    assert!(
        next > deleted,
        "the next run {next} after the delete {deleted}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_test_upload_goes_into_a_source_a_folder_owns() {
    let fx = Fixture::new();
    // A folder that owns the Sandbox's source: its rebuild removes every item it did not push.
    let owned = fx.dirs.path().join("owned");
    std::fs::create_dir_all(&owned).unwrap();
    std::fs::write(owned.join("policy.txt"), b"Policy").unwrap();
    let mut mapping =
        sync_engine::config::FolderMapping::new("Owned", &owned, "sandbox", "documents");
    mapping.owns_source = true;
    std::fs::create_dir_all(&fx.paths.config_dir).unwrap();
    sync_engine::config::Config {
        version: sync_engine::config::CONFIG_VERSION,
        folders: vec![mapping],
    }
    .save(&fx.paths.config_dir.join("config.toml"))
    .unwrap();
    let host = fx.host().await;
    let folders = host.list_folders().await.unwrap();
    assert!(folders[0].owns_source, "{folders:?}");

    for path in [
        fx.file("draft.txt", b"A draft"),
        owned.join("policy.txt"), // a file of the owning folder too
    ] {
        host.grant_files(vec![path.clone()]);
        let item = prepare_one(&host, &path).await;
        let err = push_to_sandbox(&host, item.preview_id).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput, "{err:?}");
        assert!(
            err.message.starts_with(
                "folder Owned owns this source: its rebuild removes every item it did not push, test uploads included; upload into another source, or turn off 'owns its source' for Owned"
            ),
            "{}",
            err.message
        );
    }
    let document_id =
        coveo_push::file_uri_from_path(&fx.dirs.path().join("desktop/draft.txt")).unwrap();
    host.drain_sandbox().await;
    assert_eq!(
        sandbox_item(&host, &document_id).await,
        None,
        "nothing sent"
    );
    assert_eq!(fx.remembered(), json!([]));
    assert!(
        !fx.events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, HostEvent::TestUpload { .. })),
        "no upload card"
    );
    host.shutdown().await;
}
