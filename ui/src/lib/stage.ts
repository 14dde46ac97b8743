// What a Stage node and drawer show, derived from the Stage's status.

import type { Stage } from "../api/types";
import { condition } from "./format";

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
