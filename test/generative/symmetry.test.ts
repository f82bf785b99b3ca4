/**
 * The symmetry reduction (src/engine/symmetry.ts) on generated scenarios — a generated actor beside two kswapds reclaiming one page each, so that which swap slot each page gets
 * depends on the schedule: for each, either the
 * symmetric search refuses the scenario (a row domain's model error: an allocation while a free
 * slot is still named, or free slots that differ), or it gives the concrete search's verdict and,
 * when the search completes without a violation, interns exactly the concrete states renumbered.
 *
 * The same for interchangeable actors (src/engine/actor-symmetry.ts): a generated scenario with
 * its first actor twice, the two declared `symmetric:`; the loader may refuse it (a second fork or
 * exit), the engine may refuse it by name (an equivariance it sees broken), or it gives the
 * concrete verdict — fair termination included, which it decides on the region graph times the
 * permutations (termination.ts) — and, where it holds, exactly the concrete states canonicalised.
 *
 * GEN_SEED=7 GEN_SYMMETRY_RUNS=200 npx vitest run test/generative/symmetry.test.ts   # a longer run
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { VARIANTS } from '../../src/mirror/variants.js';
import { RowCanon } from '../../src/engine/symmetry.js';
import { buildScenario } from '../../src/scenario/build.js';
import { ModelError } from '../../src/world/errors.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import type { MirrorVariant } from '../../src/mirror/device.js';
import { check } from './oracles.js';
import { scenarioYaml, scenarios, SMALL, withTwin } from './scenarios.js';
import { ActorCanon } from '../../src/engine/actor-symmetry.js';
import { actorGroups } from '../../src/scenario/symmetric.js';
import { TERMINATION } from '../../src/engine/verdict.js';
import { retryForever } from '../helpers/mutants.js';

const SEED = Number(process.env.GEN_SEED ?? 20261130);
const RUNS = Number(process.env.GEN_SYMMETRY_RUNS ?? 40);
/** Searches beyond this many states are not compared (two kswapds beside an actor: ten times the other generated tests' bound). */
const MAX_STATES = 20_000;

/** A generated actor over two pages, and a kswapd per page. */
const withTwoReclaimers = scenarios({ ...SMALL, actors: 1, ops: 2 }).map(
  (s): ScenarioSpec => ({ ...s, pages: 2, actors: [...s.actors, ...[0, 1].map((page) => ({ name: `kswapd${page}`, ops: [{ op: 'reclaim' as const, page }] }))] }),
);

interface Tally {
  scenarios: number;
  refused: number;
  reduced: number;
  skipped: number;
  /** A livelock, found by both searches (fair termination under the permutations: termination.ts). */
  termination: number;
}
const tally: Tally = { scenarios: 0, refused: 0, reduced: 0, skipped: 0, termination: 0 };

/** The states a check interns (as fingerprints; the concrete run's canonicalised: rows, and actors the spec groups) and its verdict. */
function run(spec: ScenarioSpec, design: MirrorVariant, symmetry: boolean): { verdict: string; states: Set<string>; count: number } {
  const w = buildScenario(spec, design).world;
  const rows = RowCanon.of(w.layout, true);
  const canon = symmetry ? undefined : (ActorCanon.of(w.layout, actorGroups(spec), rows) ?? rows);
  const scratch = new Int32Array(w.v.length);
  const states = new Set<string>();
  const r = check(spec, design, {
    maxStates: MAX_STATES,
    shrink: false,
    symmetry,
    // Every transition of a symmetric search against every permutation of the actor groups.
    equivarianceEvery: 1,
    onState: (v) => {
      const s = canon ? canon.canonicalCopy(v, scratch, w) : v;
      states.add(`${s[0]},${s[1]}`);
    },
  });
  return { verdict: r.verdict === 'violation' ? r.violation!.property : r.verdict, states, count: r.states };
}

/** Why the engine refused the symmetric searches it refused (printed at the end: what the model tells apart). */
const refusals = new Set<string>();

/** What is wrong with the symmetric search of `spec` under `design`, if anything, counted in `t`. */
function disagreement(spec: ScenarioSpec, design: MirrorVariant, t: Tally = tally): string | undefined {
  const concrete = run(spec, design, false);
  if (concrete.verdict === 'incomplete') {
    t.skipped++;
    return undefined;
  }
  let symmetric: ReturnType<typeof run>;
  try {
    symmetric = run(spec, design, true);
  } catch (e) {
    if (e instanceof ModelError && (e.message.startsWith('row domain ') || e.message.startsWith('actor symmetry: '))) {
      t.refused++;
      refusals.add(e.message.replace(/\d+/g, '#'));
      return undefined;
    }
    throw e;
  }
  if (symmetric.count < concrete.count) t.reduced++;
  if (concrete.verdict === TERMINATION && symmetric.verdict === TERMINATION) t.termination++;
  if (symmetric.verdict !== concrete.verdict) return `${design.name}: ${concrete.verdict} concretely, ${symmetric.verdict} with --symmetry`;
  if (concrete.verdict !== 'holds') return undefined; // a violation stops each search at its own first one
  const missing = [...concrete.states].filter((s) => !symmetric.states.has(s)).length;
  const extra = [...symmetric.states].filter((s) => !concrete.states.has(s)).length;
  if (missing || extra) return `${design.name}: the symmetric search misses ${missing} canonical concrete states and has ${extra} that no concrete state canonicalises to`;
  return undefined;
}

describe('generated scenarios under --symmetry', () => {
  afterAll(() =>
    console.log(
      `symmetry: ${tally.scenarios} scenarios, ${tally.refused} refused, ${tally.reduced} with fewer states, ${tally.skipped} beyond the state bound${[...refusals].map((r) => `\n  refused: ${r}`).join('')}`,
    ),
  );

  it('give the concrete verdict and, where they hold, exactly the renumbered concrete states, or are refused by name', { timeout: Math.max(120_000, RUNS * 3000) }, () => {
    fc.assert(
      fc.property(withTwoReclaimers, fc.nat(VARIANTS.length - 1), (spec, which) => {
        tally.scenarios++;
        const problem = disagreement(spec, VARIANTS[which]);
        if (problem) throw new Error(`${problem}\n${scenarioYaml({ ...spec, name: 'generated-finding' }, problem, [VARIANTS[which].name])}`);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    expect(tally.scenarios).toBe(RUNS);
    // Not vacuous: the renumbering merged states in some of them.
    expect(tally.reduced).toBeGreaterThan(0);
  });
});

const twins: Tally & { invalid: number } = { scenarios: 0, invalid: 0, refused: 0, reduced: 0, skipped: 0, termination: 0 };

describe('generated scenarios with an actor twice, declared interchangeable', () => {
  afterAll(() => console.log(`actor symmetry: ${JSON.stringify(twins)}${[...refusals].map((r) => `\n  refused: ${r}`).join('')}`));

  it('give the concrete verdict and, where they hold, exactly the canonicalised concrete states, or are refused by name', { timeout: Math.max(120_000, RUNS * 3000) }, () => {
    fc.assert(
      fc.property(scenarios({ ...SMALL, actors: 2, ops: 2 }), fc.nat(VARIANTS.length - 1), (generated, which) => {
        twins.scenarios++;
        const spec = withTwin(generated);
        if (!spec) {
          twins.invalid++;
          return;
        }
        const problem = disagreement(spec, VARIANTS[which], twins);
        if (problem) throw new Error(`${problem}\n${scenarioYaml({ ...spec, name: 'generated-finding' }, problem, [VARIANTS[which].name])}symmetric: ${JSON.stringify(spec.symmetric)}`);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    expect(twins.scenarios).toBe(RUNS);
    // Not vacuous: the permutation merged states in some of them.
    expect(twins.reduced).toBeGreaterThan(0);
  });

  it('under a fault path that retries for ever (a livelock whenever a fault waits for nothing): the concrete verdict, fair termination included', { timeout: Math.max(120_000, RUNS * 3000) }, () => {
    const livelocks: Tally & { invalid: number } = { scenarios: 0, invalid: 0, refused: 0, reduced: 0, skipped: 0, termination: 0 };
    fc.assert(
      fc.property(scenarios({ ...SMALL, actors: 2, ops: 2 }), (generated) => {
        livelocks.scenarios++;
        const spec = withTwin(generated);
        if (!spec) {
          livelocks.invalid++;
          return;
        }
        const problem = disagreement(spec, retryForever, livelocks);
        if (problem) throw new Error(`${problem}\n${scenarioYaml({ ...spec, name: 'generated-finding' }, problem, [retryForever.name])}symmetric: ${JSON.stringify(spec.symmetric)}`);
      }),
      { seed: SEED, numRuns: Math.ceil(RUNS / 2) },
    );
    console.log(`actor symmetry, retrying for ever: ${JSON.stringify(livelocks)}`);
    // Not vacuous: livelocks found by both searches.
    expect(livelocks.termination).toBeGreaterThan(0);
  });
});
