//! `pushdeck config show | check | path`.

use serde_json::json;

use crate::args::{ConfigCommand, GlobalArgs};
use crate::connection::{config_path, load_config};
use crate::exit::{CliError, Outcome};
use crate::output::Output;

pub fn run(
    command: &ConfigCommand,
    global: &GlobalArgs,
    out: &Output,
) -> Result<Outcome, CliError> {
    match command {
        ConfigCommand::Path => {
            let path = config_path(global)?;
            out.summary(json!({"path": path, "exists": path.exists()}), || {
                path.display().to_string()
            });
        }
        ConfigCommand::Show => {
            let (path, config) = load_config(global)?;
            let value = serde_json::to_value(&config).unwrap_or_default();
            out.summary(
                json!({"path": path, "exists": path.exists(), "config": value}),
                || {
                    if path.exists() {
                        format!("# {}\n{}", path.display(), config.to_toml().trim_end())
                    } else {
                        format!(
                            "# {} does not exist yet: no folders are configured",
                            path.display()
                        )
                    }
                },
            );
        }
        ConfigCommand::Check => {
            let path = config_path(global)?;
            let config = sync_engine::config::Config::load(&path)
                .map_err(|e| CliError::usage(e.code(), e.to_string()))?;
            let missing: Vec<String> = config
                .folders
                .iter()
                .filter(|f| !f.path.is_dir())
                .map(|f| format!("folder {:?}: {} does not exist", f.name, f.path.display()))
                .collect();
            for line in &missing {
                out.problem("folder_missing", json!({"message": line}), || {
                    format!("warning: {line}")
                });
            }
            out.summary(json!({"path": path, "valid": true, "folders": config.folders.len(), "missing_folders": missing.len()}), || {
                format!("{} is valid: {} folder(s)", path.display(), config.folders.len())
            });
        }
    }
    Ok(Outcome::ok())
}
