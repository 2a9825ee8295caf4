//! "Search as": which items of a source a user can see, and why, evaluated with the
//! `permissions` crate over the identities the emulator holds (every provider of the
//! organization, so aliases into the Email Security Provider resolve).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use permissions::{AccessContext, IdentityGraph, IdentityKey, IdentityType, Viewer};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::{IdentityState, ItemState, Org, EMAIL_PROVIDER};
use crate::Shared;

/// The identity graph of an organization's active identities.
fn graph_of(org: &Org) -> IdentityGraph {
    let mut graph = IdentityGraph::new();
    for (provider_id, provider) in &org.providers {
        for rec in provider
            .identities
            .values()
            .filter(|r| r.state == IdentityState::Active)
        {
            let key = IdentityKey::of(provider_id, &rec.identity);
            graph.intern(&key);
            for m in &rec.members {
                graph.add_member(&key, &IdentityKey::of(provider_id, m));
            }
            for w in &rec.well_knowns {
                graph.add_well_known(&key, &IdentityKey::of(provider_id, w));
            }
            for m in &rec.mappings {
                graph.add_mapping(&key, &IdentityKey::of(&m.provider, &m.identity));
            }
        }
    }
    graph
}

/// The viewer named by `?user=NAME&type=User&provider=P` (or `?anonymous=true`). The provider
/// defaults to the Email Security Provider, where query-time users live.
fn viewer_of(q: &HashMap<String, String>, default_provider: &str) -> Result<Viewer, ApiError> {
    if q.get("anonymous")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Ok(Viewer::Anonymous);
    }
    let name = q
        .get("user")
        .or_else(|| q.get("name"))
        .ok_or_else(|| ApiError::missing_parameter("user"))?;
    let identity_type = match q.get("type") {
        None => IdentityType::User,
        Some(t) => IdentityType::parse(t).ok_or_else(|| {
            ApiError::invalid_parameter(format!(
                "type {t:?} is not User, Group, VirtualGroup or Unknown"
            ))
        })?,
    };
    let provider = q.get("provider").map_or(default_provider, String::as_str);
    Ok(Viewer::Identity(IdentityKey::new(
        provider,
        name.clone(),
        identity_type,
    )))
}

fn reached_json(graph: &IdentityGraph, viewer: &Viewer) -> Vec<Value> {
    graph
        .expand(viewer)
        .reached(graph)
        .into_iter()
        .map(|(key, chain)| json!({"identity": key, "chain": chain.to_string()}))
        .collect()
}

/// `GET /_emulator/v1/organizations/{org}/sources/{source}/search?user=NAME[&type=][&provider=]`
pub(crate) async fn search_as(
    State(s): State<Arc<Shared>>,
    Path((org_id, source_id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let state = s.lock_state();
    let org = state
        .orgs
        .get(&org_id)
        .ok_or_else(|| ApiError::organization_not_found(&org_id))?;
    let source = org
        .sources
        .get(&source_id)
        .ok_or_else(|| ApiError::source_does_not_exist(&source_id))?;
    let viewer = viewer_of(&q, EMAIL_PROVIDER)?;
    let graph = graph_of(org);
    let default_provider = source
        .security_providers
        .first()
        .map_or(EMAIL_PROVIDER, String::as_str);
    let ctx = AccessContext::new(&graph, default_provider);
    let expansion = graph.expand(&viewer);
    let shared_source = source.source_visibility.eq_ignore_ascii_case("SHARED");
    let mut items = Vec::new();
    let mut visible_count = 0usize;
    for item in source
        .items
        .values()
        .filter(|i| i.state == ItemState::Indexed)
    {
        let entry = match (&item.permissions, shared_source) {
            (_, true) => json!({"documentId": item.document_id, "visible": true,
                "summary": "visible: the source is SHARED (every user sees every item)"}),
            (None, false) => json!({"documentId": item.document_id, "visible": true,
                "summary": "visible: the item has no permissions"}),
            (Some(model), false) => {
                let explanation = permissions::explain_expanded(&ctx, model, &viewer, &expansion);
                let visible = explanation.visibility == permissions::Visibility::Visible;
                json!({"documentId": item.document_id, "visible": visible,
                    "summary": explanation.to_string(), "explanation": explanation})
            }
        };
        if entry["visible"] == json!(true) {
            visible_count += 1;
        }
        let visible_only = q
            .get("visibleOnly")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if !visible_only || entry["visible"] == json!(true) {
            items.push(entry);
        }
    }
    Ok(Json(json!({
        "viewer": viewer,
        "defaultProvider": default_provider,
        "identities": reached_json(&graph, &viewer),
        "visibleCount": visible_count,
        "items": items,
    }))
    .into_response())
}

/// `GET /_emulator/v1/organizations/{org}/providers/{provider}/expand?name=NAME[&type=User]`
pub(crate) async fn expand(
    State(s): State<Arc<Shared>>,
    Path((org_id, provider)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let state = s.lock_state();
    let org = state
        .orgs
        .get(&org_id)
        .ok_or_else(|| ApiError::organization_not_found(&org_id))?;
    if !org.providers.contains_key(&provider) {
        return Err(ApiError::provider_does_not_exist(&provider));
    }
    let viewer = viewer_of(&q, &provider)?;
    let graph = graph_of(org);
    Ok(
        Json(json!({"viewer": viewer, "identities": reached_json(&graph, &viewer)}))
            .into_response(),
    )
}
