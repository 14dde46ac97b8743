// Small display helpers.

import type { Condition } from "../api/types";

export function condition(conds: Condition[] | undefined, type: string): Condition | undefined {
  return conds?.find((c) => c.type === type);
}

/** ago renders a timestamp as a short relative age ("5m", "3h", "2d"). */
export function ago(ts: string | undefined, now = Date.now()): string {
  if (!ts) return "";
  const t = Date.parse(ts);
  if (Number.isNaN(t)) return "";
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** phaseClass maps a phase, health or condition status to a colour class. */
export function phaseClass(p: string | undefined): string {
  switch (p) {
    case "Succeeded":
    case "Healthy":
    case "True":
    case "Verified":
      return "ok";
    case "Running":
    case "Pending":
    case "Progressing":
      return "busy";
    case "Failed":
    case "Errored":
    case "Unhealthy":
    case "False":
      return "bad";
    default:
      return "unknown";
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
