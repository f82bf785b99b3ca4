/** Depth-first: one stack of states; less memory than breadth-first, counterexamples not shortest. */
import type { Layout } from '../world/layout.js';
import { StateStore } from './state-store.js';
import type { ExhaustiveStrategy, Frontier } from './strategy.js';

class DfsFrontier implements Frontier {
  private readonly stack: StateStore;

  constructor(layout: Layout) {
    this.stack = new StateStore(layout);
  }

  push(state: Int32Array, id: number): void {
    this.stack.push(state, id);
  }

  take(dst: Int32Array): number {
    return this.stack.count > 0 ? this.stack.pop(dst) : -1;
  }

  get size(): number {
    return this.stack.count;
  }

  get bytes(): number {
    return this.stack.bytes;
  }
}

export const dfs: ExhaustiveStrategy = {
  kind: 'exhaustive',
  name: 'dfs',
  summary: 'depth-first: less memory, counterexamples not shortest',
  shortest: false,
  frontier: (layout) => new DfsFrontier(layout),
};
