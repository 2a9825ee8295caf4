//! Item permissions are read with the emulator's own wire types, written from the reference
//! (push-api.md §4.1): property names in any letter case, the simplified and the complete
//! model, and every other property refused, so a client's misspelt key is caught instead of
//! silently dropping a restriction.

mod common;

use common::{enc, T};
use reqwest::StatusCode;
use serde_json::{json, Value};

const EMAIL: &str = "Email Security Provider";

fn user(name: &str) -> Value {
    json!({"identity": name, "identityType": "User", "securityProvider": EMAIL})
}

#[tokio::test]
async fn unknown_permission_keys_and_wrong_shapes_get_400_invalid_json() {
    let t = T::new().await;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "a misspelt set key",
            json!([{"allowedPermission": [user("alice@example.com")]}]),
            "allowedPermission",
        ),
        (
            "an unknown identity entry key",
            json!([{"allowedPermissions": [{"identity": "a", "identityType": "User", "provider": "p"}]}]),
            "provider",
        ),
        (
            "an unknown level key",
            json!([{"name": "L1", "permissionSets": [{"allowAnonymous": true}], "allowAnonymous": true}]),
            "allowAnonymous",
        ),
        (
            "additionalInfo, which belongs to provider identities",
            json!([{"allowedPermissions": [{"identity": "a", "identityType": "User", "additionalInfo": {}}]}]),
            "additionalInfo",
        ),
        (
            "allowAnonymous that is not a boolean",
            json!([{"allowAnonymous": "yes"}]),
            "permissions[0]",
        ),
        (
            "an entry without identityType",
            json!([{"allowedPermissions": [{"identity": "a"}]}]),
            "identityType",
        ),
        (
            "an element that is not an object",
            json!([1]),
            "permissions[0]",
        ),
        (
            "levels mixed with bare sets",
            json!([{"permissionSets": []}, {"allowAnonymous": true}]),
            "mix",
        ),
    ];
    for (what, permissions, named) in cases {
        let a = t
            .put_item(
                "file:///w/bad",
                "",
                json!({"data": "x", "permissions": permissions}),
            )
            .await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::BAD_REQUEST, "INVALID_JSON"),
            "{what}: {:?}",
            a.body
        );
        let message = a.body["message"].as_str().unwrap_or_default();
        assert!(message.contains(named), "{what}: {message}");
    }
    assert!(t.items().await.is_empty(), "nothing was accepted");
}

#[tokio::test]
async fn both_models_read_in_any_key_case_and_are_evaluated() {
    let t = T::new().await;
    // The simplified model, documented keys in other letter cases, and nulls read as absent.
    let simple = json!([{"AllowAnonymous": false,
        "ALLOWEDPERMISSIONS": [{"Identity": "alice@example.com", "IdentityType": "user", "SecurityProvider": EMAIL}],
        "deniedPermissions": null},
        {"allowAnonymous": null, "allowedPermissions": [{"identity": "alice@example.com", "identityType": "USER",
            "securityProvider": EMAIL}, {"identity": "Everyone", "identityType": "VIRTUAL_GROUP", "securityProvider": null}]}]);
    // The complete model: level 1 denies bob, level 2 allows bob and carol.
    let complete = json!([
        {"Name": "L1", "PermissionSets": [{"allowedPermissions": [user("alice@example.com")],
            "deniedPermissions": [user("bob@example.com")]}]},
        {"name": "L2", "permissionSets": [{"allowedPermissions": [user("bob@example.com"), user("carol@example.com")]}]}
    ]);
    for (id, permissions) in [
        ("file:///w/simple", simple),
        ("file:///w/complete", complete),
    ] {
        let a = t
            .put_item(id, "", json!({"data": "x", "permissions": permissions}))
            .await;
        assert_eq!(a.status, StatusCode::ACCEPTED, "{id}: {:?}", a.body);
    }
    let items = t.items().await;
    assert_eq!(items.len(), 2, "{items:?}");
    let complete = &items[0];
    assert_eq!(complete["permissions"][0]["name"], "L1");
    assert_eq!(
        complete["permissions"][0]["permissionSets"][0]["deniedPermissions"][0]["identityType"],
        "User"
    );
    let simple = &items[1];
    assert_eq!(
        simple["permissions"][1]["allowedPermissions"][1]["identityType"], "VirtualGroup",
        "{simple}"
    );
    let visible = |who: &'static str| {
        let t = &t;
        async move {
            let found = t
                .inspect(&format!(
                    "/organizations/sandbox/sources/documents/search?user={}",
                    enc(who)
                ))
                .await;
            let mut ids: Vec<String> = found["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["visible"] == true)
                .map(|i| i["documentId"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(
        visible("alice@example.com").await,
        ["file:///w/complete", "file:///w/simple"]
    );
    assert!(visible("bob@example.com").await.is_empty(), "L1 denies bob");
    assert_eq!(visible("carol@example.com").await, ["file:///w/complete"]);
}

#[tokio::test]
async fn a_batch_entry_with_an_unknown_permission_key_is_rejected_in_the_source_logs() {
    let t = T::new().await;
    let file = json!({"addOrUpdate": [
        {"documentId": "file:///w/typo", "data": "x",
            "permissions": [{"deniedPermisions": [user("bob@example.com")]}]},
        {"documentId": "file:///w/fine", "data": "x",
            "permissions": [{"allowAnonymous": true, "deniedPermissions": [user("bob@example.com")]}]}
    ]});
    assert_eq!(t.batch(file, "").await.status, StatusCode::ACCEPTED);
    let items = t.items().await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["documentId"], "file:///w/fine");
    let log = t.logs(Some("file:///w/typo")).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["result"], "REJECTED");
    let error = log[0]["meta"]["error"].as_str().unwrap_or_default();
    assert!(error.contains("deniedPermisions"), "{error}");
}
