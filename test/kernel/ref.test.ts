/** References (src/kernel/ref.ts): index + 1 in the state, 0 = none, never written by hand. */
import { describe, expect, it } from 'vitest';
import { deref, isNone, NONE, ref, refersTo, refOrNone, swpEntry, swpOffset } from '../../src/kernel/ref.js';
import { ModelError } from '../../src/world/errors.js';

describe('references', () => {
  it('keep the state encoding: index + 1, none = 0', () => {
    expect([ref(0), ref(3), NONE, refOrNone(undefined), refOrNone(2)]).toEqual([1, 4, 0, 0, 3]);
    expect(deref(ref(5), 'x')).toBe(5);
    expect([isNone(NONE), isNone(ref(0))]).toEqual([true, false]);
    expect([refersTo(ref(2), 2), refersTo(ref(2), 1), refersTo(NONE, 0)]).toEqual([true, false, false]);
  });

  it('following a none reference is a model error that names the field', () => {
    expect(() => deref(NONE, 'mirror.sub')).toThrow(ModelError);
    expect(() => deref(NONE, 'mirror.sub')).toThrow(/^mirror\.sub is none/);
    expect(() => deref(-1, 'mirror.sub')).toThrow(/not a reference \(-1\)/);
  });

  it('a swap entry is never none, even for slot 0', () => {
    expect(swpEntry(0)).not.toBe(NONE);
    expect(swpOffset(swpEntry(1))).toBe(1);
    expect(() => swpOffset(NONE)).toThrow(/swap entry is none/);
  });
});
