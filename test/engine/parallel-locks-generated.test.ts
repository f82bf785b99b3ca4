/**
 * The lock-order graph on worker threads against one thread, on generated toys
 * (test/fixtures/lock-programs-model.mjs): actors run small programs given as data — counts,
 * invisible steps, lock classes taken holding others, recursions, branches, BUGs in blocked steps
 * and in extensions, loops that never end — checked with several violations asked for or one,
 * preemption bounds, merging off, the deadlock and termination checks on or off, interchangeable
 * actors. Each seed's result, the whole graph included, must be the one-thread one.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const GEN = pathToFileURL(join(ROOT, 'test/fixtures/lock-programs-model.mjs')).href;
const dist = (path: string) => import(pathToFileURL(join(ROOT, 'dist', path)).href);

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
/** Generated programs (test/fixtures/lock-programs-model.mjs), their actors and search options, from `seed`. */
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

describe('generated toys with the lock-order graph, on one thread and on two', () => {
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
