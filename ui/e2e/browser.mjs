// Launches Debian's chromium through playwright-core (no browser download) with a
// fresh profile, and small helpers shared by the driver scripts.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

export const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** launch starts headless chromium with a throw-away user data dir. */
export async function launch() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "haul-ui-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

export function env(name, fallback) {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`environment variable ${name} is required`);
  return v;
}

/** apiGet reads haul's REST API at base as the user of token. */
export async function apiGet(base, token, path) {
  const res = await fetch(`${base}/api/v1${path}`, { headers: { Authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * eventually retries check every 250 ms until it returns true, and fails after
 * timeoutMs with what and the last answer (or error) it gave.
 */
export async function eventually(what, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      const r = await check();
      if (r === true) return;
      last = String(r);
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() > deadline) throw new Error(`${what}: ${last}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function log(...a) {
  console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...a);
}

/** step runs fn and, on failure, saves a screenshot named after the step. */
export async function step(page, name, fn) {
  log(`step: ${name}`);
  try {
    return await fn();
  } catch (err) {
    const dir = process.env.HAUL_SCREENSHOTS;
    if (dir) {
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `${name.replace(/[^a-z0-9]+/gi, "-")}.png`);
      await page.screenshot({ path: file, fullPage: true }).catch(() => {});
      log(`screenshot: ${file}`);
    }
    throw new Error(`${name}: ${err instanceof Error ? err.message : err}`);
  }
}
