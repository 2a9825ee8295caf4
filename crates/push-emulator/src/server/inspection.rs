//! Inspection API under `/_emulator/v1` (no authentication: it is local, and for people and
//! tests): `organizations`, a source, its `items`, `item` and `log`, a provider's `identities`,
//! `requests`, `faults`, `drain`, `clock`, `containers` and `keys`. (`health` is inline in the
//! router; `search` and `expand` are in `crate::search`.)

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde_json::{json, Value};

use super::{parse_bool, provider_json, required, source_json, ApiResult, Params, Shd};
use crate::clock::format_ms;
use crate::error::ApiError;
use crate::faults::{FaultState, Faults};
use crate::state::{ApiKeyScope, IdentityState, ItemState, RequestRecord, Source};
use crate::Shared;

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

pub(super) async fn inspect_orgs(State(s): Shd) -> Response {
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

pub(super) async fn inspect_source(
    State(s): Shd,
    Path((org, source)): Path<(String, String)>,
) -> ApiResult {
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

pub(super) async fn inspect_items(
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

pub(super) async fn inspect_item(
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

pub(super) async fn inspect_log(
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

pub(super) async fn inspect_identities(
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

pub(super) async fn inspect_requests(State(s): Shd, Query(q): Params) -> Response {
    let state = s.lock_state();
    let limit = q
        .get("limit")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let skip = state.requests.len().saturating_sub(limit);
    let list: Vec<&RequestRecord> = state.requests.iter().skip(skip).collect();
    Json(json!({"requests": list})).into_response()
}

pub(super) async fn clear_requests(State(s): Shd) -> Response {
    s.lock_state().requests.clear();
    StatusCode::NO_CONTENT.into_response()
}

pub(super) async fn get_faults(State(s): Shd) -> Response {
    Json(s.lock_state().faults.faults.clone()).into_response()
}

pub(super) async fn set_faults(State(s): Shd, body: Bytes) -> ApiResult {
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

pub(super) async fn drain(State(s): Shd) -> Response {
    s.drain().await;
    Json(json!({"drained": true})).into_response()
}

pub(super) async fn get_clock(State(s): Shd) -> Response {
    let now = s.clock.now_ms();
    Json(json!({"nowMs": now, "now": format_ms(now)})).into_response()
}

pub(super) async fn advance_clock(State(s): Shd, body: Bytes) -> ApiResult {
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

pub(super) async fn inspect_containers(State(s): Shd) -> Response {
    let state = s.lock_state();
    let list: Vec<Value> = state
        .containers
        .values()
        .map(|c| json!({"fileId": c.file_id, "org": c.org, "state": c.state, "size": c.size, "created": format_ms(c.created_ms), "expires": format_ms(c.expires_ms)}))
        .collect();
    Json(json!({"containers": list})).into_response()
}

pub(super) async fn add_key(State(s): Shd, body: Bytes) -> ApiResult {
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
