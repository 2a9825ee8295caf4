//! Source Logs API: `/logs/v1/organizations/{org}` (POST, and the deprecated GET), `/facets`
//! and `/facetsStats` (POST).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::{authorize, read_body, ApiResult, Params, Privilege, Shd, SINGLE_REQUEST_LIMIT};
use crate::clock::parse_rfc3339_ms;
use crate::error::ApiError;
use crate::json::parse_strict;
use crate::Shared;

/// Default page size of the Source Logs API.
const LOGS_PER_PAGE: usize = 100;

fn list_param(v: Option<&Value>) -> Option<Vec<String>> {
    v.and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|x| x.as_str().map(str::to_ascii_uppercase))
            .collect()
    })
}

#[derive(Debug, Default)]
struct LogFilter {
    from: i64,
    to: i64,
    document_id: Option<String>,
    matching: String,
    include: HashMap<&'static str, Vec<String>>,
    exclude: HashMap<&'static str, Vec<String>>,
    page: usize,
    per_page: usize,
}

fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    fn go(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => (1..=t.len()).any(|i| go(&p[1..], &t[i..])),
            Some('?') => !t.is_empty() && go(&p[1..], &t[1..]),
            Some(c) => t.first() == Some(c) && go(&p[1..], &t[1..]),
        }
    }
    go(&p, &t)
}

fn log_filter(q: &HashMap<String, String>) -> Result<LogFilter, ApiError> {
    let time = |name: &str| -> Result<i64, ApiError> {
        let text = q.get(name).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "MISSING_PARAMETER",
                format!("The {name} query parameter (a W3C date-time) is required."),
            )
        })?;
        parse_rfc3339_ms(text).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_PARAMETER",
                format!("{name} {text:?} is not a W3C date-time like 2018-05-22T23:36:30.589Z"),
            )
        })
    };
    Ok(LogFilter {
        from: time("from")?,
        to: time("to")?,
        document_id: q.get("documentId").cloned(),
        matching: q
            .get("documentIdMatching")
            .map(|m| m.to_ascii_uppercase())
            .unwrap_or_else(|| "EXACT".into()),
        page: q.get("page").and_then(|v| v.parse().ok()).unwrap_or(0),
        per_page: q
            .get("perPage")
            .and_then(|v| v.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(LOGS_PER_PAGE),
        ..LogFilter::default()
    })
}

fn log_field<'a>(e: &'a crate::state::LogEntry, k: &str) -> &'a str {
    match k {
        "operations" => &e.operation,
        "results" => &e.result,
        "tasks" => &e.task,
        "sourceIds" => &e.source_id,
        _ => &e.resource_id,
    }
}

fn matching_entries<'a>(
    state: &'a crate::state::State,
    org: &str,
    f: &LogFilter,
) -> Result<Vec<&'a crate::state::LogEntry>, ApiError> {
    if !state.orgs.contains_key(org) {
        return Err(ApiError::organization_not_found(org));
    }
    Ok(state
        .logs
        .iter()
        .filter(|e| e.organization_id == org && e.ms >= f.from && e.ms <= f.to)
        .filter(|e| match &f.document_id {
            None => true,
            Some(d) => match f.matching.as_str() {
                "PARTIAL" => e.id.contains(d.as_str()),
                "WILDCARD" => wildcard_match(d, &e.id),
                _ => e.id == *d,
            },
        })
        .filter(|e| {
            f.include.iter().all(|(k, vals)| {
                vals.is_empty() || vals.iter().any(|v| v.eq_ignore_ascii_case(log_field(e, k)))
            })
        })
        .filter(|e| {
            f.exclude
                .iter()
                .all(|(k, vals)| !vals.iter().any(|v| v.eq_ignore_ascii_case(log_field(e, k))))
        })
        .collect())
}

fn run_log_query(s: &Shared, org: &str, f: &LogFilter) -> Result<Value, ApiError> {
    let state = s.lock_state();
    let matching = matching_entries(&state, org, f)?;
    let start = f.page * f.per_page;
    let page: Vec<&crate::state::LogEntry> = matching
        .iter()
        .skip(start)
        .take(f.per_page)
        .copied()
        .collect();
    let has_next = matching.len() > start + page.len();
    Ok(json!({"documentLogEntries": page, "hasNextPage": has_next}))
}

/// Reads the `GetLogsOrFacetsRequestBodyModel` filters of a POST body (empty means none).
fn body_filters(f: &mut LogFilter, bytes: &[u8]) -> Result<(), ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let v = parse_strict(bytes)
        .map_err(|e| ApiError::invalid_json(format!("the body is not valid JSON: {e}")))?;
    for (key, inc, exc) in [
        ("operations", "operations", "excludeOperations"),
        ("results", "results", "excludeResults"),
        ("tasks", "tasks", "excludeTasks"),
        ("sourceIds", "sourcesIds", "excludeSourceIds"),
        ("resourceIds", "resourceIds", "excludeResourceIds"),
    ] {
        let include = list_param(v.get(inc)).or_else(|| {
            (key == "sourceIds")
                .then(|| list_param(v.get("sourceIds")))
                .flatten()
        });
        if let Some(list) = include {
            f.include.insert(key, list);
        }
        if let Some(list) = list_param(v.get(exc)) {
            f.exclude.insert(key, list);
        }
    }
    Ok(())
}

/// `POST /logs/v1/organizations/{org}/facets` (distinct values) and `/facetsStats` (counts).
async fn log_facets(
    s: Arc<Shared>,
    org: String,
    q: HashMap<String, String>,
    headers: HeaderMap,
    body: Body,
    counts: bool,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Items)?;
    let mut f = log_filter(&q)?;
    let bytes = read_body(&headers, body, SINGLE_REQUEST_LIMIT).await?;
    body_filters(&mut f, &bytes)?;
    let state = s.lock_state();
    let matching = matching_entries(&state, &org, &f)?;
    let mut out = serde_json::Map::new();
    for key in ["operations", "resourceIds", "results", "sourceIds", "tasks"] {
        let mut tally: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
        for e in &matching {
            *tally.entry(log_field(e, key)).or_default() += 1;
        }
        let v = if counts {
            json!(tally)
        } else {
            json!(tally.keys().collect::<Vec<_>>())
        };
        out.insert(key.to_owned(), v);
    }
    Ok(Json(Value::Object(out)).into_response())
}

pub(super) async fn logs_facets(
    State(s): Shd,
    Path(org): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    log_facets(s, org, q, headers, body, false).await
}

pub(super) async fn logs_facets_stats(
    State(s): Shd,
    Path(org): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    log_facets(s, org, q, headers, body, true).await
}

pub(super) async fn logs(
    State(s): Shd,
    Path(org): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Items)?;
    let mut f = log_filter(&q)?;
    let bytes = read_body(&headers, body, SINGLE_REQUEST_LIMIT).await?;
    body_filters(&mut f, &bytes)?;
    Ok(Json(run_log_query(&s, &org, &f)?).into_response())
}

pub(super) async fn logs_deprecated(
    State(s): Shd,
    Path(org): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Items)?;
    let mut f = log_filter(&q)?;
    for (key, param) in [
        ("operations", "operations"),
        ("results", "results"),
        ("tasks", "tasks"),
        ("sourceIds", "sourceId"),
    ] {
        if let Some(v) = q.get(param) {
            f.include.insert(
                key,
                v.split(',')
                    .map(|x| x.trim().to_ascii_uppercase())
                    .collect(),
            );
        }
    }
    Ok(Json(run_log_query(&s, &org, &f)?).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_the_source_logs_api() {
        assert!(wildcard_match("file:///*.pdf", "file:///a/b.pdf"));
        assert!(wildcard_match("file:///?.txt", "file:///a.txt"));
        assert!(!wildcard_match("file:///?.txt", "file:///ab.txt"));
        assert!(!wildcard_match("*.pdf", "a.pdfx"));
    }
}
