// The Tauri implementation of Host: one `invoke` per command (argument `{ request }`), one event
// channel. The command names are checked against the Rust side (`dto::HOST_CALLS`) by a cargo test.

import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import { getCurrentWebview } from "@tauri-apps/api/webview";
import type { Host } from "./host";
import { toHostFailure } from "./host";
import type { HostEvent } from "./bindings";

/** The Tauri event that carries every HostEvent (`dto::EVENT_CHANNEL`). */
const EVENT_CHANNEL = "pushdeck://event";

async function call<T>(command: string, request?: unknown): Promise<T> {
  try {
    return await invoke<T>(command, request === undefined ? {} : { request });
  } catch (error) {
    throw toHostFailure(error);
  }
}

export function createTauriHost(): Host {
  return {
    kind: "tauri",
    getAppState: () => call("get_app_state"),
    dismissWelcome: () => call("dismiss_welcome"),
    pauseAll: (r) => call("pause_all", r),
    resumeAll: () => call("resume_all"),
    trayState: () => call("tray_state"),
    getAutostart: () => call("get_autostart"),
    setAutostart: (r) => call("set_autostart", r),
    autostartOffered: () => call("autostart_offered"),
    useSandbox: () => call("use_sandbox"),
    listCatalog: (r) => call("list_catalog", r),
    testConnection: (r) => call("test_connection", r),
    connect: (r) => call("connect", r),
    listFolders: () => call("list_folders"),
    pickFolder: () => call("pick_folder"),
    pickFiles: () => call("pick_files"),
    addFolder: (r) => call("add_folder", r),
    addSampleFolder: () => call("add_sample_folder"),
    folderAction: (r) => call("folder_action", r),
    planFolder: (r) => call("plan_folder", r),
    confirmPlan: (r) => call("confirm_plan", r),
    previewPatterns: (r) => call("preview_patterns", r),
    savePatterns: (r) => call("save_patterns", r),
    listProblems: (r) => call("list_problems", r),
    retryProblems: (r) => call("retry_problems", r),
    listIdentities: () => call("list_identities"),
    saveIdentities: (r) => call("save_identities", r),
    importIdentitiesCsv: (r) => call("import_identities_csv", r),
    pushIdentities: () => call("push_identities"),
    listRules: (r) => call("list_rules", r),
    previewRule: (r) => call("preview_rule", r),
    saveRule: (r) => call("save_rule", r),
    permissionModel: (r) => call("permission_model", r),
    explainAccess: (r) => call("explain_access", r),
    whoCanSee: (r) => call("who_can_see", r),
    whatCanUserSee: (r) => call("what_can_user_see", r),
    prepareTestItems: (r) => call("prepare_test_items", r),
    pushTestItem: (r) => call("push_test_item", r),
    deleteTestItems: () => call("delete_test_items"),
    listActivity: (r) => call("list_activity", r),
    listSandboxItems: (r) => call("list_sandbox_items", r),
    getSandboxItem: (r) => call("get_sandbox_item", r),
    listen: async (handler) => listen<HostEvent>(EVENT_CHANNEL, (event) => handler(event.payload)),
    listenFileDrops: (handler) =>
      getCurrentWebview().onDragDropEvent(({ payload }) => {
        if (payload.type === "enter" || payload.type === "over") handler({ kind: "over" });
        else if (payload.type === "leave") handler({ kind: "leave" });
        else {
          // Sizes are read by the shell in prepare_test_items; the page cannot read files.
          const files = payload.paths.map((path) => ({ name: path.split(/[\\/]/).pop() ?? path, size: 0, path, mediaType: null }));
          handler({ kind: "drop", files });
        }
      }),
  };
}
