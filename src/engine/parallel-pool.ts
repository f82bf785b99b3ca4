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
 */
import { Worker } from 'node:worker_threads';

/** What a worker thread is started with (parallel-worker.ts): the module to load before it is asked to search, if known. */
export interface WorkerBoot {
  readonly module?: string;
}

/** Idle threads by the module they loaded. */
const pools = new Map<string, Worker[]>();

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
  const pool = pools.get(module);
  const taken = pool ? pool.splice(0, count) : [];
  while (taken.length < count) taken.push(start(pool ? module : undefined));
  return taken;
}

/** After a search: threads of a pooled module that finished it cleanly wait for the next; others end. */
export function returnSearchWorkers(module: string, threads: readonly Worker[], clean: boolean): void {
  const pool = pools.get(module);
  if (pool && clean) pool.push(...threads);
  else for (const t of threads) void t.terminate();
}

/** The idle threads waiting for searches of `module`, by thread id (tests). */
export function idleSearchWorkers(module: string): number[] {
  return (pools.get(module) ?? []).map((t) => t.threadId);
}
