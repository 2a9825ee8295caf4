// The one Host of this page, set once at startup (see main.ts).

import type { Host } from "../../ipc";

let current: Host | null = null;

export function setHost(host: Host): void {
  current = host;
}

export function host(): Host {
  if (!current) throw new Error("the host is not set yet: main.ts sets it before mounting the app");
  return current;
}
