//! File containers: `POST /push/v1/organizations/{org}/files` creates one, and
//! `PUT /_emulator/s3/{file_id}` is its upload URI (S3-like: XML errors, no Authorization,
//! exactly the required headers).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http_body_util::BodyExt;

use super::{authorize, new_container, with_org, ApiResult, Params, Privilege, Shd};
use crate::state::ContainerState;
use crate::Shared;

pub(super) async fn create_container(
    State(s): Shd,
    Path(org): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Items)
        .or_else(|_| authorize(&s, &headers, Privilege::Identities))?;
    with_org(&s, &org, |_| Ok(()))?;
    Ok((StatusCode::CREATED, Json(new_container(&s, &org)?)).into_response())
}

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

pub(super) async fn upload(
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
