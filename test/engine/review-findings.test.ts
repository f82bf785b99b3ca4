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
const GEN = pathToFileURL(join(ROOT, 'test/fixtures/review-gen-model.mjs')).href;
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

/** A seeded xorshift: `r(n)` in [0, n). */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return (n: number) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}
/** The classes the generated steps take (fewer than the fixture numbers: more cycles). */
const CL = ['A', 'B', 'C'];
/** Generated programs (test/fixtures/review-gen-model.mjs), their actors and search options, from `seed`. */
function gen(seed: number) {
  const r = rng(seed);
  const nProg = 1 + r(3);
  const programs: Record<string, unknown>[][] = [];
  for (let p = 0; p < nProg; p++) {
    const steps: Record<string, unknown>[] = [];
    for (let i = 0, n = 1 + r(3); i < n; i++) {
      if (r(5) === 0) {
        steps.push(r(4) === 0 ? { l: 1, lp: 1 } : { l: 1 });
        continue;
      }
      const s: Record<string, unknown> = {};
      if (r(4) === 0) s.u = 1 + r(3);
      if (r(3) !== 0) {
        const a = CL[r(3)];
        let b = CL[r(3)];
        if (a === b) b = CL[(CL.indexOf(a) + 1) % 3];
        s.k = [a, b];
      }
      if (r(10) === 0) s.r = CL[r(3)];
      if (r(6) === 0) s.ch = 2;
      if (r(2) === 0) s.c = 1;
      if (r(7) === 0) s.b = 1;
      if (r(8) === 0) s.lp = 1;
      if (r(9) === 0) s.ba = 1;
      steps.push(s);
    }
    programs.push(steps);
  }
  const actors: number[] = [];
  for (let a = 0, n = 2 + r(2); a < n; a++) actors.push(r(nProg));
  const opts: Record<string, unknown> = { lockOrder: true };
  const mv = r(3);
  opts.maxViolations = mv === 0 ? 1 : mv === 1 ? 2 : Number.POSITIVE_INFINITY;
  const pb = r(4);
  if (pb < 2) opts.preemptions = pb;
  if (r(3) === 0) opts.merge = false;
  if (r(3) === 0) opts.liveness = false;
  if (r(2) === 0) opts.deadlock = false;
  if (r(3) === 0 && opts.preemptions === undefined) {
    for (let a = 0; a < actors.length; a++) actors[a] = actors[0];
    opts.actorGroups = [actors.map((_, i) => i)];
  }
  return { data: { programs, actors }, opts };
}

/** A generated toy on `threads` threads (every level shared): the result with the whole graph, or the error thrown. */
async function generated(data: unknown, opts: object, threads: number): Promise<unknown> {
  const { explore } = await dist('engine/exhaustive.js');
  const { exploreParallel } = await dist('engine/parallel.js');
  const { genWorld } = await import(GEN);
  try {
    const r = threads === 1 ? explore(genWorld(data), opts) : exploreParallel(genWorld(data), opts, { workers: threads, module: GEN, data, together: true, sharedLevel: 1 });
    const { verdict, states, transitions, depth, violation, violations, stopReason, beyondBound } = r;
    return { verdict, states, transitions, depth, violation, violations, stopReason, beyondBound, graph: r.lockOrder };
  } catch (e) {
    return { error: String(e) };
  }
}

describe('review: generated toys with the lock-order graph, on one thread and on two', () => {
  // Cycles, recursions, BUGs in blocked steps and in extensions, branches, deadlocks, non-termination,
  // model errors, several violations, preemption bounds, interchangeable actors.
  for (let block = 0; block < 4; block++) {
    it(`seeds ${block * 25 + 1}…${block * 25 + 25}: the one-thread result and graph`, { timeout: 120_000 }, async () => {
      for (let seed = block * 25 + 1; seed <= block * 25 + 25; seed++) {
        const { data, opts } = gen(seed);
        const one = await generated(data, opts, 1);
        expect(await generated(data, opts, 2), `seed ${seed}: ${JSON.stringify({ data, opts })}`).toEqual(one);
      }
    });
  }
});
