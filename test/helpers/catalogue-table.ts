/**
 * The pinned verdict table of the catalogue, shared by its two test files (test/check/catalogue*.test.ts:
 * the large introspect-nested row runs in a file of its own, so that CI's two workers each take half
 * of the table). Counts are pinned in src/check/costs.ts (where `--shard` balances on them).
 */
import { expect } from 'vitest';
import { checkCatalogue } from '../../src/check/run.js';
import { MEASURED_COUNTS } from '../../src/check/costs.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';

export const V = ['interval', 'seed-2019-literal', 'seed-2019-fixed', 'start-only', 'raw-clear', 'anon-vma'];
export const EXPECTED: Record<string, string[]> = {
  // interval      literal       fixed         start-only    raw-clear     anon-vma
  introspect: ['holds', 'kernel-bug', 'refinement', 'refinement', 'holds', 'frame-accounting'],
  'introspect-nested': ['holds', 'kernel-bug', 'refinement', 'refinement', 'refinement', 'frame-accounting'],
  cow: ['holds', 'kernel-bug', 'refinement', 'refinement', 'holds', 'frame-accounting'],
  munmap: ['holds', 'kernel-bug', 'holds', 'holds', 'holds', 'frame-accounting'],
  exit: ['holds', 'kernel-bug', 'refinement', 'refinement', 'holds', 'frame-accounting'],
  'fork-introspector': ['holds', 'kernel-bug', 'refinement', 'refinement', 'holds', 'frame-accounting'],
  'swap-cycle': ['holds', 'kernel-bug', 'refinement', 'refinement', 'holds', 'frame-accounting'],
  'mirror-write': ['holds', 'kernel-bug', 'refinement', 'refinement', 'holds', 'frame-accounting'],
  mprotect: ['holds', 'kernel-bug', 'holds', 'holds', 'holds', 'frame-accounting'],
};

/** Asserts that `results` give `scenarios`' rows of the pinned verdict table. */
function expectRows(scenarios: readonly ScenarioSpec[], results: ReturnType<typeof checkCatalogue>): void {
  const table: Record<string, string[]> = {};
  for (const r of results) {
    table[r.scenario] ??= new Array<string>(V.length).fill('-');
    table[r.scenario][V.indexOf(r.variant)] = r.verdict === 'violation' ? r.violation!.property : r.verdict;
  }
  expect(table).toEqual(Object.fromEntries(scenarios.map((s) => [s.name, EXPECTED[s.name]])));
}

/**
 * Checks `scenarios` under every variant and asserts their rows of the pinned table and their
 * pinned [states, transitions] (a refactoring of the engine or the model must not move them: a
 * change that does is a behaviour change, explained in its commit). Returns the results.
 */
export function expectPinnedRows(scenarios: readonly ScenarioSpec[]): ReturnType<typeof checkCatalogue> {
  const results = checkCatalogue({}, scenarios);
  expectRows(scenarios, results);
  const pinned = Object.fromEntries(results.map((r) => [`${r.scenario}/${r.variant}`, MEASURED_COUNTS[`${r.scenario}/${r.variant}`]]));
  expect(Object.fromEntries(results.map((r) => [`${r.scenario}/${r.variant}`, [r.states, r.transitions]]))).toEqual(pinned);
  return results;
}

/**
 * Checks `scenarios` under every variant with a reduction in `opts` (the counter abstraction, the
 * symmetry) and asserts their rows of the pinned table, each count at most its pin: a reduction
 * keeps every verdict and may only merge states.
 */
export function expectPinnedVerdicts(scenarios: readonly ScenarioSpec[], opts: Parameters<typeof checkCatalogue>[0]): void {
  const results = checkCatalogue(opts, scenarios);
  expectRows(scenarios, results);
  for (const r of results) expect(r.states, `${r.scenario}/${r.variant}`).toBeLessThanOrEqual(MEASURED_COUNTS[`${r.scenario}/${r.variant}`][0]);
}
