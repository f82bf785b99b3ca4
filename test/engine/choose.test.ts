/**
 * Choice inside a step (`w.choose`): every alternative is a successor for the explorer, a random
 * draw for simulation, an entry `acK` in a schedule that replays and shrinks.
 */
import { describe, expect, it } from 'vitest';
import { Library, Model } from '../../src/world/registry.js';
import { Layout, defineStruct } from '../../src/world/layout.js';
import { World } from '../../src/world/world.js';
import { BLOCK_SLEEP } from '../../src/world/routine.js';
import { ModelError } from '../../src/world/errors.js';
import { runSchedule, formatTrace } from '../../src/world/runner.js';
import { entryOf } from '../../src/world/entry.js';
import { explore } from '../../src/engine/exhaustive.js';
import { simulate } from '../../src/engine/simulate.js';
import { shrinkSchedule } from '../../src/engine/shrink.js';
import { decodeSchedule, encodeSchedule } from '../../src/engine/schedule.js';
import type { Property } from '../../src/engine/verdict.js';

const BOX = defineStruct('choose_box', ['lock', 'allocated', 'done'] as const);
const LIB = new Library('test-choose');

/** Takes the lock, allocates (which may fail: alternative 1), and on failure forgets to unlock. */
const allocUnderLock = LIB.routine({
  name: 'test_alloc_under_lock',
  params: [],
  steps: {
    lock: {
      at: 'test:mutex_lock',
      run: (w) => {
        const b = w.obj(BOX, 0);
        if (b.lock) return BLOCK_SLEEP;
        b.lock = w.self;
        return 'alloc';
      },
    },
    alloc: {
      at: 'test:kmalloc',
      run: (w) => {
        if (w.choose(2) === 1) return w.ret(-12); // -ENOMEM: the error path forgets mutex_unlock
        w.obj(BOX, 0).allocated = 1;
        return 'unlock';
      },
    },
    unlock: {
      at: 'test:mutex_unlock',
      run: (w) => {
        w.obj(BOX, 0).lock = 0;
        return w.ret(0);
      },
    },
  },
});

const other = LIB.routine({
  name: 'test_other',
  params: [],
  steps: {
    lock: {
      at: 'test:mutex_lock',
      run: (w) => {
        const b = w.obj(BOX, 0);
        if (b.lock) return BLOCK_SLEEP;
        b.done = 1;
        return w.ret(0);
      },
    },
  },
});

const twice = LIB.routine({
  name: 'test_choose_twice',
  params: [],
  steps: { go: { at: 'test', run: (w) => w.ret(w.choose(2) + w.choose(2)) } },
});

function world(): World {
  const L = new Layout();
  L.add(BOX, 1);
  L.addStacks(['alloc', 'other'], 4, new Model([LIB]));
  const w = new World(L);
  w.spawn(0, allocUnderLock, []);
  w.spawn(1, other, []);
  return w;
}

const lockFree: Property = {
  name: 'unlocked-at-end',
  description: 'once every actor is done, the mutex is free',
  check: (w) => (w.actorSp(0) === 0 && w.actorSp(1) === 0 && w.obj(BOX, 0).lock ? 'mutex still held' : undefined),
};

describe('choice inside a step', () => {
  it('explores every alternative: the failing allocation leaves the mutex held, so the other actor deadlocks', () => {
    const r = explore(world(), { properties: [lockFree] });
    expect(r.verdict).toBe('violation');
    expect(r.violation!.property).toBe('deadlock');
    expect(r.violation!.schedule).toContain(entryOf(0, 1));
    const text = encodeSchedule('s', 'v', r.violation!.schedule);
    expect(text).toMatch(/0c1/);
    expect(decodeSchedule(text).choices).toEqual(r.violation!.schedule);
  });

  it('without the error path nothing is found: the default alternative alone holds', () => {
    const w = world();
    // Both actors run to completion when the allocation succeeds.
    const trace = runSchedule(w, [0, 0, 0, 1]);
    expect(trace.map((s) => s.where)).toEqual(['test_alloc_under_lock:lock', 'test_alloc_under_lock:alloc', 'test_alloc_under_lock:unlock', 'test_other:lock']);
    expect(trace[1].choice).toEqual({ taken: 0, of: 2 });
  });

  it('replays the alternative from the schedule and prints it in the trace', () => {
    const w = world();
    const trace = runSchedule(w, [0, entryOf(0, 1)]);
    expect(trace[1].choice).toEqual({ taken: 1, of: 2 });
    expect(w.obj(BOX, 0).lock).toBe(1);
    expect(w.actorSp(0)).toBe(0);
    expect(formatTrace(trace)).toContain('[alternative 1 of 2]');
  });

  it('refuses an alternative the step does not offer, and a step that branches twice', () => {
    expect(() => runSchedule(world(), [0, entryOf(0, 2)])).toThrow(/out of range/);
    expect(() => runSchedule(world(), [entryOf(0, 1)])).toThrow(/does not branch/);
    const L = new Layout();
    L.add(BOX, 1);
    L.addStacks(['t'], 2, new Model([LIB]));
    const w = new World(L);
    w.spawn(0, twice, []);
    expect(() => runSchedule(w, [0])).toThrow(ModelError);
  });

  it('simulation draws alternatives from the run seed and finds the error path', () => {
    const r = simulate(world(), { runs: 200, seed: 3, properties: [lockFree] });
    expect(r.verdict).toBe('violation');
    expect(r.violation!.property).toBe('deadlock');
    expect(r.violation!.schedule).toContain(entryOf(0, 1));
    // The recorded schedule replays.
    const w = world();
    expect(() => runSchedule(w, r.violation!.schedule)).not.toThrow();
    expect(w.obj(BOX, 0).lock).toBe(1);
  });

  it('shrinking keeps the alternative that makes the violation', () => {
    const v = explore(world(), { properties: [lockFree] }).violation!;
    const s = shrinkSchedule(world, v.schedule, { properties: [lockFree] });
    expect(s.property).toBe('deadlock');
    expect(s.schedule).toContain(entryOf(0, 1));
  });
});
