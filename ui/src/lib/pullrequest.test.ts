import { describe, expect, it } from "vitest";
import type { Promotion } from "../api/types";
import { promotionPullRequest, pullRequestHref, pullRequestLabel } from "./pullrequest";

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
