/**
 * A driver's own properties (`DriverSpec.properties`): checked after every step with the built-in
 * ones, through the same `Property` API, and reported under their own name; and what
 * `defineDriver` refuses in `state`, `properties` and `balanced`.
 */
import { describe, expect, it } from 'vitest';
import { checkOne } from '../../src/check/run.js';
import { propertiesOf, PROPERTIES } from '../../src/check/properties.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { defineStruct, DriverError, type Property } from '../../src/driver/api.js';
import { MIRROR } from '../../src/mirror/device.js';
import { COUNTER, countingDriver } from './counting.js';

const munmap = scenarioByName('munmap')!;

/** Never fewer ends than starts: what an ODP-style counter must keep at every step. */
const nonNegative: Property = {
  name: 'count-non-negative',
  description: 'the count of invalidations in progress is never below zero',
  check: (w) => (w.obj(COUNTER, 0).active < 0 ? `test_inval_counter[0].active is ${w.obj(COUNTER, 0).active}` : undefined),
};

describe('driver properties', () => {
  it('are checked with the built-in ones and reported by name', () => {
    const broken = countingDriver({ name: 'count-no-inc', increment: false, properties: [nonNegative] });
    expect(propertiesOf(broken).map((p) => p.name)).toEqual([...PROPERTIES.map((p) => p.name), 'unbalanced', 'count-non-negative']);
    const r = checkOne(munmap, broken);
    expect(r.violation).toMatchObject({ property: 'count-non-negative', message: 'test_inval_counter[0].active is -1' });
    // Shrunk with the same properties: the shrunk schedule still violates the driver's.
    expect(checkOne(munmap, broken, { shrink: true }).shrunk?.schedule).toMatch(/^munmap\/count-no-inc:/);
  });

  it('hold on the fixed driver', () => {
    expect(checkOne(munmap, countingDriver({ name: 'count-ok', properties: [nonNegative] })).verdict).toBe('holds');
  });

  it('a design without any keeps the built-in list itself', () => {
    expect(propertiesOf({})).toBe(PROPERTIES);
  });
});

describe('defineDriver refuses', () => {
  const bad = (spec: object, message: RegExp) => expect(() => countingDriver({ name: 'count-bad', spec })).toThrow(message);

  it('a state struct with a field whose protection is not declared, or of the package', () => {
    const loose = defineStruct('test_loose', ['a', 'b'] as const, { a: 'atomic' });
    bad({ state: [{ struct: loose, count: 1 }], balanced: [] }, /state\[0\]: struct test_loose: field b declares no protection/);
    bad({ state: [{ struct: MIRROR, count: 1 }], balanced: [] }, /state\[0\]: struct mirror is the package's own/);
    bad({ state: [{ struct: COUNTER, count: 0 }] }, /state\[0\]: count: expected the number of test_inval_counter objects per device/);
    expect(() =>
      countingDriver({
        name: 'count-bad',
        spec: {
          state: [
            { struct: COUNTER, count: 1 },
            { struct: COUNTER, count: 1 },
          ],
        },
      }),
    ).toThrow(DriverError);
  });

  it('a property named like a built-in check, or without a check', () => {
    bad({ properties: [{ ...nonNegative, name: 'refinement' }] }, /properties\[0\]: name "refinement" is already a check's/);
    bad({ properties: [{ ...nonNegative, name: 'unbalanced' }] }, /name "unbalanced" is already a check's/);
    bad({ properties: [{ name: 'x', description: 'y' }] }, /properties\[0\] \(x\): check: expected a function/);
  });

  it('a balanced field of no state struct, or not a field', () => {
    const other = defineStruct('test_other', ['n'] as const, { n: 'atomic' });
    bad({ balanced: [{ struct: other, field: 'n' }] }, /balanced\[0\]: struct: expected one of the driver's state structs \(test_inval_counter\)/);
    bad({ balanced: [{ struct: COUNTER, field: 'nope' }] }, /balanced\[0\]: field: struct test_inval_counter has no field "nope"/);
    bad({ balanced: [{ struct: COUNTER, field: 'active', subscription: 'sub' }] }, /balanced\[0\]: subscription: expected the field of test_inval_counter/);
  });
});
