/**
 * The dirty-accessed layer on catalogue scenarios that reclaim: their verdicts must not move (the
 * corrected design still holds, a broken one is still caught by the same check), every step
 * audited against its footprint and the lock discipline with the layer's paths taken.
 */
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../src/scenario/catalogue.js';
import { checkOne } from '../../src/check/run.js';
import { VARIANTS } from '../../src/mirror/variants.js';
import { EXPECTED, V } from '../helpers/catalogue-table.js';

const CELLS: readonly [string, string][] = [
  ['swap-cycle', 'interval'],
  ['swap-cycle', 'raw-clear'],
  ['swap-cycle', 'anon-vma'],
];

describe('catalogue scenarios with layers: [dirty-accessed]', () => {
  for (const [name, variant] of CELLS) {
    it(`${name} / ${variant} keeps its verdict`, () => {
      const spec = CATALOGUE.find((s) => s.name === name)!;
      const v = VARIANTS.find((x) => x.name === variant)!;
      const r = checkOne({ ...spec, layers: ['dirty-accessed'] }, v, { audit: true });
      const expected = EXPECTED[name][V.indexOf(variant)];
      expect(r.verdict === 'holds' ? 'holds' : r.violation?.property).toBe(expected);
    });
  }
});
