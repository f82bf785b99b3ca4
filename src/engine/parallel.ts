/**
 * Exhaustive breadth-first search on every core of one machine: N worker threads (parallel-worker.ts)
 * expand the states of one level at a time and share one fingerprint table (parallel-shared.ts);
 * this thread coordinates and keeps the search tree and the termination graph.
 *
 * The result is the one-thread search's (exhaustive.ts with `bfs`), not merely an equivalent one:
 *
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
 *
 * Workers rebuild the model themselves from a module the caller names (`ParallelOptions.module`,
 * exporting `parallelModel`): the engine knows nothing of what is modelled. Supported: `bfs` with
 * fingerprints (no `exact`), the first violation only, no preemption bound, no lock-order graph
 * (`parallelUnsupported`). Limits (states, time, memory, a stop request) are polled by the workers
 * once per block; a run stopped by one is incomplete, and its counts are what was done.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { World } from '../world/world.js';
import type { RunRecord } from '../world/world.js';
import { entryActor, entryChoice } from '../world/entry.js';
import { execStep } from '../world/runner.js';
import { ModelError } from '../world/errors.js';
import { Tree } from './tree.js';
import { FairTermination } from './termination.js';
import { collisionBound } from './visited.js';
import { verdictsOf, type Violation } from './verdict.js';
import type { ExploreOptions, ExploreResult, StopReason } from './exhaustive.js';
import type { SharedRecords } from './state-store.js';
import { StateStore } from './state-store.js';
import { ABORT_GROW, ABORT_STOP_INTERRUPTED, ABORT_STOP_MEMORY, ABORT_STOP_STATES, ABORT_STOP_TIME, CTL, controlBlock, NO_EVENT, SharedFingerprints } from './parallel-shared.js';
import type { LevelMessage, LevelReport, WorkerEvent, WorkerInput } from './parallel-worker.js';

export interface ParallelOptions {
  /** Worker threads (2 or more; one thread is exhaustive.ts). */
  readonly workers: number;
  /** The URL of a module exporting `parallelModel(data)` (parallel-worker.ts `ParallelModel`), and its argument (structured-cloneable). */
  readonly module: string;
  readonly data: unknown;
  /** The table's first capacity, in entries (a power of two; it doubles when too full). */
  readonly initialCapacity?: number;
}

/** Why `opts` cannot run on worker threads, if so (one sentence naming the option). */
export function parallelUnsupported(opts: ExploreOptions): string | undefined {
  if (opts.strategy && !opts.strategy.shortest) return `strategy ${opts.strategy.name}`; // workers search breadth-first
  if (opts.preemptions !== undefined) return 'a preemption bound';
  if (opts.exact) return 'exact state storage';
  if (opts.lockOrder) return 'the lock-order check';
  if ((opts.maxViolations ?? 1) !== 1) return 'more than one violation';
  if (opts.counters) return 'the counter abstraction'; // the workers intern concrete states
  if (opts.onState) return 'a state callback';
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

/** The worker's script: next to this file when compiled; the compiled one when this runs from source (tests, tsx). */
function workerUrl(): URL {
  return import.meta.url.endsWith('.ts') ? new URL('../../dist/engine/parallel-worker.js', import.meta.url) : new URL('./parallel-worker.js', import.meta.url);
}

export function exploreParallel(w: World, opts: ExploreOptions, par: ParallelOptions): ExploreResult {
  const why = parallelUnsupported(opts);
  if (why) throw new Error(`${why} cannot run on worker threads`);
  const t0 = performance.now();
  const ctl = controlBlock();
  const ports: MessagePort[] = [];
  const n = par.workers;
  const deadline = opts.timeLimitMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + opts.timeLimitMs;
  Atomics.store(ctl, CTL.WORKERS, n);
  Atomics.store(ctl, CTL.EVENT_PARENT, NO_EVENT);
  for (let i = 0; i < n; i++) {
    const { port1, port2 } = new MessageChannel();
    const input: WorkerInput = {
      module: par.module,
      data: par.data,
      port: port2,
      ctl,
      merge: opts.merge ?? true,
      audit: opts.audit ?? false,
      liveness: opts.liveness ?? true,
      deadlock: opts.deadlock ?? true,
      reached: w.reached !== null,
      maxStates: opts.maxStates ?? Number.POSITIVE_INFINITY,
      deadline,
      maxMemoryBytes: opts.maxMemoryBytes ?? Number.POSITIVE_INFINITY,
    };
    new Worker(workerUrl(), { workerData: input, transferList: [port2] }).unref();
    ports.push(port1);
  }
  let finished = false;
  try {
    const r = coordinate(w, opts, par, ctl, ports, t0);
    finished = true;
    return r;
  } finally {
    if (!finished) {
      for (const p of ports) p.postMessage({ kind: 'finish' });
      Atomics.add(ctl, CTL.SEQ, 1);
      Atomics.notify(ctl, CTL.SEQ);
    }
    w.undoing = false;
    w.undoReset();
  }
}

function coordinate(w: World, opts: ExploreOptions, par: ParallelOptions, ctl: Int32Array, ports: MessagePort[], t0: number): ExploreResult {
  const n = ports.length;
  const verdicts = verdictsOf(opts);
  const tree = new Tree();
  const fair = verdicts.terminationOn ? new FairTermination(w) : undefined;
  const initial = w.snapshot();
  let table = SharedFingerprints.create(par.initialCapacity ?? 1 << 20);
  const rss0 = rss();
  let peakRss = rss0;
  let peakBytes = 0;
  let transitions = 0;
  let maxDepth = 0;
  let lastProgress = t0;
  let frontierBytes = 0;

  /** Waits until `word` reaches `target`, polling the stop request and reporting progress. */
  const waitFor = (word: number, target: number): void => {
    for (let v = Atomics.load(ctl, word); v < target; v = Atomics.load(ctl, word)) {
      Atomics.wait(ctl, word, v, 50);
      if (opts.shouldStop?.()) Atomics.compareExchange(ctl, CTL.ABORT, 0, ABORT_STOP_INTERRUPTED);
      const now = performance.now();
      if (now - lastProgress >= 500 && opts.onProgress) {
        lastProgress = now;
        const states = Atomics.load(ctl, CTL.COUNT);
        opts.onProgress({ states, transitions: Atomics.load(ctl, CTL.TRANSITIONS), frontier: 0, depth: maxDepth, elapsedMs: now - t0, bytes: bytes(), rss: rss() });
      }
    }
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
    waitFor(CTL.REPORTED, n);
    for (const m of receive<{ record: RunRecord }>()) w.absorbRecord(m.record);
  };
  const finish = (verdict: ExploreResult['verdict'], states: number, violation?: Violation, stopReason?: StopReason): ExploreResult => {
    collect();
    w.load(initial);
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
    };
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

  // The root, as the one-thread search takes it.
  table.offer(initial[0], initial[1], -1, ctl);
  const root = tree.add(-1, -1, 0, 0);
  w.load(initial.slice());
  const v0 = verdicts.state(w);
  waitFor(CTL.READY, n);
  receiveErrors(ports);
  if (v0) return finish('violation', 1, { ...v0, schedule: [] });
  fair?.discover(root, initial[0], initial[1]);
  const rootStore = new StateStore(w.layout, w.layout.size);
  rootStore.push(initial, root);
  let segments: SharedRecords[] = [rootStore.share(new Int32Array([0]), 1)];
  let who = new Int32Array(new SharedArrayBuffer(4));
  let index = new Int32Array(new SharedArrayBuffer(4));
  let start = 0;
  let count = 1;
  for (let depth = 0; count > 0; ) {
    for (const word of [CTL.NEXT, CTL.DONE, CTL.REPORTED, CTL.ABORT, CTL.EVENT_SEQ]) Atomics.store(ctl, word, 0);
    Atomics.store(ctl, CTL.EVENT_PARENT, NO_EVENT);
    Atomics.store(ctl, CTL.TRANSITIONS, transitions);
    const msg: LevelMessage = { kind: 'level', start, count, table: table.buffer, segments, who, index };
    for (const p of ports) p.postMessage(msg);
    Atomics.add(ctl, CTL.SEQ, 1);
    Atomics.notify(ctl, CTL.SEQ);
    waitFor(CTL.REPORTED, n);
    const reports = receive<LevelReport>();
    peakRss = Math.max(peakRss, rss());
    peakBytes = Math.max(peakBytes, bytes());
    const abort = Atomics.load(ctl, CTL.ABORT);
    if (abort === ABORT_GROW) {
      // Too full to finish the level: double the table and run the level again from its start.
      table = table.rehash(table.capacity * 2, start, ctl);
      continue;
    }
    const levelTransitions = reports.reduce((s, r) => s + r.transitions, 0);
    const eParent = Atomics.load(ctl, CTL.EVENT_PARENT);
    if (eParent !== NO_EVENT) {
      const eSeq = Atomics.load(ctl, CTL.EVENT_SEQ);
      const ev = reports.map((r) => r.event).find((e): e is WorkerEvent => e !== undefined && e.parent === eParent && e.seq === eSeq)!;
      transitions += levelTransitions + ev.transitions;
      const atState = ev.kind === 'state' || ev.kind === 'lone';
      const below = reports.reduce((s, r) => s + r.below, 0);
      const states = start + count + below + (atState ? 1 : 0);
      const prefix = tree.schedule(ev.parent);
      const schedule = ev.kind === 'deadlock' ? prefix : [...prefix, ev.entry, ...new Array<number>(ev.steps - 1).fill(entryActor(ev.entry)), ...(ev.loneSteps ?? [])];
      if (atState || below > 0) maxDepth = depth + 1;
      return finish('violation', states, { ...ev.found, schedule });
    }
    transitions += levelTransitions;
    if (abort !== 0) return finish('incomplete', Atomics.load(ctl, CTL.COUNT), undefined, STOP_OF[abort]);
    // The next level: the workers' lists merged by parent id (each list is in (parent, successor) order).
    const next = start + count;
    const total = reports.reduce((s, r) => s + r.kept!.length / 6, 0);
    who = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, total)));
    index = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, total)));
    const at = new Int32Array(n);
    const parentAt = (k: number) => (at[k] * 6 < reports[k].kept!.length ? reports[k].kept![at[k] * 6] : NO_EVENT);
    for (let j = 0; j < total; j++) {
      let best = 0;
      for (let k = 1; k < n; k++) if (parentAt(k) < parentAt(best)) best = k;
      const row = reports[best].kept!;
      const o = at[best] * 6;
      who[j] = best;
      index[j] = at[best]++;
      const id = tree.add(row[o], row[o + 1], depth + 1, row[o + 2]);
      if (fair && row[o + 3] !== 0) fair.record(id, row[o + 3], row[o + 4], row[o + 5]);
    }
    if (fair) recordEdges(fair, reports);
    segments = reports.map((r) => r.records!);
    frontierBytes = segments.reduce((s, r) => s + r.data.byteLength + r.offsets.byteLength, 0);
    if (total > 0) maxDepth = depth + 1;
    depth++;
    start = next;
    count = total;
  }
  const states = start;
  const lasso = fair?.find(
    (tid) => tree.schedule(tid),
    (tid) => replayTo(tree.schedule(tid)),
  );
  if (lasso) return finish('violation', states, { ...lasso.found, schedule: lasso.schedule });
  return finish('holds', states);
}

/** Throws the first error a worker sent while building its model. */
function receiveErrors(ports: readonly MessagePort[]): void {
  for (const p of ports) {
    const m = receiveMessageOnPort(p)?.message as ErrorMessage | undefined;
    if (m?.kind === 'error') throw m.model ? new ModelError(m.message) : new Error(`${m.name}: ${m.message}`);
  }
}

/** The region graph's edges of a level, from the workers' lists merged by parent id (the one-thread order). */
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
    edgeAt[best] += ends[o + 5] * 4;
    if (r < 0) continue;
    fair.beginEdges(r);
    for (let e = e0; e < edgeAt[best]; e += 4) {
      const t = fair.indexOf(edges[e], edges[e + 1]);
      if (t >= 0) fair.edge(t, edges[e + 2], edges[e + 3]);
    }
    fair.endEdges(ends[o + 3], ends[o + 4]);
  }
}
