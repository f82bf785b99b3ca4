import { describe, expect, it } from 'vitest';
import { defineStruct, Layout } from '../../src/world/layout.js';
import { BLOCK_SLEEP } from '../../src/world/routine.js';
import { World, sameState } from '../../src/world/world.js';
import { fullHash } from '../../src/world/hash.js';
import { runSchedule, runToEnd, isEnabled, ScheduleError } from '../../src/world/runner.js';
import { dump } from '../../src/world/describe.js';
import { Library, Model } from '../../src/world/registry.js';
import { KERNEL } from '../../src/kernel/library.js';

const LIB = new Library('test-world', [KERNEL]);

const BOX = defineStruct('box', ['a', 'b', 'owner'] as const);

const incr = LIB.routine({
  name: 'test_incr',
  params: ['box', 'by'],
  locals: ['old'],
  steps: {
    lock: {
      at: 'test:lock',
      run: (w, l) => {
        const b = w.obj(BOX, l.box);
        if (b.owner !== 0) return BLOCK_SLEEP;
        b.owner = w.self;
        return 'add';
      },
    },
    add: {
      at: 'test:add',
      run: (w, l) => {
        const b = w.obj(BOX, l.box);
        l.old = b.a;
        b.a = b.a + l.by;
        return 'unlock';
      },
    },
    unlock: {
      at: 'test:unlock',
      run: (w, l) => {
        w.obj(BOX, l.box).owner = 0;
        return w.ret(l.old);
      },
    },
  },
});

const twice = LIB.routine({
  name: 'test_twice',
  params: ['box'],
  locals: ['first'],
  steps: {
    one: { at: 'test:one', run: (w, l) => w.call(incr, 'two', l.box, 1) },
    two: {
      at: 'test:two',
      run: (w, l) => {
        l.first = l.result;
        return w.call(incr, 'done', l.box, 10);
      },
    },
    done: { at: 'test:done', run: (w, l) => w.ret(l.first + l.result) },
  },
});

/** A step that goes to one label or another by its argument: the runner's memo of the label a step returned last must not send every call the first way. */
const fork = LIB.routine({
  name: 'test_fork',
  params: ['box', 'way'],
  steps: {
    pick: { at: 'test:pick', run: (_w, l) => (l.way === 1 ? 'left' : 'right') },
    left: {
      at: 'test:left',
      run: (w, l) => {
        w.obj(BOX, l.box).a = 1;
        return w.ret(1);
      },
    },
    right: {
      at: 'test:right',
      run: (w, l) => {
        w.obj(BOX, l.box).b = 2;
        return w.ret(2);
      },
    },
  },
});

function makeWorld(order: 'ab' | 'ba'): World {
  const L = new Layout();
  L.add(BOX, 2, ['x', 'y']);
  L.addStacks(['p', 'q'], 4, new Model([LIB]));
  const w = new World(L);
  // Same final content written in a different order must give the same state and fingerprint.
  if (order === 'ab') {
    w.obj(BOX, 0).a = 5;
    w.obj(BOX, 1).b = 7;
  } else {
    w.obj(BOX, 1).b = 7;
    w.obj(BOX, 0).a = 5;
  }
  return w;
}

describe('world state', () => {
  it('gives equal fingerprints to equal states whatever the write order', () => {
    const a = makeWorld('ab');
    const b = makeWorld('ba');
    expect(sameState(a.v, b.v)).toBe(true);
    expect(a.fingerprint()).toBe(b.fingerprint());
    a.obj(BOX, 1).b = 8;
    expect(a.fingerprint()).not.toBe(b.fingerprint());
    a.obj(BOX, 1).b = 7;
    expect(a.fingerprint()).toBe(b.fingerprint());
  });

  it('keeps the incremental fingerprint equal to a full recomputation', () => {
    const w = makeWorld('ab');
    w.spawn(0, twice, [0]);
    w.spawn(1, twice, [0]);
    for (const who of 'p p q p p q p q q p p p p q q q q q'.split(' ')) {
      runSchedule(w, [who]);
      const [lo, hi] = fullHash(w.v, 2);
      expect([w.v[0], w.v[1]]).toEqual([lo, hi]);
    }
  });

  it('clones and compares structurally', () => {
    const w = makeWorld('ab');
    const copy = w.snapshot();
    w.obj(BOX, 0).a = 6;
    expect(sameState(copy, w.v)).toBe(false);
    w.load(copy);
    expect(w.obj(BOX, 0).a).toBe(5);
  });
});

describe('routines and the runner', () => {
  it('runs calls and returns through frames and returns the callee result', () => {
    const w = makeWorld('ab');
    w.spawn(0, twice, [1]);
    const trace = runToEnd(w, 'p');
    expect(w.obj(BOX, 1).a).toBe(11);
    expect(trace.map((s) => s.where)).toEqual([
      'test_twice:one',
      'test_incr:lock',
      'test_incr:add',
      'test_incr:unlock',
      'test_twice:two',
      'test_incr:lock',
      'test_incr:add',
      'test_incr:unlock',
      'test_twice:done',
    ]);
    expect(trace[2].changes).toContainEqual({ what: 'box[y].a', from: 0, to: 1 });
    expect(trace[2].at).toBe('test:add');
    expect(w.actorSp(0)).toBe(0);
    // The bottom frame's return value (old values 0 and 1) stays with the finished actor.
    expect(w.actorResult(0)).toBe(1);
    // Finished actors leave zeroed frames: the stack area is all zero again.
    const L = w.layout;
    expect([...w.v.subarray(L.callBase, L.size)].every((x) => x === 0)).toBe(true);
  });

  it('follows the label each run of a step returns, when runs of it return different ones', () => {
    const w = makeWorld('ab');
    w.spawn(0, fork, [0, 1]);
    w.spawn(1, fork, [1, 0]);
    const trace = runSchedule(w, ['p', 'q', 'p', 'q']);
    expect(trace.map((s) => s.where)).toEqual(['test_fork:pick', 'test_fork:pick', 'test_fork:left', 'test_fork:right']);
    expect([w.actorResult(0), w.actorResult(1)]).toEqual([1, 2]);
    // And back: the step's memo now holds 'right'.
    w.spawn(0, fork, [0, 1]);
    expect(runToEnd(w, 'p').map((s) => s.where)).toEqual(['test_fork:pick', 'test_fork:left']);
  });

  it('reports a blocked actor as not enabled and refuses to schedule it', () => {
    const w = makeWorld('ab');
    w.spawn(0, incr, [0, 1]);
    w.spawn(1, incr, [0, 2]);
    runSchedule(w, ['p']); // p holds the box lock
    expect(isEnabled(w, 1)).toBe(false);
    expect(() => runSchedule(w, ['q'])).toThrow(ScheduleError);
    runSchedule(w, ['p', 'p']);
    expect(isEnabled(w, 1)).toBe(true);
  });

  it('dumps a readable state with locals by name', () => {
    const w = makeWorld('ab');
    w.spawn(0, incr, [1, 3]);
    runSchedule(w, ['p', 'p']);
    const d = dump(w) as { box: Record<string, unknown>; actors: Record<string, { frames: { at: string; locals: Record<string, number> }[] }> };
    expect(d.box.y).toEqual({ a: 3, b: 7, owner: 1 });
    expect(d.actors.p.frames[0]).toEqual({ at: 'test_incr:unlock', locals: { box: 1, by: 3, old: 0 } });
  });
});
