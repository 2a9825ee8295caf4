//! "Search as": which items of a source a user can see, and why, evaluated with the one
//! access analysis of the `permissions` crate ([`AccessAnalysis`], the same the CLI's
//! `access` commands and the app use) over the identities the emulator holds and the
//! organization's real providers with their `cascadingSecurityProviders`: the person is the
//! user of that name in the Email Security Provider (or the provider named), the same user in
//! every provider cascading there (so a member of a group of provider P is a member), every
//! alias mapped to them in any provider, and every group reached from those.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use permissions::{
    AccessAnalysis, AccessAnswer, IdentityGraph, IdentityKey, IdentityType, ProviderConfig,
    Providers, QueryingUser, ResolvedViewer, Viewer,
};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::{IdentityState, ItemState, Org, Source, EMAIL_PROVIDER};
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

/// The organization's providers as the Platform API describes them: each one's type and
/// where it cascades. The Email Security Provider is the one of that id (the emulator also
/// types EMAIL a provider it created only because another provider cascades to it; that one
/// is an ordinary provider here).
fn providers_of(org: &Org) -> Providers {
    org.providers
        .values()
        .map(|p| {
            let provider_type = if p.id == EMAIL_PROVIDER {
                "EMAIL"
            } else if p.provider_type.eq_ignore_ascii_case("EMAIL") {
                "EXPANDED"
            } else {
                p.provider_type.as_str()
            };
            ProviderConfig::new(
                p.id.clone(),
                provider_type,
                p.cascading_security_providers.iter().cloned(),
            )
        })
        .fold(Providers::new(), Providers::with)
}

/// The person of `?user=NAME[&provider=P]` (or `?anonymous=true`): the provider they
/// authenticate in defaults to the Email Security Provider. `type`, when given, must be User:
/// search-as asks as a person.
fn querying_user_of(q: &HashMap<String, String>) -> Result<QueryingUser, ApiError> {
    if q.get("anonymous")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Ok(QueryingUser::Anonymous);
    }
    let name = q
        .get("user")
        .or_else(|| q.get("name"))
        .ok_or_else(|| ApiError::missing_parameter("user"))?;
    if let Some(t) = q.get("type") {
        if IdentityType::parse(t) != Some(IdentityType::User) {
            return Err(ApiError::invalid_parameter(format!(
                "type {t:?}: search as asks as a person, so the type is User (or left out)"
            )));
        }
    }
    Ok(match q.get("provider").map(String::as_str) {
        None | Some(EMAIL_PROVIDER) => QueryingUser::named(name.clone()),
        Some(provider) => QueryingUser::in_provider(name.clone(), provider),
    })
}

/// How "search as" answered for one indexed item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// The source is SHARED: every user sees every item, permissions are not evaluated.
    Shared,
    /// The item's permissions evaluated for the person ([`AccessAnalysis`]).
    Answer(Box<AccessAnswer>),
}

impl Seen {
    pub fn is_visible(&self) -> bool {
        match self {
            Seen::Shared => true,
            Seen::Answer(answer) => answer.is_visible(),
        }
    }
}

/// "Search as" over one source: everything the inspection API's answer is made of, computed
/// once for the HTTP route ([`search_as`]) and the typed API (`Emulator::search_as`).
pub(crate) struct Evaluation {
    pub graph: IdentityGraph,
    pub providers: Providers,
    pub default_provider: String,
    pub resolved: ResolvedViewer,
    /// Every indexed item of the source, by documentId, with its answer.
    pub items: Vec<(String, Seen)>,
}

/// Evaluates what `user` sees of `source`'s indexed items, with the organization's identities
/// and providers.
pub(crate) fn evaluate(org: &Org, source: &Source, user: &QueryingUser) -> Evaluation {
    let graph = graph_of(org);
    let providers = providers_of(org);
    let default_provider = source
        .security_providers
        .first()
        .map_or(EMAIL_PROVIDER, String::as_str)
        .to_owned();
    let analysis = AccessAnalysis::new(&graph, &providers, &default_provider);
    let resolved = analysis.resolve(user);
    let shared_source = source.source_visibility.eq_ignore_ascii_case("SHARED");
    let items = source
        .items
        .values()
        .filter(|i| i.state == ItemState::Indexed)
        .map(|item| {
            let seen = if shared_source {
                Seen::Shared
            } else {
                Seen::Answer(Box::new(
                    analysis.explain_resolved(item.permissions.as_ref(), &resolved),
                ))
            };
            (item.document_id.clone(), seen)
        })
        .collect();
    Evaluation {
        graph,
        providers,
        default_provider,
        resolved,
        items,
    }
}

/// One item's answer, in the shape of `pushdeck access explain --json`.
fn answer_json(document_id: &str, answer: &AccessAnswer) -> Value {
    json!({
        "documentId": document_id,
        "visible": answer.is_visible(),
        "visibility": answer.visibility,
        "summary": answer.summary,
        "because": answer.because,
        "uncertain": answer.uncertain,
        "otherReadings": answer.other_readings,
        "explanation": answer.explanation,
    })
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

/// `GET /_emulator/v1/organizations/{org}/sources/{source}/search?user=NAME[&provider=P]`
pub(crate) async fn search_as(
    State(s): State<Arc<Shared>>,
    Path((org_id, source_id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let state = s.lock_state();
    let (org, source) = crate::inspect::source_of(&state, &org_id, &source_id)?;
    let user = querying_user_of(&q)?;
    let found = evaluate(org, source, &user);
    let visible_only = q
        .get("visibleOnly")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let mut items = Vec::new();
    let mut visible_count = 0usize;
    for (document_id, seen) in &found.items {
        let visible = seen.is_visible();
        if visible {
            visible_count += 1;
        }
        if visible_only && !visible {
            continue;
        }
        items.push(match seen {
            Seen::Shared => {
                json!({"documentId": document_id, "visible": true, "visibility": "visible",
                "summary": format!("{user}: visible: the source is SHARED (every user sees every item)"),
                "because": [], "uncertain": false, "otherReadings": [], "explanation": null})
            }
            Seen::Answer(answer) => answer_json(document_id, answer),
        });
    }
    Ok(Json(json!({
        "user": user,
        "viewer": found.resolved.viewer(),
        "defaultProvider": found.default_provider,
        "providers": found.providers,
        "identities": found.resolved.identities(&found.graph),
        "readingNotes": found.resolved.reading_notes(),
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
