#!/usr/bin/env node
// Measures how long the project page takes to become usable in headless chromium:
// from navigation start until the pipeline graph has drawn its stage nodes and the
// Freight timeline lists Freight. Prints one line per run and the median.
//
// Environment: HAUL_URL, HAUL_TOKEN, HAUL_PROJECT (default demo),
//   HAUL_BENCH_RUNS (default 3), HAUL_BENCH_LIMIT_MS (exit 1 above it; default 2000).
// With the mock server: node ui/e2e/mock-server.mjs --stages 1000 --freight 5000

import { env, launch, log } from "./browser.mjs";

const base = env("HAUL_URL").replace(/\/$/, "");
const token = env("HAUL_TOKEN");
const project = env("HAUL_PROJECT", "demo");
const runs = Number(env("HAUL_BENCH_RUNS", "3"));
const limit = Number(env("HAUL_BENCH_LIMIT_MS", "2000"));

const browser = await launch();
const times = [];
try {
  const setup = await browser.context.newPage();
  await setup.goto(`${base}/?token=${encodeURIComponent(token)}`);
  await setup.getByTestId(`project-${project}`).waitFor({ timeout: 60_000 });
  await setup.close();
  for (let i = 0; i < runs; i++) {
    const page = await browser.context.newPage();
    await page.goto(`${base}/projects/${encodeURIComponent(project)}`, { waitUntil: "commit" });
    await page.waitForFunction(
      () => document.querySelector('[data-testid^="stage-node-"]') !== null && document.querySelectorAll(".freight-row").length > 0,
      undefined,
      { polling: "raf", timeout: 60_000 },
    );
    const ms = await page.evaluate(() => performance.now());
    const info = await page.evaluate(() => ({
      nodes: document.querySelector('[data-testid="pipeline-graph"]')?.getAttribute("data-nodes"),
      rendered: document.querySelectorAll(".react-flow__node").length,
      rows: document.querySelectorAll(".freight-row").length,
      total: document.querySelector('[data-testid="freight-timeline"] .muted')?.textContent,
    }));
    const api = await page.evaluate(() =>
      performance
        .getEntriesByType("resource")
        .filter((e) => e.name.includes("/api/") && !e.name.endsWith("/events"))
        .map((e) => `${new URL(e.name).pathname.split("/").pop()} ${e.startTime.toFixed(0)}+${e.duration.toFixed(0)}ms`),
    );
    const paint = await page.evaluate(() => performance.getEntriesByType("navigation")[0]?.domContentLoadedEventEnd ?? 0);
    times.push(ms);
    log(`run ${i + 1}: usable after ${ms.toFixed(0)} ms (graph nodes ${info.nodes}, rendered ${info.rendered}; timeline rows ${info.rows}, ${info.total})`);
    log(`  DOMContentLoaded ${paint.toFixed(0)} ms; API: ${api.join(", ")}`);
    await page.close();
  }
} finally {
  await browser.close();
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(`project page usable: median ${median.toFixed(0)} ms over ${times.length} runs (limit ${limit} ms)`);
process.exit(median <= limit ? 0 : 1);
