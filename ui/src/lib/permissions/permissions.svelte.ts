// Security identities and the folder being looked at in Permissions.

import type { IdentityRef, SecurityIdentity } from "../../ipc";
import { host } from "../app/host";

export const permissions = $state({
  identities: [] as SecurityIdentity[],
  folderId: "" as string,
  /** Files of the selected folder, for the file pickers. */
  files: [] as string[],
});

export async function loadIdentities(): Promise<void> {
  permissions.identities = await host().listIdentities();
}

export async function loadFiles(folderId: string, path: string): Promise<void> {
  const preview = await host().previewPatterns({ path, include: [], exclude: [], limit: 5000 });
  if (permissions.folderId === folderId) permissions.files = preview.matched;
}

export function users(): string[] {
  return permissions.identities.filter((i) => i.kind === "user").map((i) => i.name);
}

export function refOf(identity: SecurityIdentity): IdentityRef {
  return { name: identity.name, kind: identity.kind };
}

export function kindLabel(kind: IdentityRef["kind"]): string {
  return kind === "virtualGroup" ? "virtual group" : kind;
}
