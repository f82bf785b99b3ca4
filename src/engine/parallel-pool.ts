/**
 * The worker threads of parallel searches (parallel.ts), started ahead of need and kept between
 * searches. A thread's start is mostly loading the model's modules (about 0.2 s of 0.25 s here);
 * started when the search is, it costs the search that long on one thread, which is a few per cent
 * of a two-thread run (docs/performance.md, "Worker threads"). A caller that knows early which
 * model module its searches will use (the command, before it has even loaded its own modules)
 * prestarts threads that load it at once; each search takes them from the pool and gives them
 * back when it ends, so a command that checks many cells starts its threads once.
 *
 * Only a module someone prestarted is pooled: a search of any other module starts its threads and
 * ends them after it (tests run many small models in one process and should not keep them all).
 * A search that failed ends its threads: a thread left mid-level is not trusted with another.
 *
 * A search's big arrays (the fingerprint table, each thread's level stores) are in shared memory,
 * and a shared block is freed only once every thread that has seen it has collected its garbage.
 * A pooled thread, idle between searches and allocating little in them, hardly ever does: the
 * whole catalogue on two threads grew to about twice one thread's memory, the largest cell's
 * arrays kept for the rest of the command. So when the process has grown well past its size at
 * the last collection, the end of a search collects this thread's garbage and asks the threads
 * given back to collect theirs (docs/performance.md, "Worker threads").
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';

/** What a worker thread is started with (parallel-worker.ts): the module to load before it is asked to search, if known. */
export interface WorkerBoot {
  readonly module?: string;
}

/** Idle threads by the module they loaded. */
const pools = new Map<string, Worker[]>();

/** What the thread that started a search thread asks of it between searches (the search itself: parallel-worker.ts `SearchRequest`). */
export interface CollectRequest {
  readonly kind: 'collect';
}

/** How far the process may grow past its size at the last collection (or its smallest since) before a search's end collects (bytes). */
export const GARBAGE_BOUND = 128 * 2 ** 20;

/** The process's resident size at the last collection, or the smallest seen at a search's start or end since. */
let floor = Number.POSITIVE_INFINITY;

let gc: (() => void) | undefined;

/**
 * Collects this thread's garbage now. V8 gives a function for it only under --expose-gc; the
 * flag, set now, exposes it to contexts made afterwards.
 */
export function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

/** The worker's script: next to this file when compiled; the compiled one when this runs from source (tests, tsx). */
function workerUrl(): URL {
  return import.meta.url.endsWith('.ts') ? new URL('../../dist/engine/parallel-worker.js', import.meta.url) : new URL('./parallel-worker.js', import.meta.url);
}

function start(module: string | undefined): Worker {
  const boot: WorkerBoot = { module };
  const thread = new Worker(workerUrl(), { workerData: boot });
  // An idle thread must not keep the process alive once the command is done.
  thread.unref();
  return thread;
}

/** Starts `count` threads that load `module` (a URL exporting `parallelModel`) now, for the searches of it to come. */
export function prestartSearchWorkers(count: number, module: string): void {
  const pool = pools.get(module) ?? [];
  pools.set(module, pool);
  for (let i = 0; i < count; i++) pool.push(start(module));
}

/** `count` threads for a search of `module`: idle ones first, then new ones. */
export function takeSearchWorkers(module: string, count: number): Worker[] {
  floor = Math.min(floor, process.memoryUsage.rss());
  const pool = pools.get(module);
  const taken = pool ? pool.splice(0, count) : [];
  while (taken.length < count) taken.push(start(pool ? module : undefined));
  return taken;
}

/**
 * After a search: threads of a pooled module that finished it cleanly wait for the next; others
 * end. If the process has grown more than GARBAGE_BOUND past `floor`, this thread and the threads
 * kept collect their garbage (an ended thread frees all it held).
 */
export function returnSearchWorkers(module: string, threads: readonly Worker[], clean: boolean): void {
  const pool = pools.get(module);
  const keep = pool !== undefined && clean;
  if (keep) pool.push(...threads);
  else for (const t of threads) void t.terminate();
  const size = process.memoryUsage.rss();
  if (size - floor <= GARBAGE_BOUND) {
    floor = Math.min(floor, size);
    return;
  }
  collectGarbage();
  const collect: CollectRequest = { kind: 'collect' };
  if (keep) for (const t of threads) t.postMessage(collect);
  floor = process.memoryUsage.rss();
}

/** The idle threads waiting for searches of `module`, by thread id (tests). */
export function idleSearchWorkers(module: string): number[] {
  return (pools.get(module) ?? []).map((t) => t.threadId);
}
