// Unit tests of the pure modules (bundled from TypeScript by the pretest step).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as unit from "../test-dist/unit.mjs";

const { globToRegExp, AnswerBook, NotInFixtures, canonical, seedIdentities, workedExampleModel, leadsThenTeamModel, largeModel, modelOfRule, wirePermissions, user, group, bucketize, formatBytes, formatDuration } = unit;

const matches = (pattern, path) => globToRegExp(pattern).test(path);

test("glob patterns follow gitignore habits", () => {
  assert.ok(matches("*.pdf", "a.pdf") && matches("*.pdf", "HR/Benefits/a.pdf"), "no slash: any depth");
  assert.ok(!matches("*.pdf", "a.pdfx"));
  assert.ok(matches("HR/**", "HR/a.txt") && matches("HR/**", "HR/B/c.txt"));
  assert.ok(!matches("HR/**", "XHR/a.txt") && !matches("HR/**", "Other/HR/a.txt"), "a slash anchors at the root");
  assert.ok(matches("Benefits/", "HR/Benefits/x.pdf") && !matches("Benefits/", "HR/Benefits.pdf"), "trailing slash: folders only");
  assert.ok(matches("doc?.txt", "doc1.txt") && !matches("doc?.txt", "doc12.txt"));
  assert.ok(matches("[ab]*.md", "b-notes.md") && !matches("[!ab]*.md", "b-notes.md"));
  assert.equal(globToRegExp("[abc"), null, "an unclosed [ is refused");
});

// The fake host decides nothing about access: it answers from fixtures written by Rust. Each
// fixture is replayed here through the fake's entry point (AnswerBook.answerFor), question by
// question (the world and the item given by content), and must give the case's answer.
const readJson = (path) => JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8"));
const crateCases = readJson("./fixtures/access-cases.json");
const hostAnswers = readJson("../src/ipc/fake/access-answers.json");

test("every case of the permissions crate's fixture is answered the same through the fake's entry point", () => {
  const book = new AnswerBook(crateCases);
  for (const c of crateCases.cases) {
    const answer = book.answerFor({ world: crateCases.worlds[c.world], item: c.permissions, user: c.user });
    assert.deepEqual(answer, c.expected, c.name);
  }
  // The cases the shared fixture must cover.
  const names = crateCases.cases.map((c) => c.name).join("\n");
  for (const covered of ["documented simple example", "documented complete example", "differing only in case", "another type", "provider that does not cascade", "granted identity", "alias of an alias", "cascading through another", "no rule, so no permissions", "anonymous"]) {
    assert.match(names, new RegExp(covered), `the fixture covers: ${covered}`);
  }
});

test("Coveo's documented examples give the documented answer for every user in the fixture", () => {
  const documented = {
    // cbrown (denied by SampleGroup in C), dmoore and zlee (not allowed by B): "any other user".
    "documented simple example": { asmith: false, bjones: false, cbrown: false, dmoore: false, "emitchell@example.com": true, anonymous: false, zlee: false },
    "documented complete example": { asmith: true, bjones: false, cbrown: false, dmoore: false, "emitchell@example.com": true, anonymous: false, zlee: false },
  };
  const book = new AnswerBook(crateCases);
  for (const [example, answers] of Object.entries(documented)) {
    for (const [who, visible] of Object.entries(answers)) {
      const c = crateCases.cases.find((c) => c.name === `${example}: ${who}`);
      assert.ok(c, `${example}: ${who} is in the fixture`);
      const answer = book.answerFor({ world: crateCases.worlds[c.world], item: c.permissions, user: c.user });
      assert.equal(answer.visible, visible, `${example}: ${who}`);
      assert.equal(answer.otherReadings.length, 0, `the documentation answers ${example}: ${who}`);
    }
  }
});

test("every answer the host wrote for the fake is answered the same through the entry point", () => {
  const book = new AnswerBook(hostAnswers);
  for (const c of hostAnswers.cases) {
    const question = { world: hostAnswers.worlds[c.world], item: hostAnswers.models[c.model], user: c.user, whoCanSee: "whoCanSee" in c };
    assert.deepEqual(book.answerFor(question), c.answer ?? c.whoCanSee, `${c.world} / ${c.model} / ${c.user ?? "who can see"}`);
  }
});

test("a question no fixture case asks is answered 'not in the fixtures', never guessed", () => {
  const book = new AnswerBook(hostAnswers);
  const world = hostAnswers.worlds.sample;
  const item = hostAnswers.models.everyone;
  assert.throws(() => book.answerFor({ world, item, user: "someone-else@example.com" }), (e) => e instanceof NotInFixtures && /^Not in the fixtures/.test(e.message));
  assert.throws(() => book.answerFor({ world: [...world, user("zed@example.com")], item, user: "asmith@example.com" }), /identities differ/);
  const ignoringCase = { complete: false, levels: [{ name: null, sets: [{ allowAnonymous: false, allowed: [group("hr")], denied: [] }] }] };
  assert.throws(() => book.answerFor({ world, item: ignoringCase, user: "hlee@example.com" }), NotInFixtures);
});

test("the fake's sample data is what the host answered for", () => {
  assert.deepEqual(seedIdentities(), hostAnswers.worlds.sample, "the sample identities");
  const large = largeModel(1000);
  assert.deepEqual(seedIdentities().concat(large.identities), hostAnswers.worlds["sample and 1,000 users"]);
  const models = new Set(Object.values(hostAnswers.models).map(canonical));
  const fakeModels = {
    everyone: modelOfRule({ kind: "everyone" }),
    "only HR": modelOfRule({ kind: "only", identities: [group("HR")] }),
    "everyone except Contractors": modelOfRule({ kind: "everyoneExcept", identities: [group("Contractors")] }),
    "only SampleTeam1 and SampleTeam2": modelOfRule({ kind: "only", identities: [group("SampleTeam1"), group("SampleTeam2")] }),
    "only Editors": modelOfRule({ kind: "only", identities: [group("Editors")] }),
    "the worked example": workedExampleModel(),
    "leads, then the team": leadsThenTeamModel(),
    "the large model": large.model,
  };
  for (const [name, model] of Object.entries(fakeModels)) assert.ok(models.has(canonical(model)), `the fixture has the fake's model: ${name}`);
  // The worked example in the fake's organization, user by user, as the host answered it.
  const book = new AnswerBook(hostAnswers);
  const sees = (who) => book.answerFor({ world: seedIdentities(), item: workedExampleModel(), user: `${who}@example.com` });
  const expected = { asmith: true, bjones: false, cbrown: false, dmoore: false, emitchell: true, fgarcia: false, hlee: false };
  for (const [who, visible] of Object.entries(expected)) {
    const answer = sees(who);
    assert.equal(answer.visible, visible, who);
    assert.equal(answer.uncertain, false, who);
  }
  assert.deepEqual(sees("emitchell").because, [
    "emitchell@example.com (Email Security Provider) → same user emitchell@example.com (sandbox) → level 2, set 1",
    "emitchell@example.com (Email Security Provider) → alias MysteryUserX (sandbox) → level 2, set 2",
  ]);
  const leads = book.answerFor({ world: seedIdentities(), item: leadsThenTeamModel(), user: "asmith@example.com" });
  assert.equal(leads.visible, true);
  assert.deepEqual(leads.otherReadings.map((o) => [o.reading, o.visible]), [["stricterLevels", false]], "uncertain: both readings");
});

test("permissions are written as the Push API reads them", () => {
  const wire = wirePermissions(workedExampleModel());
  assert.equal(wire.length, 2);
  assert.equal(wire[0].name, "Level 1");
  assert.deepEqual(wire[0].permissionSets[1], {
    allowAnonymous: false,
    allowedPermissions: [{ identity: "SampleTeam1", identityType: "Group" }],
    deniedPermissions: [{ identity: "SampleTeam2", identityType: "Group" }],
  });
});

test("the activity chart buckets pushed items and errors by time", () => {
  const end = 1_000_000;
  const line = (atMs, kind, count) => ({ id: atMs, atMs, kind, folderId: null, message: "", count });
  const lines = [line(end - 200_000, "pushed", 99), line(end - 50_000, "pushed", 5), line(end - 40_000, "failed", 1), line(end - 1, "pushed", 2)];
  const buckets = bucketize(lines, end, 100_000, 10);
  assert.equal(buckets.length, 10);
  assert.equal(buckets.reduce((s, b) => s + b.pushed, 0), 7, "the line before the window is left out");
  assert.equal(buckets[5].pushed, 5);
  assert.equal(buckets[6].errors, 1);
  assert.equal(buckets[9].pushed, 2);
});

test("sizes and durations read plainly", () => {
  assert.equal(formatBytes(1), "1 byte");
  assert.equal(formatBytes(999), "999 bytes");
  assert.equal(formatBytes(1_500), "1.5 KB");
  assert.equal(formatBytes(37_000_000), "37 MB");
  assert.equal(formatDuration(0.2), "less than a second");
  assert.equal(formatDuration(42.1), "43 s");
  assert.equal(formatDuration(3_600 + 120), "1 h 2 min");
});
