//! The Tauri layer: one thin `#[tauri::command]` per host call (it unwraps the managed
//! [`Host`] and calls the body of the same name), the app setup (paths, Sandbox, engine,
//! events on [`EVENT_CHANNEL`]) and the plugins (folder dialog, window state).

use std::path::PathBuf;
use std::sync::Arc;

use tauri::{Emitter, Manager, State};
use tauri_plugin_dialog::DialogExt;

use crate::dto::*;
use crate::host::{Host, HostPaths};

/// Test seam for the end-to-end suite: when set, `pick_folder` returns this path instead of
/// opening the native dialog (which WebDriver cannot drive). Read by `pick_folder` only.
pub const E2E_PICK_FOLDER_ENV: &str = "PUSHDECK_E2E_PICK_FOLDER";
/// Test seam for the end-to-end suite: when set, `pick_files` returns these paths (separated
/// by the OS path-list separator, `:` on Linux) instead of opening the native dialog. Read by
/// `pick_files` only; the paths are granted like chosen ones.
pub const E2E_PICK_FILES_ENV: &str = "PUSHDECK_E2E_PICK_FILES";

type HostState<'a> = State<'a, Arc<Host>>;
type Reply<T> = Result<T, HostError>;

macro_rules! call {
    ($name:ident -> $out:ty) => {
        #[tauri::command]
        async fn $name(host: HostState<'_>) -> Reply<$out> {
            host.$name().await
        }
    };
    ($name:ident($req:ty) -> $out:ty) => {
        #[tauri::command]
        async fn $name(host: HostState<'_>, request: $req) -> Reply<$out> {
            host.$name(request).await
        }
    };
}

call!(get_app_state -> AppState);
call!(dismiss_welcome -> AppState);
call!(use_sandbox -> AppState);
call!(list_catalog(ConnectionRequest) -> OrganizationCatalog);
call!(test_connection(ConnectionRequest) -> ConnectionTest);
call!(connect(ConnectionRequest) -> AppState);
call!(list_folders -> Vec<FolderSummary>);
call!(add_folder(AddFolderRequest) -> FolderSummary);
call!(add_sample_folder -> FolderSummary);
call!(folder_action(FolderActionRequest) -> ());
call!(plan_folder(FolderRef) -> SyncPlan);
call!(confirm_plan(ConfirmPlanRequest) -> ());
call!(preview_patterns(PatternRequest) -> PatternPreview);
call!(save_patterns(SavePatternsRequest) -> FolderSummary);
call!(list_problems(FolderRef) -> Vec<ItemProblem>);
call!(retry_problems(FolderRef) -> ());
call!(list_rules(FolderRef) -> Vec<RuleEntry>);
call!(preview_rule(RuleChangeRequest) -> AccessChange);
call!(save_rule(RuleChangeRequest) -> ());
call!(permission_model(FileRef) -> PermissionModelView);
call!(list_identities -> Vec<SecurityIdentity>);
call!(save_identities(SaveIdentitiesRequest) -> ());
call!(import_identities_csv(CsvImportRequest) -> CsvImport);
call!(push_identities -> IdentityPushResult);
call!(explain_access(ExplainRequest) -> AccessExplanation);
call!(who_can_see(FileRef) -> Vec<UserAccess>);
call!(what_can_user_see(UserRequest) -> TreeNode);
call!(list_activity(ActivityQuery) -> Vec<ActivityEntry>);
call!(list_sandbox_items(SandboxQuery) -> SandboxPage);
call!(get_sandbox_item(DocumentRef) -> SandboxItemDetail);
call!(prepare_test_items(PrepareTestItemsRequest) -> Vec<TestItem>);
call!(push_test_item(PushTestItemRequest) -> TestUpload);
call!(delete_test_items -> DeletedCount);

/// The native folder dialog; `None` when the person cancels.
#[tauri::command]
async fn pick_folder(app: tauri::AppHandle) -> Reply<Option<PickedFolder>> {
    let path = match std::env::var_os(E2E_PICK_FOLDER_ENV) {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            let (tx, rx) = tokio::sync::oneshot::channel();
            app.dialog()
                .file()
                .set_title("Choose a folder to sync")
                .pick_folder(move |picked| {
                    let _ = tx.send(picked);
                });
            let picked = rx.await.map_err(|_| {
                HostError::new(
                    ErrorCode::Cancelled,
                    "the folder dialog closed unexpectedly",
                )
            })?;
            match picked.map(|p| p.into_path()) {
                None => None,
                Some(Ok(p)) => Some(p),
                Some(Err(e)) => {
                    return Err(HostError::new(
                        ErrorCode::InvalidInput,
                        format!("the chosen folder is not a local path: {e}"),
                    ))
                }
            }
        }
    };
    Ok(path.map(|p| PickedFolder {
        suggested_name: p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "folder".into()),
        path: p.display().to_string(),
    }))
}

/// The native multi-file dialog, for test uploads: the chosen files are granted (the host reads
/// no other path) and described; empty when the person cancels.
#[tauri::command]
async fn pick_files(app: tauri::AppHandle, host: HostState<'_>) -> Reply<Vec<DroppedFile>> {
    let paths: Vec<PathBuf> = match std::env::var_os(E2E_PICK_FILES_ENV) {
        Some(list) => std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        None => {
            let (tx, rx) = tokio::sync::oneshot::channel();
            app.dialog()
                .file()
                .set_title("Choose files for a test upload")
                .pick_files(move |picked| {
                    let _ = tx.send(picked);
                });
            let picked = rx.await.map_err(|_| {
                HostError::new(ErrorCode::Cancelled, "the file dialog closed unexpectedly")
            })?;
            let mut paths = Vec::new();
            for file in picked.unwrap_or_default() {
                match file.into_path() {
                    Ok(p) => paths.push(p),
                    Err(e) => {
                        return Err(HostError::new(
                            ErrorCode::InvalidInput,
                            format!("a chosen file is not a local path: {e}"),
                        ))
                    }
                }
            }
            paths
        }
    };
    Ok(host.grant_files(paths))
}

/// Grants the paths of a native drop on the window (the only way a dropped file's path
/// reaches the host; the page's own drop events carry no paths).
fn grant_dropped<R: tauri::Runtime>(app: &impl Manager<R>, event: &tauri::DragDropEvent) {
    if let tauri::DragDropEvent::Drop { paths, .. } = event {
        if let Some(host) = app.try_state::<Arc<Host>>() {
            host.grant_files(paths.clone());
        }
    }
}

/// Builds and runs the desktop app (the binary's `main`).
pub fn run() {
    // Commands, the engine and the Sandbox run on threads below the window's priority
    // (see `priority`); registered before anything in Tauri starts.
    let runtime = match crate::priority::work_runtime() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("Pushdeck could not start its worker threads: {e}");
            std::process::exit(1);
        }
    };
    tauri::async_runtime::set(runtime.handle().clone());
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_window_state::Builder::default().build())
        // A window whose only content is the webview reports drops as window events; a webview
        // among several, as webview events. Both grant the dropped paths.
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::DragDrop(drop) = event {
                grant_dropped(window, drop);
            }
        })
        .on_webview_event(|webview, event| {
            if let tauri::WebviewEvent::DragDrop(drop) = event {
                grant_dropped(webview, drop);
            }
        })
        .setup(|app| {
            let paths = HostPaths {
                config_dir: app.path().app_config_dir()?,
                data_dir: app.path().app_data_dir()?,
            };
            let handle = app.handle().clone();
            let sink: crate::host::EventSink = Arc::new(move |event: HostEvent| {
                if let Err(e) = handle.emit(EVENT_CHANNEL, &event) {
                    tracing::warn!("cannot send an event to the window: {e}");
                }
            });
            // The Sandbox and the engine start before the window's first command is handled,
            // on a work thread: the threads they create inherit its lower priority.
            let host = tauri::async_runtime::block_on(tauri::async_runtime::spawn(Host::start(
                paths, sink,
            )))
            .map_err(|e| format!("the app's start-up task stopped: {e}"))??;
            app.manage(host);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            get_app_state,
            dismiss_welcome,
            use_sandbox,
            list_catalog,
            test_connection,
            connect,
            list_folders,
            pick_folder,
            pick_files,
            add_folder,
            add_sample_folder,
            folder_action,
            plan_folder,
            confirm_plan,
            preview_patterns,
            save_patterns,
            list_problems,
            retry_problems,
            list_identities,
            save_identities,
            import_identities_csv,
            push_identities,
            list_rules,
            preview_rule,
            save_rule,
            permission_model,
            explain_access,
            who_can_see,
            what_can_user_see,
            prepare_test_items,
            push_test_item,
            delete_test_items,
            list_activity,
            list_sandbox_items,
            get_sandbox_item,
        ])
        .build(tauri::generate_context!());
    match app {
        Ok(app) => {
            app.run(|_, _| {});
            drop(runtime);
        }
        Err(e) => {
            eprintln!("Pushdeck could not start: {e}");
            std::process::exit(1);
        }
    }
}
