// End-to-end: change a folder's permission rule in the real window, see the preview (who gains
// and loses access, the diagram, View as, who can see), and check that after the sync the
// embedded Sandbox's own evaluation ("search as", crates/permissions over the items'
// permissions as pushed) says the same thing for the same users.
//
// Identities are put into the Sandbox's provider through the Push API (as any tool that
// pushes identities would), before the window lists them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  SHOTS,
  addFolderThroughWindow,
  close,
  freshAppHome,
  group,
  inspect,
  launch,
  putIdentity,
  ready,
  sandbox,
  user,
  WAIT_MS,
} from "./common.mjs";

const PORT = Number(process.env.E2E_PORT ?? 4444) + 10;
const { dataDir } = freshAppHome("rules");

const root = mkdtempSync(join(tmpdir(), "pushdeck-e2e-rules-"));
const docs = join(root, "Policies");
mkdirSync(join(docs, "HR"), { recursive: true });
writeFileSync(join(docs, "handbook.md"), "# Handbook\nFor everyone.");
writeFileSync(join(docs, "HR", "salaries.txt"), "Salary bands, HR only.");
process.env.PUSHDECK_E2E_PICK_FOLDER = docs;

const USERS = ["alice@example.com", "bob@example.com", "carol@example.com"];
const HR_GROUP = "HR team";
const SECRET = "HR/salaries.txt";

let app;
let box;

before(async () => {
  app = await launch(PORT);
  await ready(app.s);
  box = sandbox(dataDir);
  for (const u of USERS) await putIdentity(box, user(u));
  await putIdentity(box, group(HR_GROUP), [user("alice@example.com")]);
  await inspect(box.url, "/drain", { method: "POST" });
});

after(() => close(app, dataDir));

/** The Sandbox's verdict for `user` on the item whose documentId ends with `/path`. */
async function sandboxSees(u, path) {
  const answer = await inspect(
    box.url,
    `/organizations/sandbox/sources/documents/search?user=${encodeURIComponent(u)}&provider=sandbox`,
  );
  const item = answer.items.find((i) => i.documentId.endsWith(`/${path}`));
  assert.ok(item, `the Sandbox has no item for ${path}: ${answer.items.map((i) => i.documentId).join(", ")}`);
  return item.visible;
}

/** Who can see `path`, as the window's preview table says: `{user: visible}` for every person
 *  (the last row, anyone not signed in, is checked apart: `anonymous`). */
async function previewWho(s, path) {
  await s.click(await s.find("#ptab-preview"));
  await s.select("[data-testid=preview-file]", path);
  await s.click(await s.find("[data-testid=who-can-see]"));
  await s.waitFor(`document.querySelector("[data-testid=who-table]") && document.querySelector(".who-title")?.textContent.includes(${JSON.stringify(path)})`, "the who-can-see table");
  return s.exec(`return Object.fromEntries([...document.querySelectorAll("[data-testid=who-table] tbody tr:not([data-anonymous])")].map((tr) => [tr.cells[0].textContent.trim(), tr.cells[1].textContent.includes("Sees it")]));`);
}

/** Whether the preview table says anyone not signed in sees `path` (the Who can see table is open). */
async function previewAnonymous(s) {
  return s.exec(`return document.querySelector("[data-testid=who-table] tbody tr[data-anonymous]")?.cells[1].textContent.includes("Sees it") ?? null;`);
}

test("the folder syncs with no rule: everyone sees every file, in the preview and in the Sandbox", async () => {
  const { s } = app;
  await addFolderThroughWindow(s, { path: docs, name: "Policies", added: 2 });
  await s.click(await s.find("#tab-permissions"));
  await s.waitFor(`document.querySelector("[data-testid=preview-file]")?.options.length >= 2`, "the folder's files in the preview");
  const who = await previewWho(s, SECRET);
  assert.deepEqual(Object.keys(who).sort(), USERS, "the preview lists the provider's users");
  assert.equal(await previewAnonymous(s), true, "no rule: the item has no permissions, the source's visibility decides");
  for (const u of USERS) {
    assert.equal(who[u], true, `${u} in the preview`);
    assert.equal(await sandboxSees(u, SECRET), true, `${u} in the Sandbox`);
  }
});

test("a rule 'only HR team' on HR: the preview says who loses access before it is saved", async () => {
  const { s } = app;
  await s.click(await s.find("#ptab-rules"));
  await s.click(await s.findXPath(`//nav//button[span[1][normalize-space(.)="HR"]]`));
  await s.click(await s.find("input[name=rule-kind][value=only]"));
  await s.click(await s.findXPath(`//label[contains(normalize-space(.), ${JSON.stringify(HR_GROUP)})]/input[@type="checkbox"]`));
  // Choosing "only" previews an empty list first (everyone loses access); wait for the
  // preview of the rule with the group in it.
  await s.waitFor(`document.querySelector("[data-testid=access-change] [data-testid=diagram]")?.textContent.includes(${JSON.stringify(HR_GROUP)})`, "the preview of the change");
  const loses = await s.exec(`return [...document.querySelectorAll("[data-testid=loses] li")].map((li) => li.textContent.trim()).sort();`);
  assert.deepEqual(loses, ["bob@example.com", "carol@example.com"]);
  const gains = await s.exec(`return document.querySelectorAll("[data-testid=gains] li").length;`);
  assert.equal(gains, 0);
  const diagram = await s.text(await s.find("[data-testid=access-change] [data-testid=diagram]"));
  assert.match(diagram, new RegExp(HR_GROUP));
  await s.screenshot(join(SHOTS, "app-rule-change.png"));
  await s.click(await s.find("[data-testid=save-rule]"));
  await s.waitFor(`[...document.querySelectorAll("nav button")].some((b) => b.textContent.includes("only ${HR_GROUP}"))`, "the saved rule in the list");
});

test("after the sync, the Sandbox's permissions agree with the preview, user by user", async () => {
  const { s } = app;
  // The save rescans the folder: wait until the Sandbox holds HR/salaries.txt with permissions.
  const start = Date.now();
  for (;;) {
    await inspect(box.url, "/drain", { method: "POST" });
    const { items } = await inspect(box.url, "/organizations/sandbox/sources/documents/items");
    const item = items.find((i) => i.documentId.endsWith(`/${SECRET}`));
    if (item && Array.isArray(item.permissions) && item.permissions.length > 0) {
      // The item as pushed names the group, allowed (the model the preview drew).
      const allowed = item.permissions.flatMap((level) => (level.permissionSets ?? [level]).flatMap((set) => set.allowedPermissions ?? []));
      assert.deepEqual(allowed.map((p) => [p.identity, p.identityType, p.securityProvider]), [[HR_GROUP, "Group", "sandbox"]], JSON.stringify(item.permissions));
      break;
    }
    assert.ok(Date.now() - start < WAIT_MS, `the Sandbox's ${SECRET} never got permissions: ${JSON.stringify(item?.permissions)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const who = await previewWho(s, SECRET);
  assert.deepEqual(who, { "alice@example.com": true, "bob@example.com": false, "carol@example.com": false });
  assert.equal(await previewAnonymous(s), false, "only HR team: not anyone who is not signed in");
  for (const u of USERS) assert.equal(await sandboxSees(u, SECRET), who[u], `${u}: preview and Sandbox disagree on ${SECRET}`);
  // The file outside HR keeps no rule: everyone, in both.
  const open = await previewWho(s, "handbook.md");
  for (const u of USERS) {
    assert.equal(open[u], true, `${u} on handbook.md in the preview`);
    assert.equal(await sandboxSees(u, "handbook.md"), true, `${u} on handbook.md in the Sandbox`);
  }
  // View as bob on the HR file: hidden, and the diagram names the group.
  await s.select("[data-testid=preview-file]", SECRET);
  await s.select("[data-testid=view-as]", "bob@example.com");
  const verdict = await s.waitFor(`document.querySelector("[data-testid=verdict]")?.textContent`, "View as bob");
  assert.match(verdict, /Hidden/);
  await s.screenshot(join(SHOTS, "app-rule-preview.png"));
});
