//! A small recording HTTP server for tests: answers like the Push API (and a file container
//! store) by default, can be scripted per path, and records every request it receives.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use coveo_push::{
    ApiKey, ClientConfig, Endpoint, FixedJitter, ManualClock, ProxyConfig, PushClient, RetryPolicy,
};
use futures::StreamExt;

/// Bodies longer than this are counted, not kept.
const KEEP_BODY_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub raw_query: Option<String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub body_len: u64,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body of {} {} is not JSON: {e}", self.method, self.path))
    }
    pub fn query_pairs(&self) -> Vec<(&str, &str)> {
        self.query
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn new(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.to_string(),
        }
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }
}

#[derive(Default)]
pub(crate) struct ServerState {
    url: String,
    recorded: Vec<Recorded>,
    script: VecDeque<(String, Reply)>,
    files: u64,
}

#[derive(Clone)]
pub struct Server {
    pub url: String,
    pub(crate) state: Arc<Mutex<ServerState>>,
}

pub const API_KEY: &str = "xx-test-secret-key";

impl Server {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(ServerState::default()));
        let app = Router::new()
            .fallback(handle)
            .layer(DefaultBodyLimit::disable())
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        state.lock().unwrap().url = url.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, state }
    }

    /// The next request whose path contains `path_part` gets `reply` (FIFO).
    pub fn script(&self, path_part: &str, reply: Reply) {
        self.state
            .lock()
            .unwrap()
            .script
            .push_back((path_part.to_string(), reply));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().recorded.clone()
    }

    pub fn clear(&self) {
        self.state.lock().unwrap().recorded.clear();
    }

    /// A client for this server with a manual clock and full (1.0) jitter.
    pub fn client(&self) -> (PushClient, ManualClock) {
        let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        let retry = RetryPolicy::default()
            .with_clock(Arc::new(clock.clone()))
            .with_jitter(Arc::new(FixedJitter(1.0)));
        let config = ClientConfig::new("my-org", ApiKey::new(API_KEY))
            .with_endpoint(Endpoint::custom(&self.url).unwrap())
            .with_proxy(ProxyConfig::Direct)
            .with_retry(retry);
        (PushClient::new(config).unwrap(), clock)
    }
}

fn container_json(url: &str, n: u64) -> String {
    serde_json::json!({
        "uploadUri": format!("{url}/upload/file-{n}?X-Amz-Signature=abc"),
        "fileId": format!("file-{n}"),
        "requiredHeaders": {"x-amz-server-side-encryption": "AES256", "Content-Type": "application/octet-stream"}
    })
    .to_string()
}

async fn handle(
    State(state): State<Arc<Mutex<ServerState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut stream = body.into_data_stream();
    let mut kept = Vec::new();
    let mut len = 0u64;
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else { break };
        len += chunk.len() as u64;
        if kept.len() < KEEP_BODY_BYTES {
            kept.extend_from_slice(&chunk);
        }
    }
    let path = uri.path().to_string();
    let query: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let mut s = state.lock().unwrap();
    s.recorded.push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        query,
        raw_query: uri.query().map(str::to_string),
        headers,
        body: kept,
        body_len: len,
    });
    if let Some(i) = s.script.iter().position(|(p, _)| path.contains(p.as_str())) {
        let (_, reply) = s.script.remove(i).unwrap();
        let mut resp = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
        for (k, v) in reply.headers {
            resp.headers_mut().insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                axum::http::HeaderValue::from_str(&v).unwrap(),
            );
        }
        return resp;
    }
    let json = |status: StatusCode, body: String| {
        (status, [("content-type", "application/json")], body).into_response()
    };
    if method == Method::POST && path.ends_with("/files") {
        s.files += 1;
        return json(StatusCode::CREATED, container_json(&s.url, s.files));
    }
    if path.starts_with("/upload/") {
        return StatusCode::OK.into_response();
    }
    if path.ends_with("/stream/open") {
        s.files += 1;
        let mut v: serde_json::Value =
            serde_json::from_str(&container_json(&s.url, s.files)).unwrap();
        v["streamId"] = "stream-1".into();
        return json(StatusCode::CREATED, v.to_string());
    }
    if path.ends_with("/chunk") {
        s.files += 1;
        return json(StatusCode::OK, container_json(&s.url, s.files));
    }
    if path.ends_with("/close")
        || path.ends_with("/stream/update")
        || path.ends_with("/stream/merge")
    {
        return json(
            StatusCode::OK,
            r#"{"orderingId":1700000000000,"requestId":"req-1"}"#.into(),
        );
    }
    if path.starts_with("/rest/") {
        if method == Method::GET && path.contains("/sources/") {
            let id = path.rsplit('/').next().unwrap_or("");
            return json(StatusCode::OK, serde_json::json!({"id": id, "name": "Docs", "sourceType": "PUSH", "pushEnabled": true, "sourceVisibility": "SECURED"}).to_string());
        }
        if method == Method::POST && path.ends_with("/sources") {
            return json(
                StatusCode::CREATED,
                r#"{"id":"my-org-newsource","name":"Docs","sourceType":"PUSH","pushEnabled":true}"#
                    .into(),
            );
        }
        if path.ends_with("/indexes/page/fields") {
            return json(StatusCode::OK, r#"{"items":[{"name":"title","type":"STRING"},{"name":"Dept","type":"STRING"}],"totalPages":1,"totalEntries":2}"#.into());
        }
        return json(StatusCode::CREATED, "{}".into());
    }
    if path.ends_with("/status") {
        return json(StatusCode::CREATED, "{}".into());
    }
    StatusCode::ACCEPTED.into_response()
}
