//! One error type, classified by what the caller can do about it.
//!
//! The API key never appears here: messages are built from the operation name, the status, and
//! Coveo's `errorCode`/`message`; transport errors are stripped of their URL (file container
//! upload URLs carry signatures).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What went wrong, by meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 401: the API key is missing, unknown, expired or disabled.
    Unauthorized,
    /// 403: the API key lacks a privilege this operation needs.
    Forbidden,
    /// 404 / 412 SOURCE_DOES_NOT_EXIST: the organization, source or provider does not exist.
    NotFound { target: NotFoundTarget },
    /// 429: too many requests; `retry_after` is the wait the service asked for, if it said.
    Throttled { retry_after: Option<Duration> },
    /// 413: a request or file container is larger than the service accepts.
    PayloadTooLarge,
    /// 400/412/415...: the service refused the request as written.
    Rejected {
        error_code: Option<String>,
        message: String,
    },
    /// The organization reached a daily or total item limit (TOO_MANY_DOCUMENTS_DAILY,
    /// DOCUMENT_LIMIT_EXCEEDED).
    QuotaReached { error_code: String },
    /// 5xx, 408: the service failed; usually transient.
    ServerError { status: u16 },
    /// The network failed: DNS, connection refused or dropped, TLS, timeout.
    Transport { timed_out: bool },
    /// The caller's input is invalid (a document, an identity, a setting); nothing was sent.
    InvalidInput,
    /// A file the caller named could not be read.
    LocalFile { path: PathBuf },
    /// The source exists but Pushdeck must not push into it (not a Push source, or managed by
    /// a Coveo product).
    UnsupportedSource { reason: String },
}

/// Which thing was not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotFoundTarget {
    Organization,
    Source,
    Provider,
    FileContainer,
    Other,
}

/// An error from the Push API client. `Display` is one developer-oriented line naming the
/// operation; [`Error::explanation`] is a sentence for a non-developer.
#[derive(Debug)]
pub struct Error {
    /// Boxed so `Result<T, Error>` stays one pointer wide.
    inner: Box<Inner>,
}

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    /// The operation, e.g. "add item file:///a.txt" or "upload file container".
    operation: String,
    status: Option<u16>,
    /// The wait the service asked for (`Retry-After`), on any status.
    retry_after: Option<Duration>,
    detail: String,
    /// What the request named, read from its URL, so that "not found" can say which ID.
    subject: Subject,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// The organization, source and provider IDs a request URL names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Subject {
    organization: Option<String>,
    source: Option<String>,
    provider: Option<String>,
}

impl Subject {
    /// Reads `.../organizations/{org}/sources/{source}/...` and `.../providers/{provider}/...`
    /// from a request URL (percent-decoded).
    pub(crate) fn from_url(url: &str) -> Self {
        let Ok(parsed) = url::Url::parse(url) else {
            return Self::default();
        };
        let segments: Vec<String> = parsed
            .path_segments()
            .map(|s| {
                s.map(|seg| {
                    percent_encoding::percent_decode_str(seg)
                        .decode_utf8_lossy()
                        .into_owned()
                })
                .collect()
            })
            .unwrap_or_default();
        let after = |key: &str| {
            segments
                .iter()
                .position(|s| s == key)
                .and_then(|i| segments.get(i + 1))
                .filter(|s| !s.is_empty())
                .cloned()
        };
        Self {
            organization: after("organizations"),
            source: after("sources"),
            provider: after("providers"),
        }
    }
}

/// ` "id"` when known, else nothing: "the source \"docs\"" or "this source".
fn named(what: &str, id: &Option<String>) -> String {
    match id {
        Some(id) => format!("the {what} \"{id}\""),
        None => format!("this {what}"),
    }
}

impl Error {
    /// An item whose encoding task ended without a result (it panicked or was cancelled).
    pub(crate) fn encoder_stopped(id: &str, cause: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorKind::InvalidInput,
            format!("encode item {id}"),
            format!("the encoder stopped: {cause}"),
        )
    }

    pub(crate) fn new(
        kind: ErrorKind,
        operation: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                operation: operation.into(),
                status: None,
                retry_after: None,
                detail: detail.into(),
                subject: Subject::default(),
                source: None,
            }),
        }
    }

    pub(crate) fn invalid_input(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, "check input", detail)
    }

    pub(crate) fn local_file(path: &Path, err: std::io::Error) -> Self {
        let detail = format!("cannot read {}: {err}", path.display());
        Self::new(
            ErrorKind::LocalFile {
                path: path.to_path_buf(),
            },
            "read file",
            detail,
        )
        .with_source(err)
    }

    /// A file whose size or modification time changed while it was read (see
    /// [`changed_while_read`](crate::changed_while_read)): its content is not sent.
    pub(crate) fn changed_while_read(path: &Path) -> Self {
        Self::new(
            ErrorKind::LocalFile {
                path: path.to_path_buf(),
            },
            "read file",
            format!(
                "{} changed while it was read (it is still being written?); it is sent once it is stable",
                path.display()
            ),
        )
    }

    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.inner.status = Some(status);
        self
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// Records the IDs the request URL names, for "not found" explanations.
    pub(crate) fn with_subject(mut self, subject: Subject) -> Self {
        self.inner.subject = subject;
        self
    }

    pub(crate) fn with_operation(mut self, operation: impl Into<String>) -> Self {
        self.inner.operation = operation.into();
        self
    }

    /// From a reqwest failure (no response). The URL is removed from the message.
    pub(crate) fn transport(operation: &str, err: reqwest::Error) -> Self {
        let timed_out = err.is_timeout();
        let err = err.without_url();
        let mut detail = err.to_string();
        let mut cause = std::error::Error::source(&err);
        while let Some(c) = cause {
            detail.push_str(": ");
            detail.push_str(&c.to_string());
            cause = c.source();
        }
        Self::new(ErrorKind::Transport { timed_out }, operation, detail).with_source(err)
    }

    /// From an HTTP response that is not a success. `body` is Coveo's JSON
    /// `{"errorCode","message"}` when it sent one.
    pub(crate) fn from_response(
        operation: &str,
        status: u16,
        retry_after: Option<Duration>,
        body: &str,
    ) -> Self {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Body {
            error_code: Option<String>,
            message: Option<String>,
        }
        let parsed: Option<Body> = serde_json::from_str(body).ok();
        let (error_code, message) = match parsed {
            Some(b) => (b.error_code, b.message),
            None => (None, None),
        };
        let message = message.unwrap_or_else(|| truncate(body.trim(), 300).to_string());
        let code = error_code.as_deref().unwrap_or("");
        let kind = match (status, code) {
            (_, "TOO_MANY_DOCUMENTS_DAILY" | "DOCUMENT_LIMIT_EXCEEDED") => {
                ErrorKind::QuotaReached {
                    error_code: code.to_string(),
                }
            }
            (401, _) => ErrorKind::Unauthorized,
            (403, _) => ErrorKind::Forbidden,
            (404, "ORGANIZATION_NOT_FOUND") => ErrorKind::NotFound {
                target: NotFoundTarget::Organization,
            },
            (404, c) if c.contains("SOURCE") => ErrorKind::NotFound {
                target: NotFoundTarget::Source,
            },
            (404, c) if c.contains("PROVIDER") => ErrorKind::NotFound {
                target: NotFoundTarget::Provider,
            },
            (404, _) => ErrorKind::NotFound {
                target: NotFoundTarget::Other,
            },
            (412, "SOURCE_DOES_NOT_EXIST") => ErrorKind::NotFound {
                target: NotFoundTarget::Source,
            },
            (408, _) => ErrorKind::ServerError { status },
            (413, _) => ErrorKind::PayloadTooLarge,
            (429, _) => ErrorKind::Throttled { retry_after },
            (500..=599, _) => ErrorKind::ServerError { status },
            _ => ErrorKind::Rejected {
                error_code: error_code.clone(),
                message: message.clone(),
            },
        };
        let detail = match &error_code {
            Some(c) if !message.is_empty() => format!("HTTP {status} {c}: {message}"),
            Some(c) => format!("HTTP {status} {c}"),
            None if !message.is_empty() => format!("HTTP {status}: {message}"),
            None => format!("HTTP {status}"),
        };
        let mut e = Self::new(kind, operation, detail).with_status(status);
        e.inner.retry_after = retry_after;
        e
    }

    /// A copy without the underlying source error (which is not `Clone`).
    pub fn duplicate(&self) -> Error {
        Self {
            inner: Box::new(Inner {
                kind: self.inner.kind.clone(),
                operation: self.inner.operation.clone(),
                status: self.inner.status,
                retry_after: self.inner.retry_after,
                detail: self.inner.detail.clone(),
                subject: self.inner.subject.clone(),
                source: None,
            }),
        }
    }

    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// The wait the service asked for with `Retry-After` (on a 429, or a 503 that sent one).
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// The HTTP status, when the service answered.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// The operation that failed, e.g. "add item https://x/1".
    pub fn operation(&self) -> &str {
        &self.inner.operation
    }

    /// A stable code for UIs and scripts (`unauthorized`, `throttled`, ...).
    pub fn code(&self) -> &'static str {
        match self.inner.kind {
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound { .. } => "not_found",
            ErrorKind::Throttled { .. } => "throttled",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::Rejected { .. } => "rejected",
            ErrorKind::QuotaReached { .. } => "quota_reached",
            ErrorKind::ServerError { .. } => "server_error",
            ErrorKind::Transport { .. } => "transport",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::LocalFile { .. } => "local_file",
            ErrorKind::UnsupportedSource { .. } => "unsupported_source",
        }
    }

    /// Whether trying the same request again later may succeed.
    pub fn is_retryable(&self) -> bool {
        self.inner.kind.is_retryable()
    }

    /// One sentence for a non-developer: what happened and what to do.
    pub fn explanation(&self) -> String {
        match &self.inner.kind {
            ErrorKind::Unauthorized => "Coveo did not accept the API key: it may be mistyped, expired or disabled; create a new key in the Coveo Administration Console and enter it again.".into(),
            ErrorKind::Forbidden => "The API key is valid but lacks a privilege for this action; ask a Coveo administrator to give the key the \"Sources - Edit\" privilege (and \"Security identity providers - Edit\" for identities).".into(),
            ErrorKind::NotFound { target } => match target {
                NotFoundTarget::Organization => format!("Coveo does not know {}; check the organization ID and the region.", named("organization", &self.inner.subject.organization)),
                NotFoundTarget::Source => format!("Coveo does not know {} in {}; check the source ID, or wait a minute if the source was just created.", named("source", &self.inner.subject.source), named("organization", &self.inner.subject.organization)),
                NotFoundTarget::Provider => format!("Coveo does not know {}; check its ID or create it first.", named("security identity provider", &self.inner.subject.provider)),
                NotFoundTarget::FileContainer => "The temporary upload area expired before it was used; the operation can simply be run again.".into(),
                NotFoundTarget::Other => "Coveo could not find what this request refers to; check the organization, source and provider IDs.".into(),
            },
            ErrorKind::Throttled { retry_after: Some(d) } => format!("Coveo asked to slow down (too many requests) and will accept more in about {}; Pushdeck waits that long between its attempts, and a run that still gets this answer can be started again after the wait.", human(*d)),
            ErrorKind::Throttled { retry_after: None } => "Coveo asked to slow down (too many requests); Pushdeck waits longer between its attempts, and a run that still gets this answer can be started again a little later.".into(),
            ErrorKind::PayloadTooLarge => "This item or batch is larger than Coveo accepts; make the file smaller or leave it out.".into(),
            ErrorKind::Rejected { message, .. } => format!("Coveo refused the request as written ({}); check the item or setting it names.", truncate(message, 200)),
            ErrorKind::QuotaReached { .. } => "The organization reached its item limit for now (daily processing or total items); wait until tomorrow or ask Coveo to raise the limit.".into(),
            ErrorKind::ServerError { .. } => "Coveo had a temporary problem on its side; Pushdeck retries by itself, and trying again later usually works.".into(),
            ErrorKind::Transport { timed_out: true } => "Coveo did not answer in time; check the network connection (or proxy) and try again.".into(),
            ErrorKind::Transport { timed_out: false } => "Pushdeck could not reach Coveo; check the network connection, the proxy settings and the region.".into(),
            ErrorKind::InvalidInput => format!("Nothing was sent because the input is not valid: {}.", self.inner.detail),
            ErrorKind::LocalFile { path } => format!("The file {} could not be read; check that it exists and that you may open it.", path.display()),
            ErrorKind::UnsupportedSource { reason } => format!("Pushdeck will not push into this source: {reason}; create a new Push source for Pushdeck instead."),
        }
    }
}

impl ErrorKind {
    /// Whether trying the same request again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Throttled { .. } | Self::ServerError { .. } | Self::Transport { .. }
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.inner.operation, self.inner.detail)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 90 {
        format!("{} seconds", secs.max(1))
    } else if secs < 90 * 60 {
        format!("{} minutes", (secs + 30) / 60)
    } else {
        format!("{} hours", (secs + 1800) / 3600)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(status: u16, body: &str) -> ErrorKind {
        Error::from_response("op", status, None, body)
            .kind()
            .clone()
    }

    #[test]
    fn classification_by_meaning() {
        assert_eq!(
            kind(401, r#"{"errorCode":"INVALID_TOKEN","message":"bad"}"#),
            ErrorKind::Unauthorized
        );
        assert_eq!(kind(403, ""), ErrorKind::Forbidden);
        assert_eq!(
            kind(
                404,
                r#"{"errorCode":"ORGANIZATION_NOT_FOUND","message":"x"}"#
            ),
            ErrorKind::NotFound {
                target: NotFoundTarget::Organization
            }
        );
        assert_eq!(
            kind(
                412,
                r#"{"errorCode":"SOURCE_DOES_NOT_EXIST","message":"x"}"#
            ),
            ErrorKind::NotFound {
                target: NotFoundTarget::Source
            }
        );
        assert_eq!(kind(413, ""), ErrorKind::PayloadTooLarge);
        assert_eq!(
            kind(
                429,
                r#"{"errorCode":"TOO_MANY_DOCUMENTS_DAILY","message":"x"}"#
            ),
            ErrorKind::QuotaReached {
                error_code: "TOO_MANY_DOCUMENTS_DAILY".into()
            }
        );
        assert_eq!(
            kind(
                412,
                r#"{"errorCode":"DOCUMENT_LIMIT_EXCEEDED","message":"x"}"#
            ),
            ErrorKind::QuotaReached {
                error_code: "DOCUMENT_LIMIT_EXCEEDED".into()
            }
        );
        assert_eq!(
            kind(400, r#"{"errorCode":"INVALID_JSON","message":"dup key"}"#),
            ErrorKind::Rejected {
                error_code: Some("INVALID_JSON".into()),
                message: "dup key".into()
            }
        );
        assert_eq!(kind(503, "<html>"), ErrorKind::ServerError { status: 503 });
        assert_eq!(kind(408, ""), ErrorKind::ServerError { status: 408 });
        let throttled = Error::from_response("op", 429, Some(Duration::from_secs(7)), "");
        assert_eq!(
            throttled.kind(),
            &ErrorKind::Throttled {
                retry_after: Some(Duration::from_secs(7))
            }
        );
        assert!(throttled.is_retryable());
        assert!(throttled.explanation().contains("7 seconds"));
        assert!(!Error::from_response("op", 401, None, "").is_retryable());
    }

    #[test]
    fn display_names_operation_and_code() {
        let e = Error::from_response(
            "add item https://x",
            400,
            None,
            r#"{"errorCode":"INVALID_JSON","message":"bad"}"#,
        );
        assert_eq!(
            e.to_string(),
            "add item https://x: HTTP 400 INVALID_JSON: bad"
        );
        assert_eq!(e.code(), "rejected");
        assert!(e.explanation().ends_with('.'));
    }

    #[test]
    fn every_kind_has_a_sentence() {
        let kinds = [
            ErrorKind::Unauthorized,
            ErrorKind::Forbidden,
            ErrorKind::NotFound {
                target: NotFoundTarget::Source,
            },
            ErrorKind::Throttled { retry_after: None },
            ErrorKind::PayloadTooLarge,
            ErrorKind::Rejected {
                error_code: None,
                message: "m".into(),
            },
            ErrorKind::QuotaReached {
                error_code: "X".into(),
            },
            ErrorKind::ServerError { status: 500 },
            ErrorKind::Transport { timed_out: false },
            ErrorKind::InvalidInput,
            ErrorKind::LocalFile { path: "/a".into() },
            ErrorKind::UnsupportedSource { reason: "r".into() },
        ];
        for k in kinds {
            let s = Error::new(k, "op", "d").explanation();
            assert!(s.len() > 20 && s.ends_with('.'), "{s}");
        }
    }

    #[test]
    fn not_found_names_the_ids_from_the_request_url() {
        let subject = Subject::from_url(
            "http://127.0.0.1:1/push/v1/organizations/acme/sources/my%20docs/documents/batch?fileId=x",
        );
        let source = Error::from_response(
            "push batch",
            412,
            None,
            r#"{"errorCode":"SOURCE_DOES_NOT_EXIST","message":""}"#,
        )
        .with_subject(subject);
        let text = source.explanation();
        assert!(text.contains(r#"the source "my docs""#), "{text}");
        assert!(text.contains(r#"the organization "acme""#), "{text}");

        let provider = Error::from_response(
            "put identity",
            404,
            None,
            r#"{"errorCode":"PROVIDER_NOT_FOUND","message":""}"#,
        )
        .with_subject(Subject::from_url(
            "https://api.cloud.coveo.com/push/v1/organizations/acme/providers/hr/permissions",
        ));
        assert!(provider
            .explanation()
            .contains(r#"the security identity provider "hr""#));

        // Without a URL, the sentence still reads well.
        let bare = Error::from_response(
            "op",
            412,
            None,
            r#"{"errorCode":"SOURCE_DOES_NOT_EXIST","message":""}"#,
        );
        assert!(bare
            .explanation()
            .starts_with("Coveo does not know this source in this organization"));
    }
}
