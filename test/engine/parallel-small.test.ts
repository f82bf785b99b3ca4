/**
 * A search that ends before its worker threads have built their models (a small one) does not
 * wait for them (src/engine/parallel.ts `collect`): they never joined a level, ran no step and
 * learned nothing. A pooled thread in that state ends that search once it is built and serves the
 * next one. The toy model (test/fixtures/parallel-order-model.mjs) runs on the compiled engine, as
 * its worker threads do, and makes its worker slow to get ready.
 */
import { describe, expect, it } from 'vitest';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { ROOT } from '../helpers/cli.js';

const model = pathToFileURL(join(ROOT, 'test/fixtures/parallel-order-model.mjs')).href;
const dist = (path: string) => import(pathToFileURL(join(ROOT, 'dist', path)).href);
const DELAY_MS = 3000;

describe('a search smaller than its workers’ start', () => {
  it('ends without waiting for a worker that never joined; the pooled thread then serves the next search with it', { timeout: 60_000 }, async () => {
    const { explore } = await dist('engine/exhaustive.js');
    const { exploreParallel } = await dist('engine/parallel.js');
    const { prestartSearchWorkers, idleSearchWorkers } = await dist('engine/parallel-pool.js');
    const { orderWorld } = await import(model);
    const one = explore(orderWorld('plain'), {});
    expect(one).toMatchObject({ verdict: 'holds', states: 4 });
    prestartSearchWorkers(1, model);
    const [thread] = idleSearchWorkers(model);
    const data = { order: 'plain', delayMs: DELAY_MS };
    const t0 = performance.now();
    const first = exploreParallel(orderWorld('plain'), {}, { workers: 2, module: model, data });
    expect(performance.now() - t0).toBeLessThan(DELAY_MS / 2);
    expect({ verdict: first.verdict, states: first.states, transitions: first.transitions }).toEqual({ verdict: 'holds', states: 4, transitions: one.transitions });
    expect(idleSearchWorkers(model)).toEqual([thread]);
    // The same thread, still building the first search's model, serves this one (its own model is built at once).
    const together = (): unknown => {
      const r = exploreParallel(orderWorld('plain'), {}, { workers: 2, module: model, data: { order: 'plain' }, together: true });
      return { verdict: r.verdict, states: r.states, transitions: r.transitions };
    };
    const expected = { verdict: 'holds', states: 4, transitions: one.transitions };
    expect(together()).toEqual(expected);
    expect(idleSearchWorkers(model)).toEqual([thread]);
    // Once the first search's model is built, the thread ends that search (its finish is waiting) and serves the next.
    await new Promise((resolve) => setTimeout(resolve, DELAY_MS + 500));
    expect(together()).toEqual(expected);
    expect(idleSearchWorkers(model)).toEqual([thread]);
  });
});
