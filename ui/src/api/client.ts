// The REST client: bearer-token or cookie auth, JSON errors, and a signal when the
// server says the caller is not logged in.

const tokenKey = "haul.token";

/** An error answered by the API: {"code", "reason", "message"}. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** onUnauthorized registers a callback for any 401 answer; it returns an unsubscribe function. */
export function onUnauthorized(fn: Listener): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

// The token is read from localStorage once: each read is a synchronous call into
// the browser's storage, which adds up over the requests of a page load.
let cachedToken: string | null | undefined;

/** notifyUnauthorized tells the app that the server no longer accepts the caller. */
export function notifyUnauthorized(): void {
  unauthorizedListeners.forEach((fn) => fn());
}

export function getToken(): string | null {
  if (cachedToken === undefined) {
    try {
      cachedToken = localStorage.getItem(tokenKey);
    } catch {
      cachedToken = null;
    }
  }
  return cachedToken;
}

export function setToken(token: string | null): void {
  cachedToken = token;
  if (token) localStorage.setItem(tokenKey, token);
  else localStorage.removeItem(tokenKey);
}

/**
 * takeTokenFromURL moves a `?token=` login parameter into storage and removes it from
 * the address bar, so the token does not stay in history or get copied with the link.
 */
export function takeTokenFromURL(): void {
  const url = new URL(window.location.href);
  const token = url.searchParams.get("token");
  if (!token) return;
  setToken(token);
  url.searchParams.delete("token");
  window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
}

/** authHeaders are sent with every API request. */
export function authHeaders(): Record<string, string> {
  const token = getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** request calls the API and decodes its JSON answer, throwing ApiError on failure. */
export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...authHeaders() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!res.ok) {
    if (res.status === 401) notifyUnauthorized();
    const e = (data ?? {}) as { reason?: string; message?: string };
    throw new ApiError(res.status, e.reason ?? res.statusText, e.message ?? `${method} ${path}: ${res.status} ${res.statusText}`);
  }
  return data as T;
}

const enc = encodeURIComponent;

/** projectPath builds /api/v1/projects/<p>/<parts...> with every part escaped. */
export function projectPath(project: string, ...parts: string[]): string {
  return ["/api/v1/projects", enc(project), ...parts.map(enc)].join("/");
}

export const api = {
  get: <T>(path: string) => request<T>("GET", path),
  post: <T>(path: string, body?: unknown) => request<T>("POST", path, body ?? {}),
  patch: <T>(path: string, body: unknown) => request<T>("PATCH", path, body),
};
