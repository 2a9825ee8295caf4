//! The one keyring wrapper of both fronts, against the real Secret Service (the test command
//! runs the suite in a private D-Bus session with an unlocked gnome-keyring).

use sync_engine::keystore;

#[tokio::test]
async fn a_key_is_stored_found_replaced_and_removed_per_organization() {
    let org = format!("keystore-test-{}", std::process::id());
    assert_eq!(keystore::load(&org).await.unwrap(), None);
    keystore::store(&org, "xx-first".into()).await.unwrap();
    keystore::store(&format!("{org}-other"), "xx-other".into())
        .await
        .unwrap();
    assert_eq!(
        keystore::load(&org).await.unwrap().as_deref(),
        Some("xx-first")
    );
    keystore::store(&org, "xx-second".into()).await.unwrap();
    assert_eq!(
        keystore::load(&org).await.unwrap().as_deref(),
        Some("xx-second"),
        "replaced, not added"
    );
    assert!(keystore::remove(&org).await.unwrap());
    assert!(!keystore::remove(&org).await.unwrap(), "already gone");
    assert_eq!(keystore::load(&org).await.unwrap(), None);
    assert_eq!(
        keystore::load(&format!("{org}-other"))
            .await
            .unwrap()
            .as_deref(),
        Some("xx-other"),
        "one key per organization"
    );
    assert!(keystore::remove(&format!("{org}-other")).await.unwrap());
    keystore::probe().await.unwrap();
}
