// Permission evaluation for the fake host, following the Push API reference (§4.3–4.5):
// within a set, deny beats allow (allowAnonymous included); a level hides the item when a set
// denies, shows it when every set allows, and otherwise passes to the next level; no deciding
// level means hidden. The real app gets the same answers from the `permissions` crate.

import type {
  AccessExplanation,
  ChainLink,
  IdentityRef,
  LevelExplanation,
  PermissionModelView,
  SecurityIdentity,
  SetExplanation,
  SetPosition,
} from "../bindings";

/** For each identity a user holds, the chain that reaches it (the user first). */
export type Reach = Map<string, ChainLink[]>;

const key = (name: string) => name.toLowerCase();

/** Every identity a user holds: the user, their aliases, and every group containing any of them, transitively. */
export function reachOf(user: string, identities: SecurityIdentity[]): Reach {
  const byName = new Map(identities.map((i) => [key(i.name), i]));
  const self = byName.get(key(user));
  const start: IdentityRef = { name: self?.name ?? user, kind: "user" };
  const first: ChainLink = { relation: "viewer", identity: start };
  const reach: Reach = new Map([[key(start.name), [first]]]);
  const queue: IdentityRef[] = [start];
  for (const alias of self?.aliases ?? []) {
    const ref: IdentityRef = { name: alias, kind: "user" };
    reach.set(key(alias), [first, { relation: "aliasOf", identity: ref }]);
    queue.push(ref);
  }
  // parents: group names that list an identity as a member
  const parents = new Map<string, SecurityIdentity[]>();
  for (const identity of identities) {
    for (const member of identity.members) {
      const list = parents.get(key(member.name)) ?? [];
      list.push(identity);
      parents.set(key(member.name), list);
    }
  }
  while (queue.length > 0) {
    const current = queue.shift()!;
    const chain = reach.get(key(current.name))!;
    for (const group of parents.get(key(current.name)) ?? []) {
      if (reach.has(key(group.name))) continue;
      const ref: IdentityRef = { name: group.name, kind: group.kind };
      reach.set(key(group.name), [...chain, { relation: "memberOf", identity: ref }]);
      queue.push(ref);
    }
  }
  return reach;
}

function evaluateSet(
  set: PermissionModelView["levels"][number]["sets"][number],
  reach: Reach,
): SetExplanation {
  for (const denied of set.denied) {
    const chain = reach.get(key(denied.name));
    if (chain) return { verdict: "denied", chain, throughAnonymous: false };
  }
  if (set.allowAnonymous) return { verdict: "allowed", chain: [], throughAnonymous: true };
  for (const allowed of set.allowed) {
    const chain = reach.get(key(allowed.name));
    if (chain) return { verdict: "allowed", chain, throughAnonymous: false };
  }
  return { verdict: "unspecified", chain: [], throughAnonymous: false };
}

function describe(chain: ChainLink[], anonymous: boolean): string {
  if (anonymous) return "because the set allows anyone";
  if (chain.length <= 1) return "as the user named in the set";
  const via = chain.slice(1).map(({ relation, identity }) => {
    if (relation === "aliasOf") return `the alias ${identity.name}`;
    if (relation === "grantedTo") return `the granted identity ${identity.name}`;
    return `the ${identity.kind === "virtualGroup" ? "virtual group" : identity.kind} ${identity.name}`;
  });
  return `through ${via.join(" then ")}`;
}

export function explain(
  user: string,
  model: PermissionModelView,
  identities: SecurityIdentity[],
): AccessExplanation {
  const reach = reachOf(user, identities);
  const levels: LevelExplanation[] = [];
  let decided: { visible: boolean; at: SetPosition; chain: ChainLink[]; anon: boolean } | null = null;
  let partly: number | null = null;
  model.levels.forEach((level, levelIndex) => {
    if (decided) {
      levels.push({ verdict: "skipped", sets: level.sets.map(() => ({ verdict: "unspecified", chain: [], throughAnonymous: false })) });
      return;
    }
    const sets = level.sets.map((set) => evaluateSet(set, reach));
    const deniedAt = sets.findIndex((s) => s.verdict === "denied");
    if (deniedAt >= 0) {
      levels.push({ verdict: "hidden", sets });
      decided = { visible: false, at: { level: levelIndex, set: deniedAt }, chain: sets[deniedAt].chain, anon: false };
    } else if (sets.length > 0 && sets.every((s) => s.verdict === "allowed")) {
      levels.push({ verdict: "visible", sets });
      // The set that tips the level: the last one allowed through a named identity, else the last.
      let at = sets.length - 1;
      for (let i = sets.length - 1; i >= 0; i--) {
        if (!sets[i].throughAnonymous) {
          at = i;
          break;
        }
      }
      decided = { visible: true, at: { level: levelIndex, set: at }, chain: sets[at].chain, anon: sets[at].throughAnonymous };
    } else if (sets.some((s) => s.verdict === "allowed")) {
      // Allowed in some sets but not all (§4.5): inconclusive here, as the reference recommends.
      levels.push({ verdict: "partlyAllowed", sets });
      partly ??= levelIndex;
    } else {
      levels.push({ verdict: "inconclusive", sets });
    }
  });
  const d = decided as { visible: boolean; at: SetPosition; chain: ChainLink[]; anon: boolean } | null;
  const levelName = (i: number) => model.levels[i]?.name ?? (model.complete ? `level ${i + 1}` : "the permissions");
  let summary: string;
  if (!d) {
    summary = `Hidden: no level names ${user}, so nothing allows them to see this item.`;
  } else if (d.visible) {
    summary = `Visible: every set of ${levelName(d.at.level)} allows ${user}; set ${d.at.set + 1} ${describe(d.chain, d.anon)}.`;
  } else {
    summary = `Hidden: set ${d.at.set + 1} of ${levelName(d.at.level)} denies ${user} ${describe(d.chain, false)}.`;
  }
  return {
    user,
    visible: d?.visible ?? false,
    deciding: d?.at ?? null,
    chain: d?.chain ?? [],
    levels,
    uncertainLevel: d?.visible && partly !== null && partly < d.at.level ? partly : null,
    summary,
    model,
  };
}
