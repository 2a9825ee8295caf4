// The app shell: first launch, theme, keyboard navigation, labels, errors from the host.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { snap, suite, unnamedControls } from "./harness.mjs";

const ui = suite();
before(() => ui.start());
after(() => ui.stop());

test("first launch opens in the Sandbox with a welcome banner that can be hidden", async () => {
  const page = await ui.open();
  assert.equal(await page.getByTestId("mode").textContent(), "Sandbox");
  await page.getByTestId("welcome").waitFor();
  await snap(page, "folders");
  await page.getByRole("button", { name: "Try the sample folder" }).click();
  await page.getByRole("dialog", { name: "Plan for Sample folder" }).getByTestId("plan-counts").waitFor();
  await page.getByRole("button", { name: "Not now" }).click();
  await page.getByRole("button", { name: "Hide this message" }).click();
  await page.getByTestId("welcome").waitFor({ state: "detached" });
  assert.deepEqual(page.errors, []);
});

test("start at login is offered once, off until the person says yes, and switchable under Connection", async () => {
  const page = await ui.open("first=0");
  await page.getByTestId("autostart-offer").waitFor();
  await page.getByRole("tab", { name: "Connection" }).click();
  const box = page.getByTestId("autostart");
  await page.waitForFunction(() => !document.querySelector("[data-testid=autostart]")?.disabled);
  assert.equal(await box.isChecked(), false, "off by default");
  await page.getByRole("tab", { name: "Folders" }).click();
  await page.getByTestId("autostart-yes").click();
  await page.getByTestId("autostart-offer").waitFor({ state: "detached" });
  await page.getByRole("tab", { name: "Connection" }).click();
  await page.waitForFunction(() => document.querySelector("[data-testid=autostart]")?.checked === true);
  await box.uncheck();
  await page.waitForFunction(() => document.querySelector("[data-testid=autostart]")?.checked === false);
  await page.getByRole("tab", { name: "Folders" }).click();
  assert.equal(await page.getByTestId("autostart-offer").count(), 0, "offered once");
  assert.deepEqual(page.errors, []);
});

test("the theme follows the system, the toggle switches it and is remembered", async () => {
  const page = await ui.open("first=0", { colorScheme: "dark" });
  const theme = () => page.evaluate(() => document.documentElement.dataset.theme);
  assert.equal(await theme(), "dark");
  await page.getByTestId("theme-toggle").click();
  assert.equal(await theme(), "light");
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(background, "rgb(244, 246, 249)");
  await page.reload();
  await page.waitForSelector("body[data-ready=true]");
  assert.equal(await theme(), "light", "the choice survives a reload");
  await page.getByTestId("theme-toggle").click();
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), "rgb(18, 21, 26)");
});

test("screens are reachable with the keyboard alone", async () => {
  const page = await ui.open("first=0");
  await page.getByRole("tab", { name: "Folders" }).focus();
  await page.keyboard.press("ArrowDown");
  assert.equal(await page.getByRole("tab", { name: "Permissions" }).getAttribute("aria-selected"), "true");
  await page.getByRole("heading", { name: "Permissions", level: 1 }).waitFor();
  await page.keyboard.press("End");
  assert.equal(await page.getByRole("tab", { name: "Connection" }).getAttribute("aria-selected"), "true");
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Connection");
  await page.keyboard.press("ArrowUp");
  await page.getByRole("heading", { name: "Sandbox browser" }).waitFor();
  // the long list: focus it, jump to the end, open the last item with Enter
  const list = page.getByTestId("sandbox-list");
  await page.waitForFunction(() => document.querySelector("[data-testid=sandbox-list]")?.dataset.count === "100000");
  await list.focus();
  await page.keyboard.press("End");
  await page.keyboard.press("Enter");
  await page.getByTestId("sandbox-detail").getByText("doc-099999").waitFor();
  assert.match(await list.getAttribute("aria-activedescendant"), /-99999$/);
});

test("every control on every screen has an accessible name", async () => {
  const page = await ui.open();
  for (const screen of ["Folders", "Permissions", "Test uploads", "Activity", "Sandbox browser", "Connection"]) {
    await page.getByRole("tab", { name: screen }).click();
    await page.waitForTimeout(300);
    assert.deepEqual(await unnamedControls(page), [], `unnamed controls on ${screen}`);
  }
  await page.getByRole("tab", { name: "Permissions" }).click();
  for (const tab of ["Folder rules", "What can a user see", "Identities"]) {
    await page.getByRole("tab", { name: tab }).click();
    await page.waitForTimeout(300);
    assert.deepEqual(await unnamedControls(page), [], `unnamed controls on Permissions > ${tab}`);
  }
});

test("a host error shows its message, not a parsed or generic text", async () => {
  const page = await ui.open("first=0");
  await page.getByRole("tab", { name: "Connection" }).click();
  await page.getByTestId("test-connection").click();
  await page.getByTestId("notice").getByText("Type the organization id (for example acmecorpproduction1x2y3z).").waitFor();
});
