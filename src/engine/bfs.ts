/** Breadth-first: two levels used in turn; the first counterexample is a shortest one. */
import type { Layout } from '../world/layout.js';
import { LevelStore } from './state-store.js';
import type { ExhaustiveStrategy, Frontier } from './strategy.js';

/** The level being expanded and the next one, each stored as differences between consecutive states (`LevelStore`). */
class BfsFrontier implements Frontier {
  private level: LevelStore;
  private next: LevelStore;

  constructor(layout: Layout) {
    this.level = new LevelStore(layout);
    this.next = new LevelStore(layout);
  }

  push(state: Int32Array, id: number, written?: Int32Array, from?: number, to?: number): void {
    this.next.push(state, id, written, from, to);
  }

  take(dst: Int32Array): number {
    if (this.level.taken === this.level.count) {
      const done = this.level;
      this.level = this.next;
      this.next = done;
      this.next.clear();
    }
    const id = this.level.take(dst);
    // The next level's states are reached from this one: its pushes compare where the two differ.
    if (id >= 0) this.next.startFrom(this.level);
    return id;
  }

  get size(): number {
    return this.level.count - this.level.taken + this.next.count;
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
