//! Source Logs: what the indexing pipeline did with each item after the Push API accepted it
//! (`POST /logs/v1/organizations/{org}`; Source Logs Swagger, host `api.cloud.coveo.com`).
//! A 202 only means "queued"; these entries say "indexed" or "rejected, and why".
//!
//! This module builds the request of one page and reads its answer; the client sends it
//! ([`PushClient::source_logs`]).
//!
//! [`PushClient::source_logs`]: crate::client::PushClient::source_logs

use reqwest::Method;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::document::format_date;
use crate::error::Error;
use crate::http::{Request, Response};

/// Entries per page asked of the service. 100 keeps each answer small; the service caps the
/// range of one query at a week anyway.
pub const LOG_PAGE_SIZE: u32 = 100;
/// Pages read by [`PushClient::source_logs`] before it stops (100,000 entries): a bound so a
/// busy organization cannot keep a caller reading forever.
///
/// [`PushClient::source_logs`]: crate::client::PushClient::source_logs
pub const MAX_LOG_PAGES: u32 = 1_000;

/// The operation named in errors.
const OPERATION: &str = "read source logs";

/// Which entries to read. Empty lists mean "any".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    pub from: OffsetDateTime,
    /// At most a week after `from` (the service's rule).
    pub to: OffsetDateTime,
    pub sources: Vec<String>,
    /// `ADD`, `UPDATE`, `DELETE`, `DELETE_OLDER_THAN`, `BATCH_FILE`, ...
    pub operations: Vec<String>,
    /// `COMPLETED`, `WARNING`, `REJECTED`, `ERROR`, `SKIPPED`.
    pub results: Vec<String>,
    /// `CONSUMING`, `INDEXING`, `MAPPING`, ...
    pub tasks: Vec<String>,
    /// Only the entries of this item (exact URI match).
    pub document_id: Option<String>,
}

impl LogQuery {
    /// Every entry of `source` between `from` and `to`.
    pub fn source(source: impl Into<String>, from: OffsetDateTime, to: OffsetDateTime) -> Self {
        Self {
            from,
            to,
            sources: vec![source.into()],
            operations: Vec::new(),
            results: Vec::new(),
            tasks: Vec::new(),
            document_id: None,
        }
    }
}

/// One indexing pipeline log entry (unknown fields are kept in `meta` or ignored).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    /// The item URI (documentId).
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub datetime: Option<String>,
    #[serde(default)]
    pub operation: String,
    #[serde(default)]
    pub result: String,
    #[serde(default)]
    pub task: String,
    #[serde(default)]
    pub source_id: Option<String>,
    #[serde(default)]
    pub request_id: Option<String>,
    /// Extra facts, e.g. `{"error": "...", "orderingId": 123}`.
    #[serde(default)]
    pub meta: serde_json::Value,
}

impl LogEntry {
    /// The service's reason when the entry is a rejection or an error.
    pub fn error(&self) -> Option<&str> {
        self.meta.get("error").and_then(|v| v.as_str())
    }

    /// The orderingId of the operation, when the entry carries it.
    pub fn ordering_id(&self) -> Option<u64> {
        self.meta.get("orderingId").and_then(|v| v.as_u64())
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    sources_ids: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    operations: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    results: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    tasks: &'a [String],
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    #[serde(default)]
    document_log_entries: Vec<LogEntry>,
    #[serde(default)]
    has_next_page: bool,
}

/// The request for one page of entries; `url` is the organization's Source Logs endpoint
/// (`{push origin}/logs/v1/organizations/{org}`).
pub(crate) fn page_request(
    url: String,
    query: &LogQuery,
    page: u32,
    per_page: u32,
) -> Result<Request, Error> {
    let body = Body {
        sources_ids: &query.sources,
        operations: &query.operations,
        results: &query.results,
        tasks: &query.tasks,
    };
    let body = serde_json::to_vec(&body)
        .map_err(|e| Error::invalid_input(format!("cannot write the log query: {e}")))?;
    Ok(Request::new(Method::POST, url, OPERATION)
        .query("from", format_date(query.from))
        .query("to", format_date(query.to))
        .query("page", page)
        .query("perPage", per_page)
        .query_opt("documentId", query.document_id.as_deref())
        .json(body))
}

/// The entries of one page's answer, and whether another page follows.
pub(crate) fn page_entries(response: &Response) -> Result<(Vec<LogEntry>, bool), Error> {
    let page: Page = response.json(OPERATION)?;
    Ok((page.document_log_entries, page.has_next_page))
}
