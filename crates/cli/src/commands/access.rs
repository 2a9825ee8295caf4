//! `pushdeck access explain | who | what`: the permission preview in a terminal, computed
//! locally (nothing is sent) from the configuration's folder rules and, to resolve groups, an
//! identities file as `identities push` reads it.
//!
//! A user is looked up in the folder's security identity provider (where the identities file's
//! users and groups live); without an identities file only entries naming the user directly,
//! and `allowAnonymous`, can let them in.

use std::path::{Path, PathBuf};

use permissions::{
    AccessContext, AccessIndex, IdentityGraph, IdentityKey, PermissionModel, Viewer, Visibility,
};
use serde_json::json;
use sync_engine::config::FolderMapping;

use crate::args::{AccessCommand, GlobalArgs};
use crate::connection::load_config;
use crate::exit::{CliError, Outcome};
use crate::identities_file;
use crate::output::Output;

/// The provider entries without `securityProvider` name when the folder names none.
const DEFAULT_PROVIDER: &str = "Email Security Provider";

pub fn run(
    command: &AccessCommand,
    global: &GlobalArgs,
    out: &Output,
) -> Result<Outcome, CliError> {
    let (config_path, config) = load_config(global)?;
    match command {
        AccessCommand::Explain(args) => {
            let (mapping, rel) = locate(&config.folders, &args.item, &config_path)?;
            let provider = provider_of(mapping);
            let graph = graph(args.identities.as_deref(), provider)?;
            let ctx = AccessContext::new(&graph, provider);
            let Some(model) = model_of(mapping, &rel)? else {
                out.summary(json!({"item": rel, "folder": mapping.name, "permissions": null, "visible": true}), || {
                    format!("{rel}: no permission rule applies, so the item has no permissions: anyone who can search the source sees it")
                });
                return Ok(Outcome::ok());
            };
            let viewer = Viewer::Identity(IdentityKey::user(provider, args.user.clone()));
            let explanation = permissions::explain(&ctx, &model, &viewer);
            let value = serde_json::to_value(&explanation).unwrap_or_default();
            out.summary(
                json!({"item": rel, "folder": mapping.name, "explanation": value}),
                || format!("{rel}\n{explanation}"),
            );
        }
        AccessCommand::Who(args) => {
            let (mapping, rel) = locate(&config.folders, &args.item, &config_path)?;
            let provider = provider_of(mapping);
            let graph = graph(args.identities.as_deref(), provider)?;
            let ctx = AccessContext::new(&graph, provider);
            let Some(model) = model_of(mapping, &rel)? else {
                out.summary(json!({"item": rel, "permissions": null, "everyone": true}), || {
                    format!("{rel}: no permission rule applies; anyone who can search the source sees it")
                });
                return Ok(Outcome::ok());
            };
            let anonymous = permissions::explain(&ctx, &model, &Viewer::Anonymous).visibility
                == Visibility::Visible;
            let index = AccessIndex::over_known_users(ctx);
            let viewers: Vec<String> = index
                .who_can_see(&model)
                .into_iter()
                .map(ToString::to_string)
                .collect();
            let known = index.viewers().len();
            out.summary(json!({"item": rel, "anonymous": anonymous, "viewers": viewers, "known_users": known}), || {
                let mut lines = vec![format!("{rel}: {} of {known} known user(s) can see it{}", viewers.len(), if anonymous { ", and so can anonymous users" } else { "" })];
                lines.extend(viewers.iter().map(|v| format!("  {v}")));
                if known == 0 {
                    lines.push("  (no user is known: pass --identities FILE to resolve groups and list users)".into());
                }
                lines.join("\n")
            });
        }
        AccessCommand::What(args) => {
            let folder = args.folder.canonicalize().map_err(|e| {
                CliError::usage(
                    "no_such_folder",
                    format!(
                        "the folder {} cannot be read ({e}); check the path",
                        args.folder.display()
                    ),
                )
            })?;
            let mapping = config
                .folders
                .iter()
                .find(|f| f.path == folder || folder.starts_with(&f.path))
                .ok_or_else(|| not_configured(&folder, &config_path))?;
            let provider = provider_of(mapping);
            let graph = graph(args.identities.as_deref(), provider)?;
            let ctx = AccessContext::new(&graph, provider);
            let viewer = Viewer::Identity(IdentityKey::user(provider, args.user.clone()));
            let filters = mapping
                .compiled_filters()
                .map_err(|e| CliError::usage("config_invalid", e))?;
            let files =
                sync_engine::config::list_matches(&mapping.path, &filters).map_err(|e| {
                    CliError::usage(
                        "unreadable_folder",
                        format!("cannot list {}: {e}", mapping.path.display()),
                    )
                })?;
            let prefix = folder
                .strip_prefix(&mapping.path)
                .map(rel_string)
                .unwrap_or_default();
            let mut visible = Vec::new();
            let mut total = 0usize;
            for file in files.iter().filter(|m| m.decision.included) {
                if !prefix.is_empty() && !file.path.starts_with(&format!("{prefix}/")) {
                    continue;
                }
                total += 1;
                let sees = match model_of(mapping, &file.path)? {
                    None => true,
                    Some(model) => {
                        permissions::explain(&ctx, &model, &viewer).visibility
                            == Visibility::Visible
                    }
                };
                if sees {
                    visible.push(file.path.clone());
                }
            }
            out.summary(json!({"user": args.user, "folder": mapping.name, "visible": visible, "files": total}), || {
                let mut lines = vec![format!("{} can see {} of {total} file(s):", args.user, visible.len())];
                lines.extend(visible.iter().map(|p| format!("  {p}")));
                lines.join("\n")
            });
        }
    }
    Ok(Outcome::ok())
}

fn provider_of(mapping: &FolderMapping) -> &str {
    mapping.provider.as_deref().unwrap_or(DEFAULT_PROVIDER)
}

fn rel_string(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn not_configured(path: &Path, config_path: &Path) -> CliError {
    CliError::usage(
        "not_in_a_folder",
        format!(
            "{} is not in a configured folder; add a [[folder]] with its permission rules to {} (see `pushdeck config path`)",
            path.display(),
            config_path.display()
        ),
    )
}

/// The configured folder holding `item`, and the item's path relative to it.
fn locate<'a>(
    folders: &'a [FolderMapping],
    item: &Path,
    config_path: &Path,
) -> Result<(&'a FolderMapping, String), CliError> {
    let path: PathBuf = item.canonicalize().map_err(|e| {
        CliError::usage(
            "no_such_file",
            format!("{} cannot be read ({e}); check the path", item.display()),
        )
    })?;
    let mapping = folders
        .iter()
        .filter(|f| path.starts_with(&f.path))
        .max_by_key(|f| f.path.components().count())
        .ok_or_else(|| not_configured(&path, config_path))?;
    let rel = path
        .strip_prefix(&mapping.path)
        .map(rel_string)
        .unwrap_or_default();
    Ok((mapping, rel))
}

fn model_of(mapping: &FolderMapping, rel: &str) -> Result<Option<PermissionModel>, CliError> {
    let rules = mapping.compiled_permissions().map_err(|e| {
        CliError::usage("config_invalid", format!("folder {:?}: {e}", mapping.name))
    })?;
    Ok(rules
        .and_then(|r| r.resolve(rel))
        .map(|resolved| resolved.model))
}

fn graph(identities: Option<&Path>, provider: &str) -> Result<IdentityGraph, CliError> {
    let mut graph = IdentityGraph::new();
    if let Some(path) = identities {
        let batch = identities_file::read(path)?;
        for body in batch.members {
            let body = permissions::IdentityBody {
                identity: body.identity,
                members: body.members,
                well_knowns: body.well_knowns,
            };
            graph.put_identity(provider, &body);
        }
    }
    Ok(graph)
}
