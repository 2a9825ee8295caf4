//! No future delete-older-than leaves the client core: a future orderingId makes Coveo delete
//! every item and then refuse new items until that time. The guard uses the earlier of the
//! client's injected clock and the service's (its `Date` header), once it answered.

mod support;

use std::time::{Duration, UNIX_EPOCH};

use coveo_push::{ErrorKind, OLDER_THAN_FUTURE_TOLERANCE};
use support::{Reply, Server};

/// The support client's manual clock starts here (ms since the epoch).
const LOCAL_NOW_MS: u64 = 1_700_000_000_000;

fn http_date(ms: u64) -> String {
    let t = time::OffsetDateTime::from(UNIX_EPOCH + Duration::from_millis(ms));
    t.format(&time::format_description::well_known::Rfc2822)
        .unwrap()
        .replace("+0000", "GMT")
}

#[tokio::test]
async fn a_future_older_than_is_refused_before_anything_is_sent() {
    let server = Server::start().await;
    let (client, _clock) = server.client();
    let day = 24 * 3600 * 1000;
    let e = client
        .delete_older_than("src", LOCAL_NOW_MS + day, Some(0))
        .await
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput), "{e:?}");
    assert!(
        e.explanation().contains("in the future"),
        "{}",
        e.explanation()
    );
    assert!(
        e.explanation().contains("recreate the source"),
        "{}",
        e.explanation()
    );
    let e = client
        .delete_identities_older_than("provider", LOCAL_NOW_MS + day, None)
        .await
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput), "{e:?}");
    assert!(server.requests().is_empty(), "nothing was sent");

    // Now, and a little ahead (within the tolerance): sent.
    let within = LOCAL_NOW_MS + OLDER_THAN_FUTURE_TOLERANCE.as_millis() as u64 - 1000;
    client
        .delete_older_than("src", within, Some(0))
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn the_earlier_of_our_clock_and_the_service_clock_decides() {
    let server = Server::start().await;
    let (client, _clock) = server.client();
    assert_eq!(client.service_clock_skew_ms(), None);
    let hour = 3600 * 1000;
    // The service is an hour behind us: our "now" is its future.
    server.script(
        "/status",
        Reply::new(201, "{}").header("date", &http_date(LOCAL_NOW_MS - hour)),
    );
    client
        .set_source_status("src", coveo_push::SourceStatus::Rebuild)
        .await
        .unwrap();
    assert_eq!(client.service_clock_skew_ms(), Some(-(hour as i64)));
    assert_eq!(client.service_now_ms(), LOCAL_NOW_MS - hour);
    let e = client
        .delete_older_than("src", LOCAL_NOW_MS, Some(0))
        .await
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput), "{e:?}");
    // Whose future it is, and what Coveo's clock says.
    assert!(
        e.explanation()
            .contains("in the future for Coveo, whose clock says 2023-11-14T21:13:20Z"),
        "{}",
        e.explanation()
    );

    // An hour ahead of us: a date half an hour ahead of our clock has passed for the service,
    // but is still refused (our clock says it is to come: typed wrong, or a `Date` not to be
    // trusted); our now goes through.
    server.script(
        "/status",
        Reply::new(201, "{}").header("date", &http_date(LOCAL_NOW_MS + hour)),
    );
    client
        .set_source_status("src", coveo_push::SourceStatus::Idle)
        .await
        .unwrap();
    assert_eq!(client.service_clock_skew_ms(), Some(hour as i64));
    assert_eq!(
        client.older_than_limit_ms(),
        LOCAL_NOW_MS + OLDER_THAN_FUTURE_TOLERANCE.as_millis() as u64
    );
    let e = client
        .delete_older_than("src", LOCAL_NOW_MS + hour / 2, Some(0))
        .await
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput), "{e:?}");
    assert!(
        !e.explanation().contains("for Coveo"),
        "{}",
        e.explanation()
    );
    client
        .delete_older_than("src", LOCAL_NOW_MS, Some(0))
        .await
        .unwrap();
    let sent: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        sent.iter().filter(|p| p.ends_with("/olderthan")).count(),
        1,
        "{sent:?}"
    );
}

#[tokio::test]
async fn identities_are_refused_in_their_own_words() {
    let server = Server::start().await;
    let (client, _clock) = server.client();
    let e = client
        .delete_identities_older_than("provider", LOCAL_NOW_MS + 3_600_000, Some(0))
        .await
        .unwrap_err();
    let why = e.explanation();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput), "{e:?}");
    assert!(why.contains("is in the future"), "{why}");
    assert!(
        why.contains("disable every identity of the provider"),
        "{why}"
    );
    assert!(why.contains("recreate the provider"), "{why}");
    assert!(server.requests().is_empty(), "nothing was sent");
    assert!(client.check_identities_older_than(LOCAL_NOW_MS).is_ok());
}

#[tokio::test]
async fn the_date_of_an_error_answer_counts_and_an_upload_answer_does_not() {
    let server = Server::start().await;
    let (client, _clock) = server.client();
    let day = 24 * 3600 * 1000;
    // A refused call still tells the service's clock.
    server.script(
        "/status",
        Reply::new(400, r#"{"errorCode":"INVALID_PARAMETER","message":"no"}"#)
            .header("date", &http_date(LOCAL_NOW_MS - day)),
    );
    client
        .set_source_status("src", coveo_push::SourceStatus::Idle)
        .await
        .unwrap_err();
    assert_eq!(client.service_clock_skew_ms(), Some(-(day as i64)));

    // A file container upload goes to another service (S3): its Date is not Coveo's clock.
    server.script(
        "/files",
        Reply::new(
            201,
            &serde_json::json!({
                "uploadUri": format!("{}/upload/file-x", server.url),
                "fileId": "file-x",
                "requiredHeaders": {}
            })
            .to_string(),
        )
        .header("date", &http_date(LOCAL_NOW_MS - 2 * day)),
    );
    server.script(
        "/upload/",
        Reply::new(200, "").header("date", &http_date(LOCAL_NOW_MS + 7 * day)),
    );
    client
        .upload_bytes(bytes::Bytes::from_static(b"{}"))
        .await
        .unwrap();
    assert_eq!(
        client.service_clock_skew_ms(),
        Some(-2 * day as i64),
        "the container answer counts, the upload answer does not"
    );
}
