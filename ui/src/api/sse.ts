// A server-sent events client built on fetch(): EventSource cannot send the
// Authorization header, and this one also resumes with Last-Event-ID.

import { authHeaders, ApiError, notifyUnauthorized } from "./client";

/** One dispatched server-sent event. */
export interface SSEEvent {
  event: string;
  data: string;
  id?: string;
}

/**
 * SSEParser turns a text stream into events following the HTML "event stream"
 * interpretation rules: lines end in CRLF, LF or CR (possibly split across chunks),
 * comments start with ":", data lines are joined with "\n", a blank line dispatches.
 */
export class SSEParser {
  private buf = "";
  private sawCR = false;
  private started = false;
  private eventType = "";
  private data: string[] = [];
  private hasData = false;
  /** lastEventId persists across events, as the spec says. */
  lastEventId = "";
  /** retry is the reconnection delay the server asked for, in ms. */
  retry: number | undefined;

  /** feed parses one chunk and returns the events it completed. */
  feed(chunk: string): SSEEvent[] {
    const out: SSEEvent[] = [];
    let text = chunk;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10 /* \n */) {
        if (this.sawCR && i === start && this.buf === "") {
          // The LF of a CRLF whose CR ended the previous line.
          this.sawCR = false;
          start = i + 1;
          continue;
        }
        this.line(this.buf + text.slice(start, i), out);
        this.buf = "";
        this.sawCR = false;
        start = i + 1;
      } else if (c === 13 /* \r */) {
        this.line(this.buf + text.slice(start, i), out);
        this.buf = "";
        this.sawCR = true;
        start = i + 1;
      } else if (this.sawCR) {
        this.sawCR = false;
      }
    }
    this.buf += text.slice(start);
    return out;
  }

  private line(line: string, out: SSEEvent[]): void {
    if (line === "") {
      if (this.hasData) {
        out.push({ event: this.eventType || "message", data: this.data.join("\n"), id: this.lastEventId || undefined });
      }
      this.eventType = "";
      this.data = [];
      this.hasData = false;
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    let field = line;
    let value = "";
    if (colon >= 0) {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
    }
    switch (field) {
      case "event":
        this.eventType = value;
        break;
      case "data":
        this.data.push(value);
        this.hasData = true;
        break;
      case "id":
        if (!value.includes("\0")) this.lastEventId = value;
        break;
      case "retry":
        if (/^[0-9]+$/.test(value)) this.retry = Number(value);
        break;
    }
  }
}

export interface StreamOptions {
  onEvent: (e: SSEEvent) => void;
  /** onOpen is called on every successful (re)connection. */
  onOpen?: () => void;
  onError?: (err: unknown) => void;
  signal: AbortSignal;
}

const maxDelay = 10_000;

/**
 * streamEvents reads url as an event stream until signal aborts, reconnecting with
 * backoff and sending Last-Event-ID so the server can replay what was missed. A 401
 * or 403 ends the stream (the caller shows the login page).
 */
export async function streamEvents(url: string, opts: StreamOptions): Promise<void> {
  const parser = new SSEParser();
  let failures = 0;
  while (!opts.signal.aborted) {
    try {
      const headers: Record<string, string> = { Accept: "text/event-stream", ...authHeaders() };
      if (parser.lastEventId) headers["Last-Event-ID"] = parser.lastEventId;
      const res = await fetch(url, { headers, credentials: "same-origin", signal: opts.signal, cache: "no-store" });
      if (res.status === 401) notifyUnauthorized();
      if (res.status === 401 || res.status === 403 || res.status === 404) {
        throw new ApiError(res.status, res.statusText, `event stream: ${res.status} ${res.statusText}`);
      }
      if (!res.ok || !res.body) throw new Error(`event stream: ${res.status} ${res.statusText}`);
      failures = 0;
      opts.onOpen?.();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const ev of parser.feed(value)) opts.onEvent(ev);
      }
    } catch (err) {
      if (opts.signal.aborted) return;
      opts.onError?.(err);
      if (err instanceof ApiError) return;
      failures++;
    }
    if (opts.signal.aborted) return;
    const base = parser.retry ?? 1000;
    const delay = Math.min(maxDelay, base * 2 ** Math.min(failures, 4)) * (0.75 + Math.random() * 0.5);
    await new Promise((r) => setTimeout(r, delay));
  }
}
