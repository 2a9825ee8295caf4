// Folder cards: the list from the host, kept current by `folder` events (coalesced per frame).

import type { FolderSummary } from "../../ipc";
import { host } from "../app/host";

export const folders = $state({ list: [] as FolderSummary[], loaded: false });

export async function loadFolders(): Promise<void> {
  folders.list = await host().listFolders();
  folders.loaded = true;
}

/** Applies the latest summary of each changed folder (called once per frame). */
export function applyFolderUpdates(updates: Map<string, FolderSummary>, removed: Set<string>): void {
  if (removed.size) folders.list = folders.list.filter((f) => !removed.has(f.id));
  for (const [id, summary] of updates) {
    if (removed.has(id)) continue;
    const index = folders.list.findIndex((f) => f.id === id);
    if (index >= 0) folders.list[index] = summary;
    else folders.list.push(summary);
  }
}

export function folderName(id: string | null): string {
  if (!id) return "";
  return folders.list.find((f) => f.id === id)?.name ?? id;
}
