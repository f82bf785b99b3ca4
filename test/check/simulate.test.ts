import { describe, expect, it } from 'vitest';
import { simulate, pctPlanOf, shardRuns, type SimulateResult, type SimulateViolation } from '../../src/engine/simulate.js';
import { simulateScenario } from '../../src/check/run.js';
import { Prng, deriveSeed, normalizeSeed } from '../../src/engine/prng.js';
import { PROPERTIES } from '../../src/check/properties.js';
import { decodeSchedule } from '../../src/engine/schedule.js';
import { buildScenario } from '../../src/scenario/build.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';
import { isEnabled, runSchedule, ScheduleError, traceStep } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import type { Property } from '../../src/engine/verdict.js';
import { buildWorld } from '../../src/kernel/topology.js';
import { driverMutex, mutexLock, mutexTrylock, mutexUnlock } from '../../src/kernel/locks.js';
import { BLOCK_SLEEP } from '../../src/world/routine.js';
import { Library } from '../../src/world/registry.js';
import { KERNEL } from '../../src/kernel/library.js';

const LIB = new Library('test-simulate', [KERNEL]);

const spec = (name: string) => scenarioByName(name)!;
const variant = (name: string) => variantByName(name)!;
const world = (s: string, v: string): World => buildScenario(spec(s), variant(v)).world;
const withoutTime = (r: SimulateResult) => ({ ...r, elapsedMs: 0 });

/** Replays a counterexample from the initial state; every property holds before its last step, and the reported one fails after it. */
function expectReplays(s: string, v: string, viol: SimulateViolation): void {
  const w = world(s, v);
  const sched = viol.schedule;
  for (let i = 0; i < sched.length - 1; i++) {
    const t = traceStep(w, sched[i], i);
    expect(t.bugs).toEqual([]);
    for (const p of PROPERTIES) expect(p.check(w), `${p.name} after step ${i}`).toBeUndefined();
  }
  const last = sched[sched.length - 1];
  if (viol.property === 'kernel-bug') {
    let bugs: string;
    try {
      bugs = traceStep(w, last, sched.length - 1).bugs.join('; ');
    } catch (e) {
      if (!(e instanceof ScheduleError)) throw e;
      bugs = e.message; // a blocked attempt that raised the BUG
    }
    expect(bugs).toContain(viol.message);
  } else if (viol.property === 'deadlock') {
    traceStep(w, last, sched.length - 1);
    for (let a = 0; a < w.layout.actorNames.length; a++) expect(isEnabled(w, a)).toBe(false);
  } else {
    traceStep(w, last, sched.length - 1);
    const p = PROPERTIES.find((x) => x.name === viol.property)!;
    expect(p.check(w)).toBe(viol.message);
  }
}

describe('the PRNG', () => {
  it('is xoshiro128** seeded by splitmix32, bit-identical to the C reference', () => {
    // Values computed by the reference C code (uint32 arithmetic) for seed 0 and derived seed (42, run 7).
    const p = new Prng(0);
    expect([p.next(), p.next(), p.next(), p.next()]).toEqual([3809008728, 1133695204, 53579671, 2891528803]);
    expect(deriveSeed(42, 7)).toBe(3872241711);
  });

  it('derives distinct seeds for distinct runs, and draws without bias', () => {
    const seeds = new Set<number>();
    for (let r = -1; r < 20000; r++) seeds.add(deriveSeed(7, r));
    expect(seeds.size).toBe(20001);
    const rng = new Prng(1);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30000; i++) counts[rng.below(3)]++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(400);
    expect(rng.permutation(5).sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('rejects seeds that are not non-negative integers', () => {
    expect(() => normalizeSeed(-1)).toThrow(RangeError);
    expect(() => normalizeSeed(1.5)).toThrow(RangeError);
    expect(normalizeSeed(2 ** 32 + 5)).toBe(5);
  });
});

describe('random simulation', () => {
  it('finds start-only missing the end callback on introspect, and the schedule replays to it', () => {
    const r = simulateScenario(spec('introspect'), variant('start-only'), { runs: 200, seed: 1 });
    expect(r.verdict).toBe('violation');
    expect(r.exhaustive).toBe(false);
    expect(r.violation!.property).toBe('refinement');
    expect(r.runs).toBe(r.violation!.run + 1); // stops at the first violating run
    expectReplays('introspect', 'start-only', r.violation!);
    expect(decodeSchedule(r.schedule!).choices).toEqual(r.violation!.schedule);
  });

  it('finds the kernel BUG of seed-2019-literal on several scenarios, and it replays', () => {
    for (const s of ['cow', 'swap-cycle', 'exit']) {
      const r = simulateScenario(spec(s), variant('seed-2019-literal'), { runs: 50, seed: 3 });
      expect(r.violation?.property).toBe('kernel-bug');
      expectReplays(s, 'seed-2019-literal', r.violation!);
    }
  });

  it('is deterministic: same seed, same result; another seed, other runs', () => {
    const opts = { runs: 40, seed: 99, keepRuns: true, stopOnViolation: false } as const;
    const a = simulate(world('swap-cycle', 'seed-2019-fixed'), { ...opts, properties: PROPERTIES });
    const b = simulate(world('swap-cycle', 'seed-2019-fixed'), { ...opts, properties: PROPERTIES });
    expect(withoutTime(a)).toEqual(withoutTime(b));
    const c = simulate(world('swap-cycle', 'seed-2019-fixed'), { ...opts, seed: 100, properties: PROPERTIES });
    expect(c.runLog!.map((x) => x.digest)).not.toEqual(a.runLog!.map((x) => x.digest));
  });

  it('reports no violation of the corrected design in N runs, without claiming it holds', () => {
    for (const s of ['introspect', 'cow', 'swap-cycle']) {
      const r = simulateScenario(spec(s), variant('interval'), { runs: 150, seed: 5 });
      expect(r.verdict).toBe('no-violation-found');
      expect(r.runs).toBe(150);
      expect(r.truncatedRuns).toBe(0);
      expect(r.states).toBeGreaterThan(1);
      expect(r.steps).toBeGreaterThan(150);
    }
  });

  it('cuts runs off at maxSteps and stops on the time budget', () => {
    const r = simulateScenario(spec('cow'), variant('interval'), { runs: 10, seed: 1, maxSteps: 5 });
    expect(r.truncatedRuns).toBe(10);
    expect(r.steps).toBe(50);
    // Every run cut off: none reached the end of the scenario, so this is not a pass.
    expect(r.verdict).toBe('incomplete');
    expect(r.stopReason).toBe('max-steps');
    const some = simulateScenario(spec('cow'), variant('interval'), { runs: 200, seed: 1, maxSteps: 100 });
    expect(some.truncatedRuns).toBeGreaterThan(0);
    expect(some.truncatedRuns).toBeLessThan(200);
    expect(some.verdict).toBe('no-violation-found');
    // The time budget is checked before the first run too.
    const t = simulateScenario(spec('cow'), variant('interval'), { runs: 1000, seed: 1, timeLimitMs: 0 });
    expect(t.verdict).toBe('incomplete');
    expect(t.stopReason).toBe('time');
    expect(t.runs).toBe(0);
  });

  it('leaves the world in its initial state', () => {
    const w = world('introspect', 'start-only');
    const before = w.snapshot();
    simulate(w, { runs: 20, seed: 1, properties: PROPERTIES, strategy: 'pct' });
    expect(w.v).toEqual(before);
  });
});

describe('PCT simulation', () => {
  it('finds seed-2019-fixed trusting range->valid (ABA) on swap-cycle, and the schedule replays to it', () => {
    const r = simulateScenario(spec('swap-cycle'), variant('seed-2019-fixed'), { runs: 500, seed: 1, strategy: 'pct' });
    expect(r.verdict).toBe('violation');
    expect(r.violation!.property).toBe('refinement');
    expect(r.depth).toBe(3);
    expect(r.pctSteps).toBeGreaterThan(10);
    expectReplays('swap-cycle', 'seed-2019-fixed', r.violation!);
  });

  it('finds start-only on introspect', () => {
    const r = simulateScenario(spec('introspect'), variant('start-only'), { runs: 100, seed: 1, strategy: 'pct' });
    expect(r.violation?.property).toBe('refinement');
    expectReplays('introspect', 'start-only', r.violation!);
  });

  it('with d = 1 never preempts: each run is a function of the priority order alone (at most n! schedules)', () => {
    const w = world('swap-cycle', 'interval');
    const n = w.layout.actorNames.length;
    const r = simulate(w, { runs: 200, seed: 11, strategy: 'pct', depth: 1, keepRuns: true, properties: PROPERTIES });
    expect(r.verdict).toBe('no-violation-found');
    const byOrder = new Map<string, Set<number>>();
    for (const run of r.runLog!) {
      const plan = pctPlanOf(11, run.run, n, 1, r.pctSteps!);
      expect(plan.changeSteps).toEqual([]);
      const key = plan.priorities.join(',');
      if (!byOrder.has(key)) byOrder.set(key, new Set());
      byOrder.get(key)!.add(run.digest);
    }
    expect(byOrder.size).toBe(6); // 3 actors: every order drawn in 200 runs
    for (const digests of byOrder.values()) expect(digests.size).toBe(1);
  });

  it('every step runs the highest-priority enabled actor; priorities change only at change points (none for d = 1) and yields', () => {
    // A property that fails once every actor has finished turns a whole run into a "counterexample".
    const finished: Property = {
      name: 'finished',
      description: 'test: the run is over',
      check: (w) => (w.layout.actorNames.every((_, a) => w.actorSp(a) === 0) ? 'all done' : undefined),
    };
    let yielded = 0;
    let changed = 0;
    for (const depth of [1, 3]) {
      for (const [s, v] of [
        ['swap-cycle', 'interval'],
        ['cow', 'raw-clear'],
        ['munmap', 'interval'],
        ['mprotect', 'start-only'],
      ] as const) {
        for (let seed = 0; seed < 5; seed++) {
          const w = world(s, v);
          const n = w.layout.actorNames.length;
          const r = simulate(w, { runs: 1, seed, strategy: 'pct', depth, properties: [finished] });
          expect(r.violation?.property).toBe('finished');
          const plan = pctPlanOf(seed, 0, n, depth, r.pctSteps!);
          expect(plan.changeSteps.length).toBe(depth - 1);
          const prio = [...plan.priorities];
          const seen = new Set<bigint>([w.fingerprint()]);
          let lowest = 0;
          r.violation!.schedule.forEach((a, i) => {
            const enabled = [...Array(n).keys()].filter((x) => isEnabled(w, x));
            const top = enabled.reduce((x, y) => (prio[y] > prio[x] ? y : x));
            expect(a).toBe(top);
            runSchedule(w, [a]);
            const f = w.fingerprint();
            const c = plan.changeSteps.indexOf(i + 1);
            if (c >= 0) {
              prio[a] = plan.changePriorities[c];
              changed++;
            } else if (seen.has(f)) {
              prio[a] = --lowest; // a busy-waiting actor yields
              yielded++;
            }
            seen.add(f);
          });
          expect(r.yields).toBe(lowest === 0 ? 0 : -lowest);
        }
      }
    }
    expect(changed).toBeGreaterThan(0);
    expect(yielded).toBeGreaterThan(0);
  });

  it('each run is a function of its plan (priorities and change points) for d = 2 as well', () => {
    const w = world('cow', 'interval');
    const r = simulate(w, { runs: 300, seed: 2, strategy: 'pct', depth: 2, pctSteps: 8, keepRuns: true, properties: PROPERTIES });
    const byPlan = new Map<string, Set<number>>();
    for (const run of r.runLog!) {
      const plan = pctPlanOf(2, run.run, 2, 2, 8);
      expect(plan.changeSteps.length).toBe(1);
      const key = JSON.stringify(plan);
      if (!byPlan.has(key)) byPlan.set(key, new Set());
      byPlan.get(key)!.add(run.digest);
    }
    expect(byPlan.size).toBe(16); // 2 orders × 8 change points
    for (const d of byPlan.values()) expect(d.size).toBe(1);
  });

  it('is deterministic', () => {
    const o = { runs: 60, seed: 8, strategy: 'pct' as const, keepRuns: true, stopOnViolation: false };
    const a = simulateScenario(spec('exit'), variant('seed-2019-fixed'), o);
    const b = simulateScenario(spec('exit'), variant('seed-2019-fixed'), o);
    expect(withoutTime(a)).toEqual(withoutTime(b));
    expect(a.violatingRuns).toBeGreaterThan(0);
  });
});

describe('shard run counts', () => {
  it('splits runs i, i+N, ... exactly', () => {
    for (const runs of [0, 1, 7, 10, 11]) {
      for (const N of [1, 2, 3, 5, 12]) {
        let sum = 0;
        for (let i = 0; i < N; i++) {
          const expected = [...Array(runs).keys()].filter((r) => r % N === i).length;
          expect(shardRuns(runs, { index: i, count: N })).toBe(expected);
          sum += expected;
        }
        expect(sum).toBe(runs);
      }
    }
  });
});

describe('kernel BUGs on blocked attempts, and deadlock', () => {
  /** Takes the driver mutex, then releases it (or, if `keep`, returns still holding it). */
  const holder = LIB.routine({
    name: 'test_sim_holder',
    params: ['keep'],
    steps: {
      lock: { at: 'test: mutex_lock', run: (w) => mutexLock(w, driverMutex(w, 0)) || 'unlock' },
      unlock: {
        at: 'test: mutex_unlock',
        run: (w, l) => {
          if (!l.keep) mutexUnlock(w, driverMutex(w, 0));
          return w.ret(0);
        },
      },
    },
  });
  /** Enters a non-blockable section and takes the mutex there: a BUG if it has to sleep. */
  const sleeper = LIB.routine({
    name: 'test_sim_sleeper',
    params: [],
    steps: {
      enter: {
        at: 'test: non-blockable section',
        run: (w) => {
          w.nonblock(1);
          return 'lock';
        },
      },
      // A wait that does not announce itself with might_sleep (mutex_lock would, and be reported
      // on the first attempt, contended or not): only the blocked attempt raises the BUG here.
      lock: { at: 'test: wait until drv is free, then take it', run: (w) => (mutexTrylock(w, driverMutex(w, 0)) ? 'unlock' : BLOCK_SLEEP) },
      unlock: {
        at: 'test: mutex_unlock',
        run: (w) => {
          mutexUnlock(w, driverMutex(w, 0));
          w.nonblock(-1);
          return w.ret(0);
        },
      },
    },
  });
  const tiny = (keep: number, second: 'sleeper' | 'holder'): World => {
    const w = buildWorld({ pages: 1, mmPages: 1, mms: ['m'], locks: ['drv'], actors: ['h', 's'], libraries: [LIB] });
    w.spawn(0, holder, [keep]);
    if (second === 'sleeper') w.spawn(1, sleeper, []);
    else w.spawn(1, holder, [0]);
    return w;
  };

  it('reports a sleep in a non-blockable section; the blocked attempt ends the schedule and replays', () => {
    for (const strategy of ['random', 'pct'] as const) {
      const r = simulate(tiny(0, 'sleeper'), { runs: 50, seed: 1, strategy });
      expect(r.violation?.property).toBe('kernel-bug');
      expect(r.violation!.message).toMatch(/would sleep in a non-blockable context/);
      const w = tiny(0, 'sleeper');
      const sched = r.violation!.schedule;
      runSchedule(w, sched.slice(0, -1));
      const [attempt] = runSchedule(w, sched.slice(-1)); // the blocked attempt, recorded with its BUG
      expect(attempt.outcome).toBe('sleep');
      expect(attempt.bugs.join('; ')).toMatch(/would sleep in a non-blockable context/);
    }
  });

  it('reports a deadlock: an actor that exits holding the mutex', () => {
    const r = simulate(tiny(1, 'holder'), { runs: 20, seed: 2, stopOnViolation: false });
    // Only the runs where h takes the mutex first deadlock.
    expect(r.violation?.property).toBe('deadlock');
    expect(r.violatingRuns).toBeGreaterThan(0);
    expect(r.violatingRuns).toBeLessThan(20);
    const w = tiny(1, 'holder');
    runSchedule(w, r.violation!.schedule);
    expect(isEnabled(w, 1)).toBe(false);
    expect(w.actorSp(1)).toBeGreaterThan(0);
    expect(simulate(tiny(1, 'holder'), { runs: 20, seed: 2, deadlock: false }).verdict).toBe('no-violation-found');
  });
});

describe('walks are audited as the exhaustive search is', () => {
  // A driver that reads its notifier's sequence without its lock (the mutant drops mirror_fault's
  // lock): the exhaustive search reports the data race on mprotect within 10 steps; unaudited,
  // 300 random walks there find nothing, since no property ever sees the race.
  it('finds a driver data race that no property sees, and only with the audit (the default of simulateScenario)', async () => {
    const { parseMutantId, mutantVariant } = await import('../../src/check/mutate.js');
    const racy = mutantVariant(variant('interval'), parseMutantId('drop-lock@mirror_fault:lock') as Exclude<ReturnType<typeof parseMutantId>, string>);
    const audited = simulateScenario(spec('mprotect'), racy, { runs: 300, seed: 3 });
    expect(audited.verdict).toBe('violation');
    expect(audited.violation!.property).toBe('kernel-bug');
    expect(audited.violation!.message).toMatch(/without holding .*: a data race/);
    const blind = simulateScenario(spec('mprotect'), racy, { runs: 300, seed: 3, audit: false });
    expect(blind.verdict).toBe('no-violation-found');
    // The corrected design has no race: auditing changes nothing there.
    expect(withoutTime(simulateScenario(spec('mprotect'), variant('interval'), { runs: 50, seed: 3 }))).toEqual(
      withoutTime(simulateScenario(spec('mprotect'), variant('interval'), { runs: 50, seed: 3, audit: false })),
    );
  });
});
