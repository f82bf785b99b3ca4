/**
 * A worker thread of parallel searches (parallel.ts, started by parallel-pool.ts): loads the model's
 * module it was started with, if any, then serves one search at a time as they come (a message
 * `{ kind: 'search', input }` from the thread that started it). For each it builds its own copy of
 * the model from the module the search names, then, level by level, runs its share of the level
 * (parallel-expand.ts) and posts its report. It runs synchronously from the first level on: it
 * waits on the control block and reads the coordinator's messages with `receiveMessageOnPort`.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import type { World } from '../world/world.js';
import { ModelError } from '../world/errors.js';
import { verdictsOf, type Property } from './verdict.js';
import { CTL } from './parallel-shared.js';
import { arriveAtBarrier, LevelExpander, type ExpandOptions, type LevelMessage } from './parallel-expand.js';
import { collectGarbage, type CollectRequest, type WorkerBoot } from './parallel-pool.js';

/** What a model module gives a worker (its export `parallelModel`): the world at its initial state, and the properties. */
export interface ParallelModel {
  readonly world: World;
  readonly properties: readonly Property[];
}

export interface WorkerInput extends ExpandOptions {
  /** The URL of the module exporting `parallelModel(data): Promise<ParallelModel>`, and its argument. */
  readonly module: string;
  readonly data: unknown;
  readonly port: MessagePort;
  readonly ctl: Int32Array;
  readonly audit: boolean;
  readonly liveness: boolean;
  readonly deadlock: boolean;
  readonly reached: boolean;
}

/** What each property of a worker's that learns (verdict.ts `Property.learned`) learned over its share of the search. */
export type LearnedByProperty = readonly { readonly name: string; readonly values: readonly number[] }[];

/** Tells the coordinator this thread posted a message. */
function reported(ctl: Int32Array): void {
  Atomics.add(ctl, CTL.REPORTED, 1);
  Atomics.notify(ctl, CTL.REPORTED);
}

async function run(input: WorkerInput): Promise<void> {
  const ctl = input.ctl;
  const port = input.port;
  const mod = (await import(input.module)) as { parallelModel(data: unknown): Promise<ParallelModel> };
  const { world: w, properties } = await mod.parallelModel(input.data);
  const verdicts = verdictsOf({ properties, liveness: input.liveness, deadlock: input.deadlock });
  if (input.reached) w.trackReached();
  w.undoing = true;
  w.audit = input.audit;
  const expander = new LevelExpander(w, verdicts, ctl, input);
  // Read before saying ready: the first level that counts this worker in bumps it.
  let seq = Atomics.load(ctl, CTL.SEQ);
  Atomics.add(ctl, CTL.READY, 1);
  Atomics.notify(ctl, CTL.READY);
  const t0 = performance.now();

  for (;;) {
    // A message is posted before SEQ is bumped: one already there is not waited for (the first
    // level this worker joins may have started before it was ready, and a search may end then).
    const msg = receiveMessageOnPort(port)?.message as LevelMessage | { kind: 'finish' } | undefined;
    if (msg === undefined) {
      const t = performance.now();
      Atomics.wait(ctl, CTL.SEQ, seq);
      expander.waitMs += performance.now() - t;
      seq = Atomics.load(ctl, CTL.SEQ);
      continue;
    }
    if (msg.kind === 'finish') {
      const learned: LearnedByProperty = properties.flatMap((p) => (p.learned ? [{ name: p.name, values: p.learned.take() }] : []));
      port.postMessage({ kind: 'finish', record: w.runRecord(), learned, waitMs: expander.waitMs, ms: performance.now() - t0 });
      reported(ctl);
      return;
    }
    port.postMessage(expander.level(msg));
    reported(ctl);
  }
}

/** What the thread that started this one asks of it. */
export interface SearchRequest {
  readonly kind: 'search';
  readonly input: WorkerInput;
}

async function search(input: WorkerInput): Promise<void> {
  try {
    await run(input);
  } catch (e) {
    // The coordinator turns it back into the error it was (a model error names the model's fault).
    const err = e instanceof Error ? e : new Error(String(e));
    input.port.postMessage({ kind: 'error', model: e instanceof ModelError, name: err.name, message: err.message });
    reported(input.ctl);
    // Nobody waits for this worker any more: not the first level, nor the barrier of the level under way.
    Atomics.add(input.ctl, CTL.READY, 1);
    Atomics.notify(input.ctl, CTL.READY);
    arriveAtBarrier(input.ctl);
  }
}

const boot = workerData as WorkerBoot;
// Loaded now, while the command still loads its own modules; a module that fails to load fails
// again, and is reported, when a search imports it (run).
if (boot.module) await import(boot.module).catch(() => undefined);
// One search's levels at a time: each is synchronous from its first level to its end. A search
// that ended before this thread had built its model (parallel.ts `collect`) ends here once it has:
// its finish waits on its port, while the next search may already be building its own. A request
// to collect comes after a search ended (parallel-pool.ts), when what it left here is garbage.
parentPort!.on('message', (m: SearchRequest | CollectRequest) => {
  if (m.kind === 'collect') collectGarbage();
  else void search(m.input);
});
