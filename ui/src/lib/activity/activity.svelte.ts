// The activity log. Entries live in a plain array (it may hold 100,000 lines: no deep
// reactivity); `activity.version` tells the views that it changed.

import type { ActivityEntry } from "../../ipc";
import { host } from "../app/host";

/** Lines fetched at startup and per page of older lines when the list is scrolled to its end.
 *  Small enough to cross the IPC in a few milliseconds; the log grows from events afterwards. */
export const ACTIVITY_PAGE = 2_000;

export const entries: ActivityEntry[] = [];
export const activity = $state({ version: 0, livePushed: 0, liveFailed: 0, olderExhausted: false });
let loadingOlder = false;

export async function loadActivity(): Promise<void> {
  const lines = await host().listActivity({ afterId: null, beforeId: null, limit: ACTIVITY_PAGE });
  entries.length = 0;
  entries.push(...lines);
  activity.olderExhausted = lines.length < ACTIVITY_PAGE;
  activity.version++;
}

/** Fetches the page before the oldest line held (once at a time). */
export async function loadOlderActivity(): Promise<void> {
  if (loadingOlder || activity.olderExhausted || entries.length === 0) return;
  loadingOlder = true;
  try {
    const lines = await host().listActivity({ afterId: null, beforeId: entries[0].id, limit: ACTIVITY_PAGE });
    entries.unshift(...lines);
    activity.olderExhausted = lines.length < ACTIVITY_PAGE;
    activity.version++;
  } finally {
    loadingOlder = false;
  }
}

/** Appends the lines received during one frame. */
export function appendActivity(lines: ActivityEntry[], pushed: number, failed: number): void {
  if (lines.length) {
    for (const line of lines) entries.push(line);
    activity.version++;
  }
  if (pushed) activity.livePushed += pushed;
  if (failed) activity.liveFailed += failed;
}
