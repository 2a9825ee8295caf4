// The built UI runs under a strict content security policy (no inline script or style, nothing
// remote), as the desktop shell will serve it: every screen is visited and no violation occurs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { STRICT_CSP, launchBrowser, serveDist } from "./harness.mjs";

let server;
let browser;
before(async () => {
  server = await serveDist({ csp: STRICT_CSP });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test("no content security policy violation on any screen", async () => {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(`${e.violatedDirective}: ${e.sourceFile}:${e.lineNumber} ${e.sample}`));
  });
  await page.goto(`${server.url}?host=fake`);
  await page.waitForSelector("body[data-ready=true]");
  await page.getByRole("button", { name: "Review the plan" }).click();
  await page.getByTestId("plan-counts").waitFor();
  await page.getByRole("button", { name: "Not now" }).click();
  await page.getByTestId("add-folder").click();
  await page.getByTestId("choose-folder").click();
  await page.getByRole("button", { name: "Cancel" }).click();
  for (const screen of ["Permissions", "Test uploads", "Activity", "Sandbox browser", "Connection", "Folders"]) {
    await page.getByRole("tab", { name: screen }).click();
    await page.waitForTimeout(200);
  }
  await page.getByRole("tab", { name: "Permissions" }).click();
  for (const tab of ["Folder rules", "What can a user see", "Identities", "Preview"]) {
    await page.getByRole("tab", { name: tab }).click();
    await page.waitForTimeout(200);
  }
  await page.selectOption("[data-testid=view-as]", "emitchell@example.com");
  await page.getByTestId("verdict").waitFor();
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
  // and the policy is really enforced: an inline script is refused
  await page.evaluate(() => {
    const s = document.createElement("script");
    s.textContent = "window.__inline = true";
    document.body.append(s);
  });
  await page.waitForFunction(() => window.__violations.length > 0);
  assert.equal(await page.evaluate(() => window.__inline), undefined);
});
