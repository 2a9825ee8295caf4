// The activity log. Entries live in a plain array (it may hold 100,000 lines: no deep
// reactivity); `activity.version` tells the views that it changed.

import type { ActivityEntry } from "../../ipc";
import { host } from "../app/host";

/** How many lines to fetch at startup. The log keeps growing from events afterwards. */
const INITIAL_LINES = 100_000;

export const entries: ActivityEntry[] = [];
export const activity = $state({ version: 0, livePushed: 0, liveFailed: 0 });

export async function loadActivity(): Promise<void> {
  const lines = await host().listActivity({ afterId: null, limit: INITIAL_LINES });
  entries.length = 0;
  entries.push(...lines);
  activity.version++;
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
