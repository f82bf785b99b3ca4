/**
 * The search threads started ahead of need (src/engine/parallel-pool.ts): a prestarted thread
 * serves the searches of its module one after another — with the one-thread results, a --driver
 * module loaded once for them all — and a search that failed ends its threads rather than give
 * them back, and the memory a search shared with a kept thread is freed once the process grew past
 * the bound. (In a file of its own: the pool is the test process's.)
 */
import { join } from 'node:path';
import { MessageChannel, receiveMessageOnPort, type Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { checkOne } from '../../src/check/run.js';
import { parallelCell, type CellSource } from '../../src/cli/parallel-cell.js';
import { parallelCellModule } from '../../src/cli/prestart.js';
import { collectGarbage, GARBAGE_BOUND, idleSearchWorkers, prestartSearchWorkers, returnSearchWorkers, takeSearchWorkers } from '../../src/engine/parallel-pool.js';
import { CTL, controlBlock } from '../../src/engine/parallel-shared.js';
import type { SearchRequest } from '../../src/engine/parallel-worker.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';
import dmirrorDriver from '../../examples/drivers/dmirror.js';
import { ROOT } from '../helpers/cli.js';

const module = parallelCellModule();
const together = (source: CellSource) => ({ ...parallelCell(2, source), together: true });
const pick = (r: ReturnType<typeof checkOne>) => ({ verdict: r.verdict, states: r.states, transitions: r.transitions, depth: r.depth, schedule: r.schedule });

describe('search threads kept between searches', () => {
  it('a prestarted thread serves search after search, a --driver loaded once, with the one-thread results', { timeout: 120_000 }, () => {
    prestartSearchWorkers(1, module);
    const [thread] = idleSearchWorkers(module);
    expect(thread).toBeGreaterThan(0);
    const spec = scenarioByName('introspect')!;
    const interval = variantByName('interval')!;
    const first = checkOne(spec, interval, { shrink: false, parallel: together({ scenario: 'introspect', variant: 'interval', drivers: [] }) });
    expect(pick(first)).toEqual(pick(checkOne(spec, interval, { shrink: false })));
    expect(idleSearchWorkers(module)).toEqual([thread]);
    // Twice with the same driver module: loading it again in the thread would be two designs of one name.
    const source = { scenario: 'introspect', variant: dmirrorDriver.name, drivers: [join(ROOT, 'examples/drivers/dmirror.ts')] };
    const alone = pick(checkOne(spec, dmirrorDriver, { shrink: false }));
    for (let i = 0; i < 2; i++) expect(pick(checkOne(spec, dmirrorDriver, { shrink: false, parallel: together(source) }))).toEqual(alone);
    expect(idleSearchWorkers(module)).toEqual([thread]);
  });

  it('a search whose thread failed ends it; the next search starts another and keeps it', { timeout: 120_000 }, () => {
    if (idleSearchWorkers(module).length === 0) prestartSearchWorkers(1, module);
    const [thread] = idleSearchWorkers(module);
    const spec = scenarioByName('exit')!;
    const interval = variantByName('interval')!;
    expect(() => checkOne(spec, interval, { parallel: together({ scenario: 'no-such-scenario', variant: 'interval', drivers: [] }) })).toThrow(/cannot rebuild no-such-scenario under interval/);
    expect(idleSearchWorkers(module)).toEqual([]);
    const r = checkOne(spec, interval, { shrink: false, parallel: together({ scenario: 'exit', variant: 'interval', drivers: [] }) });
    expect(pick(r)).toEqual(pick(checkOne(spec, interval, { shrink: false })));
    const [next] = idleSearchWorkers(module);
    expect(next).toBeGreaterThan(0);
    expect(next).not.toBe(thread);
  });
});

const MiB = 2 ** 20;

/**
 * Has `thread` search with `bytes` of shared memory (filled, so resident) in its request, as a
 * search's level stores and table are; the search fails at once (no such scenario) and nothing of
 * it is kept in either thread, but the memory stays until both have collected their garbage.
 */
function lend(thread: Worker, bytes: number): void {
  const held = new Uint8Array(new SharedArrayBuffer(bytes)).fill(1);
  const ctl = controlBlock();
  const { port1, port2 } = new MessageChannel();
  const data = { scenario: 'no-such-scenario', variant: 'interval', drivers: [], held };
  const input = {
    module,
    data,
    port: port2,
    ctl,
    audit: false,
    liveness: true,
    deadlock: true,
    reached: false,
    merge: true,
    maxStates: 1e9,
    deadline: Number.POSITIVE_INFINITY,
    maxMemoryBytes: Number.POSITIVE_INFINITY,
    counters: undefined,
    symmetry: undefined,
    actorGroups: undefined,
    equivarianceEvery: 0,
    preemptions: -1,
    multi: false,
    lockOrder: false,
  };
  const request: SearchRequest = { kind: 'search', input };
  thread.postMessage(request, [port2]);
  expect(Atomics.wait(ctl, CTL.REPORTED, 0, 30_000)).not.toBe('timed-out');
  expect(receiveMessageOnPort(port1)?.message).toMatchObject({ kind: 'error', message: expect.stringMatching(/cannot rebuild no-such-scenario/) });
  port1.close();
}

/** Waits (up to 10 s) for the process's resident size to fall by `bytes` from `grown`; returns how far it fell, in MiB. */
async function fallen(grown: number, bytes: number): Promise<number> {
  let rss = process.memoryUsage.rss();
  for (let waited = 0; grown - rss < bytes && waited < 10_000; waited += 50) {
    await new Promise((r) => setTimeout(r, 50));
    rss = process.memoryUsage.rss();
  }
  return Math.round((grown - rss) / MiB);
}

describe('the memory a search shared with a kept thread', () => {
  it('is freed when the search left the process past the bound: this thread collects', { timeout: 60_000 }, async () => {
    if (idleSearchWorkers(module).length === 0) prestartSearchWorkers(1, module);
    const [thread] = takeSearchWorkers(module, 1);
    const bytes = 2 * GARBAGE_BOUND;
    lend(thread, bytes);
    const grown = process.memoryUsage.rss();
    returnSearchWorkers(module, [thread], true);
    expect(idleSearchWorkers(module)).toContain(thread.threadId);
    expect(await fallen(grown, 0.75 * bytes), `resident size fell from ${Math.round(grown / MiB)} MiB`).toBeGreaterThanOrEqual((0.75 * bytes) / MiB);
  });

  it('is freed when the search left the process past the bound: the kept thread collects too', { timeout: 60_000 }, async () => {
    if (idleSearchWorkers(module).length === 0) prestartSearchWorkers(1, module);
    const spec = scenarioByName('introspect')!;
    const interval = variantByName('interval')!;
    const source = { scenario: 'introspect', variant: 'interval', drivers: [] };
    // Sets the size the bound is counted from.
    checkOne(spec, interval, { shrink: false, parallel: together(source) });
    const bytes = 2 * GARBAGE_BOUND;
    const grown = (() => {
      // Held by the thread's search to its end (in its options), as a search's level stores are: long enough to be old.
      const held = new Uint8Array(new SharedArrayBuffer(bytes)).fill(1);
      checkOne(spec, interval, { shrink: false, parallel: together({ ...source, held } as CellSource) });
      return process.memoryUsage.rss();
    })();
    // What the kept thread did not collect is not this thread's to free.
    collectGarbage();
    expect(await fallen(grown, 0.75 * bytes), `resident size fell from ${Math.round(grown / MiB)} MiB`).toBeGreaterThanOrEqual((0.75 * bytes) / MiB);
  });
});
