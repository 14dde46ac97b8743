import { describe, expect, it } from "vitest";
import { ObjectStore } from "./objectStore";

describe("ObjectStore", () => {
  it("notifies only the subscribers of objects that changed", () => {
    const a = { v: 1 };
    const b = { v: 2 };
    const store = new ObjectStore<{ v: number }>({ a, b });
    const calls: string[] = [];
    store.subscribe("a", () => calls.push("a"));
    const unsubscribe = store.subscribe("b", () => calls.push("b"));
    store.set({ a, b: { v: 3 } });
    expect(calls).toEqual(["b"]);
    expect(store.get("b")?.v).toBe(3);
    unsubscribe();
    store.set({ a: { v: 4 } });
    expect(calls).toEqual(["b", "a"]);
    expect(store.get("b")).toBeUndefined();
  });
});
