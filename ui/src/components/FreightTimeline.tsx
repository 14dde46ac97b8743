import { memo, useMemo, useState } from "react";
import type { Freight, Permissions, ProjectConfig } from "../api/types";
import { ago } from "../lib/format";
import { approvalMarks, type StageApproval } from "../lib/governance";
import { expandLink } from "../lib/links";
import { versions } from "../lib/versions";
import type { ByName } from "../store/store";

const pageSize = 100;
const maxMarks = 8;

interface Props {
  project: string;
  freight: ByName<Freight>;
  /** How many Freight the project has, when only the newest were loaded. */
  total?: number;
  permissions: Permissions;
  config?: ProjectConfig;
  /** The Stages' approval requirements (approvalRules), for the approval counts. */
  rules: Record<string, StageApproval>;
  onPromote: (f: Freight) => void;
  onApprove: (f: Freight) => void;
  onAlias: (f: Freight, alias: string) => Promise<void>;
}

export const notAllowedMessage = "You are not allowed to promote in this project";

function newestFirst(a: Freight, b: Freight): number {
  const ta = a.metadata.creationTimestamp ?? "";
  const tb = b.metadata.creationTimestamp ?? "";
  if (ta !== tb) return ta < tb ? 1 : -1;
  return a.metadata.name < b.metadata.name ? -1 : 1;
}

export interface StageMark {
  stage: string;
  cls: "in" | "verified" | "approved";
  label: string;
  title: string;
}

/**
 * stageMarks gives one mark per Stage the Freight is in, verified in or approved
 * for: blue when it is there now, green when only verified, purple when only
 * approved; ✓ and ★ add verified and approved to the label. Current stages first.
 */
export function stageMarks(f: Freight): StageMark[] {
  const st = f.status ?? {};
  const names = new Set([...Object.keys(st.currentlyIn ?? {}), ...Object.keys(st.verifiedIn ?? {}), ...Object.keys(st.approvedFor ?? {})]);
  const out: StageMark[] = [];
  for (const stage of names) {
    const isIn = !!st.currentlyIn?.[stage];
    const verified = !!st.verifiedIn?.[stage];
    const approved = st.approvedFor?.[stage];
    const cls = isIn ? "in" : verified ? "verified" : "approved";
    const title = [
      isIn ? `currently in ${stage}` : "",
      verified ? `verified in ${stage}` : "",
      approved ? `approved for ${stage}${approved.approvedBy ? ` by ${approved.approvedBy}` : ""}` : "",
    ]
      .filter(Boolean)
      .join(", ");
    out.push({ stage, cls, label: `${stage}${verified ? " ✓" : ""}${approved ? " ★" : ""}`, title });
  }
  const rank = { in: 0, verified: 1, approved: 2 };
  return out.sort((a, b) => rank[a.cls] - rank[b.cls] || a.stage.localeCompare(b.stage));
}

/** FreightTimeline lists Freight newest first, a page at a time. */
export function FreightTimeline({ project, freight, total, permissions, config, rules, onPromote, onApprove, onAlias }: Props) {
  const [shown, setShown] = useState(pageSize);
  const [filter, setFilter] = useState("");
  const sorted = useMemo(() => Object.values(freight).sort(newestFirst), [freight]);
  const filtered = useMemo(() => {
    const q = filter.trim().toLowerCase();
    if (!q) return sorted;
    return sorted.filter(
      (f) =>
        (f.alias ?? "").includes(q) ||
        f.metadata.name.startsWith(q) ||
        versions(f).some((v) => v.toLowerCase().includes(q)),
    );
  }, [sorted, filter]);
  const visible = filtered.slice(0, shown);
  return (
    <section className="timeline" data-testid="freight-timeline">
      <div className="timeline-head">
        <h2>Freight</h2>
        <span className="muted">{Math.max(total ?? 0, sorted.length)} total, newest first</span>
        <span className="legend">
          <span className="mark in">in stage</span>
          <span className="mark verified">verified ✓</span>
          <span className="mark approved">approved ★</span>
        </span>
        <input
          className="filter"
          placeholder="Filter by alias, id or version"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
          data-testid="freight-filter"
        />
      </div>
      {!permissions.promote && (
        <p className="notice" data-testid="promote-not-allowed">
          {notAllowedMessage}
        </p>
      )}
      {total !== undefined && total > sorted.length && (
        <p className="muted" data-testid="freight-not-loaded">
          The newest {sorted.length} are loaded (with every Freight a Stage holds); `haul get freight` lists all {total}.
        </p>
      )}
      {sorted.length === 0 && <p className="muted">No Freight yet: the warehouses have not found any artifacts.</p>}
      <ol className="freight-list">
        {visible.map((f) => (
          <FreightRow
            key={f.metadata.name}
            f={f}
            project={project}
            permissions={permissions}
            config={config}
            rules={rules}
            onPromote={onPromote}
            onApprove={onApprove}
            onAlias={onAlias}
          />
        ))}
      </ol>
      {filtered.length > shown && (
        <button className="more" onClick={() => setShown((n) => n + pageSize)}>
          Show {Math.min(pageSize, filtered.length - shown)} more of {filtered.length - shown}
        </button>
      )}
    </section>
  );
}

interface RowProps extends Omit<Props, "freight"> {
  f: Freight;
}

const FreightRow = memo(function FreightRow({ f, project, permissions, config, rules, onPromote, onApprove, onAlias }: RowProps) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(f.alias ?? "");
  const [err, setErr] = useState("");
  const label = f.alias || f.metadata.name.slice(0, 7);
  const marks = stageMarks(f);
  const counts = approvalMarks(f, rules);
  const links = (config?.spec?.freightLinks ?? [])
    .map((l) => ({ name: l.name, title: l.description, href: expandLink(l.url, { project, freight: f.metadata.name, alias: f.alias ?? "" }) }))
    .filter((l) => l.href);
  // Renaming Freight is an admin action: the promoter role holds custom verbs only.
  const canEdit = permissions.admin;
  return (
    <li className="freight-row" data-testid={`freight-${label}`} data-freight={f.metadata.name}>
      <div className="freight-id">
        {editing ? (
          <form
            onSubmit={async (e) => {
              e.preventDefault();
              try {
                await onAlias(f, draft.trim());
                setEditing(false);
                setErr("");
              } catch (e2) {
                setErr(e2 instanceof Error ? e2.message : String(e2));
              }
            }}
          >
            <input
              autoFocus
              aria-label="Alias"
              data-testid="alias-input"
              value={draft}
              maxLength={63}
              onChange={(e) => setDraft(e.target.value)}
              onKeyDown={(e) => e.key === "Escape" && setEditing(false)}
            />
            <button type="submit">Save</button>
            {err && <span className="error">{err}</span>}
          </form>
        ) : (
          <>
            <strong className="alias">{label}</strong>
            {canEdit && (
              <button
                className="link"
                title="Edit alias"
                data-testid="alias-edit"
                onClick={() => {
                  setDraft(f.alias ?? "");
                  setEditing(true);
                }}
              >
                edit
              </button>
            )}
          </>
        )}
        <code className="muted" title={f.metadata.name}>
          {f.metadata.name.slice(0, 7)}
        </code>
        <span className="muted" title={f.metadata.creationTimestamp}>
          {ago(f.metadata.creationTimestamp)} · {f.origin.name}
        </span>
      </div>
      <div className="freight-versions">
        {versions(f).map((v) => (
          <span className="version" key={v}>
            {v}
          </span>
        ))}
      </div>
      <div className="freight-marks">
        {marks.slice(0, maxMarks).map((m) => (
          <span key={m.stage} className={`mark ${m.cls}`} title={m.title} data-testid={`mark-${m.stage}`}>
            {m.label}
          </span>
        ))}
        {marks.length > maxMarks && <span className="mark more">+{marks.length - maxMarks}</span>}
        {counts.map((c) => (
          <span key={c.stage} className={`mark approvals${c.met ? " met" : ""}`} title={c.title} data-testid={`approvals-${c.stage}`}>
            {c.stage} {c.label}
          </span>
        ))}
        {links.map((l) => (
          <a key={l.name} href={l.href} title={l.title} target="_blank" rel="noopener noreferrer">
            {l.name}
          </a>
        ))}
      </div>
      <div className="freight-actions">
        {permissions.promote && (
          <button className="primary" data-testid="promote-button" onClick={() => onPromote(f)}>
            Promote
          </button>
        )}
        {permissions.approve && (
          <button data-testid="approve-button" onClick={() => onApprove(f)}>
            Approve
          </button>
        )}
      </div>
    </li>
  );
});
