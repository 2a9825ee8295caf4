//! The emulator's clock reaches clients through the `Date` header of every answer, so a client
//! can measure the service's clock (and tests can move it).

mod common;

use std::time::Duration;

use common::T;
use push_emulator::{Clock, EmulatorConfig};
use reqwest::Method;

#[tokio::test]
async fn every_answer_carries_the_emulator_clock_as_its_date() {
    // 2023-11-14T22:13:20Z, frozen.
    let t = T::with(EmulatorConfig {
        clock: Clock::frozen(1_700_000_000_000),
        ..Default::default()
    })
    .await;
    let date = |a: &common::Answer| {
        a.headers
            .get("date")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let status = t
        .send(
            Method::POST,
            &t.push_url("/sources/documents/status?statusType=IDLE"),
            None,
        )
        .await;
    assert_eq!(date(&status), "Tue, 14 Nov 2023 22:13:20 GMT");
    t.emu.advance_clock(Duration::from_secs(86_400 + 61)).await;
    // An error answer too.
    let refused = t
        .send(
            Method::DELETE,
            &t.push_url("/sources/documents/documents"),
            None,
        )
        .await;
    assert!(refused.status.is_client_error());
    assert_eq!(date(&refused), "Wed, 15 Nov 2023 22:14:21 GMT");
}
