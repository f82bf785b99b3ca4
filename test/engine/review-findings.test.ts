/**
 * Differences found in review between the one-thread search (exhaustive.ts) and the parallel one
 * (parallel.ts) with the lock-order graph, on the toy test/fixtures/review-findings-model.mjs: the
 * parallel search's contract is the one-thread result, the lock-order graph included.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const TOY = pathToFileURL(join(ROOT, 'test/fixtures/review-findings-model.mjs')).href;
const dist = (path: string) => import(pathToFileURL(join(ROOT, 'dist', path)).href);

/** The toy in `shape` searched on `threads` threads with `opts`: the result with the whole graph. */
async function toy(shape: string, threads: number, opts: object): Promise<{ verdict: string; violation?: { property: string; schedule: number[] }; graph: { classes: number; edges: unknown[] } }> {
  const { explore } = await dist('engine/exhaustive.js');
  const { exploreParallel } = await dist('engine/parallel.js');
  const { reviewWorld } = await import(TOY);
  const o = { lockOrder: true, ...opts };
  const r = threads === 1 ? explore(reviewWorld(shape), o) : exploreParallel(reviewWorld(shape), o, { workers: threads, module: TOY, data: { shape }, together: true });
  const { verdict, states, transitions, depth, violation, violations } = r;
  return { verdict, states, transitions, depth, violation, violations, graph: r.lockOrder } as never;
}

describe('review findings: the lock-order graph one thread reports, on threads', () => {
  it('a violation met before the first lock is taken: no class yet, as one thread has it', { timeout: 60_000 }, async () => {
    const one = await toy('bug-before-locks', 1, {});
    expect(one.violation?.property).not.toBe('lock-order');
    // One thread stopped at the BUG of the root's first transition: nothing had taken a lock.
    expect(one.graph.classes).toBe(0);
    for (let run = 0; run < 3; run++) expect(await toy('bug-before-locks', 2, {})).toEqual(one);
  });

  it('under actor symmetry, the concrete replay of the violation records nothing into the graph', { timeout: 60_000 }, async () => {
    const opts = { actorGroups: [[0, 1]] };
    const one = await toy('twins-blocked-tail', 1, opts);
    expect(one.verdict).toBe('violation');
    // The blocked attempt that ends the transition is taken back: its edge B → A is not in the graph.
    expect(one.graph.edges).toEqual([]);
    for (let run = 0; run < 3; run++) expect(await toy('twins-blocked-tail', 2, opts)).toEqual(one);
  });
});
