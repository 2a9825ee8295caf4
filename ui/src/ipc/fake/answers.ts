// Access answers for the fake host, from fixtures written by Rust. The fake host decides nothing
// about who can see what: it looks the question up, and a question no fixture case asks is
// answered "not in the fixtures", never guessed. The access truth is the `permissions` crate's
// one access analysis (ARCHITECTURE.md); the fake covers the UI's layout and flows, not rules.
//
// Two fixtures have this shape ({worlds, models?, cases}):
// - `access-answers.json` (next to this file), written by the app host
//   (src-tauri/src/host/fake_answers.rs): what the host answers for the fake's sample
//   organization. A case is {world, model, user, answer} (View as; `answer` without the model)
//   or {world, model, whoCanSee}. Worlds are identity lists as the app stores them; models are
//   the permission models the UI draws. The fake host answers from it.
// - `ui/test/fixtures/access-cases.json`, written by the permissions crate
//   (crates/permissions/tests/querying_user.rs): Coveo's documented examples and the readings
//   of the querying user. A case is {name, world, permissions, user, expected}. The UI's unit
//   tests replay it through `answerFor` too.
//
// A question is a case without its answer, with the world and the model given by content
// (not by name). Matching is exact: values are compared as canonical JSON (object keys sorted,
// array order kept).

/** The part of a case that asks. */
export interface AccessQuestion {
  /** The world's content: an identity list, or providers with their identity batches. */
  world: unknown;
  /** The item's permissions as the fixture spells them (a model, the wire JSON, or null). */
  item: unknown;
  /** Who asks (`undefined` for "who can see"). */
  user?: unknown;
  /** True for "who can see" (every person, then anonymous). */
  whoCanSee?: boolean;
}

export interface AccessFixture {
  worlds: Record<string, unknown>;
  models?: Record<string, unknown>;
  cases: Record<string, unknown>[];
}

/** What a question no fixture case asks gets: said plainly, never guessed. */
export class NotInFixtures extends Error {
  constructor(what: string) {
    super(
      `Not in the fixtures: the fake host (a browser without the app) answers access questions only from what the real host answered (ui/src/ipc/fake/access-answers.json), and ${what}. Run the desktop app for the real answer.`,
    );
    this.name = "NotInFixtures";
  }
}

/** Canonical JSON: object keys sorted, arrays in order, `undefined` fields left out. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonical(v))).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

const keyOf = (world: string, item: string, user: unknown, whoCanSee: boolean) =>
  `${world}\u0000${item}\u0000${whoCanSee ? "who" : canonical(user ?? null)}`;

/** The fixture's cases by question, and its worlds by content. */
export class AnswerBook {
  private readonly answers = new Map<string, unknown>();
  private readonly worldNames = new Map<string, string>();
  /** The people each world's "who can see" lists, in order (anonymous left out). */
  readonly people = new Map<string, string[]>();

  constructor(readonly fixture: AccessFixture) {
    const worldKeys = new Map<string, string>();
    for (const [name, content] of Object.entries(fixture.worlds)) {
      const key = canonical(content);
      worldKeys.set(name, key);
      this.worldNames.set(key, name);
    }
    const modelKeys = new Map(Object.entries(fixture.models ?? {}).map(([name, m]) => [name, canonical(m)]));
    for (const c of fixture.cases) {
      const world = worldKeys.get(c.world as string);
      const item = "model" in c ? modelKeys.get(c.model as string) : canonical(c.permissions ?? null);
      if (world === undefined || item === undefined) throw new Error(`a fixture case names an unknown world or model: ${canonical(c)}`);
      const whoCanSee = "whoCanSee" in c;
      const key = keyOf(world, item, c.user, whoCanSee);
      if (this.answers.has(key)) throw new Error(`two fixture cases ask the same question: ${canonical(c)}`);
      this.answers.set(key, "expected" in c ? c.expected : "answer" in c ? c.answer : c.whoCanSee);
      if (whoCanSee) {
        const rows = c.whoCanSee as { user: string; anonymous: boolean }[];
        this.people.set(c.world as string, rows.filter((r) => !r.anonymous).map((r) => r.user));
      }
    }
  }

  /** The name of the fixture world with this content, if any. */
  worldName(worldKey: string): string | undefined {
    return this.worldNames.get(worldKey);
  }

  /** The answer to a question given by canonical keys (callers cache the keys of big values). */
  answerByKeys(worldKey: string, itemKey: string, user: unknown, whoCanSee = false): unknown {
    const key = keyOf(worldKey, itemKey, user, whoCanSee);
    if (this.answers.has(key)) return this.answers.get(key);
    const world = this.worldNames.get(worldKey);
    if (world === undefined) throw new NotInFixtures("the identities differ from every identity list in the fixtures (they were edited or imported)");
    const who = whoCanSee ? `who can see an item with these permissions in "${world}"` : `the case of ${canonical(user)} on an item with these permissions in "${world}"`;
    throw new NotInFixtures(`${who} is not there`);
  }

  /** The fake's evaluation entry point: the answer of the case that asks `question`. */
  answerFor(question: AccessQuestion): unknown {
    return this.answerByKeys(canonical(question.world), canonical(question.item ?? null), question.user, question.whoCanSee ?? false);
  }
}
