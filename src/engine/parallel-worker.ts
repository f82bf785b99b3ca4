/**
 * A worker thread of a parallel search (parallel.ts): builds its own copy of the model from the
 * module the coordinator names, then, level by level, expands the blocks of parents it takes,
 * offers their successors to the shared fingerprint table, and reports the ones it ended up owning.
 * It runs synchronously from the first level on: it waits on the control block and reads the
 * coordinator's messages with `receiveMessageOnPort`.
 */
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import type { World } from '../world/world.js';
import { BLOCK_SLEEP, BLOCK_SPIN } from '../world/routine.js';
import { execStep } from '../world/runner.js';
import { entryOf } from '../world/entry.js';
import { ModelError } from '../world/errors.js';
import { StateStore, expandRecord, type SharedRecords } from './state-store.js';
import { verdictsOf, type Found, type Property } from './verdict.js';
import { extendTransition } from './transition.js';
import { LoneRun, regionActors, roleMasks } from './termination.js';
import { grow } from './grow.js';
import { ABORT_GROW, ABORT_STOP_MEMORY, ABORT_STOP_STATES, ABORT_STOP_TIME, BLOCK, CTL, DEADLOCK_SEQ, keyBefore, MAX_LOAD, NO_EVENT, offerEvent, SharedFingerprints } from './parallel-shared.js';

/** What a model module gives a worker (its export `parallelModel`): the world at its initial state, and the properties. */
export interface ParallelModel {
  readonly world: World;
  readonly properties: readonly Property[];
}

export interface WorkerInput {
  /** The URL of the module exporting `parallelModel(data): Promise<ParallelModel>`, and its argument. */
  readonly module: string;
  readonly data: unknown;
  readonly port: MessagePort;
  readonly ctl: Int32Array;
  readonly merge: boolean;
  readonly audit: boolean;
  readonly liveness: boolean;
  readonly deadlock: boolean;
  readonly reached: boolean;
  readonly maxStates: number;
  /** Date.now() after which the search stops (threads do not share performance.now()). */
  readonly deadline: number;
  readonly maxMemoryBytes: number;
}

export interface LevelMessage {
  readonly kind: 'level';
  /** The id of the level's first state, and how many it has. */
  readonly start: number;
  readonly count: number;
  readonly table: SharedArrayBuffer;
  /** The level's states: position p is record `index[p]` of `segments[who[p]]`. */
  readonly segments: readonly SharedRecords[];
  readonly who: Int32Array;
  readonly index: Int32Array;
}

/** The first violation a worker met in a level (the coordinator keeps the first of all). */
export interface WorkerEvent {
  readonly parent: number;
  readonly seq: number;
  readonly kind: 'bug' | 'state' | 'deadlock' | 'lone';
  readonly found: Found;
  readonly entry: number;
  readonly steps: number;
  /** Transitions counted from the parent when it was met. */
  readonly transitions: number;
  readonly loneSteps?: readonly number[];
}

export interface LevelReport {
  readonly kind: 'level';
  readonly aborted: boolean;
  readonly event?: WorkerEvent;
  /** Transitions from the parents this worker expanded (before the level's first violation, if any). */
  readonly transitions: number;
  /** With a violation in the level: the new states this worker owns that come before it. */
  readonly below: number;
  /** The new states it owns, in (parent, successor) order, and per state: parent, entry, steps, region actors, fingerprint. */
  readonly records?: SharedRecords;
  readonly kept?: Int32Array;
  /** Per region parent: id, fingerprint lo, hi, enabled actors, lock-acquiring actors (termination.ts), number of edges; then the edges: target lo, hi, entry, steps. */
  readonly ends?: Int32Array;
  readonly edges?: Int32Array;
}

/** Growable Int32 list. */
class IntList {
  a = new Int32Array(1024);
  n = 0;
  push(x: number): void {
    if (this.n === this.a.length) this.a = grow(this.a);
    this.a[this.n++] = x;
  }
  get(i: number): number {
    return this.a[i];
  }
  copy(): Int32Array {
    return this.a.slice(0, this.n);
  }
}

const KEPT = 7;
/** Blocks between two readings of the process's RSS (with a memory limit). */
const MEMORY_BLOCKS = 16;

async function run(input: WorkerInput): Promise<void> {
  const ctl = input.ctl;
  const port = input.port;
  const mod = (await import(input.module)) as { parallelModel(data: unknown): Promise<ParallelModel> };
  const { world: w, properties } = await mod.parallelModel(input.data);
  const verdicts = verdictsOf({ properties, liveness: input.liveness, deadlock: input.deadlock });
  if (input.reached) w.trackReached();
  w.undoing = true;
  w.audit = input.audit;
  const L = w.layout;
  const nActors = L.actorNames.length;
  const roles = roleMasks(w);
  const fair = verdicts.terminationOn;
  const lone = fair ? new LoneRun(w, false) : undefined;
  const parent = new Int32Array(L.size);
  const store = new StateStore(L, 1 << 20);
  // Read before saying ready: the coordinator starts the first level as soon as every worker is.
  let seq = Atomics.load(ctl, CTL.SEQ);
  Atomics.add(ctl, CTL.READY, 1);
  Atomics.notify(ctl, CTL.READY);

  for (;;) {
    Atomics.wait(ctl, CTL.SEQ, seq);
    seq = Atomics.load(ctl, CTL.SEQ);
    const msg = receiveMessageOnPort(port)?.message as LevelMessage | { kind: 'finish' };
    if (msg.kind === 'finish') {
      port.postMessage({ kind: 'finish', record: w.runRecord() });
      Atomics.add(ctl, CTL.REPORTED, 1);
      Atomics.notify(ctl, CTL.REPORTED);
      return;
    }
    const table = new SharedFingerprints(msg.table);
    const limit = Math.floor(table.capacity * MAX_LOAD);
    store.clear();
    // Per candidate: parent, successor number, entry, steps, region actors, table entry, lo (hi in `his`).
    const cand = new IntList();
    const his = new IntList();
    const perParent = new IntList(); // (parent id, transitions from it)
    const ends = new IntList();
    const edges = new IntList();
    let event: WorkerEvent | undefined;
    const found = (e: WorkerEvent) => {
      if (!event || keyBefore(e.parent, e.seq, event.parent, event.seq)) event = e;
      offerEvent(ctl, e.parent, e.seq);
    };

    const expand = (id: number, p: number): void => {
      const seg = msg.segments[msg.who[p]];
      expandRecord(L, seg.data, seg.offsets[msg.index[p]], parent);
      w.load(parent);
      const region = fair && regionActors(w, roles) !== 0;
      const edgesBefore = edges.n;
      let enabledMask = 0;
      let acquiringMask = 0;
      let enabled = 0;
      let unfinished = 0;
      let tr = 0;
      let s = 0;
      for (let a = 0; a < nActors; a++) {
        w.load(parent);
        if (w.actorSp(a) === 0) continue;
        unfinished++;
        let actorEnabled = false;
        for (let c = 0, nc = 1; c < nc; c++, s++) {
          w.load(parent);
          const mark = w.undoMark();
          const entry = entryOf(a, c);
          if (input.merge) w.trackActor(a);
          w.choice = c;
          w.fairAcquire = false;
          const r = execStep(w, a);
          w.choice = 0;
          w.tracking = false;
          nc = Math.max(1, w.choices);
          if (r === BLOCK_SLEEP || r === BLOCK_SPIN) {
            if (verdicts.raised(w)) found({ parent: id, seq: s, kind: 'bug', found: verdicts.bug(w)!, entry, steps: 1, transitions: tr });
            w.clearBugs();
            w.undoTo(mark);
            continue;
          }
          actorEnabled = true;
          if (w.fairAcquire) acquiringMask |= 1 << a;
          tr++;
          let steps = 1;
          let raised = verdicts.raised(w);
          if (input.merge && !raised) {
            const extra = extendTransition(w, verdicts, a, !w.touchedShared, null);
            if (extra < 0) raised = true;
            steps += extra < 0 ? -extra : extra;
          }
          if (raised) {
            found({ parent: id, seq: s, kind: 'bug', found: verdicts.bug(w)!, entry, steps, transitions: tr });
            w.clearBugs();
            w.undoTo(mark);
            continue;
          }
          const next = w.v;
          const k = table.offer(next[0], next[1], id, ctl);
          if (k >= 0) {
            const v = verdicts.state(w);
            if (v) found({ parent: id, seq: s, kind: 'state', found: v, entry, steps, transitions: tr });
            cand.push(id);
            cand.push(s);
            cand.push(entry);
            cand.push(steps);
            cand.push(fair && !v ? regionActors(w, roles) : 0);
            cand.push(k);
            cand.push(next[0]);
            his.push(next[1]);
            store.push(next, 0);
            if (!v && lone) {
              const run = lone.check(next);
              if (run) found({ parent: id, seq: s, kind: 'lone', found: run.found, entry, steps, transitions: tr, loneSteps: run.steps });
              w.load(next);
            }
          }
          if (region) {
            edges.push(next[0]);
            edges.push(next[1]);
            edges.push(entry);
            edges.push(steps);
          }
          w.undoTo(mark);
        }
        if (actorEnabled) {
          enabled++;
          enabledMask |= 1 << a;
        }
      }
      if (region) {
        ends.push(id);
        ends.push(parent[0]);
        ends.push(parent[1]);
        ends.push(enabledMask);
        ends.push(acquiringMask);
        ends.push((edges.n - edgesBefore) / 4);
      }
      if (enabled === 0 && verdicts.deadlock(unfinished)) {
        w.load(parent);
        found({ parent: id, seq: DEADLOCK_SEQ, kind: 'deadlock', found: verdicts.deadlock(unfinished, w)!, entry: -1, steps: 0, transitions: tr });
      }
      perParent.push(id);
      perParent.push(tr);
    };

    let blocks = 0;
    const abort = (why: number) => Atomics.compareExchange(ctl, CTL.ABORT, 0, why);
    for (;;) {
      if (Atomics.load(ctl, CTL.ABORT) !== 0) break;
      const p0 = Atomics.add(ctl, CTL.NEXT, BLOCK);
      // Parents after the level's first violation known so far cannot change the outcome.
      if (p0 >= msg.count || msg.start + p0 > Atomics.load(ctl, CTL.EVENT_PARENT)) break;
      const before = perParent.n;
      for (let p = p0; p < Math.min(p0 + BLOCK, msg.count); p++) expand(msg.start + p, p);
      let blockTr = 0;
      for (let i = before + 1; i < perParent.n; i += 2) blockTr += perParent.get(i);
      Atomics.add(ctl, CTL.TRANSITIONS, blockTr);
      const n = Atomics.load(ctl, CTL.COUNT);
      if (n >= limit) abort(ABORT_GROW);
      else if (n >= input.maxStates) abort(ABORT_STOP_STATES);
      else if (Date.now() >= input.deadline) abort(ABORT_STOP_TIME);
      // Reading the RSS costs about as much as expanding a few states: only with a limit, now and then.
      else if (input.maxMemoryBytes !== Number.POSITIVE_INFINITY && ++blocks % MEMORY_BLOCKS === 0 && process.memoryUsage.rss() >= input.maxMemoryBytes) abort(ABORT_STOP_MEMORY);
    }
    // The barrier: every offer of the level is in the table before an owner is read.
    if (Atomics.add(ctl, CTL.DONE, 1) + 1 === Atomics.load(ctl, CTL.WORKERS)) Atomics.notify(ctl, CTL.DONE);
    for (let d = Atomics.load(ctl, CTL.DONE); d < Atomics.load(ctl, CTL.WORKERS); d = Atomics.load(ctl, CTL.DONE)) Atomics.wait(ctl, CTL.DONE, d);

    const aborted = Atomics.load(ctl, CTL.ABORT) !== 0;
    const eParent = Atomics.load(ctl, CTL.EVENT_PARENT);
    const eSeq = Atomics.load(ctl, CTL.EVENT_SEQ);
    let transitions = 0;
    for (let i = 0; i < perParent.n; i += 2) if (eParent === NO_EVENT || perParent.get(i) < eParent) transitions += perParent.get(i + 1);
    let report: LevelReport;
    if (aborted && Atomics.load(ctl, CTL.ABORT) === ABORT_GROW) {
      report = { kind: 'level', aborted, transitions, below: 0 };
    } else if (eParent !== NO_EVENT || aborted) {
      let below = 0;
      for (let i = 0; i < cand.n; i += KEPT) {
        if (table.owner(cand.get(i + 5)) === cand.get(i) && keyBefore(cand.get(i), cand.get(i + 1), eParent, eSeq)) below++;
      }
      report = { kind: 'level', aborted, event, transitions, below };
    } else {
      // The states this worker owns, in its (parent, successor) order: the coordinator merges the workers' lists.
      const keep = new Int32Array(cand.n / KEPT);
      const kept = new Int32Array((keep.length * 6) | 0);
      let m = 0;
      for (let i = 0, j = 0; i < cand.n; i += KEPT, j++) {
        if (table.owner(cand.get(i + 5)) !== cand.get(i)) continue;
        keep[m] = j;
        const o = m * 6;
        kept[o] = cand.get(i);
        kept[o + 1] = cand.get(i + 2);
        kept[o + 2] = cand.get(i + 3);
        kept[o + 3] = cand.get(i + 4);
        kept[o + 4] = cand.get(i + 6);
        kept[o + 5] = his.get(j);
        m++;
      }
      report = { kind: 'level', aborted, transitions, below: 0, records: store.share(keep, m), kept: kept.slice(0, m * 6), ends: ends.copy(), edges: edges.copy() };
    }
    port.postMessage(report);
    Atomics.add(ctl, CTL.REPORTED, 1);
    Atomics.notify(ctl, CTL.REPORTED);
  }
}

const input = workerData as WorkerInput;
try {
  await run(input);
} catch (e) {
  // The coordinator turns it back into the error it was (a model error names the model's fault).
  const err = e instanceof Error ? e : new Error(String(e));
  input.port.postMessage({ kind: 'error', model: e instanceof ModelError, name: err.name, message: err.message });
  Atomics.add(input.ctl, CTL.REPORTED, 1);
  Atomics.notify(input.ctl, CTL.REPORTED);
  // Nobody waits for this worker any more: not the first level, nor the barrier of the level under way.
  for (const word of [CTL.READY, CTL.DONE]) {
    Atomics.add(input.ctl, word, 1);
    Atomics.notify(input.ctl, word);
  }
}
