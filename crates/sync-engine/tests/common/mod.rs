//! Shared helpers of the integration tests: a real emulator over a socket, real temp folders,
//! a real SQLite state store.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use coveo_push::{ApiKey, ClientConfig, Endpoint, PushClient, RetryPolicy};
use push_emulator::{Emulator, EmulatorConfig};
use sha2::{Digest, Sha256};
use sync_engine::config::FolderMapping;
use sync_engine::engine::{ClientFactory, Engine, EngineConfig, EngineHandle};

pub struct Env {
    pub emu: Emulator,
    pub folder: tempfile::TempDir,
    pub state: tempfile::TempDir,
}

pub fn retry_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 8,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        max_elapsed: Duration::from_secs(20),
        ..Default::default()
    }
}

pub fn client_for(url: &str, key: &str, org: &str) -> Result<PushClient, coveo_push::Error> {
    let endpoint = Endpoint::custom(url)?;
    PushClient::new(
        ClientConfig::new(org, ApiKey::new(key))
            .with_endpoint(endpoint)
            .with_retry(retry_policy()),
    )
}

impl Env {
    pub async fn start() -> Self {
        Self::start_with(EmulatorConfig::default()).await
    }

    pub async fn start_with(config: EmulatorConfig) -> Self {
        let emu = Emulator::start(config).await.expect("emulator starts");
        Self {
            emu,
            folder: tempfile::tempdir().unwrap(),
            state: tempfile::tempdir().unwrap(),
        }
    }

    pub fn root(&self) -> &Path {
        self.folder.path()
    }

    pub fn state_path(&self) -> PathBuf {
        self.state.path().join("state.db")
    }

    pub fn mapping(&self) -> FolderMapping {
        let mut m = FolderMapping::new("docs", self.root(), "sandbox", "documents");
        m.provider = Some("sandbox".into());
        m.watch = false;
        m
    }

    pub fn clients(&self) -> ClientFactory {
        let url = self.emu.url().to_string();
        let key = self.emu.api_key().to_string();
        Arc::new(move |m: &FolderMapping| client_for(&url, &key, &m.organization))
    }

    pub fn engine_config(&self) -> EngineConfig {
        let mut c = EngineConfig::new(self.state_path(), self.clients());
        c.seed = 7;
        c.poll_source_logs = false;
        c.execute.rebuild_queue_delay_minutes = 0;
        c.watch_debounce = Duration::from_millis(50);
        c
    }

    pub async fn engine(&self, mapping: FolderMapping) -> EngineHandle {
        Engine::start(self.engine_config(), vec![mapping])
            .await
            .expect("engine starts")
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let p = self.root().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    /// documentId -> content sha256 of the items the emulator holds (after processing).
    pub async fn emulator_items(&self) -> BTreeMap<String, serde_json::Value> {
        self.emu.drain().await;
        let url = format!(
            "{}/_emulator/v1/organizations/sandbox/sources/documents/items",
            self.emu.url()
        );
        let body: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["documentId"].as_str().unwrap().to_string(), i.clone()))
            .collect()
    }

    pub async fn emulator_hashes(&self) -> BTreeMap<String, String> {
        self.emulator_items()
            .await
            .into_iter()
            .map(|(k, v)| (k, v["contentSha256"].as_str().unwrap_or("").to_string()))
            .collect()
    }

    /// documentId -> sha256 of every file under the folder (what the emulator must hold).
    pub fn folder_hashes(&self) -> BTreeMap<String, String> {
        folder_hashes(self.root())
    }

    pub async fn requests(&self) -> Vec<serde_json::Value> {
        let url = format!("{}/_emulator/v1/requests", self.emu.url());
        let body: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
        body["requests"].as_array().cloned().unwrap_or_default()
    }

    pub async fn set_faults(&self, faults: serde_json::Value) {
        let url = format!("{}/_emulator/v1/faults", self.emu.url());
        let r = reqwest::Client::new()
            .post(&url)
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "setting faults: {}", r.status());
    }
}

pub fn folder_hashes(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .build()
    {
        let entry = entry.unwrap();
        if entry.file_type().is_some_and(|t| t.is_file()) {
            let rel = entry
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            if rel.ends_with(".tmp") {
                continue;
            }
            let id = sync_engine::plan::document_id(root, &rel);
            let bytes = std::fs::read(entry.path()).unwrap();
            out.insert(id, hex::encode(Sha256::digest(&bytes)));
        }
    }
    out
}
