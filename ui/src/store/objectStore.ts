// ObjectStore lets many components each subscribe to one object by name, so that a
// change to one Stage re-renders only that Stage's graph node.

import type { ByName } from "./store";

export class ObjectStore<T> {
  private objs: ByName<T>;
  private subs = new Map<string, Set<() => void>>();

  constructor(initial: ByName<T>) {
    this.objs = initial;
  }

  get = (name: string): T | undefined => this.objs[name];

  /** subscribe calls fn whenever the object with this name is replaced or removed. */
  subscribe(name: string, fn: () => void): () => void {
    let set = this.subs.get(name);
    if (!set) {
      set = new Set();
      this.subs.set(name, set);
    }
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.subs.delete(name);
    };
  }

  /** set replaces the objects and notifies subscribers of those that changed. */
  set(next: ByName<T>): void {
    const prev = this.objs;
    if (prev === next) return;
    this.objs = next;
    for (const [name, fns] of this.subs) {
      if (prev[name] !== next[name]) fns.forEach((fn) => fn());
    }
  }
}
