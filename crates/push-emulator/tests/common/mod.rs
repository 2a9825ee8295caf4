//! One helper for the emulator's HTTP tests: a started emulator, a client, and shorthands for
//! the Push API, uploads and inspection. Everything goes over real sockets.

#![allow(dead_code)]

use push_emulator::{Emulator, EmulatorConfig};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub struct T {
    pub emu: Emulator,
    pub http: reqwest::Client,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["errorCode"].as_str().unwrap_or("")
    }
}

impl T {
    pub async fn new() -> Self {
        Self::with(EmulatorConfig::default()).await
    }

    pub async fn with(config: EmulatorConfig) -> Self {
        let emu = Emulator::start(config).await.expect("emulator starts");
        Self {
            emu,
            http: reqwest::Client::new(),
        }
    }

    pub fn push_url(&self, path: &str) -> String {
        format!("{}/push/v1/organizations/sandbox{path}", self.emu.url())
    }

    pub async fn send(&self, method: Method, url: &str, body: Option<Value>) -> Answer {
        let mut req = self
            .http
            .request(method, url)
            .bearer_auth(self.emu.api_key());
        if let Some(b) = body {
            req = req.json(&b);
        }
        Self::answer(req.send().await.expect("request")).await
    }

    pub async fn answer(r: reqwest::Response) -> Answer {
        let status = r.status();
        let headers = r.headers().clone();
        let bytes = r.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    /// `PUT /sources/documents/documents?documentId=ID` with a JSON item.
    pub async fn put_item(&self, id: &str, query: &str, item: Value) -> Answer {
        let url = format!(
            "{}?documentId={}{query}",
            self.push_url("/sources/documents/documents"),
            enc(id)
        );
        self.send(Method::PUT, &url, Some(item)).await
    }

    /// Creates a container, uploads `bytes` with the required headers; returns the fileId.
    pub async fn upload(&self, bytes: Vec<u8>) -> String {
        let c = self
            .send(Method::POST, &self.push_url("/files"), None)
            .await;
        assert_eq!(c.status, StatusCode::CREATED, "{:?}", c.body);
        let uri = c.body["uploadUri"].as_str().unwrap().to_owned();
        let mut req = self.http.put(&uri).body(bytes);
        for (k, v) in c.body["requiredHeaders"].as_object().unwrap() {
            req = req.header(k.as_str(), v.as_str().unwrap());
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        c.body["fileId"].as_str().unwrap().to_owned()
    }

    /// Uploads a batch file and pushes it; returns the answer of the batch PUT.
    pub async fn batch(&self, file: Value, query: &str) -> Answer {
        let id = self.upload(serde_json::to_vec(&file).unwrap()).await;
        let url = format!(
            "{}?fileId={id}{query}",
            self.push_url("/sources/documents/documents/batch")
        );
        self.send(Method::PUT, &url, None).await
    }

    pub async fn inspect(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}/_emulator/v1{path}", self.emu.url()))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// Drains, then returns the live items of sandbox/documents.
    pub async fn items(&self) -> Vec<Value> {
        self.emu.drain().await;
        self.inspect("/organizations/sandbox/sources/documents/items")
            .await["items"]
            .as_array()
            .unwrap()
            .clone()
    }

    pub async fn item(&self, id: &str) -> Option<Value> {
        self.emu.drain().await;
        let r = self
            .http
            .get(format!(
                "{}/_emulator/v1/organizations/sandbox/sources/documents/item?documentId={}",
                self.emu.url(),
                enc(id)
            ))
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::NOT_FOUND {
            return None;
        }
        Some(r.json().await.unwrap())
    }

    /// The Source Logs API entries of the last hour, for one documentId (or all).
    pub async fn logs(&self, document_id: Option<&str>) -> Vec<Value> {
        self.emu.drain().await;
        let mut url = format!(
            "{}/logs/v1/organizations/sandbox?from=2000-01-01T00:00:00.000Z&to=2100-01-01T00:00:00.000Z&perPage=1000",
            self.emu.url()
        );
        if let Some(d) = document_id {
            url.push_str(&format!("&documentId={}", enc(d)));
        }
        let a = self.send(Method::POST, &url, Some(json!({}))).await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        a.body["documentLogEntries"].as_array().unwrap().clone()
    }
}

pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
