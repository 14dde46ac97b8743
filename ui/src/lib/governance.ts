// Governance as the dashboard shows it: which approval requirement applies to a Stage,
// how many approvals a Freight has for it, what a closed promotion window means for a
// promotion, and whether a running Promotion waits for people's answers at a
// wait-for-approval step. The server decides (pkg/pipeline); these mirror its rules for
// display only, and the API checks again on every request.

import { ApiError } from "../api/client";
import type { Freight, Permissions, ProjectConfig, Promotion, Stage } from "../api/types";
import { errorMessage } from "./format";
import type { ByName } from "../store/store";

type Def<T> = NonNullable<T>;
type Item<T> = T extends readonly (infer U)[] ? U : never;

/** ApprovalRequirement is Stage.spec.approval, or one of ProjectConfig.spec.approvalPolicies. */
export type ApprovalRequirement = Def<Stage["spec"]["approval"]>;
export type FreightApproval = Item<Def<Def<Freight["status"]>["approvals"]>>;
type StageSelector = Def<Item<Def<Def<ProjectConfig["spec"]>["approvalPolicies"]>>["stageSelector"]>;

/**
 * globToRegExp turns a Go path.Match pattern (`*`, `?`, `[a-z]`, `[^x]`, `\` escapes)
 * into an anchored RegExp, or null when Go would refuse the pattern as malformed.
 */
export function globToRegExp(pattern: string): RegExp | null {
  const esc = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
  let out = "";
  let i = 0;
  // getEsc reads one class character, as Go's getEsc: "-" and "]" must be escaped.
  const getEsc = (): string | null => {
    let c = pattern[i];
    if (c === undefined || c === "-" || c === "]") return null;
    if (c === "\\") {
      i++;
      c = pattern[i];
      if (c === undefined) return null;
    }
    i++;
    return c;
  };
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === "*") {
      out += "[^/]*";
      i++;
    } else if (c === "?") {
      out += "[^/]";
      i++;
    } else if (c === "\\") {
      if (i + 1 >= pattern.length) return null;
      out += esc(pattern[i + 1]);
      i += 2;
    } else if (c === "[") {
      i++;
      let cls = "";
      if (pattern[i] === "^") {
        cls = "^";
        i++;
      }
      let ranges = 0;
      for (;;) {
        if (pattern[i] === "]" && ranges > 0) {
          i++;
          break;
        }
        const lo = getEsc();
        if (lo === null) return null;
        let hi = lo;
        if (pattern[i] === "-") {
          i++;
          const h = getEsc();
          if (h === null) return null;
          hi = h;
        }
        // A reversed range matches nothing, as in Go (JavaScript would refuse it).
        if (lo <= hi) cls += hi === lo ? esc(lo) : `${esc(lo)}-${esc(hi)}`;
        ranges++;
      }
      out += `[${cls}]`;
    } else {
      out += esc(c);
      i++;
    }
  }
  return new RegExp(`^${out}$`);
}

/** nameMatches applies a selector's name: exact, `glob:` or `regex:` (unanchored); "" matches all. */
export function nameMatches(pattern: string | undefined, name: string): boolean {
  if (!pattern) return true;
  if (pattern.startsWith("glob:")) return globToRegExp(pattern.slice(5))?.test(name) ?? false;
  if (pattern.startsWith("regex:")) {
    try {
      return new RegExp(pattern.slice(6)).test(name);
    } catch {
      return false; // as on the server, a selector that cannot be parsed selects nothing
    }
  }
  return pattern === name;
}

/** selectorMatches says whether a stageSelector (name and labels, as Kubernetes') selects s. */
export function selectorMatches(sel: StageSelector | undefined, s: Stage): boolean {
  if (!sel) return true;
  if (!nameMatches(sel.name, s.metadata.name)) return false;
  const labels = s.metadata.labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case "In":
        if (values.length === 0 || !has || !values.includes(labels[e.key])) return false;
        break;
      case "NotIn":
        if (values.length === 0 || (has && values.includes(labels[e.key]))) return false;
        break;
      case "Exists":
        if (values.length > 0 || !has) return false;
        break;
      case "DoesNotExist":
        if (values.length > 0 || has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/**
 * approvalRuleFor is Stage s's approval requirement: its own spec.approval, else the
 * first of the project's approvalPolicies that selects it, else undefined (Kargo's
 * single optional approval).
 */
export function approvalRuleFor(s: Stage, config?: ProjectConfig): ApprovalRequirement | undefined {
  if (s.spec.approval) return s.spec.approval;
  return (config?.spec?.approvalPolicies ?? []).find((p) => selectorMatches(p.stageSelector, s));
}

/** StageApproval is a Stage's requirement and the origins it requests Freight from. */
export interface StageApproval {
  rule: ApprovalRequirement;
  /** "Kind/name" of every origin the Stage requests Freight from. */
  origins: string[];
}

export const originKey = (o: { kind: string; name: string }) => `${o.kind}/${o.name}`;

/** approvalRules lists the Stages that have an approval requirement, by name. */
export function approvalRules(stages: ByName<Stage>, config?: ProjectConfig): Record<string, StageApproval> {
  const out: Record<string, StageApproval> = {};
  for (const s of Object.values(stages)) {
    const rule = approvalRuleFor(s, config);
    if (!rule) continue;
    const { requiredApprovals, allowedGroups, forbidSelfApproval } = rule;
    out[s.metadata.name] = {
      rule: { requiredApprovals, allowedGroups, forbidSelfApproval },
      origins: (s.spec.requestedFreight ?? []).map((r) => originKey(r.origin)),
    };
  }
  return out;
}

/** required is how many approvals rule asks for: at least 1, the API's default. */
export function required(rule?: ApprovalRequirement): number {
  const n = rule?.requiredApprovals ?? 1;
  return n < 1 ? 1 : n;
}

export interface ApprovalTally {
  /** The approvals that count, one per identity, in approval order. */
  counted: FreightApproval[];
  required: number;
  /** Identities that approved from outside the allowed groups. */
  notAllowed: string[];
  /** The requester, when their own approval was left out (forbidSelfApproval). */
  self?: string;
}

/**
 * tallyApprovals counts Freight f's approvals for stage as the server does: each
 * identity once, only from rule.allowedGroups when set, and without requester's own
 * when rule.forbidSelfApproval is on.
 */
export function tallyApprovals(f: Freight, stage: string, rule?: ApprovalRequirement, requester = ""): ApprovalTally {
  const t: ApprovalTally = { counted: [], required: required(rule), notAllowed: [] };
  const seen = new Set<string>();
  const allowed = rule?.allowedGroups ?? [];
  for (const a of f.status?.approvals ?? []) {
    if (a.stage !== stage || !a.identity || seen.has(a.identity)) continue;
    seen.add(a.identity);
    if (allowed.length > 0 && !(a.groups ?? []).some((g) => allowed.includes(g))) t.notAllowed.push(a.identity);
    else if (rule?.forbidSelfApproval && requester && a.identity === requester) t.self = a.identity;
    else t.counted.push(a);
  }
  return t;
}

export const met = (t: ApprovalTally) => t.counted.length >= t.required;

/** describeTally reads like the server's "1 of 2 approvals", with why others do not count. */
export function describeTally(t: ApprovalTally): string {
  let s = `${t.counted.length} of ${t.required} approvals`;
  if (t.self) s += ` (the approval of ${t.self}, who requests the promotion, does not count)`;
  if (t.notAllowed.length) s += ` (not in an allowed group: ${t.notAllowed.join(", ")})`;
  return s;
}

export interface ApprovalMark {
  stage: string;
  /** "1/2 approvals" */
  label: string;
  /** Who approved and when, and who did not count. */
  title: string;
  met: boolean;
}

/**
 * approvalMarks gives, for every Stage that requires several approvals and requests
 * f's origin (or that f has approvals for but does not meet yet), its count and who
 * approved. A Stage that needs one approval, now given, has the ★ mark instead.
 */
export function approvalMarks(f: Freight, rules: Record<string, StageApproval>): ApprovalMark[] {
  const origin = originKey(f.origin);
  const out: ApprovalMark[] = [];
  for (const [stage, { rule, origins }] of Object.entries(rules)) {
    if (!origins.includes(origin)) continue;
    const t = tallyApprovals(f, stage, rule);
    const recorded = (f.status?.approvals ?? []).some((a) => a.stage === stage);
    if (t.required < 2 && (met(t) || !recorded)) continue;
    const who = t.counted.map((a) => (a.approvedAt ? `${a.identity} (${a.approvedAt})` : a.identity));
    const title = [
      who.length ? `approved for ${stage} by ${who.join(", ")}` : `no approvals for ${stage} yet`,
      met(t) ? "" : `needs ${t.required - t.counted.length} more`,
      t.notAllowed.length ? `not in an allowed group: ${t.notAllowed.join(", ")}` : "",
      rule.forbidSelfApproval ? "the approval of who requests the promotion does not count" : "",
    ]
      .filter(Boolean)
      .join("; ");
    out.push({ stage, label: `${t.counted.length}/${t.required} approvals`, title, met: met(t) });
  }
  return out.sort((a, b) => a.stage.localeCompare(b.stage));
}

/** WindowNotice is what the promote dialog says about a Stage's promotion windows. */
export interface WindowNotice {
  closed: boolean;
  /** The user may override the closed window by giving a reason. */
  canOverride: boolean;
  text: string;
}

/**
 * windowNotice explains a closed promotion window of stage: to a user with the
 * override right, that a reason lets the promotion through and is recorded; to
 * anybody else, why the promotion is refused and when the window opens. serverReason
 * is the API's refusal ("promotion window closed until ..."), which wins over the
 * Stage's status.
 */
export function windowNotice(stage: Stage | undefined, permissions: Permissions, serverReason = "", now = Date.now()): WindowNotice {
  const st = stage?.status?.promotionWindowStatus;
  // The status is as current as the Stage's last reconcile: past its nextOpen it is stale.
  const stale = !!st?.nextOpen && Date.parse(st.nextOpen) <= now;
  const closed = !!serverReason || (!!st?.closed && !stale);
  if (!closed) return { closed: false, canOverride: false, text: "" };
  const name = stage?.metadata.name ?? "the stage";
  const why = serverReason || st?.reason || "promotion window closed";
  const opens = !serverReason && st?.nextOpen ? ` It opens again at ${new Date(st.nextOpen).toLocaleString()}.` : "";
  const said = `${why.charAt(0).toUpperCase()}${why.slice(1)}.${opens}`;
  if (permissions.override) {
    return {
      closed,
      canOverride: true,
      text: `${said} You may override it for ${name}: give a reason, which is recorded on the Promotion with your name.`,
    };
  }
  return {
    closed,
    canOverride: false,
    text: `${said} Promotion to ${name} is refused while the window is closed; only a user with the override right on the stage may promote now, giving a reason.`,
  };
}

/** isWindowClosedError says whether an API refusal (409) was for a closed promotion window. */
export function isWindowClosedError(status: number, message: string): boolean {
  return status === 409 && message.startsWith("promotion window closed");
}

/** promoteBody is the REST API's promote request; a reason only when overriding a window. */
export function promoteBody(freight: string, overrideReason?: string): { freight: string; overrideReason?: string } {
  const reason = overrideReason?.trim();
  return reason ? { freight, overrideReason: reason } : { freight };
}

/** The step that pauses a running Promotion until people answer it (pkg/pipeline). */
export const waitForApprovalStep = "wait-for-approval";

/** The Promotion annotation where the server records answers to wait-for-approval steps. */
export const approvalResponsesAnnotation = "haul.dev/approval-responses";

/** ApproverRule is one of a wait-for-approval step's approvers, in Kargo's shape. */
export interface ApproverRule {
  claim?: string;
  value?: string;
  role?: string;
  required?: boolean;
}

/** StepAnswer is one person's recorded answer to a wait-for-approval step. */
export interface StepAnswer {
  step: string;
  user: string;
  action: "approve" | "reject";
  time?: string;
  message?: string;
}

/** WaitingApproval is a running Promotion's wait-for-approval step that waits for answers. */
export interface WaitingApproval {
  promotion: string;
  /** The step's alias, which the answers are recorded under. */
  step: string;
  /** Who may answer, one entry per approvers rule; empty when anyone who may read the Promotion may. */
  approvers: string[];
  /** How many distinct people must approve. */
  min: number;
  /** The answers given to this step so far, in order. */
  answers: StepAnswer[];
  /** What is still missing, as the step last said ("0 of 1 approvals"). */
  needs: string;
  /** Set when the server refuses every answer: the config uses ${{ }} expressions. */
  unanswerable?: string;
}

/** describeApprover reads an approvers rule: "group oidc:sre", "role haul-admin (required)". */
export function describeApprover(r: ApproverRule): string {
  const who = r.role ? `role ${r.role}` : `${r.claim === "groups" ? "group" : r.claim ?? "?"} ${r.value ?? "?"}`;
  return r.required ? `${who} (required)` : who;
}

/** stepAnswers reads the answers recorded on a Promotion; an unreadable annotation has none. */
export function stepAnswers(p: Promotion): StepAnswer[] {
  const raw = p.metadata.annotations?.[approvalResponsesAnnotation];
  if (!raw) return [];
  try {
    const v: unknown = JSON.parse(raw);
    if (!Array.isArray(v)) return [];
    return v.filter((a): a is StepAnswer => typeof a === "object" && a !== null && typeof (a as StepAnswer).user === "string");
  } catch {
    return [];
  }
}

/**
 * waitingApproval says whether Promotion p waits for answers at a wait-for-approval
 * step, as the server judges it before recording an answer: the Promotion is Running
 * and its current step is a wait-for-approval that has not finished. Who may answer
 * comes from the step's config in the Promotion's status.
 */
export function waitingApproval(p: Promotion | undefined): WaitingApproval | undefined {
  if (!p || p.status?.phase !== "Running") return undefined;
  const i = p.status.currentStep ?? 0;
  const step = p.status.steps?.[i];
  if (step?.uses !== waitForApprovalStep) return undefined;
  const meta = p.status.stepExecutionMetadata?.[i];
  if (meta?.status && meta.status !== "Running" && meta.status !== "Pending") return undefined;
  const alias = step.as || `step-${i + 1}`; // the engine's default alias
  const cfg = (step.config ?? {}) as { approvers?: ApproverRule[]; minApprovals?: number };
  const min = typeof cfg.minApprovals === "number" && cfg.minApprovals >= 1 ? cfg.minApprovals : 1;
  const w: WaitingApproval = {
    promotion: p.metadata.name,
    step: alias,
    approvers: (Array.isArray(cfg.approvers) ? cfg.approvers : []).map(describeApprover),
    min,
    answers: stepAnswers(p).filter((a) => a.step === alias),
    // The engine may add a note on the step's timeout, which the drawer shows anyway.
    needs: (meta?.message ?? "").replace(/^waiting for approval: needs /, "").replace(/ \((no timeout:|times out at) .*\)$/, ""),
  };
  if (JSON.stringify(step.config ?? {}).includes("${{")) {
    w.unanswerable = `the approvers of step ${alias} use \${{ }} expressions, which Haul cannot check before the step renders them; write them out`;
  }
  return w;
}

/** whoMayAnswer names who may answer w: its approvers, or anyone who may read the Promotion. */
export function whoMayAnswer(w: WaitingApproval): string {
  return w.approvers.length ? w.approvers.join(", ") : "anyone who may read the Promotion";
}

/** waitingApprovalBadge is the "waiting for approval" badge of a Stage or Promotion, its tooltip naming who may answer. */
export function waitingApprovalBadge(w: WaitingApproval): { label: string; title: string } {
  const n = w.min === 1 ? "1 approval" : `${w.min} approvals`;
  const approved = w.answers.filter((a) => a.action === "approve").map((a) => a.user);
  const title = [
    `Promotion ${w.promotion} waits at step ${w.step} for ${n} from ${whoMayAnswer(w)}`,
    w.needs ? `needs ${w.needs}` : "",
    approved.length ? `approved by ${approved.join(", ")}` : "",
  ]
    .filter(Boolean)
    .join("; ");
  return { label: "waiting for approval", title };
}

/** respondBody is the REST API's answer to a waiting wait-for-approval step; an empty message is left out. */
export function respondBody(action: "approve" | "reject", message?: string): { action: "approve" | "reject"; message?: string } {
  const m = message?.trim();
  return m ? { action, message: m } : { action };
}

/**
 * respondErrorText says in words why the server refused an answer to w: the caller is
 * not one of its approvers (403), or the Promotion no longer waits (409).
 */
export function respondErrorText(err: unknown, w: WaitingApproval): string {
  if (err instanceof ApiError) {
    switch (err.status) {
      case 403:
        return `You may not answer Promotion ${w.promotion}: only ${whoMayAnswer(w)} may (${err.message}).`;
      case 409:
        return `Promotion ${w.promotion} no longer waits for approval: it was answered, aborted or moved on (${err.message}).`;
      case 422:
        return `The answer was refused: ${err.message}.`;
    }
  }
  return `The answer was not recorded: ${errorMessage(err)}.`;
}
