import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import type { Promotion } from "../api/types";
import { respondBody, respondErrorText, waitingApproval, waitingApprovalBadge, whoMayAnswer } from "./governance";

type Status = NonNullable<Promotion["status"]>;

/** promotion is prod.01, whose second step is a wait-for-approval with config. */
function promotion(phase: Status["phase"], config?: Record<string, unknown>, extra: Partial<Status> = {}, answers?: unknown): Promotion {
  return {
    metadata: {
      name: "prod.01",
      annotations: answers === undefined ? undefined : { "haul.dev/approval-responses": JSON.stringify(answers) },
    },
    spec: { stage: "prod", freight: "f1" },
    status: {
      phase,
      currentStep: 1,
      steps: [{ uses: "compose-output", as: "record" }, { uses: "wait-for-approval", as: "sign-off", config }],
      stepExecutionMetadata: [
        { alias: "record", status: "Succeeded" },
        { alias: "sign-off", status: "Running", message: "waiting for approval: needs 1 of 2 approvals, an approval from role haul-admin" },
      ],
      ...extra,
    },
  };
}

const approvers = {
  approvers: [{ claim: "groups", value: "oidc:sre" }, { role: "haul-admin", required: true }, { claim: "email", value: "alice@example.com" }],
  minApprovals: 2,
};

describe("a Promotion waiting at a wait-for-approval step", () => {
  it("names the step, who may answer, how many must approve and what is missing", () => {
    const answers = [
      { step: "sign-off", user: "oidc:bob@example.com", action: "approve", time: "2026-12-01T10:00:00Z" },
      { step: "earlier", user: "oidc:carol@example.com", action: "approve" },
    ];
    const w = waitingApproval(promotion("Running", approvers, {}, answers));
    expect(w).toMatchObject({
      promotion: "prod.01",
      step: "sign-off",
      approvers: ["group oidc:sre", "role haul-admin (required)", "email alice@example.com"],
      min: 2,
      needs: "1 of 2 approvals, an approval from role haul-admin",
    });
    expect(w!.answers.map((a) => a.user)).toEqual(["oidc:bob@example.com"]);
    expect(w!.unanswerable).toBeUndefined();
    const b = waitingApprovalBadge(w!);
    expect(b.label).toBe("waiting for approval");
    expect(b.title).toBe(
      "Promotion prod.01 waits at step sign-off for 2 approvals from group oidc:sre, role haul-admin (required), email alice@example.com; " +
        "needs 1 of 2 approvals, an approval from role haul-admin; approved by oidc:bob@example.com",
    );
  });

  it("lets anyone who may read the Promotion answer a step without approvers (Kargo's rule)", () => {
    const w = waitingApproval(promotion("Running", undefined, { steps: [{ uses: "compose-output" }, { uses: "wait-for-approval" }] }));
    expect(w?.step).toBe("step-2"); // the engine's default alias
    expect(w?.min).toBe(1);
    expect(whoMayAnswer(w!)).toBe("anyone who may read the Promotion");
    expect(waitingApprovalBadge(w!).title).toMatch(/^Promotion prod\.01 waits at step step-2 for 1 approval from anyone who may read the Promotion/);
  });

  it("is not waiting once the Promotion or the step is done, or at another step", () => {
    expect(waitingApproval(promotion("Succeeded", approvers))).toBeUndefined();
    expect(waitingApproval(promotion("Failed", approvers))).toBeUndefined();
    expect(waitingApproval(promotion("Pending", approvers))).toBeUndefined();
    expect(waitingApproval(promotion("Running", approvers, { currentStep: 0 }))).toBeUndefined();
    const done = promotion("Running", approvers);
    done.status!.stepExecutionMetadata![1].status = "Succeeded";
    expect(waitingApproval(done)).toBeUndefined();
    expect(waitingApproval(undefined)).toBeUndefined();
  });

  it("leaves the engine's timeout note out of what is missing", () => {
    for (const note of [
      " (no timeout: it waits until the step finishes or the Promotion is aborted; set retry.timeout to limit it)",
      " (times out at 2026-12-03T08:00:00Z, after 1h0m0s: retry.timeout)",
    ]) {
      const p = promotion("Running", approvers);
      p.status!.stepExecutionMetadata![1].message = `waiting for approval: needs 0 of 2 approvals${note}`;
      expect(waitingApproval(p)?.needs).toBe("0 of 2 approvals");
    }
  });

  it("is waiting before the step first reports, as the server accepts answers then", () => {
    const p = promotion("Running", approvers, { stepExecutionMetadata: [{ alias: "record", status: "Succeeded" }] });
    expect(waitingApproval(p)?.needs).toBe("");
  });

  it("says the server refuses answers when the approvers use expressions", () => {
    const w = waitingApproval(promotion("Running", { approvers: [{ claim: "groups", value: "${{ vars.team }}" }] }));
    expect(w?.unanswerable).toBe("the approvers of step sign-off use ${{ }} expressions, which Haul cannot check before the step renders them; write them out");
  });

  it("ignores an unreadable answers annotation", () => {
    expect(waitingApproval(promotion("Running", approvers, {}, { not: "a list" }))?.answers).toEqual([]);
    const p = promotion("Running", approvers);
    p.metadata.annotations = { "haul.dev/approval-responses": "{nope" };
    expect(waitingApproval(p)?.answers).toEqual([]);
  });
});

describe("answering", () => {
  it("sends the action, and the message only when there is one", () => {
    expect(respondBody("approve", "  looks good ")).toEqual({ action: "approve", message: "looks good" });
    expect(respondBody("reject", "   ")).toEqual({ action: "reject" });
    expect(respondBody("approve")).toEqual({ action: "approve" });
  });

  it("explains the server's refusals in words", () => {
    const w = waitingApproval(promotion("Running", approvers))!;
    expect(respondErrorText(new ApiError(403, "Forbidden", "user \"viewer\" matches none of the approvers"), w)).toBe(
      "You may not answer Promotion prod.01: only group oidc:sre, role haul-admin (required), email alice@example.com may (user \"viewer\" matches none of the approvers).",
    );
    expect(respondErrorText(new ApiError(409, "Conflict", "promotion prod.01 is Succeeded: no wait-for-approval step of the promotion is waiting"), w)).toBe(
      "Promotion prod.01 no longer waits for approval: it was answered, aborted or moved on (promotion prod.01 is Succeeded: no wait-for-approval step of the promotion is waiting).",
    );
    expect(respondErrorText(new ApiError(422, "Invalid", "message is 2000 bytes long; at most 1024"), w)).toBe(
      "The answer was refused: message is 2000 bytes long; at most 1024.",
    );
    expect(respondErrorText(new TypeError("Failed to fetch"), w)).toBe("The answer was not recorded: Failed to fetch.");
  });
});
