#!/usr/bin/env node
// Browser test of the dashboard against a running haul: log in with the login URL,
// check the pipeline graph's stages and edges, promote a Freight through the dialog,
// and watch the stage node change without a reload; then, as a viewer, check that
// the promote button is replaced by a "not allowed" message.
//
// Environment:
//   HAUL_URL            base URL, e.g. http://127.0.0.1:8080
//   HAUL_TOKEN          admin (or promoter) token
//   HAUL_VIEWER_TOKEN   optional: a token of a user who may only view the project
//   HAUL_PROJECT        project name (default demo)
//   HAUL_STAGES         comma-separated stage names the graph must show (default test,uat,prod)
//   HAUL_WAREHOUSES     comma-separated warehouse names (default app)
//   HAUL_EDGES          comma-separated edges "a->b" between node names (default app->test,test->uat,uat->prod)
//   HAUL_EXACT_EDGES    1 (default): the graph has exactly HAUL_EDGES; 0: at least those
//   HAUL_FREIGHT        alias of the Freight to promote
//   HAUL_PROMOTE_STAGE  the stage to promote it to (default: the first stage)
//   HAUL_HOSTILE_TEXT   optional: text of a javascript: annotation on the promoted stage,
//                       which its drawer must show as text, never as a link
//   HAUL_SCREENSHOTS    directory for screenshots on failure (and of the final page)
//   HAUL_TIMEOUT_MS     how long to wait for each expectation (default 60000)

import { env, launch, log, step } from "./browser.mjs";

const base = env("HAUL_URL").replace(/\/$/, "");
const token = env("HAUL_TOKEN");
const viewerToken = process.env.HAUL_VIEWER_TOKEN;
const project = env("HAUL_PROJECT", "demo");
const stages = env("HAUL_STAGES", "test,uat,prod").split(",");
const warehouses = env("HAUL_WAREHOUSES", "app").split(",");
const edges = env("HAUL_EDGES", "app->test,test->uat,uat->prod").split(",");
const freight = env("HAUL_FREIGHT");
const target = env("HAUL_PROMOTE_STAGE", stages[0]);
const timeout = Number(env("HAUL_TIMEOUT_MS", "60000"));
const hostile = process.env.HAUL_HOSTILE_TEXT;
const exactEdges = env("HAUL_EXACT_EDGES", "1") === "1";

const nodeId = (name) => (warehouses.includes(name) ? `warehouse:${name}` : `stage:${name}`);

const browser = await launch();
let failed = false;
try {
  const page = await browser.context.newPage();
  page.setDefaultTimeout(timeout);
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));

  await step(page, "log in with the login URL", async () => {
    await page.goto(`${base}/?token=${encodeURIComponent(token)}`);
    await page.getByTestId(`project-${project}`).waitFor();
    if (new URL(page.url()).searchParams.has("token")) throw new Error(`the token is still in the address bar: ${page.url()}`);
  });

  await step(page, "open the project", async () => {
    await page.getByTestId(`project-${project}`).getByRole("link").click();
    await page.getByTestId("pipeline-graph").waitFor();
    if (new URL(page.url()).pathname !== `/projects/${project}`) throw new Error(`URL is ${page.url()}`);
  });

  await step(page, "graph shows stages, warehouses and edges", async () => {
    for (const w of warehouses) await page.getByTestId(`warehouse-node-${w}`).waitFor();
    for (const s of stages) await page.getByTestId(`stage-node-${s}`).waitFor();
    for (const e of edges) {
      const [a, b] = e.split("->");
      await page.getByTestId(`rf__edge-${nodeId(a)}->${nodeId(b)}`).waitFor({ state: "attached" });
    }
    if (exactEdges) {
      const count = await page.locator(".react-flow__edge").count();
      if (count !== edges.length) throw new Error(`graph has ${count} edges, want ${edges.length}`);
    }
  });

  const before = await page.getByTestId(`stage-freight-${target}`).innerText();
  log(`stage ${target} shows "${before}" before the promotion`);

  await step(page, "deep link works on reload", async () => {
    await page.reload();
    await page.getByTestId(`stage-node-${target}`).waitFor();
  });

  // From here on the page must never reload: a marker on window would vanish.
  await page.evaluate(() => (window.__haulNoReload = true));

  await step(page, `promote ${freight} to ${target} through the dialog`, async () => {
    const row = page.getByTestId(`freight-${freight}`);
    await row.waitFor();
    await row.getByTestId("promote-button").click();
    await page.getByTestId(`promote-to-${target}`).click();
    const confirmation = await page.getByTestId("promote-confirmation").innerText();
    if (!confirmation.includes(target) || !confirmation.includes(freight)) {
      throw new Error(`confirmation "${confirmation}" does not name stage ${target} and freight ${freight}`);
    }
    await page.getByTestId("confirm-promote").click();
    await page.getByTestId("confirm-promote").waitFor({ state: "detached" });
  });

  await step(page, `stage ${target} shows ${freight} without a reload`, async () => {
    const started = Date.now();
    await page.getByTestId(`stage-freight-${target}`).filter({ hasText: freight }).waitFor();
    const kept = await page.evaluate(() => window.__haulNoReload === true);
    if (!kept) throw new Error("the page was reloaded");
    log(`stage ${target} showed ${freight} ${Date.now() - started} ms after confirming`);
  });

  await step(page, `stage drawer of ${target} shows the promotion and no javascript: links`, async () => {
    await page.getByTestId(`stage-node-${target}`).click();
    const drawer = page.getByTestId(`stage-drawer-${target}`);
    await drawer.waitFor();
    await drawer.locator('[data-testid^="promotion-"]').first().waitFor();
    if (hostile) await drawer.getByText(hostile).waitFor();
    const bad = await page.evaluate(() =>
      [...document.querySelectorAll("a[href]")].map((a) => a.getAttribute("href")).filter((h) => !/^(https?:|\/)/i.test(h ?? "")),
    );
    if (bad.length) throw new Error(`links with unsafe hrefs: ${bad.join(", ")}`);
    if (process.env.HAUL_SCREENSHOTS) await page.screenshot({ path: `${process.env.HAUL_SCREENSHOTS}/drawer.png` });
    await drawer.getByRole("button", { name: "Close" }).click();
  });

  if (process.env.HAUL_SCREENSHOTS) await page.screenshot({ path: `${process.env.HAUL_SCREENSHOTS}/promoted.png` });
  if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
  await page.close();

  if (viewerToken) {
    // The viewer's token replaces the admin's in this profile's localStorage.
    const vpage = await browser.context.newPage();
    vpage.setDefaultTimeout(timeout);
    await step(vpage, "viewer sees the project but may not promote", async () => {
      await vpage.goto(`${base}/projects/${encodeURIComponent(project)}?token=${encodeURIComponent(viewerToken)}`);
      await vpage.getByTestId(`stage-node-${target}`).waitFor();
      await vpage.getByTestId(`freight-${freight}`).waitFor();
      const msg = await vpage.getByTestId("promote-not-allowed").innerText();
      if (!msg.includes("not allowed to promote")) throw new Error(`message is "${msg}"`);
      const buttons = await vpage.getByTestId("promote-button").count();
      if (buttons !== 0) throw new Error(`viewer sees ${buttons} promote buttons`);
    });
    if (process.env.HAUL_SCREENSHOTS) await vpage.screenshot({ path: `${process.env.HAUL_SCREENSHOTS}/viewer.png` });
  }
  log("PASS");
} catch (err) {
  failed = true;
  console.error(`FAIL: ${err instanceof Error ? err.message : err}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
