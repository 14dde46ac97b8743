// The pipeline graph: Warehouses and Stages as nodes, arrows along Freight flow.

import dagre from "@dagrejs/dagre";
import type { Stage, Warehouse } from "../api/types";
import type { ByName } from "../store/store";

export interface GraphNode {
  id: string;
  kind: "warehouse" | "stage";
  name: string;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export const warehouseId = (name: string) => `warehouse:${name}`;
export const stageId = (name: string) => `stage:${name}`;
export const edgeId = (source: string, target: string) => `${source}->${target}`;

/**
 * buildGraph derives nodes and edges from specs only: an edge from a Warehouse to
 * each Stage that requests its Freight directly, and from each upstream Stage to the
 * Stages that name it in requestedFreight[].sources.stages. Edges to unknown
 * upstream Stages are dropped (the Stage shows the problem in its conditions).
 */
export function buildGraph(warehouses: ByName<Warehouse>, stages: ByName<Stage>): Graph {
  const nodes: GraphNode[] = [];
  for (const name of Object.keys(warehouses).sort()) nodes.push({ id: warehouseId(name), kind: "warehouse", name });
  for (const name of Object.keys(stages).sort()) nodes.push({ id: stageId(name), kind: "stage", name });
  const edges: GraphEdge[] = [];
  const seen = new Set<string>();
  const add = (source: string, target: string) => {
    const id = edgeId(source, target);
    if (seen.has(id)) return;
    seen.add(id);
    edges.push({ id, source, target });
  };
  for (const name of Object.keys(stages).sort()) {
    const target = stageId(name);
    for (const req of stages[name].spec.requestedFreight ?? []) {
      if (req.sources.direct && warehouses[req.origin.name]) add(warehouseId(req.origin.name), target);
      for (const up of req.sources.stages ?? []) {
        if (stages[up] && up !== name) add(stageId(up), target);
      }
    }
  }
  return { nodes, edges };
}

/**
 * topologyKey changes only when the graph's shape changes, so that layout is not
 * recomputed on every status update.
 */
export function topologyKey(warehouses: ByName<Warehouse>, stages: ByName<Stage>): string {
  const parts: string[] = Object.keys(warehouses).sort();
  parts.push("|");
  for (const name of Object.keys(stages).sort()) parts.push(stageKey(stages[name]));
  return parts.join("\n");
}

// Keys are cached per Stage object: on a status update only the changed Stage's
// key is rebuilt.
const stageKeys = new WeakMap<Stage, string>();

function stageKey(s: Stage): string {
  let key = stageKeys.get(s);
  if (key === undefined) {
    const reqs = (s.spec.requestedFreight ?? [])
      .map((r) => `${r.origin.name}${r.sources.direct ? "+" : ""}<${(r.sources.stages ?? []).join(",")}`)
      .join(";");
    key = `${s.metadata.name}=${reqs}`;
    stageKeys.set(s, key);
  }
  return key;
}

export const nodeWidth = 230;
export const nodeHeight = 112;

export interface Position {
  x: number;
  y: number;
}

const nodeSep = 24;
const rankSep = 80;
const componentGap = 60;

/**
 * Components bigger than dagreLimit, and every component of a graph bigger than
 * dagreTotalLimit, are placed by the linear-time layered layout.
 */
export const dagreLimit = 150;
export const dagreTotalLimit = 300;

/**
 * layout places nodes left to right and returns top-left positions by node id. Each
 * connected component (usually one pipeline) is laid out on its own and the
 * components are stacked: dagre for small ones, and for large ones a linear-time
 * layered layout, since dagre's crossing reduction takes seconds at 1,000 nodes.
 */
export function layout(g: Graph): Map<string, Position> {
  const big = g.nodes.length > dagreTotalLimit;
  const placed = components(g).map((comp) => {
    const pos = big || comp.nodes.length > dagreLimit ? layered(comp) : withDagre(comp);
    let w = 0;
    let h = 0;
    for (const p of pos.values()) {
      w = Math.max(w, p.x + nodeWidth);
      h = Math.max(h, p.y + nodeHeight);
    }
    return { pos, w, h };
  });
  // Shelf packing: rows of components no wider than a landscape-shaped target, so a
  // project of many small pipelines does not become one very tall column.
  const area = placed.reduce((a, c) => a + (c.w + componentGap) * (c.h + componentGap), 0);
  const rowWidth = Math.max(Math.sqrt(area * 2), ...placed.map((c) => c.w));
  const out = new Map<string, Position>();
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  for (const c of placed) {
    if (x > 0 && x + c.w > rowWidth) {
      x = 0;
      y += rowHeight + componentGap;
      rowHeight = 0;
    }
    for (const [id, p] of c.pos) out.set(id, { x: p.x + x, y: p.y + y });
    x += c.w + componentGap;
    rowHeight = Math.max(rowHeight, c.h);
  }
  return out;
}

/** components splits g into weakly connected parts, in the order of g.nodes. */
export function components(g: Graph): Graph[] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    let c = x;
    while (c !== r) {
      const n = parent.get(c)!;
      parent.set(c, r);
      c = n;
    }
    return r;
  };
  for (const n of g.nodes) parent.set(n.id, n.id);
  for (const e of g.edges) {
    const a = find(e.source);
    const b = find(e.target);
    if (a !== b) parent.set(a, b);
  }
  const byRoot = new Map<string, Graph>();
  for (const n of g.nodes) {
    const r = find(n.id);
    let c = byRoot.get(r);
    if (!c) {
      c = { nodes: [], edges: [] };
      byRoot.set(r, c);
    }
    c.nodes.push(n);
  }
  for (const e of g.edges) byRoot.get(find(e.source))!.edges.push(e);
  return [...byRoot.values()];
}

function withDagre(g: Graph): Map<string, Position> {
  const dg = new dagre.graphlib.Graph();
  dg.setGraph({ rankdir: "LR", nodesep: nodeSep, ranksep: rankSep });
  dg.setDefaultEdgeLabel(() => ({}));
  for (const n of g.nodes) dg.setNode(n.id, { width: nodeWidth, height: nodeHeight });
  for (const e of g.edges) dg.setEdge(e.source, e.target);
  dagre.layout(dg);
  const out = new Map<string, Position>();
  let minX = Infinity;
  let minY = Infinity;
  for (const n of g.nodes) {
    const p = dg.node(n.id) as { x: number; y: number };
    minX = Math.min(minX, p.x - nodeWidth / 2);
    minY = Math.min(minY, p.y - nodeHeight / 2);
  }
  for (const n of g.nodes) {
    const p = dg.node(n.id) as { x: number; y: number };
    out.set(n.id, { x: p.x - nodeWidth / 2 - minX, y: p.y - nodeHeight / 2 - minY });
  }
  return out;
}

/**
 * layered ranks nodes by longest path from the sources and orders each rank by the
 * mean position of its parents (one barycenter sweep). Nodes on a cycle, which the
 * controllers refuse to promote, go one rank past the deepest node.
 */
export function layered(g: Graph): Map<string, Position> {
  const parents = new Map<string, string[]>();
  const children = new Map<string, string[]>();
  const indeg = new Map<string, number>();
  for (const n of g.nodes) {
    parents.set(n.id, []);
    children.set(n.id, []);
    indeg.set(n.id, 0);
  }
  for (const e of g.edges) {
    parents.get(e.target)!.push(e.source);
    children.get(e.source)!.push(e.target);
    indeg.set(e.target, indeg.get(e.target)! + 1);
  }
  const rank = new Map<string, number>();
  const queue: string[] = [];
  for (const n of g.nodes) if (indeg.get(n.id) === 0) queue.push(n.id);
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i];
    const r = Math.max(0, ...parents.get(id)!.map((p) => (rank.get(p) ?? -1) + 1));
    rank.set(id, r);
    for (const c of children.get(id)!) {
      indeg.set(c, indeg.get(c)! - 1);
      if (indeg.get(c) === 0) queue.push(c);
    }
  }
  const deepest = Math.max(0, ...rank.values());
  for (const n of g.nodes) if (!rank.has(n.id)) rank.set(n.id, deepest + 1);
  const ranks: string[][] = [];
  for (const n of g.nodes) (ranks[rank.get(n.id)!] ??= []).push(n.id);
  const order = new Map<string, number>();
  const out = new Map<string, Position>();
  ranks.forEach((ids, r) => {
    const bary = (id: string) => {
      const ps = parents.get(id)!.filter((p) => order.has(p));
      return ps.length ? ps.reduce((s, p) => s + order.get(p)!, 0) / ps.length : Infinity;
    };
    const keyed = (ids ?? []).map((id, i) => ({ id, b: bary(id), i }));
    keyed.sort((a, b) => a.b - b.b || a.i - b.i);
    keyed.forEach(({ id }, i) => {
      order.set(id, i);
      out.set(id, { x: r * (nodeWidth + rankSep), y: i * (nodeHeight + nodeSep) });
    });
  });
  return out;
}
