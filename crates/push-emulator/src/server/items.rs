//! Push API, items (under `/push/v1/organizations/{org}/sources/{source}`): `documents`
//! (PUT, DELETE), `documents/batch` (PUT), `documents/olderthan` (DELETE) and `status` (POST).

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use super::{
    accepted, authorize, consume_container, ensure_source, item_write_limits, json_body, new_op,
    ordering_id, parse_bool, persist_source, queue_delay, read_body, required, with_org, ApiResult,
    Params, Privilege, Shd, SINGLE_REQUEST_LIMIT,
};
use crate::clock::format_ms;
use crate::error::ApiError;
use crate::processor::OpKind;
use crate::wire::{self, ContentSource};

pub(super) async fn put_document(
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

pub(super) async fn delete_document(
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

pub(super) async fn put_batch(
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

pub(super) async fn delete_older_than(
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

pub(super) async fn set_status(
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
