/**
 * How the threads of a parallel search read a level (parallel-expand.ts `LevelReader`): each
 * thread's store holds states as differences from the one before it, and a thread reads the
 * positions it takes from every store in order, the records other threads took in between applied
 * too. Every state must come back exactly; into the buffer that holds the state read last from the
 * same store only the slots that changed are written, and the reader must name each of them (the
 * next level's pushes compare only there: `LevelStore.startFrom`).
 */
import { describe, expect, it } from 'vitest';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';
import { buildScenario } from '../../src/scenario/build.js';
import { LevelStore } from '../../src/engine/state-store.js';
import { LevelReader } from '../../src/engine/parallel-expand.js';
import { ACTOR_SP, DATA_START } from '../../src/world/layout.js';

describe('reading a level from the threads’ stores', () => {
  const { world } = buildScenario(scenarioByName('introspect-nested')!, variantByName('interval')!);
  const L = world.layout;
  const nActors = L.actorNames.length;
  let seed = 4242;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) | 0;
    return (seed >>> 8) % n;
  };
  /** A state near `base`: a few object slots changed (some too big to pack, some negative), stacks of random depth (dead frames zero). */
  const near = (base: Int32Array): Int32Array => {
    const s = base.slice();
    for (let i = rand(4); i >= 0; i--) s[DATA_START + rand(L.actorSlot(0) - DATA_START)] = [rand(9), -1 - rand(9), 0x12345678 + rand(99)][rand(3)];
    for (let a = 0; a < nActors; a++) {
      if (rand(3) !== 0) continue;
      const depth = rand(Math.min(4, L.stackDepth) + 1);
      s[L.actorSlot(a) + ACTOR_SP] = depth;
      s.fill(0, L.callSlot(a, 0), L.callSlot(a, 0) + L.stackDepth * L.callStride);
      for (let k = 0; k < depth * L.callStride; k++) s[L.callSlot(a, 0) + k] = 1 + rand(50);
    }
    return s;
  };

  it('gives each state back exactly to two threads taking blocks in turn, and names every slot it changed', () => {
    // Two threads' stores, small chunks (records go on to new chunks); runs of states alternate between them.
    const stores = [new LevelStore(L, 4 * L.size, true), new LevelStore(L, 4 * L.size, true)];
    const states: Int32Array[] = [];
    const who: number[] = [];
    const rec: number[] = [];
    let s = world.snapshot();
    while (states.length < 400) {
      const k = rand(2);
      for (let run = 1 + rand(6); run > 0; run--) {
        s = near(s);
        states.push(s);
        who.push(k);
        rec.push(stores[k].count);
        stores[k].push(s, 0);
      }
    }
    const chunks = stores.map((st) => st.chunkList);
    expect(chunks[0].length).toBeGreaterThan(1);
    // Blocks of positions handed out in order, each to either thread: each reads only its own, so it skips the other's.
    const readers = [new LevelReader(L.size), new LevelReader(L.size)];
    const bufs = [new Int32Array(L.size), new Int32Array(L.size)];
    for (const r of readers) r.reset(2);
    let inPlace = 0;
    for (let p = 0; p < states.length; ) {
      const t = rand(2);
      for (let end = Math.min(states.length, p + 1 + rand(5)); p < end; p++) {
        const before = bufs[t].slice();
        readers[t].read(chunks, who[p], rec[p], bufs[t]);
        expect([...bufs[t]]).toEqual([...states[p]]);
        if (readers[t].takenWhole) continue;
        inPlace++;
        const named = new Set(readers[t].takenSlots.subarray(0, readers[t].nTaken));
        for (let o = 0; o < L.size; o++) if (before[o] !== bufs[t][o]) expect(named.has(o)).toBe(true);
      }
    }
    // Most reads follow the last one from the same store: written in place.
    expect(inPlace).toBeGreaterThan(states.length / 3);
  });

  it('copies the whole state when the records skipped change more slots than it can name', () => {
    const store = new LevelStore(L, 4 * L.size, true);
    const base = world.snapshot();
    /** Every object slot changed: a record of hundreds of changes from the state before. */
    const changed = base.slice();
    for (let o = DATA_START; o < L.actorSlot(0); o++) changed[o] = base[o] + 7;
    const states = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? base : changed));
    for (const st of states) store.push(st, 0);
    const reader = new LevelReader(L.size);
    reader.reset(1);
    const buf = new Int32Array(L.size);
    reader.read([store.chunkList], 0, 0, buf);
    reader.read([store.chunkList], 0, 1, buf);
    expect(reader.takenWhole).toBe(false); // one record: named slot by slot
    reader.read([store.chunkList], 0, 39, buf);
    expect(reader.takenWhole).toBe(true);
    expect([...buf]).toEqual([...states[39]]);
  });
});
