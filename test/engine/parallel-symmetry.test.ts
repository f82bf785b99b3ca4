/**
 * The symmetry reductions on worker threads (src/engine/parallel.ts with `--symmetry`): every thread
 * interns canonical states — swap slots renumbered (symmetry.ts), interchangeable actors permuted
 * (actor-symmetry.ts) — and the coordinator records each state's permutation and each region
 * edge's, so the result is the one-thread symmetric search's: verdict, states, transitions, depth,
 * counterexample in concrete actors, the fair-termination check on the product, and a refusal
 * (a model error) where the one-thread search stops with it. The workers run the compiled model
 * (dist/, rebuilt by the global setup).
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { checkOne, propertiesFor, type CheckOptions } from '../../src/check/run.js';
import { parallelCell, type CellSource } from '../../src/cli/parallel-cell.js';
import { variantByName } from '../../src/mirror/variants.js';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { buildScenario } from '../../src/scenario/build.js';
import { judgeSchedule } from '../../src/engine/replay.js';
import { TERMINATION } from '../../src/engine/verdict.js';
import retriesForever from '../fixtures/drivers/retries-forever.js';
import { ROOT } from '../helpers/cli.js';
import { parallelOutcome } from '../helpers/parallel-outcome.js';
import { TWO_READERS as TWO_READERS_FILE } from '../helpers/symmetric-scenarios.js';

const spec = (text: string): ScenarioSpec => parseScenario(text, 'x.yaml', 'yaml').spec;

const TWO_READERS = spec(TWO_READERS_FILE);

/** Two kswapds reclaim a page each while the introspector reads both (test/engine/symmetry.test.ts): which slot each page gets is the order of their add_to_swap. */
const TWO_RECLAIMERS = spec(`
name: two-reclaimers
description: two kswapds reclaim a page each while the introspector reads both
pages: 2
actors:
  - name: intro
    ops: [{ op: access, mm: introspector, page: 0 }, { op: access, mm: introspector, page: 1 }]
  - name: kswapd0
    ops: [{ op: reclaim, page: 0 }]
  - name: kswapd1
    ops: [{ op: reclaim, page: 1 }]
`);

/** The scenario given as data (as the command sends one read from standard input), under a built-in design or a driver file. */
function source(s: ScenarioSpec, variant: string, drivers: readonly string[] = []): CellSource {
  return { scenario: s.name, file: '-', spec: s, variant, drivers };
}

function both(s: ScenarioSpec, variant: string, opts: CheckOptions, drivers: readonly string[] = []) {
  const design = variantByName(variant) ?? (variant === retriesForever.name ? retriesForever : undefined);
  if (!design) throw new Error(`no design ${variant}`);
  const one = checkOne(s, design, opts);
  // Together: every level on both threads, however small.
  const two = checkOne(s, design, { ...opts, parallel: { ...parallelCell(2, source(s, variant, drivers)), together: true } });
  return { one, two };
}

describe('the symmetry reductions on worker threads', () => {
  it('swap slots renumbered: the one-thread symmetric result, with fewer states than the concrete search', { timeout: 120_000 }, () => {
    const { one, two } = both(TWO_RECLAIMERS, 'interval', { symmetry: true, shrink: false });
    expect(one.symmetry).toEqual(['swap-slot']);
    expect(parallelOutcome(two)).toEqual(parallelOutcome(one));
    const concrete = checkOne(TWO_RECLAIMERS, variantByName('interval')!, { shrink: false });
    expect(two.states).toBeLessThan(concrete.states * 0.6);
  });

  it('swap slots with the counter abstraction too: the same result', { timeout: 120_000 }, () => {
    const { one, two } = both(TWO_RECLAIMERS, 'interval', { symmetry: true, counters: {}, shrink: false });
    expect(parallelOutcome(two)).toEqual(parallelOutcome(one));
    expect(two.counters).toEqual(one.counters);
    expect(one.counters).toBeDefined();
  });

  it('interchangeable actors, under audit (the equivariance check on every thread): the one-thread result, termination checked on the product', { timeout: 120_000 }, () => {
    const { one, two } = both(TWO_READERS, 'interval', { symmetry: true, shrink: false, equivarianceEvery: 1 });
    expect(one.actorSymmetry).toEqual({ groups: [['intro', 'intro2']], fairTermination: 'checked' });
    expect(parallelOutcome(two)).toEqual(parallelOutcome(one));
  });

  it('three interchangeable readers (examples/three-readers.yaml): the one-thread result', { timeout: 120_000 }, () => {
    const s = loadScenarioFile(join(ROOT, 'examples/three-readers.yaml')).spec;
    const { one, two } = both(s, 'interval', { symmetry: true, shrink: false, audit: false });
    expect(one.verdict).toBe('holds');
    expect(parallelOutcome(two)).toEqual(parallelOutcome(one));
  });

  it('a broken design under actor symmetry: the same shortest counterexample, in concrete actors, replaying to the violation', { timeout: 120_000 }, () => {
    const { one, two } = both(TWO_READERS, 'seed-2019-fixed', { symmetry: true, shrink: false });
    expect(one.verdict).toBe('violation');
    expect(parallelOutcome(two)).toEqual(parallelOutcome(one));
    const design = variantByName('seed-2019-fixed')!;
    const w = buildScenario(TWO_READERS, design).world;
    expect(judgeSchedule(w, two.violation!.schedule, { properties: propertiesFor(TWO_READERS, design).properties })).toMatchObject({
      property: two.violation!.property,
      message: two.violation!.message,
    });
  });

  it('a livelock found on the product (a fault path that retries for ever): the same lasso, replaying to it', { timeout: 120_000 }, () => {
    const { one, two } = both(TWO_READERS, retriesForever.name, { symmetry: true, shrink: false }, [join(ROOT, 'test/fixtures/drivers/retries-forever.ts')]);
    expect(one.violation?.property).toBe(TERMINATION);
    expect(parallelOutcome(two)).toEqual(parallelOutcome(one));
    const w = buildScenario(TWO_READERS, retriesForever).world;
    expect(judgeSchedule(w, two.violation!.schedule, { properties: propertiesFor(TWO_READERS, retriesForever).properties })).toEqual({
      property: TERMINATION,
      message: two.violation!.message,
    });
  });

  it('where the swap slots are not a symmetry: the same refusal as one thread', { timeout: 120_000 }, () => {
    const s = loadScenarioFile(join(ROOT, 'bench/scenarios/pages-2.yaml')).spec;
    const design = variantByName('interval')!;
    const refusal = (opts: CheckOptions): string => {
      try {
        checkOne(s, design, opts);
      } catch (e) {
        return `${(e as Error).name}: ${(e as Error).message}`;
      }
      return 'no refusal';
    };
    const one = refusal({ symmetry: true, shrink: false });
    expect(one).toMatch(/^ModelError: row domain swap-slot: swap\[\d\] was allocated while/);
    expect(refusal({ symmetry: true, shrink: false, parallel: { ...parallelCell(2, source(s, 'interval')), together: true } })).toBe(one);
  });
});
