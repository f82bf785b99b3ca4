/**
 * A model error met in a transition is ordered among the violations of its level
 * (src/engine/parallel-expand.ts `WorkerEvent` kind `error`): the parallel search stops with
 * whichever of the two the one-thread search meets first — a BUG of the first actor before a model
 * error of the second, the model error when it comes first — not with whichever a thread happens
 * to meet. The toy runs on the compiled engine (dist/, rebuilt by the global setup), as its worker
 * threads do, so that both sides throw the same ModelError class.
 */
import { describe, expect, it } from 'vitest';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { ROOT } from '../helpers/cli.js';

const model = pathToFileURL(join(ROOT, 'test/fixtures/parallel-order-model.mjs')).href;
const dist = (path: string) => import(pathToFileURL(join(ROOT, 'dist', path)).href);

/** The outcome of a search of the toy with its actors in `order`, on one thread or two: the violations, or the error thrown. */
async function outcome(order: 'bug-first' | 'error-first' | 'two-bugs', threads: number, maxViolations = 1): Promise<string> {
  const { explore } = await dist('engine/exhaustive.js');
  const { exploreParallel } = await dist('engine/parallel.js');
  const { orderWorld } = await import(model);
  const w = orderWorld(order);
  try {
    const r = threads === 1 ? explore(w, { maxViolations }) : exploreParallel(w, { maxViolations }, { workers: threads, module: model, data: { order }, together: true });
    const all = (r.violations ?? [r.violation]).map((v: { property: string; message: string; schedule: number[] }) => `${v?.property}: ${v?.message} at ${JSON.stringify(v?.schedule)}`);
    return `${r.verdict} (${r.states} states, ${r.transitions} transitions): ${all.join('; ')}`;
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

describe('a model error among the violations of a level', () => {
  it('several violations in one level, met by either thread: taken in the one-thread order', { timeout: 60_000 }, async () => {
    const one = await outcome('two-bugs', 1, Number.POSITIVE_INFINITY);
    expect(one).toMatch(/alpha raises a BUG.*; kernel-bug: .*beta raises a BUG/);
    // Each run the threads may take the level's two parents the other way round.
    for (let run = 0; run < 5; run++) expect(await outcome('two-bugs', 2, Number.POSITIVE_INFINITY)).toBe(one);
  });

  it('a BUG met before the model error in the one-thread order is the result on two threads too', { timeout: 60_000 }, async () => {
    const one = await outcome('bug-first', 1);
    expect(one).toMatch(/^violation \(\d+ states, \d+ transitions\): kernel-bug: .*the step raises a BUG/);
    expect(await outcome('bug-first', 2)).toBe(one);
  });

  it('a model error met first is thrown, on two threads as on one', { timeout: 60_000 }, async () => {
    const one = await outcome('error-first', 1);
    expect(one).toBe('ModelError: the step is a model error');
    expect(await outcome('error-first', 2)).toBe(one);
  });
});
