/**
 * The search on worker threads (src/engine/parallel.ts) on generated scenarios: for each, a design
 * and a way of checking it — plainly, with a preemption bound, asking for every violation, with
 * the swap-slot symmetry beside two kswapds, recording the lock-order graph, or with its first actor twice and the two declared
 * interchangeable — checked on one thread and on two (every level on both), must give the same
 * result: verdict, counts, depth, violations and their schedules,
 * labels reached, the transitions a bound cut off, the lock-order graph, or the same refusal. The catalogue's shapes are
 * not the world: generated ones reach orders of discovery, ownership races between the threads
 * and violations at levels the catalogue does not.
 *
 * GEN_SEED=7 GEN_PARALLEL_RUNS=200 npx vitest run test/generative/parallel.test.ts   # a longer run
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { VARIANTS } from '../../src/mirror/variants.js';
import type { MirrorVariant } from '../../src/mirror/device.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { checkOne, type CheckOptions } from '../../src/check/run.js';
import { parallelCell } from '../../src/cli/parallel-cell.js';
import { parallelCellModule } from '../../src/cli/prestart.js';
import { prestartSearchWorkers } from '../../src/engine/parallel-pool.js';
import { parallelOutcome } from '../helpers/parallel-outcome.js';
import { scenarioYaml, scenarios, SMALL, withTwin } from './scenarios.js';

const SEED = Number(process.env.GEN_SEED ?? 20261130);
const RUNS = Number(process.env.GEN_PARALLEL_RUNS ?? 24);
/** Searches beyond this many states are not compared: a search stopped by a limit counts what each thread had done by then. */
const MAX_STATES = 20_000;

/** The ways a scenario is checked, each on one thread and on two. */
const HOW: readonly { readonly name: string; readonly opts: CheckOptions; readonly shape?: (s: ScenarioSpec) => ScenarioSpec | undefined }[] = [
  { name: 'plain', opts: {} },
  { name: 'at most one preemption', opts: { preemptions: 1 } },
  { name: 'every violation', opts: { maxViolations: Number.POSITIVE_INFINITY } },
  { name: 'the lock-order graph', opts: { lockOrder: true } },
  { name: 'swap slots interchangeable, beside two kswapds', opts: { symmetry: true }, shape: withTwoReclaimers },
  // Every transition against every permutation: a broken equivariance is a refusal, met in the one-thread order.
  { name: 'the first actor twice, interchangeable', opts: { symmetry: true, equivarianceEvery: 1 }, shape: withTwin },
];

/** `spec` with a kswapd per page of two (which slot each page's reclaim takes then depends on the schedule). */
function withTwoReclaimers(spec: ScenarioSpec): ScenarioSpec {
  return { ...spec, pages: 2, actors: [...spec.actors, ...[0, 1].map((page) => ({ name: `kswapd${page}`, ops: [{ op: 'reclaim' as const, page }] }))] };
}

const tally = { scenarios: 0, compared: 0, beyond: 0, refused: 0, violations: 0, invalid: 0 };

/** The result of checking `spec` under `design` as `opts` asks, on `threads` threads: what must not depend on them, or the error thrown. */
function result(spec: ScenarioSpec, design: MirrorVariant, opts: CheckOptions, threads: number): unknown {
  const parallel = threads > 1 && { parallel: { ...parallelCell(threads, { scenario: spec.name, file: '-', spec, variant: design.name, drivers: [] }), together: true } };
  try {
    return parallelOutcome(checkOne(spec, design, { ...opts, shrink: false, maxStates: MAX_STATES, ...parallel }));
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

describe('generated scenarios on worker threads', () => {
  afterAll(() =>
    console.log(
      `parallel: ${tally.scenarios} scenarios, ${tally.compared} compared (${tally.violations} violations, ${tally.refused} refused), ${tally.beyond} beyond the state bound, ${tally.invalid} twins the loader refused`,
    ),
  );

  it('give the one-thread result whatever the threads race for', { timeout: Math.max(120_000, RUNS * 5000) }, () => {
    // One thread for all the searches (a pooled one serves each in turn, as for a command's cells).
    prestartSearchWorkers(1, parallelCellModule());
    fc.assert(
      fc.property(scenarios(SMALL), fc.nat(VARIANTS.length - 1), fc.nat(HOW.length - 1), (drawn, which, h) => {
        tally.scenarios++;
        const how = HOW[h];
        const spec = how.shape ? how.shape(drawn) : drawn;
        if (!spec) {
          tally.invalid++; // the loader refuses the twin (a second fork or exit)
          return;
        }
        const design = VARIANTS[which];
        const one = result(spec, design, how.opts, 1);
        if (typeof one === 'object' && (one as { verdict: string }).verdict === 'incomplete' && (one as { stopReason?: string }).stopReason === 'max-states') {
          tally.beyond++;
          return;
        }
        tally.compared++;
        if (typeof one === 'string') tally.refused++;
        else if ((one as { verdict: string }).verdict === 'violation') tally.violations++;
        const two = result(spec, design, how.opts, 2);
        const same = JSON.stringify(two) === JSON.stringify(one);
        if (!same)
          throw new Error(
            `${design.name}, ${how.name}: two threads differ from one\none: ${JSON.stringify(one)}\ntwo: ${JSON.stringify(two)}\n${scenarioYaml({ ...spec, name: 'generated-finding' }, how.name, [design.name])}`,
          );
      }),
      { seed: SEED, numRuns: RUNS },
    );
    expect(tally.scenarios).toBe(RUNS);
    // Enough of them searched to the end to say something.
    expect(tally.compared).toBeGreaterThan(RUNS / 3);
  });
});
