//! The routes: Push API, file container uploads, Platform API, Source Logs API, and the
//! inspection API. Handlers check synchronously what the service answers synchronously,
//! journal the operation, and answer 202; the processor does the rest.
//!
//! This file holds the router, the middleware and the checks the route families share; the
//! handlers live in one child module per family (`server/`). The children use what is here and
//! never each other.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use http_body_util::BodyExt;
use serde_json::{json, Value};

use crate::clock::format_ms;
use crate::error::ApiError;
use crate::faults::FaultDecision;
use crate::json::parse_strict;
use crate::net::ConnectionKill;
use crate::processor::{Op, OpKind};
use crate::state::{
    Container, ContainerState, IdentityState, Org, Provider, RequestRecord, Source,
};
use crate::Shared;

mod files;
mod identities;
mod inspection;
mod items;
mod logs;
mod platform;
mod stream;

/// The service's cap on one Push API request (push-api.md §3.4).
pub const SINGLE_REQUEST_LIMIT: usize = 6 * 1024 * 1024;
/// How long a file container accepts an upload and can be referenced (push-api.md §2.3).
pub const CONTAINER_LIFETIME_MS: i64 = 60 * 60 * 1000;

type Shd = State<Arc<Shared>>;
type Params = Query<HashMap<String, String>>;
type ApiResult = Result<Response, ApiError>;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let push = Router::new()
        .route("/files", post(files::create_container))
        .route(
            "/sources/{source}/documents",
            put(items::put_document).delete(items::delete_document),
        )
        .route("/sources/{source}/documents/batch", put(items::put_batch))
        .route(
            "/sources/{source}/documents/olderthan",
            axum::routing::delete(items::delete_older_than),
        )
        .route("/sources/{source}/status", post(items::set_status))
        .route(
            "/providers/{provider}/permissions",
            put(identities::put_identity).delete(identities::delete_identity),
        )
        .route(
            "/providers/{provider}/mappings",
            put(identities::put_mapping),
        )
        .route(
            "/providers/{provider}/permissions/batch",
            put(identities::put_identity_batch),
        )
        .route(
            "/providers/{provider}/permissions/olderthan",
            axum::routing::delete(identities::delete_identities_older_than),
        )
        .route("/sources/{source}/stream/open", post(stream::stream_open))
        .route(
            "/sources/{source}/stream/{stream}/chunk",
            post(stream::stream_chunk),
        )
        .route(
            "/sources/{source}/stream/{stream}/close",
            post(stream::stream_close),
        )
        .route(
            "/sources/{source}/stream/deleteolderthan/{ms}",
            post(stream::stream_delete_older_than),
        )
        .route(
            "/data-collections/{source}/stream/open",
            post(stream::stream_open),
        )
        .route(
            "/data-collections/{source}/stream/{stream}/chunk",
            post(stream::stream_chunk),
        )
        .route(
            "/data-collections/{source}/stream/{stream}/close",
            post(stream::stream_close),
        )
        .route(
            "/data-collections/{source}/stream/deleteolderthan/{ms}",
            post(stream::stream_delete_older_than),
        )
        .route(
            "/sources/{source}/stream/update",
            put(stream::stream_update),
        )
        .route("/sources/{source}/stream/merge", put(stream::stream_update))
        .route(
            "/data-collections/{source}/stream/update",
            put(stream::stream_update),
        )
        .route(
            "/data-collections/{source}/stream/merge",
            put(stream::stream_update),
        );
    let platform = Router::new()
        .route(
            "/sources",
            post(platform::create_source).get(platform::list_sources),
        )
        .route("/sources/pages", get(platform::list_sources_page))
        .route("/sources/{source}", get(platform::get_source))
        .route(
            "/securityproviders",
            post(platform::create_provider).get(platform::list_providers),
        )
        .route(
            "/securityproviders/{provider}",
            put(platform::put_provider).get(platform::get_provider),
        )
        .route("/indexes/fields", get(platform::list_fields))
        .route("/indexes/page/fields", get(platform::list_fields))
        .route(
            "/indexes/fields/batch/create",
            post(platform::create_fields),
        );
    let inspect = Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/organizations", get(inspection::inspect_orgs))
        .route(
            "/organizations/{org}/sources/{source}",
            get(inspection::inspect_source),
        )
        .route(
            "/organizations/{org}/sources/{source}/items",
            get(inspection::inspect_items),
        )
        .route(
            "/organizations/{org}/sources/{source}/item",
            get(inspection::inspect_item),
        )
        .route(
            "/organizations/{org}/sources/{source}/log",
            get(inspection::inspect_log),
        )
        .route(
            "/organizations/{org}/sources/{source}/search",
            get(crate::search::search_as),
        )
        .route(
            "/organizations/{org}/providers/{provider}/identities",
            get(inspection::inspect_identities),
        )
        .route(
            "/organizations/{org}/providers/{provider}/expand",
            get(crate::search::expand),
        )
        .route(
            "/requests",
            get(inspection::inspect_requests).delete(inspection::clear_requests),
        )
        .route(
            "/faults",
            get(inspection::get_faults).post(inspection::set_faults),
        )
        .route("/drain", post(inspection::drain))
        .route(
            "/clock",
            get(inspection::get_clock).post(inspection::advance_clock),
        )
        .route("/containers", get(inspection::inspect_containers))
        .route("/keys", post(inspection::add_key));
    Router::new()
        .nest("/push/v1/organizations/{org}", push)
        .nest("/rest/organizations/{org}", platform)
        .route(
            "/logs/v1/organizations/{org}",
            post(logs::logs).get(logs::logs_deprecated),
        )
        .route(
            "/logs/v1/organizations/{org}/facets",
            post(logs::logs_facets),
        )
        .route(
            "/logs/v1/organizations/{org}/facetsStats",
            post(logs::logs_facets_stats),
        )
        .route("/_emulator/s3/{file_id}", put(files::upload))
        .nest("/_emulator/v1", inspect)
        .fallback(|| async {
            ApiError::not_found(
                "No such route in the emulator; see crates/push-emulator/README.md.",
            )
        })
        .layer(middleware::from_fn_with_state(shared.clone(), faults_layer))
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            request_log_layer,
        ))
        .layer(middleware::from_fn_with_state(shared.clone(), date_layer))
        .with_state(shared)
}

// ---------------------------------------------------------------------------------------------
// Middleware

/// Records every request except the inspection API's own (`/_emulator/v1/...`), so the log
/// shows what clients sent.
async fn request_log_layer(State(shared): Shd, request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/_emulator/v1/") {
        return next.run(request).await;
    }
    let started = Instant::now();
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let headers = request
        .headers()
        .iter()
        .map(|(k, v)| {
            let value = if k == header::AUTHORIZATION {
                "Bearer ****".to_owned()
            } else {
                String::from_utf8_lossy(v.as_bytes()).into_owned()
            };
            (k.as_str().to_owned(), value)
        })
        .collect();
    let counter = Arc::new(AtomicU64::new(0));
    let (parts, body) = request.into_parts();
    let count = counter.clone();
    let body = Body::new(body.map_frame(move |frame| {
        if let Some(data) = frame.data_ref() {
            count.fetch_add(data.len() as u64, Ordering::Relaxed);
        }
        frame
    }));
    let response = next.run(Request::from_parts(parts, body)).await;
    let record = RequestRecord {
        time: format_ms(shared.clock.now_ms()),
        method,
        path,
        query,
        headers,
        body_size: counter.load(Ordering::Relaxed),
        status: response.status().as_u16(),
        duration_ms: started.elapsed().as_millis() as u64,
    };
    shared.lock_state().record_request(record);
    response
}

/// Every answer's `Date` is the emulator's clock (the one `/_emulator/v1/clock` advances), not
/// the machine's: clients measure the service's clock from it, and tests move it.
async fn date_layer(State(shared): Shd, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let date = crate::clock::format_http_date(shared.clock.now_ms());
    if let Ok(value) = header::HeaderValue::from_str(&date) {
        response.headers_mut().insert(header::DATE, value);
    }
    response
}

async fn faults_layer(State(shared): Shd, request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/push/") {
        return next.run(request).await;
    }
    let (decision, latency) = {
        let mut state = shared.lock_state();
        (state.faults.decide(), state.faults.faults.latency_ms)
    };
    if latency > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
    }
    match decision {
        FaultDecision::Pass => next.run(request).await,
        FaultDecision::Throttle { retry_after } => {
            ApiError::too_many_requests(retry_after).into_response()
        }
        FaultDecision::ServerError { status } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            ApiError::new(
                status,
                "SERVICE_UNAVAILABLE",
                "Injected server error (fault injection).",
            )
            .into_response()
        }
        FaultDecision::Drop => {
            if let Some(ConnectInfo(kill)) =
                request.extensions().get::<ConnectInfo<ConnectionKill>>()
            {
                kill.kill();
            }
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared checks

#[derive(Debug, Clone, Copy)]
enum Privilege {
    Items,
    Identities,
    Platform,
}

fn authorize(shared: &Shared, headers: &HeaderMap, privilege: Privilege) -> Result<(), ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(ApiError::unauthorized)?;
    let text = value.to_str().map_err(|_| ApiError::invalid_token())?;
    let key = text
        .strip_prefix("Bearer ")
        .or_else(|| text.strip_prefix("bearer "))
        .ok_or_else(ApiError::invalid_token)?
        .trim();
    if key == shared.api_key {
        return Ok(());
    }
    let state = shared.lock_state();
    let scope = state
        .keys
        .iter()
        .find(|k| k.key == key)
        .ok_or_else(ApiError::invalid_token)?;
    let allowed = match privilege {
        Privilege::Items => scope.items,
        Privilege::Identities => scope.identities,
        Privilege::Platform => scope.platform,
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::access_denied(match privilege {
            Privilege::Items => "edit the items of this source",
            Privilege::Identities => "edit security identities",
            Privilege::Platform => "manage sources, providers and fields",
        }))
    }
}

fn with_org<T>(
    shared: &Shared,
    org: &str,
    f: impl FnOnce(&mut Org) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut state = shared.lock_state();
    let o = state
        .orgs
        .get_mut(org)
        .ok_or_else(|| ApiError::organization_not_found(org))?;
    f(o)
}

fn ensure_source(shared: &Shared, org: &str, source: &str) -> Result<(), ApiError> {
    with_org(shared, org, |o| {
        if o.sources.contains_key(source) {
            Ok(())
        } else {
            Err(ApiError::source_does_not_exist(source))
        }
    })
}

fn ensure_provider(shared: &Shared, org: &str, provider: &str) -> Result<(), ApiError> {
    with_org(shared, org, |o| {
        if o.providers.contains_key(provider) {
            Ok(())
        } else {
            Err(ApiError::provider_does_not_exist(provider))
        }
    })
}

/// The daily item quota and the item limit (fault injection) apply to item writes.
fn item_write_limits(shared: &Shared, org: &str, source: &str) -> Result<(), ApiError> {
    let now = shared.clock.now_ms();
    let state = shared.lock_state();
    let faults = &state.faults.faults;
    let Some(o) = state.orgs.get(org) else {
        return Ok(());
    };
    if let Some(quota) = faults.daily_item_quota {
        let day = now.div_euclid(86_400_000);
        if o.daily_day == day && o.daily_count >= quota {
            let retry_after = ((day + 1) * 86_400_000 - now).max(1000) / 1000;
            return Err(ApiError::too_many_documents_daily(
                quota,
                retry_after as u64,
            ));
        }
    }
    if let Some(limit) = faults.item_limit {
        if o.sources
            .get(source)
            .is_some_and(|s| s.live_items() as u64 >= limit)
        {
            return Err(ApiError::document_limit_exceeded(limit));
        }
    }
    Ok(())
}

fn ordering_id(shared: &Shared, q: &HashMap<String, String>) -> Result<u64, ApiError> {
    match q.get("orderingId") {
        None => Ok(shared.default_ordering_id()),
        Some(text) => text.parse::<u64>().map_err(|_| {
            ApiError::invalid_parameter(format!(
                "orderingId {text:?} is not an unsigned 64-bit integer"
            ))
        }),
    }
}

fn parse_bool(q: &HashMap<String, String>, name: &str) -> Result<bool, ApiError> {
    match q.get(name).map(|s| s.to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if v == "true" => Ok(true),
        Some(v) if v == "false" => Ok(false),
        Some(v) => Err(ApiError::invalid_parameter(format!(
            "{name} must be true or false, not {v:?}"
        ))),
    }
}

fn required<'a>(q: &'a HashMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    q.get(name)
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::missing_parameter(name))
}

/// Reads a body up to `limit` bytes (413 beyond, checked on Content-Length first).
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > limit as u64 {
            return Err(ApiError::too_large(limit as u64));
        }
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::too_large(limit as u64))
}

fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let found = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    match found {
        Some(ct)
            if ct
                .split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")) =>
        {
            Ok(())
        }
        other => Err(ApiError::unsupported_media_type(other)),
    }
}

async fn json_body(headers: &HeaderMap, body: Body) -> Result<Value, ApiError> {
    let bytes = read_body(headers, body, SINGLE_REQUEST_LIMIT).await?;
    require_json(headers)?;
    parse_strict(&bytes)
        .map_err(|e| ApiError::invalid_json(format!("the body is not valid JSON: {e}")))
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, Json(json!({}))).into_response()
}

fn new_op(shared: &Shared, org: &str, ordering_id: u64, kind: OpKind) -> Op {
    Op {
        org: org.to_owned(),
        request_id: uuid::Uuid::new_v4().to_string(),
        ordering_id,
        accepted_ms: shared.clock.now_ms(),
        kind,
        journal_id: None,
        seq: 0,
        accepted_at: None,
    }
}

/// Marks a container as used by an operation: it must exist in this organization, be
/// uploaded, not be expired, and not be used already.
fn consume_container(shared: &Shared, org: &str, file_id: &str) -> Result<(), ApiError> {
    let now = shared.clock.now_ms();
    let mut state = shared.lock_state();
    let c = state
        .containers
        .get_mut(file_id)
        .filter(|c| c.org == org)
        .ok_or_else(|| {
            ApiError::invalid_parameter(format!(
                "file container {file_id:?} does not exist (or was already consumed)"
            ))
        })?;
    match c.state {
        ContainerState::Consumed => {
            return Err(ApiError::invalid_parameter(format!(
                "file container {file_id:?} was already consumed; create a new one per batch"
            )))
        }
        ContainerState::Created => {
            return Err(ApiError::invalid_parameter(format!(
                "file container {file_id:?} is empty: upload to its uploadUri first"
            )))
        }
        ContainerState::Uploaded if c.expires_ms <= now => {
            return Err(ApiError::invalid_parameter(format!(
                "file container {file_id:?} has expired (containers live 60 minutes)"
            )))
        }
        ContainerState::Uploaded => c.state = ContainerState::Consumed,
    }
    let snapshot = c.clone();
    drop(state);
    if let Some(store) = shared.lock_store() {
        store
            .save_container(&snapshot)
            .map_err(|e| ApiError::internal(e.to_string()))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Shared by several route families: new containers, queue delays, persisted sources, and the
// JSON of sources and providers

/// Creates a container for a stream chunk and returns its `{uploadUri, fileId, requiredHeaders}`.
fn new_container(s: &Shared, org: &str) -> Result<Value, ApiError> {
    let now = s.clock.now_ms();
    let container = Container {
        file_id: uuid::Uuid::new_v4().to_string(),
        org: org.to_owned(),
        signature: uuid::Uuid::new_v4().simple().to_string(),
        created_ms: now,
        expires_ms: now + CONTAINER_LIFETIME_MS,
        state: ContainerState::Created,
        size: 0,
        content: None,
    };
    let upload_uri = format!(
        "{}/_emulator/s3/{}?X-Amz-Expires=3600&X-Amz-Signature={}",
        s.base_url, container.file_id, container.signature
    );
    if let Some(store) = s.lock_store() {
        store
            .save_container(&container)
            .map_err(|e| ApiError::internal(e.to_string()))?;
    }
    let body = json!({
        "uploadUri": upload_uri,
        "fileId": container.file_id,
        "requiredHeaders": {"x-amz-server-side-encryption": "AES256", "Content-Type": "application/octet-stream"},
    });
    s.lock_state()
        .containers
        .insert(container.file_id.clone(), container);
    Ok(body)
}

fn queue_delay(s: &Shared, q: &HashMap<String, String>) -> Result<u64, ApiError> {
    match q.get("queueDelay") {
        None => Ok(s.default_queue_delay_minutes),
        Some(t) => t.parse::<u64>().map_err(|_| {
            ApiError::invalid_parameter(format!(
                "queueDelay {t:?} is not a number of minutes (0 or more)"
            ))
        }),
    }
}

fn persist_source(s: &Shared, org: &str, source: &Source) -> Result<(), ApiError> {
    let state = s.lock_state();
    if let Some(mut store) = s.lock_store() {
        let changes = crate::state::Changes {
            sources: vec![(org.to_owned(), source.id.clone())],
            ..Default::default()
        };
        store
            .commit(&state, &changes, None)
            .map_err(|e| ApiError::internal(e.to_string()))?;
    }
    Ok(())
}

fn source_json(source: &Source) -> Value {
    json!({
        "id": source.id,
        "name": source.name,
        "sourceType": source.source_type,
        "sourceVisibility": source.source_visibility,
        "pushEnabled": source.push_enabled,
        "streamEnabled": source.stream_enabled,
        "securityProviders": source.security_providers,
        "information": {
            "numberOfDocuments": source.live_items(),
            "sourceStatus": {"type": source.status},
        },
        "activities": source.activities,
        "createdDate": source.created,
    })
}

fn provider_json(p: &Provider) -> Value {
    let cascading: serde_json::Map<String, Value> = p
        .cascading_security_providers
        .iter()
        .map(|c| (c.clone(), json!({"id": c})))
        .collect();
    json!({
        "id": p.id,
        "displayName": p.display_name,
        "type": p.provider_type,
        "nodeRequired": false,
        "referencedBy": p.referenced_by.iter().map(|s| json!({"id": s, "type": "SOURCE"})).collect::<Vec<_>>(),
        "cascadingSecurityProviders": cascading,
        "identities": p.identities.values().filter(|i| i.state == IdentityState::Active).count(),
    })
}
