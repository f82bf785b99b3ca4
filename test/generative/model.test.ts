/**
 * Generative testing of the model (issue 11 item 5): random small scenarios — several pages,
 * several operations per actor, several actors, shapes the catalogue lacks — checked against
 * oracles that need no expected value (oracles.ts). The bounded run here tries GEN_RUNS scenarios
 * in all (at least 500; about a minute on a loaded 2-core machine); `npm run fuzz -- --seed S
 * --runs N` is the long run. A failure prints the shrunk scenario as a YAML file to commit.
 *
 * GEN_SEED=7 GEN_RUNS=2000 GEN_ALL_MUTANTS=1 npx vitest run test/generative/model.test.ts   # another, longer run
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokenCatches, mutantCatches, type Catch } from './catalogue-catches.js';
import { caughtOnSupersets, correctedDesign, loneActor, reduction, tally } from './properties.js';

const SEED = Number(process.env.GEN_SEED ?? 20261129);
/** Scenarios in all, dealt to the properties by these shares. */
const RUNS = Math.max(500, Number(process.env.GEN_RUNS ?? 500));
const share = (part: number) => Math.ceil((RUNS * part) / 100);
const TIMEOUT = Math.max(120_000, RUNS * 400);

describe('generated scenarios', () => {
  let broken: Catch[] = [];
  let mutants: Catch[] = [];
  beforeAll(() => {
    broken = brokenCatches();
    // Every third mutant here (judging one costs up to a search per catalogue scenario); the long run judges them all.
    mutants = mutantCatches((all) => (process.env.GEN_ALL_MUTANTS ? all : all.filter((_, i) => i % 3 === SEED % 3)));
  }, TIMEOUT);
  afterAll(() => {
    const known = [...tally.known].map(([k, n]) => `${k} ×${n}`).join(', ') || 'none';
    console.log(`generative: ${tally.scenarios} scenarios, ${tally.searches} searches, ${tally.states} states, ${tally.incomplete} capped, ${tally.violations} violations (known findings: ${known})`);
  });

  it(
    'one actor: the corrected design holds, no design livelocks or deadlocks, counterexamples replay',
    () => {
      fc.assert(loneActor(), { seed: SEED, numRuns: share(30) });
    },
    TIMEOUT,
  );

  it(
    'several actors: the corrected design holds and its counterexamples replay',
    () => {
      fc.assert(correctedDesign(), { seed: SEED + 1, numRuns: share(30) });
    },
    TIMEOUT,
  );

  it(
    'verdicts do not depend on step merging or a preemption bound',
    () => {
      fc.assert(reduction(), { seed: SEED + 2, numRuns: share(15) });
    },
    TIMEOUT,
  );

  it(
    'the broken designs are caught on supersets of the catalogue scenarios that catch them',
    () => {
      expect(broken.length).toBeGreaterThan(0);
      fc.assert(caughtOnSupersets(broken), { seed: SEED + 3, numRuns: share(15) });
    },
    TIMEOUT,
  );

  it(
    "the corrected design's mutants are caught on supersets of the catalogue scenarios that catch them",
    () => {
      expect(mutants.length).toBeGreaterThan(0);
      fc.assert(caughtOnSupersets(mutants), { seed: SEED + 4, numRuns: share(10) });
    },
    TIMEOUT,
  );
});
