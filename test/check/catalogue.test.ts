/**
 * The verdict table of `vmamirror check`, produced in CI: every catalogue scenario under every
 * variant it applies to, exhaustively. The corrected design must hold everywhere and every broken
 * design must be caught somewhere; the whole table is pinned so that a model change that moves a
 * verdict is seen. Counts must be identical across runs.
 */
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../src/scenario/catalogue.js';
import { buildScenario } from '../../src/scenario/build.js';
import { VARIANTS } from '../../src/mirror/variants.js';
import { checkCatalogue, tableExpectations, variantsFor } from '../../src/check/run.js';
import { MEASURED_COUNTS } from '../../src/check/costs.js';

const V = ['interval', 'seed-2019-literal', 'seed-2019-fixed', 'start-only', 'raw-clear', 'anon-vma'];
const EXPECTED: Record<string, string[]> = {
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

/**
 * [states, transitions] of every cell, pinned in src/check/costs.ts (where `--shard` balances on
 * them): a refactoring of the engine or the model must not move them (a change that does is a
 * behaviour change, explained in its commit).
 */
const COUNTS = MEASURED_COUNTS;

describe('the catalogue', () => {
  it('builds every scenario with every variant it applies to', () => {
    let built = 0;
    for (const spec of CATALOGUE) {
      for (const v of variantsFor(spec)) {
        const { world } = buildScenario(spec, v);
        expect(world.layout.actorNames).toEqual(spec.actors.map((a) => a.name));
        built++;
      }
    }
    expect(built).toBe(CATALOGUE.length * VARIANTS.length);
  });

  it('gives the pinned verdict table: interval holds everywhere, every broken variant is caught', { timeout: 900_000 }, () => {
    const results = checkCatalogue();
    const table: Record<string, string[]> = {};
    for (const r of results) {
      table[r.scenario] ??= new Array<string>(V.length).fill('-');
      table[r.scenario][V.indexOf(r.variant)] = r.verdict === 'violation' ? r.violation!.property : r.verdict;
    }
    expect(table).toEqual(EXPECTED);
    expect(Object.fromEntries(results.map((r) => [`${r.scenario}/${r.variant}`, [r.states, r.transitions]]))).toEqual(COUNTS);
    expect(tableExpectations(results)).toEqual({ ok: true, problems: [], undecided: [] });
  });

  it('counts identically on every run', { timeout: 120_000 }, () => {
    const small = CATALOGUE.filter((s) => s.name !== 'introspect-nested');
    const key = (rs: ReturnType<typeof checkCatalogue>) => rs.map((r) => `${r.scenario}/${r.variant} ${r.verdict} ${r.states} ${r.transitions} ${r.depth} ${r.schedule ?? ''}`);
    expect(key(checkCatalogue({}, small))).toEqual(key(checkCatalogue({}, small)));
  });
});
