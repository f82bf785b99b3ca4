/**
 * One thread's share of a level of the parallel search (parallel.ts): the coordinating thread runs
 * one `LevelExpander` over its own world, each worker thread (parallel-worker.ts) one over the model
 * it rebuilt. It takes blocks of the level's parents from the shared counter, expands them, offers
 * their successors to the shared fingerprint table, waits at the level's barrier, and reports the
 * new states it ended up owning.
 *
 * The new states' records stay where they were written: each thread has two stores in shared
 * memory, used in turn by even and odd levels, so the next level's parents are read in place by
 * whichever thread takes them — no copy, no allocation per level (a store keeps its chunks). A
 * store holds each state as its differences from the one the thread stored before it (`LevelStore`,
 * as the one-thread search's levels): a few dozen words, where a whole state is several hundred,
 * written while they are in the cache. A thread reads a store in order (`LevelReader`), applying
 * also the records of the states other threads took in between.
 */
import type { World } from '../world/world.js';
import { applyRecord, CHUNK_END, LevelStore } from './state-store.js';
import { taggedHi, taggedLo } from './visited.js';
import type { Found, Verdicts } from './verdict.js';
import { StateExpansion, type SuccessorSink } from './successors.js';
import { LoneRun, regionActors, roleMasks } from './termination.js';
import { grow } from './grow.js';
import type { CounterOptions } from './counters.js';
import { Canonical } from './canonical.js';
import { equivarianceDue, type ActorCanon } from './actor-symmetry.js';
import { ModelError } from '../world/errors.js';
import { LockOrder } from '../world/lock-order.js';
import type { LevelLocks } from './parallel-locks.js';
import { ABORT_GROW, ABORT_STOP_MEMORY, ABORT_STOP_STATES, ABORT_STOP_TIME, BLOCK, CTL, DEADLOCK_SEQ, keyBefore, MAX_LOAD, NO_EVENT, offerEvent, SharedFingerprints } from './parallel-shared.js';

/** A level's states in order, in shared memory (parallel.ts merges it from the threads' reports; every thread reads it). */
export interface LevelOrder {
  /** The level's state at position p: record `rec[p]` of thread `who[p]`'s store. */
  readonly who: Int32Array;
  readonly rec: Int32Array;
  /** Under a preemption bound: the preemptions the state at position p was reached with, and the actor that ran last (-1 at the root). */
  readonly pre: Int32Array;
  readonly last: Int32Array;
  /** With several violations asked for: 1 at the positions of states that violate a property (in the tree, not expanded, as one thread keeps them). */
  readonly skip: Int32Array;
}

export interface LevelMessage extends LevelOrder {
  readonly kind: 'level';
  /** The level's depth: its parity picks the store its new states go to. */
  readonly depth: number;
  /** The id of the level's first state, and how many it has. */
  readonly start: number;
  readonly count: number;
  readonly table: SharedArrayBuffer;
  /** The list of the level's lost entries (parallel-shared.ts, its length in the control block's LOST). */
  readonly lost: Int32Array;
  /** Per thread, the chunks of its store that hold the level's states. */
  readonly chunks: readonly (readonly Int32Array[])[];
}

/**
 * A violation a thread met in a level: its first (the coordinator keeps the first of all), or each
 * with several asked for. A model error met in a transition (`error`: a refused symmetry, a step
 * beyond its footprint) is ordered among them like one: the one-thread search stops at whichever it
 * meets first.
 */
export interface WorkerEvent {
  readonly parent: number;
  readonly seq: number;
  readonly kind: 'bug' | 'state' | 'deadlock' | 'lone' | 'error';
  readonly found: Found;
  readonly entry: number;
  readonly steps: number;
  /** Under actor symmetry, the permutation that made the state the transition reached canonical (a `lone` run's steps name its actors). */
  readonly applied: number;
  /** Transitions counted from the parent when it was met, and (under a preemption bound) transitions cut off by it. */
  readonly transitions: number;
  readonly beyond: number;
  readonly loneSteps?: readonly number[];
  /** With the lock-order graph: what a blocked step that raised a BUG recorded (one thread keeps it only if the search ends there). */
  readonly locks?: Pick<LevelLocks, 'edges' | 'recursions'>;
}

/**
 * Per new state a thread owns, in `LevelReport.kept`: parent, entry, steps, region actors,
 * fingerprint lo, hi, record in the thread's store, the actor permutation that made it canonical,
 * the preemptions it was reached with, 1 if it violates a property, its successor number.
 */
export const KEPT_ROW = 11;

export interface LevelReport {
  readonly kind: 'level';
  readonly aborted: boolean;
  readonly event?: WorkerEvent;
  /** Transitions from the parents this thread expanded (before the level's first violation, if any), and those the preemption bound cut off. */
  readonly transitions: number;
  readonly beyond: number;
  /** With a violation in the level: the new states this thread owns that come before it. */
  readonly below: number;
  /**
   * With several violations asked for (`ExpandOptions.multi`): every violation met in the level
   * (the coordinator takes them in key order), and per parent expanded its id, transitions and
   * transitions cut off (PER_PARENT ints each; for the counts at the one that ends the search).
   */
  readonly events?: readonly WorkerEvent[];
  readonly perParent?: Int32Array;
  /** The new states it owns, in (parent, successor) order (KEPT_ROW ints each), and the chunks of the store that holds them. */
  readonly kept?: Int32Array;
  readonly chunks?: readonly Int32Array[];
  /** Per region parent: id, fingerprint lo, hi, enabled actors, lock-acquiring actors (termination.ts), number of edges; then the edges (EDGE_ROW ints): target lo, hi, entry, steps, permutation. */
  readonly ends?: Int32Array;
  readonly edges?: Int32Array;
  /** With the lock-order graph: what this thread's graph recorded in the level (parallel-locks.ts). */
  readonly locks?: LevelLocks;
}

/** What a thread searches with, beside its world and verdicts. */
export interface ExpandOptions {
  readonly merge: boolean;
  readonly maxStates: number;
  /** Date.now() after which the search stops (threads do not share performance.now()). */
  readonly deadline: number;
  readonly maxMemoryBytes: number;
  /** The counter abstraction (counters.ts): every thread interns states renamed, as one thread does. */
  readonly counters: CounterOptions | undefined;
  /** The symmetry reductions (exhaustive.ts `symmetry`, `actorGroups`): every thread interns canonical states, as one thread does. */
  readonly symmetry: boolean | undefined;
  readonly actorGroups: readonly (readonly number[])[] | undefined;
  /** Under actor symmetry: check the transitions of the states `equivarianceDue` says (0: none). */
  readonly equivarianceEvery: number;
  /** The preemption bound (exhaustive.ts `preemptions`), -1 for none: states are keyed by (state, preemptions used, last actor). */
  readonly preemptions: number;
  /**
   * Several violations asked for (exhaustive.ts `maxViolations`): the threads go on after one,
   * report every one, and always their new states; a state that violates a property is kept (in
   * the tree) but not expanded.
   */
  readonly multi: boolean;
  /**
   * Record the lock-order graph (exhaustive.ts `lockOrder`): each thread records into a graph of its
   * own, reports what it recorded in each level, and the coordinator merges it (parallel-locks.ts).
   * Needs `multi`: the level's cycle is known only once merged, after every thread went through it.
   */
  readonly lockOrder: boolean;
}

/** Ints per region edge in `LevelReport.edges`. */
export const EDGE_ROW = 5;

/** Growable Int32 list. */
class IntList {
  a = new Int32Array(1024);
  n = 0;
  push(x: number): void {
    if (this.n === this.a.length) this.a = grow(this.a);
    this.a[this.n++] = x;
  }
  /** Room for `k` more, written by the caller into `a` from the returned index (one check for a row, not one per int). */
  reserve(k: number): number {
    while (this.n + k > this.a.length) this.a = grow(this.a);
    const at = this.n;
    this.n += k;
    return at;
  }
  get(i: number): number {
    return this.a[i];
  }
  copy(): Int32Array {
    return this.a.slice(0, this.n);
  }
}

/** Per lock-order checkpoint, in `LevelLocks.checks`: the thread's edges and recursions recorded by then, parent, successor number, transitions counted from the parent, transitions cut off. */
export const CHECK_ROW = 6;

/** Per candidate: parent, successor number, entry, steps, region actors, table entry, lo, hi, record in the store, permutation, preemptions, violates. */
const CAND = 12;
/** Per parent expanded, in `perParent`: its id, the transitions from it, those the preemption bound cut off. */
export const PER_PARENT = 3;
/** Blocks between two readings of the process's RSS (with a memory limit). */
const MEMORY_BLOCKS = 16;

export class LevelExpander implements SuccessorSink {
  private readonly L;
  private readonly roles;
  private readonly fair: boolean;
  private readonly lone: LoneRun | undefined;
  /** The reductions that rename states (canonical.ts), as one thread applies them. */
  private readonly canonical: Canonical;
  /** A state's transitions, as one thread runs them (successors.ts); this object is its sink. */
  private readonly expansion: StateExpansion;
  private readonly parent: Int32Array;
  /** The state being expanded: its id, the table its successors are offered to, the store they go to, whether it is in the termination check's region. */
  private curId = 0;
  private curTable: SharedFingerprints | undefined;
  private curOut: LevelStore | undefined;
  private curRegion = false;
  /** The stores of even and odd levels' new states. */
  private readonly stores: readonly [LevelStore, LevelStore];
  private readonly reader: LevelReader;
  private readonly cand = new IntList();
  private readonly perParent = new IntList();
  private readonly ends = new IntList();
  private readonly edges = new IntList();
  private event: WorkerEvent | undefined;
  /** With `multi`: every violation of the level. */
  private events: WorkerEvent[] = [];
  /**
   * With `lockOrder`: this thread's graph, what it had recorded when the level started (a level run
   * again takes back what its first run recorded), and the level's checkpoints (`CHECK_ROW`).
   */
  private readonly lo: LockOrder | null;
  private levelMark = 0;
  private levelDepth = -1;
  private readonly checks = new IntList();
  /** A model error ended this thread's share of the level (what comes after it cannot change the outcome). */
  private halted = false;
  private blocks = 0;
  /** Milliseconds spent waiting for the other threads (VMAMIRROR_PARALLEL_TIMES, parallel.ts). */
  waitMs = 0;

  constructor(
    private readonly w: World,
    private readonly verdicts: Verdicts,
    private readonly ctl: Int32Array,
    private readonly opts: ExpandOptions,
    /** Called after each block (the coordinating thread polls its stop request and reports progress). */
    private readonly afterBlock?: () => void,
  ) {
    this.L = w.layout;
    this.roles = roleMasks(w);
    // Termination is a property of whole runs; under a preemption bound only bounded runs exist (exhaustive.ts).
    this.fair = verdicts.terminationOn && opts.preemptions < 0;
    this.canonical = new Canonical(w, opts);
    this.lo = opts.lockOrder ? new LockOrder() : null;
    w.lockOrder = this.lo;
    const before = new Int32Array(this.actors && opts.equivarianceEvery > 0 ? this.L.size : 0);
    const expansion = new StateExpansion(w, verdicts, this.canonical, this.lo, opts.merge, before);
    this.expansion = expansion;
    // A witness's coordinates, which the coordinator turns into its schedule (parallel-locks.ts).
    if (this.lo) this.lo.schedule = () => [expansion.atId, expansion.atSeq, expansion.atEntry, expansion.atSteps];
    this.lone = this.fair ? new LoneRun(w, false, this.canonical.counters) : undefined;
    this.parent = new Int32Array(this.L.size);
    this.stores = [new LevelStore(this.L, 1 << 20, true), new LevelStore(this.L, 1 << 20, true)];
    this.reader = new LevelReader(this.L.size);
  }

  /** The row domains renumbered (`symmetry`), when the layout has one. */
  get renumbers(): readonly string[] | undefined {
    return this.canonical.rows?.names;
  }

  /** The actor permutations, if any (the coordinator's also records each node's: `ActorCanon.noteNode`). */
  get actors(): ActorCanon | undefined {
    return this.canonical.actors;
  }

  /** Whether states are renamed (some counter domain is not concrete). */
  get renames(): boolean {
    return this.canonical.counters !== undefined;
  }

  /** The state the search starts from, as exhaustive.ts takes it (canonical.ts; `w` at `initial`). */
  start(initial: Int32Array): Int32Array {
    return this.canonical.start(this.w, initial, this.opts.preemptions >= 0);
  }

  /** Puts the root (`start`) into the store of level 0's states (its record 0); returns the store's chunks. */
  root(state: Int32Array): readonly Int32Array[] {
    const s = this.stores[0];
    s.clear();
    s.push(state, 0);
    return s.chunkList;
  }

  /**
   * Records `e`: as this thread's first violation of the level if it is, offered as the level's;
   * with several asked for, beside the others (only a model error is offered: it ends the level).
   */
  private found(e: WorkerEvent): void {
    if (this.opts.multi) {
      // The coordinator takes them in order until it has enough: only a model error ends the level.
      this.events.push(e);
      if (e.kind === 'error') offerEvent(this.ctl, e.parent, e.seq);
      return;
    }
    if (!this.event || keyBefore(e.parent, e.seq, this.event.parent, this.event.seq)) this.event = e;
    offerEvent(this.ctl, e.parent, e.seq);
  }

  /** Expands level position `p` (state `id`), its new states going to `out`. */
  private expand(msg: LevelMessage, table: SharedFingerprints, out: LevelStore, id: number, p: number): void {
    const { w, verdicts, parent, ends, roles, reader, expansion } = this;
    // Over the state expanded last: only what changed is written, and the pushes compare only there.
    reader.read(msg.chunks, msg.who[p], msg.rec[p], parent);
    out.startFrom(reader);
    if (msg.skip[p] !== 0) {
      // A state that violates a property: what follows it is the same finding (exhaustive.ts).
      this.perParent.push(id);
      this.perParent.push(0);
      this.perParent.push(0);
      return;
    }
    w.load(parent);
    const bound = this.opts.preemptions;
    this.curId = id;
    this.curTable = table;
    this.curOut = out;
    this.curRegion = this.fair && regionActors(w, roles) !== 0;
    const edgesBefore = this.edges.n;
    const checkHere = this.actors !== undefined && equivarianceDue(id, this.opts.equivarianceEvery);
    const undo = w.undoMark();
    try {
      expansion.expand(parent, id, bound, bound >= 0 ? msg.pre[p] : 0, bound >= 0 ? msg.last[p] : -1, 0, checkHere, this);
    } catch (e) {
      if (!(e instanceof ModelError)) throw e;
      // Where the one-thread search would stop with it, unless a violation comes first.
      w.choice = 0;
      w.tracking = false;
      w.clearBugs();
      w.undoTo(undo);
      const { atSeq: seq, atEntry: entry } = expansion;
      this.found({ parent: id, seq, kind: 'error', found: { property: e.name, message: e.message }, entry, steps: 1, transitions: 0, beyond: 0, applied: 0 });
      this.halted = true;
      return;
    }
    if (this.curRegion) {
      ends.push(id);
      ends.push(parent[0]);
      ends.push(parent[1]);
      ends.push(expansion.enabledMask);
      ends.push(expansion.acquiringMask);
      ends.push((this.edges.n - edgesBefore) / EDGE_ROW);
    }
    const { transitions, beyond } = expansion;
    if (expansion.enabled === 0 && verdicts.deadlock(expansion.unfinished)) {
      w.load(parent);
      this.found({ parent: id, seq: DEADLOCK_SEQ, kind: 'deadlock', found: verdicts.deadlock(expansion.unfinished, w)!, entry: -1, steps: 0, transitions, beyond, applied: 0 });
    }
    this.perParent.push(id);
    this.perParent.push(transitions);
    this.perParent.push(beyond);
  }

  /** SuccessorSink: a BUG met in a transition of the state expanded (successors.ts). */
  bug(seq: number, entry: number, steps: number, blocked: boolean, tr: number, beyond: number): boolean {
    const { w, lo } = this;
    // What a blocked step recorded: one thread keeps it only if the search ends at its BUG (parallel-locks.ts).
    const recorded = blocked && lo ? { locks: lo.recordedSince(this.expansion.lockMark) } : undefined;
    this.found({ parent: this.curId, seq, kind: 'bug', found: this.verdicts.bug(w)!, entry, steps, transitions: tr, beyond, applied: 0, ...recorded });
    return false;
  }

  /**
   * SuccessorSink: a point where the one-thread search asks the lock-order graph for a cycle, in
   * transition `seq` of the state expanded, `tr` transitions counted from it: a row when the graph
   * recorded something since the last row, and at the state's first (parallel-locks.ts).
   */
  checkpoint(seq: number, tr: number, beyond: number): boolean {
    const lo = this.lo!;
    const id = this.curId;
    const edges = lo.edgeCount;
    const recursions = lo.recursionCount;
    const rows = this.checks;
    const n = rows.n;
    if (n > 0 && rows.a[n - CHECK_ROW + 2] === id && rows.a[n - CHECK_ROW] === edges && rows.a[n - CHECK_ROW + 1] === recursions) return false;
    // About one row per parent, and only with the graph on: not the hot path.
    const o = rows.reserve(CHECK_ROW);
    rows.a.set([edges, recursions, id, seq, tr, beyond], o);
    return false; // the coordinator merges the level's records, then knows where one thread stops
  }

  /** SuccessorSink: a transition reached the loaded state: offered to the shared table, kept if this parent owns it. */
  successor(seq: number, a: number, entry: number, steps: number, mark: number, applied: number, pre: number, tr: number, beyond: number): boolean {
    const { w, verdicts, cand, edges, roles, lone, lo } = this;
    const id = this.curId;
    const table = this.curTable!;
    const out = this.curOut!;
    const region = this.curRegion;
    const next = w.v;
    // Under a preemption bound, keyed by (state, preemptions used, last actor): the tag is never 0.
    const tag = this.opts.preemptions >= 0 ? pre * 0x10000 + a + 1 : 0;
    const keyLo = taggedLo(next, tag);
    const keyHi = taggedHi(next, tag);
    const k = table.offer(keyLo, keyHi, id);
    if (k >= 0) {
      // As one thread checks it: only the properties whose fields the transition wrote (its parent, expanded, satisfied them all).
      const v = verdicts.stateSince(w, mark);
      if (v) this.found({ parent: id, seq, kind: 'state', found: v, entry, steps, transitions: tr, beyond, applied });
      const c0 = cand.reserve(CAND);
      const row = cand.a;
      row[c0] = id;
      row[c0 + 1] = seq;
      row[c0 + 2] = entry;
      row[c0 + 3] = steps;
      row[c0 + 4] = this.fair && !v ? regionActors(w, roles) : 0;
      row[c0 + 5] = k;
      row[c0 + 6] = keyLo;
      row[c0 + 7] = keyHi;
      row[c0 + 8] = out.count;
      row[c0 + 9] = applied;
      row[c0 + 10] = pre;
      row[c0 + 11] = v ? 1 : 0;
      out.push(next, 0, w.undoEntries, mark, w.undoLength);
      if (!v && lone) {
        if (lo) lo.paused = true; // a look-ahead of the lone actor: the search gets to its steps itself
        const run = lone.check(next);
        if (lo) lo.paused = false;
        if (run) this.found({ parent: id, seq, kind: 'lone', found: run.found, entry, steps, transitions: tr, beyond, loneSteps: run.steps, applied });
        w.load(next);
      }
    }
    if (region) {
      const e0 = edges.reserve(EDGE_ROW);
      const edge = edges.a;
      edge[e0] = next[0];
      edge[e0 + 1] = next[1];
      edge[e0 + 2] = entry;
      edge[e0 + 3] = steps;
      edge[e0 + 4] = applied;
    }
    return false;
  }

  /** This thread's share of level `msg`, through the barrier every thread of the search waits at. */
  level(msg: LevelMessage): LevelReport {
    const ctl = this.ctl;
    const table = new SharedFingerprints(msg.table, { ctl, list: msg.lost });
    const limit = Math.floor(table.capacity * MAX_LOAD);
    // A level run again (the table grew) writes over its first run's states.
    const out = this.stores[(msg.depth + 1) & 1];
    out.clear();
    this.reader.reset(msg.chunks.length);
    const { cand, perParent } = this;
    cand.n = 0;
    perParent.n = 0;
    this.ends.n = 0;
    this.edges.n = 0;
    this.event = undefined;
    this.events = [];
    this.halted = false;
    this.checks.n = 0;
    if (this.lo) {
      // A level run again (the table grew) takes back what its first run recorded.
      if (this.levelDepth === msg.depth) this.lo.rollback(this.levelMark);
      this.levelMark = this.lo.mark();
      this.levelDepth = msg.depth;
    }
    const abort = (why: number) => Atomics.compareExchange(ctl, CTL.ABORT, 0, why);
    let counted = 0;
    for (;;) {
      if (Atomics.load(ctl, CTL.ABORT) !== 0 || this.halted) break;
      const p0 = takeBlock(ctl, msg.count);
      // Parents after the level's first violation known so far cannot change the outcome.
      if (p0 >= msg.count || msg.start + p0 > Atomics.load(ctl, CTL.EVENT_PARENT)) break;
      const before = perParent.n;
      const threads = Atomics.load(ctl, CTL.WORKERS);
      for (let p = p0, end = p0 + blockSize(p0, msg.count, threads); p < end && !this.halted; p++) this.expand(msg, table, out, msg.start + p, p);
      let blockTr = 0;
      for (let i = before + 1; i < perParent.n; i += PER_PARENT) blockTr += perParent.get(i);
      Atomics.add(ctl, CTL.TRANSITIONS, blockTr);
      const n = Atomics.add(ctl, CTL.COUNT, table.added - counted) + table.added - counted;
      counted = table.added;
      if (n >= limit) abort(ABORT_GROW);
      else if (n >= this.opts.maxStates) abort(ABORT_STOP_STATES);
      else if (Date.now() >= this.opts.deadline) abort(ABORT_STOP_TIME);
      // Reading the RSS costs about as much as expanding a few states: only with a limit, now and then.
      else if (this.opts.maxMemoryBytes !== Number.POSITIVE_INFINITY && ++this.blocks % MEMORY_BLOCKS === 0 && process.memoryUsage.rss() >= this.opts.maxMemoryBytes) abort(ABORT_STOP_MEMORY);
      this.afterBlock?.();
    }
    arriveAtBarrier(ctl);
    // The barrier: every offer of the level is in the table before an owner is read.
    const t = performance.now();
    for (let d = Atomics.load(ctl, CTL.DONE); d < Atomics.load(ctl, CTL.WORKERS); d = Atomics.load(ctl, CTL.DONE)) Atomics.wait(ctl, CTL.DONE, d);
    this.waitMs += performance.now() - t;
    return this.report(table, out, msg.lost);
  }

  private report(table: SharedFingerprints, out: LevelStore, lostList: Int32Array): LevelReport {
    const { cand, perParent, ctl } = this;
    const nLost = Atomics.load(ctl, CTL.LOST);
    const lost = nLost > lostList.length ? null : new Set(lostList.subarray(0, nLost));
    const aborted = Atomics.load(ctl, CTL.ABORT) !== 0;
    const eParent = Atomics.load(ctl, CTL.EVENT_PARENT);
    const eSeq = Atomics.load(ctl, CTL.EVENT_SEQ);
    let transitions = 0;
    let beyond = 0;
    for (let i = 0; i < perParent.n; i += PER_PARENT) {
      if (eParent !== NO_EVENT && perParent.get(i) >= eParent) continue;
      transitions += perParent.get(i + 1);
      beyond += perParent.get(i + 2);
    }
    if (aborted && Atomics.load(ctl, CTL.ABORT) === ABORT_GROW) return { kind: 'level', aborted, transitions, beyond, below: 0 };
    if (!this.opts.multi && (eParent !== NO_EVENT || aborted)) {
      let below = 0;
      for (let i = 0; i < cand.n; i += CAND) {
        if (table.owns(cand.get(i + 5), cand.get(i), lost) && keyBefore(cand.get(i), cand.get(i + 1), eParent, eSeq)) below++;
      }
      return { kind: 'level', aborted, event: this.event, transitions, beyond, below };
    }
    // The states this thread owns, in its (parent, successor) order: the coordinator merges the threads' lists.
    const kept = new Int32Array((cand.n / CAND) * KEPT_ROW);
    let o = 0;
    for (let i = 0; i < cand.n; i += CAND) {
      if (!table.owns(cand.get(i + 5), cand.get(i), lost)) continue;
      kept[o] = cand.get(i);
      kept[o + 1] = cand.get(i + 2);
      kept[o + 2] = cand.get(i + 3);
      kept[o + 3] = cand.get(i + 4);
      kept[o + 4] = cand.get(i + 6);
      kept[o + 5] = cand.get(i + 7);
      kept[o + 6] = cand.get(i + 8);
      kept[o + 7] = cand.get(i + 9);
      kept[o + 8] = cand.get(i + 10);
      kept[o + 9] = cand.get(i + 11);
      kept[o + 10] = cand.get(i + 1);
      o += KEPT_ROW;
    }
    const multi = this.opts.multi && { events: this.events, perParent: perParent.copy() };
    const locks = this.lo && { locks: this.levelLocks(this.lo) };
    return { kind: 'level', aborted, transitions, beyond, below: 0, ...multi, ...locks, kept: kept.slice(0, o), chunks: out.chunkList, ends: this.ends.copy(), edges: this.edges.copy() };
  }

  /** What this thread's lock-order graph recorded in the level (parallel-locks.ts). */
  private levelLocks(lo: LockOrder): LevelLocks {
    const { edges, recursions } = lo.recordedSince(this.levelMark);
    const firstClassAt = lo.firstClassAt && { firstClassAt: lo.firstClassAt };
    return { classes: [...lo.classNames], edges, recursions, edgeBase: lo.edgeCount - edges.length, recursionBase: lo.recursionCount - recursions.length, checks: this.checks.copy(), ...firstClassAt };
  }
}

/**
 * Reads a level's states from the threads' stores (`LevelStore` records, each the differences from
 * the record before it in its store): per store, a mirror of the state of the last record applied.
 * A thread reads its positions in increasing order, so each store's records in order; reaching a
 * record applies those before it that other threads took. Into the buffer that holds the state read
 * last, from the same store, it writes only the slots those records change, and says which
 * (`takenSlots`, for `LevelStore.startFrom`); into any other buffer it copies the whole mirror.
 */
export class LevelReader {
  private cur: Int32Array[] = [];
  /** Per store: the next record to apply, and where it starts (chunk, offset). */
  private next: number[] = [];
  private chunk: number[] = [];
  private at: number[] = [];
  /** The store whose mirror the buffer read into last holds (-1: none). */
  private synced = -1;
  /** The slots the last `read` wrote (`nTaken`, with repeats), unless `takenWhole`: it copied the whole state. */
  readonly takenSlots: Int32Array;
  nTaken = 0;
  takenWhole = true;

  constructor(private readonly size: number) {
    // Room for a few records of every slot; more falls back to copying the whole state.
    this.takenSlots = new Int32Array(4 * size);
  }

  /** Starts a level of `stores` stores, each read from its first record. */
  reset(stores: number): void {
    while (this.cur.length < stores) this.cur.push(new Int32Array(this.size));
    for (let k = 0; k < stores; k++) {
      this.cur[k].fill(0);
      this.next[k] = 0;
      this.chunk[k] = 0;
      this.at[k] = 0;
    }
    this.synced = -1;
  }

  /** Reads record `r` of store `k` (of `chunks[k]`) into `dst`: `r` is not before the last record read from it. */
  read(chunks: readonly (readonly Int32Array[])[], k: number, r: number, dst: Int32Array): void {
    const cur = this.cur[k];
    const taken = this.takenSlots;
    let inSync = this.synced === k;
    let n = 0;
    let ci = this.chunk[k];
    let at = this.at[k];
    let c = chunks[k][ci];
    for (let i = this.next[k]; i <= r; i++) {
      if (at >= c.length || c[at] === CHUNK_END) {
        c = chunks[k][++ci];
        at = 0;
      }
      const end = at + 2 + c[at + 1];
      // Past the room for the slots written: the rest goes to the mirror alone, then copied whole.
      if (inSync && n + (end - at) > taken.length) inSync = false;
      n = applyRecord(c, at + 2, end, cur, inSync ? dst : null, taken, n);
      at = end;
    }
    if (!inSync) dst.set(cur);
    this.next[k] = r + 1;
    this.chunk[k] = ci;
    this.at[k] = at;
    this.synced = k;
    this.nTaken = inSync ? n : 0;
    this.takenWhole = !inSync;
  }
}

/**
 * The size of the block of a level of `count` parents that starts at position `p0`: guided, a
 * share of what is left, smaller towards the end so that the threads reach the barrier together
 * (and a level of a few parents is shared too), at most BLOCK.
 */
function blockSize(p0: number, count: number, threads: number): number {
  return Math.max(1, Math.min(BLOCK, Math.ceil((count - p0) / (4 * threads))));
}

/** Takes the next block of the level (of `blockSize`): its first position, `count` or more when none is left. */
function takeBlock(ctl: Int32Array, count: number): number {
  const threads = Atomics.load(ctl, CTL.WORKERS);
  for (;;) {
    const p0 = Atomics.load(ctl, CTL.NEXT);
    if (p0 >= count || Atomics.compareExchange(ctl, CTL.NEXT, p0, p0 + blockSize(p0, count, threads)) === p0) return p0;
  }
}

/** Counts this thread in at the level's barrier (also a thread that failed: nobody must wait for it). */
export function arriveAtBarrier(ctl: Int32Array): void {
  if (Atomics.add(ctl, CTL.DONE, 1) + 1 >= Atomics.load(ctl, CTL.WORKERS)) Atomics.notify(ctl, CTL.DONE);
}
