/** Breadth-first: two levels used in turn; the first counterexample is a shortest one. */
import type { Layout } from '../world/layout.js';
import { StateStore } from './state-store.js';
import type { ExhaustiveStrategy, Frontier } from './strategy.js';

class BfsFrontier implements Frontier {
  private level: StateStore;
  private next: StateStore;
  private head = 0;

  constructor(layout: Layout) {
    this.level = new StateStore(layout);
    this.next = new StateStore(layout);
  }

  push(state: Int32Array, id: number): void {
    this.next.push(state, id);
  }

  take(dst: Int32Array): number {
    if (this.head === this.level.count) {
      const done = this.level;
      this.level = this.next;
      this.next = done;
      this.next.clear();
      this.head = 0;
      if (this.level.count === 0) return -1;
    }
    this.level.load(this.head, dst);
    return this.level.id(this.head++);
  }

  get size(): number {
    return this.level.count - this.head + this.next.count;
  }

  get bytes(): number {
    return this.level.bytes + this.next.bytes;
  }
}

export const bfs: ExhaustiveStrategy = {
  kind: 'exhaustive',
  name: 'bfs',
  summary: 'breadth-first: the first counterexample is a shortest one',
  shortest: true,
  frontier: (layout) => new BfsFrontier(layout),
};
