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
import { createContext, memo, useCallback, useContext, useLayoutEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import type { Promotion, Stage, Warehouse } from "../api/types";
import { buildGraph, layout, nodeHeight, nodeWidth, topologyKey } from "../graph/build";
import { condition } from "../lib/format";
import { healthBadge, promotionBadge, stageNotes, verificationBadge, type StageNote } from "../lib/stage";
import { PullRequestLink } from "./Drawers";
import { versions } from "../lib/versions";
import { ObjectStore } from "../store/objectStore";
import { currentFreight, type ByName } from "../store/store";

// Nodes carry only names: each node reads its object from these stores, so status
// updates re-render the changed nodes without handing xyflow a new nodes array.
type StageNodeData = { name: string };
type WarehouseNodeData = { name: string };
const StageStore = createContext(new ObjectStore<Stage>({}));
const WarehouseStore = createContext(new ObjectStore<Warehouse>({}));
// What a Stage's card says about its current or last Promotion (approval, pull request).
const NoteStore = createContext(new ObjectStore<StageNote>({}));

function useObject<T>(store: ObjectStore<T>, name: string): T | undefined {
  return useSyncExternalStore(
    (fn) => store.subscribe(name, fn),
    () => store.get(name),
  );
}
type StageNodeT = Node<StageNodeData, "stage">;
type WarehouseNodeT = Node<WarehouseNodeData, "warehouse">;

/** Below this zoom nodes draw compactly: name and health colour only. */
const compactZoom = 0.5;
const zoomedOut = (s: { transform: [number, number, number] }) => s.transform[2] < compactZoom;

const StageNode = memo(function StageNode({ data }: NodeProps<StageNodeT>) {
  const compact = useStore(zoomedOut);
  const s = useObject(useContext(StageStore), data.name);
  const note = useObject(useContext(NoteStore), data.name);
  if (!s) return null;
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
        {s.spec.paused && (
          <span className="badge busy" title="Paused: no Promotion starts until the stage is resumed" data-testid={`stage-paused-${name}`}>
            paused
          </span>
        )}
        {s.status?.promotionWindowStatus?.closed && (
          <span className="badge bad" title={s.status.promotionWindowStatus.reason} data-testid={`stage-window-${name}`}>
            frozen
          </span>
        )}
        {(s.status?.autoPromotionHolds?.length ?? 0) > 0 && (
          <span
            className="badge busy"
            title={(s.status?.autoPromotionHolds ?? []).map((h) => h.reason ?? "").join("\n")}
            data-testid={`stage-hold-${name}`}
          >
            held
          </span>
        )}
      </div>
      <div className="node-freight">
        <span className="node-alias" data-testid={`stage-freight-${name}`} title={alias || undefined}>
          {alias || <span className="muted">no freight</span>}
        </span>
        {note?.pr && <PullRequestLink pr={note.pr.pr} waiting={note.pr.waiting} testid={`stage-card-pr-${name}`} short />}
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
        {note?.approval ? (
          // In place of "Promoting …": the card has room for two rows of badges.
          <span className="badge approval" title={note.approval.badge.title} data-testid={`stage-approval-${name}`}>
            {note.approval.badge.label}
          </span>
        ) : (
          promo && (
            <span className={`badge ${promo.cls}`} title={promo.title} data-testid={`stage-promotion-${name}`}>
              {promo.label}
            </span>
          )
        )}
        {cycle && <span className="badge bad">cycle</span>}
      </div>
      <Handle type="source" position={Position.Right} />
    </div>
  );
});

const WarehouseNode = memo(function WarehouseNode({ data }: NodeProps<WarehouseNodeT>) {
  const compact = useStore(zoomedOut);
  const w = useObject(useContext(WarehouseStore), data.name);
  if (!w) return null;
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
  promotions: ByName<Promotion>;
  onSelect: (s: Selection) => void;
}

/**
 * PipelineGraph draws the project's pipeline. Layout depends only on the topology
 * (recomputed when a Stage's sources change), and each node object is reused until
 * its own Stage or Warehouse changes, so a status update re-renders one node.
 */
export function PipelineGraph({ warehouses, stages, promotions, onSelect }: Props) {
  const topo = topologyKey(warehouses, stages);
  // Keyed on the topology on purpose: status changes reuse the layout.
  const { graph, positions } = useMemo(() => {
    const graph = buildGraph(warehouses, stages);
    return { graph, positions: layout(graph) };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- topo summarises warehouses and stages
  }, [topo]);
  const [stageStore] = useState(() => new ObjectStore(stages));
  const [warehouseStore] = useState(() => new ObjectStore(warehouses));
  useLayoutEffect(() => stageStore.set(stages), [stageStore, stages]);
  useLayoutEffect(() => warehouseStore.set(warehouses), [warehouseStore, warehouses]);
  const [noteStore] = useState(() => new ObjectStore<StageNote>({}));
  const lastNotes = useRef<ByName<StageNote>>({});
  useLayoutEffect(() => {
    lastNotes.current = stageNotes(stages, promotions, lastNotes.current);
    noteStore.set(lastNotes.current);
  }, [noteStore, stages, promotions]);

  // Sizes and handles known up front let xyflow place edges and the minimap for
  // nodes it never rendered: otherwise onlyRenderVisibleElements still renders
  // every node once to measure it, which costs seconds at 1,000 stages.
  const nodes: Node[] = useMemo(
    () =>
      graph.nodes.map((n) => ({
        id: n.id,
        type: n.kind,
        position: positions.get(n.id)!,
        width: nodeWidth,
        height: nodeHeight,
        handles: n.kind === "stage" ? stageHandles : warehouseHandles,
        data: { name: n.name },
      })),
    [graph, positions],
  );

  const edges: Edge[] = useMemo(
    () => graph.edges.map((e) => ({ id: e.id, source: e.source, target: e.target, markerEnd: marker })),
    [graph],
  );

  const onNodeClick = useCallback(
    (_: unknown, node: Node) => {
      const [kind, ...rest] = node.id.split(":");
      onSelect({ kind: kind as Selection["kind"], name: rest.join(":") });
    },
    [onSelect],
  );

  const small = graph.nodes.length <= 40;
  return (
    <StageStore.Provider value={stageStore}>
      <NoteStore.Provider value={noteStore}>
        <WarehouseStore.Provider value={warehouseStore}>
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
              onNodeClick={onNodeClick}
            >
              <Background gap={24} />
              <Controls showInteractive={false} />
              {!small && <MiniMap pannable zoomable nodeColor={(n) => (n.type === "warehouse" ? "#6b7bd6" : "#9aa5b1")} />}
            </ReactFlow>
          </div>
        </WarehouseStore.Provider>
      </NoteStore.Provider>
    </StageStore.Provider>
  );
}
