/**
 * The frontier's compact store (state-store.ts): a state comes back exactly as it went in, whatever
 * state the buffer it is expanded into held before — `load` zeroes only the frames the old state
 * had live, so a buffer that held deeper stacks must come out with those frames dead (zero).
 */
import { describe, expect, it } from 'vitest';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';
import { buildScenario } from '../../src/scenario/build.js';
import { StateStore } from '../../src/engine/state-store.js';
import { ACTOR_SP } from '../../src/world/layout.js';
import { sameState } from '../../src/world/world.js';

describe('the state store', () => {
  it('expands each state exactly, over a buffer that held deeper or shallower stacks', () => {
    const { world } = buildScenario(scenarioByName('introspect-nested')!, variantByName('interval')!);
    const L = world.layout;
    /** A state whose actor `a` has `depth` live frames, each slot of them non-zero. */
    const withStacks = (depths: number[], salt: number): Int32Array => {
      const s = world.snapshot();
      s.fill(0, L.callBase); // every frame dead, then the live ones filled
      depths.forEach((depth, a) => {
        s[L.actorSlot(a) + ACTOR_SP] = depth;
        for (let k = 0; k < depth * L.callStride; k++) s[L.callSlot(a, 0) + k] = salt + k + 1;
      });
      return s;
    };
    const deep = withStacks([3, 4, 2, 5], 100);
    const shallow = withStacks([1, 0, 2, 1], 200);
    const store = new StateStore(L, L.size * 4);
    store.push(deep, 7);
    store.push(shallow, 8);
    store.push(deep, 9);
    const buf = new Int32Array(L.size);
    for (let i = 0; i < 3; i++) {
      store.load(i, buf);
      expect(sameState(buf, i === 1 ? shallow : deep)).toBe(true);
      expect(store.id(i)).toBe(7 + i);
    }
    // Shallow after deep: the frames only the deep state had are zero again (dead frames are zero in every state).
    store.load(0, buf);
    store.load(1, buf);
    expect([...buf]).toEqual([...shallow]);
  });
});
