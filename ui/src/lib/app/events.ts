// Host events reach the views once per animation frame. The host already coalesces a sync's
// item outcomes into `items` counts (a few per second per folder) and a folder's card into its
// latest state; several of them still arrive between two frames.

import type { ActivityEntry, FolderSummary, HostEvent, TestUpload } from "../../ipc";
import { host } from "./host";
import { applyFolderUpdates } from "../folders/folders.svelte";
import { appendActivity } from "../activity/activity.svelte";
import { applyUploads } from "../uploads/uploads.svelte";
import { notify } from "./notices.svelte";

let folderUpdates = new Map<string, FolderSummary>();
let removed = new Set<string>();
let lines: ActivityEntry[] = [];
let uploads = new Map<string, TestUpload>();
let pushed = 0;
let failed = 0;
let scheduled = false;

function flush(): void {
  scheduled = false;
  const f = folderUpdates;
  const r = removed;
  const l = lines;
  const u = uploads;
  const p = pushed;
  const x = failed;
  folderUpdates = new Map();
  removed = new Set();
  lines = [];
  uploads = new Map();
  pushed = 0;
  failed = 0;
  applyFolderUpdates(f, r);
  appendActivity(l, p, x);
  if (u.size) applyUploads(u);
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  // rAF pauses in hidden windows; the timeout keeps state current there too.
  const timer = setTimeout(flush, 250);
  requestAnimationFrame(() => {
    clearTimeout(timer);
    if (scheduled) flush();
  });
}

export function receive(event: HostEvent): void {
  switch (event.kind) {
    case "folder":
      folderUpdates.set(event.folder.id, event.folder);
      break;
    case "folderRemoved":
      removed.add(event.folderId);
      break;
    case "items":
      pushed += event.pushed + event.deleted + event.indexed + event.rejected;
      failed += event.failed;
      break;
    case "item":
      // A failure's reason; it is counted in `items` and has its line in `activity`.
      break;
    case "activity":
      lines.push(event.entry);
      break;
    case "testUpload":
      uploads.set(event.upload.uploadId, event.upload);
      break;
    case "attention":
      notify(`${event.message}: ${event.problems} ${event.problems === 1 ? "problem" : "problems"}. Open Folders to see them.`, "error");
      break;
  }
  schedule();
}

export function startEvents(): Promise<() => void> {
  return host().listen(receive);
}
