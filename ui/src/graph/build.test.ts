import { describe, expect, it } from "vitest";
import type { Stage, Warehouse } from "../api/types";
import { buildGraph, layered, layout, topologyKey } from "./build";

const wh = (name: string): Warehouse => ({ metadata: { name }, spec: { subscriptions: [] } });
const st = (name: string, reqs: Stage["spec"]["requestedFreight"]): Stage => ({ metadata: { name }, spec: { requestedFreight: reqs } });
const w = (name: string) => ({ kind: "Warehouse" as const, name });

describe("buildGraph", () => {
  const warehouses = { app: wh("app"), infra: wh("infra") };
  const stages = {
    test: st("test", [{ origin: w("app"), sources: { direct: true } }]),
    uat: st("uat", [{ origin: w("app"), sources: { stages: ["test"] } }]),
    prod: st("prod", [
      { origin: w("app"), sources: { stages: ["uat", "test"] } },
      { origin: w("infra"), sources: { direct: true } },
    ]),
    orphan: st("orphan", [{ origin: w("app"), sources: { stages: ["missing", "orphan"] } }]),
  };

  it("draws warehouse→direct stage and upstream→downstream edges from requestedFreight", () => {
    const g = buildGraph(warehouses, stages);
    expect(g.nodes.map((n) => n.id)).toEqual([
      "warehouse:app",
      "warehouse:infra",
      "stage:orphan",
      "stage:prod",
      "stage:test",
      "stage:uat",
    ]);
    expect(g.edges.map((e) => e.id).sort()).toEqual([
      "stage:test->stage:prod",
      "stage:test->stage:uat",
      "stage:uat->stage:prod",
      "warehouse:app->stage:test",
      "warehouse:infra->stage:prod",
    ]);
  });

  it("drops edges to unknown stages and self-references", () => {
    const g = buildGraph(warehouses, stages);
    expect(g.edges.some((e) => e.target === "stage:orphan")).toBe(false);
  });

  it("has a topology key that ignores status but not sources", () => {
    const withStatus = { ...stages, test: { ...stages.test, status: { freightSummary: "x" } } };
    expect(topologyKey(warehouses, withStatus)).toBe(topologyKey(warehouses, stages));
    const moved = { ...stages, uat: st("uat", [{ origin: w("app"), sources: { direct: true } }]) };
    expect(topologyKey(warehouses, moved)).not.toBe(topologyKey(warehouses, stages));
  });

  it("lays out upstream stages left of downstream ones", () => {
    const pos = layout(buildGraph(warehouses, stages));
    expect(pos.get("warehouse:app")!.x).toBeLessThan(pos.get("stage:test")!.x);
    expect(pos.get("stage:test")!.x).toBeLessThan(pos.get("stage:uat")!.x);
    expect(pos.get("stage:uat")!.x).toBeLessThan(pos.get("stage:prod")!.x);
  });

  it("lays out 1,000 stages in reasonable time", () => {
    const ws: Record<string, Warehouse> = {};
    const ss: Record<string, Stage> = {};
    for (let i = 0; i < 50; i++) {
      ws[`w${i}`] = wh(`w${i}`);
      ss[`s${i}-0`] = st(`s${i}-0`, [{ origin: w(`w${i}`), sources: { direct: true } }]);
      for (let j = 1; j < 20; j++) {
        ss[`s${i}-${j}`] = st(`s${i}-${j}`, [{ origin: w(`w${i}`), sources: { stages: [`s${i}-${Math.floor((j - 1) / 2)}`] } }]);
      }
    }
    const started = performance.now();
    const pos = layout(buildGraph(ws, ss));
    const ms = performance.now() - started;
    expect(pos.size).toBe(1050);
    expect(ms).toBeLessThan(10_000);
    console.log(`layout of 50 pipelines, 1,050 nodes: ${ms.toFixed(0)} ms`);
  });
});

describe("large components", () => {
  it("place one 1,000-stage pipeline in rank order without dagre", () => {
    const ws = { w: wh("w") };
    const ss: Record<string, Stage> = { s0: st("s0", [{ origin: w("w"), sources: { direct: true } }]) };
    for (let i = 1; i < 1000; i++) ss[`s${i}`] = st(`s${i}`, [{ origin: w("w"), sources: { stages: [`s${Math.floor((i - 1) / 3)}`] } }]);
    const started = performance.now();
    const pos = layout(buildGraph(ws, ss));
    const ms = performance.now() - started;
    expect(pos.size).toBe(1001);
    expect(pos.get("stage:s0")!.x).toBeLessThan(pos.get("stage:s1")!.x);
    expect(pos.get("stage:s1")!.x).toBeLessThan(pos.get("stage:s4")!.x);
    expect(ms).toBeLessThan(2_000);
    console.log(`layered layout of 1,001 nodes: ${ms.toFixed(0)} ms`);
  });

  it("survive a cycle", () => {
    const ss = {
      a: st("a", [{ origin: w("w"), sources: { direct: true, stages: ["b"] } }]),
      b: st("b", [{ origin: w("w"), sources: { stages: ["a"] } }]),
    };
    expect(layered(buildGraph({ w: wh("w") }, ss)).size).toBe(3);
  });
});
