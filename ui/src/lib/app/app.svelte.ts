// App-wide state: what the app is connected to and which screen is shown.

import type { AppState, DroppedFile } from "../../ipc";

export type View = "folders" | "permissions" | "uploads" | "activity" | "sandbox" | "connection";

export const VIEWS: { id: View; label: string }[] = [
  { id: "folders", label: "Folders" },
  { id: "permissions", label: "Permissions" },
  { id: "uploads", label: "Test uploads" },
  { id: "activity", label: "Activity" },
  { id: "sandbox", label: "Sandbox browser" },
  { id: "connection", label: "Connection" },
];

export const app = $state({
  state: null as AppState | null,
  view: "folders" as View,
  /** Files dropped on the window, waiting for the Test uploads screen to prepare them. */
  dropped: [] as DroppedFile[],
  /** A folder whose plan the Folders screen should open (from the welcome banner). */
  planFor: null as string | null,
});
