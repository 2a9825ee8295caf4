//! The typed reads (`Emulator::items`, `item`, `search_as`) answer what the inspection API
//! answers over HTTP, field by field: they share one implementation (`inspect.rs`,
//! `search::evaluate`).

mod common;

use common::{b64, enc, T};
use permissions::QueryingUser;
use push_emulator::{InspectError, Seen, SANDBOX_ORG, SANDBOX_SOURCE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Pushes three items (one deleted again) and the HR group.
async fn fill(t: &T) {
    let hr = json!({"identity": {"name": "HR", "type": "GROUP"},
        "members": [{"name": "asmith", "type": "USER"}]});
    let url = t.push_url("/providers/sandbox/permissions");
    let a = t.send(Method::PUT, &url, Some(hr)).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{:?}", a.body);
    let items = [
        (
            "file:///s/pay.txt",
            json!({"data": "salaries", "title": "Pay", "fileExtension": ".txt",
                "permissions": [{"allowedPermissions": [{"identity": "HR", "identityType": "Group"}]}]}),
        ),
        (
            "file:///s/news.html",
            json!({"compressedBinaryData": b64(b"<p>news</p>"), "compressionType": "UNCOMPRESSED",
                "TITLE": "News", "fileExtension": ".html", "author": "me",
                "permissions": [{"allowAnonymous": true}]}),
        ),
        ("file:///s/gone.txt", json!({"data": "soon deleted"})),
    ];
    for (id, body) in items {
        let a = t.put_item(id, "", body).await;
        assert_eq!(a.status, StatusCode::ACCEPTED, "{:?}", a.body);
    }
    t.emu.drain().await;
    let url = format!(
        "{}?documentId={}",
        t.push_url("/sources/documents/documents"),
        enc("file:///s/gone.txt")
    );
    let a = t.send(Method::DELETE, &url, None).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{:?}", a.body);
    t.emu.drain().await;
}

/// A typed item as the inspection API writes it (its JSON, content in base64).
fn as_json(item: &push_emulator::state::Item) -> Value {
    let mut v = serde_json::to_value(item).unwrap();
    v["content"] = json!(b64(&item.content));
    v
}

#[tokio::test]
async fn items_and_item_are_the_inspection_api_answers() {
    let t = T::new().await;
    fill(&t).await;
    let typed = t.emu.items(SANDBOX_ORG, SANDBOX_SOURCE).unwrap();
    let http = t.items().await;
    assert_eq!(typed.len(), 2, "the deleted item is not listed");
    assert_eq!(typed.iter().map(as_json).collect::<Vec<_>>(), http);

    let pay = &typed[1];
    assert_eq!(pay.document_id, "file:///s/pay.txt");
    assert_eq!(pay.title(), Some("Pay"));
    assert_eq!(&pay.content[..], b"salaries");
    assert_eq!(pay.file_extension.as_deref(), Some(".txt"));
    assert!(pay.permissions.is_some());
    assert!(pay.ordering_id > 0);
    assert!(pay.updated_ms().is_some_and(|ms| ms > 0), "{}", pay.updated);
    let news = &typed[0];
    assert_eq!(news.title(), Some("News"), "the title in any letter case");
    assert_eq!(&news.content[..], b"<p>news</p>");
    assert_eq!(news.content_size, 11);

    for id in ["file:///s/pay.txt", "file:///s/gone.txt"] {
        let one = t
            .emu
            .item(SANDBOX_ORG, SANDBOX_SOURCE, id)
            .unwrap()
            .unwrap();
        assert_eq!(Some(as_json(&one)), t.item(id).await, "{id}");
    }
    assert_eq!(
        t.emu
            .item(SANDBOX_ORG, SANDBOX_SOURCE, "file:///nothing")
            .unwrap()
            .map(|i| i.document_id),
        None
    );
    assert_eq!(t.item("file:///nothing").await, None);

    assert_eq!(
        t.emu.items("nope", SANDBOX_SOURCE).unwrap_err(),
        InspectError::UnknownOrganization("nope".into())
    );
    assert!(matches!(
        t.emu.item(SANDBOX_ORG, "nope", "x"),
        Err(InspectError::UnknownSource { source_id, .. }) if source_id == "nope"
    ));
}

#[tokio::test]
async fn search_as_is_the_inspection_api_answer() {
    let t = T::new().await;
    fill(&t).await;
    for (user, query) in [
        (QueryingUser::named("asmith"), "user=asmith".to_owned()),
        (QueryingUser::named("bob"), "user=bob".to_owned()),
        (
            QueryingUser::in_provider("asmith", "sandbox"),
            "user=asmith&provider=sandbox".to_owned(),
        ),
    ] {
        let typed = t.emu.search_as(SANDBOX_ORG, SANDBOX_SOURCE, &user).unwrap();
        let http = t
            .inspect(&format!(
                "/organizations/sandbox/sources/documents/search?{query}"
            ))
            .await;
        assert_eq!(http["defaultProvider"], json!(typed.default_provider));
        assert_eq!(http["user"], serde_json::to_value(&typed.user).unwrap());
        let http_items = http["items"].as_array().unwrap();
        assert_eq!(typed.items.len(), http_items.len(), "{query}");
        for (mine, theirs) in typed.items.iter().zip(http_items) {
            assert_eq!(theirs["documentId"], json!(mine.document_id), "{query}");
            assert_eq!(theirs["visible"], json!(mine.is_visible()), "{query}");
            let Seen::Answer(answer) = &mine.seen else {
                panic!("the Sandbox's source is secured");
            };
            assert_eq!(theirs["summary"], json!(answer.summary), "{query}");
            assert_eq!(theirs["uncertain"], json!(answer.uncertain), "{query}");
        }
        let visible: Vec<&str> = typed.visible().collect();
        let http_visible: Vec<&str> = http_items
            .iter()
            .filter(|i| i["visible"] == json!(true))
            .map(|i| i["documentId"].as_str().unwrap())
            .collect();
        assert_eq!(visible, http_visible, "{query}");
        assert_eq!(http["visibleCount"], json!(visible.len()));
    }
    let asmith = t
        .emu
        .search_as(SANDBOX_ORG, SANDBOX_SOURCE, &QueryingUser::named("asmith"))
        .unwrap();
    assert_eq!(
        asmith.visible().collect::<Vec<_>>(),
        ["file:///s/news.html", "file:///s/pay.txt"],
        "asmith is in HR"
    );
    let bob = t
        .emu
        .search_as(SANDBOX_ORG, SANDBOX_SOURCE, &QueryingUser::named("bob"))
        .unwrap();
    assert_eq!(bob.visible().collect::<Vec<_>>(), ["file:///s/news.html"]);
    assert!(matches!(
        t.emu
            .search_as("nope", SANDBOX_SOURCE, &QueryingUser::named("bob")),
        Err(InspectError::UnknownOrganization(_))
    ));
}
