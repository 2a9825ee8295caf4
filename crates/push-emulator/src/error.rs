//! Error answers in Coveo's shape: `{"errorCode": ..., "message": ...}` with the status the
//! service uses for that code (push-api.md §7).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// One error answer of the Push, Platform or Source Logs API.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds, sent as `Retry-After` (throttling answers only).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "The request has no Authorization header; send `Authorization: Bearer <API key>`.",
        )
    }
    pub fn invalid_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_TOKEN",
            "The API key is unknown to this emulator; use the key it printed at start-up (or the one given with --api-key).",
        )
    }
    pub fn access_denied(what: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "ACCESS_DENIED",
            format!("The API key does not have the privilege to {what}."),
        )
    }
    pub fn organization_not_found(org: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ORGANIZATION_NOT_FOUND",
            format!(
                "Organization {org:?} does not exist in this emulator (start it with --org {org})."
            ),
        )
    }
    pub fn source_does_not_exist(source: &str) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "SOURCE_DOES_NOT_EXIST",
            format!("Source {source:?} does not exist in this organization; create it first or check the source id."),
        )
    }
    pub fn provider_does_not_exist(provider: &str) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "SECURITY_PROVIDER_DOES_NOT_EXIST",
            format!("Security identity provider {provider:?} does not exist in this organization."),
        )
    }
    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_JSON", message)
    }
    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "MISSING_PARAMETER",
            format!("The required parameter {name:?} is missing."),
        )
    }
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "INVALID_PARAMETER",
            message,
        )
    }
    pub fn document_limit_exceeded(limit: u64) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "DOCUMENT_LIMIT_EXCEEDED",
            format!("The source holds the maximum number of items allowed ({limit}); delete items before adding more."),
        )
    }
    pub fn too_many_requests(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TOO_MANY_REQUESTS",
                format!("Too many requests; retry after {retry_after} seconds."),
            )
        }
    }
    pub fn too_many_documents_daily(quota: u64, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TOO_MANY_DOCUMENTS_DAILY",
                format!("The daily item processing limit ({quota} items) is reached; retry after {retry_after} seconds."),
            )
        }
    }
    pub fn too_large(limit: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "REQUEST_ENTITY_TOO_LARGE",
            format!(
                "The request body exceeds {limit} bytes; put large content in a file container."
            ),
        )
    }
    pub fn unsupported_media_type(found: Option<&str>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            format!(
                "Content-Type must be application/json (found {}).",
                found.unwrap_or("no Content-Type")
            ),
        )
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "errorCode": self.code, "message": self.message });
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}
