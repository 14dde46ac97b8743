import { useCallback, useMemo, useState } from "react";
import { api, ApiError, projectPath } from "../api/client";
import type { Freight } from "../api/types";
import { ApproveDialog, PromoteDialog } from "../components/Dialogs";
import { StageDrawer, WarehouseDrawer, type Action, type Answer } from "../components/Drawers";
import { FreightTimeline } from "../components/FreightTimeline";
import { PipelineGraph, type Selection } from "../components/PipelineGraph";
import { condition, errorMessage } from "../lib/format";
import { approvalRules, describeTally, promoteBody, respondBody, tallyApprovals, type StageApproval } from "../lib/governance";
import { useProject } from "../store/useProject";

interface Toast {
  id: number;
  text: string;
  error: boolean;
}

let toastSeq = 0;

export function ProjectPage({ name }: { name: string }) {
  const { state, error, live } = useProject(name);
  const [selected, setSelected] = useState<Selection | null>(null);
  const [promoting, setPromoting] = useState<Freight | null>(null);
  const [approving, setApproving] = useState<Freight | null>(null);
  const [toasts, setToasts] = useState<Toast[]>([]);

  const toast = useCallback((text: string, isError: boolean) => {
    const id = ++toastSeq;
    setToasts((t) => [...t.slice(-3), { id, text, error: isError }]);
    setTimeout(() => setToasts((t) => t.filter((x) => x.id !== id)), isError ? 10_000 : 4_000);
  }, []);

  const act: Action = useCallback(
    (label, fn) => {
      fn().then(
        () => toast(`${label}: requested`, false),
        (e) => toast(`${label} failed: ${errorMessage(e)}`, true),
      );
    },
    [toast],
  );

  const p = useCallback((...parts: string[]) => projectPath(name, ...parts), [name]);
  const stageOps = useMemo(() => {
    const s = selected?.kind === "stage" ? selected.name : "";
    return {
      refresh: () => api.post(p("stages", s, "refresh")),
      reverify: () => api.post(p("stages", s, "reverify")),
      abortVerification: () => api.post(p("stages", s, "abort-verification")),
      abortPromotion: (promo: string) => api.post(p("promotions", promo, "abort")),
      respond: (promo: string, action: Answer, message: string) => api.post(p("promotions", promo, "respond"), respondBody(action, message)),
      pause: () => api.post(p("stages", s, "pause")),
      resume: () => api.post(p("stages", s, "resume")),
    };
  }, [selected, p]);

  // Only Stages with an approval requirement are in the map, usually few; it is rebuilt
  // when a Stage changes, but keeps its identity (and the Freight rows their memo)
  // until a requirement does.
  const rulesKey = useMemo(() => JSON.stringify(approvalRules(state.stages, state.config)), [state.stages, state.config]);
  const rules = useMemo(() => JSON.parse(rulesKey) as Record<string, StageApproval>, [rulesKey]);

  const onAlias = useCallback(
    async (f: Freight, alias: string) => {
      await api.patch(p("freight", f.metadata.name, "alias"), { alias });
      toast(`Alias set to ${alias}`, false);
    },
    [p, toast],
  );

  if (error && !state.loaded) {
    const notFound = error instanceof ApiError && (error.status === 404 || error.status === 403);
    return (
      <main className="page">
        <h1>{name}</h1>
        <p className="error" data-testid="project-error">
          {notFound ? `Project ${name} does not exist, or you may not see it.` : errorMessage(error)}
        </p>
      </main>
    );
  }
  if (!state.loaded) {
    return (
      <main className="page">
        <p>Loading {name}…</p>
      </main>
    );
  }

  const ready = condition(state.project?.status?.conditions, "Ready");
  const stage = selected?.kind === "stage" ? state.stages[selected.name] : undefined;
  const warehouse = selected?.kind === "warehouse" ? state.warehouses[selected.name] : undefined;
  return (
    <main className="project" data-testid="project-page">
      <div className="project-head">
        <h1>{name}</h1>
        <span className="muted">
          {Object.keys(state.stages).length} stages · {Object.keys(state.warehouses).length} warehouses ·{" "}
          {Object.keys(state.freight).length} freight
        </span>
        {ready && ready.status !== "True" && <span className="badge bad">{ready.reason}</span>}
        <span className={`live ${live ? "on" : "off"}`} data-testid="live-indicator" title={live ? "Receiving live updates" : "Reconnecting…"}>
          {live ? "live" : "offline"}
        </span>
      </div>
      <PipelineGraph warehouses={state.warehouses} stages={state.stages} promotions={state.promotions} onSelect={setSelected} />
      <FreightTimeline
        project={name}
        freight={state.freight}
        total={state.freightTotal}
        permissions={state.permissions}
        config={state.config}
        rules={rules}
        onPromote={setPromoting}
        onApprove={setApproving}
        onAlias={onAlias}
      />
      {stage && (
        <StageDrawer
          project={name}
          stage={stage}
          promotions={state.promotions}
          permissions={state.permissions}
          config={state.config}
          act={act}
          ops={stageOps}
          onClose={() => setSelected(null)}
        />
      )}
      {warehouse && (
        <WarehouseDrawer
          warehouse={warehouse}
          permissions={state.permissions}
          act={act}
          refresh={() => api.post(p("warehouses", warehouse.metadata.name, "refresh"))}
          onClose={() => setSelected(null)}
        />
      )}
      {promoting && (
        <PromoteDialog
          freight={state.freight[promoting.metadata.name] ?? promoting}
          stages={state.stages}
          rules={rules}
          permissions={state.permissions}
          onClose={() => setPromoting(null)}
          onPromote={async (s, downstream, reason) => {
            await api.post(p("stages", s, downstream ? "promote-downstream" : "promote"), promoteBody(promoting.metadata.name, reason));
            const what = `Promotion of ${promoting.alias || promoting.metadata.name.slice(0, 7)} to ${s}`;
            toast(reason ? `${what} requested, overriding the promotion window` : `${what} requested`, false);
          }}
        />
      )}
      {approving && (
        <ApproveDialog
          freight={state.freight[approving.metadata.name] ?? approving}
          stages={state.stages}
          rules={rules}
          onClose={() => setApproving(null)}
          onApprove={async (s) => {
            const f = await api.post<Freight>(p("freight", approving.metadata.name, "approve"), { stage: s });
            const rule = rules[s]?.rule;
            toast(rule ? `Approved for ${s} (${describeTally(tallyApprovals(f, s, rule))})` : `Approved for ${s}`, false);
          }}
        />
      )}
      <div className="toasts" aria-live="polite">
        {toasts.map((t) => (
          <div key={t.id} className={`toast ${t.error ? "error" : ""}`}>
            {t.text}
          </div>
        ))}
      </div>
    </main>
  );
}
