// A small W3C WebDriver client over Node's fetch, enough to drive the real Pushdeck window
// through tauri-driver (which forwards to WebKitWebDriver). No webdriverio install needed.
import { spawn } from "node:child_process";
import { writeFileSync, mkdirSync, openSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const ELEMENT = "element-6066-11e4-a52e-4f735466cecc";
/** How long a wait may take: the debug app on a loaded 2-core machine is slow to sync. */
export const WAIT_MS = 60_000;

/** Where tauri-driver, WebKitWebDriver and the app write their output (E2E_DRIVER_LOG). */
const DRIVER_LOG = process.env.E2E_DRIVER_LOG ?? join(tmpdir(), "pushdeck-e2e-driver.log");

/** Starts tauri-driver on `port` (it uses port+1 for WebKitWebDriver) and waits for it. */
export async function startDriver({ driver, port }) {
  const log = openSync(DRIVER_LOG, "a");
  const child = spawn(driver, ["--port", String(port), "--native-port", String(port + 1), "--native-driver", "/usr/bin/WebKitWebDriver"], {
    // Not our stdout/stderr: the app (its grandchild) would inherit them, and an app that
    // outlives its session would hold the test runner's pipe open, so the run never ends.
    stdio: ["ignore", log, log],
  });
  const base = `http://127.0.0.1:${port}`;
  const start = Date.now();
  for (;;) {
    try {
      const r = await fetch(`${base}/status`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - start > 20_000) {
      child.kill();
      throw new Error(`tauri-driver did not listen on ${base}`);
    }
    await sleep(200);
  }
  return { child, base };
}

async function request(base, method, path, body) {
  const r = await fetch(base + path, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json.value ?? json)}`);
  return json.value;
}

export class Session {
  static async create(base, application) {
    const value = await request(base, "POST", "/session", {
      capabilities: { alwaysMatch: { browserName: "wry", "tauri:options": { application } } },
    });
    return new Session(base, value.sessionId);
  }

  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  cmd(method, path, body) {
    return request(this.base, method, `/session/${this.id}${path}`, body);
  }

  async delete() {
    await this.cmd("DELETE", "").catch(() => {});
  }

  /** Runs `script` (a function body) in the page and returns its result. */
  exec(script, ...args) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }

  /** Polls a JavaScript expression until it is truthy; returns its value. */
  async waitFor(expression, what, timeout = WAIT_MS) {
    const start = Date.now();
    let last;
    for (;;) {
      try {
        last = await this.exec(`return (${expression});`);
        if (last) return last;
      } catch (e) {
        last = e.message;
      }
      if (Date.now() - start > timeout) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
      await sleep(250);
    }
  }

  async find(css, timeout = WAIT_MS) {
    const start = Date.now();
    for (;;) {
      try {
        const el = await this.cmd("POST", "/element", { using: "css selector", value: css });
        return el[ELEMENT] ?? el.ELEMENT ?? Object.values(el)[0];
      } catch (e) {
        if (Date.now() - start > timeout) throw new Error(`no element ${css}: ${e.message}`);
        await sleep(250);
      }
    }
  }

  async findByText(tag, text, timeout = WAIT_MS) {
    const xpath = `//${tag}[normalize-space(.)=${JSON.stringify(text)}]`;
    const start = Date.now();
    for (;;) {
      try {
        const el = await this.cmd("POST", "/element", { using: "xpath", value: xpath });
        return el[ELEMENT] ?? el.ELEMENT ?? Object.values(el)[0];
      } catch (e) {
        if (Date.now() - start > timeout) throw new Error(`no ${tag} "${text}": ${e.message}`);
        await sleep(250);
      }
    }
  }

  /** The first element matching an XPath expression (waits for it like `find`). */
  async findXPath(xpath, timeout = WAIT_MS) {
    const start = Date.now();
    for (;;) {
      try {
        const el = await this.cmd("POST", "/element", { using: "xpath", value: xpath });
        return el[ELEMENT] ?? el.ELEMENT ?? Object.values(el)[0];
      } catch (e) {
        if (Date.now() - start > timeout) throw new Error(`no element ${xpath}: ${e.message}`);
        await sleep(250);
      }
    }
  }

  /** Chooses `value` in the <select> matching `css`, as a person would (a change event). */
  async select(css, value, timeout = WAIT_MS) {
    const start = Date.now();
    for (;;) {
      const ok = await this.exec(
        `const el = document.querySelector(arguments[0]);
         if (!el || ![...el.options].some((o) => o.value === arguments[1])) return false;
         el.value = arguments[1];
         el.dispatchEvent(new Event("change", { bubbles: true }));
         return true;`,
        css,
        value,
      );
      if (ok) return;
      if (Date.now() - start > timeout) throw new Error(`${css} has no option ${JSON.stringify(value)}`);
      await sleep(250);
    }
  }

  /** Types `text` into an element (WebDriver "element send keys"). */
  type(element, text) {
    return this.cmd("POST", `/element/${element}/value`, { text });
  }

  /** Clears an input. */
  clear(element) {
    return this.cmd("POST", `/element/${element}/clear`, {});
  }

  /** Clicks an element (WebDriver scrolls it into view). A notice in the corner can cover a
   *  button at the very bottom of the page ("element click intercepted"): then the notices
   *  are dismissed, as a person would, and the click is tried once more. */
  async click(element) {
    try {
      return await this.cmd("POST", `/element/${element}/click`, {});
    } catch (e) {
      if (!/intercepted/.test(e.message)) throw e;
      await this.exec(`document.querySelectorAll("[data-testid=notice] button").forEach((b) => b.click());`);
      await sleep(300);
      return this.cmd("POST", `/element/${element}/click`, {});
    }
  }

  text(element) {
    return this.cmd("GET", `/element/${element}/text`);
  }

  /** Saves a PNG of the window; waits a moment first (a frame right after a change can be stale). */
  async screenshot(path) {
    await sleep(600);
    const b64 = await this.cmd("GET", "/screenshot");
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, Buffer.from(b64, "base64"));
  }
}
