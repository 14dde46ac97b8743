// The in-memory copy of one project's objects, kept current by the event stream.

import type { Change, Freight, Permissions, Project, ProjectConfig, Promotion, Stage, Warehouse } from "../api/types";
import { describeTally, met, tallyApprovals, type ApprovalRequirement } from "../lib/governance";

export type ByName<T> = Readonly<Record<string, T>>;

export interface ProjectState {
  loaded: boolean;
  project?: Project;
  warehouses: ByName<Warehouse>;
  stages: ByName<Stage>;
  freight: ByName<Freight>;
  /** How many Freight the project had when loaded, when more than were loaded. */
  freightTotal?: number;
  promotions: ByName<Promotion>;
  config?: ProjectConfig;
  permissions: Permissions;
}

export interface Snapshot {
  project?: Project;
  warehouses: Warehouse[];
  stages: Stage[];
  freight: Freight[];
  freightTotal?: number;
  promotions: Promotion[];
  config?: ProjectConfig;
  permissions: Permissions;
}

export type Action = { type: "snapshot"; snapshot: Snapshot } | { type: "changes"; changes: Change[] };

export const noPermissions: Permissions = { promote: false, approve: false, pause: false, override: false, refresh: false, admin: false };

export const emptyState: ProjectState = {
  loaded: false,
  warehouses: {},
  stages: {},
  freight: {},
  promotions: {},
  permissions: noPermissions,
};

function byName<T extends { metadata: { name: string } }>(items: T[]): Record<string, T> {
  const out: Record<string, T> = {};
  for (const it of items) out[it.metadata.name] = it;
  return out;
}

type Collection = "warehouses" | "stages" | "freight" | "promotions";

const collections: Record<string, Collection | undefined> = {
  Warehouse: "warehouses",
  Stage: "stages",
  Freight: "freight",
  Promotion: "promotions",
};

function resourceVersion(o: unknown): number | undefined {
  const rv = (o as { metadata?: { resourceVersion?: string } } | undefined)?.metadata?.resourceVersion;
  if (!rv || !/^[0-9]+$/.test(rv)) return undefined;
  return Number(rv);
}

/**
 * reduce applies a full snapshot or a batch of changes. Each batch copies only the
 * collections it touches, so components that read other collections do not
 * re-render. An upsert older than what is stored (by resourceVersion) is ignored,
 * which makes replays after a reconnect harmless.
 */
export function reduce(state: ProjectState, action: Action): ProjectState {
  if (action.type === "snapshot") {
    const s = action.snapshot;
    return {
      loaded: true,
      project: s.project,
      warehouses: byName(s.warehouses),
      stages: byName(s.stages),
      freight: byName(s.freight),
      freightTotal: s.freightTotal,
      promotions: byName(s.promotions),
      config: s.config,
      permissions: s.permissions,
    };
  }
  const copies: Partial<Record<Collection, Record<string, unknown>>> = {};
  let project = state.project;
  for (const ch of action.changes) {
    if (ch.kind === "Project") {
      if (ch.type === "upsert" && ch.object) project = ch.object as Project;
      continue;
    }
    const coll = collections[ch.kind];
    if (!coll) continue;
    let target = copies[coll];
    if (!target) {
      target = { ...(state[coll] as Record<string, unknown>) };
      copies[coll] = target;
    }
    if (ch.type === "delete") {
      delete target[ch.name];
      continue;
    }
    if (!ch.object) continue;
    const prev = resourceVersion(target[ch.name]);
    const next = resourceVersion(ch.object);
    if (prev !== undefined && next !== undefined && next < prev) continue;
    target[ch.name] = ch.object;
  }
  if (Object.keys(copies).length === 0 && project === state.project) return state;
  return { ...state, ...(copies as Partial<ProjectState>), project };
}

/** stagesRequesting lists the Stages that request Freight from the given origin. */
export function stagesRequesting(stages: ByName<Stage>, originName: string): Stage[] {
  return Object.values(stages).filter((s) =>
    (s.spec.requestedFreight ?? []).some((r) => r.origin.name === originName),
  );
}

/**
 * availability says whether Freight f may be promoted to Stage s, and if not, why: it
 * must be available there (approved, direct or verified upstream) and, when the Stage
 * has an approval requirement (rule), have enough approvals.
 */
export function availability(f: Freight, s: Stage, rule?: ApprovalRequirement): { ok: boolean; why: string } {
  const a = baseAvailability(f, s);
  if (!a.ok || !rule) return a;
  const t = tallyApprovals(f, s.metadata.name, rule);
  return met(t) ? a : { ok: false, why: `needs approval: ${describeTally(t)}` };
}

function baseAvailability(f: Freight, s: Stage): { ok: boolean; why: string } {
  const req = (s.spec.requestedFreight ?? []).find((r) => r.origin.kind === f.origin.kind && r.origin.name === f.origin.name);
  if (!req) return { ok: false, why: `does not request Freight from ${f.origin.name}` };
  const st = s.metadata.name;
  if (f.status?.approvedFor?.[st]) return { ok: true, why: "approved" };
  if (req.sources.direct) return { ok: true, why: "direct from warehouse" };
  const ups = req.sources.stages ?? [];
  const verified = ups.filter((u) => f.status?.verifiedIn?.[u]);
  if (req.sources.availabilityStrategy === "All") {
    if (ups.length > 0 && verified.length === ups.length) return { ok: true, why: `verified in ${ups.join(", ")}` };
    return { ok: false, why: `not yet verified in all of ${ups.join(", ")}` };
  }
  if (verified.length > 0) return { ok: true, why: `verified in ${verified.join(", ")}` };
  return { ok: false, why: `not yet verified in ${ups.join(" or ")}` };
}

/** currentFreight returns the Freight references a Stage currently holds. */
export function currentFreight(s: Stage) {
  const items = s.status?.freightHistory?.[0]?.items;
  return items ? Object.values(items) : [];
}
