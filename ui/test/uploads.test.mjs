// Test uploads: a real DataTransfer dropped on the window, the exact item, push and follow, delete.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { snap, suite } from "./harness.mjs";

const ui = suite();
before(() => ui.start());
after(() => ui.stop());

/** Drags files over the window and drops them, as a person dragging from the file manager would. */
async function dropFiles(page, files, { drop = true } = {}) {
  await page.evaluate(
    ({ files, drop }) => {
      const data = new DataTransfer();
      for (const f of files) data.items.add(new File([new Uint8Array(f.size).fill(65)], f.name, { type: f.type }));
      window.__drag = data;
      const fire = (type) => document.body.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
      fire("dragenter");
      fire("dragover");
      if (drop) fire("drop");
    },
    { files, drop },
  );
}

test("files dropped on the window become test items showing exactly what would be sent", async () => {
  const page = await ui.open("first=0");
  await dropFiles(page, [{ name: "release-notes.txt", size: 12_000, type: "text/plain" }], { drop: false });
  await page.getByText("Drop files to preview a test upload").waitFor();
  await page.evaluate(() => document.body.dispatchEvent(new DragEvent("drop", { dataTransfer: window.__drag, bubbles: true, cancelable: true })));
  await page.getByText("Drop files to preview a test upload").waitFor({ state: "detached" });
  const item = page.locator("[data-testid=test-item][data-file='release-notes.txt']");
  await item.waitFor();
  assert.equal(await page.getByRole("tab", { name: "Test uploads" }).getAttribute("aria-selected"), "true");
  const json = JSON.parse(await item.getByRole("region", { name: "Item JSON of release-notes.txt" }).textContent());
  assert.equal(json.documentId, "file:///home/you/Desktop/release-notes.txt");
  assert.equal(json.title, "Release notes");
  assert.equal(json.fileextension, ".txt");
  assert.equal(json.compressionType, "ZLIB");
  assert.deepEqual(json.permissions, [{ allowAnonymous: true, allowedPermissions: [], deniedPermissions: [] }]);
  assert.match(await item.textContent(), /12 KB file/);
  assert.match(await item.textContent(), /4\.1 KB after zlib compression/);
  assert.equal(await item.getByTestId("diagram").count(), 1, "permissions are drawn too");
});

test("a pushed test item is followed from the request to indexed or rejected, then deleted in one click", async () => {
  const page = await ui.open("first=0");
  await page.getByRole("tab", { name: "Test uploads" }).click();
  await dropFiles(page, [
    { name: "handbook.html", size: 3_000, type: "text/html" },
    { name: "installer.exe", size: 9_000, type: "application/octet-stream" },
  ], { drop: false });
  await page.evaluate(() => document.querySelector("[data-testid=drop-zone]").dispatchEvent(new DragEvent("drop", { dataTransfer: window.__drag, bubbles: true, cancelable: true })));
  await page.getByText("Drop files to preview a test upload").waitFor({ state: "detached" });
  assert.equal(await page.locator("[data-testid=test-item]").count(), 2, "each dropped file is prepared once");
  const good = page.locator("[data-testid=test-item][data-file='handbook.html']");
  const bad = page.locator("[data-testid=test-item][data-file='installer.exe']");
  await good.getByTestId("push").click();
  await bad.getByTestId("push").click();
  await page.waitForFunction(() => document.querySelector("[data-file='handbook.html'] [data-testid=upload-stage]")?.dataset.stage === "indexed");
  const steps = await good.locator("[data-testid=upload-stage] li .pill").allTextContents();
  assert.deepEqual(steps, ["Request sent", "202 Accepted (queued)", "Indexed"]);
  await page.waitForFunction(() => document.querySelector("[data-file='installer.exe'] [data-testid=upload-stage]")?.dataset.stage === "rejected");
  assert.match(await bad.getByRole("alert").textContent(), /Coveo does not index \.exe files/);
  await page.evaluate(() => document.querySelector("main").scrollTo(0, 0));
  await snap(page, "test-uploads");
  // the indexed item is in the Sandbox browser, until deleted
  await page.getByTestId("delete-test-items").click();
  await page.getByTestId("notice").getByText("Deleted 1 test items from the index.").waitFor();
  // The stage arrives as a host event, which may land just after the call's own answer.
  await page.waitForFunction(() => document.querySelector("[data-file='handbook.html'] [data-testid=upload-stage]")?.dataset.stage === "deleted");
  assert.equal(await bad.getByTestId("upload-stage").getAttribute("data-stage"), "rejected", "a rejected item was never indexed, so it stays rejected");
});

test("clicking the drop zone opens the desktop's file dialog when the host has one, the page's file chooser otherwise", async () => {
  const page = await ui.open("first=0");
  await page.getByRole("tab", { name: "Test uploads" }).click();
  // A browser host has no native dialog: the page's own file chooser opens.
  const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.getByTestId("drop-zone").click()]);
  assert.equal(chooser.isMultiple(), true);
  await chooser.setFiles([{ name: "agenda.txt", mimeType: "text/plain", buffer: Buffer.from("Monday: planning") }]);
  await page.locator("[data-testid=test-item][data-file='agenda.txt']").waitFor();
  // The desktop's dialog gives paths, and the item is named by where the file is.
  await page.evaluate(() =>
    window.__pushdeckFake.nativeFilePicker([{ name: "notes.txt", size: 2_000, path: "/home/you/Documents/notes.txt", mediaType: null }]),
  );
  let chooserOpened = false;
  page.on("filechooser", () => (chooserOpened = true));
  await page.getByTestId("drop-zone").press("Enter");
  const item = page.locator("[data-testid=test-item][data-file='notes.txt']");
  await item.waitFor();
  const json = JSON.parse(await item.getByRole("region", { name: "Item JSON of notes.txt" }).textContent());
  assert.equal(json.documentId, "file:///home/you/Documents/notes.txt");
  assert.equal(chooserOpened, false, "the page's file chooser stays closed when the host has a dialog");
  // Cancelling the dialog prepares nothing.
  await page.evaluate(() => window.__pushdeckFake.nativeFilePicker([]));
  await page.getByTestId("drop-zone").click();
  await page.waitForTimeout(200);
  assert.equal(await page.locator("[data-testid=test-item]").count(), 2);
});
