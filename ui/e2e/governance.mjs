#!/usr/bin/env node
// Browser test of the dashboard's governance controls against a running haul: two
// users approve a Freight for a Stage that requires two approvals, the admin pauses
// and resumes a Stage, a promoter without the override right is told why promotion
// into a frozen Stage is refused, and the admin overrides the closed window with a
// reason. After each action the REST API is asked whether it took effect.
//
// Environment:
//   HAUL_URL              base URL, e.g. http://127.0.0.1:8080
//   HAUL_TOKEN            token of a user with every right (haul-admin)
//   HAUL_PROMOTER_TOKEN   token of a haul-promoter (approve, promote, pause; no override)
//   HAUL_PROJECT          project name
//   HAUL_FREIGHT          alias of the Freight to approve and promote
//   HAUL_APPROVAL_STAGE   a Stage that requires two approvals and whose window is closed
//   HAUL_PAUSE_STAGE      a Stage to pause and resume
//   HAUL_OVERRIDE_REASON  the reason the admin gives for overriding the window
//   HAUL_SCREENSHOTS      directory for screenshots on failure (and of the final page)
//   HAUL_TIMEOUT_MS       how long to wait for each expectation (default 60000)

import { apiGet as get, env, eventually as retry, launch, log, step } from "./browser.mjs";

const base = env("HAUL_URL").replace(/\/$/, "");
const adminToken = env("HAUL_TOKEN");
const promoterToken = env("HAUL_PROMOTER_TOKEN");
const project = env("HAUL_PROJECT");
const freight = env("HAUL_FREIGHT");
const gated = env("HAUL_APPROVAL_STAGE");
const pauseStage = env("HAUL_PAUSE_STAGE");
const reason = env("HAUL_OVERRIDE_REASON");
const timeout = Number(env("HAUL_TIMEOUT_MS", "60000"));
const shots = process.env.HAUL_SCREENSHOTS;

const apiGet = (token, path) => get(base, token, path);

const eventually = (what, check) => retry(what, check, timeout);

const admin = (await apiGet(adminToken, "/whoami")).username;
const promoter = (await apiGet(promoterToken, "/whoami")).username;
log(`admin is ${admin}, promoter is ${promoter}`);
const freightName = (await apiGet(adminToken, `/projects/${project}/freight`)).items.find((f) => f.alias === freight)?.metadata.name;
if (!freightName) throw new Error(`no Freight with alias ${freight} in ${project}`);
const approvalsFor = async (stage) =>
  ((await apiGet(adminToken, `/projects/${project}/freight/${freightName}`)).status?.approvals ?? []).filter((a) => a.stage === stage);

/** openProject logs in as token in a new page and opens the project. */
async function openProject(browser, token) {
  const page = await browser.context.newPage();
  page.setDefaultTimeout(timeout);
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${base}/projects/${encodeURIComponent(project)}?token=${encodeURIComponent(token)}`);
  await page.getByTestId(`stage-node-${gated}`).waitFor();
  await page.getByTestId(`freight-${freight}`).waitFor();
  return { page, errors };
}

/** approve approves the Freight for the gated Stage through the dialog. */
async function approve(page, who, want) {
  const row = page.getByTestId(`freight-${freight}`);
  await row.getByTestId("approve-button").click();
  const count = await page.getByTestId(`approval-count-${gated}`).innerText();
  if (!count.includes(`${want - 1} of 2 approvals`)) throw new Error(`before ${who} approves, the dialog says "${count}"`);
  await page.getByTestId(`approve-for-${gated}`).click();
  await page.getByTestId(`approve-for-${gated}`).waitFor({ state: "detached" });
  await row.getByTestId(`approvals-${gated}`).filter({ hasText: `${want}/2 approvals` }).waitFor();
  const title = await row.getByTestId(`approvals-${gated}`).getAttribute("title");
  if (!title?.includes(who)) throw new Error(`the approval count's title "${title}" does not name ${who}`);
  await eventually(`the API records ${who}'s approval`, async () => {
    const got = await approvalsFor(gated);
    return got.some((a) => a.identity === who) || JSON.stringify(got);
  });
}

const browser = await launch();
let failed = false;
try {
  const { page, errors } = await openProject(browser, adminToken);

  await step(page, `admin approves ${freight} for ${gated}: 1/2 approvals`, () => approve(page, admin, 1));

  await step(page, `admin pauses ${pauseStage}`, async () => {
    await page.getByTestId(`stage-node-${pauseStage}`).click();
    const drawer = page.getByTestId(`stage-drawer-${pauseStage}`);
    await drawer.getByTestId("stage-pause").click();
    await page.getByTestId(`stage-paused-${pauseStage}`).waitFor();
    await drawer.getByTestId("stage-resume").waitFor();
    await eventually("spec.paused is true", async () => {
      const st = await apiGet(adminToken, `/projects/${project}/stages/${pauseStage}`);
      return st.spec.paused === true || `spec.paused is ${st.spec.paused}`;
    });
  });
  if (shots) await page.screenshot({ path: `${shots}/paused.png` });

  await step(page, `admin resumes ${pauseStage}`, async () => {
    const drawer = page.getByTestId(`stage-drawer-${pauseStage}`);
    await drawer.getByTestId("stage-resume").click();
    await page.getByTestId(`stage-paused-${pauseStage}`).waitFor({ state: "detached" });
    await drawer.getByTestId("stage-pause").waitFor();
    await eventually("spec.paused is false", async () => {
      const st = await apiGet(adminToken, `/projects/${project}/stages/${pauseStage}`);
      return st.spec.paused !== true || "spec.paused is still true";
    });
    await drawer.getByRole("button", { name: "Close" }).click();
  });
  if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
  await page.close();

  // The promoter's token replaces the admin's in this profile's localStorage.
  const p2 = await openProject(browser, promoterToken);
  await step(p2.page, `promoter approves ${freight} for ${gated}: 2/2 approvals`, () => approve(p2.page, promoter, 2));

  await step(p2.page, `promoter is told why promotion into frozen ${gated} is refused`, async () => {
    await p2.page.getByTestId(`stage-window-${gated}`).waitFor();
    await p2.page.getByTestId(`freight-${freight}`).getByTestId("promote-button").click();
    await p2.page.getByTestId(`promote-to-${gated}`).click();
    const msg = await p2.page.getByTestId("window-refused").innerText();
    if (!msg.includes("is refused") || !msg.includes("Promotion window closed")) throw new Error(`the dialog says "${msg}"`);
    if ((await p2.page.getByTestId("override-reason").count()) !== 0) throw new Error("a promoter is asked for an override reason");
    if (!(await p2.page.getByTestId("confirm-promote").isDisabled())) throw new Error("the promote button is enabled");
    if (shots) await p2.page.screenshot({ path: `${shots}/window-refused.png` });
    await p2.page.getByRole("button", { name: "Back" }).click();
    await p2.page.getByRole("button", { name: "Cancel" }).click();
  });
  if (p2.errors.length) throw new Error(`page errors: ${p2.errors.join("; ")}`);
  await p2.page.close();

  const p3 = await openProject(browser, adminToken);
  await step(p3.page, `admin overrides the closed window of ${gated} with a reason`, async () => {
    await p3.page.getByTestId(`freight-${freight}`).getByTestId("promote-button").click();
    await p3.page.getByTestId(`promote-to-${gated}`).click();
    const msg = await p3.page.getByTestId("window-override").innerText();
    if (!msg.includes("give a reason")) throw new Error(`the dialog says "${msg}"`);
    const confirm = p3.page.getByTestId("confirm-promote");
    if (!(await confirm.isDisabled())) throw new Error("the override button is enabled before a reason is given");
    await p3.page.getByTestId("override-reason").fill(reason);
    if (shots) await p3.page.screenshot({ path: `${shots}/window-override.png` });
    await confirm.click();
    await confirm.waitFor({ state: "detached" });
    await eventually("the Promotion records the override and its reason", async () => {
      const promos = (await apiGet(adminToken, `/projects/${project}/promotions?stage=${gated}`)).items;
      const got = promos.map((p) => p.metadata.annotations?.["haul.dev/window-override"]);
      return got.includes(`api:${admin}: ${reason}`) || `annotations: ${JSON.stringify(got)}`;
    });
  });
  if (p3.errors.length) throw new Error(`page errors: ${p3.errors.join("; ")}`);
  log("PASS");
} catch (err) {
  failed = true;
  console.error(`FAIL: ${err instanceof Error ? err.message : err}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
