/**
 * The lock-order graph of a parallel search (parallel.ts), as one thread records it (exhaustive.ts
 * with `lockOrder`; src/world/lock-order.ts). Each thread records into a graph of its own while it
 * expands its share of a level (parallel-expand.ts), and reports what it recorded; this graph takes
 * the level's records in the one-thread order and finds where the one-thread search would stop.
 *
 * The one-thread graph grows in the order the search runs its steps: level by level, parent by
 * parent, each parent's transitions in order (successor number), each transition's steps in order.
 * A thread takes a level's parents in blocks of increasing ids, so its own records are in that
 * order, and a parent's are all one thread's: sorted by (parent, successor number, the thread's
 * own order), the records of every thread are the one-thread sequence — but for an edge the
 * one-thread graph already knew, which a thread that had not seen it records again, and which
 * this graph skips. An edge's first witness is therefore the one-thread one. The classes are
 * numbered alike on every thread (src/kernel/lockdep.ts numbers a layout's classes at once).
 *
 * When it stops: one thread asks whether the graph has a cycle at checkpoints — after a
 * transition's first step and after its extension, when neither raised a BUG — and stops at the
 * first checkpoint after the edge that closed one (the first such edge). Each thread reports its
 * checkpoints (a row at each parent's first and wherever its graph grew: `CHECK_ROW`), so the
 * checkpoint is the first row of that thread, in the closing edge's parent, that counts the edge;
 * failing that, the first row of any thread in a later parent; failing that, the first row of the
 * next level. A stop is ordered among the level's violations by (parent, successor number), before
 * the violations of its own transition (its checkpoint comes before the state is checked).
 *
 * The graph the search reports is what one thread had recorded when it stopped: the records up to
 * the stop (`keepUntil*`): at a checkpoint, the records its thread had made by then; at a
 * violation, every record of its transition, and what a blocked step that raised the BUG recorded
 * (one thread takes that back only when it goes on); at a violation met before any step made the
 * lock classes, no class either (`firstClassAt`).
 */
import { LockOrder, type LockEdge, type LockRecursion, type LockWitness } from '../world/lock-order.js';
import { transitionEntries } from '../world/entry.js';
import { CHECK_ROW, type LevelReport, type WorkerEvent } from './parallel-expand.js';
import { keyBefore } from './parallel-shared.js';

/**
 * What one thread's graph recorded in a level: its classes by id, the edges and recursions (each
 * witness's `schedule` holds the step's coordinates: parent, successor number, entry, steps), how
 * many it had recorded before them, and its checkpoints (`CHECK_ROW` ints each).
 */
export interface LevelLocks {
  readonly classes: readonly string[];
  readonly edges: readonly LockEdge[];
  readonly recursions: readonly LockRecursion[];
  readonly edgeBase: number;
  readonly recursionBase: number;
  readonly checks: Int32Array;
  /** Where the thread's graph made its classes (`LockOrder.firstClassAt`: parent, successor number, entry, steps), once it has. */
  readonly firstClassAt?: readonly number[];
}

/** Where the one-thread search stops at a lock-order cycle: a checkpoint of thread `thread`. */
export interface LockStop {
  readonly parent: number;
  readonly seq: number;
  /** Transitions counted from the parent then, and those the preemption bound cut off. */
  readonly transitions: number;
  readonly beyond: number;
  readonly thread: number;
  /** The thread's edges and recursions recorded by then. */
  readonly edges: number;
  readonly recursions: number;
}

/** A record of the level: an edge or a recursion, where it was made, by which thread and when in its order. */
interface LockRecord {
  readonly parent: number;
  readonly seq: number;
  readonly thread: number;
  readonly at: number;
  readonly edge?: LockEdge;
  readonly recursion?: LockRecursion;
}

export class ParallelLockOrder {
  graph = new LockOrder();

  /** `scheduleTo(parent, tail)`: the schedule to a state of the tree, then `tail` (the tree has each level's parents when its records are merged). */
  constructor(private readonly scheduleTo: (parent: number, tail: readonly number[]) => number[]) {}

  /** The graph before the level's records, and the level's records in the one-thread order. */
  private mark = 0;
  private records: LockRecord[] = [];
  /** A cycle closed in a level with no checkpoint after it: the next level's first checkpoint stops the search. */
  private pending = false;
  /**
   * The (parent, successor number) of the transition in which the first thread to make the classes
   * made them: the one-thread graph's first class comes there, and has none before (classes are
   * made all at once and never taken back, so the merged graph cannot tell from its records).
   */
  private classesAt: readonly number[] | undefined;

  /**
   * Takes the records of the level just searched (`reports`, one per thread), in the one-thread
   * order, into the graph. Returns where the one-thread search stops at a cycle in this level, if it does.
   */
  level(reports: readonly LevelReport[]): LockStop | undefined {
    this.mark = this.graph.mark();
    const records: LockRecord[] = [];
    reports.forEach((r, thread) => {
      const l = r.locks;
      if (!l) return;
      this.graph.adoptClasses(l.classes);
      const at = l.firstClassAt;
      if (at && (!this.classesAt || keyBefore(at[0], at[1], this.classesAt[0], this.classesAt[1]))) this.classesAt = at;
      const concrete = (w: LockWitness): LockWitness => {
        const [parent, , entry, steps] = w.schedule!;
        return { ...w, schedule: this.scheduleTo(parent, transitionEntries(entry, steps)) };
      };
      l.edges.forEach((e, k) => {
        const [parent, seq] = e.witness.schedule!;
        records.push({ parent, seq, thread, at: l.edgeBase + k, edge: { ...e, witness: concrete(e.witness) } });
      });
      l.recursions.forEach((x, k) => {
        const [parent, seq] = x.witness.schedule!;
        records.push({ parent, seq, thread, at: l.recursionBase + k, recursion: { ...x, witness: concrete(x.witness) } });
      });
    });
    // A transition's records are one thread's, each kind in that thread's order.
    records.sort((x, y) => x.parent - y.parent || x.seq - y.seq || x.at - y.at);
    this.records = records;
    const wasPending = this.pending;
    let closing: LockRecord | undefined;
    for (const r of records) {
      const before = this.graph.closed;
      this.add(r);
      if (!before && this.graph.closed) closing = r;
    }
    const rows = reports.map((r) => r.locks?.checks ?? new Int32Array(0));
    let stop: LockStop | undefined;
    if (wasPending) stop = firstAfter(rows, -1);
    else if (closing) stop = checkpointOf(rows, closing);
    this.pending = (wasPending || closing !== undefined) && stop === undefined;
    return stop;
  }

  private add(r: LockRecord): void {
    if (r.edge) this.graph.addSeen(r.edge);
    else this.graph.addSeenRecursion(r.recursion!);
  }

  /** The graph as one thread has it when it stops at `stop`: the level's records up to that checkpoint. */
  keepUntilCheckpoint(stop: LockStop): void {
    this.keep((r) => keyBefore(r.parent, r.seq, stop.parent, stop.seq) || (r.thread === stop.thread && r.at < (r.edge ? stop.edges : stop.recursions)));
  }

  /** The graph as one thread has it when it stops at violation `ev`: the level's records through its transition, and those of a blocked step that raised it. */
  keepUntilEvent(ev: WorkerEvent): void {
    this.keep((r) => !keyBefore(ev.parent, ev.seq, r.parent, r.seq));
    this.beforeClasses(ev);
    if (!ev.locks) return;
    const tail = this.scheduleTo(ev.parent, transitionEntries(ev.entry, ev.steps));
    for (const e of ev.locks.edges) this.graph.addSeen({ ...e, witness: { ...e.witness, schedule: tail } });
    for (const x of ev.locks.recursions) this.graph.addSeenRecursion({ ...x, witness: { ...x.witness, schedule: tail } });
  }

  /**
   * Met before any step made the classes (it then recorded nothing either), one thread stops with
   * a graph of no class, where this one took the threads' numbering already: one made afresh.
   */
  private beforeClasses(ev: WorkerEvent): void {
    const at = this.classesAt;
    if (at && keyBefore(ev.parent, ev.seq, at[0], at[1]) && this.graph.edgeCount === 0 && this.graph.recursionCount === 0) this.graph = new LockOrder();
  }

  private keep(kept: (r: LockRecord) => boolean): void {
    this.graph.rollback(this.mark);
    for (const r of this.records) if (kept(r)) this.add(r);
  }
}

/** The checkpoint after `closing`: its thread's next row in its parent, else the first row of any thread in a later parent. */
function checkpointOf(rows: readonly Int32Array[], closing: LockRecord): LockStop | undefined {
  const mine = rows[closing.thread];
  // A recursion closes no cycle: `closing` is an edge, and rows count edges in their first int.
  for (let o = 0; o < mine.length; o += CHECK_ROW) {
    if (mine[o] <= closing.at) continue;
    if (mine[o + 2] === closing.parent) return stopAt(mine, o, closing.thread);
    break;
  }
  return firstAfter(rows, closing.parent);
}

/** The first row of any thread in a parent after `parent`. */
function firstAfter(rows: readonly Int32Array[], parent: number): LockStop | undefined {
  let best: LockStop | undefined;
  rows.forEach((r, thread) => {
    for (let o = 0; o < r.length; o += CHECK_ROW) {
      if (r[o + 2] <= parent) continue;
      if (!best || r[o + 2] < best.parent) best = stopAt(r, o, thread);
      return;
    }
  });
  return best;
}

function stopAt(rows: Int32Array, o: number, thread: number): LockStop {
  return { edges: rows[o], recursions: rows[o + 1], parent: rows[o + 2], seq: rows[o + 3], transitions: rows[o + 4], beyond: rows[o + 5], thread };
}
