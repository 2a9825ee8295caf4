// Folder cards: the plan before the first sync, adding a folder, patterns, failed items, actions.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { snap, suite } from "./harness.mjs";

const ui = suite();
before(() => ui.start());
after(() => ui.stop());

const card = (page, name) => page.locator(`[data-testid=folder-card][data-folder="${name}"]`);

test("the dry-run plan is shown before the first sync, and confirming it starts the sync", async () => {
  const page = await ui.open("first=0&speed=400");
  const sample = card(page, "Sample folder");
  assert.equal(await sample.getAttribute("data-state"), "paused");
  assert.ok(await sample.getByRole("button", { name: "Resume Sample folder" }).isDisabled(), "no sync before the plan is confirmed");
  await sample.getByRole("button", { name: "Review the plan" }).click();
  await page.getByTestId("plan-counts").waitFor();
  assert.equal(await page.getByTestId("plan-added").textContent(), "24");
  assert.equal(await page.getByTestId("plan-deleted").textContent(), "0");
  const json = JSON.parse(await page.getByRole("region", { name: "Sample item JSON" }).textContent());
  assert.match(json.documentId, /^file:\/\/\/home\/you\/.local\/share\/pushdeck\/sample\//);
  assert.equal(json.compressionType, "ZLIB");
  assert.deepEqual(json.permissions, [{ allowAnonymous: true, allowedPermissions: [], deniedPermissions: [] }]);
  await snap(page, "plan");
  await page.getByTestId("confirm-plan").click();
  // The dialog goes at once; the notice follows once the host has started the sync.
  await page.getByRole("dialog").waitFor({ state: "detached" });
  await page.getByTestId("notice").filter({ hasText: "Sync of Sample folder started." }).waitFor();
  // scanning, then syncing with a progress bar and time left, then up to date
  await page.waitForFunction(() => ["scanning", "syncing"].includes(document.querySelector('[data-folder="Sample folder"]')?.dataset.state));
  await page.waitForFunction(() => document.querySelector('[data-folder="Sample folder"]')?.dataset.state === "upToDate", null, { timeout: 10_000 });
  assert.equal(await sample.getByTestId("folder-state").textContent(), "Up to date");
  assert.match(await sample.textContent(), /Items\s*24/);
});

test("progress shows n of N, a progress bar and the time left while syncing", async () => {
  const page = await ui.open("first=0&speed=20");
  const policies = card(page, "Policies");
  await policies.getByRole("button", { name: "Rebuild Policies" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Rebuild" }).click();
  await page.waitForFunction(() => document.querySelector('[data-folder="Policies"]')?.dataset.state === "syncing", null, { timeout: 10_000 });
  assert.match(await policies.getByTestId("folder-state").textContent(), /^Syncing \d+ of 312$/);
  const bar = policies.getByRole("progressbar", { name: "Sync progress of Policies" });
  assert.equal(await bar.getAttribute("aria-valuemax"), "312");
  assert.match(await policies.getByTestId("eta").textContent(), /left$/);
  await snap(page, "folders-syncing");
  await policies.getByRole("button", { name: "Pause Policies" }).click();
  await page.waitForFunction(() => document.querySelector('[data-folder="Policies"]')?.dataset.state === "paused");
});

test("adding a folder goes through the host's folder dialog, then shows the plan", async () => {
  const page = await ui.open("first=0");
  await page.getByTestId("add-folder").click();
  await page.getByTestId("choose-folder").click();
  await page.waitForFunction(() => document.querySelector("input[aria-label='Chosen folder']")?.value.startsWith("/home/you/Documents/Projects-"));
  await page.getByRole("button", { name: "Add and review the plan" }).click();
  await page.getByTestId("plan-counts").waitFor();
  assert.match(await page.getByRole("dialog").getByRole("heading").first().textContent(), /^Plan for Projects \d+$/);
  await page.getByRole("button", { name: "Not now" }).click();
  assert.equal(await page.locator("[data-testid=folder-card]").count(), 5);
});

test("the pattern editor previews the matched paths live, and refuses a broken pattern", async () => {
  const page = await ui.open("first=0");
  await card(page, "Policies").getByRole("button", { name: /^Edit include and exclude patterns/ }).click();
  const counts = page.getByTestId("pattern-counts");
  await counts.getByText("312 of 312 files will sync").waitFor();
  await page.getByTestId("include").fill("HR/**");
  await counts.getByText("93 of 312 files will sync").waitFor();
  const paths = await page.locator("[data-testid=pattern-matches] [role=option]").allTextContents();
  assert.ok(paths.length > 0 && paths.every((p) => p.startsWith("HR/")), paths.join(","));
  await page.getByTestId("exclude").fill("*.pdf\nBenefits/");
  await page.waitForFunction(() => !/93 of/.test(document.querySelector("[data-testid=pattern-counts]")?.textContent ?? ""));
  const kept = await page.locator("[data-testid=pattern-matches] [role=option]").allTextContents();
  assert.ok(kept.every((p) => p.startsWith("HR/") && !p.endsWith(".pdf") && !p.startsWith("HR/Benefits/")), kept.join(","));
  await snap(page, "patterns");
  await page.getByTestId("exclude").fill("[abc");
  await page.getByRole("alert").getByText("[abc: a [ is not closed by ]").waitFor();
  assert.ok(await page.getByRole("button", { name: "Save patterns" }).isDisabled());
});

test("failed items say, per file, what went wrong and what to do", async () => {
  const page = await ui.open("first=0");
  const wiki = card(page, "Engineering wiki");
  assert.equal(await wiki.getByTestId("folder-state").textContent(), "Needs attention · 3 problems");
  await wiki.getByRole("button", { name: "Show failed items of Engineering wiki" }).click();
  const rows = page.locator("[data-testid=problems] tbody tr");
  await rows.first().waitFor();
  assert.equal(await rows.count(), 3);
  const first = await rows.first().locator("td").allTextContents();
  assert.match(first[0], /Design\/huge-diagram.psd/);
  assert.match(first[1], /256 MB/);
  assert.match(first[2], /Exclude it with a pattern/);
  await snap(page, "failed-items");
  await page.getByRole("button", { name: "Retry failed items" }).click();
  await page.waitForFunction(() => document.querySelector('[data-folder="Engineering wiki"]')?.dataset.state !== "needsAttention");
});

test("the Rebuild dialog says what a rebuild deletes, and removes more only for a folder that owns its source", async () => {
  const page = await ui.open("first=0");
  const explanation = async (name) => {
    await card(page, name).getByRole("button", { name: `Rebuild ${name}` }).click();
    const dialog = page.getByRole("dialog", { name: `Rebuild ${name}?` });
    const text = (await dialog.getByTestId("rebuild-explanation").textContent()).replace(/\s+/g, " ");
    const removes = (await dialog.getByTestId("rebuild-removes").textContent()).replace(/\s+/g, " ");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "detached" });
    return { text, removes };
  };
  // A folder that shares its source: its own gone items, nothing else.
  const shared = await explanation("Policies");
  assert.match(shared.text, /pushes every file of this folder again \(312 items now\), and deletes the items of this folder whose files are gone, as every sync does\./);
  assert.equal(shared.removes, "It removes nothing else from source documents: items of other folders, of other tools and test uploads stay.");
  // A folder that owns its source: also every item it did not push, and only after a full push.
  const owner = await explanation("Scans archive");
  assert.match(owner.text, /pushes every file of this folder again \(5,400 items now\), and deletes the items of this folder whose files are gone, as every sync does\./);
  assert.equal(
    owner.removes,
    "This folder owns source scans, so it also removes every item of the source it did not push: items other tools pushed and test uploads. It does so only when every file was pushed; if one could not be, nothing else is removed.",
  );
  assert.notEqual(shared.removes, owner.removes);
});

test("removing a folder asks first and says the items stay", async () => {
  const page = await ui.open("first=0");
  await card(page, "Scans archive").getByRole("button", { name: "Remove Scans archive" }).click();
  const dialog = page.getByRole("dialog", { name: "Stop syncing Scans archive?" });
  await dialog.getByText("nothing is deleted").waitFor();
  await dialog.getByRole("button", { name: "Cancel" }).click();
  assert.equal(await page.locator("[data-testid=folder-card]").count(), 4);
  await card(page, "Scans archive").getByRole("button", { name: "Remove Scans archive" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Stop syncing" }).click();
  await card(page, "Scans archive").waitFor({ state: "detached" });
});

test("a folder that needs attention says why, and a notice says it too", async () => {
  const page = await ui.open("first=0");
  await page.evaluate(() => window.__pushdeckFake.attention("f1"));
  await page.getByTestId("notice").getByText("Policies needs attention: 1 problem. Open Folders to see them.").waitFor();
  const policies = card(page, "Policies");
  await page.waitForFunction(() => document.querySelector('[data-folder="Policies"]')?.dataset.state === "needsAttention");
  await policies.getByRole("alert").getByText("A safety brake stopped the run: it would delete 80% of the items.").waitFor();
});
