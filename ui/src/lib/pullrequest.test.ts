import { describe, expect, it } from "vitest";
import type { Promotion, Stage } from "../api/types";
import { promotionPullRequest, pullRequestHref, pullRequestLabel, pullRequestShortLabel, stagePullRequest } from "./pullrequest";

const pr = { url: "https://git.example/acme/deploy/pulls/7", number: 7, state: "open" as const };

function promotion(phase: string, meta: NonNullable<Promotion["status"]>["stepExecutionMetadata"], currentStep = 1): Promotion {
  return {
    apiVersion: "haul.dev/v1alpha1",
    kind: "Promotion",
    metadata: { name: "prod.01" },
    spec: { stage: "prod", freight: "3f2a1b0c9d8e" },
    status: { phase, currentStep, stepExecutionMetadata: meta },
  } as Promotion;
}

describe("pull requests", () => {
  it("shows the awaited pull request as waiting for review", () => {
    const p = promotion("Running", [
      { alias: "open", status: "Succeeded", pullRequest: pr },
      { alias: "wait", status: "Running", pullRequest: pr },
    ]);
    const got = promotionPullRequest(p);
    expect(got?.waiting).toBe(true);
    expect(pullRequestLabel(got!.pr, got!.waiting)).toBe("PR #7 open · waiting for review");
    expect(pullRequestHref(got!.pr)).toBe("https://git.example/acme/deploy/pulls/7");
  });

  it("keeps the last pull request after the Promotion moved on, without waiting", () => {
    const merged = { ...pr, state: "merged" as const };
    const p = promotion("Succeeded", [{ alias: "open", status: "Succeeded", pullRequest: pr }, { alias: "wait", status: "Succeeded", pullRequest: merged }, { alias: "sync", status: "Succeeded" }], 2);
    const got = promotionPullRequest(p);
    expect(got).toEqual({ pr: merged, waiting: false });
    expect(pullRequestLabel(got!.pr, got!.waiting)).toBe("PR #7 merged");
  });

  it("has none when no step recorded one, and links only http(s) pages", () => {
    expect(promotionPullRequest(promotion("Running", [{ alias: "clone", status: "Running" }], 0))).toBeUndefined();
    expect(pullRequestHref({ ...pr, url: "javascript:alert(1)" })).toBeUndefined();
  });
});

describe("a Stage's pull request", () => {
  const stage = (status: Stage["status"]): Stage => ({ metadata: { name: "prod" }, spec: { requestedFreight: [] }, status });

  it("is its current or last Promotion's, waiting while the Promotion waits on it", () => {
    const waiting = promotion("Running", [{ alias: "open", status: "Succeeded", pullRequest: pr }, { alias: "wait", status: "Running", pullRequest: pr }]);
    expect(stagePullRequest(stage({}), waiting)).toEqual({ pr, waiting: true });
    expect(pullRequestShortLabel(pr, true)).toBe("PR #7 waiting for review");
    const merged = { ...pr, state: "merged" as const };
    const done = promotion("Succeeded", [{ alias: "open", status: "Succeeded", pullRequest: pr }, { alias: "wait", status: "Succeeded", pullRequest: merged }]);
    expect(stagePullRequest(stage({ lastPromotion: { name: "prod.01", pullRequest: pr } }), done)).toEqual({ pr: merged, waiting: false });
    expect(pullRequestShortLabel(merged, false)).toBe("PR #7 merged");
  });

  it("falls back to the Stage's status when the dashboard lacks the Promotion", () => {
    expect(stagePullRequest(stage({ currentPromotion: { name: "prod.02", pullRequest: pr } }), undefined)).toEqual({ pr, waiting: true });
    expect(stagePullRequest(stage({ lastPromotion: { name: "prod.01", pullRequest: pr } }), undefined)).toEqual({ pr, waiting: false });
    expect(stagePullRequest(stage({}), undefined)).toBeUndefined();
  });

  it("is none when its Promotion opened none, even if an older one did", () => {
    const p = promotion("Running", [{ alias: "clone", status: "Running" }], 0);
    expect(stagePullRequest(stage({ lastPromotion: { name: "prod.00", pullRequest: pr } }), p)).toBeUndefined();
  });
});
