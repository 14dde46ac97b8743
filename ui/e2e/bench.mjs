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
// HAUL_BENCH_PROFILE=1 prints where the page spent its CPU time (build with
// `npx vite build --minify false` for readable names).
const profile = process.env.HAUL_BENCH_PROFILE === "1";

function printProfile(p) {
  const nodes = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  p.samples.forEach((id, i) => {
    const f = nodes.get(id).callFrame;
    const key = `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 20)) log(`  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
}

const browser = await launch();
const times = [];
const busyTimes = [];
try {
  const setup = await browser.context.newPage();
  await setup.goto(`${base}/?token=${encodeURIComponent(token)}`);
  await setup.getByTestId(`project-${project}`).waitFor({ timeout: 60_000 });
  await setup.close();
  for (let i = 0; i < runs; i++) {
    const page = await browser.context.newPage();
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send("Performance.enable");
    if (profile) {
      await cdp.send("Profiler.enable");
      await cdp.send("Profiler.setSamplingInterval", { interval: 500 });
      await cdp.send("Profiler.start");
    }
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
    if (profile) printProfile((await cdp.send("Profiler.stop")).profile);
    // Main-thread busy time: what the page itself cost, apart from waiting for the
    // server and for a loaded machine's CPU.
    const metrics = Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));
    const busy = (metrics.TaskDuration ?? 0) * 1000;
    busyTimes.push(busy);
    times.push(ms);
    log(`run ${i + 1}: usable after ${ms.toFixed(0)} ms (graph nodes ${info.nodes}, rendered ${info.rendered}; timeline rows ${info.rows}, ${info.total})`);
    log(`  main thread busy ${busy.toFixed(0)} ms (script ${((metrics.ScriptDuration ?? 0) * 1000).toFixed(0)}, layout ${((metrics.LayoutDuration ?? 0) * 1000).toFixed(0)}, style ${((metrics.RecalcStyleDuration ?? 0) * 1000).toFixed(0)}); DOMContentLoaded ${paint.toFixed(0)} ms; API: ${api.join(", ")}`);
    await page.close();
  }
} finally {
  await browser.close();
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
busyTimes.sort((a, b) => a - b);
console.log(
  `project page usable: median ${median.toFixed(0)} ms over ${times.length} runs (limit ${limit} ms); main thread busy: median ${busyTimes[Math.floor(busyTimes.length / 2)].toFixed(0)} ms`,
);
process.exit(median <= limit ? 0 : 1);
