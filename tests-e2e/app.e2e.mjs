// End-to-end: the real Pushdeck window (debug build with the embedded UI) under Xvfb, driven
// through tauri-driver + WebKitWebDriver, with the embedded Sandbox and a real gnome-keyring
// (run by scripts/test-e2e.sh, which sets APP_BIN and TAURI_DRIVER).
//
// The native folder dialog cannot be automated: the app's pick_folder command returns
// PUSHDECK_E2E_PICK_FOLDER instead when it is set (its only test seam).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startDriver, Session, WAIT_MS } from "./webdriver.mjs";

const APP = process.env.APP_BIN;
const DRIVER = process.env.TAURI_DRIVER;
const PORT = Number(process.env.E2E_PORT ?? 4444);
const SHOTS = resolve(process.env.E2E_SCREENSHOTS ?? "docs/screenshots");
const DATA_HOME = process.env.XDG_DATA_HOME ?? join(process.env.HOME, ".local/share");

const folder = mkdtempSync(join(tmpdir(), "pushdeck-e2e-"));
const docs = join(folder, "Team handbook");
mkdirSync(join(docs, "HR"), { recursive: true });
writeFileSync(join(docs, "welcome.md"), "# Welcome\nRead this first.");
writeFileSync(join(docs, "HR", "leave.txt"), "Leave policy: 25 days a year.");
writeFileSync(join(docs, "HR", "travel.txt"), "Travel: book trains when you can.");
process.env.PUSHDECK_E2E_PICK_FOLDER = docs;

let driver;
let s;

before(async () => {
  assert.ok(APP && DRIVER, "APP_BIN and TAURI_DRIVER must be set (run scripts/test-e2e.sh)");
  driver = await startDriver({ driver: DRIVER, port: PORT });
  s = await Session.create(driver.base, APP);
});

after(async () => {
  await s?.delete();
  driver?.child.kill();
});

const card = (name) => `[data-testid=folder-card][data-folder="${name}"]`;

test("the app opens in Sandbox mode", async () => {
  await s.waitFor(`document.body.dataset.ready === "true"`, "the first load");
  assert.equal(await s.text(await s.find("[data-testid=mode]")), "Sandbox");
  const text = await s.exec("return document.body.innerText;");
  assert.match(text, /Host: desktop/);
  await s.screenshot(join(SHOTS, "app-first-launch.png"));
});

test("adding a folder shows the plan, and confirming it syncs the folder to Up to date", async () => {
  await s.click(await s.find("[data-testid=add-folder]"));
  await s.click(await s.find("[data-testid=choose-folder]"));
  await s.waitFor(`document.querySelector("input[aria-label='Chosen folder']")?.value === ${JSON.stringify(docs)}`, "the picked folder");
  await s.click(await s.findByText("button", "Add and review the plan"));
  await s.find("[data-testid=plan-counts]");
  assert.equal(await s.text(await s.find("[data-testid=plan-added]")), "3");
  await s.screenshot(join(SHOTS, "app-plan.png"));
  await s.click(await s.find("[data-testid=confirm-plan]"));
  await s.waitFor(`document.querySelector('${card("Team handbook")}')?.dataset.state === "upToDate"`, "Up to date", WAIT_MS);
  const cardText = await s.text(await s.find(card("Team handbook")));
  assert.match(cardText, /Up to date/);
  await s.screenshot(join(SHOTS, "app-folders.png"));
});

test("the Sandbox holds the folder's items, with their content", async () => {
  const announce = JSON.parse(readFileSync(join(DATA_HOME, "io.pushdeck.app", "sandbox", "sandbox.json"), "utf8"));
  await fetch(`${announce.url}/_emulator/v1/drain`, { method: "POST" });
  const r = await fetch(`${announce.url}/_emulator/v1/organizations/sandbox/sources/documents/items`);
  const { items } = await r.json();
  const ids = items.map((i) => i.documentId).sort();
  assert.equal(ids.length, 3, ids.join(", "));
  assert.ok(ids.some((id) => id.endsWith("/HR/leave.txt")), ids.join(", "));
  const leave = items.find((i) => i.documentId.endsWith("/HR/leave.txt"));
  assert.equal(Buffer.from(leave.content, "base64").toString(), "Leave policy: 25 days a year.");
});

test("the Sandbox browser lists the items the app pushed", async () => {
  await s.click(await s.find("#tab-sandbox"));
  await s.waitFor(`document.body.innerText.includes("leave.txt")`, "the item in the Sandbox browser");
  await s.screenshot(join(SHOTS, "app-sandbox.png"));
});

test("an item of the Sandbox opens with its content", async () => {
  await s.click(await s.findByText("span", "leave.txt"));
  await s.waitFor(`document.body.innerText.includes("Leave policy: 25 days a year.")`, "the item's content");
  await s.screenshot(join(SHOTS, "app-sandbox-item.png"));
});

test("the activity log shows what the engine did", async () => {
  await s.click(await s.find("#tab-activity"));
  const count = await s.waitFor(`Number.parseInt(document.querySelector("[data-testid=activity-count]")?.textContent ?? "0") > 0 && document.querySelector("[data-testid=activity-count]").textContent`, "activity lines");
  assert.match(count, /^[1-9][\d,]* lines/);
  await s.screenshot(join(SHOTS, "app-activity.png"));
});

test("the permissions screen shows the folder's effective model", async () => {
  await s.click(await s.find("#tab-permissions"));
  await s.waitFor(`document.body.innerText.includes("Team handbook")`, "the folder in the permissions screen");
  await s.screenshot(join(SHOTS, "app-permissions.png"));
});
