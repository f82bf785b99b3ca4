/**
 * The introspect-nested row of the pinned verdict table (test/helpers/catalogue-table.ts): half the
 * table's time, in a file of its own so that CI's two workers share the table.
 */
import { describe, it } from 'vitest';
import { CATALOGUE } from '../../src/scenario/catalogue.js';
import { expectPinnedRows } from '../helpers/catalogue-table.js';

describe('the catalogue: introspect-nested', () => {
  it('gives the pinned row and counts', { timeout: 900_000 }, () => {
    expectPinnedRows(CATALOGUE.filter((s) => s.name === 'introspect-nested'));
  });
});
