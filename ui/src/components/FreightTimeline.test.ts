import { describe, expect, it } from "vitest";
import { stageMarks } from "./FreightTimeline";

describe("stageMarks", () => {
  it("gives one mark per stage, coloured by the strongest relation", () => {
    const marks = stageMarks({
      metadata: { name: "f" },
      origin: { kind: "Warehouse", name: "w" },
      status: {
        currentlyIn: { uat: {} },
        verifiedIn: { test: {}, uat: {} },
        approvedFor: { prod: { approvedBy: "alice" }, test: {} },
      },
    });
    expect(marks).toEqual([
      { stage: "uat", cls: "in", label: "uat ✓", title: "currently in uat, verified in uat" },
      { stage: "test", cls: "verified", label: "test ✓ ★", title: "verified in test, approved for test" },
      { stage: "prod", cls: "approved", label: "prod ★", title: "approved for prod by alice" },
    ]);
  });
});
