import { useMemo, useState } from "react";
import type { Freight, Stage } from "../api/types";
import { errorMessage } from "../lib/format";
import { versions } from "../lib/versions";
import { availability, stagesRequesting, type ByName } from "../store/store";

function Modal({ title, onClose, children }: { title: string; onClose: () => void; children: React.ReactNode }) {
  return (
    <div className="modal-backdrop" onClick={onClose} onKeyDown={(e) => e.key === "Escape" && onClose()}>
      <div className="modal" role="dialog" aria-modal="true" aria-label={title} onClick={(e) => e.stopPropagation()}>
        <h2>{title}</h2>
        {children}
      </div>
    </div>
  );
}

function Versions({ f }: { f: Freight }) {
  return (
    <ul className="dialog-versions">
      {versions(f).map((v) => (
        <li key={v}>
          <code>{v}</code>
        </li>
      ))}
    </ul>
  );
}

interface PromoteProps {
  freight: Freight;
  stages: ByName<Stage>;
  onPromote: (stage: string, downstream: boolean) => Promise<void>;
  onClose: () => void;
}

/** PromoteDialog picks a Stage for a Freight, then asks for confirmation naming both. */
export function PromoteDialog({ freight, stages, onPromote, onClose }: PromoteProps) {
  const [stage, setStage] = useState<string | null>(null);
  const [downstream, setDownstream] = useState(false);
  const [filter, setFilter] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const label = freight.alias || freight.metadata.name.slice(0, 7);
  const candidates = useMemo(
    () =>
      stagesRequesting(stages, freight.origin.name)
        .map((s) => ({ s, a: availability(freight, s) }))
        .sort((x, y) => Number(y.a.ok) - Number(x.a.ok) || x.s.metadata.name.localeCompare(y.s.metadata.name)),
    [stages, freight],
  );
  const shown = candidates.filter((c) => c.s.metadata.name.includes(filter.trim())).slice(0, 200);

  if (stage === null) {
    return (
      <Modal title={`Promote ${label}`} onClose={onClose}>
        <p>Choose the stage to promote to.</p>
        {candidates.length > 10 && (
          <input className="filter" placeholder="Filter stages" value={filter} onChange={(e) => setFilter(e.target.value)} />
        )}
        {candidates.length === 0 && <p className="muted">No stage requests Freight from {freight.origin.name}.</p>}
        <ul className="stage-choices">
          {shown.map(({ s, a }) => (
            <li key={s.metadata.name}>
              <button
                data-testid={`promote-to-${s.metadata.name}`}
                disabled={!a.ok}
                onClick={() => {
                  setStage(s.metadata.name);
                  setDownstream(false);
                }}
              >
                {s.metadata.name}
              </button>
              <span className="muted">{a.why}</span>
            </li>
          ))}
        </ul>
        <div className="dialog-buttons">
          <button onClick={onClose}>Cancel</button>
        </div>
      </Modal>
    );
  }
  return (
    <Modal title="Confirm promotion" onClose={onClose}>
      <p data-testid="promote-confirmation">
        Promote <strong>{label}</strong> to stage <strong>{stage}</strong>
        {downstream ? " and the stages downstream of it" : ""}? It holds these versions:
      </p>
      <Versions f={freight} />
      <label className="checkbox">
        <input type="checkbox" checked={downstream} onChange={(e) => setDownstream(e.target.checked)} /> also promote to
        the stages directly downstream of {stage}
      </label>
      {error && <p className="error">{error}</p>}
      <div className="dialog-buttons">
        <button onClick={() => setStage(null)} disabled={busy}>
          Back
        </button>
        <button
          className="primary"
          data-testid="confirm-promote"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            try {
              await onPromote(stage, downstream);
              onClose();
            } catch (e) {
              setError(errorMessage(e));
              setBusy(false);
            }
          }}
        >
          Promote to {stage}
        </button>
      </div>
    </Modal>
  );
}

interface ApproveProps {
  freight: Freight;
  stages: ByName<Stage>;
  onApprove: (stage: string) => Promise<void>;
  onClose: () => void;
}

/** ApproveDialog approves a Freight for a Stage it would not otherwise be available to. */
export function ApproveDialog({ freight, stages, onApprove, onClose }: ApproveProps) {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const label = freight.alias || freight.metadata.name.slice(0, 7);
  const candidates = stagesRequesting(stages, freight.origin.name)
    .filter((s) => !freight.status?.approvedFor?.[s.metadata.name])
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
    .slice(0, 200);
  return (
    <Modal title={`Approve ${label}`} onClose={onClose}>
      <p>Approving makes this Freight available to a stage without upstream verification.</p>
      <Versions f={freight} />
      <ul className="stage-choices">
        {candidates.map((s) => (
          <li key={s.metadata.name}>
            <button
              data-testid={`approve-for-${s.metadata.name}`}
              disabled={busy}
              onClick={async () => {
                setBusy(true);
                try {
                  await onApprove(s.metadata.name);
                  onClose();
                } catch (e) {
                  setError(errorMessage(e));
                  setBusy(false);
                }
              }}
            >
              Approve for {s.metadata.name}
            </button>
          </li>
        ))}
      </ul>
      {error && <p className="error">{error}</p>}
      <div className="dialog-buttons">
        <button onClick={onClose}>Cancel</button>
      </div>
    </Modal>
  );
}
