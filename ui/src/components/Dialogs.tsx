import { useMemo, useState } from "react";
import { ApiError } from "../api/client";
import type { Freight, Permissions, Stage } from "../api/types";
import { errorMessage } from "../lib/format";
import { describeTally, isWindowClosedError, tallyApprovals, windowNotice, type StageApproval } from "../lib/governance";
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
  /** The Stages' approval requirements (approvalRules). */
  rules: Record<string, StageApproval>;
  permissions: Permissions;
  /** overrideReason is set only when the user overrides a closed promotion window. */
  onPromote: (stage: string, downstream: boolean, overrideReason?: string) => Promise<void>;
  onClose: () => void;
}

/**
 * PromoteDialog picks a Stage for a Freight, then asks for confirmation naming both.
 * Into a Stage whose promotion window is closed it asks a user with the override right
 * for a reason, which the server records on the Promotion, and tells anybody else why
 * the promotion is refused.
 */
export function PromoteDialog({ freight, stages, rules, permissions, onPromote, onClose }: PromoteProps) {
  const [stage, setStage] = useState<string | null>(null);
  const [downstream, setDownstream] = useState(false);
  const [filter, setFilter] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [reason, setReason] = useState("");
  // The server's refusal, when the Stage's status did not yet say the window is closed.
  const [serverClosed, setServerClosed] = useState("");
  const label = freight.alias || freight.metadata.name.slice(0, 7);
  const candidates = useMemo(
    () =>
      stagesRequesting(stages, freight.origin.name)
        .map((s) => ({ s, a: availability(freight, s, rules[s.metadata.name]?.rule) }))
        .sort((x, y) => Number(y.a.ok) - Number(x.a.ok) || x.s.metadata.name.localeCompare(y.s.metadata.name)),
    [stages, freight, rules],
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
                  setReason("");
                  setServerClosed("");
                  setError("");
                }}
              >
                {s.metadata.name}
              </button>
              <span className="muted">{a.why}</span>
              {s.status?.promotionWindowStatus?.closed && (
                <span className="badge bad" title={s.status.promotionWindowStatus.reason}>
                  window closed
                </span>
              )}
              {s.spec.paused && <span className="badge busy">paused</span>}
            </li>
          ))}
        </ul>
        <div className="dialog-buttons">
          <button onClick={onClose}>Cancel</button>
        </div>
      </Modal>
    );
  }
  const target = stages[stage];
  const win = windowNotice(target, permissions, serverClosed);
  const refused = win.closed && !win.canOverride;
  const needReason = win.canOverride && !reason.trim();
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
      {target?.spec.paused && (
        <p className="notice" data-testid="promote-paused">
          Stage {stage} is paused: the Promotion waits until it is resumed.
        </p>
      )}
      {win.closed && (
        <p className={refused ? "notice refused" : "notice"} data-testid={refused ? "window-refused" : "window-override"}>
          {win.text}
        </p>
      )}
      {win.canOverride && (
        <label className="reason">
          Reason for overriding the promotion window
          <textarea
            data-testid="override-reason"
            value={reason}
            maxLength={1024}
            rows={2}
            placeholder="e.g. hotfix INC-42"
            onChange={(e) => setReason(e.target.value)}
          />
        </label>
      )}
      {error && <p className="error">{error}</p>}
      <div className="dialog-buttons">
        <button onClick={() => setStage(null)} disabled={busy}>
          Back
        </button>
        <button
          className="primary"
          data-testid="confirm-promote"
          disabled={busy || refused || needReason}
          onClick={async () => {
            setBusy(true);
            try {
              await onPromote(stage, downstream, win.canOverride ? reason : undefined);
              onClose();
            } catch (e) {
              if (e instanceof ApiError && isWindowClosedError(e.status, e.message)) {
                // The schedule closed after the Stage's status was written: ask again.
                setServerClosed(e.message);
                setError("");
              } else {
                setError(errorMessage(e));
              }
              setBusy(false);
            }
          }}
        >
          {win.canOverride ? `Override window and promote to ${stage}` : `Promote to ${stage}`}
        </button>
      </div>
    </Modal>
  );
}

interface ApproveProps {
  freight: Freight;
  stages: ByName<Stage>;
  rules: Record<string, StageApproval>;
  onApprove: (stage: string) => Promise<void>;
  onClose: () => void;
}

/**
 * ApproveDialog approves a Freight for a Stage it would not otherwise be available to,
 * showing, for a Stage that requires approvals, how many it has and from whom.
 */
export function ApproveDialog({ freight, stages, rules, onApprove, onClose }: ApproveProps) {
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
            <ApprovalCount freight={freight} stage={s.metadata.name} rule={rules[s.metadata.name]} />
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

/** ApprovalCount says how many of the approvals a Stage requires a Freight has, and whose. */
function ApprovalCount({ freight, stage, rule }: { freight: Freight; stage: string; rule?: StageApproval }) {
  if (!rule) return null;
  const t = tallyApprovals(freight, stage, rule.rule);
  return (
    <span className="muted" data-testid={`approval-count-${stage}`}>
      {describeTally(t)}
      {t.counted.length > 0 && `: ${t.counted.map((a) => a.identity).join(", ")}`}
    </span>
  );
}
