// Stands in for the Tauri shell in a plain browser: bundled to an IIFE (pretest) and injected
// before the app's scripts, so the page picks the real Tauri host (src/ipc/tauri.ts) and every
// invoke and event goes through @tauri-apps/api. Records each call in window.__calls.
import { mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";

type Call = [string, unknown];
const w = window as unknown as { __calls: Call[]; __emit: typeof emit };
w.__calls = [];
w.__emit = emit;

const folder = {
  id: "f1",
  name: "Contracts",
  path: "/home/ada/Contracts",
  sourceId: "documents",
  state: { kind: "paused", reason: "Waiting for you to confirm the plan of the first sync." },
  lastSyncAtMs: null,
  itemCount: 0,
  include: [],
  exclude: [],
  awaitingFirstSync: true,
};
const model = { complete: false, levels: [{ name: null, sets: [{ allowAnonymous: true, allowed: [], denied: [] }] }] };

mockWindows("main");
mockIPC(
  (cmd, args) => {
    if (cmd.startsWith("plugin:")) return undefined;
    w.__calls.push([cmd, args]);
    switch (cmd) {
      case "get_app_state":
        return { mode: "sandbox", connection: null, firstLaunch: false, keyringAvailable: true, version: "test" };
      case "list_folders":
        return [folder];
      case "list_activity":
        return [];
      case "list_identities":
        return [];
      case "plan_folder":
        return {
          planId: "plan-1", folderId: "f1", added: 7, updated: 0, deleted: 0, moved: 0, unchanged: 0, skipped: 1, bytes: 70_000,
          sample: null, warnings: ["This plan is a test: the shell would list safety brakes here."],
        };
      case "confirm_plan":
        throw { code: "conflict", message: "The folder changed since this plan was made. Look at the new plan before starting." };
      case "prepare_test_items":
        return (args as { request: { files: { name: string; path: string }[] } }).request.files.map((f, i) => ({
          previewId: `p${i}`,
          item: {
            documentId: "file://" + f.path, title: f.name, fileName: f.name, size: 10, compressedSize: 10, compression: "uncompressed",
            metadata: [], permissions: model, json: "{}",
          },
        }));
      default:
        throw { code: "internal", message: `the test shell does not implement ${cmd}` };
    }
  },
  { shouldMockEvents: true },
);
