// Shared helpers of the UI tests and benchmarks: serve ui/dist over loopback, drive headless
// Debian Chromium through playwright-core (which never downloads a browser).

import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const DIST = fileURLToPath(new URL("../dist/", import.meta.url));
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png" };

/** A content security policy as strict as the desktop shell's: nothing inline, nothing remote. */
export const STRICT_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'";

/** Serves ui/dist on 127.0.0.1 with a free port; unknown paths get index.html. */
export async function serveDist({ csp = null } = {}) {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    let file = join(DIST, path === "/" ? "index.html" : path);
    let body;
    try {
      body = await readFile(file);
    } catch {
      file = join(DIST, "index.html");
      body = await readFile(file);
    }
    const headers = { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" };
    if (csp) headers["content-security-policy"] = csp;
    res.writeHead(200, headers);
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(resolve)) };
}

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/** Opens the app with the fake host and waits until it has loaded its data. */
export async function openApp(browser, baseUrl, query = "", options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: options.colorScheme ?? "light" });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error));
  await page.goto(`${baseUrl}?host=fake${query ? "&" + query : ""}`);
  await page.waitForSelector("body[data-ready=true]");
  page.errors = errors;
  return page;
}

export async function screenshot(page, name) {
  const dir = fileURLToPath(new URL("../../docs/screenshots/", import.meta.url));
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(dir, `${name}.png`) });
}

/** Saves a screenshot into ui/test-results/, and into docs/screenshots/ when UPDATE_SCREENSHOTS is set. */
export async function snap(page, name) {
  const { mkdir } = await import("node:fs/promises");
  await page.waitForTimeout(250);
  const results = fileURLToPath(new URL("../test-results/", import.meta.url));
  await mkdir(results, { recursive: true });
  await page.screenshot({ path: join(results, `${name}.png`) });
  if (process.env.UPDATE_SCREENSHOTS) await screenshot(page, name);
}

/** Starts the server and the browser once per test file. */
export function suite() {
  const state = { server: null, browser: null };
  return {
    async start() {
      state.server = await serveDist();
      state.browser = await launchBrowser();
    },
    async stop() {
      await state.browser?.close();
      await state.server?.close();
    },
    open(query = "", options = {}) {
      return openApp(state.browser, state.server.url, query, options);
    },
  };
}

/** Names of form controls that have no accessible name (should be none). */
export function unnamedControls(page) {
  return page.evaluate(() => {
    const missing = [];
    for (const el of document.querySelectorAll("button, input:not([type=hidden]):not([hidden]), select, textarea, [role=button], [role=tab], [role=listbox]")) {
      const name =
        el.getAttribute("aria-label") ||
        (el.getAttribute("aria-labelledby") && document.getElementById(el.getAttribute("aria-labelledby"))?.textContent) ||
        (el.id && document.querySelector(`label[for="${el.id}"]`)?.textContent) ||
        el.closest("label")?.textContent ||
        (el.tagName === "BUTTON" || el.getAttribute("role") === "button" || el.getAttribute("role") === "tab" ? el.textContent : "") ||
        el.getAttribute("title");
      if (!name || !name.trim()) missing.push(el.outerHTML.slice(0, 120));
    }
    return missing;
  });
}
