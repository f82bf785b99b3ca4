/**
 * Exhaustive explicit-state exploration, breadth-first by default: the first violation found is at
 * minimal depth (in merged transitions), so its schedule is a shortest counterexample; depth-first
 * on request. States are the world's flat arrays; visited states are kept only as 64-bit
 * fingerprints (hash compaction, see visited.ts); successors are computed in place and taken back
 * with the world's undo log; the frontier stores each state compactly.
 *
 * A violation is: a property that fails on a reached state, a kernel BUG raised by a step (including
 * sleeping in a non-blockable context), a deadlock (no actor can step, some are not done), or a
 * livelock found by the termination check.
 *
 * Reduction (the `merge` option, on by default): a step whose observed footprint is only the
 * running actor's own frames is invisible to every property and independent of every other
 * actor's steps (it reads and writes nothing they read or write), and it stays enabled whatever
 * they do (its enabledness read nothing shared). {that step} is therefore a persistent set at its
 * state, and executing it at once — merging it into the transition — loses no reachable shared
 * state and no violation. A transition is thus: invisible steps, one visible step, then the
 * invisible steps that follow. BFS explores finitely many states, so the cycle proviso holds
 * (a chain of invisible steps is bounded, and an actor looping forever on its own frames is
 * reported as a model error).
 */
import { BLOCK_SLEEP, BLOCK_SPIN } from '../world/routine.js';
import { execStep, whereIs } from '../world/runner.js';
import type { World } from '../world/world.js';
import { ACTOR_SP, type Layout } from '../world/layout.js';
import { FingerprintSet } from './visited.js';
import { fmix32 } from '../world/hash.js';

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
  /** 'bfs' (default: the first counterexample is a shortest one) or 'dfs' (less memory). */
  readonly order?: 'bfs' | 'dfs';
  /** Stop (verdict incomplete) after this long. */
  readonly timeLimitMs?: number;
  /** Stop (verdict incomplete) when the explorer's own tables exceed this many bytes. */
  readonly maxMemoryBytes?: number;
  /** Polled every few thousand states; returning true stops the run (verdict incomplete), e.g. on SIGINT. */
  readonly shouldStop?: () => boolean;
  /** Called about twice a second with the running figures. */
  readonly onProgress?: (p: Progress) => void;
  /**
   * Check termination (default true): once every other actor has finished, the remaining one,
   * running alone, must finish too — a fault path that keeps retrying although no invalidation
   * runs any more is a livelock. Fairness assumed: only that a finished actor stays finished and
   * that a lone runnable actor gets the CPU; no claim is made while other actors keep running.
   */
  readonly liveness?: boolean;
  /**
   * Preemption bound (CHESS-style): explore only schedules that switch away from a still-runnable
   * actor at most this many times. Incomplete by design — a proof holds only up to the bound — but
   * most concurrency bugs need one or two preemptions. States are then keyed by (state, preemptions
   * used, last actor), so the bound is exact.
   */
  readonly preemptions?: number;
}

export interface Progress {
  readonly states: number;
  readonly transitions: number;
  readonly frontier: number;
  readonly depth: number;
  readonly elapsedMs: number;
  readonly bytes: number;
}

/** Why an incomplete run stopped. */
export type StopReason = 'max-states' | 'time' | 'memory' | 'interrupted' | 'preemption-bound';

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
  /** Set when the verdict is incomplete. */
  readonly stopReason?: StopReason;
  /** Peak bytes held by the explorer's tables (visited set, frontier, parent tree). */
  readonly peakBytes: number;
}

/** A copy of `a` twice as long (the growable tables below). */
function grow(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/** Growable int arrays holding, per discovered state id, its parent id and the actor that led to it. */
class Tree {
  parent = new Int32Array(1 << 16);
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
    for (let a = 0; a < nActors; a++) len += state[L.actorSlot(a) + ACTOR_SP] * L.callStride;
    if (this.chunks.length === 0) this.chunks.push(new Int32Array(Level.CHUNK_SLOTS));
    if (this.tail + len > Level.CHUNK_SLOTS) this.nextChunk();
    if (this.count === this.ids.length) this.growIndex();
    const c = this.current;
    const chunk = this.chunks[c];
    const start = this.tail;
    chunk.set(state.subarray(0, L.callBase), start);
    let o = start + L.callBase;
    for (let a = 0; a < nActors; a++) {
      const n = state[L.actorSlot(a) + ACTOR_SP] * L.callStride;
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
    this.chunkOf = grow(this.chunkOf);
    this.offsetOf = grow(this.offsetOf);
    this.ids = grow(this.ids);
  }

  id(i: number): number {
    return this.ids[i];
  }

  /** Removes the last state (stack use): expands it into `dst`, returns its id. */
  pop(dst: Int32Array): number {
    const i = --this.count;
    this.load(i, dst);
    this.tail = this.offsetOf[i];
    this.current = this.chunkOf[i];
    return this.ids[i];
  }

  get bytes(): number {
    return this.chunks.length * Level.CHUNK_SLOTS * 4 + this.ids.length * 12;
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
      const n = dst[L.actorSlot(a) + ACTOR_SP] * L.callStride;
      const from = L.callSlot(a, 0);
      if (n > 0) dst.set(chunk.subarray(o, o + n), from);
      dst.fill(0, from + n, from + perActor);
      o += n;
    }
  }
}

/** Where states wait to be expanded: two BFS levels used in turn, or one DFS stack. */
class Frontier {
  private level: Level;
  private next: Level;
  private head = 0;

  constructor(
    layout: Layout,
    private readonly dfs: boolean,
  ) {
    this.level = new Level(layout);
    this.next = new Level(layout);
  }

  push(state: Int32Array, id: number): void {
    (this.dfs ? this.level : this.next).push(state, id);
  }

  /** Takes the next state into `dst` and returns its id, or -1 when empty. */
  take(dst: Int32Array): number {
    if (this.dfs) return this.level.count > 0 ? this.level.pop(dst) : -1;
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
    return this.dfs ? this.level.count : this.level.count - this.head + this.next.count;
  }

  get bytes(): number {
    return this.level.bytes + this.next.bytes;
  }
}

export function explore(w: World, opts: ExploreOptions = {}): ExploreResult {
  try {
    return exploreFrom(w, opts);
  } finally {
    // Also when a model error is thrown: the world must not keep logging undo entries or tracking.
    w.undoing = false;
    w.tracking = false;
    w.undoReset();
  }
}

function exploreFrom(w: World, opts: ExploreOptions): ExploreResult {
  const t0 = performance.now();
  const properties = opts.properties ?? [];
  const maxStates = opts.maxStates ?? Number.POSITIVE_INFINITY;
  const timeLimit = opts.timeLimitMs ?? Number.POSITIVE_INFINITY;
  const maxBytes = opts.maxMemoryBytes ?? Number.POSITIVE_INFINITY;
  const checkDeadlock = opts.deadlock ?? true;
  const liveness = opts.liveness ?? true;
  const nActors = w.layout.actorNames.length;
  const slots = w.layout.size;
  const visited = new FingerprintSet();
  const tree = new Tree();
  const initial = w.snapshot();
  const parent = new Int32Array(slots);
  const merge = opts.merge ?? true;
  w.undoing = true;
  const frontier = new Frontier(w.layout, opts.order === 'dfs');
  const solo = new SoloTermination(w);
  let transitions = 0;
  let maxDepth = 0;
  let peakBytes = 0;
  let lastPoll = t0;

  const bytes = () => visited.bytes + frontier.bytes + tree.bytes + solo.bytes;

  const finish = (verdict: ExploreResult['verdict'], violation?: Violation, stopReason?: StopReason): ExploreResult => {
    w.undoing = false;
    w.undoReset();
    w.load(initial);
    peakBytes = Math.max(peakBytes, bytes());
    return {
      verdict,
      states: visited.size,
      transitions,
      depth: maxDepth,
      violation,
      elapsedMs: performance.now() - t0,
      bytesPerState: visited.size ? visited.bytes / visited.size : 0,
      stopReason,
      peakBytes,
    };
  };

  /** Checks limits and reports progress; returns why to stop, if so. */
  const poll = (): StopReason | undefined => {
    const now = performance.now();
    if (visited.size >= maxStates) return 'max-states';
    if (now - lastPoll < 500) return undefined;
    lastPoll = now;
    const b = bytes();
    peakBytes = Math.max(peakBytes, b);
    opts.onProgress?.({ states: visited.size, transitions, frontier: frontier.size, depth: maxDepth, elapsedMs: now - t0, bytes: b });
    if (now - t0 >= timeLimit) return 'time';
    if (b >= maxBytes) return 'memory';
    if (opts.shouldStop?.()) return 'interrupted';
    return undefined;
  };

  /** Whether actor `a` can step from `parent` (tried, then undone). */
  const canStep = (a: number): boolean => {
    w.load(parent);
    if (w.actorSp(a) === 0) return false;
    const mark = w.undoMark();
    const r = execStep(w, a);
    w.undoTo(mark);
    w.bugs.length = 0;
    return r !== BLOCK_SLEEP && r !== BLOCK_SPIN;
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
   * After a step of `a` (on the loaded state): extend the transition with the steps that are
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
      const mark = w.undoMark();
      w.trackActor(a);
      const r = execStep(w, a);
      w.tracking = false;
      if (r === BLOCK_SLEEP || r === BLOCK_SPIN || w.touchedShared || w.bugs.length) {
        w.bugs.length = 0;
        w.undoTo(mark);
        return extra;
      }
      extra++;
    }
  };

  const bound = opts.preemptions ?? -1;
  visited.add(initial[0], initial[1]);
  const root = tree.add(-1, -1, 0, 0);
  w.load(initial.slice());
  const v0 = checkProps(root);
  if (v0) return finish('violation', v0);

  frontier.push(initial, root);
  for (let id = frontier.take(parent); id >= 0; id = frontier.take(parent)) {
    let enabled = 0;
    let unfinished = 0;
    // With a preemption bound: switching away from the last actor while it can still run costs one.
    const last = tree.actor[id];
    const lastRunnable = bound >= 0 && last >= 0 && canStep(last);
    for (let a = 0; a < nActors; a++) {
      w.load(parent);
      if (w.actorSp(a) === 0) continue;
      unfinished++;
      // The successor is computed in place and taken back afterwards (undo log), not on a copy.
      const mark = w.undoMark();
      if (merge) w.trackActor(a);
      const r = execStep(w, a);
      w.tracking = false;
      if (r === BLOCK_SLEEP || r === BLOCK_SPIN) {
        if (w.bugs.length) return finish('violation', bug(id, a, 1));
        w.undoTo(mark);
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
      const next = w.v;
      let pre = 0;
      let fresh: boolean;
      if (bound >= 0) {
        pre = tree.pre[id] + (lastRunnable && a !== last ? 1 : 0);
        const salt = fmix32(pre * 0x10000 + a + 1);
        fresh = pre <= bound && visited.add(next[0] ^ salt, next[1] ^ fmix32(salt ^ 0x5bd1e995));
      } else {
        fresh = visited.add(next[0], next[1]);
      }
      if (fresh) {
        const depth = tree.depth[id] + 1;
        if (depth > maxDepth) maxDepth = depth;
        const cid = tree.add(id, a, depth, steps);
        tree.pre[cid] = pre;
        const v = checkProps(cid);
        if (v) return finish('violation', v);
        if (liveness) {
          const loop = solo.check(next);
          if (loop) return finish('violation', { property: 'termination', message: loop.message, schedule: [...tree.schedule(cid), ...loop.steps] });
          w.load(next);
        }
        const stop = poll();
        if (stop) return finish('incomplete', undefined, stop);
        frontier.push(next, cid);
      }
      w.undoTo(mark);
    }
    if (checkDeadlock && enabled === 0 && unfinished > 0) {
      w.load(parent);
      return finish('violation', { property: 'deadlock', message: `no actor can step; ${unfinished} not done`, schedule: tree.schedule(id) });
    }
  }
  // Under a preemption bound nothing beyond the bound was looked at: not a proof.
  return bound >= 0 ? finish('incomplete', undefined, 'preemption-bound') : finish('holds');
}

/**
 * The termination check: in a state where exactly one actor is unfinished, run it alone; it must
 * finish. It livelocks if it revisits a state (a retry loop that changes nothing) or runs longer
 * than a bound without finishing (a retry loop that changes only counters). States from which the
 * lone actor is known to finish are remembered, so each is run at most once.
 */
class SoloTermination {
  /** States from which the lone actor finishes, or blocks for good (the exploration reports that deadlock). */
  private readonly finishes = new FingerprintSet(1 << 10);
  private readonly buf: Int32Array;
  static readonly BOUND = 20000;

  constructor(private readonly w: World) {
    this.buf = new Int32Array(w.layout.size);
  }

  get bytes(): number {
    return this.finishes.bytes;
  }

  /** Returns the livelock (message and the lone actor's steps) from `state`, if any; clobbers w.v. */
  check(state: Int32Array): { message: string; steps: number[] } | undefined {
    const w = this.w;
    const undoing = w.undoing;
    w.undoing = false; // the lone run works on its own copy: nothing to take back
    try {
      return this.run(state);
    } finally {
      w.undoing = undoing;
    }
  }

  private run(state: Int32Array): { message: string; steps: number[] } | undefined {
    const w = this.w;
    const n = w.layout.actorNames.length;
    w.load(state);
    let lone = -1;
    for (let a = 0; a < n; a++) {
      if (w.actorSp(a) === 0) continue;
      if (lone >= 0) return undefined;
      lone = a;
    }
    if (lone < 0 || this.finishes.has(state[0], state[1])) return undefined;
    const buf = this.buf;
    buf.set(state);
    w.load(buf);
    const seen = new FingerprintSet(1 << 8);
    const path: number[] = [];
    const fps: number[] = [];
    for (;;) {
      if (w.actorSp(lone) === 0 || this.finishes.has(buf[0], buf[1])) break;
      if (!seen.add(buf[0], buf[1])) {
        return { message: `${w.layout.actorNames[lone]} loops forever alone at ${whereIs(w, lone)}: every other actor has finished, so no invalidation can be what it is waiting for`, steps: path };
      }
      fps.push(buf[0], buf[1]);
      if (path.length >= SoloTermination.BOUND) {
        return { message: `${w.layout.actorNames[lone]} runs ${SoloTermination.BOUND} steps alone without finishing (at ${whereIs(w, lone)}): a retry loop with no invalidation left to wait for`, steps: path };
      }
      const r = execStep(w, lone);
      if (w.bugs.length) {
        // A BUG comes first on this path; the exploration reports it when it gets there.
        w.bugs.length = 0;
        return undefined;
      }
      if (r === BLOCK_SLEEP || r === BLOCK_SPIN) break; // blocked forever: the exploration reports the deadlock
      path.push(lone);
    }
    for (let i = 0; i < fps.length; i += 2) this.finishes.add(fps[i], fps[i + 1]);
    return undefined;
  }
}
