//! Platform API (under `/rest/organizations/{org}`): `sources` (POST, GET), `sources/pages`,
//! `sources/{source}`, `securityproviders` (POST, GET), `securityproviders/{provider}` (PUT,
//! GET), `indexes/fields`, `indexes/page/fields` and `indexes/fields/batch/create`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::{
    authorize, json_body, persist_source, provider_json, source_json, with_org, ApiResult, Params,
    Privilege, Shd,
};
use crate::error::ApiError;
use crate::state::{Provider, Source, EMAIL_PROVIDER};
use crate::Shared;

pub(super) async fn create_source(
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

pub(super) async fn list_sources(
    State(s): Shd,
    Path(org): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Platform)?;
    let list = with_org(&s, &org, |o| {
        Ok(o.sources.values().map(source_json).collect::<Vec<_>>())
    })?;
    Ok(Json(list).into_response())
}

/// `GET /sources/pages?page=&perPage=`: the paged list Coveo's own clients use
/// (`{items, totalEntries, totalPages}`, 0-based pages, 100 per page by default).
pub(super) async fn list_sources_page(
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

pub(super) async fn get_source(
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

pub(super) async fn create_provider(
    State(s): Shd,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    upsert_provider(s, org, None, headers, body).await
}

pub(super) async fn put_provider(
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

pub(super) async fn list_providers(
    State(s): Shd,
    Path(org): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&s, &headers, Privilege::Platform)?;
    let list = with_org(&s, &org, |o| {
        Ok(o.providers.values().map(provider_json).collect::<Vec<_>>())
    })?;
    Ok(Json(list).into_response())
}

pub(super) async fn get_provider(
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

pub(super) async fn list_fields(
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

pub(super) async fn create_fields(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_start_with_a_lowercase_letter() {
        assert!(
            valid_field_name("size_kb2") && !valid_field_name("Size") && !valid_field_name("2a")
        );
    }
}
