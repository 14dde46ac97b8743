import {
  Background,
  Controls,
  Handle,
  MarkerType,
  MiniMap,
  Position,
  ReactFlow,
  useStore,
  type Edge,
  type Node,
  type NodeHandle,
  type NodeProps,
} from "@xyflow/react";
import { memo, useMemo, useRef } from "react";
import type { Stage, Warehouse } from "../api/types";
import { buildGraph, layout, nodeHeight, nodeWidth, topologyKey, type Position as Pos } from "../graph/build";
import { condition } from "../lib/format";
import { healthBadge, promotionBadge, verificationBadge } from "../lib/stage";
import { versions } from "../lib/versions";
import { currentFreight, type ByName } from "../store/store";

type StageNodeData = { stage: Stage };
type WarehouseNodeData = { warehouse: Warehouse };
type StageNodeT = Node<StageNodeData, "stage">;
type WarehouseNodeT = Node<WarehouseNodeData, "warehouse">;

/** Below this zoom nodes draw compactly: name and health colour only. */
const compactZoom = 0.5;
const zoomedOut = (s: { transform: [number, number, number] }) => s.transform[2] < compactZoom;

const StageNode = memo(function StageNode({ data }: NodeProps<StageNodeT>) {
  const compact = useStore(zoomedOut);
  const s = data.stage;
  const name = s.metadata.name;
  const health = healthBadge(s);
  const items = currentFreight(s);
  const alias = items.map((f) => f.alias || f.name.slice(0, 7)).join(", ");
  if (compact) {
    return (
      <div className={`node stage compact health-${health.cls}`} data-testid={`stage-node-${name}`} title={name}>
        <Handle type="target" position={Position.Left} />
        <div className="node-title">{name}</div>
        <Handle type="source" position={Position.Right} />
      </div>
    );
  }
  const vers = items.flatMap((f) => versions(f));
  const verification = verificationBadge(s);
  const promo = promotionBadge(s);
  const cycle = condition(s.status?.conditions, "Ready")?.reason === "CycleDetected";
  return (
    <div className={`node stage health-${health.cls}`} data-testid={`stage-node-${name}`}>
      <Handle type="target" position={Position.Left} />
      <div className="node-title">
        <span className="node-name">{name}</span>
        {s.status?.autoPromotionEnabled && (
          <span className="badge auto" title="Auto-promotion is enabled for this stage">
            auto
          </span>
        )}
      </div>
      <div className="node-freight" data-testid={`stage-freight-${name}`}>
        {alias || <span className="muted">no freight</span>}
      </div>
      {vers.length > 0 && (
        <div className="node-versions" title={vers.join("\n")}>
          {vers.join("  ")}
        </div>
      )}
      <div className="node-badges">
        <span className={`badge ${health.cls}`} title={health.title}>
          {health.label}
        </span>
        {verification && (
          <span className={`badge ${verification.cls}`} title={verification.title}>
            {verification.label}
          </span>
        )}
        {promo && (
          <span className={`badge ${promo.cls}`} title={promo.title} data-testid={`stage-promotion-${name}`}>
            {promo.label}
          </span>
        )}
        {cycle && <span className="badge bad">cycle</span>}
      </div>
      <Handle type="source" position={Position.Right} />
    </div>
  );
});

const WarehouseNode = memo(function WarehouseNode({ data }: NodeProps<WarehouseNodeT>) {
  const compact = useStore(zoomedOut);
  const w = data.warehouse;
  const name = w.metadata.name;
  const ready = condition(w.status?.conditions, "Ready");
  const cls = ready?.status === "True" ? "ok" : ready?.status === "False" ? "bad" : "unknown";
  const subs = w.spec.subscriptions ?? [];
  return (
    <div className={`node warehouse health-${cls}${compact ? " compact" : ""}`} data-testid={`warehouse-node-${name}`}>
      <div className="node-title">
        <span className="kind">Warehouse</span> <span className="node-name">{name}</span>
      </div>
      {!compact && (
        <>
          <div className="node-versions">
            {subs.length} subscription{subs.length === 1 ? "" : "s"}
          </div>
          <div className="node-badges">
            <span className={`badge ${cls}`} title={ready?.message}>
              {ready ? (ready.status === "True" ? "Ready" : ready.reason || "Not ready") : "Unknown"}
            </span>
          </div>
        </>
      )}
      <Handle type="source" position={Position.Right} />
    </div>
  );
});

const nodeTypes = { stage: StageNode, warehouse: WarehouseNode };
const handleSize = 6;
const targetHandle: NodeHandle = { type: "target", position: Position.Left, x: -handleSize / 2, y: nodeHeight / 2 - handleSize / 2, width: handleSize, height: handleSize };
const sourceHandle: NodeHandle = { type: "source", position: Position.Right, x: nodeWidth - handleSize / 2, y: nodeHeight / 2 - handleSize / 2, width: handleSize, height: handleSize };
const stageHandles = [targetHandle, sourceHandle];
const warehouseHandles = [sourceHandle];
const marker = { type: MarkerType.ArrowClosed, width: 16, height: 16 };

export interface Selection {
  kind: "stage" | "warehouse";
  name: string;
}

interface Props {
  warehouses: ByName<Warehouse>;
  stages: ByName<Stage>;
  onSelect: (s: Selection) => void;
}

/**
 * PipelineGraph draws the project's pipeline. Layout depends only on the topology
 * (recomputed when a Stage's sources change), and each node object is reused until
 * its own Stage or Warehouse changes, so a status update re-renders one node.
 */
export function PipelineGraph({ warehouses, stages, onSelect }: Props) {
  const topo = topologyKey(warehouses, stages);
  // Keyed on the topology on purpose: status changes reuse the layout.
  const { graph, positions } = useMemo(() => {
    const graph = buildGraph(warehouses, stages);
    return { graph, positions: layout(graph) };
  }, [topo]);
  const cache = useRef(new Map<string, { obj: unknown; pos: Pos; node: Node }>());

  const nodes = useMemo(() => {
    const out: Node[] = [];
    const next = new Map<string, { obj: unknown; pos: Pos; node: Node }>();
    for (const n of graph.nodes) {
      const obj = n.kind === "stage" ? stages[n.name] : warehouses[n.name];
      const pos = positions.get(n.id)!;
      if (!obj) continue;
      const prev = cache.current.get(n.id);
      let node: Node;
      if (prev && prev.obj === obj && prev.pos === pos) node = prev.node;
      // Sizes and handles known up front let xyflow place edges and the minimap for
      // nodes it never rendered: otherwise onlyRenderVisibleElements still renders
      // every node once to measure it, which costs seconds at 1,000 stages.
      else if (n.kind === "stage")
        node = { id: n.id, type: "stage", position: pos, width: nodeWidth, height: nodeHeight, handles: stageHandles, data: { stage: obj as Stage } };
      else
        node = { id: n.id, type: "warehouse", position: pos, width: nodeWidth, height: nodeHeight, handles: warehouseHandles, data: { warehouse: obj as Warehouse } };
      next.set(n.id, { obj, pos, node });
      out.push(node);
    }
    cache.current = next;
    return out;
  }, [graph, positions, stages, warehouses]);

  const edges: Edge[] = useMemo(
    () => graph.edges.map((e) => ({ id: e.id, source: e.source, target: e.target, markerEnd: marker })),
    [graph],
  );

  const small = graph.nodes.length <= 40;
  return (
    <div className="graph" data-testid="pipeline-graph" data-nodes={graph.nodes.length} data-edges={graph.edges.length}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onlyRenderVisibleElements
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable={false}
        fitView={small}
        fitViewOptions={{ maxZoom: 1 }}
        defaultViewport={{ x: 20, y: 20, zoom: 0.8 }}
        minZoom={0.05}
        maxZoom={2}
        proOptions={{ hideAttribution: true }}
        onNodeClick={(_, node) => {
          const [kind, ...rest] = node.id.split(":");
          onSelect({ kind: kind as Selection["kind"], name: rest.join(":") });
        }}
      >
        <Background gap={24} />
        <Controls showInteractive={false} />
        {!small && <MiniMap pannable zoomable nodeColor={(n) => (n.type === "warehouse" ? "#6b7bd6" : "#9aa5b1")} />}
      </ReactFlow>
    </div>
  );
}
