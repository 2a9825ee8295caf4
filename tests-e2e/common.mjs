// Shared by the *.e2e.mjs files and bench/app figures: a fresh app (its own config and data
// folders, so one file's folders never leak into another's), the Sandbox it announces, and the
// steps several tests repeat through the window (add a folder and confirm its plan).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, existsSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startDriver, Session, WAIT_MS } from "./webdriver.mjs";

export const APP = process.env.APP_BIN;
export const DRIVER = process.env.TAURI_DRIVER;
export const SHOTS = resolve(process.env.E2E_SCREENSHOTS ?? "docs/screenshots");
/** The app's identifier (tauri.conf.json): its folders under the XDG config and data homes. */
export const APP_ID = "io.pushdeck.app";

/**
 * Gives this process (and so the app that tauri-driver starts from it) fresh XDG config, data
 * and cache homes. Call before `launch`. Returns the temporary home and the app's config and
 * data folders.
 */
export function freshAppHome(prefix) {
  const home = mkdtempSync(join(tmpdir(), `pushdeck-${prefix}-`));
  process.env.XDG_CONFIG_HOME = join(home, "config");
  process.env.XDG_DATA_HOME = join(home, "data");
  // The webview's caches too, so that a check of "every file the app wrote" sees them.
  process.env.XDG_CACHE_HOME = join(home, "cache");
  return { home, configDir: join(home, "config", APP_ID), dataDir: join(home, "data", APP_ID) };
}

/** Starts tauri-driver on `port` and opens the app; returns `{ driver, s }`. */
export async function launch(port, application = APP) {
  assert.ok(application && DRIVER, "APP_BIN and TAURI_DRIVER must be set (run scripts/test-e2e.sh)");
  const driver = await startDriver({ driver: DRIVER, port });
  try {
    const s = await Session.create(driver.base, application);
    return { driver, s };
  } catch (e) {
    driver.child.kill();
    throw e;
  }
}

/**
 * Ends the session (tauri-driver then stops the app) and the driver. If the app outlives its
 * session, it is stopped by the process id it wrote to sandbox.json: an app left running
 * would keep the test runner's output pipe open and the run would never end.
 */
export async function close({ driver, s } = {}, dataDir = undefined) {
  let pid;
  try {
    if (dataDir) pid = sandbox(dataDir).pid;
  } catch {
    // the app never got as far as announcing its Sandbox
  }
  await s?.delete();
  driver?.child.kill();
  if (!pid) return;
  for (let i = 0; i < 20 && alive(pid); i++) await sleep(100);
  if (alive(pid)) process.kill(pid, "SIGTERM");
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The running Sandbox as the app announces it: `{url, api_key, pid}`. */
export function sandbox(dataDir) {
  return JSON.parse(readFileSync(join(dataDir, "sandbox", "sandbox.json"), "utf8"));
}

/** A call to the emulator's inspection API (`/_emulator/v1`). */
export async function inspect(url, path, init) {
  const r = await fetch(`${url}/_emulator/v1${path}`, init);
  assert.ok(r.ok, `${init?.method ?? "GET"} ${path}: ${r.status}`);
  return r.status === 204 ? null : r.json();
}

/** Puts one security identity into the Sandbox's provider through the Push API. */
export async function putIdentity(box, identity, members = []) {
  const r = await fetch(`${box.url}/push/v1/organizations/sandbox/providers/sandbox/permissions`, {
    method: "PUT",
    headers: { authorization: `Bearer ${box.api_key}`, "content-type": "application/json" },
    body: JSON.stringify({ identity, members, wellKnowns: [] }),
  });
  assert.equal(r.status, 202, `PUT identity ${identity.name}: ${r.status} ${await r.text()}`);
}

export const user = (name) => ({ name, type: "USER", additionalInfo: {} });
export const group = (name) => ({ name, type: "GROUP", additionalInfo: {} });

export const card = (name) => `[data-testid=folder-card][data-folder="${name}"]`;

/**
 * Adds the folder that the pick-folder seam returns (PUSHDECK_E2E_PICK_FOLDER, set before
 * launch), checks the plan's count of added items, confirms it, and waits for Up to date.
 */
export async function addFolderThroughWindow(s, { path, name, added, timeout = WAIT_MS }) {
  await s.click(await s.find("#tab-folders"));
  await s.click(await s.find("[data-testid=add-folder]"));
  await s.click(await s.find("[data-testid=choose-folder]"));
  await s.waitFor(`document.querySelector("input[aria-label='Chosen folder']")?.value === ${JSON.stringify(path)}`, "the picked folder");
  await s.click(await s.findByText("button", "Add and review the plan"));
  await s.find("[data-testid=plan-counts]");
  if (added !== undefined) assert.equal(await s.text(await s.find("[data-testid=plan-added]")), added.toLocaleString("en-US"));
  await s.click(await s.find("[data-testid=confirm-plan]"));
  await s.waitFor(`document.querySelector('${card(name)}')?.dataset.state === "upToDate"`, `${name} Up to date`, timeout);
}

/** Waits for the page's first load (the app sets body[data-ready]). */
export async function ready(s) {
  await s.waitFor(`document.body.dataset.ready === "true"`, "the first load");
}

/** Every regular file under `dir` (recursively), for "the key is in no file" checks. */
export function filesUnder(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...filesUnder(p));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

export { sleep, WAIT_MS };
