/**
 * The declared footprints hold over every interleaving of the catalogue, not only the traced ones:
 * every cell but the large introspect-nested explored with the runner auditing each step.
 */
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../src/scenario/catalogue.js';
import { catalogueCells, checkOne } from '../../src/check/run.js';

describe('declared footprints over the catalogue', () => {
  it('no step of any design touches, calls or blocks beyond its declaration', { timeout: 300_000 }, () => {
    const cells = catalogueCells(CATALOGUE.filter((s) => s.name !== 'introspect-nested'));
    for (const c of cells) {
      const plain = checkOne(c.scenario, c.variant, { audit: false });
      const audited = checkOne(c.scenario, c.variant, { audit: true });
      expect([audited.verdict, audited.states], `${c.scenario.name}/${c.variant.name}`).toEqual([plain.verdict, plain.states]);
    }
  });
});
