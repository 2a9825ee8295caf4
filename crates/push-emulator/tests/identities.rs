//! Security identities, "search as", the Platform routes, source status, auth errors and the
//! request log.

mod common;

use common::T;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn identities_aliases_batches_and_search_as_with_explanations() {
    let t = T::new().await;
    let perms = t.push_url("/providers/sandbox/permissions");
    // Docs-style capitalized property names and Pascal-case types.
    let hr = json!({"Identity": {"Name": "HR", "Type": "Group"},
        "Members": [{"name": "alice", "type": "USER"}, {"name": "Managers", "type": "GROUP"}]});
    assert_eq!(
        t.send(Method::PUT, &perms, Some(hr)).await.status,
        StatusCode::ACCEPTED
    );
    let managers = json!({"identity": {"name": "Managers", "type": "GROUP"}, "members": [{"name": "bob", "type": "User"}]});
    t.send(Method::PUT, &perms, Some(managers)).await;
    // Aliases: sandbox users map to Email Security Provider users.
    let mappings = t.push_url("/providers/sandbox/mappings");
    for (name, email) in [
        ("alice", "alice@example.com"),
        ("bob", "bob@example.com"),
        ("carol", "carol@example.com"),
    ] {
        let body = json!({"identity": {"name": name, "type": "USER"}, "mappings": [{"name": email, "type": "USER"}]});
        assert_eq!(
            t.send(Method::PUT, &mappings, Some(body)).await.status,
            StatusCode::ACCEPTED
        );
    }
    // A batch: a granted identity, an unknown type (rejected later), a bare and a wrapped delete.
    let batch = json!({
        "members": [
            {"identity": {"name": "carol", "type": "USER"}, "wellKnowns": [{"name": "Everyone", "type": "VIRTUAL_GROUP"}]},
            {"identity": {"name": "Everyone", "type": "VIRTUAL_GROUP"}},
            {"identity": {"name": "x", "type": "ROBOT"}},
            {"identity": {"name": "temp1", "type": "USER"}},
            {"identity": {"name": "temp2", "type": "USER"}}
        ],
        "mappings": [],
    });
    let file = t.upload(serde_json::to_vec(&batch).unwrap()).await;
    let a = t
        .send(
            Method::PUT,
            &format!(
                "{}?fileId={file}",
                t.push_url("/providers/sandbox/permissions/batch")
            ),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED);
    t.emu.drain().await;
    let deletes = json!({"deleted": [{"identity": {"name": "temp1", "type": "USER"}}, {"name": "temp2", "type": "User"}]});
    let file = t.upload(serde_json::to_vec(&deletes).unwrap()).await;
    t.send(
        Method::PUT,
        &format!(
            "{}?fileId={file}",
            t.push_url("/providers/sandbox/permissions/batch")
        ),
        None,
    )
    .await;
    t.emu.drain().await;
    let ids = t
        .inspect("/organizations/sandbox/providers/sandbox/identities")
        .await;
    let names: Vec<&str> = ids["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["identity"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 6, "{names:?}");
    assert!(!names.contains(&"x") && !names.contains(&"temp1") && !names.contains(&"temp2"));
    // Single deletes: with and without the identity wrapper.
    t.send(
        Method::PUT,
        &perms,
        Some(json!({"identity": {"name": "d1", "type": "USER"}})),
    )
    .await;
    t.send(
        Method::PUT,
        &perms,
        Some(json!({"identity": {"name": "d2", "type": "USER"}})),
    )
    .await;
    t.emu.drain().await;
    assert_eq!(
        t.send(
            Method::DELETE,
            &perms,
            Some(json!({"identity": {"name": "d1", "type": "USER"}}))
        )
        .await
        .status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        t.send(
            Method::DELETE,
            &perms,
            Some(json!({"name": "d2", "type": "User"}))
        )
        .await
        .status,
        StatusCode::ACCEPTED
    );
    t.emu.drain().await;
    assert_eq!(
        t.inspect("/organizations/sandbox/providers/sandbox/identities")
            .await["identities"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    // Expansion of bob: alias bob -> member of Managers -> member of HR.
    let exp = t.inspect("/organizations/sandbox/providers/Email%20Security%20Provider/expand?name=bob%40example.com").await;
    let reached: Vec<&str> = exp["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["identity"]["name"].as_str().unwrap())
        .collect();
    assert!(
        reached.contains(&"HR") && reached.contains(&"Managers") && reached.contains(&"bob"),
        "{reached:?}"
    );
    // Items: one for HR, one for everyone except bob, one for the granted virtual group.
    let hr_only = json!([{"allowedPermissions": [{"identity": "HR", "identityType": "Group"}]}]);
    let not_bob = json!([{"allowAnonymous": true, "deniedPermissions": [{"identity": "bob", "identityType": "User"}]}]);
    let everyone =
        json!([{"allowedPermissions": [{"identity": "Everyone", "identityType": "VirtualGroup"}]}]);
    for (id, p) in [
        ("file:///s/hr", hr_only),
        ("file:///s/notbob", not_bob),
        ("file:///s/everyone", everyone),
    ] {
        t.put_item(id, "", json!({"data": id, "permissions": p}))
            .await;
    }
    t.emu.drain().await;
    let visible = |v: &serde_json::Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["visible"] == true)
            .map(|i| i["documentId"].as_str().unwrap().to_owned())
            .collect()
    };
    let bob = t
        .inspect("/organizations/sandbox/sources/documents/search?user=bob%40example.com")
        .await;
    assert_eq!(visible(&bob), ["file:///s/hr"]);
    let hr_item = bob["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["documentId"] == "file:///s/hr")
        .unwrap();
    // Why, in words: the chain of the deciding set, through the alias and both groups.
    assert_eq!(
        hr_item["because"][0]["text"],
        "bob@example.com (Email Security Provider) → alias bob (sandbox) → member of group Managers (sandbox) → member of group HR (sandbox) → set 1",
        "{hr_item}"
    );
    let carol = t
        .inspect("/organizations/sandbox/sources/documents/search?user=carol%40example.com")
        .await;
    assert_eq!(visible(&carol), ["file:///s/everyone", "file:///s/notbob"]);
    let anon = t
        .inspect("/organizations/sandbox/sources/documents/search?anonymous=true")
        .await;
    assert_eq!(visible(&anon), ["file:///s/notbob"]);
    // The unknown identity type was rejected by the pipeline, into the logs.
    let logs = t.logs(Some("x")).await;
    assert_eq!(logs[0]["result"], "REJECTED");
    // Delete older than on identities (queueDelay 0): everything pushed before is disabled.
    let url = format!(
        "{}?orderingId={}&queueDelay=0",
        t.push_url("/providers/sandbox/permissions/olderthan"),
        u64::MAX / 2
    );
    assert_eq!(
        t.send(Method::DELETE, &url, None).await.status,
        StatusCode::ACCEPTED
    );
    t.emu.drain().await;
    assert!(t
        .inspect("/organizations/sandbox/providers/sandbox/identities")
        .await["identities"]
        .as_array()
        .unwrap()
        .is_empty());
    let unknown = t
        .send(
            Method::PUT,
            &t.push_url("/providers/nope/permissions"),
            Some(json!({"identity": {"name": "a", "type": "USER"}})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::PRECONDITION_FAILED);
    let malformed = t
        .send(Method::PUT, &perms, Some(json!({"members": []})))
        .await;
    assert_eq!(malformed.code(), "INVALID_JSON");
}

#[tokio::test]
async fn authentication_and_authorization_errors() {
    let t = T::new().await;
    let url = t.push_url("/sources/documents/status?statusType=REFRESH");
    let none = T::answer(t.http.post(&url).send().await.unwrap()).await;
    assert_eq!(
        (none.status, none.code()),
        (StatusCode::UNAUTHORIZED, "UNAUTHORIZED")
    );
    let wrong = T::answer(t.http.post(&url).bearer_auth("nope").send().await.unwrap()).await;
    assert_eq!(
        (wrong.status, wrong.code()),
        (StatusCode::UNAUTHORIZED, "INVALID_TOKEN")
    );
    let r = t
        .http
        .post(format!("{}/_emulator/v1/keys", t.emu.url()))
        .json(&json!({"key": "identities-only", "identities": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let denied = T::answer(
        t.http
            .post(&url)
            .bearer_auth("identities-only")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (denied.status, denied.code()),
        (StatusCode::FORBIDDEN, "ACCESS_DENIED")
    );
    let org = t
        .send(
            Method::POST,
            &format!(
                "{}/push/v1/organizations/nope/sources/documents/status?statusType=IDLE",
                t.emu.url()
            ),
            None,
        )
        .await;
    assert_eq!(
        (org.status, org.code()),
        (StatusCode::NOT_FOUND, "ORGANIZATION_NOT_FOUND")
    );
    let src = t
        .send(
            Method::POST,
            &t.push_url("/sources/nope/status?statusType=IDLE"),
            None,
        )
        .await;
    assert_eq!(
        (src.status, src.code()),
        (StatusCode::PRECONDITION_FAILED, "SOURCE_DOES_NOT_EXIST")
    );
    // The request log masks the key.
    let log = t.inspect("/requests").await;
    let text = log.to_string();
    assert!(
        !text.contains(t.emu.api_key()) && !text.contains("identities-only\""),
        "the key leaks: {text}"
    );
    let last = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|r| r["path"].as_str().unwrap().contains("/push/"))
        .unwrap();
    assert_eq!(last["status"], 412);
    assert_eq!(last["headers"]["authorization"], "Bearer ****");
}

#[tokio::test]
async fn platform_routes_create_sources_providers_fields_and_keep_status_history() {
    let t = T::new().await;
    let rest = format!("{}/rest/organizations/sandbox", t.emu.url());
    let created = t
        .send(Method::POST, &format!("{rest}/sources"), Some(json!({"sourceType": "PUSH", "pushEnabled": true, "name": "Policies", "sourceVisibility": "SECURED"})))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let got = t
        .send(Method::GET, &format!("{rest}/sources/{id}"), None)
        .await;
    assert_eq!(got.body["name"], "Policies");
    let provider = json!({"id": "policies-provider", "displayName": "Policies", "nodeRequired": false, "type": "EXPANDED",
        "referencedBy": [{"id": id, "type": "SOURCE"}],
        "cascadingSecurityProviders": {"EmailSecurityProvider": {"id": "Email Security Provider", "type": "EMAIL"}}});
    assert_eq!(
        t.send(
            Method::POST,
            &format!("{rest}/securityproviders"),
            Some(provider)
        )
        .await
        .status,
        StatusCode::CREATED
    );
    let got = t
        .send(Method::GET, &format!("{rest}/sources/{id}"), None)
        .await;
    assert_eq!(got.body["securityProviders"], json!(["policies-provider"]));
    // The new source and provider take pushes.
    let push = format!("{}/push/v1/organizations/sandbox/sources/{id}", t.emu.url());
    assert_eq!(
        t.send(
            Method::POST,
            &format!("{push}/status?statusType=rebuild"),
            Some(json!({}))
        )
        .await
        .status,
        StatusCode::CREATED
    );
    let url = format!("{push}/documents?documentId=file%3A%2F%2F%2Fp");
    assert_eq!(
        t.send(Method::PUT, &url, Some(json!({"data": "x"})))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        t.send(
            Method::POST,
            &format!("{push}/status?statusType=IDLE"),
            None
        )
        .await
        .status,
        StatusCode::CREATED
    );
    let bad = t
        .send(
            Method::POST,
            &format!("{push}/status?statusType=RESCAN"),
            None,
        )
        .await;
    assert_eq!(bad.code(), "INVALID_PARAMETER");
    t.emu.drain().await;
    let src = t
        .inspect(&format!("/organizations/sandbox/sources/{id}"))
        .await;
    assert_eq!(src["information"]["numberOfDocuments"], 1);
    assert_eq!(src["activities"][0]["statusType"], "REBUILD");
    assert!(src["activities"][0]["ended"].is_string());
    // Fields.
    let fields =
        json!([{"name": "department", "type": "STRING"}, {"name": "size_kb", "type": "LONG"}]);
    assert_eq!(
        t.send(
            Method::POST,
            &format!("{rest}/indexes/fields/batch/create"),
            Some(fields)
        )
        .await
        .status,
        StatusCode::CREATED
    );
    let bad = t
        .send(
            Method::POST,
            &format!("{rest}/indexes/fields/batch/create"),
            Some(json!([{"name": "Bad-Name"}])),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let list = t
        .send(
            Method::GET,
            &format!("{rest}/indexes/page/fields?perPage=1"),
            None,
        )
        .await;
    assert_eq!(
        (
            list.body["totalEntries"].as_u64(),
            list.body["totalPages"].as_u64()
        ),
        (Some(2), Some(2))
    );
    assert_eq!(
        t.send(Method::GET, &format!("{rest}/sources/nope"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_remaining_routes_answer() {
    let t = T::new().await;
    let emu = t.emu.url().to_owned();
    assert_eq!(t.inspect("/health").await["status"], "ok");
    assert_eq!(
        t.inspect("/organizations").await["organizations"][0]["providers"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    t.put_item("file:///r/a", "", json!({"data": "a"})).await;
    let drained = t
        .http
        .post(format!("{emu}/_emulator/v1/drain"))
        .send()
        .await
        .unwrap();
    assert_eq!(drained.status(), StatusCode::OK);
    let log = t
        .inspect("/organizations/sandbox/sources/documents/log?documentId=file%3A%2F%2F%2Fr%2Fa")
        .await;
    assert_eq!(log["entries"][0]["result"], "COMPLETED");
    let deprecated = t
        .send(Method::GET, &format!("{emu}/logs/v1/organizations/sandbox?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&sourceId=documents&results=COMPLETED"), None)
        .await;
    assert_eq!(
        deprecated.body["documentLogEntries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let clock = t.inspect("/clock").await["nowMs"].as_i64().unwrap();
    let advanced: serde_json::Value = t
        .http
        .post(format!("{emu}/_emulator/v1/clock"))
        .json(&json!({"advanceSeconds": 60}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(advanced["nowMs"].as_i64().unwrap() >= clock + 60_000);
    let cleared = t
        .http
        .delete(format!("{emu}/_emulator/v1/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    assert!(t.inspect("/requests").await["requests"]
        .as_array()
        .unwrap()
        .is_empty());
    let faults = t.inspect("/faults").await;
    assert_eq!(faults["throttleShare"], 0.0);
    let rest = format!("{emu}/rest/organizations/sandbox");
    assert_eq!(
        t.send(Method::GET, &format!("{rest}/sources"), None)
            .await
            .body[0]["id"],
        "documents"
    );
    assert_eq!(
        t.send(Method::GET, &format!("{rest}/securityproviders"), None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let old_form = t
        .send(
            Method::PUT,
            &format!("{rest}/securityproviders/legacy"),
            Some(json!({"name": "legacy", "type": "EXPANDED"})),
        )
        .await;
    assert_eq!(old_form.status, StatusCode::OK);
    assert_eq!(
        t.send(
            Method::GET,
            &format!("{rest}/securityproviders/legacy"),
            None
        )
        .await
        .body["id"],
        "legacy"
    );
    assert_eq!(
        t.send(Method::GET, &format!("{rest}/indexes/fields"), None)
            .await
            .body["totalEntries"],
        0
    );
    // Stream delete-older-than and the data-collections spelling.
    let dc = format!("{emu}/push/v1/organizations/sandbox/data-collections/documents/stream");
    let a = t
        .send(
            Method::POST,
            &format!("{dc}/deleteolderthan/{}?queueDelay=0", u64::MAX / 2),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert!(t.items().await.is_empty());
    let unknown = t
        .send(Method::GET, &format!("{emu}/push/v1/nope"), None)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}
