//! Stream API (under `/push/v1/organizations/{org}/sources/{source}` and
//! `/push/v1/organizations/{org}/data-collections/{source}`): `stream/open`,
//! `stream/{stream}/chunk`, `stream/{stream}/close`, `stream/deleteolderthan/{ms}` (POST) and
//! `stream/update`, `stream/merge` (PUT).

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use super::{
    authorize, consume_container, ensure_source, item_write_limits, new_container, new_op,
    queue_delay, read_body, required, ApiResult, Params, Privilege, Shd, SINGLE_REQUEST_LIMIT,
};
use crate::error::ApiError;
use crate::processor::{Op, OpKind};
use crate::Shared;

pub(super) async fn stream_update(
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

/// `POST .../stream/open`: a full-catalog stream; chunks are applied at close, then every
/// item older than the stream is deleted (the Stream API's "replace everything").
pub(super) async fn stream_open(
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

pub(super) async fn stream_chunk(
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

pub(super) async fn stream_close(
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

pub(super) async fn stream_delete_older_than(
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
