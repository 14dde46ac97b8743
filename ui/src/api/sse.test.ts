import { describe, expect, it } from "vitest";
import { SSEParser } from "./sse";

function parseAll(chunks: string[]) {
  const p = new SSEParser();
  const events = chunks.flatMap((c) => p.feed(c));
  return { p, events };
}

describe("SSEParser", () => {
  it("dispatches a named event on a blank line", () => {
    const { events } = parseAll(['event: changes\ndata: {"changes":[]}\n\n']);
    expect(events).toEqual([{ event: "changes", data: '{"changes":[]}', id: undefined }]);
  });

  it("joins multi-line data with newlines and defaults the type to message", () => {
    const { events } = parseAll(["data: a\ndata: b\n\n"]);
    expect(events).toEqual([{ event: "message", data: "a\nb", id: undefined }]);
  });

  it("handles events split at any byte across chunks", () => {
    const text = 'id: 7\r\nevent: changes\r\ndata: {"x":1}\r\n\r\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const { events } = parseAll([text.slice(0, cut), text.slice(cut)]);
      expect(events, `cut at ${cut}`).toEqual([{ event: "changes", data: '{"x":1}', id: "7" }]);
    }
  });

  it("accepts CR-only line endings", () => {
    const { events } = parseAll(["event: reset\rdata: x\r\r"]);
    expect(events).toEqual([{ event: "reset", data: "x", id: undefined }]);
  });

  it("ignores comments and events without data, and keeps the last id", () => {
    const { p, events } = parseAll([": keep-alive\n\nid: 41\nevent: changes\n\nid: 42\ndata: y\n\n"]);
    expect(events).toEqual([{ event: "message", data: "y", id: "42" }]);
    expect(p.lastEventId).toBe("42");
  });

  it("reads retry, strips one leading space only, and skips a leading BOM", () => {
    const { p, events } = parseAll(["\ufeffretry: 2500\ndata:  two spaces\n\n"]);
    expect(p.retry).toBe(2500);
    expect(events[0].data).toBe(" two spaces");
  });

  it("keeps an unfinished event buffered until it ends", () => {
    const p = new SSEParser();
    expect(p.feed("data: partial")).toEqual([]);
    expect(p.feed("\n")).toEqual([]);
    expect(p.feed("\n")).toEqual([{ event: "message", data: "partial", id: undefined }]);
  });
});

describe("streamEvents", () => {
  function body(text: string): Response {
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(text));
        c.close();
      },
    });
    return new Response(stream, { status: 200, headers: { "Content-Type": "text/event-stream" } });
  }

  it("sends the token, and resumes with Last-Event-ID after the stream ends", async () => {
    const { streamEvents } = await import("./sse");
    const seen: { headers: Record<string, string> }[] = [];
    const ctrl = new AbortController();
    const events: string[] = [];
    globalThis.localStorage = { getItem: () => "tok", setItem() {}, removeItem() {} } as unknown as Storage;
    globalThis.fetch = ((_url: string, init: RequestInit) => {
      seen.push({ headers: init.headers as Record<string, string> });
      if (seen.length === 1) return Promise.resolve(body('retry: 1\nid: 5\nevent: changes\ndata: {"changes":[]}\n\n'));
      ctrl.abort();
      return Promise.reject(new DOMException("aborted", "AbortError"));
    }) as typeof fetch;
    await streamEvents("/api/v1/projects/p/events", { signal: ctrl.signal, onEvent: (e) => events.push(`${e.event}#${e.id}`) });
    expect(events).toEqual(["changes#5"]);
    expect(seen[0].headers.Authorization).toBe("Bearer tok");
    expect(seen[0].headers["Last-Event-ID"]).toBeUndefined();
    expect(seen[1].headers["Last-Event-ID"]).toBe("5");
  });

  it("stops on 401 so that the login page can take over", async () => {
    const { streamEvents } = await import("./sse");
    let calls = 0;
    const errors: unknown[] = [];
    globalThis.fetch = (() => {
      calls++;
      return Promise.resolve(new Response("{}", { status: 401 }));
    });
    await streamEvents("/x", { signal: new AbortController().signal, onEvent: () => {}, onError: (e) => errors.push(e) });
    expect(calls).toBe(1);
    expect(errors).toHaveLength(1);
  });
});
