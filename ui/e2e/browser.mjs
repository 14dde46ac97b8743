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
