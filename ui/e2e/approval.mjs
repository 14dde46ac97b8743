#!/usr/bin/env node
// Browser test of answering a wait-for-approval step from the dashboard, against a
// running haul: the admin promotes a Freight to a Stage whose first step waits for an
// approval from the promoter; the Stage card and drawer say it waits and for
// whom; a viewer's answer is refused in words; the promoter approves with a message and
// the Promotion succeeds.
//
// With --pull-request it checks instead that the Stage card and drawer link the pull
// request the test recorded on that Promotion (HAUL_PR_URL), in a new tab.
//
// Environment:
//   HAUL_URL             base URL, e.g. http://127.0.0.1:8080
//   HAUL_TOKEN           token of a user with every right (haul-admin)
//   HAUL_PROMOTER_TOKEN  token of a haul-promoter, whom the step's approvers name
//   HAUL_VIEWER_TOKEN    token of a haul-viewer, who may read but is not an approver
//   HAUL_PROJECT         project name
//   HAUL_FREIGHT         alias of the Freight to promote
//   HAUL_GATE_STAGE      the Stage whose promotion template starts with wait-for-approval
//   HAUL_APPROVERS       who the dashboard must say may answer, e.g. "sub system:serviceaccount:p:promoter"
//   HAUL_MESSAGE         the message the promoter approves with
//   HAUL_PR_URL, HAUL_PR_NUMBER  (--pull-request) the merged pull request the Stage card must link
//   HAUL_SCREENSHOTS     directory for screenshots on failure (and of the final page)
//   HAUL_TIMEOUT_MS      how long to wait for each expectation (default 60000)

import { apiGet as get, env, eventually as retry, launch, log, step } from "./browser.mjs";

const base = env("HAUL_URL").replace(/\/$/, "");
const adminToken = env("HAUL_TOKEN");
const promoterToken = env("HAUL_PROMOTER_TOKEN");
const viewerToken = env("HAUL_VIEWER_TOKEN");
const project = env("HAUL_PROJECT");
const freight = env("HAUL_FREIGHT");
const gate = env("HAUL_GATE_STAGE");
const approvers = env("HAUL_APPROVERS");
const message = env("HAUL_MESSAGE");
const pullRequest = process.argv.includes("--pull-request");
const timeout = Number(env("HAUL_TIMEOUT_MS", "60000"));
const shots = process.env.HAUL_SCREENSHOTS;

const apiGet = (token, path) => get(base, token, path);

const eventually = (what, check) => retry(what, check, timeout);

const gatePromotions = async () => (await apiGet(adminToken, `/projects/${project}/promotions?stage=${gate}`)).items ?? [];

/** openStage logs in as token in a new page, opens the project and the gate Stage's drawer. */
async function openStage(browser, token) {
  const page = await browser.context.newPage();
  page.setDefaultTimeout(timeout);
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${base}/projects/${encodeURIComponent(project)}?token=${encodeURIComponent(token)}`);
  await page.getByTestId(`stage-node-${gate}`).waitFor();
  return { page, errors };
}

/** checkPullRequest opens the project as the admin and follows the gate Stage's pull request link. */
async function checkPullRequest(browser) {
  const prURL = env("HAUL_PR_URL");
  const prNumber = env("HAUL_PR_NUMBER");
  const { page: p2, errors } = await openStage(browser, adminToken);
  await step(p2, `the ${gate} card links the Promotion's pull request`, async () => {
    const link = p2.getByTestId(`stage-card-pr-${gate}`);
    await link.waitFor();
    const [href, target, rel, text] = [await link.getAttribute("href"), await link.getAttribute("target"), await link.getAttribute("rel"), await link.innerText()];
    if (href !== prURL) throw new Error(`the link goes to ${href}, want ${prURL}`);
    if (target !== "_blank" || !(rel ?? "").split(" ").includes("noopener")) throw new Error(`the link has target=${target} rel=${rel}`);
    if (text !== `PR #${prNumber} merged`) throw new Error(`the link says "${text}"`);
    await p2.getByTestId(`stage-node-${gate}`).click();
    const inDrawer = await p2.getByTestId(`stage-pr-${gate}`).getAttribute("href");
    if (inDrawer !== prURL) throw new Error(`the drawer links ${inDrawer}, want ${prURL}`);
    if (shots) await p2.screenshot({ path: `${shots}/stage-pull-request.png` });
  });
  if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
}

/** answerApproval promotes to the gate Stage and answers its wait-for-approval step. */
async function answerApproval(browser) {
  const admin = await openStage(browser, adminToken);
  const page = admin.page;
  let promo = "";

  await step(page, `admin promotes ${freight} to ${gate}`, async () => {
    await page.getByTestId(`freight-${freight}`).getByTestId("promote-button").click();
    await page.getByTestId(`promote-to-${gate}`).click();
    await page.getByTestId("confirm-promote").click();
    await page.getByTestId("confirm-promote").waitFor({ state: "detached" });
    await eventually(`a Promotion of ${gate} is Running`, async () => {
      const running = (await gatePromotions()).filter((p) => p.status?.phase === "Running");
      promo = running[0]?.metadata.name ?? "";
      return running.length === 1 || `phases: ${JSON.stringify((await gatePromotions()).map((p) => p.status?.phase))}`;
    });
    log(`promotion ${promo} runs`);
  });

  await step(page, `the ${gate} card and drawer say it waits for approval from ${approvers}`, async () => {
    const badge = page.getByTestId(`stage-approval-${gate}`);
    await badge.waitFor();
    const title = (await badge.getAttribute("title")) ?? "";
    if (!title.includes(`Promotion ${promo} waits at step sign-off for 1 approval from ${approvers}`)) throw new Error(`the card's badge title is "${title}"`);
    await page.getByTestId(`stage-node-${gate}`).click();
    const drawer = page.getByTestId(`stage-drawer-${gate}`);
    const said = await drawer.getByTestId(`stage-drawer-approval-${gate}`).innerText();
    if (said !== `waiting for approval: ${approvers}`) throw new Error(`the drawer's badge says "${said}"`);
    await drawer.getByTestId(`promotion-approval-${promo}`).waitFor();
    await drawer.getByTestId(`approval-${promo}`).getByTestId("respond-approve").waitFor();
    if (shots) await page.screenshot({ path: `${shots}/waiting-for-approval.png` });
  });
  if (admin.errors.length) throw new Error(`page errors: ${admin.errors.join("; ")}`);
  await page.close();

  const viewer = await openStage(browser, viewerToken);
  await step(viewer.page, "a viewer, not an approver, is told why the answer is refused", async () => {
    await viewer.page.getByTestId(`stage-node-${gate}`).click();
    const box = viewer.page.getByTestId(`approval-${promo}`);
    await box.getByTestId("respond-reject").click();
    const text = await box.getByTestId("respond-error").innerText();
    if (!text.startsWith(`You may not answer Promotion ${promo}: only ${approvers} may (`)) throw new Error(`the drawer says "${text}"`);
    if (!text.includes("matches none of the approvers")) throw new Error(`the server's reason is missing: "${text}"`);
    const phase = (await gatePromotions()).find((p) => p.metadata.name === promo)?.status?.phase;
    if (phase !== "Running") throw new Error(`after the viewer's refused rejection the Promotion is ${phase}`);
    if (shots) await viewer.page.screenshot({ path: `${shots}/approval-refused.png` });
  });
  if (viewer.errors.length) throw new Error(`page errors: ${viewer.errors.join("; ")}`);
  await viewer.page.close();

  const promoter = await openStage(browser, promoterToken);
  const p2 = promoter.page;
  await step(p2, "the promoter approves with a message and the Promotion succeeds", async () => {
    await p2.getByTestId(`stage-node-${gate}`).click();
    const box = p2.getByTestId(`approval-${promo}`);
    await box.getByTestId("respond-message").fill(message);
    await box.getByTestId("respond-approve").click();
    await box.waitFor({ state: "detached" });
    await p2.getByTestId(`stage-approval-${gate}`).waitFor({ state: "detached" });
    await p2.getByTestId(`promotion-${promo}`).locator(".badge", { hasText: "Succeeded" }).waitFor();
    const got = (await gatePromotions()).find((p) => p.metadata.name === promo);
    if (got?.status?.phase !== "Succeeded") throw new Error(`the Promotion is ${got?.status?.phase}: ${got?.status?.message}`);
  });
  if (promoter.errors.length) throw new Error(`page errors: ${promoter.errors.join("; ")}`);
}

const browser = await launch();
let failed = false;
try {
  await (pullRequest ? checkPullRequest(browser) : answerApproval(browser));
  log("PASS");
} catch (err) {
  failed = true;
  console.error(`FAIL: ${err instanceof Error ? err.message : err}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
