// Unit tests of the pure modules (bundled from TypeScript by the pretest step).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as unit from "../test-dist/unit.mjs";

const { globToRegExp, explain, seedIdentities, workedExampleModel, wirePermissions, user, group, bucketize, formatBytes, formatDuration } = unit;

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

test("the simple model of the reference's worked example (§4.6, DOCS 107)", () => {
  const identities = [
    { name: "asmith", kind: "user", members: [], aliases: [] },
    { name: "bjones", kind: "user", members: [], aliases: [] },
    { name: "emitchell", kind: "user", members: [], aliases: ["MysteryUserX"] },
    { name: "SampleTeam1", kind: "group", members: [user("bjones"), user("emitchell")], aliases: [] },
  ];
  const model = {
    complete: false,
    levels: [{
      name: null,
      sets: [
        { allowAnonymous: true, allowed: [], denied: [user("asmith")] },
        { allowAnonymous: false, allowed: [group("SampleTeam1"), user("emitchell")], denied: [] },
        { allowAnonymous: false, allowed: [user("MysteryUserX")], denied: [{ name: "SampleGroup", kind: "virtualGroup" }] },
      ],
    }],
  };
  const verdicts = (who) => explain(who, model, identities).levels[0].sets.map((s) => s.verdict);
  assert.equal(explain("asmith", model, identities).visible, false);
  assert.deepEqual(verdicts("asmith")[0], "denied");
  assert.equal(explain("bjones", model, identities).visible, false);
  assert.deepEqual(verdicts("bjones"), ["allowed", "allowed", "unspecified"]);
  const emitchell = explain("emitchell", model, identities);
  assert.equal(emitchell.visible, true);
  assert.deepEqual(emitchell.levels[0].sets[2].chain.map((l) => [l.relation, l.identity.name]), [["viewer", "emitchell"], ["aliasOf", "MysteryUserX"]]);
  assert.equal(explain("somebody-else", model, identities).visible, false, "anonymous: B unspecified");
});

test("the complete model of the worked example (§4.6, DOCS 25)", () => {
  const identities = seedIdentities();
  const model = workedExampleModel();
  const at = (who) => {
    const e = explain(`${who}@example.com`, model, identities);
    return [e.visible, e.deciding && [e.deciding.level, e.deciding.set], e.uncertainLevel];
  };
  assert.deepEqual(at("asmith"), [true, [0, 2], null], "level 1 allows in every set; level 2's deny is ignored");
  assert.deepEqual(at("bjones"), [false, [0, 2], null], "level 1 set 3 denies; level 2's allow is ignored");
  assert.deepEqual(at("cbrown"), [false, [0, 1], null], "SampleTeam2 denies in level 1 set 2");
  assert.deepEqual(at("dmoore"), [false, [0, 1], null], "through Contractors, a member of SampleTeam2");
  assert.deepEqual(at("emitchell"), [true, [1, 1], 0], "level 2 through the alias; level 1 is the uncertain case");
  assert.deepEqual(at("hlee"), [false, null, null], "no level decides");
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
