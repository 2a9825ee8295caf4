// The permission screens' layout and flows, on the fake host's sample organization. The fake
// decides nothing about access: every answer shown here is the real host's, looked up in
// src/ipc/fake/access-answers.json (written by src-tauri/src/host/fake_answers.rs); these tests
// check that the screens show those answers (verdict, lit chips, chains in words, uncertain
// readings, tables, trees, who gains and loses), not the rules themselves.
// Board/ carries the complete model of the reference's worked example (§4.6): L1 {anyone}
// {SampleTeam1, deny SampleTeam2} {asmith, cbrown, deny bjones}; L2 {bjones, emitchell, deny
// asmith} {MysteryUserX}. Identities: Editors ∋ asmith, SampleTeam1 ∋ Editors, Contractors ∋
// dmoore, SampleTeam2 ∋ cbrown + Contractors, HR ∋ hlee + fgarcia; emitchell has the alias
// MysteryUserX. Public/Forms carries two levels the reference leaves open (§4.5).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { snap, suite } from "./harness.mjs";

const ui = suite();
before(() => ui.start());
after(() => ui.stop());

/** Every access answer the page showed came from the fixtures: none was "not in the fixtures". */
async function allAnswered(page) {
  assert.deepEqual(await page.evaluate(() => window.__pushdeckFake.notInFixtures), []);
}

async function openPreview(page, prefix) {
  await page.getByRole("tab", { name: "Permissions" }).click();
  await page.waitForSelector("[data-testid=preview-file] option", { state: "attached" });
  const file = await page.$$eval("[data-testid=preview-file] option", (os, p) => os.map((o) => o.value).find((v) => v.startsWith(p)), prefix);
  await page.selectOption("[data-testid=preview-file]", file);
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=level]").length > 0);
  return file;
}

async function viewAs(page, user) {
  await page.selectOption("[data-testid=view-as]", user);
  await page.waitForFunction((u) => document.querySelector("[data-testid=verdict]")?.textContent.includes(u), user);
  const deciding = await page.$eval("[data-testid=set][data-deciding=true]", (el) => [Number(el.dataset.level), Number(el.dataset.set)]).catch(() => null);
  return {
    verdict: (await page.getByTestId("verdict").locator("strong.big").textContent()).trim(),
    deciding,
    because: await page.locator("[data-testid=because] li").allTextContents(),
    levels: await page.locator("[data-testid=level-verdict]").allTextContents(),
  };
}

test("View as lights up the deciding set and the chain, for each user of the worked example", async () => {
  const page = await ui.open("first=0");
  await openPreview(page, "Board/");
  assert.equal(await page.locator("[data-testid=level]").count(), 2);

  const emitchell = await viewAs(page, "emitchell@example.com");
  assert.equal(emitchell.verdict, "Visible");
  assert.deepEqual(emitchell.deciding, [1, 1], "level 2, set 2 decides");
  assert.deepEqual(emitchell.because, [
    "emitchell@example.com (Email Security Provider) → same user emitchell@example.com (sandbox) → level 2, set 1",
    "emitchell@example.com (Email Security Provider) → alias MysteryUserX (sandbox) → level 2, set 2",
  ]);
  // level 1 allows her only through "anyone": the documentation shows her the item, no doubt
  assert.deepEqual(emitchell.levels, ["Partly allowed, next level", "Decides: visible"]);
  assert.equal(await page.getByTestId("uncertain").count(), 0);
  assert.equal(await page.locator("[data-testid=set][data-deciding=true] .chip.lit").textContent().then((t) => t.trim()), "MysteryUserX");
  await snap(page, "permissions-view-as");
  await page.getByTestId("theme-toggle").click();
  await snap(page, "permissions-view-as-dark");
  await page.getByTestId("theme-toggle").click();

  const dmoore = await viewAs(page, "dmoore@example.com");
  assert.equal(dmoore.verdict, "Hidden");
  assert.deepEqual(dmoore.deciding, [0, 1]);
  assert.deepEqual(dmoore.because, [
    "dmoore@example.com (Email Security Provider) → same user dmoore@example.com (sandbox) → member of group Contractors (sandbox) → member of group SampleTeam2 (sandbox) → level 1, set 2",
  ]);
  assert.equal(await page.getByTestId("uncertain").count(), 0);
  assert.deepEqual(dmoore.levels, ["Decides: hidden", "Not reached"]);

  const bjones = await viewAs(page, "bjones@example.com");
  assert.equal(bjones.verdict, "Hidden");
  assert.deepEqual(bjones.deciding, [0, 2], "denied in level 1 set 3; the level 2 allow is never reached");

  const asmith = await viewAs(page, "asmith@example.com");
  assert.equal(asmith.verdict, "Visible");
  assert.deepEqual(asmith.deciding, [0, 2]);
  assert.deepEqual(asmith.levels, ["Decides: visible", "Not reached"]);
  const set2 = page.locator("[data-testid=set][data-level='0'][data-set='1']");
  assert.equal(await set2.getAttribute("data-verdict"), "allowed", "asmith reaches SampleTeam1 through Editors");

  const hlee = await viewAs(page, "hlee@example.com");
  assert.equal(hlee.verdict, "Hidden");
  assert.equal(hlee.deciding, null, "no level names hlee");
  assert.deepEqual(hlee.levels, ["Partly allowed, next level", "Undecided, next level"]);
  await allAnswered(page);
});

test("where the documentation is ambiguous, View as and Who can see say Uncertain with the other reading", async () => {
  const page = await ui.open("first=0");
  await openPreview(page, "Public/Forms/");
  const asmith = await viewAs(page, "asmith@example.com");
  assert.equal(asmith.verdict, "Visible");
  assert.deepEqual(asmith.levels, ["Partly allowed, next level", "Decides: visible"]);
  assert.equal(
    await page.getByTestId("uncertain").textContent(),
    "Uncertain: if a level that allows them in some of its sets and denies them in none hid the item (reference §4.5), level 1 would hide it: hidden",
  );
  await page.getByTestId("who-can-see").click();
  await page.getByTestId("who-table").waitFor();
  const flagged = await page.locator("[data-testid=who-table] tbody tr:has([data-testid=who-uncertain]) td:first-child").allTextContents();
  assert.deepEqual(flagged, ["asmith@example.com"], "SampleTeam1 is asmith's (through Editors)");
  const hlee = await viewAs(page, "hlee@example.com");
  assert.equal(hlee.verdict, "Hidden");
  assert.equal(await page.getByTestId("uncertain").count(), 0, "hidden under both readings");
  await allAnswered(page);
});

test("Who can see this file lists every person, then anyone not signed in", async () => {
  const page = await ui.open("first=0");
  await openPreview(page, "Board/");
  await page.getByTestId("who-can-see").click();
  await page.getByTestId("who-table").waitFor();
  const rows = await page.locator("[data-testid=who-table] tbody tr").evaluateAll((trs) =>
    trs.map((tr) => [tr.cells[0].textContent.trim(), tr.cells[1].textContent.trim(), tr.dataset.anonymous === "true"]),
  );
  const sees = rows.filter(([, access]) => access === "Sees it").map(([u]) => u);
  assert.deepEqual(sees, ["asmith@example.com", "emitchell@example.com"]);
  assert.equal(rows.length, 8);
  assert.deepEqual(rows[7], ["Anyone not signed in", "Hidden", true]);
  await allAnswered(page);
});

test("a rule change shows who gains and who loses access before it is saved", async () => {
  const page = await ui.open("first=0");
  await page.getByRole("tab", { name: "Permissions" }).click();
  await page.getByRole("tab", { name: "Folder rules" }).click();
  await page.getByRole("button", { name: /^HR\s*only HR/ }).click();
  await page.getByLabel("Everyone", { exact: true }).check();
  await page.getByTestId("gains").waitFor();
  assert.deepEqual(await page.getByTestId("gains").locator("li").allTextContents(), [
    "asmith@example.com", "bjones@example.com", "cbrown@example.com", "dmoore@example.com", "emitchell@example.com",
  ]);
  assert.equal(await page.getByTestId("loses").count(), 0);
  // every file under HR changes from "only HR" to everyone, so each is sent again
  const applies = (await page.getByTestId("access-change").textContent()).match(/applies to ([\d,]+) files/)[1];
  assert.equal(await page.getByTestId("files-changed").textContent(), `${applies} files are sent again with the new permissions at the next sync.`);
  // now the other way: only Contractors — HR people lose access, dmoore gains it
  await page.getByLabel("Only these groups and users").check();
  await page.getByLabel("Find a group or user").fill("");
  await page.getByRole("checkbox", { name: /^HR/ }).uncheck();
  await page.getByRole("checkbox", { name: /^Contractors/ }).check();
  await page.waitForFunction(() => document.querySelector("[data-testid=loses]")?.textContent.includes("hlee"));
  assert.deepEqual(await page.getByTestId("loses").locator("li").allTextContents(), ["fgarcia@example.com", "hlee@example.com"]);
  assert.deepEqual(await page.getByTestId("gains").locator("li").allTextContents(), ["dmoore@example.com"]);
  await snap(page, "permissions-rule-change");
  await page.getByTestId("save-rule").click();
  await page.getByRole("button", { name: /^HR\s*only Contractors/ }).waitFor();
  await allAnswered(page);
});

test("a subfolder rule can add a level after the inherited one, and the preview shows both levels", async () => {
  const page = await ui.open("first=0");
  await page.getByRole("tab", { name: "Permissions" }).click();
  await page.getByRole("tab", { name: "Folder rules" }).click();
  await page.getByRole("button", { name: /^Benefits\s*inherits/ }).click();
  await page.getByLabel("Everyone except these groups and users").check();
  await page.getByRole("checkbox", { name: /^Contractors/ }).check();
  await page.selectOption("[data-testid=rule-mode]", "addLevelAfter");
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=access-change] [data-testid=level]").length === 2);
  assert.deepEqual(await page.getByTestId("gains").locator("li").allTextContents(), [
    "asmith@example.com", "bjones@example.com", "cbrown@example.com", "emitchell@example.com",
  ]);
  assert.equal(await page.getByTestId("loses").count(), 0);
  await page.getByTestId("save-rule").click();
  await page.getByRole("button", { name: /^Benefits\s*adds after: everyone except Contractors/ }).waitFor();
  await allAnswered(page);
});

test("What can this user see shows the folder tree with what is visible", async () => {
  const page = await ui.open("first=0");
  await page.getByRole("tab", { name: "Permissions" }).click();
  await page.getByRole("tab", { name: "What can a user see" }).click();
  await page.selectOption("[data-testid=tree-user]", "hlee@example.com");
  await page.waitForFunction(() => document.querySelector("[data-testid=tree-summary]")?.textContent.includes("hlee"));
  const pill = (name) => page.locator(`[role=treeitem]:has(> .name.dir:text-is("${name}/")) > .pill`).textContent();
  assert.equal(await pill("HR"), "93 of 93 visible");
  assert.equal(await pill("Board"), "0 of 52 visible");
  await page.selectOption("[data-testid=tree-user]", "dmoore@example.com");
  await page.waitForFunction(() => document.querySelector("[data-testid=tree-summary]")?.textContent.includes("dmoore"));
  assert.equal(await pill("HR"), "0 of 93 visible");
  assert.equal(await pill("Finance"), "0 of 39 visible", "Finance is everyone except Contractors");
  await snap(page, "permissions-tree");
  await allAnswered(page);
});

test("identities are imported from CSV, with the bad lines named", async () => {
  const page = await ui.open("first=0");
  await page.getByRole("tab", { name: "Permissions" }).click();
  await page.getByRole("tab", { name: "Identities" }).click();
  await page.getByTestId("csv-text").fill("name,kind,members,aliases\nLegal,group,asmith@example.com;Editors,\nbad,robot,,\nzed@example.com,user,,zlogin");
  await page.getByTestId("csv-read").click();
  const result = page.getByTestId("csv-result");
  await result.getByText("2 identities read, 1 line skipped.").waitFor();
  await result.getByText('Line 3: "robot" is not a kind; use user, group or virtualGroup.').waitFor();
  await result.getByRole("button", { name: "Add them to the list" }).click();
  assert.equal(await page.getByRole("textbox", { name: "Members of Legal" }).inputValue(), "asmith@example.com, Editors");
  assert.equal(await page.getByRole("textbox", { name: "Aliases of zed@example.com" }).inputValue(), "zlogin");
  await page.getByTestId("save-identities").click();
  await page.getByTestId("notice").getByText("Identities saved.").waitFor();
  await snap(page, "identities");
  await page.getByRole("tab", { name: "Preview" }).click();
  await page.waitForSelector("[data-testid=view-as] option[value='zed@example.com']", { state: "attached" });
  // The fake has no answer for identities the host never saw: it says so instead of guessing.
  await page.selectOption("[data-testid=view-as]", "zed@example.com");
  await page.getByTestId("notice").getByText(/^Not in the fixtures/).waitFor();
  assert.equal(await page.getByTestId("verdict").count(), 0);
  assert.equal((await page.evaluate(() => window.__pushdeckFake.notInFixtures)).length, 1);
});

test("the identities editor stays light with a thousand identities: it draws 200 and filters the rest", async () => {
  const page = await ui.open("first=0&identities=1000");
  await page.getByRole("tab", { name: "Permissions" }).click();
  await page.getByRole("tab", { name: "Identities" }).click();
  const rows = page.locator("[data-testid=identities] tbody tr");
  await page.getByText("200 of 1,012 shown: type to narrow").waitFor();
  assert.equal(await rows.count(), 200);
  await page.getByLabel("Find an identity").fill("user099");
  await page.getByText("10 identities").waitFor();
  assert.equal(await rows.count(), 10);
  await page.getByLabel("Name of identity 1003", { exact: true }).fill("user0991@example.org");
  await page.getByTestId("save-identities").click();
  await page.getByTestId("notice").getByText("Identities saved.").waitFor();
  await page.getByRole("tab", { name: "Preview" }).click();
  await page.waitForSelector("[data-testid=view-as] option[value='user0991@example.org']", { state: "attached" });
});

test("switching folders in the preview shows the new folder's files and permissions", async () => {
  const page = await ui.open("first=0");
  await openPreview(page, "Board/");
  await page.selectOption("[data-testid=view-as]", "cbrown@example.com");
  await page.getByTestId("verdict").waitFor();
  await page.selectOption("[data-testid=perm-folder]", { label: "Engineering wiki" });
  await page.waitForFunction(() => [...document.querySelectorAll("[data-testid=preview-file] option")].some((o) => o.value.startsWith("Runbooks/")));
  await page.waitForFunction(() => document.querySelector("[data-testid=diagram]")?.textContent.includes("SampleTeam2"));
  assert.equal(await page.locator("[data-testid=level]").count(), 1);
  // View as is kept across folders: cbrown is in SampleTeam2, which this folder allows
  await page.waitForFunction(() => document.querySelector("[data-testid=verdict] strong")?.textContent === "Visible");
  await allAnswered(page);
});

test("a set of hundreds of identities shows its first ones and opens on demand; View as opens the set it lights", async () => {
  const page = await ui.open("first=0&identities=1000");
  await page.getByRole("tab", { name: "Permissions" }).click();
  await page.waitForSelector("[data-testid=perm-folder] option", { state: "attached" });
  await page.selectOption("[data-testid=perm-folder]", { label: "Large organization" });
  await page.waitForFunction(() => document.querySelector("[data-testid=diagram]")?.dataset.count === "1000");
  const staff = page.locator("[data-testid=set][data-level='1'][data-set='0']");
  const more = staff.getByRole("button", { name: /^Show all 490 identities$/ });
  await more.waitFor();
  assert.equal(await staff.locator(".chip").count(), 490, "every chip is in the page, clipped");
  const clippedHeight = await staff.evaluate((el) => el.getBoundingClientRect().height);
  await more.click();
  await staff.getByRole("button", { name: "Show fewer" }).waitFor();
  assert.equal(await staff.getByRole("button", { name: "Show fewer" }).getAttribute("aria-expanded"), "true");
  const openHeight = await staff.evaluate((el) => el.getBoundingClientRect().height);
  assert.ok(openHeight > clippedHeight * 3, `the opened set shows all its chips (${clippedHeight} px clipped, ${openHeight} px open)`);
  await staff.getByRole("button", { name: "Show fewer" }).click();
  await more.waitFor();
  // A user matched in that set: the set opens by itself so that the lit chip can be seen.
  await page.selectOption("[data-testid=view-as]", "user0700@example.com");
  await staff.locator(".chip.lit").waitFor();
  assert.equal(await staff.getByRole("button", { name: "Show fewer" }).count(), 1);
  assert.ok(await staff.locator(".chip.lit").isVisible());
  await allAnswered(page);
});
