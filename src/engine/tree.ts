/**
 * The search tree of an exhaustive run: per discovered state id, its parent, the actor whose
 * (merged) transition led to it, its depth, how many steps that transition took, and the
 * preemptions used — enough to rebuild the step-by-step schedule of any state, and nothing else.
 */
import { grow } from './grow.js';
import { transitionEntries } from '../world/entry.js';

/** Growable int arrays holding, per discovered state id, its parent id and the actor that led to it. */
export class Tree {
  parent = new Int32Array(1 << 16);
  /** The schedule entry (actor, and alternative if the step branched) of the transition into each state. */
  actor = new Int32Array(1 << 16);
  depth = new Int32Array(1 << 16);
  /** How many steps of `actor` the transition into this state took (merged steps). */
  steps = new Int32Array(1 << 16);
  /** Preemptions used to reach this state (only with a preemption bound). */
  pre = new Int32Array(1 << 16);
  size = 0;

  add(parent: number, actor: number, depth: number, steps: number): number {
    if (this.size === this.parent.length) {
      this.parent = grow(this.parent);
      this.actor = grow(this.actor);
      this.depth = grow(this.depth);
      this.steps = grow(this.steps);
      this.pre = grow(this.pre);
    }
    const id = this.size++;
    this.parent[id] = parent;
    this.actor[id] = actor;
    this.depth[id] = depth;
    this.steps[id] = steps;
    return id;
  }

  get bytes(): number {
    return this.parent.length * 20;
  }

  /**
   * The step-by-step schedule (one entry per executed step) from the root to state `id`. `actor`
   * holds the schedule entry of a transition's first step (its alternative, if it branched); the
   * merged steps after it are plain steps of the same actor.
   */
  schedule(id: number): number[] {
    const path: number[] = [];
    for (let i = id; this.parent[i] >= 0; i = this.parent[i]) path.push(i);
    const out: number[] = [];
    for (let k = path.length - 1; k >= 0; k--) transitionEntries(this.actor[path[k]], this.steps[path[k]], out);
    return out;
  }
}
