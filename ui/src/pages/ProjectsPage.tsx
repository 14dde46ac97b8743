import { useEffect, useState } from "react";
import { api } from "../api/client";
import type { List, Project } from "../api/types";
import { condition, errorMessage, phaseClass } from "../lib/format";
import { navigate } from "../lib/router";
import { projectHealthBadge } from "../lib/stage";

export function ProjectsPage() {
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [error, setError] = useState("");

  useEffect(() => {
    api.get<List<Project>>("/api/v1/projects").then(
      (l) => setProjects([...l.items].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))),
      (e) => setError(errorMessage(e)),
    );
  }, []);

  return (
    <main className="page">
      <h1>Projects</h1>
      {error && <p className="error">{error}</p>}
      {projects === null && !error && <p>Loading…</p>}
      {projects?.length === 0 && (
        <p>
          No projects yet. Create one with <code>haul apply -f project.yaml</code>.
        </p>
      )}
      {projects && projects.length > 0 && (
        <table className="projects">
          <thead>
            <tr>
              <th>Project</th>
              <th>Stages</th>
              <th>Warehouses</th>
              <th>Healthy stages</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {projects.map((p) => {
              const stats = p.status?.stats ?? {};
              const ready = condition(p.status?.conditions, "Ready");
              const stages = stats.stages ?? 0;
              const health = projectHealthBadge(stats);
              const href = `/projects/${encodeURIComponent(p.metadata.name)}`;
              return (
                <tr key={p.metadata.name} data-testid={`project-${p.metadata.name}`}>
                  <td>
                    <a
                      href={href}
                      onClick={(e) => {
                        e.preventDefault();
                        navigate(href);
                      }}
                    >
                      {p.metadata.name}
                    </a>
                  </td>
                  <td>{stages}</td>
                  <td>{stats.warehouses ?? 0}</td>
                  <td>
                    <span className={`badge ${health.cls}`} title={health.title} data-testid={`health-${p.metadata.name}`}>
                      {health.label}
                    </span>
                  </td>
                  <td>
                    <span className={`badge ${phaseClass(ready?.status)}`} title={ready?.message}>
                      {ready ? (ready.status === "True" ? "Ready" : ready.reason || "Not ready") : "Unknown"}
                    </span>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </main>
  );
}
