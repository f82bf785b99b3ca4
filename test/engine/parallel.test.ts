/**
 * The search on worker threads (src/engine/parallel.ts) is the one-thread breadth-first search:
 * the same verdict, states, transitions, depth, counterexample (the same shortest one, every run),
 * and, on a complete search, the same record of labels reached and accesses assumed — on cells that hold, on broken
 * designs (a BUG, a refinement violation), on a table that must grow mid-level, and when a limit
 * stops it. The workers run the compiled model (dist/, rebuilt by the global setup).
 */
import { describe, expect, it } from 'vitest';
import { checkOne, type CheckOptions } from '../../src/check/run.js';
import { cellSource, parallelCell } from '../../src/cli/parallel-cell.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';
import { MEASURED_COUNTS } from '../../src/check/costs.js';
import { parallelUnsupported } from '../../src/engine/parallel.js';
import { dfs } from '../../src/engine/dfs.js';
import { explore } from '../../src/engine/exhaustive.js';
import { buildScenario } from '../../src/scenario/build.js';
import dmirrorDriver from '../../examples/drivers/dmirror.js';
import { MIGRATE_VS_CPU_READ_1 } from '../helpers/retry-scenarios.js';
import { ROOT } from '../helpers/cli.js';
import { join } from 'node:path';
import { catalogueCell, oneAndTwoThreads, parallelOutcome } from '../helpers/parallel-outcome.js';

describe('exhaustive search on worker threads', () => {
  for (const [scenario, variant] of [
    ['introspect', 'interval'],
    ['swap-cycle', 'interval'],
    ['introspect', 'seed-2019-literal'],
    ['cow', 'seed-2019-fixed'],
    ['exit', 'start-only'],
    ['introspect-nested', 'anon-vma'],
  ]) {
    it(`${scenario}/${variant}: the one-thread result, counts and counterexample included`, { timeout: 120_000 }, () => {
      const { one, two } = oneAndTwoThreads(scenario, variant);
      expect(parallelOutcome(two)).toEqual(parallelOutcome(one));
      // The pinned catalogue counts, reached on two threads.
      expect([two.states, two.transitions]).toEqual(MEASURED_COUNTS[`${scenario}/${variant}`]);
    });
  }

  it('reports the same shortest counterexample on every run (the race for a state decides nothing)', { timeout: 120_000 }, () => {
    const c = catalogueCell('introspect-nested', 'seed-2019-literal');
    const one = checkOne(c.scenario, c.variant);
    expect(one.verdict).toBe('violation');
    for (let run = 0; run < 3; run++) {
      const two = checkOne(c.scenario, c.variant, { parallel: { ...parallelCell(2, cellSource(c, new Map())), together: true } });
      expect(parallelOutcome(two)).toEqual(parallelOutcome(one));
    }
  });

  it('a table too small for a level grows and runs the level again: nothing lost, nothing counted twice', { timeout: 120_000 }, () => {
    const { one, two } = oneAndTwoThreads('introspect', 'raw-clear', {}, { initialCapacity: 64, growAhead: false });
    expect(parallelOutcome(two)).toEqual(parallelOutcome(one));
  });

  it('a table grown ahead of each level gives the same result', { timeout: 120_000 }, () => {
    const { one, two } = oneAndTwoThreads('introspect', 'raw-clear', {}, { initialCapacity: 64 });
    expect(parallelOutcome(two)).toEqual(parallelOutcome(one));
  });

  it('the worker joins at the start of a level once it is ready (this thread searches alone before): the same result', { timeout: 120_000 }, () => {
    const { one, two } = oneAndTwoThreads('introspect', 'interval', {}, { together: false });
    expect(parallelOutcome(two)).toEqual(parallelOutcome(one));
  });

  it("levels too small to share are this thread's alone, the worker rejoining the larger ones after: the same result", { timeout: 120_000 }, () => {
    // cow/interval's levels rise past 16 states, fall below, then rise past it again.
    const { one, two } = oneAndTwoThreads('cow', 'interval', {}, { sharedLevel: 16 });
    expect(parallelOutcome(two)).toEqual(parallelOutcome(one));
    expect([one.states, one.transitions]).toEqual(MEASURED_COUNTS['cow/interval']);
  });

  it('a limit stops it incomplete, with what it covered', { timeout: 60_000 }, () => {
    const { two } = oneAndTwoThreads('introspect', 'interval', { maxStates: 2000 });
    expect(two.verdict).toBe('incomplete');
    expect(two.stopReason).toBe('max-states');
    expect(two.states).toBeGreaterThanOrEqual(2000);
    expect(two.states).toBeLessThan(20863);
    // What it covered (exhaustive.ts `completeDepth`): it found every state within that depth of the whole search's, and none past the next.
    const { world } = buildScenario(scenarioByName('introspect')!, variantByName('interval')!);
    const atDepth: number[] = [];
    const whole = explore(world, {
      onState: (_s, d) => {
        atDepth[d] = (atDepth[d] ?? 0) + 1;
      },
    });
    expect(whole.states).toBe(20863);
    const upTo = (d: number) => atDepth.slice(0, d + 1).reduce((n, k) => n + (k ?? 0), 0);
    const d = two.completeDepth!;
    expect(d).toBeGreaterThan(0);
    expect(two.states).toBeGreaterThanOrEqual(upTo(d));
    expect(two.states).toBeLessThanOrEqual(upTo(d + 1));
    expect(upTo(d + 1)).toBeGreaterThan(upTo(d));
  });

  it('interns states renamed under the counter abstraction, as one thread does: a search that ends only renamed ends with the same counts', { timeout: 120_000 }, () => {
    // test/engine/counters.test.ts: concrete, the fault that loses the refcount race retries with a new page for ever.
    const spec = MIGRATE_VS_CPU_READ_1;
    const source = { scenario: spec.name, file: '-', spec, variant: dmirrorDriver.name, drivers: [join(ROOT, 'examples/drivers/dmirror.ts')] };
    const opts: CheckOptions = { counters: { check: true }, shrink: false };
    const one = checkOne(spec, dmirrorDriver, opts);
    const two = checkOne(spec, dmirrorDriver, { ...opts, parallel: { ...parallelCell(2, source), together: true } });
    expect(one).toMatchObject({ verdict: 'holds', states: 1246 });
    expect(parallelOutcome(two)).toEqual(parallelOutcome(one));
    expect(two).toMatchObject({ counters: { check: true } });
    // Concrete, the threads do not end either: the renaming is what ends it.
    const concrete = checkOne(spec, dmirrorDriver, { shrink: false, maxStates: 5000, parallel: parallelCell(2, source) });
    expect(concrete).toMatchObject({ verdict: 'incomplete', stopReason: 'max-states' });
  });

  it('names what it cannot run on threads', () => {
    expect(parallelUnsupported({ strategy: dfs })).toMatch(/strategy dfs/);
    expect(parallelUnsupported({ exact: true })).toMatch(/exact/);
    expect(parallelUnsupported({ lockOrder: true })).toBeUndefined();
    expect(parallelUnsupported({})).toBeUndefined();
    expect(parallelUnsupported({ counters: {} })).toBeUndefined();
    expect(parallelUnsupported({ symmetry: true, actorGroups: [[0, 1]] })).toBeUndefined();
    expect(parallelUnsupported({ preemptions: 1 })).toBeUndefined();
    expect(parallelUnsupported({ maxViolations: Number.POSITIVE_INFINITY })).toBeUndefined();
    expect(parallelUnsupported({ order: 7 })).toMatch(/expansion order/);
  });
});
