#!/usr/bin/env node
// A development stand-in for `haul up`: serves ui/dist and an in-memory REST API with
// the same routes, JSON shapes and event stream, so the dashboard can be worked on
// and benchmarked without a control plane. The committed browser test drives the
// real binary instead (test/ui).
//
//   node ui/e2e/mock-server.mjs [--port 8081] [--stages 3] [--freight 3] [--churn 50]
//
// --churn N sends N promotion updates per second (a Promotion and its Stage) to
// check that the dashboard keeps up with a busy project.
//
// Tokens: "admin" may do everything, "viewer" may only read.

import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const port = Number(args.port ?? 8081);
const stageCount = Number(args.stages ?? 3);
const freightCount = Number(args.freight ?? 3);
const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "dist");
const project = args.project ?? "demo";

let rv = 1;
const now = Date.now();
const ts = (ms) => new Date(ms).toISOString();
const meta = (name, extra = {}) => ({ name, namespace: project, resourceVersion: String(rv++), creationTimestamp: ts(now), ...extra });

const warehouses = new Map();
const stages = new Map();
const freight = new Map();
const promotions = new Map();

function addWarehouse(name) {
  warehouses.set(name, {
    apiVersion: "haul.dev/v1alpha1", kind: "Warehouse", metadata: meta(name),
    spec: { interval: "5m", subscriptions: [{ image: { repoURL: `registry.local/${name}` } }, { git: { repoURL: `https://git.local/${name}.git` } }] },
    status: {
      conditions: [{ type: "Ready", status: "True", reason: "DiscoverySucceeded", message: "" }],
      discoveredArtifacts: { discoveredAt: ts(now), images: [{ repoURL: `registry.local/${name}`, references: [{ tag: "1.0.2", digest: "sha256:" + "c".repeat(64) }] }] },
    },
  });
}

function addStage(name, wh, upstream) {
  stages.set(name, {
    apiVersion: "haul.dev/v1alpha1", kind: "Stage", metadata: meta(name, { annotations: { "haul.dev/docs": "javascript:alert(1)", "haul.dev/runbook": "https://runbooks.local/" + name } }),
    spec: {
      requestedFreight: [{ origin: { kind: "Warehouse", name: wh }, sources: upstream ? { stages: [upstream] } : { direct: true } }],
      promotionTemplate: { spec: { steps: [{ uses: "compose-output", as: "out" }] } },
    },
    status: { health: { status: "Healthy" }, conditions: [{ type: "Ready", status: "True", reason: "Reconciled" }], autoPromotionEnabled: !upstream, freightHistory: [] },
  });
}

function addFreight(i, wh) {
  const name = (i.toString(16).padStart(8, "0") + "f".repeat(32)).slice(0, 40);
  const alias = `freight-${i}`;
  freight.set(name, {
    apiVersion: "haul.dev/v1alpha1", kind: "Freight", metadata: meta(name, { creationTimestamp: ts(now - (freightCount - i) * 60_000), labels: { "haul.dev/alias": alias } }),
    alias, origin: { kind: "Warehouse", name: wh },
    images: [{ repoURL: `registry.local/${wh}`, tag: `1.0.${i}`, digest: "sha256:" + "a".repeat(64) }],
    commits: [{ repoURL: `https://git.local/${wh}.git`, id: "b".repeat(40), message: "change" }],
    status: {},
  });
  return name;
}

// A project of pipelines: each warehouse feeds a chain of stages that fans out.
if (stageCount <= 3) {
  addWarehouse("app");
  addStage("test", "app");
  if (stageCount >= 2) addStage("uat", "app", "test");
  if (stageCount >= 3) addStage("prod", "app", "uat");
  for (let i = 1; i <= freightCount; i++) addFreight(i, "app");
} else {
  const perPipeline = 20;
  const pipelines = Math.ceil(stageCount / perPipeline);
  for (let p = 0; p < pipelines; p++) {
    addWarehouse(`wh-${p}`);
    for (let j = 0; j < perPipeline && p * perPipeline + j < stageCount; j++) {
      addStage(`p${p}-s${j}`, `wh-${p}`, j === 0 ? undefined : `p${p}-s${Math.floor((j - 1) / 2)}`);
    }
  }
  for (let i = 1; i <= freightCount; i++) addFreight(i, `wh-${i % pipelines}`);
}
// Put the newest Freight of each warehouse into its first stage.
for (const s of stages.values()) {
  const req = s.spec.requestedFreight[0];
  if (!req.sources.direct) continue;
  const f = [...freight.values()].filter((f) => f.origin.name === req.origin.name).pop();
  if (f) place(s, f);
}

function ref(f) {
  return { name: f.metadata.name, alias: f.alias, origin: f.origin, images: f.images, commits: f.commits };
}

function place(s, f, promo) {
  const st = s.metadata.name;
  const prev = s.status.freightHistory[0];
  const changed = [];
  if (prev) for (const it of Object.values(prev.items)) {
    const old = freight.get(it.name);
    if (old?.status.currentlyIn?.[st]) {
      delete old.status.currentlyIn[st];
      old.metadata.resourceVersion = String(rv++);
      changed.push(old);
    }
  }
  s.status.freightHistory = [{ id: f.metadata.name, items: { [`Warehouse/${f.origin.name}`]: ref(f) }, promotedAt: ts(Date.now()), promotion: promo,
    verificationHistory: [{ id: "v1", phase: "Succeeded", startedAt: ts(Date.now()) }] }, ...s.status.freightHistory].slice(0, 10);
  s.status.freightSummary = f.alias;
  s.status.conditions = [{ type: "Ready", status: "True", reason: "Reconciled" }, { type: "Verified", status: "True", reason: "VerificationPassed" }];
  f.status.currentlyIn = { ...(f.status.currentlyIn ?? {}), [st]: { since: ts(Date.now()) } };
  f.status.verifiedIn = { ...(f.status.verifiedIn ?? {}), [st]: { verifiedAt: ts(Date.now()) } };
  s.metadata.resourceVersion = String(rv++);
  f.metadata.resourceVersion = String(rv++);
  return changed;
}

// ---- event stream ----
const clients = new Set();
let eventId = 0;
const recent = [];
function emit(changes) {
  const id = ++eventId;
  const data = JSON.stringify({ changes });
  recent.push({ id, data });
  if (recent.length > 256) recent.shift();
  for (const res of clients) res.write(`id: ${id}\nevent: changes\ndata: ${data}\n\n`);
}
const upsert = (kind, obj) => ({ type: "upsert", kind, name: obj.metadata.name, object: obj });

// ---- churn: N promotions a second on random stages ----
const churn = Number(args.churn ?? 0);
if (churn > 0) {
  const names = [...stages.keys()];
  const all = [...freight.values()];
  let n = 0;
  setInterval(() => {
    const changes = [];
    for (let i = 0; i < churn / 10; i++) {
      const s = stages.get(names[Math.floor(Math.random() * names.length)]);
      const f = all[Math.floor(Math.random() * all.length)];
      const pname = `${s.metadata.name}.churn${n++}.${f.metadata.name.slice(0, 7)}`;
      const promo = { apiVersion: "haul.dev/v1alpha1", kind: "Promotion", metadata: meta(pname, { creationTimestamp: ts(Date.now()) }), spec: { stage: s.metadata.name, freight: f.metadata.name }, status: { phase: "Succeeded" } };
      s.status.lastPromotion = { name: pname, freight: f.metadata.name, freightAlias: f.alias, phase: "Succeeded" };
      s.metadata.resourceVersion = String(rv++);
      changes.push(upsert("Promotion", promo), upsert("Stage", { ...s, status: { ...s.status } }));
    }
    emit(changes);
  }, 100);
}

// ---- HTTP ----
const tokens = { admin: { username: "admin", perms: { promote: true, approve: true, refresh: true, admin: true } }, viewer: { username: "viewer", perms: { promote: false, approve: false, refresh: false, admin: false } } };

function send(res, code, body) {
  res.writeHead(code, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}
const fail = (res, code, reason, message) => send(res, code, { code, reason, message });

function readBody(req) {
  return new Promise((resolve) => {
    let b = "";
    req.on("data", (c) => (b += c));
    req.on("end", () => { try { resolve(b ? JSON.parse(b) : {}); } catch { resolve({}); } });
  });
}

function serveStatic(req, res) {
  const p = decodeURIComponent(new URL(req.url, "http://x").pathname);
  const file = path.join(dist, path.normalize(p));
  if (file.startsWith(dist) && p !== "/" && fs.existsSync(file) && fs.statSync(file).isFile()) {
    const type = { ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml" }[path.extname(file)] ?? "application/octet-stream";
    res.writeHead(200, { "Content-Type": type });
    fs.createReadStream(file).pipe(res);
    return;
  }
  res.writeHead(200, { "Content-Type": "text/html" });
  fs.createReadStream(path.join(dist, "index.html")).pipe(res);
}

const list = (m) => ({ items: [...m.values()] });

async function api(req, res, user, parts) {
  const method = req.method;
  if (parts[0] === "whoami") return send(res, 200, { username: user.username, groups: [] });
  if (parts[0] !== "projects") return fail(res, 404, "NotFound", "no route");
  if (parts.length === 1) return send(res, 200, { items: [{ metadata: { name: project }, status: { conditions: [{ type: "Ready", status: "True" }], stats: { stages: stages.size, warehouses: warehouses.size, healthyStages: stages.size } } }] });
  if (parts[1] !== project) return fail(res, 404, "NotFound", `project ${parts[1]} not found`);
  const [, , coll, name, verb] = parts;
  if (!coll) return send(res, 200, { metadata: { name: project }, status: { conditions: [{ type: "Ready", status: "True" }] } });
  if (coll === "permissions") return send(res, 200, user.perms);
  if (coll === "projectconfig") return send(res, 200, { metadata: { name: project }, spec: { freightLinks: [{ name: "ci", url: "https://ci.local/{{freight}}" }, { name: "evil", url: "javascript:alert(1)" }] } });
  if (coll === "events") {
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
    const last = Number(req.headers["last-event-id"] ?? 0);
    for (const e of recent) if (e.id > last && last > 0) res.write(`id: ${e.id}\nevent: changes\ndata: ${e.data}\n\n`);
    res.write(": connected\n\n");
    clients.add(res);
    req.on("close", () => clients.delete(res));
    return;
  }
  const maps = { warehouses, stages, freight, promotions };
  const m = maps[coll];
  if (!m) return fail(res, 404, "NotFound", "no route");
  if (method === "GET" && !name) {
    const url = new URL(req.url, "http://x");
    let items = [...m.values()];
    if (coll === "promotions" && url.searchParams.get("stage")) items = items.filter((p) => p.spec.stage === url.searchParams.get("stage"));
    return send(res, 200, { items });
  }
  const obj = m.get(name);
  if (!obj) return fail(res, 404, "NotFound", `${coll} ${name} not found`);
  if (method === "GET" && !verb) return send(res, 200, obj);
  const body = await readBody(req);
  const need = verb === "approve" ? "approve" : verb === "refresh" ? "refresh" : "promote";
  if (!user.perms[need]) return fail(res, 403, "Forbidden", `${user.username} may not ${verb} in project ${project}`);
  if (coll === "stages" && verb === "promote") {
    const f = freight.get(body.freight) ?? [...freight.values()].find((x) => x.alias === body.freight);
    if (!f) return fail(res, 404, "NotFound", `freight ${body.freight} not found`);
    const pname = `${name}.${Date.now().toString(36)}.${f.metadata.name.slice(0, 7)}`;
    const promo = { apiVersion: "haul.dev/v1alpha1", kind: "Promotion", metadata: meta(pname, { creationTimestamp: ts(Date.now()) }), spec: { stage: name, freight: f.metadata.name },
      status: { phase: "Running", freight: ref(f), stepExecutionMetadata: [{ alias: "out", status: "Running" }] } };
    promotions.set(pname, promo);
    obj.status.currentPromotion = { name: pname, freight: f.metadata.name, freightAlias: f.alias, phase: "Running" };
    obj.metadata.resourceVersion = String(rv++);
    emit([upsert("Promotion", promo), upsert("Stage", obj)]);
    setTimeout(() => {
      promo.status = { ...promo.status, phase: "Succeeded", stepExecutionMetadata: [{ alias: "out", status: "Succeeded" }], state: { out: { ok: true } } };
      promo.metadata.resourceVersion = String(rv++);
      delete obj.status.currentPromotion;
      obj.status.lastPromotion = { name: pname, freight: f.metadata.name, freightAlias: f.alias, phase: "Succeeded" };
      const old = place(obj, f, pname);
      emit([upsert("Promotion", promo), upsert("Stage", obj), upsert("Freight", f), ...old.map((o) => upsert("Freight", o))]);
    }, 400);
    return send(res, 201, promo);
  }
  if (coll === "freight" && verb === "approve") {
    obj.status.approvedFor = { ...(obj.status.approvedFor ?? {}), [body.stage]: { approvedAt: ts(Date.now()), approvedBy: user.username } };
    obj.metadata.resourceVersion = String(rv++);
    emit([upsert("Freight", obj)]);
    return send(res, 200, obj);
  }
  if (coll === "freight" && verb === "alias") {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(body.alias ?? "")) return fail(res, 400, "Invalid", `alias ${JSON.stringify(body.alias)} is not a DNS label`);
    obj.alias = body.alias;
    obj.metadata.resourceVersion = String(rv++);
    emit([upsert("Freight", obj)]);
    return send(res, 200, obj);
  }
  if (["refresh", "reverify", "abort-verification", "abort"].includes(verb)) return send(res, 202, obj);
  return fail(res, 404, "NotFound", "no route");
}

http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  if (url.pathname === "/auth/config") return send(res, 200, { oidc: true, localToken: true });
  if (!url.pathname.startsWith("/api/")) return serveStatic(req, res);
  const auth = req.headers.authorization ?? "";
  const user = tokens[auth.replace(/^Bearer /, "")];
  if (!user) return fail(res, 401, "Unauthorized", "log in first");
  const parts = url.pathname.replace(/^\/api\/v1\//, "").split("/").filter(Boolean).map(decodeURIComponent);
  try {
    await api(req, res, user, parts);
  } catch (e) {
    fail(res, 500, "InternalError", String(e));
  }
}).listen(port, "127.0.0.1", () => {
  console.log(`mock haul on http://127.0.0.1:${port}/?token=admin (${stages.size} stages, ${freight.size} freight)`);
});
