//! `pushdeck access explain | who | what`: the permission preview in a terminal, computed
//! locally (nothing is sent) from the configuration's folder rules and, to resolve groups and
//! aliases, an identities file as `identities push` reads it.
//!
//! Every answer comes from the one access analysis of the permissions crate
//! ([`permissions::AccessAnalysis`]), the same the app and the emulator's "search as" use: the
//! person is the user of that name in the Email Security Provider, the same user in the
//! folder's provider (which cascades to the Email Security Provider, as Pushdeck creates it),
//! every alias mapped to them (the identities file's `mappings`, or a CSV's aliases), and every
//! group reached from those. Each answer says why (the chain of each deciding set) and, when
//! another reading of Coveo's documentation would change it, both answers (`uncertain`).
//! Without an identities file only entries naming the user directly, and `allowAnonymous`, can
//! let them in.

use std::path::{Path, PathBuf};

use permissions::rules::CompiledRules;
use permissions::{
    AccessAnalysis, AccessAnswer, IdentityGraph, PermissionModel, Providers, QueryingUser,
    EMAIL_SECURITY_PROVIDER,
};
use serde_json::{json, Value};
use sync_engine::config::FolderMapping;

use crate::args::{AccessCommand, GlobalArgs};
use crate::connection::load_config;
use crate::exit::{CliError, Outcome};
use crate::identities_file;
use crate::output::Output;

/// The provider entries without `securityProvider` name when the folder names none.
const DEFAULT_PROVIDER: &str = EMAIL_SECURITY_PROVIDER;

/// What the analysis needs, owned: the identities and the providers' configuration.
struct Preview {
    graph: IdentityGraph,
    providers: Providers,
    provider: String,
}

impl Preview {
    /// The identities file applied to the folder's `provider` (members, mappings and deleted,
    /// as `identities push` would send them; a mapping without provider goes to the Email
    /// Security Provider, where Pushdeck's providers cascade), and the providers as Pushdeck
    /// creates them: the folder's provider cascading to the Email Security Provider.
    fn load(identities: Option<&Path>, provider: &str) -> Result<Self, CliError> {
        let mut graph = IdentityGraph::new();
        if let Some(path) = identities {
            let batch = identities_file::read(path)?;
            graph.apply_batch(provider, &batch, EMAIL_SECURITY_PROVIDER);
        }
        let providers = if provider == EMAIL_SECURITY_PROVIDER {
            Providers::new()
        } else {
            Providers::pushdeck([provider])
        };
        Ok(Self {
            graph,
            providers,
            provider: provider.to_owned(),
        })
    }

    fn analysis(&self) -> AccessAnalysis<'_> {
        AccessAnalysis::new(&self.graph, &self.providers, &self.provider)
    }
}

/// One answer as `--json` writes it (and the emulator's "search as" writes each item): the
/// visibility, the sentence, the chains of the deciding sets, and the other readings.
fn answer_json(answer: &AccessAnswer) -> Value {
    json!({
        "user": answer.user.to_string(),
        "visible": answer.is_visible(),
        "visibility": answer.visibility,
        "summary": answer.summary,
        "because": answer.because,
        "uncertain": answer.uncertain,
        "otherReadings": answer.other_readings,
    })
}

pub fn run(
    command: &AccessCommand,
    global: &GlobalArgs,
    out: &Output,
) -> Result<Outcome, CliError> {
    let (config_path, config) = load_config(global)?;
    match command {
        AccessCommand::Explain(args) => {
            let (mapping, rel) = locate(&config.folders, &args.item, &config_path)?;
            let preview = Preview::load(args.identities.as_deref(), provider_of(mapping))?;
            let analysis = preview.analysis();
            let model = model_of(rules_of(mapping)?.as_ref(), &rel);
            let user = QueryingUser::named(args.user.clone());
            let resolved = analysis.resolve(&user);
            let answer = analysis.explain_resolved(model.as_ref(), &resolved);
            let mut value = answer_json(&answer);
            let identities: Vec<String> = resolved
                .identities(&preview.graph)
                .into_iter()
                .map(|r| r.text)
                .collect();
            let extra = json!({
                "item": rel,
                "folder": mapping.name,
                "provider": preview.provider,
                "permissions": model,
                "identities": identities,
                "explanation": answer.explanation,
            });
            if let (Value::Object(map), Value::Object(more)) = (&mut value, extra) {
                map.extend(more);
            }
            out.summary(value, || format!("{rel}\n{answer}"));
        }
        AccessCommand::Who(args) => {
            let (mapping, rel) = locate(&config.folders, &args.item, &config_path)?;
            let Some(model) = model_of(rules_of(mapping)?.as_ref(), &rel) else {
                out.summary(json!({"item": rel, "folder": mapping.name, "permissions": null, "everyone": true}), || {
                    format!("{rel}: no permission rule applies; anyone who can search the source sees it")
                });
                return Ok(Outcome::ok());
            };
            let preview = Preview::load(args.identities.as_deref(), provider_of(mapping))?;
            let analysis = preview.analysis();
            let mut answers = analysis.who_can_see(Some(&model));
            // who_can_see lists the people, then anonymous.
            let anonymous = answers.pop().is_some_and(|a| a.is_visible());
            let viewers: Vec<String> = answers
                .iter()
                .filter(|a| a.is_visible())
                .map(|a| a.user.to_string())
                .collect();
            let uncertain: Vec<&AccessAnswer> = answers.iter().filter(|a| a.uncertain).collect();
            let known = answers.len();
            let people: Vec<Value> = answers.iter().map(answer_json).collect();
            out.summary(json!({"item": rel, "folder": mapping.name, "anonymous": anonymous, "viewers": viewers, "known_users": known, "people": people}), || {
                let mut lines = vec![format!("{rel}: {} of {known} known user(s) can see it{}", viewers.len(), if anonymous { ", and so can anonymous users" } else { "" })];
                lines.extend(viewers.iter().map(|v| format!("  {v}")));
                if known == 0 {
                    lines.push("  (no user is known: pass --identities FILE to resolve groups and list users)".into());
                }
                if !uncertain.is_empty() {
                    lines.push("uncertain (another reading of Coveo's documentation changes the answer):".into());
                    lines.extend(uncertain.iter().map(|a| indent(&a.to_string())));
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
            let preview = Preview::load(args.identities.as_deref(), provider_of(mapping))?;
            let analysis = preview.analysis();
            let rules = rules_of(mapping)?;
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
            let user = QueryingUser::named(args.user.clone());
            let resolved = analysis.resolve(&user);
            let mut visible = Vec::new();
            let mut uncertain: Vec<(String, AccessAnswer)> = Vec::new();
            let mut total = 0usize;
            for file in files.iter().filter(|m| m.decision.included) {
                if !prefix.is_empty() && !file.path.starts_with(&format!("{prefix}/")) {
                    continue;
                }
                total += 1;
                let model = model_of(rules.as_ref(), &file.path);
                let answer = analysis.explain_resolved(model.as_ref(), &resolved);
                if answer.is_visible() {
                    visible.push(file.path.clone());
                }
                if answer.uncertain {
                    uncertain.push((file.path.clone(), answer));
                }
            }
            let uncertain_json: Vec<Value> = uncertain
                .iter()
                .map(|(path, answer)| {
                    let mut value = answer_json(answer);
                    value["path"] = json!(path);
                    value
                })
                .collect();
            out.summary(json!({"user": args.user, "folder": mapping.name, "visible": visible, "files": total, "uncertain": uncertain_json}), || {
                let mut lines = vec![format!("{} can see {} of {total} file(s):", args.user, visible.len())];
                lines.extend(visible.iter().map(|p| format!("  {p}")));
                if !uncertain.is_empty() {
                    lines.push("uncertain (another reading of Coveo's documentation changes the answer):".into());
                    for (path, answer) in &uncertain {
                        lines.push(format!("  {path}"));
                        lines.push(indent(&indent(&answer.to_string())));
                    }
                }
                lines.join("\n")
            });
        }
    }
    Ok(Outcome::ok())
}

/// Every line of `text`, two spaces in.
fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
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

fn rules_of(mapping: &FolderMapping) -> Result<Option<CompiledRules>, CliError> {
    mapping
        .compiled_permissions()
        .map_err(|e| CliError::usage("config_invalid", format!("folder {:?}: {e}", mapping.name)))
}

/// The item's permissions (`None`: no rule applies, so it has none).
fn model_of(rules: Option<&CompiledRules>, rel: &str) -> Option<PermissionModel> {
    rules
        .and_then(|r| r.resolve(rel))
        .map(|resolved| resolved.model)
}
