// End-to-end: a test upload in the real window. A file is "dropped" (the native file chooser
// cannot be automated: the host's pick_files returns PUSHDECK_E2E_PICK_FILES instead when it is
// set, the same kind of seam as pick_folder), the exact item is shown, Push sends it to the
// embedded Sandbox, the card follows it to Indexed (from the Source Logs), the Sandbox holds
// it with the file's content, and "Delete all test items" removes it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SHOTS, close, freshAppHome, inspect, launch, ready, sandbox, WAIT_MS } from "./common.mjs";

const PORT = Number(process.env.E2E_PORT ?? 4444) + 30;
const { dataDir } = freshAppHome("uploads");

const dir = mkdtempSync(join(tmpdir(), "pushdeck-e2e-uploads-"));
const FILE = "release-notes.txt";
const CONTENT = "Release notes: the desktop app follows test uploads to Indexed.";
writeFileSync(join(dir, FILE), CONTENT);
process.env.PUSHDECK_E2E_PICK_FILES = join(dir, FILE);

let app;
let box;
let documentId;

const itemCard = `[data-testid=test-item][data-file="${FILE}"]`;

before(async () => {
  app = await launch(PORT);
  await ready(app.s);
  box = sandbox(dataDir);
});

after(() => close(app, dataDir));

async function sandboxItem(id) {
  const r = await fetch(`${box.url}/_emulator/v1/organizations/sandbox/sources/documents/item?documentId=${encodeURIComponent(id)}`);
  return r.status === 404 ? null : r.json();
}

test("a chosen file is shown as the exact item that would be sent, and nothing is sent yet", async () => {
  const { s } = app;
  await s.click(await s.find("#tab-uploads"));
  await s.click(await s.find("[data-testid=drop-zone]"));
  await s.find(itemCard);
  const text = await s.text(await s.find(itemCard));
  assert.match(text, /documentId|Metadata/);
  documentId = await s.exec(`return document.querySelector(arguments[0] + " .doc").textContent.trim();`, itemCard);
  assert.ok(documentId, "the card shows the item's documentId");
  await inspect(box.url, "/drain", { method: "POST" });
  assert.equal(await sandboxItem(documentId), null, "nothing is pushed before Push");
  await s.screenshot(join(SHOTS, "app-upload-prepared.png"));
});

test("Push sends it to the Sandbox, and the card follows it to Indexed", async () => {
  const { s } = app;
  await s.click(await s.find(`${itemCard} [data-testid=push]`));
  await s.waitFor(`document.querySelector(${JSON.stringify(`${itemCard} [data-testid=upload-stage]`)})?.dataset.stage === "indexed"`, "the Indexed stage", WAIT_MS);
  const item = await sandboxItem(documentId);
  assert.ok(item, `the Sandbox has no ${documentId}`);
  assert.equal(item.state, "INDEXED");
  assert.equal(Buffer.from(item.content, "base64").toString(), CONTENT);
  const steps = await s.text(await s.find(`${itemCard} [data-testid=upload-stage]`));
  assert.match(steps, /202 Accepted/);
  assert.match(steps, /Indexed/);
  await s.screenshot(join(SHOTS, "app-upload-indexed.png"));
});

test("Delete all test items removes it from the Sandbox", async () => {
  const { s } = app;
  await s.click(await s.find("[data-testid=delete-test-items]"));
  const start = Date.now();
  for (;;) {
    await inspect(box.url, "/drain", { method: "POST" });
    const item = await sandboxItem(documentId);
    if (item === null || item.state === "DELETED") break;
    assert.ok(Date.now() - start < WAIT_MS, `${documentId} is still ${item.state}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  await s.waitFor(`document.body.innerText.includes("Deleted 1 test item")`, "the deletion notice");
});
