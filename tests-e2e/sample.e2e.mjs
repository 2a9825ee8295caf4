// End-to-end: a newcomer's first two clicks. First launch → "Try the sample folder" (the app
// copies its shipped sample into the data folder and pushes the sample identities to the
// Sandbox) → the plan → confirm: the sample is synced, and the permission preview of one of its
// files (Projects/Roadmap.docx: only SampleTeam1, and MysteryUserX) shows a nested group and
// an alias, as the embedded Sandbox's own "search as" does.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { SHOTS, card, close, freshAppHome, inspect, launch, ready, sandbox, WAIT_MS } from "./common.mjs";

const PORT = Number(process.env.E2E_PORT ?? 4444) + 40;
const { dataDir } = freshAppHome("sample");
const ROADMAP = "Projects/Roadmap.docx";

let app;

before(async () => {
  app = await launch(PORT);
  await ready(app.s);
});

after(() => close(app, dataDir));

test("first launch: 'Try the sample folder' copies the sample and opens its first plan", async () => {
  const { s } = app;
  await s.find("[data-testid=welcome]");
  await s.click(await s.find("[data-testid=try-sample]"));
  await s.find("[data-testid=plan-counts]");
  assert.equal(await s.text(await s.find("[data-testid=plan-added]")), "7");
  for (const file of ["Welcome.txt", "Handbook/Benefits.pdf", ROADMAP, "HR/Reviews/Review notes.txt"]) {
    assert.ok(existsSync(join(dataDir, "sample", file)), `${file} was not copied into ${dataDir}/sample`);
  }
  await s.click(await s.find("[data-testid=confirm-plan]"));
  await s.waitFor(`document.querySelector('${card("Sample folder")}')?.dataset.state === "upToDate"`, "the sample Up to date", WAIT_MS);
  await s.screenshot(join(SHOTS, "app-sample-folder.png"));
});

test("the Sandbox holds every sample file, and its search-as sees the roadmap through the group and the alias", async () => {
  const box = sandbox(dataDir);
  await inspect(box.url, "/drain", { method: "POST" });
  const { items } = await inspect(box.url, "/organizations/sandbox/sources/documents/items");
  assert.equal(items.length, 7, items.map((i) => i.documentId).join(", "));
  for (const [who, sees] of [["asmith@example.com", true], ["emitchell@example.com", true], ["hlee@example.com", false]]) {
    const answer = await inspect(box.url, `/organizations/sandbox/sources/documents/search?user=${encodeURIComponent(who)}`);
    const roadmap = answer.items.find((i) => i.documentId.endsWith(`/${ROADMAP}`));
    assert.equal(roadmap?.visible ?? false, sees, `${who}: ${JSON.stringify(roadmap)}`);
  }
});

test("the permission preview of the roadmap shows a nested group and an alias", async () => {
  const { s } = app;
  await s.click(await s.find("#tab-permissions"));
  await s.click(await s.find("#ptab-preview"));
  await s.waitFor(`[...(document.querySelector("[data-testid=preview-file]")?.options ?? [])].some((o) => o.value === ${JSON.stringify(ROADMAP)})`, "the sample's files in the preview");
  await s.select("[data-testid=preview-file]", ROADMAP);
  await s.select("[data-testid=view-as]", "emitchell@example.com");
  const alias = await s.waitFor(`document.querySelector("[data-testid=verdict]")?.textContent.includes("alias MysteryUserX") && document.querySelector("[data-testid=verdict]").textContent`, "View as emitchell");
  assert.match(alias, /Visible|Sees it/i);
  await s.select("[data-testid=view-as]", "asmith@example.com");
  const group = await s.waitFor(`document.querySelector("[data-testid=verdict]")?.textContent.includes("SampleTeam1") && document.querySelector("[data-testid=verdict]").textContent`, "View as asmith");
  assert.match(group, /member of group Editors \(sandbox\) → member of group SampleTeam1/);
  await s.screenshot(join(SHOTS, "app-sample-preview.png"));
});
