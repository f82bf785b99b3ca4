/**
 * Designs loaded for one run (`--driver`) join the built-in ones for selection and by name, and a
 * new command starts without them. (The loader itself runs in the binary's worker: test/cli/driver.test.ts.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { addLoadedVariant, allVariants, clearLoadedVariants, loadedVariants, variantByName, VARIANTS } from '../../src/mirror/variants.js';
import { interval } from '../../src/mirror/interval.js';
import { variantsFor } from '../../src/check/run.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';

const byo = { ...interval, name: 'test-loaded-design' };

afterEach(clearLoadedVariants);

describe('loaded designs', () => {
  it('are selectable after the built-in ones, by name, until cleared', () => {
    expect(allVariants()).toBe(VARIANTS);
    expect(variantByName(byo.name)).toBeUndefined();
    addLoadedVariant(byo);
    expect(loadedVariants()).toEqual([byo]);
    expect(allVariants()).toEqual([...VARIANTS, byo]);
    expect(variantByName(byo.name)).toBe(byo);
    expect(variantByName('interval')).toBe(interval); // a built-in name still means the built-in
    clearLoadedVariants();
    expect(loadedVariants()).toEqual([]);
    expect(variantByName(byo.name)).toBeUndefined();
  });

  it('are offered for a scenario like the built-in ones', () => {
    addLoadedVariant(byo);
    expect(variantsFor(scenarioByName('munmap')!).map((v) => v.name)).toContain(byo.name);
  });
});
