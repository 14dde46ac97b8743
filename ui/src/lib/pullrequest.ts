// Pull requests opened or awaited by a Promotion's git-open-pr, git-wait-for-pr and
// git-merge-pr steps, as the dashboard shows them.
import type { Promotion, Stage } from "../api/types";
import { safeHref } from "./links";

export type PullRequest = NonNullable<NonNullable<NonNullable<Promotion["status"]>["stepExecutionMetadata"]>[number]["pullRequest"]>;

/**
 * promotionPullRequest is the pull request a Promotion is about: the current step's when
 * it has one, else the last one any step recorded (as PromotionStatus.PullRequest in Go).
 * waiting is true while the running step waits on it being merged.
 */
export function promotionPullRequest(p: Promotion): { pr: PullRequest; waiting: boolean } | undefined {
  const meta = p.status?.stepExecutionMetadata ?? [];
  const i = p.status?.currentStep ?? 0;
  const current = meta[i];
  if (current?.pullRequest) {
    const waiting = p.status?.phase === "Running" && current.status === "Running" && current.pullRequest.state === "open";
    return { pr: current.pullRequest, waiting };
  }
  for (let j = meta.length - 1; j >= 0; j--) {
    const pr = meta[j].pullRequest;
    if (pr) return { pr, waiting: false };
  }
  return undefined;
}

/** pullRequestLabel renders "PR #7 open · waiting for review". */
export function pullRequestLabel(pr: PullRequest, waiting: boolean): string {
  return `PR #${pr.number} ${pr.state}${waiting ? " · waiting for review" : ""}`;
}

/** pullRequestShortLabel is the Stage card's "PR #7 waiting for review" or "PR #7 merged". */
export function pullRequestShortLabel(pr: PullRequest, waiting: boolean): string {
  return `PR #${pr.number} ${waiting ? "waiting for review" : pr.state}`;
}

/** pullRequestHref is the pull request's page when it is a plain http(s) URL. */
export function pullRequestHref(pr: PullRequest): string | undefined {
  return safeHref(pr.url);
}

/**
 * stagePullRequest is the pull request a Stage card shows: that of the Stage's current
 * or last Promotion p (stagePromotion) when the dashboard has it, else the one the
 * Stage's status names (recorded only while a Promotion waits on its review).
 */
export function stagePullRequest(s: Stage, p: Promotion | undefined): { pr: PullRequest; waiting: boolean } | undefined {
  if (p) return promotionPullRequest(p);
  const cur = s.status?.currentPromotion?.pullRequest;
  if (cur) return { pr: cur, waiting: cur.state === "open" };
  const last = s.status?.lastPromotion?.pullRequest;
  return last ? { pr: last, waiting: false } : undefined;
}
