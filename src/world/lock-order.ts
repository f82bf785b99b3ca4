/**
 * The lock-order graph: the model's lockdep. Every acquisition of a lock class by an actor records
 * an edge from each class the actor already holds to the class it takes; the graph accumulates
 * over a whole exploration, so a cycle in it is a potential deadlock reported even when no explored
 * schedule deadlocks (each edge may have been seen on a different schedule, as lockdep's are seen
 * on different code paths). Like lockdep's graph it is NOT part of the state: it is an observation
 * of the run, kept beside the world (`w.lockOrder`, null when off) and never read by a step.
 *
 * Generic: classes are names; the model says which classes an actor holds and when it takes one
 * (src/kernel/lockdep.ts for the kernel's locks and its pseudo-locks). The rules are lockdep's:
 *
 *   - a trylock adds no dependency (it cannot wait), but the lock it takes is held afterwards;
 *   - an acquisition of a class the actor already holds is a recursion ("possible recursive
 *     locking"), recorded apart and adding no edge — unless it is annotated as nested
 *     (spin_lock_nested, down_write_nested: a subclass in lockdep), which adds no self-edge;
 *   - each edge keeps its first witness: the actor, the step (`routine:label`), the classes held,
 *     and the schedule that reaches through that step when an explorer supplies one.
 *
 * Precision: the model does not know the order in which an actor took the locks it holds, so it
 * records an edge from EVERY held class, where lockdep records one from the most recent only (its
 * other dependencies follow by transitivity). The graph is therefore a superset of lockdep's with
 * the same cycles; a shortest cycle can take a shortcut lockdep's report would spell out. Where the
 * model knows the nesting (a pseudo-lock acquired inside another), the caller names the most recent
 * class (`mostRecent`) and gets lockdep's single edge.
 */
import type { World } from './world.js';

/** The first time an edge (or a recursion) was seen. */
export interface LockWitness {
  /** The actor that acquired the lock. */
  readonly actor: string;
  /** `routine:label` of the step that acquired it. */
  readonly where: string;
  /** The classes the actor held at that moment. */
  readonly held: readonly string[];
  /** Schedule entries from the initial state through that step, when the driver supplies them. */
  readonly schedule?: readonly number[];
}

export interface LockEdge {
  readonly from: string;
  readonly to: string;
  readonly witness: LockWitness;
}

/** A cycle `classes[0] → classes[1] → … → classes[0]`, with the edges in that order. */
export interface LockCycle {
  readonly classes: readonly string[];
  readonly edges: readonly LockEdge[];
}

/** A class acquired while the actor already held it (lockdep: possible recursive locking). */
export interface LockRecursion {
  readonly lock: string;
  readonly witness: LockWitness;
}

export class LockOrder {
  private readonly names: string[] = [];
  private readonly ids = new Map<string, number>();
  private readonly succ: number[][] = [];
  /** known[from * cap + to]: 1 once the edge is recorded (the hot path's only question). */
  private known = new Uint8Array(64 * 64);
  private cap = 64;
  private readonly witness = new Map<number, LockWitness>();
  private readonly recursion = new Map<number, LockWitness>();
  /** Edge keys (from * 65536 + to) and recursive classes, in the order recorded: what `rollback` takes back. */
  private readonly edgeLog: number[] = [];
  private readonly recursionLog: number[] = [];
  private closedAt = -1;
  /** The first cycle a new edge closed (what an explorer reports), if any. */
  closed: LockCycle | undefined;
  /** The edge that closed `closed`. */
  closing: LockEdge | undefined;
  /** Supplied by the driver of a search: the schedule reaching through the running step. */
  schedule: (() => readonly number[]) | null = null;
  /** While set, acquisitions are not recorded (a driver's look-ahead that it will explore anyway). */
  paused = false;
  /**
   * What `schedule` said when the graph made its first class (a thread of a parallel search: the
   * step's coordinates). Classes are not taken back: a parallel search's coordinator needs where
   * the first one came to tell whether one thread had any when it stopped (parallel-locks.ts).
   */
  firstClassAt: readonly number[] | undefined;

  /** The id of class `name`, created on first use (ids are dense, in order of first use). */
  classId(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      if (this.names.length === 0) this.firstClassAt = this.schedule?.();
      id = this.names.push(name) - 1;
      this.ids.set(name, id);
      this.succ.push([]);
      if (id >= this.cap) this.widen();
    }
    return id;
  }

  className(id: number): string {
    return this.names[id];
  }

  get classCount(): number {
    return this.names.length;
  }

  get edgeCount(): number {
    return this.edgeLog.length;
  }

  get recursionCount(): number {
    return this.recursionLog.length;
  }

  /** A point to come back to with `rollback` (before a step that may turn out blocked). */
  mark(): number {
    return this.edgeLog.length * 65536 + this.recursionLog.length;
  }

  /**
   * Forgets what was recorded since `mark`: a step that blocked did not happen (it is retried once
   * enabled, and records then), so its attempt leaves no edge, as it leaves no state.
   */
  rollback(mark: number): void {
    const edges = Math.floor(mark / 65536);
    const recursions = mark % 65536;
    while (this.edgeLog.length > edges) {
      const key = this.edgeLog.pop()!;
      const from = Math.floor(key / 65536);
      this.known[from * this.cap + (key % 65536)] = 0;
      this.succ[from].pop();
      this.witness.delete(key);
    }
    while (this.recursionLog.length > recursions) this.recursion.delete(this.recursionLog.pop()!);
    if (this.closedAt >= edges) {
      this.closed = undefined;
      this.closing = undefined;
      this.closedAt = -1;
    }
  }

  /** The class names, in id order. */
  get classNames(): readonly string[] {
    return this.names;
  }

  /**
   * Takes another graph's classes (`classNames`, in its id order), so that both number them alike:
   * the threads of a parallel search each record into a graph of their own, numbered the same way
   * (src/kernel/lockdep.ts numbers every class of a layout at once), and this one merges them.
   */
  adoptClasses(names: readonly string[]): void {
    for (let i = 0; i < names.length; i++) {
      if (this.classId(names[i]) !== i) throw new Error(`lock class ${names[i]} is numbered ${this.ids.get(names[i])} here and ${i} on another thread`);
    }
  }

  /** The edges and recursions recorded since `mark` (still recorded: not taken back), each in the order recorded. */
  recordedSince(mark: number): { edges: LockEdge[]; recursions: LockRecursion[] } {
    const edges = this.edgeLog.slice(Math.floor(mark / 65536)).map((k) => this.edge(Math.floor(k / 65536), k % 65536));
    const recursions = this.recursionLog.slice(mark % 65536).map((c) => ({ lock: this.names[c], witness: this.recursion.get(c)! }));
    return { edges, recursions };
  }

  /** Records an edge another graph saw (its first witness there), unless this one knows it: as `acquire` would have. */
  addSeen(e: LockEdge): void {
    const from = this.classId(e.from);
    const to = this.classId(e.to);
    if (this.known[from * this.cap + to] === 0) this.addEdge(from, to, e.witness);
  }

  /** Records a recursion another graph saw, unless this one knows it. */
  addSeenRecursion(r: LockRecursion): void {
    const c = this.classId(r.lock);
    if (this.recursion.has(c)) return;
    this.recursion.set(c, r.witness);
    this.recursionLog.push(c);
  }

  private widen(): void {
    const cap = this.cap * 2;
    const known = new Uint8Array(cap * cap);
    for (let f = 0; f < this.cap; f++) known.set(this.known.subarray(f * this.cap, (f + 1) * this.cap), f * cap);
    this.known = known;
    this.cap = cap;
  }

  /**
   * The running actor of `w` acquires class `c` holding the classes `held[0..n)` (distinct ids).
   * `nested`: annotated as nested (no recursion for its own class). `mostRecent` (a held class):
   * the caller knows it is the innermost, and only its edge is recorded (lockdep's rule).
   */
  acquire(w: World, held: ArrayLike<number>, n: number, c: number, nested = false, mostRecent = -1): void {
    if (this.paused) return;
    const cap = this.cap;
    const known = this.known;
    let fresh = false;
    for (let i = 0; i < n; i++) {
      const h = held[i];
      if (h === c) {
        if (nested) continue;
        if (!this.recursion.has(c)) {
          this.recursion.set(c, this.witnessOf(w, held, n));
          this.recursionLog.push(c);
        }
        return; // lockdep reports the recursion and records nothing else for this acquisition
      }
      if (known[h * cap + c] === 0 && (mostRecent < 0 || h === mostRecent)) fresh = true;
    }
    if (!fresh) return;
    const seen = this.witnessOf(w, held, n);
    for (let i = 0; i < n; i++) {
      const h = held[i];
      if (h !== c && this.known[h * this.cap + c] === 0 && (mostRecent < 0 || h === mostRecent)) this.addEdge(h, c, seen);
    }
  }

  private witnessOf(w: World, held: ArrayLike<number>, n: number): LockWitness {
    const ids: number[] = [];
    for (let i = 0; i < n; i++) ids.push(held[i]);
    const names = ids.sort((a, b) => a - b).map((c) => this.names[c]); // in class order, for reading
    const schedule = this.schedule?.();
    return { actor: w.actor >= 0 ? w.layout.actorNames[w.actor] : '(set-up)', where: w.site || '?', held: names, ...(schedule && { schedule: [...schedule] }) };
  }

  private addEdge(from: number, to: number, seen: LockWitness): void {
    const key = from * 65536 + to;
    this.known[from * this.cap + to] = 1;
    this.succ[from].push(to);
    this.witness.set(key, seen);
    this.edgeLog.push(key);
    if (this.closed) return;
    const back = this.path(to, from, undefined);
    if (!back) return;
    this.closed = this.cycleOf(back);
    this.closing = this.edge(from, to);
    this.closedAt = this.edgeLog.length - 1;
  }

  private edge(from: number, to: number): LockEdge {
    return { from: this.names[from], to: this.names[to], witness: this.witness.get(from * 65536 + to)! };
  }

  /** A shortest path from `src` to `dst` (nodes, both ends included), within `allowed` if given. */
  private path(src: number, dst: number, allowed: Uint8Array | undefined): number[] | undefined {
    const prev = new Int32Array(this.names.length).fill(-1);
    prev[src] = src;
    const queue = [src];
    for (let q = 0; q < queue.length; q++) {
      const x = queue[q];
      if (x === dst) {
        const out = [dst];
        for (let y = dst; y !== src; y = prev[y]) out.push(prev[y]);
        return out.reverse();
      }
      for (const y of this.succ[x]) {
        if (prev[y] >= 0 || (allowed && !allowed[y])) continue;
        prev[y] = x;
        queue.push(y);
      }
    }
    return undefined;
  }

  /** The cycle through `nodes` (`nodes[i] → nodes[i+1]`, last → first), starting at its lowest class id. */
  private cycleOf(nodes: readonly number[]): LockCycle {
    let start = 0;
    for (let i = 1; i < nodes.length; i++) if (nodes[i] < nodes[start]) start = i;
    const order = [...nodes.slice(start), ...nodes.slice(0, start)];
    return { classes: order.map((x) => this.names[x]), edges: order.map((x, i) => this.edge(x, order[(i + 1) % order.length])) };
  }

  /**
   * The cycles of the graph: for each strongly connected component with a cycle, one shortest
   * cycle through it (the first class, by id, on a cycle of that length). Ordered by first class.
   */
  cycles(): LockCycle[] {
    const out: LockCycle[] = [];
    for (const comp of this.components()) {
      if (comp.length < 2) continue; // no self-edges: a component of one has no cycle
      const inComp = new Uint8Array(this.names.length);
      for (const x of comp) inComp[x] = 1;
      let best: number[] | undefined;
      for (const s of comp) {
        for (const y of this.succ[s]) {
          if (!inComp[y]) continue;
          const back = this.path(y, s, inComp);
          if (back && (!best || back.length < best.length)) best = back;
        }
      }
      out.push(this.cycleOf(best!));
    }
    return out.sort((a, b) => this.ids.get(a.classes[0])! - this.ids.get(b.classes[0])!);
  }

  /** Strongly connected components (Tarjan), each sorted by class id. */
  private components(): number[][] {
    const n = this.names.length;
    const index = new Int32Array(n).fill(-1);
    const low = new Int32Array(n);
    const onStack = new Uint8Array(n);
    const stack: number[] = [];
    const comps: number[][] = [];
    let next = 0;
    const visit = (v: number): void => {
      index[v] = low[v] = next++;
      stack.push(v);
      onStack[v] = 1;
      for (const u of this.succ[v]) {
        if (index[u] < 0) {
          visit(u);
          low[v] = Math.min(low[v], low[u]);
        } else if (onStack[u]) low[v] = Math.min(low[v], index[u]);
      }
      if (low[v] !== index[v]) return;
      const comp: number[] = [];
      for (let u = -1; u !== v; ) {
        u = stack.pop()!;
        onStack[u] = 0;
        comp.push(u);
      }
      comps.push(comp.sort((a, b) => a - b));
    };
    for (let v = 0; v < n; v++) if (index[v] < 0) visit(v);
    return comps;
  }

  /** Every edge with its first witness, in the order they were first seen. */
  edges(): LockEdge[] {
    return this.edgeLog.map((k) => this.edge(Math.floor(k / 65536), k % 65536));
  }

  /** Every class acquired while already held (without a nesting annotation), with its first witness. */
  recursions(): LockRecursion[] {
    return [...this.recursion].map(([c, witness]) => ({ lock: this.names[c], witness }));
  }
}

/** `a → b → c → a`. */
export function formatCycle(c: LockCycle): string {
  return [...c.classes, c.classes[0]].join(' → ');
}
