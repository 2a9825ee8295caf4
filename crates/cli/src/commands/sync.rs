//! `pushdeck sync FOLDER... [--once | --watch] [--dry-run] [--rebuild]` over the sync engine's
//! handle: one engine, one connection, the folders named (or the configuration file's).
//!
//! `--once` (the default) runs one full sync per folder and exits 0 only when every change was
//! accepted, else 1 with the per-file problems (2, 3 or 4 when the whole run stopped on a
//! configuration, key or network problem). `--watch` syncs, then follows changes until
//! Ctrl-C or SIGTERM, and shuts the engine down cleanly (a batch in flight is finished and
//! recorded; an abandoned one is re-pushed next time, never lost).

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;
use sync_engine::config::FolderMapping;
use sync_engine::engine::{
    Engine, EngineConfig, EngineError, EngineHandle, Event, FolderState, ItemResult, SyncReport,
};
use sync_engine::execute::Halt;

use crate::args::{GlobalArgs, SyncArgs};
use crate::connection::{self, load_config};
use crate::exit::{CliError, Exit, Outcome};
use crate::output::Output;

/// The state store's file name in the data folder.
const STATE_FILE: &str = "state.sqlite3";

pub async fn run(
    args: &SyncArgs,
    global: &GlobalArgs,
    out: &Arc<Output>,
) -> Result<Outcome, CliError> {
    for folder in &args.folders {
        if !folder.is_dir() {
            return Err(CliError::usage(
                "no_such_folder",
                format!(
                    "the folder {} does not exist (or is not a folder); check the path",
                    folder.display()
                ),
            ));
        }
    }
    let (config_file, config) = load_config(global)?;
    let conn = connection::connect(&args.connection, global).await?;
    let mut mappings = Vec::new();
    if args.folders.is_empty() {
        if config.folders.is_empty() {
            return Err(CliError::usage(
                "no_folders",
                format!("no folder to sync: name one (pushdeck sync FOLDER) or add [[folder]] tables to {}", config_file.display()),
            ));
        }
        for mapping in &config.folders {
            if mapping.organization != conn.organization {
                return Err(CliError::usage(
                    "several_organizations",
                    format!(
                        "folder {:?} belongs to organization {}, not {}; sync one organization at a time with --org",
                        mapping.name, mapping.organization, conn.organization
                    ),
                ));
            }
            let mut mapping = mapping.clone();
            mapping.watch = args.watch;
            mappings.push(mapping);
        }
    } else {
        let source = conn.source()?.to_string();
        for folder in &args.folders {
            let path = std::path::absolute(folder).unwrap_or_else(|_| folder.clone());
            let path = path.canonicalize().unwrap_or(path);
            let configured = config.folders.iter().find(|f| f.path == path);
            let mut mapping = match configured {
                Some(m) => m.clone(),
                None => {
                    let mut m = FolderMapping::new(
                        sync_engine::config::unique_folder_name(&path, |n| {
                            mappings.iter().any(|m: &FolderMapping| m.name == n)
                        }),
                        path.clone(),
                        conn.organization.clone(),
                        source.clone(),
                    );
                    m.provider = conn.provider.clone();
                    m
                }
            };
            mapping.organization = conn.organization.clone();
            if args.connection.source.is_some() || configured.is_none() {
                mapping.source = source.clone();
            }
            mapping.watch = args.watch;
            mappings.push(mapping);
        }
    }

    if !args.dry_run {
        conn.check_reachable().await?;
    }
    let state_path = state_path(&conn)?;
    let client = conn.client.clone();
    let mut engine_config = EngineConfig::new(
        state_path.clone(),
        Arc::new(move |_m: &FolderMapping| Ok(client.clone())),
    );
    // A one-shot run reports what the API accepted; following the Source Logs for minutes
    // afterwards is the long-running modes' job.
    engine_config.poll_source_logs = args.watch;
    // A one-shot run makes exactly the runs it asks for: no first run on add_folder racing the
    // requested one (a failing host would be tried twice), no periodic rescans or retries.
    engine_config.scheduled_runs = args.watch;
    let names: Vec<String> = mappings.iter().map(|m| m.name.clone()).collect();

    if args.dry_run {
        // The engine's pure preview: scan and plan against the state store, no engine loop
        // (a started engine syncs its folders at once), nothing sent.
        for mapping in &mappings {
            let plan = sync_engine::engine::preview(&state_path, mapping)
                .await
                .map_err(engine_error)?;
            let value = serde_json::to_value(&plan).unwrap_or_default();
            out.event(
                "plan",
                json!({"folder": mapping.name, "plan": value}),
                || plan.to_string().trim_end().to_string(),
            );
        }
        out.summary(json!({"dry_run": true, "folders": names}), || {
            "Dry run: nothing was sent.".into()
        });
        return Ok(Outcome::ok());
    }

    // Started empty and subscribed before the folders are added, so no event is missed (with
    // --watch an added folder starts syncing at once).
    let engine = Engine::start(engine_config, Vec::new())
        .await
        .map_err(engine_error)?;
    let printer = spawn_printer(&engine, out.clone());
    for mapping in mappings {
        engine.add_folder(mapping).await.map_err(engine_error)?;
    }
    let mut failed = 0usize;
    let mut stop: Option<CliError> = None;
    for name in &names {
        let report = if args.rebuild {
            engine.rebuild_now(name).await
        } else {
            engine.sync_now(name).await
        };
        let report = report.map_err(engine_error)?;
        tracing::debug!(report = %serde_json::to_string(&report).unwrap_or_default(), "sync report");
        let (problems, halt) = report_problems(name, &report, out);
        failed += problems;
        if let Some(err) = halt {
            stop = Some(err);
            break;
        }
    }
    if stop.is_none() && args.watch {
        out.event("watching", json!({"folders": names}), || {
            format!("Watching {} folder(s); press Ctrl-C to stop.", names.len())
        });
        wait_for_stop().await;
        out.event("stopping", json!({}), || {
            "Stopping: finishing the batch in flight...".into()
        });
    }
    engine.shutdown().await;
    // The handle is gone, so the event channel closes once the printer has read everything.
    let _ = printer.await;
    conn.settle().await;
    if let Some(err) = stop {
        return Err(err);
    }
    out.summary(json!({"folders": names, "failed": failed, "target": conn.target}), || {
        if failed == 0 {
            format!("{} folder(s) in sync with source {}.", names.len(), conn.source.as_deref().unwrap_or("?"))
        } else {
            format!("{failed} file(s) could not be synced (listed above); the next sync retries them.")
        }
    });
    Ok(Outcome { failed })
}

/// The state store: `PUSHDECK_STATE` (a file), else one per kind of target, so that what
/// was pushed to one never passes for pushed to another: `SANDBOX_DIR/state.sqlite3` for the
/// Sandbox (wiped with it), `DATA_DIR/state-HOST-PORT.sqlite3` for a custom `--api-url`, and
/// `DATA_DIR/state.sqlite3` for Coveo.
fn state_path(conn: &connection::Connection) -> Result<PathBuf, CliError> {
    if let Some(path) = std::env::var_os("PUSHDECK_STATE") {
        return Ok(PathBuf::from(path));
    }
    let data = || {
        sync_engine::config::default_data_dir()
            .map_err(|e| CliError::usage(e.code(), e.to_string()))
    };
    let (dir, file) = match conn.target {
        "sandbox" => (connection::sandbox_dir()?, STATE_FILE.to_string()),
        "custom" => {
            let origin: String = conn
                .origin
                .split("://")
                .last()
                .unwrap_or_default()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '.' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            (data()?, format!("state-{origin}.sqlite3"))
        }
        _ => (data()?, STATE_FILE.to_string()),
    };
    std::fs::create_dir_all(&dir).map_err(|e| {
        CliError::usage(
            "state_dir",
            format!("cannot create the data folder {}: {e}", dir.display()),
        )
    })?;
    Ok(dir.join(file))
}

fn engine_error(err: EngineError) -> CliError {
    CliError::usage("sync_engine", err.to_string())
}

/// Lists the problems of a report; returns how many files failed, and the error that stops
/// the whole command (a brake, or a halt no retry fixes).
fn report_problems(folder: &str, report: &SyncReport, out: &Output) -> (usize, Option<CliError>) {
    let mut failed = 0;
    let mut problem = |path: &str, kind: String, message: &str| {
        failed += 1;
        out.problem(
            "file_failed",
            json!({"folder": folder, "path": path, "kind": kind, "message": message}),
            || format!("failed: {folder}/{path}: {message}"),
        );
    };
    for p in &report.scan_problems {
        problem(&p.path, format!("{:?}", p.kind), &p.message);
    }
    if let Some(run) = &report.run {
        for p in &run.problems {
            problem(&p.path, format!("{:?}", p.kind), &p.message);
        }
    }
    if let Some(brake) = &report.brake {
        let err = CliError::new(
            Exit::ItemsFailed,
            "safety_brake",
            format!("folder {folder:?} was not synced: {brake}; check the folder, then run `pushdeck sync` again"),
        );
        return (failed, Some(err));
    }
    let halt = report
        .run
        .as_ref()
        .and_then(|r| r.halted.as_ref())
        .map(|halt| match halt {
            Halt::Quota { code, message } => {
                CliError::new(Exit::Unreachable, static_code(code), message.clone())
            }
            Halt::Unreachable { code, message } => {
                CliError::new(Exit::Unreachable, static_code(code), message.clone())
            }
            Halt::Fatal { code, message } => {
                let exit = match code.as_str() {
                    "unauthorized" | "forbidden" => Exit::Auth,
                    "transport" | "server_error" | "throttled" | "quota_reached" => {
                        Exit::Unreachable
                    }
                    _ => Exit::Usage,
                };
                CliError::new(exit, static_code(code), message.clone())
            }
        });
    (failed, halt)
}

fn static_code(code: &str) -> &'static str {
    match code {
        "unauthorized" => "unauthorized",
        "forbidden" => "forbidden",
        "not_found" => "not_found",
        "transport" => "unreachable",
        "server_error" => "unreachable",
        "throttled" => "throttled",
        "quota_reached" => "quota_reached",
        "unsupported_source" => "unsupported_source",
        _ => "sync_halted",
    }
}

/// Prints engine events as they come: one line per item for people, one object for `--json`.
fn spawn_printer(engine: &EngineHandle, out: Arc<Output>) -> tokio::task::JoinHandle<()> {
    let mut events = engine.subscribe();
    tokio::spawn(async move {
        let mut bar: Option<indicatif::ProgressBar> = None;
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => break,
            };
            match &event {
                Event::Item {
                    folder,
                    path,
                    result,
                } => {
                    let value = serde_json::to_value(&event).unwrap_or_default();
                    match result {
                        ItemResult::Pushed => {
                            out.event("item", value, || format!("pushed: {folder}/{path}"))
                        }
                        ItemResult::Deleted => {
                            out.event("item", value, || format!("deleted: {folder}/{path}"))
                        }
                        ItemResult::Indexed => {
                            out.event("item", value, || format!("indexed: {folder}/{path}"))
                        }
                        ItemResult::Rejected { reason } => out.problem("item", value, || {
                            format!("rejected by Coveo: {folder}/{path}: {reason}")
                        }),
                        // Problems are listed once, from the run's report.
                        ItemResult::Problem { .. } => {}
                    }
                }
                Event::FolderState {
                    state: FolderState::Syncing { done, total, .. },
                    ..
                } => {
                    let b = bar.get_or_insert_with(|| out.start_progress(*total as u64, "syncing"));
                    b.set_length(*total as u64);
                    b.set_position(*done as u64);
                }
                Event::FolderState {
                    state: FolderState::UpToDate { .. },
                    ..
                } => {
                    if bar.take().is_some() {
                        out.finish_progress();
                    }
                }
                Event::FolderState { .. } | Event::FolderRemoved { .. } => {}
                Event::Activity {
                    folder, message, ..
                } => {
                    tracing::info!(folder = %folder, "{message}");
                }
            }
        }
    })
}

/// Returns on Ctrl-C (SIGINT) or SIGTERM.
async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
