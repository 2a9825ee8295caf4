// End-to-end: store and replace the API key through the connection form of the real window.
// The key must land in the real keyring (gnome-keyring over the private D-Bus session that
// scripts/lib/with-keyring.sh starts; read back with `secret-tool`, libsecret-tools), and
// nowhere else: not in the app's files (app.json, config.toml, state.sqlite3, the Sandbox's
// data), not in the page. Replacing it leaves only the new key in the keyring.
//
// "A real organization" is a second emulator (`pushdeck emulator`, PUSHDECK_BIN) that the app
// reaches through PUSHDECK_COVEO_ORIGIN, the host's switch for tests and private deployments.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { SHOTS, close, filesUnder, freshAppHome, inspect, launch, ready, WAIT_MS } from "./common.mjs";

const PORT = Number(process.env.E2E_PORT ?? 4444) + 20;
const PUSHDECK = process.env.PUSHDECK_BIN;
const { home, dataDir } = freshAppHome("key");

const ORG = "acmee2e";
// Keys shaped like Coveo's (xx + uuid); random per run so no earlier run can satisfy a check.
const newKey = () => `xx${randomBytes(16).toString("hex").replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-")}`;
const FIRST_KEY = newKey();
const SECOND_KEY = newKey();

let emulator;
let origin;
let app;

/** Starts `pushdeck emulator` for ORG with FIRST_KEY; resolves with its origin. */
function startOrganization() {
  return new Promise((resolve, reject) => {
    emulator = spawn(PUSHDECK, ["emulator", "--org", ORG, "--source", "documents", "--provider", "identities", "--api-key", FIRST_KEY], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    const timer = setTimeout(() => reject(new Error(`pushdeck emulator did not say where it listens: ${out}`)), 20_000);
    emulator.stdout.on("data", (chunk) => {
      out += chunk;
      const m = out.match(/listening on (http:\/\/[\d.:]+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    emulator.on("exit", (code) => reject(new Error(`pushdeck emulator exited (${code}): ${out}`)));
  });
}

/** What the keyring holds for ORG under the app's service, or null. */
function keyringLookup() {
  try {
    return execFileSync("secret-tool", ["lookup", "service", "pushdeck", "username", ORG], { encoding: "utf8" });
  } catch {
    return null; // secret-tool exits 1 when nothing matches
  }
}

/** Every keyring entry for ORG (a replaced key must not linger as a second entry). */
function keyringEntries() {
  const out = execFileSync("secret-tool", ["search", "--all", "--unlock", "service", "pushdeck", "username", ORG], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return out.split("\n").filter((l) => l.startsWith("secret = ")).map((l) => l.slice("secret = ".length));
}

/** Asserts that no file the app wrote, and nothing in the page, holds `key`. */
async function assertKeyNowhere(s, key) {
  const files = filesUnder(home);
  assert.ok(files.some((f) => f.endsWith("app.json")), `app.json not found among ${files.join(", ")}`);
  for (const f of files) {
    const bytes = readFileSync(f);
    assert.equal(bytes.includes(key), false, `${f} contains the API key`);
  }
  const page = await s.exec(
    `return document.documentElement.outerHTML + [...document.querySelectorAll("input")].map((i) => i.value).join("\\n") + JSON.stringify(localStorage) + JSON.stringify(sessionStorage);`,
  );
  assert.equal(page.includes(key), false, "the page holds the API key");
}

async function connectWith(s, key) {
  await s.click(await s.find("#tab-connection"));
  const orgInput = await s.find("input[name=organization]");
  await s.clear(orgInput);
  await s.type(orgInput, ORG);
  const keyInput = await s.find("input[name=apiKey]");
  await s.clear(keyInput);
  await s.type(keyInput, key);
  await s.click(await s.findByText("button", "Load sources and providers"));
  await s.waitFor(`[...document.querySelectorAll("select[name=source] option")].some((o) => o.value === "documents")`, "the organization's sources");
  await s.select("select[name=source]", "documents");
  await s.select("select[name=provider]", "identities");
  await s.click(await s.find("input[name=storage][value=keyring]"));
  // "Test connection" says in plain words that the key works for this organization.
  await s.click(await s.find("[data-testid=test-connection]"));
  const result = await s.find("[data-testid=connection-result]");
  assert.equal(await s.exec(`return document.querySelector("[data-testid=connection-result]").classList.contains("ok");`), true, await s.text(result));
  await s.click(await s.findByText("button", "Connect"));
  await s.waitFor(`document.querySelector("[data-testid=connected]")?.textContent.includes(${JSON.stringify(ORG)})`, "Connected");
  // The form forgets the key once it is handed over.
  await s.waitFor(`document.querySelector("input[name=apiKey]")?.value === ""`, "the key field cleared");
}

before(async () => {
  assert.ok(PUSHDECK, "PUSHDECK_BIN must be set (run scripts/test-e2e.sh)");
  origin = await startOrganization();
  process.env.PUSHDECK_COVEO_ORIGIN = origin;
  app = await launch(PORT);
  await ready(app.s);
});

after(async () => {
  await close(app, dataDir);
  emulator?.kill();
});

test("the keyring answers and holds no key for the organization yet", async () => {
  assert.equal(keyringLookup(), null);
  const state = await app.s.exec(`return document.querySelector("[data-testid=no-keyring]") === null;`);
  assert.equal(state, true, "the app says no keyring answered");
});

test("connecting stores the key in the keyring, and nowhere else", async () => {
  const { s } = app;
  await connectWith(s, FIRST_KEY);
  assert.equal(keyringLookup(), FIRST_KEY);
  assert.deepEqual(keyringEntries(), [FIRST_KEY]);
  assert.equal(await s.text(await s.find("[data-testid=mode]")), `${ORG} · US`);
  await assertKeyNowhere(s, FIRST_KEY);
  await s.screenshot(join(SHOTS, "app-connected.png"));
});

test("connecting again with a new key replaces it: the new one is stored, the old one is gone", async () => {
  const { s } = app;
  // The organization accepts the second key too (an extra key with every privilege).
  await inspect(origin, "/keys", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ key: SECOND_KEY, items: true, identities: true, platform: true }),
  });
  await connectWith(s, SECOND_KEY);
  assert.equal(keyringLookup(), SECOND_KEY);
  assert.deepEqual(keyringEntries(), [SECOND_KEY]);
  await assertKeyNowhere(s, SECOND_KEY);
  await assertKeyNowhere(s, FIRST_KEY);
});

test("the Sandbox is one click away, and the stored key stays in the keyring", async () => {
  const { s } = app;
  await s.click(await s.findByText("button", "Go back to the Sandbox"));
  await s.waitFor(`document.querySelector("[data-testid=mode]")?.textContent.trim() === "Sandbox"`, "Sandbox mode", WAIT_MS);
  assert.equal(keyringLookup(), SECOND_KEY);
});

test("after a restart the app reads the key back from the keyring: Test connection passes with the key field left empty", async () => {
  await close(app, dataDir);
  app = await launch(PORT + 2);
  const { s } = app;
  await ready(s);
  await s.click(await s.find("#tab-connection"));
  const orgInput = await s.find("input[name=organization]");
  await s.type(orgInput, ORG);
  assert.equal(await s.exec(`return document.querySelector("input[name=apiKey]").value;`), "");
  await s.click(await s.find("[data-testid=test-connection]"));
  await s.find("[data-testid=connection-result]");
  const ok = await s.exec(`return document.querySelector("[data-testid=connection-result]").classList.contains("ok");`);
  assert.equal(ok, true, await s.text(await s.find("[data-testid=connection-result]")));
  await assertKeyNowhere(s, SECOND_KEY);
});
