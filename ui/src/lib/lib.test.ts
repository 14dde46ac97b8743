import { describe, expect, it } from "vitest";
import type { Stage } from "../api/types";
import { match } from "./router";
import { healthBadge, projectHealthBadge, promotionBadge, verificationBadge } from "./stage";
import { versions } from "./versions";

describe("versions", () => {
  it("names images by tag, commits by tag or short id, charts by version", () => {
    expect(
      versions({
        images: [{ repoURL: "ghcr.io/acme/api", tag: "1.2.3" }, { repoURL: "ghcr.io/acme/web", digest: "sha256:0123456789abcdef0123" }],
        commits: [{ repoURL: "https://git.example/acme/deploy.git", id: "89abcdef0123" }, { repoURL: "https://git.example/acme/x", id: "1", tag: "v2" }],
        charts: [{ repoURL: "oci://ghcr.io/acme/charts/app", version: "0.4.0" }, { repoURL: "https://charts.example", name: "db", version: "1.0.0" }],
      }),
    ).toEqual(["api:1.2.3", "web:0123456789ab", "deploy@89abcde", "x@v2", "app@0.4.0", "db@1.0.0"]);
  });
});

describe("router", () => {
  it("matches the projects list, project deep links, and nothing else", () => {
    expect(match("/")).toEqual({ page: "projects" });
    expect(match("/projects/demo")).toEqual({ page: "project", name: "demo" });
    expect(match("/projects/demo/")).toEqual({ page: "project", name: "demo" });
    expect(match("/projects/a%2Fb")).toEqual({ page: "project", name: "a/b" });
    expect(match("/projects/%E0%A4%A")).toEqual({ page: "notFound" });
    expect(match("/elsewhere")).toEqual({ page: "notFound" });
  });
});

describe("stage badges", () => {
  const stage = (status: Stage["status"]): Stage => ({ metadata: { name: "s" }, spec: { requestedFreight: [] }, status });

  it("shows health, with the issues as a tooltip", () => {
    expect(healthBadge(stage({ health: { status: "Unhealthy", issues: ["app degraded"] } }))).toEqual({
      label: "Unhealthy",
      cls: "bad",
      title: "app degraded",
    });
    expect(healthBadge(stage({})).label).toBe("Unknown");
  });

  it("derives verification state from the Verified condition", () => {
    const v = (reason: string, status: "True" | "False") =>
      verificationBadge(stage({ conditions: [{ type: "Verified", status, reason, message: "", lastTransitionTime: "2026-12-01T00:00:00Z" }] }))?.label;
    expect(v("VerificationPassed", "True")).toBe("Verified");
    expect(v("VerificationRunning", "False")).toBe("Verifying");
    expect(v("VerificationFailed", "False")).toBe("Verification failed");
    expect(v("NoFreight", "False")).toBeUndefined();
  });

  it("prefers the running promotion over the last one", () => {
    expect(promotionBadge(stage({ lastPromotion: { name: "p1", phase: "Failed" } }))).toMatchObject({ label: "Promotion Failed", cls: "bad" });
    expect(
      promotionBadge(stage({ currentPromotion: { name: "p2", freightAlias: "brave-otter" }, lastPromotion: { name: "p1", phase: "Failed" } })),
    ).toMatchObject({ label: "Promoting brave-otter", cls: "busy" });
  });
});

describe("project health", () => {
  it("never shows a project without health checks as unhealthy", () => {
    expect(projectHealthBadge({ stages: 3, healthyStages: 0, stagesWithoutHealthChecks: 3 })).toMatchObject({ label: "no checks", cls: "unknown" });
    expect(projectHealthBadge({ stages: 3, healthyStages: 1, stagesWithoutHealthChecks: 2 })).toMatchObject({ label: "1/1", cls: "ok" });
    expect(projectHealthBadge({ stages: 3, healthyStages: 1, unhealthyStages: 1, stagesWithoutHealthChecks: 1 })).toMatchObject({ label: "1/2", cls: "bad" });
    expect(projectHealthBadge({ stages: 2, healthyStages: 1 })).toMatchObject({ label: "1/2", cls: "busy" });
    expect(projectHealthBadge({})).toMatchObject({ label: "no checks" });
  });
});
