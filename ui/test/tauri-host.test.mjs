// The desktop host (src/ipc/tauri.ts) against a mocked Tauri IPC (test/tauri-mock.ts): command
// names and the `{ request }` argument, events on pushdeck://event, `{code, message}` errors,
// and files dropped through the webview's drag-drop event (with paths).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { launchBrowser, serveDist } from "./harness.mjs";

const MOCK = fileURLToPath(new URL("../test-dist/tauri-mock.js", import.meta.url));
let server;
let browser;
before(async () => {
  server = await serveDist();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function openInShell() {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await page.addInitScript({ path: MOCK });
  await page.goto(server.url);
  await page.waitForSelector("body[data-ready=true]");
  return page;
}
const calls = (page) => page.evaluate(() => window.__calls);

test("inside the shell the Tauri host is used, with one `request` argument per command", async () => {
  const page = await openInShell();
  assert.match(await page.locator(".foot").textContent(), /Host: desktop/);
  await page.locator("[data-folder=Contracts]").waitFor();
  const names = (await calls(page)).map(([cmd]) => cmd);
  assert.deepEqual(names.slice(0, 3).sort(), ["get_app_state", "list_activity", "list_folders"]);
  assert.deepEqual((await calls(page)).find(([c]) => c === "list_activity")[1], { request: { afterId: null, beforeId: null, limit: 2_000 } });
  await page.getByRole("button", { name: "Review the plan" }).click();
  await page.getByTestId("plan-added").getByText("7").waitFor();
  assert.deepEqual((await calls(page)).find(([c]) => c === "plan_folder")[1], { request: { folderId: "f1" } });
  await page.getByText("This plan is a test").waitFor();
});

test("a `{code, message}` rejection is shown as its message", async () => {
  const page = await openInShell();
  await page.getByRole("button", { name: "Review the plan" }).click();
  await page.getByTestId("confirm-plan").click();
  await page.getByTestId("notice").getByText("The folder changed since this plan was made. Look at the new plan before starting.").waitFor();
});

test("events on pushdeck://event update the cards", async () => {
  const page = await openInShell();
  await page.locator("[data-folder=Contracts]").waitFor();
  await page.evaluate(() =>
    window.__emit("pushdeck://event", {
      kind: "folder",
      folder: {
        id: "f1", name: "Contracts", path: "/home/ada/Contracts", sourceId: "documents",
        state: { kind: "syncing", done: 3, total: 7, bytes: 30_000, bytesTotal: 70_000, etaSeconds: 4 },
        lastSyncAtMs: null, itemCount: 0, include: [], exclude: [], awaitingFirstSync: false, ownsSource: false,
      },
    }),
  );
  await page.waitForFunction(() => document.querySelector("[data-folder=Contracts]")?.dataset.state === "syncing");
  assert.equal(await page.getByTestId("folder-state").textContent(), "Syncing 3 of 7");
});

test("files dropped through the webview arrive with their paths", async () => {
  const page = await openInShell();
  await page.locator("[data-folder=Contracts]").waitFor();
  await page.evaluate(() => window.__emit("tauri://drag-enter", { paths: ["/home/ada/offer.pdf"], position: { x: 5, y: 5 } }));
  await page.getByText("Drop files to preview a test upload").waitFor();
  await page.evaluate(() => window.__emit("tauri://drag-drop", { paths: ["/home/ada/offer.pdf"], position: { x: 5, y: 5 } }));
  await page.locator("[data-testid=test-item][data-file='offer.pdf']").waitFor();
  const request = (await calls(page)).find(([c]) => c === "prepare_test_items")[1];
  assert.deepEqual(request, { request: { files: [{ name: "offer.pdf", size: 0, path: "/home/ada/offer.pdf", mediaType: null }] } });
  await page.getByText("Drop files to preview a test upload").waitFor({ state: "detached" });
});
