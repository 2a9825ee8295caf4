//! The engine's errors: a sentence for the person (the fronts show `Display`), a closed set of
//! codes (`{code, message}` when serialized), and the cause kept as a typed value. A cause
//! whose words are the error's own is forwarded (its `source` is the error's); a cause with
//! other words (the client core's developer line, a join error) is the `source`.

use std::error::Error as _;
use std::sync::Arc;

use sync_engine::config::FolderMapping;
use sync_engine::engine::{
    preview, ClientFactory, Engine, EngineConfig, EngineError, SettingsError, StateFailure,
};

fn no_clients() -> ClientFactory {
    Arc::new(|_: &FolderMapping| {
        // An origin that does not parse: the factory fails before any request.
        coveo_push::Endpoint::custom("not a url").map(|_| unreachable!("the origin parses"))
    })
}

fn json(e: &EngineError) -> serde_json::Value {
    serde_json::to_value(e).unwrap()
}

#[test]
fn codes_and_messages_of_the_plain_variants() {
    let e = EngineError::UnknownFolder("docs".into());
    assert_eq!(
        e.to_string(),
        "no folder is named \"docs\"; check the name in the folder list"
    );
    assert_eq!(
        json(&e),
        serde_json::json!({"code": "unknown_folder", "message": "docs"})
    );
    let e = EngineError::FolderExists("docs".into());
    assert_eq!(
        e.to_string(),
        "a folder named \"docs\" exists already; pick another name or change that folder"
    );
    assert_eq!(
        json(&e),
        serde_json::json!({"code": "folder_exists", "message": "docs"})
    );
    let e = EngineError::Stopped;
    assert_eq!(
        e.to_string(),
        "the sync engine has stopped; restart Pushdeck"
    );
    assert_eq!(json(&e), serde_json::json!({"code": "stopped"}));
    assert!(e.source().is_none());
}

#[tokio::test]
async fn an_invalid_folder_list_is_invalid_config_with_the_config_error_inside() {
    let state = tempfile::tempdir().unwrap();
    let mapping = FolderMapping::new("docs", "relative/path", "org", "src");
    let config = EngineConfig::new(state.path().join("state.db"), no_clients());
    let e = Engine::start(config, vec![mapping]).await.unwrap_err();
    let want = "<configuration>: folder \"docs\": path \"relative/path\" is relative; write the folder's absolute path, such as path = \"/srv/share/Policies\"";
    assert_eq!(e.to_string(), want);
    assert_eq!(
        json(&e),
        serde_json::json!({"code": "invalid_config", "message": want})
    );
    match &e {
        EngineError::InvalidConfig(SettingsError::Config(config)) => {
            assert_eq!(config.code(), "config_invalid");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_configuration_file_that_cannot_be_written_keeps_the_io_error() {
    let folder = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut config = EngineConfig::new(state.path().join("state.db"), no_clients());
    // A folder where the file should be: the rename fails.
    let taken = state.path().join("config");
    std::fs::create_dir(&taken).unwrap();
    config.config_path = Some(taken.clone());
    config.scheduled_runs = false;
    let engine = Engine::start(config, Vec::new()).await.unwrap();
    let mut mapping = FolderMapping::new("docs", folder.path(), "org", "src");
    mapping.watch = false;
    let e = engine.add_folder(mapping).await.unwrap_err();
    assert!(
        e.to_string().starts_with(&format!(
            "cannot write the configuration file {}: ",
            taken.display()
        )),
        "{e}"
    );
    assert_eq!(e.code(), "invalid_config");
    match &e {
        EngineError::InvalidConfig(SettingsError::Config(config)) => {
            assert_eq!(config.code(), "config_write");
        }
        other => panic!("{other:?}"),
    }
    let source = e.source().expect("the IO error is the source");
    assert!(
        source.downcast_ref::<std::io::Error>().is_some(),
        "{source:?}"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn a_state_store_that_cannot_open_is_state_with_sqlites_error_as_source() {
    let dir = tempfile::tempdir().unwrap();
    // A folder where the store's file should be.
    let config = EngineConfig::new(dir.path(), no_clients());
    let e = Engine::start(config, Vec::new()).await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "the state store {} cannot be opened: ",
            dir.path().display()
        )),
        "{text}"
    );
    assert!(
        text.ends_with("; check the folder's permissions and free space"),
        "{text}"
    );
    assert_eq!(
        json(&e),
        serde_json::json!({"code": "state", "message": text})
    );
    match &e {
        EngineError::State(StateFailure::Store(store)) => assert!(
            matches!(**store, sync_engine::state::StateError::Open { .. }),
            "{store:?}"
        ),
        other => panic!("{other:?}"),
    }
    let source = e.source().expect("SQLite's error is the source");
    assert!(
        source.downcast_ref::<rusqlite::Error>().is_some(),
        "{source:?}"
    );
}

#[tokio::test]
async fn a_client_that_cannot_be_made_is_client_with_its_explanation() {
    let folder = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut mapping = FolderMapping::new("docs", folder.path(), "org", "src");
    mapping.watch = false;
    let mut config = EngineConfig::new(state.path().join("state.db"), no_clients());
    config.scheduled_runs = false;
    let engine = Engine::start(config, vec![mapping]).await.unwrap();
    let e = engine.sync_now("docs").await.unwrap_err();
    let cause = coveo_push::Endpoint::custom("not a url").unwrap_err();
    assert_eq!(e.to_string(), cause.explanation());
    assert_eq!(
        json(&e),
        serde_json::json!({"code": "client", "message": cause.explanation()})
    );
    assert_eq!(e.code(), "client");
    match &e {
        EngineError::Client(client) => {
            assert_eq!(client.error().explanation(), cause.explanation())
        }
        other => panic!("{other:?}"),
    }
    let source = e.source().expect("the client's error is the source");
    assert!(
        source.downcast_ref::<coveo_push::Error>().is_some(),
        "{source:?}"
    );
    // The folder needs attention, in the same words.
    let status = engine.status().await.unwrap();
    assert_eq!(
        status[0].state,
        sync_engine::engine::FolderState::NeedsAttention {
            problems: vec![cause.explanation()]
        }
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn a_folder_setting_that_does_not_compile_is_invalid_config_in_its_own_words() {
    let folder = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let mut mapping = FolderMapping::new("docs", folder.path(), "org", "src");
    mapping.filters = vec!["*.pdf".into()];
    let e = preview(&state.path().join("state.db"), &mapping)
        .await
        .unwrap_err();
    let want = "filter \"*.pdf\" does not start with \"+ \" (include) or \"- \" (exclude)";
    assert_eq!(e.to_string(), want);
    assert_eq!(
        json(&e),
        serde_json::json!({"code": "invalid_config", "message": want})
    );
    assert!(
        matches!(e, EngineError::InvalidConfig(SettingsError::Filters(_))),
        "{e:?}"
    );

    let mut mapping = FolderMapping::new("docs", folder.path(), "org", "src");
    mapping.provider = Some("p".into());
    mapping.identities = Some(folder.path().join("missing.json"));
    let e = preview(&state.path().join("state.db"), &mapping)
        .await
        .unwrap_err();
    assert!(
        matches!(e, EngineError::InvalidConfig(SettingsError::Identities(_))),
        "{e:?}"
    );
    assert!(e.to_string().contains("missing.json"), "{e}");
}
