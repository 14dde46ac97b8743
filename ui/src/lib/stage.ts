// What a Stage node and drawer show, derived from the Stage's status.

import type { Promotion, Stage } from "../api/types";
import type { ByName } from "../store/store";
import { condition } from "./format";
import { waitingApproval, waitingApprovalBadge, type WaitingApproval } from "./governance";
import { stagePullRequest, type PullRequest } from "./pullrequest";

export interface Badge {
  label: string;
  cls: string;
  title?: string;
}

/**
 * projectHealthBadge summarises a project's Stage health for the projects list. Stages
 * without health checks (no Argo CD or Flux step) count neither way: a project whose
 * Stages have none shows "no checks" in grey, never red.
 */
export function projectHealthBadge(stats: { stages?: number; healthyStages?: number; unhealthyStages?: number; stagesWithoutHealthChecks?: number }): Badge {
  const stages = stats.stages ?? 0;
  const healthy = stats.healthyStages ?? 0;
  const unhealthy = stats.unhealthyStages ?? 0;
  const checked = stages - (stats.stagesWithoutHealthChecks ?? 0);
  if (checked <= 0) return { label: "no checks", cls: "unknown", title: "no Stage has health checks (Argo CD or Flux steps)" };
  const label = `${healthy}/${checked}`;
  if (unhealthy > 0) return { label, cls: "bad", title: `${unhealthy} unhealthy` };
  if (healthy === checked) return { label, cls: "ok" };
  return { label, cls: "busy", title: "some Stages are progressing or unknown" };
}

export function healthBadge(s: Stage): Badge {
  const h = s.status?.health?.status;
  const cls = h === "Healthy" ? "ok" : h === "Unhealthy" ? "bad" : h === "Progressing" ? "busy" : "unknown";
  const label = h === "NotApplicable" ? "No health checks" : h || "Unknown";
  return { label, cls, title: (s.status?.health?.issues ?? []).join("\n") || undefined };
}

export function verificationBadge(s: Stage): Badge | undefined {
  const v = condition(s.status?.conditions, "Verified");
  const last = s.status?.freightHistory?.[0]?.verificationHistory?.[0];
  if (v) {
    if (v.status === "True") return { label: "Verified", cls: "ok", title: v.message };
    if (v.reason === "VerificationRunning") return { label: "Verifying", cls: "busy", title: v.message };
    if (v.reason === "VerificationFailed") return { label: "Verification failed", cls: "bad", title: v.message };
    if (v.reason === "NoFreight") return undefined;
  }
  if (last) {
    const cls = last.phase === "Succeeded" ? "ok" : last.phase === "Running" || last.phase === "Pending" ? "busy" : "bad";
    return { label: `Verification ${last.phase}`, cls, title: last.message };
  }
  return undefined;
}

export function promotionBadge(s: Stage): Badge | undefined {
  const cur = s.status?.currentPromotion;
  if (cur) return { label: `Promoting ${cur.freightAlias ?? ""}`.trim(), cls: "busy", title: cur.name };
  const last = s.status?.lastPromotion;
  if (!last?.phase) return undefined;
  const cls = last.phase === "Succeeded" ? "ok" : last.phase === "Running" || last.phase === "Pending" ? "busy" : "bad";
  return { label: `Promotion ${last.phase}`, cls, title: last.name };
}

/** runningByStage indexes the Running Promotions by their Stage (a Stage runs one at a time). */
export function runningByStage(promotions: ByName<Promotion>): Record<string, Promotion> {
  const out: Record<string, Promotion> = {};
  for (const p of Object.values(promotions)) if (p.status?.phase === "Running") out[p.spec.stage] = p;
  return out;
}

/**
 * stagePromotion is the Promotion a Stage's card is about: its Running one (the
 * Promotion objects are fresher than the Stage's status), else the one
 * status.currentPromotion or status.lastPromotion names, when the dashboard has it.
 */
export function stagePromotion(s: Stage, promotions: ByName<Promotion>, running: Record<string, Promotion>): Promotion | undefined {
  const name = s.metadata.name;
  const ref = s.status?.currentPromotion?.name ?? s.status?.lastPromotion?.name;
  return running[name] ?? (ref ? promotions[ref] : undefined);
}

/** StageNote is what a Stage card shows about its current or last Promotion. */
export interface StageNote {
  /** Set while its Promotion waits for answers at a wait-for-approval step. */
  approval?: WaitingApproval & { badge: Badge };
  /** The pull request the Promotion opened or waits on. */
  pr?: { pr: PullRequest; waiting: boolean };
}

/** stageNote is Stage s's note, or undefined when there is nothing to say. */
export function stageNote(s: Stage, p: Promotion | undefined): StageNote | undefined {
  const w = waitingApproval(p);
  const pr = stagePullRequest(s, p);
  if (!w && !pr) return undefined;
  const note: StageNote = {};
  if (w) {
    const b = waitingApprovalBadge(w);
    note.approval = { ...w, badge: { ...b, cls: "approval" } };
  }
  if (pr) note.pr = pr;
  return note;
}

/**
 * stageNotes gives the note of every Stage that has one. A note equal to the one in
 * prev is prev's object, so only the cards whose note changed re-render.
 */
export function stageNotes(stages: ByName<Stage>, promotions: ByName<Promotion>, prev: ByName<StageNote> = {}): Record<string, StageNote> {
  const running = runningByStage(promotions);
  const out: Record<string, StageNote> = {};
  for (const s of Object.values(stages)) {
    const note = stageNote(s, stagePromotion(s, promotions, running));
    if (!note) continue;
    const name = s.metadata.name;
    const old = prev[name];
    out[name] = old && JSON.stringify(old) === JSON.stringify(note) ? old : note;
  }
  return out;
}
