//! Push API, security identities (under `/push/v1/organizations/{org}/providers/{provider}`):
//! `permissions` (PUT, DELETE), `mappings` (PUT), `permissions/batch` (PUT) and
//! `permissions/olderthan` (DELETE).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;

use super::{
    accepted, authorize, consume_container, ensure_provider, json_body, new_op, ordering_id,
    queue_delay, read_body, required, with_org, ApiResult, Params, Privilege, Shd,
    SINGLE_REQUEST_LIMIT,
};
use crate::error::ApiError;
use crate::processor::OpKind;
use crate::wire;
use crate::Shared;

pub(super) async fn put_identity(
    State(s): Shd,
    Path((org, provider)): Path<(String, String)>,
    Query(q): Params,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    identity_write(s, org, provider, q, headers, body, false).await
}

pub(super) async fn put_mapping(
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

pub(super) async fn delete_identity(
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

pub(super) async fn put_identity_batch(
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

pub(super) async fn delete_identities_older_than(
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
