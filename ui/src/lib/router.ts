// A two-route router on the History API; the dashboard needs no more.

import { useEffect, useState } from "react";

const navEvent = "haul:navigate";

export function navigate(path: string): void {
  if (path === window.location.pathname + window.location.search) return;
  window.history.pushState(null, "", path);
  window.dispatchEvent(new Event(navEvent));
}

/** usePath returns the current location path and re-renders on navigation. */
export function usePath(): string {
  const [path, setPath] = useState(window.location.pathname);
  useEffect(() => {
    const update = () => setPath(window.location.pathname);
    window.addEventListener("popstate", update);
    window.addEventListener(navEvent, update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener(navEvent, update);
    };
  }, []);
  return path;
}

export type Route = { page: "projects" } | { page: "project"; name: string } | { page: "notFound" };

export function match(path: string): Route {
  if (path === "/" || path === "") return { page: "projects" };
  const m = /^\/projects\/([^/]+)\/?$/.exec(path);
  if (m) {
    try {
      return { page: "project", name: decodeURIComponent(m[1]) };
    } catch {
      return { page: "notFound" };
    }
  }
  return { page: "notFound" };
}
