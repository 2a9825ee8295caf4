// Short messages shown in the corner: host errors (their message, never parsed) and news.

import { toHostFailure } from "../../ipc";

export interface Notice {
  id: number;
  tone: "info" | "error";
  text: string;
}

let nextId = 1;
export const notices = $state<Notice[]>([]);

/** How long a notice stays. Long enough to read two sentences. */
const NOTICE_MS = 7000;

export function notify(text: string, tone: Notice["tone"] = "info"): void {
  const id = nextId++;
  notices.push({ id, tone, text });
  setTimeout(() => dismiss(id), NOTICE_MS);
}

export function dismiss(id: number): void {
  const index = notices.findIndex((n) => n.id === id);
  if (index >= 0) notices.splice(index, 1);
}

/** Runs a host call; on failure shows its message and returns undefined. */
export async function attempt<T>(run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (error) {
    notify(toHostFailure(error).message, "error");
    return undefined;
  }
}
