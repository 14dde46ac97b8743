import { describe, expect, it } from "vitest";
import type { Promotion, Stage } from "../api/types";
import { stageNotes } from "./stage";

const pr = { url: "https://git.example/acme/deploy/pulls/7", number: 7, state: "open" as const };

function stage(name: string, status: Stage["status"] = {}): Stage {
  return { metadata: { name }, spec: { requestedFreight: [] }, status };
}

function waiting(name: string, stageName: string): Promotion {
  return {
    metadata: { name },
    spec: { stage: stageName, freight: "f1" },
    status: {
      phase: "Running",
      currentStep: 0,
      steps: [{ uses: "wait-for-approval", as: "sign-off", config: { approvers: [{ claim: "groups", value: "oidc:sre" }] } }],
      stepExecutionMetadata: [{ alias: "sign-off", status: "Running", message: "waiting for approval: needs 0 of 1 approvals" }],
    },
  };
}

function succeeded(name: string, stageName: string, withPR: boolean): Promotion {
  return {
    metadata: { name },
    spec: { stage: stageName, freight: "f0" },
    status: { phase: "Succeeded", currentStep: 0, stepExecutionMetadata: [{ alias: "wait", status: "Succeeded", pullRequest: withPR ? { ...pr, state: "merged" } : undefined }] },
  };
}

describe("stage cards", () => {
  it("show the Running Promotion's wait for approval, even before the Stage's status names it", () => {
    const stages = { prod: stage("prod", { lastPromotion: { name: "prod.01", phase: "Succeeded" } }), uat: stage("uat") };
    const notes = stageNotes(stages, { "prod.01": succeeded("prod.01", "prod", false), "prod.02": waiting("prod.02", "prod") });
    expect(Object.keys(notes)).toEqual(["prod"]);
    expect(notes.prod.approval?.promotion).toBe("prod.02");
    expect(notes.prod.approval?.badge).toEqual({
      label: "waiting for approval",
      cls: "approval",
      title: "Promotion prod.02 waits at step sign-off for 1 approval from group oidc:sre; needs 0 of 1 approvals",
    });
    expect(notes.prod.pr).toBeUndefined();
  });

  it("show the last Promotion's pull request once it finished", () => {
    const stages = { prod: stage("prod", { lastPromotion: { name: "prod.01", phase: "Succeeded" } }) };
    const notes = stageNotes(stages, { "prod.01": succeeded("prod.01", "prod", true) });
    expect(notes.prod).toEqual({ pr: { pr: { ...pr, state: "merged" }, waiting: false } });
  });

  it("keep an unchanged note's object, so only changed cards re-render", () => {
    const stages = { prod: stage("prod"), uat: stage("uat", { lastPromotion: { name: "uat.01" } }) };
    const promos = { "prod.02": waiting("prod.02", "prod"), "uat.01": succeeded("uat.01", "uat", true) };
    const first = stageNotes(stages, promos);
    const again = stageNotes(stages, { ...promos }, first);
    expect(again.prod).toBe(first.prod);
    expect(again.uat).toBe(first.uat);
    const answered = waiting("prod.02", "prod");
    answered.status!.stepExecutionMetadata![0].message = "waiting for approval: needs 1 of 2 approvals";
    const changed = stageNotes(stages, { ...promos, "prod.02": answered }, first);
    expect(changed.prod).not.toBe(first.prod);
    expect(changed.uat).toBe(first.uat);
  });
});
