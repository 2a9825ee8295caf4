//! `--data DIR`: everything survives a restart, and an acknowledged write that was not yet
//! processed when the process stopped is processed at the next start.

mod common;

use std::time::Duration;

use common::T;
use push_emulator::EmulatorConfig;
use reqwest::{Method, StatusCode};
use serde_json::json;

fn config(dir: &std::path::Path) -> EmulatorConfig {
    EmulatorConfig {
        data_dir: Some(dir.to_path_buf()),
        ..EmulatorConfig::default()
    }
}

#[tokio::test]
async fn the_sandbox_survives_a_restart_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let created_source;
    {
        let t = T::with(config(dir.path())).await;
        t.put_item(
            "file:///keep/a",
            "&orderingId=10",
            json!({"data": "alpha", "title": "A"}),
        )
        .await;
        t.batch(
            json!({"addOrUpdate": [{"documentId": "file:///keep/b", "data": "beta"}]}),
            "",
        )
        .await;
        let perms = t.push_url("/providers/sandbox/permissions");
        t.send(Method::PUT, &perms, Some(json!({"identity": {"name": "G", "type": "GROUP"}, "members": [{"name": "u", "type": "USER"}]}))).await;
        t.send(
            Method::POST,
            &t.push_url("/sources/documents/status?statusType=REBUILD"),
            None,
        )
        .await;
        let rest = format!("{}/rest/organizations/sandbox", t.emu.url());
        let s = t
            .send(
                Method::POST,
                &format!("{rest}/sources"),
                Some(json!({"name": "Later", "sourceType": "PUSH", "sourceVisibility": "SHARED"})),
            )
            .await;
        created_source = s.body["id"].as_str().unwrap().to_owned();
        t.emu.drain().await;
        // An uploaded container survives too.
        let pending = t
            .upload(
                serde_json::to_vec(
                    &json!({"addOrUpdate": [{"documentId": "file:///keep/c", "data": "gamma"}]}),
                )
                .unwrap(),
            )
            .await;
        drop(t);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let t = T::with(config(dir.path())).await;
        let items = t.items().await;
        let ids: Vec<&str> = items
            .iter()
            .map(|i| i["documentId"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["file:///keep/a", "file:///keep/b"]);
        assert_eq!(items[0]["content"], common::b64(b"alpha"));
        assert_eq!(items[0]["orderingId"], 10);
        let ids = t
            .inspect("/organizations/sandbox/providers/sandbox/identities")
            .await;
        assert_eq!(ids["identities"][0]["members"][0]["name"], "u");
        let src = t.inspect("/organizations/sandbox/sources/documents").await;
        assert_eq!(src["information"]["sourceStatus"]["type"], "REBUILD");
        t.inspect(&format!("/organizations/sandbox/sources/{created_source}"))
            .await;
        let a = t
            .send(
                Method::PUT,
                &format!(
                    "{}?fileId={pending}",
                    t.push_url("/sources/documents/documents/batch")
                ),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::ACCEPTED);
        assert_eq!(t.items().await.len(), 3);
        assert!(
            !t.logs(Some("file:///keep/a")).await.is_empty(),
            "the processing log is kept"
        );
    }
    // Acknowledged but unprocessed (a long processing delay, then the process goes away).
    {
        let slow = EmulatorConfig {
            processing_delay: Duration::from_secs(30),
            ..config(dir.path())
        };
        let t = T::with(slow).await;
        let a = t
            .put_item("file:///keep/d", "", json!({"data": "delta"}))
            .await;
        assert_eq!(a.status, StatusCode::ACCEPTED);
        drop(t);
    }
    let t = T::with(config(dir.path())).await;
    let item = t
        .item("file:///keep/d")
        .await
        .expect("the acknowledged write was processed after the restart");
    assert_eq!(item["content"], common::b64(b"delta"));
}
