//! Listing what an organization offers (sources and security identity providers) against
//! push-emulator, and what a key lacking a privilege gets back.

use coveo_push::{
    ApiKey, ClientConfig, Endpoint, ErrorKind, NotFoundTarget, ProxyConfig, PushClient,
    RetryPolicy, SourceVisibility, SOURCE_LIST_PAGE,
};
use push_emulator::{Emulator, EmulatorConfig};

async fn start() -> Emulator {
    Emulator::start(EmulatorConfig::default()).await.unwrap()
}

fn client(emu: &Emulator, key: &str) -> PushClient {
    let config = ClientConfig::new("sandbox", ApiKey::new(key))
        .with_endpoint(Endpoint::custom(emu.url()).unwrap())
        .with_proxy(ProxyConfig::Direct)
        .with_retry(RetryPolicy::none());
    PushClient::new(config).unwrap()
}

/// Registers a second key with only some privileges (the emulator's `/_emulator/v1/keys`).
async fn restricted_key(emu: &Emulator, key: &str, items: bool, identities: bool, platform: bool) {
    let resp = reqwest::Client::new()
        .post(format!("{}/_emulator/v1/keys", emu.url()))
        .json(&serde_json::json!({
            "key": key, "items": items, "identities": identities, "platform": platform
        }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
}

#[tokio::test]
async fn sources_are_listed_with_what_pushdeck_may_push_into() {
    let emu = start().await;
    let client = client(&emu, emu.api_key());
    let created = client
        .create_push_source("Pushdeck documents", SourceVisibility::Secured)
        .await
        .unwrap();
    // A catalog source, created the way the Administration Console would.
    let resp = reqwest::Client::new()
        .post(format!("{}/rest/organizations/sandbox/sources", emu.url()))
        .bearer_auth(emu.api_key())
        .json(&serde_json::json!({
            "sourceType": "CATALOG", "streamEnabled": true, "pushEnabled": true,
            "name": "Products", "sourceVisibility": "SHARED"
        }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());

    let sources = client.list_sources().await.unwrap();
    assert_eq!(sources.len(), 3, "{sources:?}");
    let documents = sources.iter().find(|s| s.id == "documents").unwrap();
    assert_eq!(documents.source_type, "PUSH");
    assert_eq!(documents.refusal(), None);
    let mine = sources.iter().find(|s| s.id == created.id).unwrap();
    assert_eq!(mine.name, "Pushdeck documents");
    assert_eq!(mine.refusal(), None);
    let products = sources.iter().find(|s| s.name == "Products").unwrap();
    assert!(products.refusal().is_some(), "a catalog source is refused");
}

#[tokio::test]
async fn every_page_of_sources_is_read() {
    let emu = start().await;
    let client = client(&emu, emu.api_key());
    let extra = SOURCE_LIST_PAGE + 5;
    for i in 0..extra {
        client
            .create_push_source(&format!("source {i:03}"), SourceVisibility::Shared)
            .await
            .unwrap();
    }
    let sources = client.list_sources().await.unwrap();
    assert_eq!(sources.len(), extra + 1);
    let mut ids: Vec<&str> = sources.iter().map(|s| s.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), extra + 1, "a source came twice");
    // Two pages were asked for, in order.
    let log: serde_json::Value = reqwest::get(format!("{}/_emulator/v1/requests", emu.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pages: Vec<String> = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"] == "/rest/organizations/sandbox/sources/pages")
        .map(|r| r["query"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert!(pages[0].contains("page=0") && pages[1].contains("page=1"));
}

#[tokio::test]
async fn providers_are_listed_and_read() {
    let emu = start().await;
    let client = client(&emu, emu.api_key());
    let source = client
        .create_push_source("Pushdeck documents", SourceVisibility::Secured)
        .await
        .unwrap();
    client
        .create_security_provider("pushdeck-identities", &source.id)
        .await
        .unwrap();

    let providers = client.list_security_providers().await.unwrap();
    let ids: Vec<&str> = providers.iter().map(|p| p.id.as_str()).collect();
    assert!(ids.contains(&"sandbox"), "{ids:?}");
    assert!(ids.contains(&"pushdeck-identities"), "{ids:?}");
    let created = providers
        .iter()
        .find(|p| p.id == "pushdeck-identities")
        .unwrap();
    assert_eq!(created.provider_type, "EXPANDED");
    assert_eq!(created.label(), "pushdeck-identities");

    let read = client.get_security_provider("sandbox").await.unwrap();
    assert_eq!(read.id, "sandbox");
    let missing = client.get_security_provider("nope").await.unwrap_err();
    assert_eq!(
        missing.kind(),
        &ErrorKind::NotFound {
            target: NotFoundTarget::Provider
        }
    );
}

#[tokio::test]
async fn a_key_without_the_privilege_gets_forbidden_and_a_wrong_key_unauthorized() {
    let emu = start().await;
    restricted_key(&emu, "xx-items-only", true, false, false).await;
    let limited = client(&emu, "xx-items-only");
    let err = limited.list_sources().await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Forbidden, "{err}");
    let err = limited.list_security_providers().await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Forbidden, "{err}");

    let wrong = client(&emu, "xx-not-a-key-of-this-org");
    let err = wrong.list_sources().await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Unauthorized, "{err}");
}

#[tokio::test]
async fn an_existing_provider_is_attached_to_a_new_source_once() {
    let emu = start().await;
    let client = client(&emu, emu.api_key());
    let source = client
        .create_push_source("Pushdeck documents", SourceVisibility::Secured)
        .await
        .unwrap();
    client
        .attach_security_provider("sandbox", &source.id)
        .await
        .unwrap();
    // A second time changes nothing (no duplicate reference).
    client
        .attach_security_provider("sandbox", &source.id)
        .await
        .unwrap();
    let provider: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/rest/organizations/sandbox/securityproviders/sandbox",
            emu.url()
        ))
        .bearer_auth(emu.api_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refs: Vec<&str> = provider["referencedBy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        refs.iter().filter(|r| **r == source.id).count(),
        1,
        "{refs:?}"
    );
    assert!(
        refs.contains(&"documents"),
        "the old reference is kept: {refs:?}"
    );
    let read = client.get_source(&source.id).await.unwrap();
    assert_eq!(
        read.other["securityProviders"],
        serde_json::json!(["sandbox"])
    );

    let missing = client
        .attach_security_provider("nope", &source.id)
        .await
        .unwrap_err();
    assert!(matches!(missing.kind(), ErrorKind::NotFound { .. }));
}
