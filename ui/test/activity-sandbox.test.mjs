// The live activity log and its chart, the Sandbox browser's 100,000 items, the connection form.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { snap, suite } from "./harness.mjs";

const ui = suite();
before(() => ui.start());
after(() => ui.stop());

test("the activity log loads older pages as it scrolls, grows live while items stream, and filters", async () => {
  const page = await ui.open("first=0&activity=100000");
  await page.getByRole("tab", { name: "Activity" }).click();
  const lines = () => page.evaluate(() => Number(document.querySelector("[data-testid=activity-count]").textContent.replace(/\D/g, "")));
  assert.equal(await page.getByTestId("activity-count").textContent(), "2,000 lines (older ones load as you scroll)");
  const list = page.getByTestId("activity-list");
  for (const expected of [4_000, 6_000]) {
    await list.evaluate((el) => (el.scrollTop = el.scrollHeight));
    await page.waitForFunction((n) => Number(document.querySelector("[data-testid=activity-count]").textContent.replace(/\D/g, "")) === n, expected);
  }
  assert.ok((await list.locator("[role=option]").count()) < 60, "only the rows in view are drawn");
  await list.evaluate((el) => (el.scrollTop = 0));
  const before = await lines();
  await page.evaluate(() => window.__pushdeckFake.streamItems(2_000, 100, 10));
  await page.waitForFunction((n) => Number(document.querySelector("[data-testid=activity-count]").textContent.replace(/\D/g, "")) >= n + 20, before);
  const newest = await page.locator("[data-testid=activity-list] [role=option]").first().textContent();
  assert.match(newest, /Pushed 100 items from Policies/);
  await page.selectOption("[data-testid=activity-kind]", "failed");
  const failed = await page.locator("[data-testid=activity-list] [role=option]").allTextContents();
  assert.ok(failed.length > 0 && failed.every((t) => t.includes("rejected")), failed.slice(0, 3).join(" | "));
  await page.selectOption("[data-testid=activity-kind]", "");
  const all = await lines();
  await page.getByTestId("activity-filter").fill("Engineering wiki");
  await page.waitForFunction((n) => Number(document.querySelector("[data-testid=activity-count]").textContent.replace(/\D/g, "")) < n, all);
  const rows = await page.locator("[data-testid=activity-list] [role=option]").allTextContents();
  assert.ok(rows.every((t) => t.includes("Engineering wiki")));
  const bars = await page.locator("[data-testid=activity-chart] rect").count();
  assert.equal(bars, 30);
  // the screenshot: the seeded hour, as a person would see it
  const fresh = await ui.open("first=0");
  await fresh.getByRole("tab", { name: "Activity" }).click();
  await fresh.waitForTimeout(700);
  await snap(fresh, "activity");
});

test("the Sandbox browser scrolls 100,000 items, shows an item, and searches as a user", async () => {
  const page = await ui.open("first=0");
  await page.getByRole("tab", { name: "Sandbox browser" }).click();
  await page.waitForFunction(() => document.querySelector("[data-testid=sandbox-total]")?.textContent === "100,000 items");
  const list = page.getByTestId("sandbox-list");
  await list.evaluate((el) => (el.scrollTop = el.scrollHeight));
  await page.getByText("doc-099999", { exact: false }).or(page.locator("[role=option]:has-text('Budget plan 12500')")).first().waitFor();
  assert.ok((await list.locator("[role=option]").count()) < 60, "only the rows in view are drawn");
  await list.locator("[role=option]:has-text('Budget plan 12500')").click();
  await page.getByTestId("sandbox-detail").getByText("file:///sandbox/documents/doc-099999.txt").waitFor();
  await page.getByTestId("sandbox-detail").getByTestId("diagram").waitFor();
  // search as hlee: the host's answers for the Sandbox's four models (everyone, only HR, the
  // worked example, everyone except Contractors): all but the worked example
  await page.selectOption("[data-testid=sandbox-as]", "hlee@example.com");
  await page.waitForFunction(() => document.querySelector("[data-testid=sandbox-total]")?.textContent === "75,000 items");
  await page.selectOption("[data-testid=sandbox-as]", "dmoore@example.com");
  await page.waitForFunction(() => document.querySelector("[data-testid=sandbox-total]")?.textContent === "25,000 items");
  await page.getByTestId("sandbox-search").fill("Travel policy");
  await page.waitForFunction(() => document.querySelector("[data-testid=sandbox-total]")?.textContent === "0 items");
  await page.selectOption("[data-testid=sandbox-as]", "");
  await page.waitForFunction(() => document.querySelector("[data-testid=sandbox-total]")?.textContent === "12,500 items");
  assert.deepEqual(await page.evaluate(() => window.__pushdeckFake.notInFixtures), [], "search as answered from the fixtures");
  await snap(page, "sandbox");
});

test("Test connection answers in plain words, and the key is never shown again after connecting", async () => {
  const page = await ui.open("first=0");
  await page.getByRole("tab", { name: "Connection" }).click();
  await page.getByLabel("Organization id").fill("acmeprod");
  await page.getByLabel("Region").selectOption("eu");
  await page.getByLabel("API key").fill("xx-readonly-0123456789");
  await page.getByTestId("test-connection").click();
  const result = page.getByTestId("connection-result");
  await result.getByText("The key can read sources but cannot push: give it the privilege Content > Sources > Edit.").waitFor();
  await page.getByLabel("API key").fill("xx-0123456789abcdef");
  await page.getByRole("button", { name: "Load sources and providers" }).click();
  await page.waitForSelector("select[name=source] option[value=acme-documents]", { state: "attached" });
  await page.getByTestId("test-connection").click();
  await result.getByText("Everything works: the key can push items and security identities.").waitFor();
  await snap(page, "connection");
  await page.getByRole("button", { name: "Connect", exact: true }).click();
  await page.getByTestId("connected").waitFor();
  assert.equal(await page.getByTestId("mode").textContent(), "acmeprod · EU");
  assert.equal(await page.getByLabel("API key").inputValue(), "", "the key field is cleared");
  const html = await page.content();
  assert.ok(!html.includes("xx-0123456789abcdef"), "the key appears nowhere in the page");
  await page.getByTestId("connected").getByText("kept in this computer's keyring").waitFor();
});

test("without a keyring, the form says so and offers to keep the key for this run only", async () => {
  const page = await ui.open("first=0&keyring=none");
  await page.getByRole("tab", { name: "Connection" }).click();
  await page.getByTestId("no-keyring").waitFor();
  assert.ok(await page.getByLabel("In this computer's keyring (recommended)").isDisabled());
  assert.ok(await page.getByLabel("Keep it for this run only").isChecked());
  await page.getByLabel("Organization id").fill("acmeprod");
  await page.getByLabel("API key").fill("xx-0123456789abcdef");
  await page.getByRole("button", { name: "Connect", exact: true }).click();
  await page.getByTestId("connected").getByText("kept for this run only").waitFor();
});
