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
