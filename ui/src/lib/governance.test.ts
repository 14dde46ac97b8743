import { describe, expect, it } from "vitest";
import type { Freight, Permissions, ProjectConfig, Stage } from "../api/types";
import { availability, noPermissions } from "../store/store";
import {
  approvalMarks,
  approvalRuleFor,
  approvalRules,
  globToRegExp,
  isWindowClosedError,
  nameMatches,
  promoteBody,
  selectorMatches,
  tallyApprovals,
  windowNotice,
} from "./governance";

const origin = { kind: "Warehouse" as const, name: "app" };

function stage(name: string, extra: Partial<Stage["spec"]> = {}, labels?: Record<string, string>, status?: Stage["status"]): Stage {
  return {
    metadata: { name, labels },
    spec: { requestedFreight: [{ origin, sources: { stages: ["uat"] } }], ...extra },
    status,
  };
}

function freight(status: Freight["status"]): Freight {
  return { metadata: { name: "f1" }, alias: "brave-otter", origin, status };
}

const approval = (stage: string, identity: string, groups?: string[]) => ({ stage, identity, groups, approvedAt: "2026-01-05T09:00:00Z" });

describe("stage selectors", () => {
  it("matches names as the server does: exact, glob: (Go path.Match), regex: (unanchored)", () => {
    expect(nameMatches("", "prod")).toBe(true);
    expect(nameMatches("prod", "prod")).toBe(true);
    expect(nameMatches("prod", "prod-eu")).toBe(false);
    expect(nameMatches("glob:prod-*", "prod-eu")).toBe(true);
    expect(nameMatches("glob:prod-*", "uat-eu")).toBe(false);
    expect(nameMatches("glob:prod-?", "prod-1")).toBe(true);
    expect(nameMatches("glob:prod-?", "prod-12")).toBe(false);
    expect(nameMatches("glob:prod-[a-c]", "prod-b")).toBe(true);
    expect(nameMatches("glob:prod-[^a-c]", "prod-b")).toBe(false);
    expect(nameMatches("glob:a.b", "axb")).toBe(false);
    expect(nameMatches("regex:^prod", "prod-eu")).toBe(true);
    expect(nameMatches("regex:eu", "prod-eu")).toBe(true);
    expect(nameMatches("regex:^eu", "prod-eu")).toBe(false);
  });

  it("selects nothing with a pattern that cannot be parsed", () => {
    expect(globToRegExp("prod-[")).toBeNull();
    expect(globToRegExp("prod-\\")).toBeNull();
    expect(globToRegExp("[]a]")).toBeNull();
    expect(nameMatches("glob:prod-[", "prod-[")).toBe(false);
    expect(nameMatches("regex:prod(", "prod(")).toBe(false);
  });

  it("matches labels and expressions as a Kubernetes label selector", () => {
    const s = stage("prod", {}, { tier: "prod", region: "eu" });
    expect(selectorMatches({ matchLabels: { tier: "prod" } }, s)).toBe(true);
    expect(selectorMatches({ matchLabels: { tier: "uat" } }, s)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: "region", operator: "In", values: ["eu", "us"] }] }, s)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: "region", operator: "NotIn", values: ["eu"] }] }, s)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] }, s)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: "zone", operator: "Exists" }] }, s)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: "zone", operator: "DoesNotExist" }] }, s)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: "zone", operator: "Bogus" }] }, s)).toBe(false);
    expect(selectorMatches({ name: "glob:uat-*", matchLabels: { tier: "prod" } }, s)).toBe(false);
  });
});

describe("approval requirements", () => {
  const config: ProjectConfig = {
    metadata: { name: "shop" },
    spec: {
      approvalPolicies: [
        { stageSelector: { name: "glob:prod-*" }, requiredApprovals: 2 },
        { stageSelector: { name: "prod-eu" }, requiredApprovals: 5 },
      ],
    },
  };

  it("takes the Stage's own, else the first policy that selects it", () => {
    expect(approvalRuleFor(stage("prod-eu", { approval: { requiredApprovals: 3 } }), config)?.requiredApprovals).toBe(3);
    expect(approvalRuleFor(stage("prod-eu"), config)?.requiredApprovals).toBe(2);
    expect(approvalRuleFor(stage("uat"), config)).toBeUndefined();
    expect(approvalRuleFor(stage("prod-eu"))).toBeUndefined();
  });

  it("lists only Stages with a requirement, with the origins they request", () => {
    const rules = approvalRules({ "prod-eu": stage("prod-eu"), uat: stage("uat") }, config);
    expect(Object.keys(rules)).toEqual(["prod-eu"]);
    expect(rules["prod-eu"]).toEqual({
      rule: { requiredApprovals: 2, allowedGroups: undefined, forbidSelfApproval: undefined },
      origins: ["Warehouse/app"],
    });
  });

  it("counts each identity once, only from allowed groups, without the requester when four eyes", () => {
    const f = freight({
      approvals: [
        approval("prod", "alice", ["sre"]),
        approval("prod", "alice", ["sre"]),
        approval("prod", "bob", ["dev"]),
        approval("uat", "carol", ["sre"]),
        approval("prod", "dave", ["sre"]),
      ],
    });
    expect(tallyApprovals(f, "prod", { requiredApprovals: 2 }).counted.map((a) => a.identity)).toEqual(["alice", "bob", "dave"]);
    const groups = tallyApprovals(f, "prod", { requiredApprovals: 2, allowedGroups: ["sre"] });
    expect(groups.counted.map((a) => a.identity)).toEqual(["alice", "dave"]);
    expect(groups.notAllowed).toEqual(["bob"]);
    const self = tallyApprovals(f, "prod", { requiredApprovals: 2, forbidSelfApproval: true }, "alice");
    expect(self.counted.map((a) => a.identity)).toEqual(["bob", "dave"]);
    expect(self.self).toBe("alice");
  });

  it("shows how many of the required approvals Freight has, and who gave them", () => {
    const rules = approvalRules({ prod: stage("prod", { approval: { requiredApprovals: 2 } }), uat: stage("uat", { approval: { requiredApprovals: 1 } }) });
    const one = freight({ approvals: [approval("prod", "oidc:alice")] });
    expect(approvalMarks(one, rules)).toEqual([
      { stage: "prod", label: "1/2 approvals", title: "approved for prod by oidc:alice (2026-01-05T09:00:00Z); needs 1 more", met: false },
    ]);
    const two = freight({ approvals: [approval("prod", "oidc:alice"), approval("prod", "oidc:bob"), approval("uat", "oidc:bob")] });
    expect(approvalMarks(two, rules).map((m) => [m.stage, m.label, m.met])).toEqual([["prod", "2/2 approvals", true]]);
    expect(approvalMarks(freight({}), rules).map((m) => m.label)).toEqual(["0/2 approvals"]);
    // A Stage that does not request the Freight's origin shows nothing.
    expect(approvalMarks({ ...one, origin: { kind: "Warehouse", name: "other" } }, rules)).toEqual([]);
  });

  it("holds Freight back from a Stage until enough approvals count", () => {
    const prod = stage("prod");
    const rule = { requiredApprovals: 2 };
    const verified = freight({ verifiedIn: { uat: {} }, approvals: [approval("prod", "alice")] });
    expect(availability(verified, prod).ok).toBe(true);
    expect(availability(verified, prod, rule)).toEqual({ ok: false, why: "needs approval: 1 of 2 approvals" });
    const both = freight({ approvals: [approval("prod", "alice"), approval("prod", "bob")], approvedFor: { prod: {} } });
    expect(availability(both, prod, rule)).toEqual({ ok: true, why: "approved" });
  });
});

describe("promotion windows in the promote dialog", () => {
  const now = Date.parse("2026-12-24T12:00:00Z");
  const closed = stage("prod", {}, undefined, {
    promotionWindowStatus: { closed: true, reason: "promotion window closed until 2026-12-27T00:00:00Z (window christmas)", nextOpen: "2026-12-27T00:00:00Z" },
  });
  const admin: Permissions = { ...noPermissions, promote: true, override: true };
  const promoter: Permissions = { ...noPermissions, promote: true };

  it("asks a user with the override right for a reason", () => {
    const n = windowNotice(closed, admin, "", now);
    expect(n.closed && n.canOverride).toBe(true);
    expect(n.text).toContain("window christmas");
    expect(n.text).toContain("give a reason");
  });

  it("tells anybody else why the promotion is refused", () => {
    const n = windowNotice(closed, promoter, "", now);
    expect(n.closed).toBe(true);
    expect(n.canOverride).toBe(false);
    expect(n.text).toMatch(/^Promotion window closed until 2026-12-27T00:00:00Z \(window christmas\)\. It opens again at .*\. Promotion to prod is refused while the window is closed;/);
    expect(n.text).toContain("override right");
  });

  it("says nothing for an open window, or a closed status past its reopening", () => {
    expect(windowNotice(stage("prod"), admin, "", now).closed).toBe(false);
    expect(windowNotice(closed, admin, "", Date.parse("2026-12-27T00:00:01Z")).closed).toBe(false);
  });

  it("believes the server's refusal over the Stage's status", () => {
    const msg = "promotion window closed until 2027-01-01T00:00:00Z (window new-year)";
    expect(isWindowClosedError(409, msg)).toBe(true);
    expect(isWindowClosedError(409, "Freight brave-otter needs approval for Stage prod: 1 of 2 approvals")).toBe(false);
    expect(isWindowClosedError(403, msg)).toBe(false);
    const n = windowNotice(stage("prod"), admin, msg, now);
    expect(n.closed && n.canOverride).toBe(true);
    expect(n.text).toContain("window new-year");
  });

  it("sends a reason only when there is one", () => {
    expect(promoteBody("f1", "  hotfix INC-42 ")).toEqual({ freight: "f1", overrideReason: "hotfix INC-42" });
    expect(promoteBody("f1", "   ")).toEqual({ freight: "f1" });
    expect(promoteBody("f1")).toEqual({ freight: "f1" });
  });
});
