// Buckets for the activity chart: items pushed and errors per time slice.

import type { ActivityEntry } from "../../ipc";

export interface Bucket {
  startMs: number;
  pushed: number;
  errors: number;
}

export function bucketize(lines: readonly ActivityEntry[], endMs: number, spanMs: number, count: number): Bucket[] {
  const size = spanMs / count;
  const start = endMs - spanMs;
  const buckets: Bucket[] = Array.from({ length: count }, (_, i) => ({ startMs: start + i * size, pushed: 0, errors: 0 }));
  // lines are in time order: walk back from the end until before the window
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i];
    if (line.atMs < start) break;
    const index = Math.min(count - 1, Math.floor((line.atMs - start) / size));
    if (line.kind === "pushed") buckets[index].pushed += line.count;
    else if (line.kind === "failed") buckets[index].errors += Math.max(1, line.count);
  }
  return buckets;
}
