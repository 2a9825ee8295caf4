// Seed data for the fake host: a small organization whose identities and folder rules reproduce
// the Push API reference's worked examples (§4.6), for the screens' layout and flows. What anyone
// can see is not decided here: the same identities and models are in access-answers.json with
// the real host's answers (src-tauri/src/host/fake_answers.rs writes both; the unit tests check
// that they still agree).

import type {
  FolderRule,
  IdentityRef,
  PermissionModelView,
  PermissionSetView,
  SecurityIdentity,
} from "../bindings";

export const user = (name: string): IdentityRef => ({ name, kind: "user" });
export const group = (name: string): IdentityRef => ({ name, kind: "group" });

export function seedIdentities(): SecurityIdentity[] {
  const u = (name: string, aliases: string[] = []): SecurityIdentity => ({ name, kind: "user", members: [], aliases });
  const g = (name: string, members: IdentityRef[]): SecurityIdentity => ({ name, kind: "group", members, aliases: [] });
  return [
    u("asmith@example.com"),
    u("bjones@example.com"),
    u("cbrown@example.com"),
    u("dmoore@example.com"),
    u("emitchell@example.com", ["MysteryUserX"]),
    u("fgarcia@example.com"),
    u("hlee@example.com"),
    g("Editors", [user("asmith@example.com")]),
    g("SampleTeam1", [group("Editors")]),
    g("Contractors", [user("dmoore@example.com")]),
    g("SampleTeam2", [user("cbrown@example.com"), group("Contractors")]),
    g("HR", [user("hlee@example.com"), user("fgarcia@example.com")]),
  ];
}

const set = (allowed: IdentityRef[], denied: IdentityRef[] = [], allowAnonymous = false): PermissionSetView => ({
  allowAnonymous,
  allowed,
  denied,
});

/** The complete model of the reference's worked example (DOCS 25 + the JS sample's level 2). */
export function workedExampleModel(): PermissionModelView {
  return {
    complete: true,
    levels: [
      {
        name: "Level 1",
        sets: [
          set([], [], true),
          set([group("SampleTeam1")], [group("SampleTeam2")]),
          set([user("asmith@example.com"), user("cbrown@example.com")], [user("bjones@example.com")]),
        ],
      },
      {
        name: "Level 2",
        sets: [
          set([user("bjones@example.com"), user("emitchell@example.com")], [user("asmith@example.com")]),
          set([user("MysteryUserX")]),
        ],
      },
    ],
  };
}

/** Two levels the reference leaves open (§4.5): level 1 allows SampleTeam1's people in one of its
 *  two sets and denies them in none; level 2 allows them. Shown as uncertain, with both readings. */
export function leadsThenTeamModel(): PermissionModelView {
  return {
    complete: true,
    levels: [
      { name: "Leads", sets: [set([group("SampleTeam1")]), set([group("HR")])] },
      { name: "Team", sets: [set([group("SampleTeam1")])] },
    ],
  };
}

export function modelOfRule(rule: FolderRule): PermissionModelView {
  switch (rule.kind) {
    case "everyone":
      return { complete: false, levels: [{ name: null, sets: [set([], [], true)] }] };
    case "only":
      return { complete: false, levels: [{ name: null, sets: [set(rule.identities)] }] };
    case "everyoneExcept":
      return { complete: false, levels: [{ name: null, sets: [set([], rule.identities, true)] }] };
    case "complete":
      return rule.model;
  }
}

/** The item's `permissions` JSON exactly as the Push API receives it. */
export function wirePermissions(model: PermissionModelView): unknown {
  const wireSet = (s: PermissionSetView) => ({
    allowAnonymous: s.allowAnonymous,
    allowedPermissions: s.allowed.map(wireIdentity),
    deniedPermissions: s.denied.map(wireIdentity),
  });
  const wireIdentity = (i: IdentityRef) => ({
    identity: i.name,
    identityType: i.kind === "virtualGroup" ? "VirtualGroup" : i.kind[0].toUpperCase() + i.kind.slice(1),
  });
  if (!model.complete) return model.levels.flatMap((l) => l.sets.map(wireSet));
  return model.levels.map((l) => ({ ...(l.name ? { name: l.name } : {}), permissionSets: l.sets.map(wireSet) }));
}

/** A deterministic pseudo-random sequence (mulberry32), so the fake looks the same every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FakeFile {
  path: string;
  size: number;
  modifiedMs: number;
}

const EXTENSIONS = ["pdf", "docx", "html", "txt", "md", "pptx", "xlsx", "png"];
const WORDS = [
  "leave", "travel", "expenses", "security", "onboarding", "privacy", "retention", "handbook", "remote-work",
  "code-of-conduct", "procurement", "budget", "minutes", "roadmap", "benefits", "payroll", "incident", "backup",
];

export function makeFiles(seed: number, dirs: string[], count: number, now: number): FakeFile[] {
  const random = seeded(seed);
  const files: FakeFile[] = [];
  const seen = new Set<string>();
  for (let i = 0; files.length < count; i++) {
    const dir = dirs[Math.floor(random() * dirs.length)];
    const ext = EXTENSIONS[Math.floor(random() * EXTENSIONS.length)];
    const word = WORDS[Math.floor(random() * WORDS.length)];
    const year = 2019 + Math.floor(random() * 7);
    const path = `${dir ? dir + "/" : ""}${word}-${year}${i % 3 === 0 ? "" : "-v" + (i % 7)}.${ext}`;
    if (seen.has(path)) continue;
    seen.add(path);
    const size = Math.floor(2_000 + random() * random() * 6_000_000);
    files.push({ path, size, modifiedMs: now - Math.floor(random() * 400 * 86_400_000) });
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/** A permission model naming `count` identities across two levels, for the diagram benchmark. */
export function largeModel(count: number): { model: PermissionModelView; identities: SecurityIdentity[] } {
  const identities: SecurityIdentity[] = [];
  const refs: IdentityRef[] = [];
  for (let i = 0; i < count; i++) {
    const name = `user${String(i).padStart(4, "0")}@example.com`;
    identities.push({ name, kind: "user", members: [], aliases: [] });
    refs.push(user(name));
  }
  const quarter = Math.floor(count / 4);
  const model: PermissionModelView = {
    complete: true,
    levels: [
      { name: "Managers", sets: [set(refs.slice(0, quarter), refs.slice(quarter, quarter + 10))] },
      {
        name: "Staff",
        sets: [set(refs.slice(quarter + 10, quarter * 3)), set(refs.slice(quarter * 3), [], false)],
      },
    ],
  };
  return { model, identities };
}
