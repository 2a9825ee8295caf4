// End-to-end: Pushdeck as a desktop sync companion, in the real window under Xvfb.
// - Closing the window while a folder syncs hides it (the same close request as the title
//   bar's button); a file changed then is pushed while the window is hidden, and the tray's
//   state line says the folder is up to date.
// - A second launch hands over to the running app, which shows its window, and exits.
// - A folder that halts (its root vanished) raises one desktop notification, intercepted on the
//   session bus with dbus-monitor (what the app sent to org.freedesktop.Notifications), however
//   many times the engine retries.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { APP, addFolderThroughWindow, close, freshAppHome, inspect, launch, ready, sandbox, WAIT_MS } from "./common.mjs";

const PORT = Number(process.env.E2E_PORT ?? 4444) + 50;
const { dataDir } = freshAppHome("companion");

const root = mkdtempSync(join(tmpdir(), "pushdeck-e2e-companion-"));
const docs = join(root, "Notes");
mkdirSync(docs, { recursive: true });
writeFileSync(join(docs, "todo.txt"), "Buy milk.");
process.env.PUSHDECK_E2E_PICK_FOLDER = docs;

let app;
let monitor;
let busLog = "";

before(async () => {
  // Every call to the desktop's notification service on this session bus, as sent.
  monitor = spawn("dbus-monitor", ["--session", "interface='org.freedesktop.Notifications',member='Notify'"], { stdio: ["ignore", "pipe", "ignore"] });
  monitor.stdout.on("data", (chunk) => (busLog += chunk));
  app = await launch(PORT);
  await ready(app.s);
});

after(async () => {
  monitor?.kill();
  await close(app, dataDir);
});

const visibility = () => app.s.exec(`return document.visibilityState;`);
const trayLine = () => app.s.exec(`return window.__TAURI_INTERNALS__.invoke("tray_state").then((t) => t.line);`);

/** The Notify calls the app sent whose text mentions `text`. */
function notifications(text) {
  return busLog.split("method call").filter((call) => call.includes("member=Notify") && call.includes(text));
}

async function sandboxContent(box, file) {
  await inspect(box.url, "/drain", { method: "POST" });
  const { items } = await inspect(box.url, "/organizations/sandbox/sources/documents/items");
  const item = items.find((i) => i.documentId.endsWith(`/${file}`));
  return item ? Buffer.from(item.content ?? "", "base64").toString() : null;
}

test("closing the window hides it while the folder syncs, and a change is pushed while it is hidden", async () => {
  const { s } = app;
  await addFolderThroughWindow(s, { path: docs, name: "Notes", added: 1 });
  assert.equal(await visibility(), "visible");
  await s.exec(`return window.__TAURI_INTERNALS__.invoke("plugin:window|close", { label: "main" });`);
  await s.waitFor(`document.visibilityState === "hidden"`, "the window hidden, not closed");
  // The app is still running (its Sandbox answers) and tells the person once.
  const box = sandbox(dataDir);
  const start = Date.now();
  while (notifications("Pushdeck keeps syncing").length === 0) {
    assert.ok(Date.now() - start < WAIT_MS, `no 'keeps syncing' notification on the bus:\n${busLog}`);
    await sleep(100);
  }
  writeFileSync(join(docs, "todo.txt"), "Buy milk and bread.");
  writeFileSync(join(docs, "later.txt"), "Written while the window was hidden.");
  for (;;) {
    const [todo, later] = [await sandboxContent(box, "todo.txt"), await sandboxContent(box, "later.txt")];
    if (todo === "Buy milk and bread." && later === "Written while the window was hidden.") break;
    assert.ok(Date.now() - start < WAIT_MS, `not pushed while hidden: ${todo} / ${later}`);
    await sleep(250);
  }
  await s.waitFor(`window.__TAURI_INTERNALS__.invoke("tray_state").then((t) => t.line === "Up to date")`, "the tray saying Up to date");
  assert.equal(await trayLine(), "Up to date");
  assert.equal(await visibility(), "hidden", "the sync did not bring the window back");
});

test("a second launch shows the running app's window and exits", async () => {
  const first = sandbox(dataDir).pid;
  const second = spawn(APP, [], { stdio: "ignore", env: process.env });
  const code = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the second launch is still running")), WAIT_MS);
    second.on("exit", (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.equal(code, 0, "the second launch exits cleanly");
  await app.s.waitFor(`document.visibilityState === "visible"`, "the first app's window shown again");
  // Still one app: the Sandbox is still the first app's, and that app still runs.
  assert.equal(sandbox(dataDir).pid, first);
  process.kill(first, 0);
});

test("a folder that halts raises one desktop notification, in plain words", async () => {
  const { s } = app;
  renameSync(docs, `${docs}-moved`);
  await s.click(await s.find("#tab-folders"));
  await s.waitFor(`document.querySelector('[data-testid=folder-card][data-folder="Notes"]')?.dataset.state === "needsAttention"`, "the folder halted", WAIT_MS);
  const start = Date.now();
  while (notifications("Notes needs attention").length === 0) {
    assert.ok(Date.now() - start < WAIT_MS, `no notification on the bus:\n${busLog}`);
    await sleep(100);
  }
  // The engine looks again (a rescan); the same halt says nothing new.
  await s.click(await s.findXPath(`//button[@aria-label="Rescan Notes now"]`));
  await sleep(3000);
  const calls = notifications("Notes needs attention");
  assert.equal(calls.length, 1, calls.join("\n---\n"));
  assert.match(calls[0], /string "Notes needs attention"/);
  assert.equal(await trayLine(), "Notes needs attention");
});
