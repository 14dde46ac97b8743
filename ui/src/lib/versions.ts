// Short, human-readable names for the artifact versions in Freight.

import type { Chart, FreightReference, GitCommit, Image } from "../api/types";

function lastSegment(repoURL: string): string {
  const trimmed = repoURL.replace(/\/+$/, "").replace(/\.git$/, "");
  const i = trimmed.lastIndexOf("/");
  return i >= 0 ? trimmed.slice(i + 1) : trimmed;
}

export function imageVersion(i: Image): string {
  const ref = i.tag ? i.tag : i.digest ? i.digest.replace(/^sha256:/, "").slice(0, 12) : "?";
  return `${lastSegment(i.repoURL)}:${ref}`;
}

export function commitVersion(c: GitCommit): string {
  return `${lastSegment(c.repoURL)}@${c.tag || c.id.slice(0, 7)}`;
}

export function chartVersion(c: Chart): string {
  return `${c.name || lastSegment(c.repoURL)}@${c.version}`;
}

/** versions lists every artifact of a Freight (or a reference to one) as short strings. */
export function versions(f: Pick<FreightReference, "images" | "commits" | "charts">): string[] {
  return [
    ...(f.images ?? []).map(imageVersion),
    ...(f.commits ?? []).map(commitVersion),
    ...(f.charts ?? []).map(chartVersion),
  ];
}
