//! The Tauri layer: one thin `#[tauri::command]` per host call (it unwraps the managed
//! [`Host`] and calls the body of the same name), the app setup (paths, Sandbox, engine,
//! events on [`EVENT_CHANNEL`]), the plugins (folder dialog, window state, one instance, start
//! at login, notifications) and the desktop companion: the tray menu, the window that hides
//! instead of closing while folders sync, and the notifications when a folder halts (decided
//! by `crate::companion`, drawn here).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Emitter, Manager, State};
use tauri_plugin_autostart::ManagerExt as _;
use tauri_plugin_dialog::DialogExt;
use tauri_plugin_notification::NotificationExt;

use crate::companion::{Companion, Notice};
use crate::dto::*;
use crate::host::{Host, HostPaths};

/// The argument the login item starts the app with: it starts with its window hidden when
/// folders sync (`tauri-plugin-autostart`).
pub const BACKGROUND_ARG: &str = "--background";

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
call!(resume_all -> AppState);
call!(autostart_offered -> AppState);

#[tauri::command]
async fn pause_all(
    app: AppHandle,
    host: HostState<'_>,
    request: PauseAllRequest,
) -> Reply<AppState> {
    let state = host.pause_all(request).await;
    refresh_tray(&app);
    state
}

/// What the tray's state line says now (the tray is not reachable from the page).
#[tauri::command]
async fn tray_state(app: AppHandle) -> Reply<TrayState> {
    Ok(current_tray(&app))
}

/// Whether Pushdeck starts at login (the login item of `tauri-plugin-autostart`).
#[tauri::command]
async fn get_autostart(app: AppHandle) -> Reply<bool> {
    app.autolaunch().is_enabled().map_err(autostart_error)
}

#[tauri::command]
async fn set_autostart(app: AppHandle, request: AutostartRequest) -> Reply<bool> {
    let launcher = app.autolaunch();
    let done = if request.enabled {
        launcher.enable()
    } else {
        launcher.disable()
    };
    done.map_err(autostart_error)?;
    launcher.is_enabled().map_err(autostart_error)
}

fn autostart_error(e: impl std::fmt::Display) -> HostError {
    HostError::new(
        ErrorCode::Internal,
        format!("Pushdeck could not change its start at login: {e}"),
    )
}
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

/// The desktop companion's state: the folder cards from the host's events, the tray's items.
struct Shell {
    companion: Mutex<Companion>,
    tray: Mutex<Option<TrayItems>>,
    /// Whether the person has been told that closing the window keeps syncing.
    told_hidden: Mutex<bool>,
}

struct TrayItems {
    icon: tauri::tray::TrayIcon,
    status: MenuItem<tauri::Wry>,
    resume: MenuItem<tauri::Wry>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Shows the main window, in front (the tray's "Open", a second launch).
fn show_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// The tray's state line now.
fn current_tray(app: &AppHandle) -> TrayState {
    let until = app
        .try_state::<Arc<Host>>()
        .and_then(|h| h.paused_until_ms());
    let words = until.and_then(|ms| {
        let end = chrono::DateTime::from_timestamp_millis(ms as i64)?.with_timezone(&chrono::Local);
        Some(crate::companion::until_words(&end, &chrono::Local::now()))
    });
    match app.try_state::<Shell>() {
        Some(shell) => lock(&shell.companion).tray(words.as_deref()),
        None => crate::companion::tray_state(&[], words.as_deref()),
    }
}

/// Redraws the tray's state line, tooltip and "Resume all".
fn refresh_tray(app: &AppHandle) {
    let state = current_tray(app);
    let Some(shell) = app.try_state::<Shell>() else {
        return;
    };
    let tray = lock(&shell.tray);
    if let Some(tray) = tray.as_ref() {
        let _ = tray.status.set_text(&state.line);
        let _ = tray.resume.set_enabled(state.paused);
        let _ = tray.icon.set_tooltip(Some(&state.tooltip));
    }
}

fn notify(app: &AppHandle, notice: &Notice) {
    if let Err(e) = app
        .notification()
        .builder()
        .title(&notice.title)
        .body(&notice.body)
        .show()
    {
        tracing::warn!("cannot show a desktop notification: {e}");
    }
}

/// A host event as the companion sees it: the cards it keeps, a notification when a folder
/// halts, the tray redrawn.
fn companion_event(app: &AppHandle, event: &HostEvent) {
    if !Companion::concerns_tray(event) {
        return;
    }
    let Some(shell) = app.try_state::<Shell>() else {
        return;
    };
    let notice = lock(&shell.companion).on_event(event);
    if let Some(notice) = notice {
        notify(app, &notice);
    }
    refresh_tray(app);
}

enum TrayAction {
    Pause(PauseAllFor),
    Resume,
}

/// Runs a "pause all" or "resume all" of the tray menu, then redraws the tray.
fn tray_action(app: &AppHandle, action: TrayAction) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if let Some(host) = app.try_state::<Arc<Host>>() {
            let host = host.inner().clone();
            let done = match action {
                TrayAction::Pause(duration) => host.pause_all(PauseAllRequest { duration }).await,
                TrayAction::Resume => host.resume_all().await,
            };
            if let Err(e) = done {
                tracing::warn!("the tray's action failed: {}", e.message);
            }
        }
        refresh_tray(&app);
    });
}

/// The tray icon and its menu: the state line, open, pause all (an hour, until tomorrow),
/// resume all, quit.
fn build_tray(app: &AppHandle) -> tauri::Result<TrayItems> {
    let status = MenuItem::with_id(app, "status", "Starting…", false, None::<&str>)?;
    let open = MenuItem::with_id(app, "open", "Open Pushdeck", true, None::<&str>)?;
    let hour = MenuItem::with_id(
        app,
        "pause-hour",
        "Pause all for 1 hour",
        true,
        None::<&str>,
    )?;
    let tomorrow = MenuItem::with_id(
        app,
        "pause-tomorrow",
        "Pause all until tomorrow, 08:00",
        true,
        None::<&str>,
    )?;
    let resume = MenuItem::with_id(app, "resume", "Resume all", false, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Pushdeck", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &status,
            &PredefinedMenuItem::separator(app)?,
            &open,
            &hour,
            &tomorrow,
            &resume,
            &PredefinedMenuItem::separator(app)?,
            &quit,
        ],
    )?;
    let mut builder = TrayIconBuilder::with_id("pushdeck")
        .menu(&menu)
        .tooltip("Pushdeck")
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "open" => show_window(app),
            "pause-hour" => tray_action(app, TrayAction::Pause(PauseAllFor::OneHour)),
            "pause-tomorrow" => tray_action(app, TrayAction::Pause(PauseAllFor::UntilTomorrow)),
            "resume" => tray_action(app, TrayAction::Resume),
            "quit" => app.exit(0),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    let icon = builder.build(app)?;
    Ok(TrayItems {
        icon,
        status,
        resume,
    })
}

/// Closing the window while folders sync hides it (the tray brings it back); with no tray, or
/// no folder syncing, it closes and Pushdeck quits.
fn on_close_requested(window: &tauri::Window, api: &tauri::CloseRequestApi) {
    let app = window.app_handle();
    let Some(shell) = app.try_state::<Shell>() else {
        return;
    };
    let has_tray = lock(&shell.tray).is_some();
    if !has_tray || !lock(&shell.companion).syncs() {
        return;
    }
    api.prevent_close();
    let _ = window.hide();
    let mut told = lock(&shell.told_hidden);
    if !*told {
        *told = true;
        notify(
            app,
            &Notice {
                title: "Pushdeck keeps syncing".into(),
                body: "Your folders stay in sync while the window is closed. Open it or quit from the Pushdeck icon in the tray.".into(),
            },
        );
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
        // First: a second launch hands over to the running app (two engines must never share
        // one state store) and exits; the running app shows its window.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            show_window(app)
        }))
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec![BACKGROUND_ARG]),
        ))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_window_state::Builder::default().build())
        // A window whose only content is the webview reports drops as window events; a webview
        // among several, as webview events. Both grant the dropped paths.
        .on_window_event(|window, event| match event {
            tauri::WindowEvent::DragDrop(drop) => grant_dropped(window, drop),
            tauri::WindowEvent::CloseRequested { api, .. } => on_close_requested(window, api),
            _ => {}
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
            app.manage(Shell {
                companion: Mutex::new(Companion::default()),
                tray: Mutex::new(None),
                told_hidden: Mutex::new(false),
            });
            let handle = app.handle().clone();
            let sink: crate::host::EventSink = Arc::new(move |event: HostEvent| {
                companion_event(&handle, &event);
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
            let folders = tauri::async_runtime::block_on(host.list_folders()).unwrap_or_default();
            app.manage(host);
            let handle = app.handle().clone();
            let (companion, notices) = Companion::new(folders);
            let background = std::env::args().any(|a| a == BACKGROUND_ARG) && companion.syncs();
            if let Some(shell) = handle.try_state::<Shell>() {
                *lock(&shell.companion) = companion;
                // Without a tray (no status area on this desktop), closing the window quits.
                match build_tray(&handle) {
                    Ok(items) => *lock(&shell.tray) = Some(items),
                    Err(e) => tracing::warn!("no tray icon: {e}; closing the window quits"),
                }
            }
            for notice in &notices {
                notify(&handle, notice);
            }
            refresh_tray(&handle);
            // Started at login with folders to sync: the window stays hidden until asked for.
            if background && lock(&handle.state::<Shell>().tray).is_some() {
                if let Some(window) = handle.get_webview_window("main") {
                    let _ = window.hide();
                }
            }
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
            pause_all,
            resume_all,
            tray_state,
            get_autostart,
            set_autostart,
            autostart_offered,
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
