import { describe, expect, it } from "vitest";
import type { Freight, Stage } from "../api/types";
import { availability, emptyState, noPermissions, reduce } from "./store";

const stage = (name: string, rv: string, sources: Stage["spec"]["requestedFreight"][0]["sources"] = { direct: true }): Stage => ({
  metadata: { name, resourceVersion: rv },
  spec: { requestedFreight: [{ origin: { kind: "Warehouse", name: "w" }, sources }] },
});

const freight = (name: string, status: Freight["status"] = {}): Freight => ({
  metadata: { name, resourceVersion: "1" },
  origin: { kind: "Warehouse", name: "w" },
  images: [{ repoURL: "r/app", tag: "1.0.0" }],
  status,
});

const loaded = reduce(emptyState, {
  type: "snapshot",
  snapshot: { warehouses: [], stages: [stage("test", "5"), stage("uat", "6")], freight: [freight("f1")], promotions: [], permissions: noPermissions },
});

describe("reduce", () => {
  it("loads a snapshot keyed by name", () => {
    expect(loaded.loaded).toBe(true);
    expect(Object.keys(loaded.stages)).toEqual(["test", "uat"]);
  });

  it("keeps the project's Freight total when only the newest were loaded, through later changes", () => {
    const big = reduce(emptyState, {
      type: "snapshot",
      snapshot: { warehouses: [], stages: [], freight: [freight("f1")], freightTotal: 100000, promotions: [], permissions: noPermissions },
    });
    expect(big.freightTotal).toBe(100000);
    const next = reduce(big, { type: "changes", changes: [{ type: "upsert", kind: "Freight", name: "f2", object: freight("f2") }] });
    expect(next.freightTotal).toBe(100000);
    expect(Object.keys(next.freight).sort()).toEqual(["f1", "f2"]);
  });

  it("applies upserts and deletes and leaves untouched collections identical", () => {
    const next = reduce(loaded, {
      type: "changes",
      changes: [
        { type: "upsert", kind: "Stage", name: "prod", object: stage("prod", "9") },
        { type: "delete", kind: "Stage", name: "uat" },
      ],
    });
    expect(Object.keys(next.stages).sort()).toEqual(["prod", "test"]);
    expect(next.freight).toBe(loaded.freight);
    expect(loaded.stages.uat).toBeDefined();
  });

  it("ignores an upsert older than the stored object", () => {
    const next = reduce(loaded, {
      type: "changes",
      changes: [{ type: "upsert", kind: "Stage", name: "test", object: { ...stage("test", "3"), status: { freightSummary: "old" } } }],
    });
    expect(next.stages.test.status).toBeUndefined();
  });

  it("returns the same state for changes of unknown kinds", () => {
    const next = reduce(loaded, { type: "changes", changes: [{ type: "upsert", kind: "Secret" as never, name: "x", object: {} }] });
    expect(next).toBe(loaded);
  });

  it("keeps the last of several upserts of one object in a batch", () => {
    const next = reduce(loaded, {
      type: "changes",
      changes: [
        { type: "upsert", kind: "Freight", name: "f2", object: { ...freight("f2"), alias: "a" } },
        { type: "upsert", kind: "Freight", name: "f2", object: { ...freight("f2"), alias: "b" } },
      ],
    });
    expect(next.freight.f2.alias).toBe("b");
  });
});

describe("availability", () => {
  it("follows direct, upstream verification, All strategy and approvals", () => {
    expect(availability(freight("f"), stage("test", "1")).ok).toBe(true);
    expect(availability(freight("f"), stage("uat", "1", { stages: ["test"] })).ok).toBe(false);
    expect(availability(freight("f", { verifiedIn: { test: {} } }), stage("uat", "1", { stages: ["test"] })).ok).toBe(true);
    const all = stage("prod", "1", { stages: ["a", "b"], availabilityStrategy: "All" });
    expect(availability(freight("f", { verifiedIn: { a: {} } }), all).ok).toBe(false);
    expect(availability(freight("f", { verifiedIn: { a: {}, b: {} } }), all).ok).toBe(true);
    expect(availability(freight("f", { approvedFor: { prod: {} } }), all).ok).toBe(true);
  });
});
