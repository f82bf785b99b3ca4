/**
 * The frontier's compact stores (state-store.ts): a state comes back exactly as it went in, whatever
 * state the buffer it is expanded into held before — `load` zeroes only the frames the old state
 * had live, so a buffer that held deeper stacks must come out with those frames dead (zero); a
 * breadth-first level (`LevelStore`) writes only the differences into the buffer it took the
 * previous state into, and must notice any other buffer.
 */
import { describe, expect, it } from 'vitest';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';
import { buildScenario } from '../../src/scenario/build.js';
import { LevelStore, StateStore } from '../../src/engine/state-store.js';
import { ACTOR_SP, DATA_START } from '../../src/world/layout.js';
import { execStep } from '../../src/world/runner.js';
import { BLOCK_SLEEP, BLOCK_SPIN } from '../../src/world/routine.js';
import { sameState } from '../../src/world/world.js';
import { explore } from '../../src/engine/exhaustive.js';
import { bfs } from '../../src/engine/bfs.js';
import type { ExhaustiveStrategy } from '../../src/engine/strategy.js';

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

describe('the level store (differences between consecutive states)', () => {
  const { world } = buildScenario(scenarioByName('introspect-nested')!, variantByName('interval')!);
  const L = world.layout;
  /** States reached by a seeded walk (each a copy), with a few slots set to negative values and to values too big to pack into one word. */
  const walk = (n: number): Int32Array[] => {
    const w = buildScenario(scenarioByName('introspect-nested')!, variantByName('interval')!).world;
    const out: Int32Array[] = [w.snapshot()];
    let seed = 12345;
    for (let i = 0; out.length < n && i < 10 * n; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) | 0;
      const a = (seed >>> 16) % L.actorNames.length;
      if (w.actorSp(a) === 0) continue;
      const before = w.snapshot();
      const r = execStep(w, a);
      w.clearBugs();
      if (r === BLOCK_SLEEP || r === BLOCK_SPIN) {
        w.load(before);
        continue;
      }
      const s = w.snapshot();
      if (out.length % 5 === 0) s[DATA_START + (out.length % 7)] = 0x12345678 + out.length; // too big to pack
      if (out.length % 5 === 1) s[DATA_START + 8] = -3 - out.length; // small and negative: packed with its sign
      out.push(s);
    }
    return out;
  };
  const states = walk(300);

  it('gives every state back exactly, into the buffer it took the last one into or into any other', () => {
    expect(states.length).toBeGreaterThan(100);
    // Small chunks: records go on to new chunks many times.
    const store = new LevelStore(L, 4 * L.size);
    for (const [i, s] of states.entries()) store.push(s, i);
    const buf = new Int32Array(L.size);
    for (let i = 0; i < states.length; i++) {
      // Every third state into a fresh buffer, every seventh over a buffer changed since (its lanes with it).
      const dst = i % 3 === 2 ? new Int32Array(L.size).fill(9) : buf;
      if (i % 7 === 6) {
        buf[L.callBase + 1] ^= 5;
        buf[0] ^= 1;
      }
      expect(store.take(dst)).toBe(i);
      expect([...dst]).toEqual([...states[i]]);
      if (dst !== buf) buf.set(dst);
    }
    expect(store.take(buf)).toBe(-1);
    // Reused after clear: the first state is again a difference from the all-zero state.
    store.clear();
    store.push(states[10], 3);
    store.push(states[0], 4);
    expect(store.take(buf)).toBe(3);
    expect([...buf]).toEqual([...states[10]]);
    expect(store.take(buf)).toBe(4);
    expect([...buf]).toEqual([...states[0]]);
  });

  it('takes states pushed while others are being taken (a queue)', () => {
    const store = new LevelStore(L, 4 * L.size);
    const buf = new Int32Array(L.size);
    let pushed = 0;
    for (let i = 0; i < states.length; i++) {
      while (pushed < states.length && pushed < i + 3) store.push(states[pushed], pushed++);
      expect(store.take(buf)).toBe(i);
      expect(sameState(buf, states[i])).toBe(true);
    }
  });

  it('stores a walk in a small fraction of what whole states take', () => {
    const level = new LevelStore(L);
    const whole = new StateStore(L, L.size * states.length);
    for (const [i, s] of states.entries()) {
      level.push(s, i);
      whole.push(s, i);
    }
    // Objects and live frames per state (StateStore), against the differences (LevelStore).
    let wholeWords = 0;
    for (const s of states) {
      wholeWords += L.callBase;
      for (let a = 0; a < L.actorNames.length; a++) wholeWords += s[L.actorSlot(a) + ACTOR_SP] * L.callStride;
    }
    expect(level.words).toBeLessThan(wholeWords / 5);
  });
});

describe('a breadth-first search over level stores', () => {
  /** The fingerprints of the states a 20 000-state search interns, in order, and its transitions, with `strategy`. */
  const search = (strategy: ExhaustiveStrategy): { states: number[]; transitions: number } => {
    const { world } = buildScenario(scenarioByName('introspect-nested')!, variantByName('interval')!);
    const states: number[] = [];
    const r = explore(world, { strategy, maxStates: 20000, audit: true, onState: (s) => states.push(s[0], s[1]) });
    return { states, transitions: r.transitions };
  };
  /** Breadth-first over whole states (StateStore), as before the level stores. */
  const whole: ExhaustiveStrategy = {
    ...bfs,
    frontier: (L) => {
      let level = new StateStore(L);
      let next = new StateStore(L);
      let head = 0;
      return {
        push: (s, id) => next.push(s, id),
        take: (dst) => {
          if (head === level.count) {
            [level, next] = [next, level];
            next.clear();
            head = 0;
            if (level.count === 0) return -1;
          }
          level.load(head, dst);
          return level.id(head++);
        },
        get size() {
          return level.count - head + next.count;
        },
        get bytes() {
          return level.bytes + next.bytes;
        },
      };
    },
  };
  /** The level stores, every push comparing every slot (the written slots not passed on). */
  const unhinted: ExhaustiveStrategy = {
    ...bfs,
    frontier: (L) => {
      const f = bfs.frontier(L);
      return {
        push: (s, id) => f.push(s, id),
        take: (dst) => f.take(dst),
        get size() {
          return f.size;
        },
        get bytes() {
          return f.bytes;
        },
      };
    },
  };

  it('reaches the states a search over whole states reaches, in the same order, with or without the written slots', () => {
    const expected = search(whole);
    expect(expected.states.length).toBe(40000);
    expect(search(bfs)).toEqual(expected);
    expect(search(unhinted)).toEqual(expected);
  });
});
