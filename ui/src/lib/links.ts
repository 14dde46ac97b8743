// Links built from user-controlled text (annotations, repository URLs, link
// templates) are only rendered when they are plain http(s) URLs: anything else,
// javascript: and data: above all, is shown as text (reliability item 37).

const allowed = new Set(["http:", "https:"]);

/**
 * safeHref returns url normalised when it is an absolute http or https URL, and
 * undefined otherwise. The WHATWG URL parser strips the tabs, newlines and leading
 * control characters that browsers ignore, so "java\tscript:" cannot slip through.
 */
export function safeHref(url: string | undefined | null): string | undefined {
  if (!url) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (!allowed.has(parsed.protocol)) return undefined;
  if (parsed.username || parsed.password) {
    // Never show credentials embedded in a repository URL.
    parsed.username = "";
    parsed.password = "";
  }
  return parsed.href;
}

/** repoWebURL maps a repository URL to a browsable http(s) URL, if it has one. */
export function repoWebURL(repoURL: string): string | undefined {
  let u = repoURL.trim();
  if (u.startsWith("oci://")) return undefined;
  if (u.endsWith(".git")) u = u.slice(0, -4);
  return safeHref(u);
}

/** expandLink fills {{name}} placeholders of a ProjectConfig link template. */
export function expandLink(template: string, vars: Record<string, string>): string | undefined {
  const url = template.replace(/\{\{\s*([a-zA-Z0-9_.]+)\s*\}\}/g, (_, k: string) =>
    encodeURIComponent(vars[k] ?? ""),
  );
  return safeHref(url);
}
