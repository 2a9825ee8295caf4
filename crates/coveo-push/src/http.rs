//! The one place requests are sent: authorization, timeouts, error classification and the
//! retry loop.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;

use bytes::Bytes;
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER,
};
use reqwest::Method;

use crate::config::{ClientConfig, ProxyConfig};
use crate::encode::UploadSource;
use crate::error::{Error, ErrorKind, Subject};
use crate::progress::{ProgressEvent, ProgressSink};
use crate::retry::parse_retry_after;

/// Read size of streamed uploads: large enough for few syscalls, small enough to keep memory
/// flat (a 1 GB upload holds a handful of these at once).
const UPLOAD_CHUNK_BYTES: usize = 256 * 1024;

/// Builds the reqwest client: rustls with the platform's CA store (plus Mozilla's roots as a
/// fallback), TCP_NODELAY, timeouts, and the proxy choice.
pub(crate) fn build_http(config: &ClientConfig) -> Result<reqwest::Client, Error> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tcp_nodelay(true)
        .connect_timeout(config.connect_timeout)
        .user_agent(config.user_agent.clone());
    match &config.proxy {
        ProxyConfig::System => {}
        ProxyConfig::Direct => builder = builder.no_proxy(),
        ProxyConfig::Explicit { url, no_proxy } => {
            let proxy = reqwest::Proxy::all(url.as_str())
                .map_err(|e| {
                    Error::invalid_input(format!("the proxy URL {url:?} is not valid ({e})"))
                })?
                .no_proxy(no_proxy.as_deref().and_then(reqwest::NoProxy::from_string));
            builder = builder.proxy(proxy);
        }
    }
    builder.build().map_err(|e| {
        Error::new(
            ErrorKind::Transport { timed_out: false },
            "start HTTP client",
            e.to_string(),
        )
    })
}

/// A request body.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    None,
    /// JSON, sent with `Content-Type: application/json`.
    Json(Bytes),
    /// An upload of known length; headers come from the request.
    Upload {
        source: UploadSource,
        len: u64,
    },
}

/// One logical request (retried as a whole).
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: Method,
    pub url: String,
    pub query: Vec<(&'static str, String)>,
    pub body: Body,
    /// Send `Authorization: Bearer` (false for file container uploads).
    pub auth: bool,
    pub headers: BTreeMap<String, String>,
    /// Human name of the operation, for errors and events.
    pub operation: String,
    /// Whether a transport failure after the request may have reached the server can be
    /// retried: true for PUT/DELETE and for POSTs whose replay is harmless (a new file
    /// container, a source status); false where a replay would create a second thing (a
    /// source, a provider, fields, a stream) or act twice (closing a stream). For those, only
    /// answers that say the server did not act (429, 503) are retried; a 500/502/504 may hide
    /// a completed action.
    pub idempotent: bool,
}

impl Request {
    pub(crate) fn new(method: Method, url: String, operation: impl Into<String>) -> Self {
        Self {
            method,
            url,
            query: Vec::new(),
            body: Body::None,
            auth: true,
            headers: BTreeMap::new(),
            operation: operation.into(),
            idempotent: true,
        }
    }

    pub(crate) fn query(mut self, key: &'static str, value: impl ToString) -> Self {
        self.query.push((key, value.to_string()));
        self
    }

    pub(crate) fn query_opt(self, key: &'static str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.query(key, v),
            None => self,
        }
    }

    pub(crate) fn json(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Body::Json(body.into());
        self
    }

    pub(crate) fn not_idempotent(mut self) -> Self {
        self.idempotent = false;
        self
    }
}

/// A successful response.
#[derive(Debug)]
pub(crate) struct Response {
    #[allow(dead_code)]
    pub status: u16,
    pub body: Bytes,
}

impl Response {
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self, operation: &str) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::new(
                ErrorKind::ServerError {
                    status: self.status,
                },
                operation,
                format!("the answer was not the JSON expected ({e})"),
            )
        })
    }
}

/// An HTTP-date in its preferred form, IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, what
/// servers send in `Date`), read with `time`'s RFC 2822 parser (a superset). The two obsolete
/// forms (RFC 850, asctime) are not read: a `Date` in them is simply not measured.
pub(crate) fn parse_http_date(value: &str) -> Option<SystemTime> {
    time::OffsetDateTime::parse(value.trim(), &time::format_description::well_known::Rfc2822)
        .ok()
        .map(SystemTime::from)
}

/// The service's clock as the `Date` headers of its answers tell it: the offset from our
/// clock (the retry policy's, injectable) measured at the last answer that carried one.
///
/// Only answers of Coveo's APIs count (requests sent with the API key), whatever their status:
/// file container uploads go to another service (Amazon S3 in production) whose clock is not
/// the one that judges orderingIds.
#[derive(Debug)]
pub(crate) struct ServiceClock {
    /// The service's clock minus ours, in ms; [`ServiceClock::UNMEASURED`] before any answer.
    skew_ms: AtomicI64,
}

impl ServiceClock {
    const UNMEASURED: i64 = i64::MIN;

    pub(crate) fn new() -> Self {
        Self {
            skew_ms: AtomicI64::new(Self::UNMEASURED),
        }
    }

    /// Records an answer's `Date` against our clock's `local_now` at receipt.
    pub(crate) fn record(&self, date: SystemTime, local_now: SystemTime) {
        let skew = millis_between(local_now, date).max(Self::UNMEASURED + 1);
        self.skew_ms.store(skew, Ordering::Relaxed);
    }

    /// The last measured offset (ms, positive when the service is ahead), if any.
    pub(crate) fn skew_ms(&self) -> Option<i64> {
        let skew = self.skew_ms.load(Ordering::Relaxed);
        (skew != Self::UNMEASURED).then_some(skew)
    }
}

/// `to - from` in ms (negative when `to` is earlier).
pub(crate) fn millis_between(from: SystemTime, to: SystemTime) -> i64 {
    match to.duration_since(from) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// Sends `req`, retrying per the policy; every answer's `Date` goes to `service_clock`.
pub(crate) async fn send(
    http: &reqwest::Client,
    config: &ClientConfig,
    progress: Option<&ProgressSink>,
    service_clock: &ServiceClock,
    req: &Request,
) -> Result<Response, Error> {
    let policy = &config.retry;
    let started = policy.clock.now();
    let mut attempt: u32 = 1;
    loop {
        let err = match send_once(http, config, service_clock, req).await {
            Ok(r) => return Ok(r),
            Err(e) => e,
        };
        let retryable = match err.kind() {
            ErrorKind::Transport { .. } => req.idempotent || err.connect_failed,
            ErrorKind::ServerError { status } if !req.idempotent => *status == 503,
            kind => kind.is_retryable(),
        };
        let err = err.error;
        if !retryable || attempt >= policy.max_attempts.max(1) {
            return Err(err);
        }
        // The service's own Retry-After wins (429, and 503 when it sends one).
        let wait = err
            .retry_after()
            .unwrap_or_else(|| policy.backoff(attempt - 1));
        let elapsed = policy
            .clock
            .now()
            .duration_since(started)
            .unwrap_or(Duration::ZERO);
        if elapsed + wait > policy.max_elapsed {
            return Err(err);
        }
        tracing::debug!(operation = %req.operation, attempt, wait_ms = wait.as_millis() as u64, error = %err, "retrying");
        if let Some(sink) = progress {
            sink(ProgressEvent::RetryWaiting {
                operation: req.operation.clone(),
                attempt: attempt + 1,
                wait,
                reason: err.to_string(),
            });
        }
        policy.clock.sleep(wait).await;
        attempt += 1;
    }
}

struct AttemptError {
    error: Error,
    /// The connection was never established, so the server cannot have seen the request.
    connect_failed: bool,
}

impl AttemptError {
    fn kind(&self) -> &ErrorKind {
        self.error.kind()
    }
}

async fn send_once(
    http: &reqwest::Client,
    config: &ClientConfig,
    service_clock: &ServiceClock,
    req: &Request,
) -> Result<Response, AttemptError> {
    let op = req.operation.as_str();
    let mut builder = http.request(req.method.clone(), &req.url);
    if !req.query.is_empty() {
        builder = builder.query(&req.query);
    }
    let mut headers = HeaderMap::new();
    if req.auth {
        let value = HeaderValue::from_str(&format!("Bearer {}", config.api_key.expose())).map_err(
            |_| AttemptError {
                error: Error::invalid_input(
                    "the API key contains characters that cannot be sent in a header",
                ),
                connect_failed: false,
            },
        )?;
        let mut value = value;
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
    }
    for (k, v) in &req.headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) else {
            return Err(AttemptError {
                error: Error::new(
                    ErrorKind::ServerError { status: 200 },
                    op,
                    format!("the service asked for an invalid header {k:?}"),
                ),
                connect_failed: false,
            });
        };
        headers.insert(name, value);
    }
    let mut upload_progress: Option<(Instant, Arc<AtomicU64>)> = None;
    match &req.body {
        Body::None => {}
        Body::Json(bytes) => {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            builder = builder.body(bytes.clone());
        }
        Body::Upload { source, len } => {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(*len));
            let stream: futures::stream::BoxStream<'static, std::io::Result<Bytes>> = match source {
                UploadSource::Memory(bytes) => {
                    let bytes = bytes.clone();
                    let chunks = (0..bytes.len())
                        .step_by(UPLOAD_CHUNK_BYTES)
                        .map(move |at| {
                            Ok(bytes.slice(at..(at + UPLOAD_CHUNK_BYTES).min(bytes.len())))
                        })
                        .collect::<Vec<_>>();
                    futures::stream::iter(chunks).boxed()
                }
                other => {
                    let path = other.path().map(|p| p.to_path_buf()).unwrap_or_default();
                    let file = tokio::fs::File::open(&path)
                        .await
                        .map_err(|e| AttemptError {
                            error: Error::local_file(&path, e).with_operation(op),
                            connect_failed: false,
                        })?;
                    tokio_util::io::ReaderStream::with_capacity(file, UPLOAD_CHUNK_BYTES).boxed()
                }
            };
            // Stall watchdog: uploads have no total timeout (a large batch on a slow uplink
            // takes minutes), but they fail when no chunk was taken for `read_timeout`.
            let started = Instant::now();
            let last = Arc::new(AtomicU64::new(0));
            let seen = last.clone();
            let stream = stream.inspect(move |_| {
                seen.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
            });
            builder = builder.body(reqwest::Body::wrap_stream(stream));
            upload_progress = Some((started, last));
        }
    }
    if !matches!(req.body, Body::Upload { .. }) {
        builder = builder.timeout(config.request_timeout);
    }
    let send = builder.headers(headers).send();
    let stalled = |secs: f64| AttemptError {
        error: Error::new(
            ErrorKind::Transport { timed_out: true },
            op,
            format!("the connection stalled: nothing moved for {secs:.1} s"),
        ),
        connect_failed: false,
    };
    let response = match &upload_progress {
        None => send.await,
        Some((started, last)) => {
            tokio::pin!(send);
            let tick = config.read_timeout.min(Duration::from_secs(1)).max(Duration::from_millis(10));
            loop {
                tokio::select! {
                    r = &mut send => break r,
                    _ = tokio::time::sleep(tick) => {
                        let idle = started.elapsed().saturating_sub(Duration::from_millis(last.load(Ordering::Relaxed)));
                        if idle > config.read_timeout {
                            return Err(stalled(config.read_timeout.as_secs_f64()));
                        }
                    }
                }
            }
        }
    }
    .map_err(|e| {
        let connect_failed = e.is_connect();
        AttemptError { error: Error::transport(op, e), connect_failed }
    })?;
    let status = response.status().as_u16();
    if req.auth {
        let date = response
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_http_date);
        if let Some(date) = date {
            service_clock.record(date, config.retry.clock.now());
        }
    }
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, config.retry.clock.now()));
    let body = match tokio::time::timeout(config.read_timeout, response.bytes()).await {
        Ok(r) => r.map_err(|e| AttemptError {
            error: Error::transport(op, e),
            connect_failed: false,
        })?,
        Err(_) => return Err(stalled(config.read_timeout.as_secs_f64())),
    };
    if (200..300).contains(&status) {
        return Ok(Response { status, body });
    }
    let text = String::from_utf8_lossy(&body);
    Err(AttemptError {
        error: Error::from_response(op, status, retry_after, &text)
            .with_subject(Subject::from_url(&req.url)),
        connect_failed: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imf_fixdate_is_read_and_the_skew_kept() {
        let date = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            date,
            SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777)
        );
        assert_eq!(parse_http_date("yesterday"), None);
        let clock = ServiceClock::new();
        assert_eq!(clock.skew_ms(), None);
        clock.record(date, date + Duration::from_millis(1500));
        assert_eq!(clock.skew_ms(), Some(-1500));
        clock.record(date + Duration::from_secs(2), date);
        assert_eq!(clock.skew_ms(), Some(2000));
    }
}
