/**
 * Exhaustive explicit-state exploration, breadth-first: the first violation found is at minimal
 * depth, so its schedule is a shortest counterexample. States are the world's flat arrays;
 * visited states are kept only as 64-bit fingerprints (hash compaction, see visited.ts).
 *
 * A violation is: a property that fails on a reached state, a kernel BUG raised by a step (including
 * sleeping in a non-blockable context), or a deadlock (no actor can step, some are not done).
 */
import { BLOCK_SLEEP, BLOCK_SPIN } from '../world/routine.js';
import { execStep } from '../world/runner.js';
import type { World } from '../world/world.js';
import type { Layout } from '../world/layout.js';
import { FingerprintSet } from './visited.js';

export interface Property {
  readonly name: string;
  /** One sentence a kernel developer would recognise. */
  readonly description: string;
  /** Returns a message describing the violation in this state, or undefined if it holds. */
  check(w: World): string | undefined;
}

export interface ExploreOptions {
  readonly properties?: readonly Property[];
  /** Stop (verdict incomplete) after this many distinct states. */
  readonly maxStates?: number;
  /** Report a deadlock when no actor can step but some are not done (default true). */
  readonly deadlock?: boolean;
  /**
   * Merge steps that touch only the actor's own call frames into the neighbouring step of the
   * same actor (default true). Sound for the checked properties: such a step reads and writes
   * nothing another actor or a property can see, so it commutes with every other step (SPIN's
   * statement merging, decided here from each step's observed footprint rather than statically).
   */
  readonly merge?: boolean;
}

export interface Violation {
  readonly property: string;
  readonly message: string;
  /** Actor indices from the initial state to the violating step (inclusive). */
  readonly schedule: readonly number[];
}

export interface ExploreResult {
  readonly verdict: 'holds' | 'violation' | 'incomplete';
  readonly states: number;
  readonly transitions: number;
  readonly depth: number;
  readonly violation?: Violation;
  readonly elapsedMs: number;
  /** Visited-set bytes per distinct state. */
  readonly bytesPerState: number;
}

/** Growable int arrays holding, per discovered state id, its parent id and the actor that led to it. */
class Tree {
  parent = new Int32Array(1 << 16);
  actor = new Int32Array(1 << 16);
  depth = new Int32Array(1 << 16);
  /** How many steps of `actor` the transition into this state took (merged steps). */
  steps = new Int32Array(1 << 16);
  size = 0;

  add(parent: number, actor: number, depth: number, steps: number): number {
    if (this.size === this.parent.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.parent = grow(this.parent);
      this.actor = grow(this.actor);
      this.depth = grow(this.depth);
      this.steps = grow(this.steps);
    }
    const id = this.size++;
    this.parent[id] = parent;
    this.actor[id] = actor;
    this.depth[id] = depth;
    this.steps[id] = steps;
    return id;
  }

  /** The step-by-step schedule (one entry per executed step) from the root to state `id`. */
  schedule(id: number): number[] {
    const out: number[] = [];
    for (let i = id; this.parent[i] >= 0; i = this.parent[i]) {
      for (let k = 0; k < this.steps[i]; k++) out.push(this.actor[i]);
    }
    return out.reverse();
  }
}

/**
 * States of one BFS level, stored compactly back to back in fixed-size chunks: the objects, then
 * each actor's *live* call frames only (dead frames are all zero, and they are most of a state).
 * No per-state allocation, no copying when a level grows; chunks are kept when the level is
 * cleared, so the two levels used in turn allocate their memory once.
 */
class Level {
  private readonly chunks: Int32Array[] = [];
  private chunkOf = new Int32Array(1024);
  private offsetOf = new Int32Array(1024);
  private ids = new Int32Array(1024);
  private tail = 0;
  count = 0;
  private static readonly CHUNK_SLOTS = 1 << 22;

  constructor(private readonly layout: Layout) {}

  clear(): void {
    this.count = 0;
    this.tail = 0;
    this.current = 0;
  }

  push(state: Int32Array, id: number): void {
    const L = this.layout;
    const nActors = L.actorNames.length;
    let len = L.callBase;
    for (let a = 0; a < nActors; a++) len += state[L.actorBase + 2 * a] * L.callStride;
    if (this.chunks.length === 0) this.chunks.push(new Int32Array(Level.CHUNK_SLOTS));
    if (this.tail + len > Level.CHUNK_SLOTS) this.nextChunk();
    if (this.count === this.ids.length) this.growIndex();
    const c = this.current;
    const chunk = this.chunks[c];
    const start = this.tail;
    chunk.set(state.subarray(0, L.callBase), start);
    let o = start + L.callBase;
    for (let a = 0; a < nActors; a++) {
      const n = state[L.actorBase + 2 * a] * L.callStride;
      if (n === 0) continue;
      const from = L.callSlot(a, 0);
      chunk.set(state.subarray(from, from + n), o);
      o += n;
    }
    this.chunkOf[this.count] = c;
    this.offsetOf[this.count] = start;
    this.ids[this.count] = id;
    this.count++;
    this.tail = o;
  }

  /** The chunk records are appended to. */
  private current = 0;

  /** Moves on to the next chunk (allocating it the first time). */
  private nextChunk(): void {
    this.current++;
    if (this.current === this.chunks.length) this.chunks.push(new Int32Array(Level.CHUNK_SLOTS));
    this.tail = 0;
  }

  private growIndex(): void {
    const grow = (a: Int32Array) => {
      const b = new Int32Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.chunkOf = grow(this.chunkOf);
    this.offsetOf = grow(this.offsetOf);
    this.ids = grow(this.ids);
  }

  id(i: number): number {
    return this.ids[i];
  }

  /** Expands state `i` into `dst` (dead frames zeroed). */
  load(i: number, dst: Int32Array): void {
    const L = this.layout;
    const chunk = this.chunks[this.chunkOf[i]];
    let o = this.offsetOf[i];
    dst.set(chunk.subarray(o, o + L.callBase));
    o += L.callBase;
    const perActor = L.stackDepth * L.callStride;
    for (let a = 0; a < L.actorNames.length; a++) {
      const n = dst[L.actorBase + 2 * a] * L.callStride;
      const from = L.callSlot(a, 0);
      if (n > 0) dst.set(chunk.subarray(o, o + n), from);
      dst.fill(0, from + n, from + perActor);
      o += n;
    }
  }
}

export function explore(w: World, opts: ExploreOptions = {}): ExploreResult {
  const t0 = performance.now();
  const properties = opts.properties ?? [];
  const maxStates = opts.maxStates ?? Number.POSITIVE_INFINITY;
  const checkDeadlock = opts.deadlock ?? true;
  const nActors = w.layout.actorNames.length;
  const slots = w.layout.size;
  const visited = new FingerprintSet();
  const tree = new Tree();
  const initial = w.snapshot();
  const parent = new Int32Array(slots);
  const scratch = new Int32Array(slots);
  const probe = new Int32Array(slots);
  const merge = opts.merge ?? true;
  let transitions = 0;
  let maxDepth = 0;

  const finish = (verdict: ExploreResult['verdict'], violation?: Violation): ExploreResult => {
    w.load(initial);
    return {
      verdict,
      states: visited.size,
      transitions,
      depth: maxDepth,
      violation,
      elapsedMs: performance.now() - t0,
      bytesPerState: visited.size ? visited.bytes / visited.size : 0,
    };
  };

  const checkProps = (id: number): Violation | undefined => {
    for (const p of properties) {
      const msg = p.check(w);
      if (msg !== undefined) return { property: p.name, message: msg, schedule: tree.schedule(id) };
    }
    return undefined;
  };

  const bug = (id: number, a: number, steps: number): Violation => ({
    property: 'kernel-bug',
    message: w.bugs.join('; '),
    schedule: [...tree.schedule(id), ...new Array<number>(steps).fill(a)],
  });

  /**
   * After a step of `a` on `scratch` (loaded): extend the transition with the steps that are
   * invisible (own frames only). Returns the number of extra steps, or -1 - n if a BUG was raised
   * (left in w.bugs) where n extra steps (the last one possibly a blocked attempt) show it.
   */
  const extend = (a: number, lastInvisible: boolean): number => {
    let extra = 0;
    for (;;) {
      if (w.actorSp(a) === 0) return extra;
      if (extra > 100000) throw new Error(`actor ${w.layout.actorNames[a]} runs more than 100000 steps touching only its own frames`);
      if (lastInvisible) {
        // The step just taken was invisible: it commutes with everything, so the next step joins it.
        w.trackActor(a);
        const r = execStep(w, a);
        w.tracking = false;
        if (r === BLOCK_SLEEP || r === BLOCK_SPIN) return w.bugs.length ? -2 - extra : extra; // the blocked attempt is in the schedule
        extra++;
        if (w.bugs.length) return -1 - extra;
        lastInvisible = !w.touchedShared;
        continue;
      }
      // The step just taken was visible: absorb the next one only if it is invisible.
      probe.set(scratch);
      w.load(probe);
      w.trackActor(a);
      const r = execStep(w, a);
      w.tracking = false;
      if (r === BLOCK_SLEEP || r === BLOCK_SPIN || w.touchedShared || w.bugs.length) {
        w.bugs.length = 0;
        w.load(scratch);
        return extra;
      }
      scratch.set(probe);
      w.load(scratch);
      extra++;
    }
  };

  visited.add(initial[0], initial[1]);
  const root = tree.add(-1, -1, 0, 0);
  w.load(initial.slice());
  const v0 = checkProps(root);
  if (v0) return finish('violation', v0);

  // Two levels used in turn, so their buffers are allocated once and only grow.
  let level = new Level(w.layout);
  let next = new Level(w.layout);
  level.push(initial, root);
  while (level.count > 0) {
    next.clear();
    for (let i = 0; i < level.count; i++) {
      level.load(i, parent);
      const id = level.id(i);
      let enabled = 0;
      let unfinished = 0;
      for (let a = 0; a < nActors; a++) {
        w.load(parent);
        if (w.actorSp(a) === 0) continue;
        unfinished++;
        scratch.set(parent);
        w.load(scratch);
        if (merge) w.trackActor(a);
        const r = execStep(w, a);
        w.tracking = false;
        if (r === BLOCK_SLEEP || r === BLOCK_SPIN) {
          if (w.bugs.length) return finish('violation', bug(id, a, 1));
          continue;
        }
        enabled++;
        transitions++;
        if (w.bugs.length) return finish('violation', bug(id, a, 1));
        let steps = 1;
        if (merge) {
          const extra = extend(a, !w.touchedShared);
          if (extra < 0) return finish('violation', bug(id, a, -extra));
          steps += extra;
        }
        if (!visited.add(scratch[0], scratch[1])) continue;
        const depth = tree.depth[id] + 1;
        if (depth > maxDepth) maxDepth = depth;
        const cid = tree.add(id, a, depth, steps);
        const v = checkProps(cid);
        if (v) return finish('violation', v);
        if (visited.size >= maxStates) return finish('incomplete');
        next.push(scratch, cid);
      }
      if (checkDeadlock && enabled === 0 && unfinished > 0) {
        w.load(parent);
        return finish('violation', { property: 'deadlock', message: `no actor can step; ${unfinished} not done`, schedule: tree.schedule(id) });
      }
    }
    const done = level;
    level = next;
    next = done;
  }
  return finish('holds');
}
