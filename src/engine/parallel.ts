/**
 * Exhaustive breadth-first search on every core of one machine: this thread and N - 1 worker threads
 * (parallel-worker.ts) expand the states of one level at a time (parallel-expand.ts) and share one
 * fingerprint table (parallel-shared.ts); this thread also coordinates, and keeps the search tree
 * and the termination graph. It expands its share like the others rather than waiting for them:
 * on N cores, N threads search and none is left idle (a coordinator that only waits would leave a
 * core to a thread that mostly sleeps, and cost a model's copy).
 *
 * The result is the one-thread search's (exhaustive.ts with `bfs`), not merely an equivalent one:
 *
 * - every thread runs a state's transitions with the one-thread search's own loop (successors.ts):
 *   the same steps in the same order, the same counts, each finding met at the same place;
 * - the states of a level are expanded in blocks handed out in id order, and a state discovered
 *   twice in a level belongs to the smaller parent id (the table's owner word), so the next level,
 *   merged from the workers' lists in (parent, successor) order, is the one-thread level in the
 *   one-thread order, with the same ids, the same tree, the same termination graph;
 * - the first violation is the smallest (parent id, successor number) any worker met in the level:
 *   the one the one-thread search meets first. A violation met at a state another parent owns is
 *   met by that parent first (a state's verdict depends on the state alone). The states and
 *   transitions reported are those the one-thread search had counted when it met it. (What the
 *   world records beside the state — labels reached, accesses assumed — is the same on a complete
 *   search; after a violation the workers may have run steps of the level past it.)
 * - a model error met in a transition (a refused symmetry, an audit's finding) is ordered among the
 *   level's violations like one: the search stops with whichever the one-thread search meets first;
 * - under the counter abstraction and the symmetry reductions every thread renames its successors
 *   before it offers them, as one thread does; under actor symmetry each new state and each region
 *   edge comes with the permutation that made it canonical, which this thread records in the tree
 *   (schedules are translated back to concrete actors) and the termination graph (multiplied out
 *   after the search, as exhaustive.ts does).
 * - a property that learns over the search (verdict.ts `Property.learned`: the outcome check's
 *   outcomes reached) learns on every thread; what the workers learned joins this thread's copy at
 *   the end;
 * - the lock-order graph (`lockOrder`): every thread records into a graph of its own and reports
 *   each level's records; this thread merges them in the one-thread order and stops where one
 *   thread meets the first cycle (parallel-locks.ts). The threads go through each level then, as
 *   with several violations asked for: a cycle is known only once the level's records are merged.
 *
 * Workers rebuild the model themselves from a module the caller names (`ParallelOptions.module`,
 * exporting `parallelModel`): the engine knows nothing of what is modelled. Supported: `bfs` with
 * fingerprints (no `exact`: `parallelUnsupported`); a preemption bound (each
 * level carries its states' preemptions and last actors, and each thread keys a state by them, as
 * exhaustive.ts does); several violations (the threads go on after one and report each, this
 * thread takes them in the one-thread order: `takeViolations`; a state that violates a property
 * is a position of the next level that no thread expands, so ids stay the one-thread ones).
 * Limits (states, time, memory, a stop request) are polled by the threads once per block; a run
 * stopped by one is incomplete, and its counts are what was done.
 *
 * With the environment variable VMAMIRROR_PARALLEL_TIMES set, the search writes to standard error
 * how the wall time of each thread went (docs/performance.md, "Worker threads"): the share this
 * thread spent merging the levels, and each thread's share waiting for the others; and the shares
 * this thread searched alone: before the workers joined, and after the last level (the termination
 * graph's search for a lasso, which the workers wait through).
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { World } from '../world/world.js';
import type { RunRecord } from '../world/world.js';
import { entryActor, entryChoice, transitionEntries } from '../world/entry.js';
import { execStep } from '../world/runner.js';
import { ModelError } from '../world/errors.js';
import { Tree } from './tree.js';
import { FairTermination } from './termination.js';
import { collisionBound } from './visited.js';
import { verdictsOf, type Violation } from './verdict.js';
import { ParallelLockOrder, type LockStop } from './parallel-locks.js';
import { actorSymmetryReport, concreteViolation, lockCycleViolation, lockOrderReport, type ExploreOptions, type ExploreResult, type StopReason } from './exhaustive.js';
import { ConcreteSchedules, equivarianceEvery } from './actor-symmetry.js';
import { Findings } from './findings.js';
import {
  ABORT_GROW,
  ABORT_STOP_INTERRUPTED,
  ABORT_STOP_MEMORY,
  ABORT_STOP_STATES,
  ABORT_STOP_TIME,
  CTL,
  controlBlock,
  keyBefore,
  LOST_ROOM,
  MAX_LOAD,
  NO_EVENT,
  SharedFingerprints,
} from './parallel-shared.js';
import type { LearnedByProperty, SearchRequest, WorkerInput } from './parallel-worker.js';
import { returnSearchWorkers, takeSearchWorkers } from './parallel-pool.js';
import { arriveAtBarrier, EDGE_ROW, KEPT_ROW, LevelExpander, PER_PARENT, type ExpandOptions, type LevelMessage, type LevelOrder, type LevelReport, type WorkerEvent } from './parallel-expand.js';

export interface ParallelOptions {
  /** Threads searching, this one included (2 or more; one thread is exhaustive.ts). */
  readonly workers: number;
  /** The URL of a module exporting `parallelModel(data)` (parallel-worker.ts `ParallelModel`), and its argument (structured-cloneable). */
  readonly module: string;
  readonly data: unknown;
  /** The table's first capacity, in entries (a power of two; it doubles when too full). */
  readonly initialCapacity?: number;
  /**
   * Grow the table before a level that the last level's branching says would fill it (default
   * true), rather than only when a level overflows it (the level then runs again: tests of that path).
   */
  readonly growAhead?: boolean;
  /**
   * Start only once every worker has built its model (tests of the threads' agreement on small
   * searches). By default this thread searches the first levels alone, and the workers join at the
   * start of the first level after they are all ready (a thread started for the search takes a few
   * hundred ms; one prestarted, parallel-pool.ts, only builds the model).
   */
  readonly together?: boolean;
  /**
   * The fewest states a level must have for the workers to share it (default SHARED_LEVEL, or 1
   * with `together`): smaller levels this thread expands alone (tests of a worker leaving and
   * rejoining the levels).
   */
  readonly sharedLevel?: number;
}

/** Why `opts` cannot run on worker threads, if so (one sentence naming the option). */
export function parallelUnsupported(opts: ExploreOptions): string | undefined {
  if (opts.strategy && !opts.strategy.shortest) return `strategy ${opts.strategy.name}`; // workers search breadth-first
  if (opts.exact) return 'exact state storage';
  if (opts.onState) return 'a state callback';
  if (opts.order !== undefined) return 'a diversified expansion order'; // the threads expand each state's actors in order
  return undefined;
}

type ErrorMessage = { kind: 'error'; model: boolean; name: string; message: string };

const STOP_OF: Record<number, StopReason> = {
  [ABORT_STOP_STATES]: 'max-states',
  [ABORT_STOP_TIME]: 'time',
  [ABORT_STOP_MEMORY]: 'memory',
  [ABORT_STOP_INTERRUPTED]: 'interrupted',
};

function rss(): number {
  return process.memoryUsage.rss();
}

export function exploreParallel(w: World, opts: ExploreOptions, par: ParallelOptions): ExploreResult {
  const why = parallelUnsupported(opts);
  if (why) throw new Error(`${why} cannot run on worker threads`);
  const t0 = performance.now();
  const ctl = controlBlock();
  const ports: MessagePort[] = [];
  const deadline = opts.timeLimitMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + opts.timeLimitMs;
  const expand: ExpandOptions = {
    merge: opts.merge ?? true,
    maxStates: opts.maxStates ?? Number.POSITIVE_INFINITY,
    deadline,
    maxMemoryBytes: opts.maxMemoryBytes ?? Number.POSITIVE_INFINITY,
    counters: opts.counters,
    symmetry: opts.symmetry,
    actorGroups: opts.actorGroups,
    equivarianceEvery: opts.actorGroups?.length ? equivarianceEvery(opts.equivarianceEvery, opts.audit ?? false) : 0,
    preemptions: opts.preemptions ?? -1,
    // The lock-order graph's cycle is known once a level's records are merged: the threads go through the level.
    multi: (opts.maxViolations ?? 1) > 1 || (opts.lockOrder ?? false),
    lockOrder: opts.lockOrder ?? false,
  };
  Atomics.store(ctl, CTL.EVENT_PARENT, NO_EVENT);
  const threads = takeSearchWorkers(par.module, par.workers - 1);
  for (let i = 1; i < par.workers; i++) {
    const { port1, port2 } = new MessageChannel();
    const input: WorkerInput = {
      ...expand,
      module: par.module,
      data: par.data,
      port: port2,
      ctl,
      audit: opts.audit ?? false,
      liveness: opts.liveness ?? true,
      deadlock: opts.deadlock ?? true,
      reached: w.reached !== null,
    };
    const request: SearchRequest = { kind: 'search', input };
    threads[i - 1].postMessage(request, [port2]);
    ports.push(port1);
  }
  let finished = false;
  try {
    w.undoing = true;
    w.audit = opts.audit ?? false;
    const r = coordinate(w, opts, par, expand, ctl, ports, t0);
    finished = true;
    return r;
  } finally {
    if (!finished) {
      // This thread failed: the workers must not wait for it at a barrier, nor for a next level.
      arriveAtBarrier(ctl);
      for (const p of ports) p.postMessage({ kind: 'finish' });
      Atomics.add(ctl, CTL.SEQ, 1);
      Atomics.notify(ctl, CTL.SEQ);
    }
    returnSearchWorkers(par.module, threads, finished);
    // This search's channels: a worker that still posts on its end (one that never joined) posts to nobody.
    for (const p of ports) p.close();
    w.undoing = false;
    w.tracking = false;
    w.audit = false;
    // This thread's own lock-order graph (parallel-expand.ts): nothing records after the search.
    w.lockOrder = null;
    w.undoReset();
  }
}

/** Growable Int32 arrays in shared memory (a level's positions, read by every thread). */
function sharedInts(n: number, old?: Int32Array): Int32Array {
  return old && old.length >= n ? old : new Int32Array(new SharedArrayBuffer(4 * Math.max(1024, n * 2)));
}

/** How the wall time of each thread went (VMAMIRROR_PARALLEL_TIMES). */
interface Times {
  /** This thread: merging levels, and waiting (for the workers' reports, at barriers). */
  merge: number;
  wait: number;
  /** This thread alone: before the workers joined (they build their models), and after the last level (the termination graph's search). */
  before: number;
  after: number;
}

function coordinate(w: World, opts: ExploreOptions, par: ParallelOptions, expandOpts: ExpandOptions, ctl: Int32Array, ports: MessagePort[], t0: number): ExploreResult {
  const threads = par.workers;
  const verdicts = verdictsOf(opts);
  const tree = new Tree();
  const initial = w.snapshot();
  let table = SharedFingerprints.create(par.initialCapacity ?? INITIAL_CAPACITY);
  const lost = new Int32Array(new SharedArrayBuffer(4 * LOST_ROOM));
  const rss0 = rss();
  let peakRss = rss0;
  let peakBytes = 0;
  let transitions = 0;
  let maxDepth = 0;
  let lastProgress = t0;
  let frontierBytes = 0;
  const times: Times = { merge: 0, wait: 0, before: 0, after: 0 };

  const progress = (): void => {
    if (opts.shouldStop?.()) Atomics.compareExchange(ctl, CTL.ABORT, 0, ABORT_STOP_INTERRUPTED);
    const now = performance.now();
    if (now - lastProgress < 500 || !opts.onProgress) return;
    lastProgress = now;
    const states = Atomics.load(ctl, CTL.COUNT);
    opts.onProgress({ states, transitions: Atomics.load(ctl, CTL.TRANSITIONS), frontier: 0, depth: maxDepth, elapsedMs: now - t0, bytes: bytes(), rss: rss() });
  };
  const expander = new LevelExpander(w, verdicts, ctl, expandOpts, progress);
  // Under actor symmetry (exhaustive.ts): the tree's nodes record each state's permutation, the termination graph's edges theirs.
  const actors = expander.actors;
  const schedules = new ConcreteSchedules(actors, tree);
  // Termination is a property of whole runs; under a preemption bound only bounded runs exist.
  const bound = expandOpts.preemptions;
  const fair = verdicts.terminationOn && bound < 0 ? new FairTermination(w, actors, opts.maxTerminationProduct) : undefined;
  /** Transitions the preemption bound cut off. */
  let beyondBound = 0;
  // The violations found, one per shape, as exhaustive.ts keeps them; with several asked for, the
  // threads go on after one and this thread takes each level's in order (`takeViolations`).
  const maxViolations = opts.maxViolations ?? 1;
  const several = maxViolations > 1;
  // The threads go through every level and report every violation (several asked for, or the lock-order graph).
  const multi = expandOpts.multi;
  const locks = expandOpts.lockOrder ? new ParallelLockOrder((parent, tail) => schedules.to(parent, tail)) : undefined;
  const findings = new Findings(maxViolations);
  const found = findings.list;
  const enough = (v: Violation): boolean => findings.add(v);
  /** Waits until `word` reaches `target`, polling the stop request and reporting progress. */
  const waitFor = (word: number, target: number): void => {
    const t = performance.now();
    for (let v = Atomics.load(ctl, word); v < target; v = Atomics.load(ctl, word)) {
      Atomics.wait(ctl, word, v, 50);
      progress();
    }
    times.wait += performance.now() - t;
  };
  const bytes = () => table.buffer.byteLength + tree.bytes + (fair?.bytes ?? 0) + frontierBytes;
  /** Messages of the workers, one each; a worker's error is thrown here as what it was. */
  const receive = <T>(): T[] =>
    ports.map((p) => {
      const m = receiveMessageOnPort(p)?.message as T | ErrorMessage | undefined;
      if (m === undefined) throw new Error('a worker thread of the parallel search sent nothing');
      if ((m as ErrorMessage).kind === 'error') {
        const e = m as ErrorMessage;
        throw e.model ? new ModelError(e.message) : new Error(`${e.name}: ${e.message}`);
      }
      return m as T;
    });
  /** Ends the workers; their records (labels reached, accesses assumed) join this world's. */
  const collect = (): void => {
    Atomics.store(ctl, CTL.REPORTED, 0);
    for (const p of ports) p.postMessage({ kind: 'finish' });
    Atomics.add(ctl, CTL.SEQ, 1);
    Atomics.notify(ctl, CTL.SEQ);
    // Workers that never joined a level ran no step and learned nothing: a search that ended before
    // they had built their models (a small one) does not wait for them. Each ends this search when
    // it has, and serves the next one after (parallel-worker.ts: one search's levels at a time).
    if (!joined) return;
    waitFor(CTL.REPORTED, ports.length);
    const ends = receive<{ record: RunRecord; learned: LearnedByProperty; waitMs: number; ms: number }>();
    for (const m of ends) {
      w.absorbRecord(m.record);
      for (const { name, values } of m.learned) {
        const mine = opts.properties?.find((p) => p.name === name)?.learned;
        if (!mine) throw new Error(`a worker thread checked a property ${name} that learns, which this search was not given`);
        mine.absorb(values);
      }
    }
    if (process.env.VMAMIRROR_PARALLEL_TIMES) {
      const wall = performance.now() - t0;
      const pc = (x: number, of: number) => `${((100 * x) / of).toFixed(1)} %`;
      const workers = ends.map((m, k) => `worker ${k + 1} waits ${pc(m.waitMs, m.ms)}`).join(', ');
      const alone = `searches alone ${pc(times.before, wall)} before the workers join, ${pc(times.after, wall)} after the last level`;
      process.stderr.write(`parallel times: ${(wall / 1000).toFixed(2)} s; this thread merges ${pc(times.merge, wall)}, waits ${pc(times.wait + expander.waitMs, wall)}, ${alone}; ${workers}\n`);
    }
  };
  /**
   * Ends the search: `found`'s first violation, if any, is the verdict's (`verdict` says which).
   * `completeDepth`: a search stopped while it expanded the states of this depth (exhaustive.ts).
   */
  const finish = (verdict: ExploreResult['verdict'], states: number, stopReason?: StopReason, completeDepth = 0): ExploreResult => {
    collect();
    w.load(initial);
    // Found on a canonical state: a message names the actors of the concrete replay (exhaustive.ts).
    if (actors) for (let k = 0; k < found.length; k++) found[k] = concreteViolation(w, found[k], opts);
    const violation = found[0];
    peakBytes = Math.max(peakBytes, bytes());
    peakRss = Math.max(peakRss, rss());
    return {
      verdict,
      states,
      transitions,
      depth: maxDepth,
      violation,
      elapsedMs: performance.now() - t0,
      bytesPerState: states ? table.buffer.byteLength / states : 0,
      missedStateBound: collisionBound(states),
      stopReason,
      peakBytes,
      peakRss,
      rssGrowth: peakRss - rss0,
      ...(expander.renames && { counters: opts.counters }),
      ...(expander.renumbers && { symmetry: expander.renumbers }),
      ...(actors && { actorSymmetry: actorSymmetryReport(actors.names, fair) }),
      ...(completeDepth > 0 && bound < 0 && { completeDepth }),
      ...(bound >= 0 && { beyondBound }),
      ...(several && { violations: found }),
      ...(locks && { lockOrder: lockOrderReport(locks.graph) }),
    };
  };
  /** The end of a search stopped (`reason`) or that found enough: a violation if any was found (exhaustive.ts `stopped`). */
  const stopped = (states: number, reason?: StopReason, completeDepth = 0): ExploreResult => {
    if (!found.length) return finish('incomplete', states, reason, completeDepth);
    return finish('violation', states, reason ?? (several && found.length >= maxViolations ? 'max-violations' : undefined));
  };
  const replayTo = (schedule: readonly number[]): void => {
    w.undoing = false;
    w.load(initial.slice());
    for (const e of schedule) {
      w.choice = entryChoice(e);
      execStep(w, entryActor(e));
      w.choice = 0;
    }
    w.clearBugs();
  };

  // The root, as the one-thread search takes it (renamed under the counter abstraction; schedules replay from `initial`).
  const start0 = expander.start(initial);
  table.offer(start0[0], start0[1], -1);
  Atomics.store(ctl, CTL.COUNT, 1);
  const root = tree.add(-1, -1, 0, 0);
  actors?.noteNode(root);
  w.load(start0.slice());
  const v0 = verdicts.state(w);
  /** Whether the workers take part in the levels (from the first level on with `together`, else once all are ready). */
  let joined = false;
  const join = (): void => {
    receiveErrors(ports);
    joined = true;
    times.before = performance.now() - t0;
  };
  if (par.together) {
    waitFor(CTL.READY, ports.length);
    join();
  }
  if (v0) {
    enough({ ...v0, schedule: [] });
    return stopped(1);
  }
  fair?.discover(root, start0[0], start0[1]);
  let chunks: (readonly Int32Array[])[] = [expander.root(start0), ...ports.map(() => [])];
  // The root: record 0 of this thread's store.
  let order = levelOrder(1);
  // No actor ran before the root (its preemptions: none).
  order.last[0] = -1;
  let start = 0;
  let count = 1;
  /** New states per parent in the last level (the first level's guess: one per actor). */
  let branching = w.layout.actorNames.length;
  /**
   * The last level's reports, whose new states join the tree and the termination graph while the
   * other threads already expand them: only their order (`who`, `rec`) must be known
   * before the next level starts, and this thread takes its share of it once done.
   */
  let pending: { reports: LevelReport[]; depth: number; total: number } | undefined;
  const merge = (): void => {
    if (!pending) return;
    const tm = performance.now();
    const { reports, depth, total } = pending;
    const at = new Int32Array(threads);
    for (let j = 0; j < total; j++) {
      const k = order.who[j];
      const row = reports[k].kept!;
      const o = at[k]++ * KEPT_ROW;
      const id = tree.add(row[o], row[o + 1], depth + 1, row[o + 2]);
      actors?.noteNode(id, row[o + 7]);
      if (fair && row[o + 3] !== 0) fair.record(id, row[o + 3], row[o + 4], row[o + 5]);
    }
    if (fair) recordEdges(fair, reports);
    pending = undefined;
    times.merge += performance.now() - tm;
  };
  /**
   * When the threads go through every level (`multi`: several violations asked for, or the
   * lock-order graph): the violations of the level just searched (its new states `next`… in the
   * merged order, `total` of them) and its lock-order cycle (parallel-locks.ts), taken in the
   * one-thread order — (parent, successor) — until there are enough; then the end of the search,
   * with the counts one thread has when it meets the last one taken. A model error first is
   * thrown, as one thread meets it.
   */
  const takeViolations = (reports: readonly LevelReport[], depth: number, next: number, total: number): ExploreResult | undefined => {
    const events = reports.flatMap((r) => r.events ?? []).sort((x, y) => (keyBefore(x.parent, x.seq, y.parent, y.seq) ? -1 : 1));
    const lockStop = locks?.level(reports);
    if (events.length === 0 && !lockStop) return undefined;
    // The level's states join the tree now: a violation at one of them names its node.
    merge();
    const rows = levelKeys(reports, order.who, total);
    /** How many of the level's new states come before key (parent, seq): one thread has found them then. */
    const statesBefore = (parent: number, seq: number): number => {
      let lo = 0;
      for (let hi = total; lo < hi; ) {
        const mid = (lo + hi) >> 1;
        if (keyBefore(rows[2 * mid], rows[2 * mid + 1], parent, seq)) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    /** The counts one thread has in transition `seq` of `parent`, `tr` and `beyond` counted from that parent by then. */
    const countUntil = (parent: number, tr: number, beyond: number): void => {
      for (const r of reports) {
        const pp = r.perParent ?? new Int32Array(0);
        for (let i = 0; i < pp.length && pp[i] < parent; i += PER_PARENT) {
          transitions += pp[i + 1];
          beyondBound += pp[i + 2];
        }
      }
      transitions += tr;
      beyondBound += beyond;
    };
    /** The end at the lock-order cycle: at its checkpoint, before the transition's state is checked; whatever `maxViolations` asks (as the one-thread sink's `checkpoint`, exhaustive.ts). */
    const endAtCycle = (stop: LockStop): ExploreResult => {
      locks!.keepUntilCheckpoint(stop);
      countUntil(stop.parent, stop.transitions, stop.beyond);
      const below = statesBefore(stop.parent, stop.seq);
      if (below > 0) maxDepth = depth + 1;
      enough(lockCycleViolation(verdicts, locks!.graph)!);
      return stopped(next + below);
    };
    for (const ev of events) {
      if (lockStop && !keyBefore(ev.parent, ev.seq, lockStop.parent, lockStop.seq)) return endAtCycle(lockStop);
      if (ev.kind === 'error') throw new ModelError(ev.found.message);
      const atState = ev.kind === 'state' || ev.kind === 'lone';
      const below = statesBefore(ev.parent, ev.seq);
      // At a state another parent of the level owns: that parent met it first (the one-thread search's).
      if (atState && (below >= total || rows[2 * below] !== ev.parent || rows[2 * below + 1] !== ev.seq)) continue;
      let schedule: number[];
      if (ev.kind === 'deadlock') schedule = schedules.to(ev.parent);
      else if (atState) schedule = schedules.to(next + below, ev.loneSteps);
      else schedule = schedules.to(ev.parent, transitionEntries(ev.entry, ev.steps));
      if (!enough({ ...ev.found, schedule })) continue;
      locks?.keepUntilEvent(ev);
      countUntil(ev.parent, ev.transitions, ev.beyond);
      if (atState || below > 0) maxDepth = depth + 1;
      return stopped(next + below + (atState ? 1 : 0));
    }
    return lockStop && endAtCycle(lockStop);
  };
  for (let depth = 0; count > 0; ) {
    // A table that would be too full before the level's end grows now, rather than the level running twice.
    // At once to the capacity needed (each rehash is a pause of this thread alone while the workers wait).
    const ahead = Atomics.load(ctl, CTL.COUNT) + count * branching * 1.5;
    let capacity = table.capacity;
    while ((par.growAhead ?? true) && ahead > capacity * MAX_LOAD) capacity *= 2;
    if (capacity > table.capacity) table = table.rehash(capacity, start, ctl);
    for (const word of [CTL.NEXT, CTL.DONE, CTL.REPORTED, CTL.ABORT, CTL.EVENT_SEQ, CTL.LOST]) Atomics.store(ctl, word, 0);
    Atomics.store(ctl, CTL.EVENT_PARENT, NO_EVENT);
    Atomics.store(ctl, CTL.TRANSITIONS, transitions);
    if (!joined && Atomics.load(ctl, CTL.READY) >= ports.length) join();
    const shared = joined && count >= (par.sharedLevel ?? (par.together ? 1 : SHARED_LEVEL));
    // Every thread of the level waits at its barrier, this one too.
    Atomics.store(ctl, CTL.WORKERS, shared ? ports.length + 1 : 1);
    const msg: LevelMessage = { kind: 'level', depth, start, count, table: table.buffer, lost, chunks, ...order };
    if (shared) {
      for (const p of ports) p.postMessage(msg);
      Atomics.add(ctl, CTL.SEQ, 1);
      Atomics.notify(ctl, CTL.SEQ);
    }
    merge();
    const mine = expander.level(msg);
    waitFor(CTL.REPORTED, shared ? ports.length : 0);
    const tm = performance.now();
    const reports = [mine, ...(shared ? receive<LevelReport>() : ports.map(() => ABSENT))];
    peakRss = Math.max(peakRss, rss());
    peakBytes = Math.max(peakBytes, bytes());
    const abort = Atomics.load(ctl, CTL.ABORT);
    if (abort === ABORT_GROW) {
      // Too full to finish the level after all: double the table and run the level again from its start.
      table = table.rehash(table.capacity * 2, start, ctl);
      continue;
    }
    const levelTransitions = reports.reduce((s, r) => s + r.transitions, 0);
    const levelBeyond = reports.reduce((s, r) => s + r.beyond, 0);
    // One violation asked for: every thread stopped after the level's first (the control block's key).
    const eParent = multi ? NO_EVENT : Atomics.load(ctl, CTL.EVENT_PARENT);
    if (eParent !== NO_EVENT) {
      beyondBound += levelBeyond;
      const eSeq = Atomics.load(ctl, CTL.EVENT_SEQ);
      const ev = reports.map((r) => r.event).find((e): e is WorkerEvent => e !== undefined && e.parent === eParent && e.seq === eSeq)!;
      // A model error the one-thread search meets before any violation: it stops there too.
      if (ev.kind === 'error') throw new ModelError(ev.found.message);
      transitions += levelTransitions + ev.transitions;
      beyondBound += ev.beyond;
      const atState = ev.kind === 'state' || ev.kind === 'lone';
      const below = reports.reduce((s, r) => s + r.below, 0);
      const states = start + count + below + (atState ? 1 : 0);
      let schedule: number[];
      if (ev.kind === 'deadlock') schedule = schedules.to(ev.parent);
      else if (!atState) schedule = schedules.to(ev.parent, transitionEntries(ev.entry, ev.steps));
      else {
        // The state the transition reached, as the tree's next node (the one-thread search's): a lone run's steps name its actors.
        const id = tree.add(ev.parent, ev.entry, depth + 1, ev.steps);
        actors?.noteNode(id, ev.applied);
        schedule = schedules.to(id, ev.loneSteps);
      }
      if (atState || below > 0) maxDepth = depth + 1;
      enough({ ...ev.found, schedule });
      return stopped(states);
    }
    // Stopped in this level: every state within `depth` transitions was found and checked, and every
    // step from those nearer was run. With several violations asked for, this level's are taken first.
    const stoppedHere = (): ExploreResult | undefined => {
      transitions += levelTransitions;
      beyondBound += levelBeyond;
      return abort !== 0 ? stopped(Atomics.load(ctl, CTL.COUNT), STOP_OF[abort], depth) : undefined;
    };
    if (!multi) {
      const end = stoppedHere();
      if (end) return end;
    }
    // The next level's order: the threads' lists merged by parent id (each list is in (parent, successor) order).
    const next = start + count;
    const total = reports.reduce((s, r) => s + r.kept!.length / KEPT_ROW, 0);
    order = levelOrder(total, order);
    mergeOrder(reports, order);
    pending = { reports, depth, total };
    if (multi) {
      const end = takeViolations(reports, depth, next, total) ?? stoppedHere();
      if (end) return end;
    }
    const levelBytes = reports.reduce((s, r) => s + r.chunks!.reduce((b, c) => b + c.byteLength, 0), 0);
    // Both stores of each thread: this level's and the one the next level writes over.
    frontierBytes = levelBytes + chunks.reduce((s, cs) => s + cs.reduce((b, c) => b + c.byteLength, 0), 0);
    chunks = reports.map((r) => r.chunks!);
    if (total > 0) maxDepth = depth + 1;
    branching = Math.max(1, total / count);
    depth++;
    start = next;
    count = total;
    times.merge += performance.now() - tm;
  }
  const tAfter = performance.now();
  merge();
  const states = start;
  // Under a preemption bound nothing beyond the bound was looked at: not a proof.
  if (bound >= 0) return stopped(states, 'preemption-bound');
  // The product under actor symmetry is made now: within what the memory limit leaves.
  const lasso = fair?.find(
    (tid, k) => schedules.stem(tid, k),
    (tid, k) => replayTo(schedules.stem(tid, k)),
    expandOpts.maxMemoryBytes - rss(),
  );
  times.after = performance.now() - tAfter;
  if (lasso) enough({ ...lasso.found, schedule: lasso.schedule });
  return found.length ? finish('violation', states) : finish('holds', states);
}

/** Room for a level of `n` states: `old`'s arrays where they are large enough, else larger ones. */
function levelOrder(n: number, old?: LevelOrder): LevelOrder {
  return { who: sharedInts(n, old?.who), rec: sharedInts(n, old?.rec), pre: sharedInts(n, old?.pre), last: sharedInts(n, old?.last), skip: sharedInts(n, old?.skip) };
}

/**
 * The next level's order (parallel-expand.ts `LevelOrder`): the threads' lists of kept states
 * merged by parent id. Each list is in parent order and a parent's states are all in the list of
 * the thread that expanded it, so the merge copies runs: from the list with the smallest parent,
 * every state whose parent comes before the other lists' next one (the runs are a block of
 * parents long).
 */
function mergeOrder(reports: readonly LevelReport[], { who, rec, pre, last, skip }: LevelOrder): void {
  const at = reports.map(() => 0);
  const parentAt = (k: number) => (at[k] < reports[k].kept!.length ? reports[k].kept![at[k]] : NO_EVENT);
  for (let j = 0; ; ) {
    let best = 0;
    let limit = NO_EVENT;
    for (let k = 1; k < reports.length; k++) {
      if (parentAt(k) < parentAt(best)) {
        limit = Math.min(limit, parentAt(best));
        best = k;
      } else limit = Math.min(limit, parentAt(k));
    }
    const kept = reports[best].kept!;
    let o = at[best];
    if (o >= kept.length) return;
    for (; o < kept.length && kept[o] < limit; o += KEPT_ROW, j++) {
      who[j] = best;
      rec[j] = kept[o + 6];
      pre[j] = kept[o + 8];
      last[j] = entryActor(kept[o + 1]);
      skip[j] = kept[o + 9];
    }
    at[best] = o;
  }
}

/** The (parent, successor number) of each of a level's `total` new states, in the merged order (`who`): two ints each. */
function levelKeys(reports: readonly LevelReport[], who: Int32Array, total: number): Int32Array {
  const keys = new Int32Array(2 * total);
  const at = reports.map(() => 0);
  for (let j = 0; j < total; j++) {
    const k = who[j];
    const o = at[k]++ * KEPT_ROW;
    keys[2 * j] = reports[k].kept![o];
    keys[2 * j + 1] = reports[k].kept![o + 10];
  }
  return keys;
}

/**
 * The shared table's first capacity, in entries (16 bytes each): the one-thread set's (visited.ts).
 * It grows ahead of a level that would fill it; a small cell — most of the catalogue's — does not
 * take 16 MB of shared memory, which is freed only once every thread has collected it.
 */
const INITIAL_CAPACITY = 1 << 16;

/**
 * The fewest states a level must have for the workers to share it, by default: a shared
 * level costs a message to each thread, a wake-up, a barrier and the reports (about the time of a
 * few dozen expansions), so this thread expands the small ones alone — the first and last levels
 * of a search, and every level of most catalogue cells.
 */
const SHARED_LEVEL = 64;

/** The report of a worker that takes no part in the level: nothing expanded, no state kept. */
const ABSENT: LevelReport = { kind: 'level', aborted: false, transitions: 0, beyond: 0, below: 0, kept: new Int32Array(0), chunks: [], ends: new Int32Array(0), edges: new Int32Array(0) };

/** Throws the first error a worker sent while building its model. */
function receiveErrors(ports: readonly MessagePort[]): void {
  for (const p of ports) {
    const m = receiveMessageOnPort(p)?.message as ErrorMessage | undefined;
    if (m?.kind === 'error') throw m.model ? new ModelError(m.message) : new Error(`${m.name}: ${m.message}`);
  }
}

/** The region graph's edges of a level, from the threads' lists merged by parent id (the one-thread order). */
function recordEdges(fair: FairTermination, reports: readonly LevelReport[]): void {
  const at = reports.map(() => 0);
  const edgeAt = reports.map(() => 0);
  const parentAt = (k: number) => (at[k] < reports[k].ends!.length ? reports[k].ends![at[k]] : NO_EVENT);
  for (;;) {
    let best = 0;
    for (let k = 1; k < reports.length; k++) if (parentAt(k) < parentAt(best)) best = k;
    if (parentAt(best) === NO_EVENT) return;
    const ends = reports[best].ends!;
    const edges = reports[best].edges!;
    const o = at[best];
    at[best] += 6;
    const r = fair.indexOf(ends[o + 1], ends[o + 2]);
    const e0 = edgeAt[best];
    edgeAt[best] += ends[o + 5] * EDGE_ROW;
    if (r < 0) continue;
    fair.beginEdges(r);
    for (let e = e0; e < edgeAt[best]; e += EDGE_ROW) {
      const t = fair.indexOf(edges[e], edges[e + 1]);
      if (t >= 0) fair.edge(t, edges[e + 2], edges[e + 3], edges[e + 4]);
    }
    fair.endEdges(ends[o + 3], ends[o + 4]);
  }
}
