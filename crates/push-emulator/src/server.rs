//! The routes: Push API, file container uploads, Platform API, Source Logs API, and the
//! inspection API. Handlers check synchronously what the service answers synchronously,
//! journal the operation, and answer 202; the processor does the rest.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::Engine;
use http_body_util::BodyExt;
use serde_json::{json, Value};

use crate::clock::{format_ms, parse_rfc3339_ms};
use crate::error::ApiError;
use crate::faults::{FaultDecision, FaultState, Faults};
use crate::json::parse_strict;
use crate::net::ConnectionKill;
use crate::processor::{Op, OpKind};
use crate::state::{
    ApiKeyScope, Container, ContainerState, IdentityState, ItemState, Org, Provider, RequestRecord,
    Source, EMAIL_PROVIDER,
};
use crate::wire::{self, ContentSource};
use crate::Shared;

/// The service's cap on one Push API request (push-api.md §3.4).
pub const SINGLE_REQUEST_LIMIT: usize = 6 * 1024 * 1024;
/// How long a file container accepts an upload and can be referenced (push-api.md §2.3).
pub const CONTAINER_LIFETIME_MS: i64 = 60 * 60 * 1000;
/// Default page size of the Source Logs API.
const LOGS_PER_PAGE: usize = 100;

type Shd = State<Arc<Shared>>;
type Params = Query<HashMap<String, String>>;
type ApiResult = Result<Response, ApiError>;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let push = Router::new()
        .route("/files", post(create_container))
        .route(
            "/sources/{source}/documents",
            put(put_document).delete(delete_document),
        )
        .route("/sources/{source}/documents/batch", put(put_batch))
        .route(
            "/sources/{source}/documents/olderthan",
            axum::routing::delete(delete_older_than),
        )
        .route("/sources/{source}/status", post(set_status))
        .route(
            "/providers/{provider}/permissions",
            put(put_identity).delete(delete_identity),
        )
        .route("/providers/{provider}/mappings", put(put_mapping))
        .route(
            "/providers/{provider}/permissions/batch",
            put(put_identity_batch),
        )
        .route(
            "/providers/{provider}/permissions/olderthan",
            axum::routing::delete(delete_identities_older_than),
        )
        .route("/sources/{source}/stream/open", post(stream_open))
        .route(
            "/sources/{source}/stream/{stream}/chunk",
            post(stream_chunk),
        )
        .route(
            "/sources/{source}/stream/{stream}/close",
            post(stream_close),
        )
        .route(
            "/sources/{source}/stream/deleteolderthan/{ms}",
            post(stream_delete_older_than),
        )
        .route("/data-collections/{source}/stream/open", post(stream_open))
        .route(
            "/data-collections/{source}/stream/{stream}/chunk",
            post(stream_chunk),
        )
        .route(
            "/data-collections/{source}/stream/{stream}/close",
            post(stream_close),
        )
        .route(
            "/data-collections/{source}/stream/deleteolderthan/{ms}",
            post(stream_delete_older_than),
        )
        .route("/sources/{source}/stream/update", put(stream_update))
        .route("/sources/{source}/stream/merge", put(stream_update))
        .route(
            "/data-collections/{source}/stream/update",
            put(stream_update),
        )
        .route(
            "/data-collections/{source}/stream/merge",
            put(stream_update),
        );
    let platform = Router::new()
        .route("/sources", post(create_source).get(list_sources))
        .route("/sources/pages", get(list_sources_page))
        .route("/sources/{source}", get(get_source))
        .route(
            "/securityproviders",
            post(create_provider).get(list_providers),
        )
        .route(
            "/securityproviders/{provider}",
            put(put_provider).get(get_provider),
        )
        .route("/indexes/fields", get(list_fields))
        .route("/indexes/page/fields", get(list_fields))
        .route("/indexes/fields/batch/create", post(create_fields));
    let inspect = Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/organizations", get(inspect_orgs))
        .route("/organizations/{org}/sources/{source}", get(inspect_source))
        .route(
            "/organizations/{org}/sources/{source}/items",
            get(inspect_items),
        )
        .route(
            "/organizations/{org}/sources/{source}/item",
            get(inspect_item),
        )
        .route(
            "/organizations/{org}/sources/{source}/log",
            get(inspect_log),
        )
        .route(
            "/organizations/{org}/sources/{source}/search",
            get(crate::search::search_as),
        )
        .route(
            "/organizations/{org}/providers/{provider}/identities",
            get(inspect_identities),
        )
        .route(
            "/organizations/{org}/providers/{provider}/expand",
            get(crate::search::expand),
        )
        .route("/requests", get(inspect_requests).delete(clear_requests))
        .route("/faults", get(get_faults).post(set_faults))
        .route("/drain", post(drain))
        .route("/clock", get(get_clock).post(advance_clock))
        .route("/containers", get(inspect_containers))
        .route("/keys", post(add_key));
    Router::new()
        .nest("/push/v1/organizations/{org}", push)
        .nest("/rest/organizations/{org}", platform)
        .route(
            "/logs/v1/organizations/{org}",
            post(logs).get(logs_deprecated),
        )
        .route("/logs/v1/organizations/{org}/facets", post(logs_facets))
        .route(
            "/logs/v1/organizations/{org}/facetsStats",
            post(logs_facets_stats),
        )
        .route("/_emulator/s3/{file_id}", put(upload))
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
// Push API: items

async fn create_container(State(s): Shd, Path(org): Path<String>, headers: HeaderMap) -> ApiResult {
    authorize(&s, &headers, Privilege::Items)
        .or_else(|_| authorize(&s, &headers, Privilege::Identities))?;
    with_org(&s, &org, |_| Ok(()))?;
    Ok((StatusCode::CREATED, Json(new_container(&s, &org)?)).into_response())
}

async fn put_document(
    State(s): Shd,
    Path((org, source)): Path<(String, String)>,
    Query(q): Params,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Items)?;
    ensure_source(&s, &org, &source)?;
    item_write_limits(&s, &org, &source)?;
    let document_id = required(&q, "documentId")?.to_owned();
    let ordering_id = ordering_id(&s, &q)?;
    let value = json_body(&headers, body).await?;
    let doc = wire::check_document(
        value,
        Some(&document_id),
        q.get("compressionType").map(String::as_str),
    )?;
    if let ContentSource::CompressedBinaryDataFileId(id) = &doc.content {
        consume_container(&s, &org, id)?;
    }
    s.enqueue(
        new_op(&s, &org, ordering_id, OpKind::PutItem { source, doc }),
        true,
    )?;
    Ok(accepted())
}

async fn delete_document(
    State(s): Shd,
    Path((org, source)): Path<(String, String)>,
    Query(q): Params,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Items)?;
    ensure_source(&s, &org, &source)?;
    let document_id = required(&q, "documentId")?.to_owned();
    wire::check_document_id(&document_id).map_err(ApiError::invalid_parameter)?;
    let delete_children = parse_bool(&q, "deleteChildren")?;
    let ordering_id = ordering_id(&s, &q)?;
    s.enqueue(
        new_op(
            &s,
            &org,
            ordering_id,
            OpKind::DeleteItem {
                source,
                document_id,
                delete_children,
            },
        ),
        true,
    )?;
    Ok(accepted())
}

async fn put_batch(
    State(s): Shd,
    Path((org, source)): Path<(String, String)>,
    Query(q): Params,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Items)?;
    ensure_source(&s, &org, &source)?;
    item_write_limits(&s, &org, &source)?;
    let file_id = required(&q, "fileId")?.to_owned();
    let ordering_id = ordering_id(&s, &q)?;
    // The clients send no body, an empty string, or `{}`: all are fine.
    read_body(&headers, body, SINGLE_REQUEST_LIMIT).await?;
    consume_container(&s, &org, &file_id)?;
    s.enqueue(
        new_op(&s, &org, ordering_id, OpKind::ItemBatch { source, file_id }),
        true,
    )?;
    Ok(accepted())
}

async fn stream_update(
    State(s): Shd,
    Path((org, source)): Path<(String, String)>,
    Query(q): Params,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Items)?;
    ensure_source(&s, &org, &source)?;
    item_write_limits(&s, &org, &source)?;
    let file_id = required(&q, "fileId")?.to_owned();
    let ordering_id = s.default_ordering_id();
    read_body(&headers, body, SINGLE_REQUEST_LIMIT).await?;
    consume_container(&s, &org, &file_id)?;
    let op = new_op(&s, &org, ordering_id, OpKind::ItemBatch { source, file_id });
    let request_id = op.request_id.clone();
    s.enqueue(op, true)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"orderingId": ordering_id.to_string(), "requestId": request_id})),
    )
        .into_response())
}

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

/// `POST .../stream/open`: a full-catalog stream; chunks are applied at close, then every
/// item older than the stream is deleted (the Stream API's "replace everything").
async fn stream_open(
    State(s): Shd,
    Path((org, source)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Items)?;
    ensure_source(&s, &org, &source)?;
    let mut body = new_container(&s, &org)?;
    let stream_id = uuid::Uuid::new_v4().to_string();
    let file_id = body["fileId"].as_str().unwrap_or_default().to_owned();
    let ordering_id = s.default_ordering_id();
    s.lock_state().streams.insert(
        stream_id.clone(),
        crate::state::Stream {
            org,
            source,
            ordering_id,
            file_ids: vec![file_id],
        },
    );
    body["streamId"] = json!(stream_id);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

fn stream_of(s: &Shared, org: &str, source: &str, stream: &str) -> Result<(), ApiError> {
    let state = s.lock_state();
    match state.streams.get(stream) {
        Some(st) if st.org == org && st.source == source => Ok(()),
        _ => Err(ApiError::invalid_parameter(format!(
            "stream {stream:?} is not open on this source"
        ))),
    }
}

async fn stream_chunk(
    State(s): Shd,
    Path((org, source, stream)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Items)?;
    ensure_source(&s, &org, &source)?;
    stream_of(&s, &org, &source, &stream)?;
    let body = new_container(&s, &org)?;
    let file_id = body["fileId"].as_str().unwrap_or_default().to_owned();
    if let Some(st) = s.lock_state().streams.get_mut(&stream) {
        st.file_ids.push(file_id);
    }
    Ok(Json(body).into_response())
}

async fn stream_close(
    State(s): Shd,
    Path((org, source, stream)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Items)?;
    ensure_source(&s, &org, &source)?;
    stream_of(&s, &org, &source, &stream)?;
    let Some(st) = s.lock_state().streams.remove(&stream) else {
        return Err(ApiError::invalid_parameter(format!(
            "stream {stream:?} is not open on this source"
        )));
    };
    // The whole stream is one operation (one orderingId, one requestId), so a later chunk
    // updates an item of an earlier one: an equal orderingId applies only within a request.
    let request_id = uuid::Uuid::new_v4().to_string();
    let with_request = |mut op: Op| {
        op.request_id.clone_from(&request_id);
        op
    };
    for file_id in &st.file_ids {
        // Chunks that were requested but never uploaded carry nothing.
        if consume_container(&s, &org, file_id).is_ok() {
            let op = new_op(
                &s,
                &org,
                st.ordering_id,
                OpKind::ItemBatch {
                    source: source.clone(),
                    file_id: file_id.clone(),
                },
            );
            s.enqueue(with_request(op), true)?;
        }
    }
    let op = new_op(
        &s,
        &org,
        st.ordering_id,
        OpKind::DeleteItemsOlderThan {
            source,
            queue_delay_minutes: 0,
        },
    );
    s.enqueue(with_request(op), true)?;
    Ok(
        Json(json!({"orderingId": st.ordering_id.to_string(), "requestId": request_id}))
            .into_response(),
    )
}

async fn stream_delete_older_than(
    State(s): Shd,
    Path((org, source, ms)): Path<(String, String, String)>,
    Query(q): Params,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Items)?;
    ensure_source(&s, &org, &source)?;
    let ordering_id = ms.parse::<u64>().map_err(|_| {
        ApiError::invalid_parameter(format!(
            "{ms:?} is not a number of milliseconds since the epoch"
        ))
    })?;
    let queue_delay_minutes = queue_delay(&s, &q)?;
    s.enqueue(
        new_op(
            &s,
            &org,
            ordering_id,
            OpKind::DeleteItemsOlderThan {
                source,
                queue_delay_minutes,
            },
        ),
        true,
    )?;
    Ok((StatusCode::CREATED, Json(json!({}))).into_response())
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

async fn delete_older_than(
    State(s): Shd,
    Path((org, source)): Path<(String, String)>,
    Query(q): Params,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Items)?;
    ensure_source(&s, &org, &source)?;
    required(&q, "orderingId")?;
    let ordering_id = ordering_id(&s, &q)?;
    let queue_delay_minutes = queue_delay(&s, &q)?;
    s.enqueue(
        new_op(
            &s,
            &org,
            ordering_id,
            OpKind::DeleteItemsOlderThan {
                source,
                queue_delay_minutes,
            },
        ),
        true,
    )?;
    Ok(accepted())
}

async fn set_status(
    State(s): Shd,
    Path((org, source)): Path<(String, String)>,
    Query(q): Params,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Items)?;
    ensure_source(&s, &org, &source)?;
    let status = required(&q, "statusType")?.to_ascii_uppercase();
    if !["INCREMENTAL", "REFRESH", "REBUILD", "IDLE"].contains(&status.as_str()) {
        return Err(ApiError::invalid_parameter(format!(
            "statusType {status:?} is not one of INCREMENTAL, REFRESH, REBUILD, IDLE"
        )));
    }
    read_body(&headers, body, SINGLE_REQUEST_LIMIT).await?;
    let now = format_ms(s.clock.now_ms());
    let snapshot = with_org(&s, &org, |o| {
        let src = o
            .sources
            .get_mut(&source)
            .ok_or_else(|| ApiError::source_does_not_exist(&source))?;
        if let Some(open) = src.activities.last_mut().filter(|a| a.ended.is_none()) {
            open.ended = Some(now.clone());
        }
        if status != "IDLE" {
            src.activities.push(crate::state::Activity {
                status_type: status.clone(),
                started: now.clone(),
                ended: None,
            });
        }
        src.status = status.clone();
        Ok(src.clone())
    })?;
    persist_source(&s, &org, &snapshot)?;
    Ok((StatusCode::CREATED, Json(json!({}))).into_response())
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

// ---------------------------------------------------------------------------------------------
// Push API: security identities

async fn put_identity(
    State(s): Shd,
    Path((org, provider)): Path<(String, String)>,
    Query(q): Params,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    identity_write(s, org, provider, q, headers, body, false).await
}

async fn put_mapping(
    State(s): Shd,
    Path((org, provider)): Path<(String, String)>,
    Query(q): Params,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    identity_write(s, org, provider, q, headers, body, true).await
}

async fn identity_write(
    s: Arc<Shared>,
    org: String,
    provider: String,
    q: HashMap<String, String>,
    headers: HeaderMap,
    body: Body,
    alias: bool,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Identities)?;
    with_org(&s, &org, |_| Ok(()))?;
    ensure_provider(&s, &org, &provider)?;
    let ordering_id = ordering_id(&s, &q)?;
    let value = json_body(&headers, body).await?;
    let body = wire::parse_identity_body(&value, false).map_err(ApiError::invalid_json)?;
    s.enqueue(
        new_op(
            &s,
            &org,
            ordering_id,
            OpKind::PutIdentity {
                provider,
                body,
                alias,
            },
        ),
        true,
    )?;
    Ok(accepted())
}

async fn delete_identity(
    State(s): Shd,
    Path((org, provider)): Path<(String, String)>,
    Query(q): Params,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Identities)?;
    with_org(&s, &org, |_| Ok(()))?;
    ensure_provider(&s, &org, &provider)?;
    let ordering_id = ordering_id(&s, &q)?;
    let value = json_body(&headers, body).await?;
    let parsed = wire::parse_identity_body(&value, true).map_err(ApiError::invalid_json)?;
    let identity = parsed
        .identity
        .ok_or_else(|| ApiError::invalid_json("the body has no identity"))?;
    s.enqueue(
        new_op(
            &s,
            &org,
            ordering_id,
            OpKind::DeleteIdentity { provider, identity },
        ),
        true,
    )?;
    Ok(accepted())
}

async fn put_identity_batch(
    State(s): Shd,
    Path((org, provider)): Path<(String, String)>,
    Query(q): Params,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Identities)?;
    with_org(&s, &org, |_| Ok(()))?;
    ensure_provider(&s, &org, &provider)?;
    let file_id = required(&q, "fileId")?.to_owned();
    let ordering_id = ordering_id(&s, &q)?;
    read_body(&headers, body, SINGLE_REQUEST_LIMIT).await?;
    consume_container(&s, &org, &file_id)?;
    s.enqueue(
        new_op(
            &s,
            &org,
            ordering_id,
            OpKind::IdentityBatch { provider, file_id },
        ),
        true,
    )?;
    Ok(accepted())
}

async fn delete_identities_older_than(
    State(s): Shd,
    Path((org, provider)): Path<(String, String)>,
    Query(q): Params,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Identities)?;
    with_org(&s, &org, |_| Ok(()))?;
    ensure_provider(&s, &org, &provider)?;
    required(&q, "orderingId")?;
    let ordering_id = ordering_id(&s, &q)?;
    let queue_delay_minutes = queue_delay(&s, &q)?;
    s.enqueue(
        new_op(
            &s,
            &org,
            ordering_id,
            OpKind::DeleteIdentitiesOlderThan {
                provider,
                queue_delay_minutes,
            },
        ),
        true,
    )?;
    Ok(accepted())
}

// ---------------------------------------------------------------------------------------------
// File container uploads (S3-like: XML errors, no Authorization, exactly the required headers)

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

async fn upload(
    State(s): Shd,
    Path(file_id): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match upload_inner(&s, &file_id, &q, &headers, body).await {
        Ok(r) | Err(r) => r,
    }
}

async fn upload_inner(
    s: &Arc<Shared>,
    file_id: &str,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, Response> {
    if headers.contains_key(header::AUTHORIZATION) {
        return Err(s3_error(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Only one auth mechanism allowed: the uploadUri is presigned, so do not send an Authorization header.",
        ));
    }
    let now = s.clock.now_ms();
    {
        let state = s.lock_state();
        let c = state.containers.get(file_id);
        let signature_ok = c.is_some_and(|c| {
            q.get("X-Amz-Signature")
                .is_some_and(|sig| *sig == c.signature)
        });
        if !signature_ok {
            return Err(s3_error(
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                "The uploadUri is not one this emulator issued (or was already consumed).",
            ));
        }
        if let Some(c) = c {
            if c.state == ContainerState::Consumed {
                return Err(s3_error(
                    StatusCode::FORBIDDEN,
                    "AccessDenied",
                    "The file container was already consumed.",
                ));
            }
            if c.expires_ms <= now {
                return Err(s3_error(
                    StatusCode::FORBIDDEN,
                    "AccessDenied",
                    "Request has expired: file containers live 60 minutes.",
                ));
            }
        }
    }
    let sse = headers
        .get("x-amz-server-side-encryption")
        .and_then(|v| v.to_str().ok());
    if sse != Some("AES256") {
        return Err(s3_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The required header x-amz-server-side-encryption: AES256 is missing or different.",
        ));
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if ct != Some("application/octet-stream") {
        return Err(s3_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            "The required header Content-Type: application/octet-stream is missing or different.",
        ));
    }
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > s.container_limit {
            return Err(s3_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size (256 MB).",
            ));
        }
    }
    if s.lock_state().faults.upload_fails() {
        return Err(s3_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again. (fault injection)",
        ));
    }
    let mut body = body;
    let mut content = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            s3_error(
                StatusCode::BAD_REQUEST,
                "IncompleteBody",
                &format!("The upload was interrupted: {e}"),
            )
        })?;
        if let Some(data) = frame.data_ref() {
            if content.len() as u64 + data.len() as u64 > s.container_limit {
                return Err(s3_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed size (256 MB).",
                ));
            }
            content.extend_from_slice(data);
        }
    }
    let content = content.freeze();
    let etag = {
        use sha2::Digest;
        hex::encode(&sha2::Sha256::digest(&content)[..16])
    };
    let snapshot = {
        let mut state = s.lock_state();
        let Some(c) = state.containers.get_mut(file_id) else {
            return Err(s3_error(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "The file container was consumed during the upload.",
            ));
        };
        c.size = content.len() as u64;
        c.content = Some(content);
        c.state = ContainerState::Uploaded;
        c.clone()
    };
    if s.store.is_some() {
        let shared = s.clone();
        let saved = tokio::task::spawn_blocking(move || match shared.lock_store() {
            Some(store) => store.save_container(&snapshot).map_err(|e| e.to_string()),
            None => Ok(()),
        })
        .await;
        if !matches!(saved, Ok(Ok(()))) {
            return Err(s3_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "The emulator could not store the upload.",
            ));
        }
    }
    let mut response = StatusCode::OK.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{etag}\"")) {
        response.headers_mut().insert(header::ETAG, v);
    }
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// Platform API

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

async fn create_source(
    State(s): Shd,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Platform)?;
    with_org(&s, &org, |_| Ok(()))?;
    let value = json_body(&headers, body).await?;
    let get = |k: &str| {
        value
            .as_object()
            .and_then(|o| crate::json::get_ci(o, k))
            .cloned()
    };
    let name = get("name")
        .and_then(|v| v.as_str().map(str::to_owned))
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_PARAMETER",
                "A source needs a name.",
            )
        })?;
    let source_type = get("sourceType")
        .and_then(|v| v.as_str().map(str::to_ascii_uppercase))
        .unwrap_or_else(|| "PUSH".into());
    if source_type != "PUSH" && source_type != "CATALOG" {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "INVALID_PARAMETER", format!(
            "sourceType {source_type:?} cannot be created here: the emulator creates PUSH (and CATALOG) sources"
        )));
    }
    let visibility = get("sourceVisibility")
        .and_then(|v| v.as_str().map(str::to_ascii_uppercase))
        .unwrap_or_else(|| "SECURED".into());
    if !["PRIVATE", "SECURED", "SHARED"].contains(&visibility.as_str()) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER",
            format!("sourceVisibility {visibility:?} is not one of PRIVATE, SECURED, SHARED"),
        ));
    }
    let random: String = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .take(26)
        .collect();
    let id = format!("{random}-{org}");
    let now = s.clock.now_ms();
    let mut source = Source::new(&id, &name, &visibility, Vec::new(), now);
    source.source_type = source_type;
    source.push_enabled = get("pushEnabled").and_then(|v| v.as_bool()).unwrap_or(true);
    source.stream_enabled = get("streamEnabled")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let out = source_json(&source);
    with_org(&s, &org, |o| {
        o.sources.insert(id.clone(), source.clone());
        Ok(())
    })?;
    persist_source(&s, &org, &source)?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

async fn list_sources(State(s): Shd, Path(org): Path<String>, headers: HeaderMap) -> ApiResult {
    authorize(&s, &headers, Privilege::Platform)?;
    let list = with_org(&s, &org, |o| {
        Ok(o.sources.values().map(source_json).collect::<Vec<_>>())
    })?;
    Ok(Json(list).into_response())
}

/// `GET /sources/pages?page=&perPage=`: the paged list Coveo's own clients use
/// (`{items, totalEntries, totalPages}`, 0-based pages, 100 per page by default).
async fn list_sources_page(
    State(s): Shd,
    Path(org): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Platform)?;
    let list = with_org(&s, &org, |o| {
        Ok(o.sources.values().map(source_json).collect::<Vec<_>>())
    })?;
    let per_page = q
        .get("perPage")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(100);
    let page = q
        .get("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let total = list.len();
    let items: Vec<Value> = list
        .into_iter()
        .skip(page * per_page)
        .take(per_page)
        .collect();
    Ok(
        Json(
            json!({"items": items, "totalEntries": total, "totalPages": total.div_ceil(per_page)}),
        )
        .into_response(),
    )
}

async fn get_source(
    State(s): Shd,
    Path((org, source)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Platform)?;
    let out = with_org(&s, &org, |o| {
        o.sources.get(&source).map(source_json).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "SOURCE_NOT_FOUND",
                format!("Source {source:?} does not exist."),
            )
        })
    })?;
    Ok(Json(out).into_response())
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

async fn create_provider(
    State(s): Shd,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    upsert_provider(s, org, None, headers, body).await
}

async fn put_provider(
    State(s): Shd,
    Path((org, provider)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    upsert_provider(s, org, Some(provider), headers, body).await
}

async fn upsert_provider(
    s: Arc<Shared>,
    org: String,
    path_id: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Platform)?;
    with_org(&s, &org, |_| Ok(()))?;
    let value = json_body(&headers, body).await?;
    let obj = value
        .as_object()
        .ok_or_else(|| ApiError::invalid_json("a provider must be a JSON object"))?;
    let get = |k: &str| crate::json::get_ci(obj, k);
    let body_id = get("id")
        .or_else(|| get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let id = match (&path_id, body_id) {
        (Some(p), Some(b)) if *p != b => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_PARAMETER",
                format!("the provider id in the body ({b:?}) differs from the path ({p:?})"),
            ))
        }
        (Some(p), _) => p.clone(),
        (None, Some(b)) => b,
        (None, None) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_PARAMETER",
                "A security identity provider needs an id.",
            ))
        }
    };
    let referenced: Vec<String> = get("referencedBy")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let cascading: Vec<String> = match get("cascadingSecurityProviders") {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| v.get("id").and_then(Value::as_str).unwrap_or(k).to_owned())
            .collect(),
        _ => vec![EMAIL_PROVIDER.to_owned()],
    };
    let kind = get("type")
        .and_then(Value::as_str)
        .unwrap_or("EXPANDED")
        .to_owned();
    let display = get("displayName")
        .and_then(Value::as_str)
        .unwrap_or(&id)
        .to_owned();
    let now = s.clock.now_ms();
    let (out, sources) = with_org(&s, &org, |o| {
        for src in &referenced {
            if !o.sources.contains_key(src) {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "INVALID_PARAMETER",
                    format!("referencedBy names source {src:?}, which does not exist"),
                ));
            }
        }
        let p = o
            .providers
            .entry(id.clone())
            .or_insert_with(|| Provider::new(&id, &kind, cascading.clone(), Vec::new(), now));
        p.provider_type = kind.clone();
        p.display_name = display.clone();
        p.cascading_security_providers = cascading.clone();
        p.referenced_by = referenced.clone();
        for c in &cascading {
            o.providers
                .entry(c.clone())
                .or_insert_with(|| Provider::new(c, "EMAIL", Vec::new(), Vec::new(), now));
        }
        for src in &referenced {
            if let Some(source) = o.sources.get_mut(src) {
                if !source.security_providers.contains(&id) {
                    source.security_providers.push(id.clone());
                }
            }
        }
        let p = o
            .providers
            .get(&id)
            .map(provider_json)
            .unwrap_or(Value::Null);
        Ok((p, referenced.clone()))
    })?;
    let state = s.lock_state();
    if let Some(mut store) = s.lock_store() {
        let mut changes = crate::state::Changes::default();
        changes.providers.push((org.clone(), id.clone()));
        for c in cascading {
            changes.providers.push((org.clone(), c));
        }
        for src in sources {
            changes.sources.push((org.clone(), src));
        }
        store
            .commit(&state, &changes, None)
            .map_err(|e| ApiError::internal(e.to_string()))?;
    }
    let status = if path_id.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(out)).into_response())
}

async fn list_providers(State(s): Shd, Path(org): Path<String>, headers: HeaderMap) -> ApiResult {
    authorize(&s, &headers, Privilege::Platform)?;
    let list = with_org(&s, &org, |o| {
        Ok(o.providers.values().map(provider_json).collect::<Vec<_>>())
    })?;
    Ok(Json(list).into_response())
}

async fn get_provider(
    State(s): Shd,
    Path((org, provider)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Platform)?;
    let out = with_org(&s, &org, |o| {
        o.providers
            .get(&provider)
            .map(provider_json)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "SECURITY_PROVIDER_NOT_FOUND",
                    format!("Security identity provider {provider:?} does not exist."),
                )
            })
    })?;
    Ok(Json(out).into_response())
}

async fn list_fields(
    State(s): Shd,
    Path(org): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Platform)?;
    let fields = with_org(&s, &org, |o| {
        Ok(o.fields.values().cloned().collect::<Vec<_>>())
    })?;
    let per_page = q
        .get("perPage")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(100);
    let page = q
        .get("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let total = fields.len();
    let items: Vec<Value> = fields
        .into_iter()
        .skip(page * per_page)
        .take(per_page)
        .collect();
    Ok(
        Json(
            json!({"items": items, "totalEntries": total, "totalPages": total.div_ceil(per_page)}),
        )
        .into_response(),
    )
}

/// Field names: a lowercase letter, then lowercase letters, digits or `_` (push-api.md §3.3).
fn valid_field_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

async fn create_fields(
    State(s): Shd,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Platform)?;
    with_org(&s, &org, |_| Ok(()))?;
    let value = json_body(&headers, body).await?;
    let list = value
        .as_array()
        .ok_or_else(|| ApiError::invalid_json("the body must be an array of fields"))?;
    let mut fields = Vec::new();
    for f in list {
        let name = f.get("name").and_then(Value::as_str).unwrap_or_default();
        if !valid_field_name(name) {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "INVALID_FIELD_NAME", format!(
                "field name {name:?} is invalid: start with a lowercase letter, then use lowercase letters, digits and _"
            )));
        }
        let mut field = f.clone();
        if let Some(o) = field.as_object_mut() {
            o.entry("type").or_insert_with(|| json!("STRING"));
        }
        fields.push((name.to_owned(), field));
    }
    with_org(&s, &org, |o| {
        for (name, f) in &fields {
            o.fields.insert(name.clone(), f.clone());
        }
        Ok(())
    })?;
    if let Some(store) = s.lock_store() {
        for (name, f) in &fields {
            store
                .save_field(&org, name, f)
                .map_err(|e| ApiError::internal(e.to_string()))?;
        }
    }
    Ok(StatusCode::CREATED.into_response())
}

// ---------------------------------------------------------------------------------------------
// Source Logs API

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

fn log_field(e: &crate::state::LogEntry, k: &str) -> String {
    match k {
        "operations" => e.operation.clone(),
        "results" => e.result.clone(),
        "tasks" => e.task.clone(),
        "sourceIds" => e.source_id.clone(),
        _ => e.resource_id.clone(),
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
                vals.is_empty()
                    || vals
                        .iter()
                        .any(|v| v.eq_ignore_ascii_case(&log_field(e, k)))
            })
        })
        .filter(|e| {
            f.exclude.iter().all(|(k, vals)| {
                !vals
                    .iter()
                    .any(|v| v.eq_ignore_ascii_case(&log_field(e, k)))
            })
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
        let mut tally: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
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

async fn logs_facets(
    State(s): Shd,
    Path(org): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    log_facets(s, org, q, headers, body, false).await
}

async fn logs_facets_stats(
    State(s): Shd,
    Path(org): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    log_facets(s, org, q, headers, body, true).await
}

async fn logs(
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

async fn logs_deprecated(
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

// ---------------------------------------------------------------------------------------------
// Inspection API (no authentication: it is local, and for people and tests)

fn item_json(item: &crate::state::Item) -> Value {
    let mut v = serde_json::to_value(item).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "content".into(),
            json!(base64::engine::general_purpose::STANDARD.encode(&item.content)),
        );
    }
    v
}

async fn inspect_orgs(State(s): Shd) -> Response {
    let state = s.lock_state();
    let orgs: Vec<Value> = state
        .orgs
        .values()
        .map(|o| {
            json!({
                "id": o.id,
                "sources": o.sources.values().map(source_json).collect::<Vec<_>>(),
                "providers": o.providers.values().map(provider_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(json!({"organizations": orgs})).into_response()
}

fn with_source<T>(
    s: &Shared,
    org: &str,
    source: &str,
    f: impl FnOnce(&Source) -> T,
) -> Result<T, ApiError> {
    let state = s.lock_state();
    let o = state
        .orgs
        .get(org)
        .ok_or_else(|| ApiError::organization_not_found(org))?;
    let src = o
        .sources
        .get(source)
        .ok_or_else(|| ApiError::source_does_not_exist(source))?;
    Ok(f(src))
}

async fn inspect_source(State(s): Shd, Path((org, source)): Path<(String, String)>) -> ApiResult {
    let v = with_source(&s, &org, &source, |src| {
        let mut v = source_json(src);
        if let Some(o) = v.as_object_mut() {
            o.insert("watermark".into(), json!(src.watermark));
            o.insert(
                "deletedItems".into(),
                json!(src.items.len() - src.live_items()),
            );
        }
        v
    })?;
    Ok(Json(v).into_response())
}

async fn inspect_items(
    State(s): Shd,
    Path((org, source)): Path<(String, String)>,
    Query(q): Params,
) -> ApiResult {
    let include_deleted = parse_bool(&q, "includeDeleted")?;
    let items = with_source(&s, &org, &source, |src| {
        src.items
            .values()
            .filter(|i| include_deleted || i.state == ItemState::Indexed)
            .map(item_json)
            .collect::<Vec<_>>()
    })?;
    Ok(Json(json!({"items": items})).into_response())
}

async fn inspect_item(
    State(s): Shd,
    Path((org, source)): Path<(String, String)>,
    Query(q): Params,
) -> ApiResult {
    let id = required(&q, "documentId")?.to_owned();
    let item = with_source(&s, &org, &source, |src| src.items.get(&id).map(item_json))?;
    match item {
        Some(v) => Ok(Json(v).into_response()),
        None => Err(ApiError::not_found(format!("No item {id:?} in source {source:?} (never pushed, or still queued: POST /_emulator/v1/drain first)."))),
    }
}

async fn inspect_log(
    State(s): Shd,
    Path((org, source)): Path<(String, String)>,
    Query(q): Params,
) -> ApiResult {
    let state = s.lock_state();
    let entries: Vec<&crate::state::LogEntry> = state
        .logs
        .iter()
        .filter(|e| e.organization_id == org && e.source_id == source)
        .filter(|e| q.get("documentId").is_none_or(|d| e.id == *d))
        .collect();
    Ok(Json(json!({"entries": entries})).into_response())
}

async fn inspect_identities(
    State(s): Shd,
    Path((org, provider)): Path<(String, String)>,
    Query(q): Params,
) -> ApiResult {
    let include_disabled = parse_bool(&q, "includeDisabled")?;
    let state = s.lock_state();
    let o = state
        .orgs
        .get(&org)
        .ok_or_else(|| ApiError::organization_not_found(&org))?;
    let p = o
        .providers
        .get(&provider)
        .ok_or_else(|| ApiError::provider_does_not_exist(&provider))?;
    let list: Vec<&crate::state::IdentityRecord> = p
        .identities
        .values()
        .filter(|r| include_disabled || r.state == IdentityState::Active)
        .collect();
    Ok(Json(json!({"provider": provider_json(p), "identities": list})).into_response())
}

async fn inspect_requests(State(s): Shd, Query(q): Params) -> Response {
    let state = s.lock_state();
    let limit = q
        .get("limit")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let skip = state.requests.len().saturating_sub(limit);
    let list: Vec<&RequestRecord> = state.requests.iter().skip(skip).collect();
    Json(json!({"requests": list})).into_response()
}

async fn clear_requests(State(s): Shd) -> Response {
    s.lock_state().requests.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn get_faults(State(s): Shd) -> Response {
    Json(s.lock_state().faults.faults.clone()).into_response()
}

async fn set_faults(State(s): Shd, body: Bytes) -> ApiResult {
    let faults: Faults = if body.is_empty() {
        Faults::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::invalid_json(format!("invalid faults: {e}")))?
    };
    for share in [
        faults.throttle_share,
        faults.error_burst_share,
        faults.drop_share,
        faults.upload_failure_share,
    ] {
        if !(0.0..=1.0).contains(&share) {
            return Err(ApiError::invalid_parameter(
                "fault shares are probabilities between 0 and 1",
            ));
        }
    }
    s.lock_state().faults = FaultState::new(faults.clone());
    Ok(Json(faults).into_response())
}

async fn drain(State(s): Shd) -> Response {
    s.drain().await;
    Json(json!({"drained": true})).into_response()
}

async fn get_clock(State(s): Shd) -> Response {
    let now = s.clock.now_ms();
    Json(json!({"nowMs": now, "now": format_ms(now)})).into_response()
}

async fn advance_clock(State(s): Shd, body: Bytes) -> ApiResult {
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid_json(format!("expected {{\"advanceSeconds\": N}}: {e}")))?;
    let seconds = v
        .get("advanceSeconds")
        .and_then(Value::as_u64)
        .ok_or_else(|| ApiError::invalid_json("expected {\"advanceSeconds\": N}"))?;
    s.clock.advance(std::time::Duration::from_secs(seconds));
    s.drain().await;
    Ok(get_clock(State(s)).await)
}

async fn inspect_containers(State(s): Shd) -> Response {
    let state = s.lock_state();
    let list: Vec<Value> = state
        .containers
        .values()
        .map(|c| json!({"fileId": c.file_id, "org": c.org, "state": c.state, "size": c.size, "created": format_ms(c.created_ms), "expires": format_ms(c.expires_ms)}))
        .collect();
    Json(json!({"containers": list})).into_response()
}

async fn add_key(State(s): Shd, body: Bytes) -> ApiResult {
    let key: ApiKeyScope = serde_json::from_slice(&body).map_err(|e| {
        ApiError::invalid_json(format!(
            "expected {{\"key\", \"items\", \"identities\", \"platform\"}}: {e}"
        ))
    })?;
    if let Some(store) = s.lock_store() {
        store
            .save_key(&key)
            .map_err(|e| ApiError::internal(e.to_string()))?;
    }
    let mut state = s.lock_state();
    state.keys.retain(|k| k.key != key.key);
    state.keys.push(key);
    Ok(StatusCode::NO_CONTENT.into_response())
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
        assert!(
            valid_field_name("size_kb2") && !valid_field_name("Size") && !valid_field_name("2a")
        );
    }
}
