// Picks the host at startup: the Tauri shell when the page runs inside it, the fake otherwise
// (or when the address says `?host=fake`). The Tauri module is loaded only when needed, so the
// browser build never touches Tauri's globals.

import type { Host } from "./host";

export type * from "./host";
export { HostFailure, toHostFailure } from "./host";

export function wantsFakeHost(location: Location, global: object): boolean {
  const params = new URLSearchParams(location.search);
  if (params.get("host") === "fake") return true;
  return !("__TAURI_INTERNALS__" in global);
}

export async function createHost(): Promise<Host> {
  if (wantsFakeHost(window.location, window)) {
    const { createFakeHost, fakeOptionsFromUrl } = await import("./fake/fake-host");
    return createFakeHost(fakeOptionsFromUrl(window.location));
  }
  const { createTauriHost } = await import("./tauri");
  return createTauriHost();
}
