import { memo, useMemo, useState } from "react";
import type { Freight, Permissions, ProjectConfig } from "../api/types";
import { ago } from "../lib/format";
import { expandLink } from "../lib/links";
import { versions } from "../lib/versions";
import type { ByName } from "../store/store";

const pageSize = 100;
const maxMarks = 8;

interface Props {
  project: string;
  freight: ByName<Freight>;
  permissions: Permissions;
  config?: ProjectConfig;
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

/** FreightTimeline lists Freight newest first, a page at a time. */
export function FreightTimeline({ project, freight, permissions, config, onPromote, onApprove, onAlias }: Props) {
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
        <span className="muted">{sorted.length} total, newest first</span>
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
      {sorted.length === 0 && <p className="muted">No Freight yet: the warehouses have not found any artifacts.</p>}
      <ol className="freight-list">
        {visible.map((f) => (
          <FreightRow
            key={f.metadata.name}
            f={f}
            project={project}
            permissions={permissions}
            config={config}
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

const FreightRow = memo(function FreightRow({ f, project, permissions, config, onPromote, onApprove, onAlias }: RowProps) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(f.alias ?? "");
  const [err, setErr] = useState("");
  const label = f.alias || f.metadata.name.slice(0, 7);
  const marks = [
    ...Object.keys(f.status?.currentlyIn ?? {}).map((s) => ({ s, cls: "in", title: `currently in ${s}` })),
    ...Object.keys(f.status?.verifiedIn ?? {}).map((s) => ({ s, cls: "verified", title: `verified in ${s}` })),
    ...Object.keys(f.status?.approvedFor ?? {}).map((s) => ({
      s,
      cls: "approved",
      title: `approved for ${s}${f.status?.approvedFor?.[s]?.approvedBy ? ` by ${f.status.approvedFor[s].approvedBy}` : ""}`,
    })),
  ];
  const links = (config?.spec?.freightLinks ?? [])
    .map((l) => ({ name: l.name, href: expandLink(l.url, { project, freight: f.metadata.name, alias: f.alias ?? "" }) }))
    .filter((l) => l.href);
  const canEdit = permissions.promote || permissions.admin;
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
          <span key={`${m.cls}-${m.s}`} className={`mark ${m.cls}`} title={m.title}>
            {m.s}
          </span>
        ))}
        {marks.length > maxMarks && <span className="mark more">+{marks.length - maxMarks}</span>}
        {links.map((l) => (
          <a key={l.name} href={l.href} target="_blank" rel="noopener noreferrer">
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
