//! No future delete-older-than leaves the client core: a future orderingId makes Coveo delete
//! every item and then refuse new items until that time. The guard uses the service's clock
//! (its `Date` header) once it answered, the injected local clock before.

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
async fn the_service_clock_decides_once_it_answered() {
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

    // An hour ahead of us: half an hour from our now has passed for the service.
    server.script(
        "/status",
        Reply::new(201, "{}").header("date", &http_date(LOCAL_NOW_MS + hour)),
    );
    client
        .set_source_status("src", coveo_push::SourceStatus::Idle)
        .await
        .unwrap();
    assert_eq!(client.service_clock_skew_ms(), Some(hour as i64));
    client
        .delete_older_than("src", LOCAL_NOW_MS + hour / 2, Some(0))
        .await
        .unwrap();
    let sent: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        sent.iter().filter(|p| p.ends_with("/olderthan")).count(),
        1,
        "{sent:?}"
    );
}
