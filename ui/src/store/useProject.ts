// useProject loads a project's objects and keeps them current from its event stream.

import { useEffect, useReducer, useRef, useState } from "react";
import { api, ApiError, projectPath } from "../api/client";
import { streamEvents } from "../api/sse";
import type { Change, Freight, List, Permissions, Project, ProjectConfig, Promotion, Stage, Warehouse } from "../api/types";
import { emptyState, noPermissions, reduce, type ProjectState } from "./store";

export interface ProjectData {
  state: ProjectState;
  error: ApiError | Error | null;
  live: boolean;
}

/**
 * listLimit is how many of the newest Freight and Promotions the dashboard loads; the
 * server adds every older Freight a Stage holds and every unfinished Promotion, so a
 * project with years of history stays quick to open.
 */
export const listLimit = 1000;

async function loadSnapshot(name: string) {
  const p = (...parts: string[]) => projectPath(name, ...parts);
  const [project, warehouses, stages, freight, promotions, permissions, config] = await Promise.all([
    api.get<Project>(p()),
    api.get<List<Warehouse>>(p("warehouses")),
    api.get<List<Stage>>(p("stages")),
    api.get<List<Freight>>(`${p("freight")}?limit=${listLimit}`),
    api.get<List<Promotion>>(`${p("promotions")}?limit=${listLimit}`),
    api.get<Permissions>(p("permissions")).catch(() => noPermissions),
    api.get<ProjectConfig>(p("projectconfig")).catch(() => undefined),
  ]);
  return {
    project,
    warehouses: warehouses.items ?? [],
    stages: stages.items ?? [],
    freight: freight.items ?? [],
    freightTotal: freight.total,
    promotions: promotions.items ?? [],
    permissions,
    config,
  };
}

/**
 * flushDelay batches bursts of changes (a busy project sends many per second) into
 * one render while keeping changes visible well within a second.
 */
const flushDelay = 150;

export function useProject(name: string): ProjectData {
  const [state, dispatch] = useReducer(reduce, emptyState);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [live, setLive] = useState(false);
  const pending = useRef<Change[]>([]);

  useEffect(() => {
    const ctrl = new AbortController();
    let loaded = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let generation = 0;

    const flush = () => {
      timer = undefined;
      if (!loaded || pending.current.length === 0) return;
      const changes = pending.current;
      pending.current = [];
      dispatch({ type: "changes", changes });
    };
    const schedule = () => {
      if (timer === undefined) timer = setTimeout(flush, flushDelay);
    };
    const load = async () => {
      const gen = ++generation;
      try {
        const snapshot = await loadSnapshot(name);
        if (ctrl.signal.aborted || gen !== generation) return;
        dispatch({ type: "snapshot", snapshot });
        setError(null);
        loaded = true;
        // Changes that arrived while loading are applied on top; older ones are
        // ignored by resourceVersion.
        flush();
      } catch (err) {
        if (!ctrl.signal.aborted) setError(err as Error);
      }
    };

    // Subscribe first, then load, so nothing between the two is missed.
    void streamEvents(projectPath(name, "events"), {
      signal: ctrl.signal,
      onOpen: () => setLive(true),
      onError: () => setLive(false),
      onEvent: (ev) => {
        if (ev.event === "reset") {
          pending.current = [];
          void load();
          return;
        }
        if (ev.event !== "changes") return;
        try {
          const body = JSON.parse(ev.data) as { changes?: Change[] };
          if (body.changes?.length) {
            pending.current.push(...body.changes);
            schedule();
          }
        } catch {
          // A malformed event is dropped; the next reset or reload repairs the view.
        }
      },
    });
    void load();
    return () => {
      ctrl.abort();
      if (timer !== undefined) clearTimeout(timer);
      pending.current = [];
    };
  }, [name]);

  return { state, error, live };
}
