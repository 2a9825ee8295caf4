//! "Search as" through the one access analysis, with the organization's real providers: a
//! member of a group of a provider that cascades to the Email Security Provider is a member
//! (directly or through another provider), a user inside a nested denied group is denied, and a
//! namesake in a provider that does not cascade is another person (said as `uncertain`).
//! Coveo's documented examples for every user, against the CLI and the crate, are in
//! `tests/tests/access_truth.rs` (pushdeck-proof).

mod common;

use common::{enc, T};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn group(name: &str, members: Value) -> Value {
    json!({"identity": {"name": name, "type": "GROUP"}, "members": members})
}

fn user(name: &str) -> Value {
    json!({"name": name, "type": "USER"})
}

/// `{documentId: (visible, because texts, uncertain)}` of a search-as answer.
fn answers(v: &Value) -> Vec<(String, bool, Vec<String>, bool)> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["documentId"].as_str().unwrap().to_owned(),
                i["visible"].as_bool().unwrap(),
                i["because"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|b| b["text"].as_str().unwrap().to_owned())
                    .collect(),
                i["uncertain"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn search_as_follows_the_providers_cascade_and_nested_groups() {
    let t = T::new().await;
    let rest = format!("{}/rest/organizations/sandbox", t.emu.url());
    // Q cascades to sandbox (which cascades to the Email Security Provider); N cascades nowhere.
    for (id, cascading) in [
        (
            "Q",
            json!({"sandbox": {"id": "sandbox", "type": "EXPANDED"}}),
        ),
        ("N", json!({})),
    ] {
        let provider =
            json!({"id": id, "type": "EXPANDED", "cascadingSecurityProviders": cascading});
        let created = t
            .send(
                Method::POST,
                &format!("{rest}/securityproviders"),
                Some(provider),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    }
    for (provider, bodies) in [
        (
            "sandbox",
            vec![
                group("Team1", json!([user("asmith")])),
                group(
                    "Engineering",
                    json!([{"name": "Contractors", "type": "GROUP"}]),
                ),
                group("Contractors", json!([user("zed")])),
            ],
        ),
        ("Q", vec![group("QTeam", json!([user("qia")]))]),
        ("N", vec![group("NTeam", json!([user("amy")]))]),
    ] {
        for body in bodies {
            let url = t.push_url(&format!("/providers/{provider}/permissions"));
            let a = t.send(Method::PUT, &url, Some(body)).await;
            assert_eq!(a.status, StatusCode::ACCEPTED, "{:?}", a.body);
        }
    }
    let g = |name: &str| json!({"identity": name, "identityType": "Group"});
    let in_provider = |entry: Value, provider: &str| {
        let mut entry = entry;
        entry["securityProvider"] = json!(provider);
        entry
    };
    let items = [
        (
            "file:///s/a-team1",
            json!([{"allowedPermissions": [g("Team1")]}]),
        ),
        (
            "file:///s/b-not-engineering",
            json!([{"allowAnonymous": true, "deniedPermissions": [g("Engineering")]}]),
        ),
        (
            "file:///s/c-qteam",
            json!([{"allowedPermissions": [in_provider(g("QTeam"), "Q")]}]),
        ),
        (
            "file:///s/d-nteam",
            json!([{"allowedPermissions": [in_provider(g("NTeam"), "N")]}]),
        ),
    ];
    for (id, permissions) in items {
        let a = t
            .put_item(id, "", json!({"data": id, "permissions": permissions}))
            .await;
        assert_eq!(a.status, StatusCode::ACCEPTED, "{:?}", a.body);
    }
    t.emu.drain().await;
    let search = |query: String| {
        let t = &t;
        async move {
            t.inspect(&format!(
                "/organizations/sandbox/sources/documents/search?{query}"
            ))
            .await
        }
    };
    let asmith = search(format!("user={}", enc("asmith"))).await;
    assert_eq!(
        answers(&asmith),
        [
            (
                "file:///s/a-team1".to_owned(),
                true,
                vec!["asmith (Email Security Provider) → same user asmith (sandbox) → member of group Team1 (sandbox) → set 1".to_owned()],
                false
            ),
            (
                "file:///s/b-not-engineering".to_owned(),
                true,
                vec!["anyone (allowAnonymous) → set 1".to_owned()],
                false
            ),
            ("file:///s/c-qteam".to_owned(), false, vec![], false),
            ("file:///s/d-nteam".to_owned(), false, vec![], false),
        ]
    );
    let zed = answers(&search("user=zed".into()).await);
    assert_eq!(zed[1].0, "file:///s/b-not-engineering");
    assert!(
        !zed[1].1,
        "zed is in Contractors, inside the denied Engineering"
    );
    assert_eq!(
        zed[1].2,
        ["zed (Email Security Provider) → same user zed (sandbox) → member of group Contractors (sandbox) → member of group Engineering (sandbox) → set 1"]
    );
    let qia = answers(&search("user=qia".into()).await);
    assert!(
        qia[2].1,
        "Q cascades to sandbox, which cascades to the Email Security Provider"
    );
    assert_eq!(
        qia[2].2,
        ["qia (Email Security Provider) → same user qia (Q) → member of group QTeam (Q) → set 1"]
    );
    // amy of N is another person (N does not cascade); the other reading says visible.
    let amy = search("user=amy".into()).await;
    let nteam = &amy["items"][3];
    assert_eq!(nteam["visible"], false);
    assert_eq!(nteam["uncertain"], true);
    assert_eq!(
        nteam["otherReadings"][0]["reading"],
        "sameNameInAnyProvider"
    );
    assert_eq!(nteam["otherReadings"][0]["visibility"], "visible");
    // Authenticated in N, she is that amy.
    let amy_n = answers(&search("user=amy&provider=N".into()).await);
    assert!(amy_n[3].1, "{amy_n:?}");
    // search-as asks as a person.
    let r = t
        .send(
            Method::GET,
            &format!(
                "{}/_emulator/v1/organizations/sandbox/sources/documents/search?user=Team1&type=Group",
                t.emu.url()
            ),
            None,
        )
        .await;
    assert_eq!(r.code(), "INVALID_PARAMETER", "{:?}", r.body);
}
