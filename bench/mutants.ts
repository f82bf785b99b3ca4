/**
 * The bench's `mutants` rung, run as a child process by bench/run.ts (so its peak RSS is its own):
 * `vmamirror mutate` on the whole catalogue, with the time each mutant took to be judged — which
 * the CLI's report does not carry — from the library's per-mutant callback. The baseline and each
 * mutant get the budget of their own (so that one mutant judged on every scenario, as an accepted one
 * is, does not leave the others none). Prints one JSON object.
 *
 *   tsx bench/mutants.ts BUDGET_SECONDS
 */
import { mutate } from '../src/check/mutate.js';
import { variantByName } from '../src/mirror/variants.js';
import { CATALOGUE } from '../src/scenario/catalogue.js';

const budgetMs = Number(process.argv[2]) * 1000;
const t0 = performance.now();
let deadline = t0 + budgetMs;
let last = t0;
let baselineSeconds = Number.NaN;
const seconds: number[] = [];
const report = mutate(variantByName('interval')!, CATALOGUE, {
  remainingMs: () => Math.max(0, deadline - performance.now()),
  onBaseline: () => {
    baselineSeconds = (performance.now() - t0) / 1000;
    last = performance.now();
    deadline = last + budgetMs;
  },
  // A caught mutant's time includes shrinking its counterexample, as `vmamirror mutate` does.
  onMutant: () => {
    seconds.push((performance.now() - last) / 1000);
    last = performance.now();
    deadline = last + budgetMs;
  },
});
console.log(
  JSON.stringify({
    design: report.design,
    judges: report.judges,
    baselineSeconds,
    totalSeconds: (performance.now() - t0) / 1000,
    mutants: report.mutants.map((r, i) => ({
      id: r.mutant.id,
      outcome: r.outcome,
      scenario: r.caught?.scenario ?? '',
      property: r.caught?.property ?? '',
      steps: r.caught?.steps ?? 0,
      tried: r.scenarios.length,
      seconds: seconds[i],
    })),
  }),
);
