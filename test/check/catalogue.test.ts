/**
 * The verdict table of `vmamirror check`, produced in CI: every catalogue scenario under every
 * variant it applies to, exhaustively. The corrected design must hold everywhere and every broken
 * design must be caught somewhere; the whole table is pinned so that a model change that moves a
 * verdict is seen. Counts must be identical across runs. The introspect-nested row, half the
 * table's time, is checked by catalogue-nested.test.ts (a file of its own: CI's second worker).
 */
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../src/scenario/catalogue.js';
import { buildScenario } from '../../src/scenario/build.js';
import { VARIANTS } from '../../src/mirror/variants.js';
import { checkCatalogue, tableExpectations, variantsFor } from '../../src/check/run.js';
import { MEASURED_COUNTS } from '../../src/check/costs.js';
import { EXPECTED, expectPinnedRows, V } from '../helpers/catalogue-table.js';

const SMALL = CATALOGUE.filter((s) => s.name !== 'introspect-nested');

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

  it('pins a count for every cell, and its table says what the catalogue table must: interval holds everywhere, every broken variant is caught', () => {
    expect(Object.keys(MEASURED_COUNTS).sort()).toEqual(CATALOGUE.flatMap((s) => V.map((v) => `${s.name}/${v}`)).sort());
    expect(Object.keys(EXPECTED).sort()).toEqual(CATALOGUE.map((s) => s.name).sort());
    expect(Object.values(EXPECTED).every((row) => row[0] === 'holds')).toBe(true);
    for (let v = 1; v < V.length; v++)
      expect(
        Object.values(EXPECTED).some((row) => row[v] !== 'holds'),
        V[v],
      ).toBe(true);
  });

  it('gives the pinned rows of the table (all but introspect-nested), and the same counts on a second run', { timeout: 900_000 }, () => {
    const results = expectPinnedRows(SMALL);
    // The corrected design holds in each; every broken one is caught within these rows but raw-clear,
    // which only introspect-nested catches (its introspector KVM: R5).
    expect(tableExpectations(results)).toEqual({ ok: false, problems: ['raw-clear (R5) was not caught on any scenario'], undecided: [] });
    const key = (rs: ReturnType<typeof checkCatalogue>) => rs.map((r) => `${r.scenario}/${r.variant} ${r.verdict} ${r.states} ${r.transitions} ${r.depth} ${r.schedule ?? ''}`);
    expect(key(checkCatalogue({}, SMALL))).toEqual(key(results));
  });
});
