import { useMemo, useState } from "react";
import type { Condition, FreightReference, Permissions, ProjectConfig, Promotion, Stage, Warehouse } from "../api/types";
import { ago, phaseClass } from "../lib/format";
import { respondErrorText, waitingApproval, waitingApprovalBadge, whoMayAnswer, type WaitingApproval } from "../lib/governance";
import { expandLink, repoWebURL, safeHref } from "../lib/links";
import { promotionPullRequest, pullRequestHref, pullRequestLabel, pullRequestShortLabel, stagePullRequest, type PullRequest } from "../lib/pullrequest";
import { healthBadge, promotionBadge, runningByStage, stagePromotion, verificationBadge } from "../lib/stage";
import { versions } from "../lib/versions";
import type { ByName } from "../store/store";

export type Action = (label: string, fn: () => Promise<unknown>) => void;

function Drawer({ title, testid, onClose, children }: { title: string; testid: string; onClose: () => void; children: React.ReactNode }) {
  return (
    <aside className="drawer" data-testid={testid} aria-label={title}>
      <div className="drawer-head">
        <h2>{title}</h2>
        <button className="link" onClick={onClose} aria-label="Close">
          ✕
        </button>
      </div>
      {children}
    </aside>
  );
}

/** conditionClass colours a condition; Promoting=False is the normal, idle state. */
function conditionClass(c: Condition): string {
  if (c.type === "Promoting") return c.status === "True" ? "busy" : "unknown";
  return phaseClass(c.status);
}

function Conditions({ conds }: { conds?: Condition[] }) {
  if (!conds?.length) return null;
  return (
    <table className="conditions">
      <tbody>
        {conds.map((c) => (
          <tr key={c.type}>
            <td>{c.type}</td>
            <td>
              <span className={`badge ${conditionClass(c)}`}>{c.status}</span>
            </td>
            <td>{c.reason}</td>
            <td className="message">{c.message}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** RepoURL shows a repository URL, as a link only when it is a safe http(s) URL. */
export function RepoURL({ url }: { url: string }) {
  const href = repoWebURL(url);
  return href ? (
    <a href={href} target="_blank" rel="noopener noreferrer">
      {url}
    </a>
  ) : (
    <code>{url}</code>
  );
}

/** Annotations lists an object's annotations; values that are safe URLs become links. */
function Annotations({ annotations }: { annotations?: Record<string, string> }) {
  const entries = Object.entries(annotations ?? {}).filter(([k]) => !k.startsWith("kubectl.kubernetes.io/"));
  if (!entries.length) return null;
  return (
    <>
      <h3>Annotations</h3>
      <dl className="annotations">
        {entries.map(([k, v]) => {
          const href = safeHref(v);
          return (
            <div key={k}>
              <dt>{k}</dt>
              <dd>
                {href ? (
                  <a href={href} target="_blank" rel="noopener noreferrer">
                    {v}
                  </a>
                ) : (
                  v
                )}
              </dd>
            </div>
          );
        })}
      </dl>
    </>
  );
}

function FreightRefs({ items }: { items?: Record<string, FreightReference> }) {
  const list = Object.values(items ?? {});
  if (!list.length) return <span className="muted">none</span>;
  return (
    <>
      {list.map((f) => (
        <span key={f.name} className="freight-ref">
          <strong>{f.alias || f.name.slice(0, 7)}</strong> {versions(f).join(", ")}
        </span>
      ))}
    </>
  );
}

/** Answer is an answer to a waiting wait-for-approval step. */
export type Answer = "approve" | "reject";

type PromotionWithOps = Promotion & {
  abort: () => Promise<unknown>;
  respond: (action: Answer, message: string) => Promise<unknown>;
};

/** PullRequestLink opens the pull request on its forge, in a new tab; short is the Stage card's label. */
export function PullRequestLink({ pr, waiting, testid, short }: { pr: PullRequest; waiting: boolean; testid: string; short?: boolean }) {
  const label = short ? pullRequestShortLabel(pr, waiting) : pullRequestLabel(pr, waiting);
  const href = pullRequestHref(pr);
  if (!href) {
    return (
      <span className="pull-request" data-testid={testid} title={pullRequestLabel(pr, waiting)}>
        {label}
      </span>
    );
  }
  return (
    <a
      className="pull-request"
      data-testid={testid}
      title={`${pullRequestLabel(pr, waiting)}: ${href}`}
      href={href}
      target="_blank"
      rel="noopener noreferrer"
      // In a graph node, opening the pull request should not also open the drawer.
      onClick={(e) => e.stopPropagation()}
    >
      {label}
    </a>
  );
}

/**
 * ApprovalAnswer shows who a waiting wait-for-approval step waits for and lets the user
 * approve or reject it, with an optional message. The server decides whether the user
 * may answer; its refusal is shown in words.
 */
function ApprovalAnswer({ w, respond, act }: { w: WaitingApproval; respond: PromotionWithOps["respond"]; act: Action }) {
  const [message, setMessage] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const answer = (action: Answer) => {
    setBusy(true);
    setError("");
    const label = `${action === "approve" ? "Approve" : "Reject"} promotion ${w.promotion}`;
    act(label, () =>
      respond(action, message).then(
        () => {
          setMessage("");
          setBusy(false);
        },
        (e: unknown) => {
          const text = respondErrorText(e, w);
          setError(text);
          setBusy(false);
          throw new Error(text);
        },
      ),
    );
  };
  const approved = w.answers.filter((a) => a.action === "approve");
  return (
    <div className="approval-answer" data-testid={`approval-${w.promotion}`}>
      <p>
        Waits at step <strong>{w.step}</strong> for {w.min === 1 ? "1 approval" : `${w.min} approvals`} from{" "}
        <span data-testid={`approvers-${w.promotion}`}>{whoMayAnswer(w)}</span>
        {w.needs ? ` (needs ${w.needs})` : ""}.
      </p>
      {approved.length > 0 && <p className="muted">Approved so far by {approved.map((a) => a.user).join(", ")}.</p>}
      {w.unanswerable ? (
        <p className="notice refused">Answers are refused: {w.unanswerable}.</p>
      ) : (
        <>
          <textarea
            data-testid="respond-message"
            value={message}
            maxLength={1024}
            rows={2}
            placeholder="Message (optional; the reason of a rejection)"
            onChange={(e) => setMessage(e.target.value)}
          />
          <div className="drawer-actions">
            <button className="primary" data-testid="respond-approve" disabled={busy} onClick={() => answer("approve")}>
              Approve
            </button>
            <button data-testid="respond-reject" disabled={busy} onClick={() => answer("reject")}>
              Reject
            </button>
          </div>
        </>
      )}
      {error && (
        <p className="error" data-testid="respond-error">
          {error}
        </p>
      )}
    </div>
  );
}

/** isRollback says whether p is an automatic rollback made by the Stage controller. */
function isRollback(p: { metadata: { annotations?: Record<string, string> } }): boolean {
  const a = p.metadata.annotations ?? {};
  return a["haul.dev/rollback"] === "true" && a["haul.dev/create-actor"] === "auto-rollback";
}

function PromotionItem({ p, canAbort, act }: { p: PromotionWithOps; canAbort: boolean; act: Action }) {
  const [open, setOpen] = useState(false);
  const phase = p.status?.phase ?? "Pending";
  const terminal = ["Succeeded", "Failed", "Errored", "Aborted"].includes(phase);
  const state = p.status?.state ?? {};
  const pr = promotionPullRequest(p);
  const waiting = waitingApproval(p);
  return (
    <li className="promotion" data-testid={`promotion-${p.metadata.name}`}>
      <button className="link" onClick={() => setOpen(!open)}>
        {open ? "▾" : "▸"} <span className={`badge ${phaseClass(phase)}`}>{phase}</span>{" "}
        {p.status?.freight?.alias || p.spec.freight.slice(0, 7)}{" "}
        <span className="muted">{ago(p.metadata.creationTimestamp)} ago</span>
        {isRollback(p) && (
          <>
            {" "}
            <span className="badge busy" title="Created by Haul to roll the stage back to its stable Freight after a failure">
              rollback
            </span>
          </>
        )}
        {waiting && (
          <>
            {" "}
            <span className="badge approval" data-testid={`promotion-approval-${p.metadata.name}`} title={waitingApprovalBadge(waiting).title}>
              waiting for approval
            </span>
          </>
        )}
      </button>
      {!terminal && canAbort && (
        <button className="small" onClick={() => act("Abort promotion", () => p.abort())}>
          Abort
        </button>
      )}
      {pr && <PullRequestLink pr={pr.pr} waiting={pr.waiting} testid={`pr-${p.metadata.name}`} />}
      {p.status?.message && <div className="message">{p.status.message}</div>}
      {waiting && <ApprovalAnswer w={waiting} respond={p.respond} act={act} />}
      {open && (
        <table className="steps">
          <tbody>
            {(p.status?.stepExecutionMetadata ?? []).map((s) => (
              <tr key={s.alias}>
                <td>{s.alias}</td>
                <td>
                  <span className={`badge ${phaseClass(s.status)}`}>{s.status ?? "Pending"}</span>
                </td>
                <td className="message">
                  {s.message}
                  {s.errorCount ? ` (${s.errorCount} errors)` : ""}
                  {state[s.alias] !== undefined && <pre className="outputs">{JSON.stringify(state[s.alias], null, 2)}</pre>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </li>
  );
}

interface StageDrawerProps {
  project: string;
  stage: Stage;
  promotions: ByName<Promotion>;
  permissions: Permissions;
  config?: ProjectConfig;
  act: Action;
  ops: {
    refresh: () => Promise<unknown>;
    reverify: () => Promise<unknown>;
    abortVerification: () => Promise<unknown>;
    abortPromotion: (name: string) => Promise<unknown>;
    /** respond answers the Promotion's waiting wait-for-approval step. */
    respond: (name: string, action: Answer, message: string) => Promise<unknown>;
    pause: () => Promise<unknown>;
    resume: () => Promise<unknown>;
  };
  onClose: () => void;
}

export function StageDrawer({ project, stage, promotions, permissions, config, act, ops, onClose }: StageDrawerProps) {
  const name = stage.metadata.name;
  const health = healthBadge(stage);
  const verification = verificationBadge(stage);
  const promo = promotionBadge(stage);
  const history = stage.status?.freightHistory ?? [];
  const mine = useMemo(
    () =>
      Object.values(promotions)
        .filter((p) => p.spec.stage === name)
        .sort((a, b) => (a.metadata.name < b.metadata.name ? 1 : -1))
        .slice(0, 20)
        .map(
          (p): PromotionWithOps => ({
            ...p,
            abort: () => ops.abortPromotion(p.metadata.name),
            respond: (action, message) => ops.respond(p.metadata.name, action, message),
          }),
        ),
    [promotions, name, ops],
  );
  const current = useMemo(() => stagePromotion(stage, promotions, runningByStage(promotions)), [stage, promotions]);
  const pr = stagePullRequest(stage, current);
  const waiting = waitingApproval(current);
  const verifications = history[0]?.verificationHistory ?? [];
  const links = (config?.spec?.stageLinks ?? [])
    .map((l) => ({ name: l.name, title: l.description, href: expandLink(l.url, { project, stage: name }) }))
    .filter((l) => l.href);
  return (
    <Drawer title={`Stage ${name}`} testid={`stage-drawer-${name}`} onClose={onClose}>
      <div className="node-badges">
        <span className={`badge ${health.cls}`}>{health.label}</span>
        {verification && <span className={`badge ${verification.cls}`}>{verification.label}</span>}
        {promo && <span className={`badge ${promo.cls}`}>{promo.label}</span>}
        {stage.status?.autoPromotionEnabled && <span className="badge auto">auto-promotion</span>}
        {stage.spec.paused && (
          <span className="badge busy" data-testid={`stage-drawer-paused-${name}`} title="No Promotion starts until the stage is resumed; a running one finishes">
            paused
          </span>
        )}
        {stage.status?.promotionWindowStatus?.closed && (
          <span className="badge bad" data-testid={`stage-drawer-window-${name}`}>
            {stage.status.promotionWindowStatus.reason ?? "promotion window closed"}
          </span>
        )}
        {waiting && (
          <span className="badge approval" data-testid={`stage-drawer-approval-${name}`} title={waitingApprovalBadge(waiting).title}>
            waiting for approval: {whoMayAnswer(waiting)}
          </span>
        )}
        {pr && <PullRequestLink pr={pr.pr} waiting={pr.waiting} testid={`stage-pr-${name}`} />}
      </div>
      <div className="drawer-actions">
        {permissions.refresh && <button onClick={() => act("Refresh", ops.refresh)}>Refresh</button>}
        {permissions.pause &&
          (stage.spec.paused ? (
            <button data-testid="stage-resume" onClick={() => act(`Resume ${name}`, ops.resume)}>
              Resume
            </button>
          ) : (
            <button data-testid="stage-pause" title="Start no Promotion on this stage until it is resumed" onClick={() => act(`Pause ${name}`, ops.pause)}>
              Pause
            </button>
          ))}
        {permissions.promote && (
          <>
            <button onClick={() => act("Reverify", ops.reverify)}>Reverify</button>
            {verification?.cls === "busy" && <button onClick={() => act("Abort verification", ops.abortVerification)}>Abort verification</button>}
          </>
        )}
        {links.map((l) => (
          <a key={l.name} href={l.href} title={l.title} target="_blank" rel="noopener noreferrer">
            {l.name}
          </a>
        ))}
      </div>
      {(stage.status?.health?.issues ?? []).length > 0 && (
        <>
          <h3>Health issues</h3>
          <ul className="issues">
            {stage.status!.health!.issues!.map((i) => (
              <li key={i}>{i}</li>
            ))}
          </ul>
        </>
      )}
      <h3>Freight history</h3>
      {history.length === 0 && <p className="muted">This stage has not been promoted yet.</p>}
      <ol className="history">
        {history.map((h, i) => (
          <li key={h.id + i}>
            <FreightRefs items={h.items} /> <span className="muted">{h.promotedAt ? `${ago(h.promotedAt)} ago` : ""}</span>
            {i === 0 && <span className="badge ok">current</span>}
          </li>
        ))}
      </ol>
      <h3>Verification</h3>
      {verifications.length === 0 && <p className="muted">No verification runs for the current Freight.</p>}
      <ul className="verifications">
        {verifications.map((v) => (
          <li key={v.id}>
            <span className={`badge ${phaseClass(v.phase)}`}>{v.phase}</span> {v.message}{" "}
            <span className="muted">{v.startedAt ? `${ago(v.startedAt)} ago` : ""}</span>
            {(v.steps ?? []).map((s) => (
              <div key={s.alias} className="message">
                {s.alias}: {s.status} {s.message}
              </div>
            ))}
          </li>
        ))}
      </ul>
      <h3>Promotions</h3>
      {mine.length === 0 && <p className="muted">No promotions.</p>}
      <ul className="promotions">
        {mine.map((p) => (
          <PromotionItem key={p.metadata.name} p={p} canAbort={permissions.promote} act={act} />
        ))}
      </ul>
      <h3>Conditions</h3>
      <Conditions conds={stage.status?.conditions} />
      <Annotations annotations={stage.metadata.annotations} />
    </Drawer>
  );
}

interface WarehouseDrawerProps {
  warehouse: Warehouse;
  permissions: Permissions;
  act: Action;
  refresh: () => Promise<unknown>;
  onClose: () => void;
}

export function WarehouseDrawer({ warehouse, permissions, act, refresh, onClose }: WarehouseDrawerProps) {
  const w = warehouse;
  const d = w.status?.discoveredArtifacts;
  return (
    <Drawer title={`Warehouse ${w.metadata.name}`} testid={`warehouse-drawer-${w.metadata.name}`} onClose={onClose}>
      <div className="drawer-actions">
        {permissions.refresh && (
          <button data-testid="warehouse-refresh" onClick={() => act("Refresh warehouse", refresh)}>
            Refresh
          </button>
        )}
        <span className="muted">
          {d?.discoveredAt ? `discovered ${ago(d.discoveredAt)} ago` : "nothing discovered yet"}
          {w.spec.interval ? ` · every ${w.spec.interval}` : ""}
        </span>
      </div>
      <h3>Subscriptions</h3>
      <ul>
        {(w.spec.subscriptions ?? []).map((s, i) => {
          const url = s.image?.repoURL ?? s.git?.repoURL ?? s.chart?.repoURL ?? "";
          const kind = s.image ? "image" : s.git ? "git" : "chart";
          return (
            <li key={i}>
              <span className="badge unknown">{kind}</span> <RepoURL url={url} />
              {s.chart?.name ? ` (${s.chart.name})` : ""}
            </li>
          );
        })}
      </ul>
      <h3>Discovered artifacts</h3>
      {(d?.images ?? []).map((img) => (
        <div key={img.repoURL} className="artifacts">
          <RepoURL url={img.repoURL} />
          <ul>
            {(img.references ?? []).map((r) => (
              <li key={r.tag + r.digest}>
                <code>{r.tag}</code> <span className="muted">{r.digest.slice(0, 19)}</span>
              </li>
            ))}
          </ul>
        </div>
      ))}
      {(d?.git ?? []).map((g) => (
        <div key={g.repoURL} className="artifacts">
          <RepoURL url={g.repoURL} />
          <ul>
            {(g.commits ?? []).map((c) => (
              <li key={c.id + (c.tag ?? "")}>
                <code>{c.tag || c.id.slice(0, 7)}</code> {c.subject} <span className="muted">{c.author}</span>
              </li>
            ))}
          </ul>
        </div>
      ))}
      {(d?.charts ?? []).map((c) => (
        <div key={c.repoURL + (c.name ?? "")} className="artifacts">
          <RepoURL url={c.repoURL} /> {c.name}
          <ul>
            {(c.versions ?? []).map((v) => (
              <li key={v}>
                <code>{v}</code>
              </li>
            ))}
          </ul>
        </div>
      ))}
      <h3>Conditions</h3>
      <Conditions conds={w.status?.conditions} />
      <Annotations annotations={w.metadata.annotations} />
    </Drawer>
  );
}
