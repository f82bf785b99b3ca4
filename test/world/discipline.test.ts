/**
 * The lock discipline, enforced by the runner (src/world/discipline.ts): a step is lock acquires,
 * at most one unprotected shared access, then releases; kernel code reads a lock-protected field
 * without its lock only where it declares it lockless. Each rule is shown failing and passing.
 */
import { describe, expect, it } from 'vitest';
import { Library, Model } from '../../src/world/registry.js';
import { Layout, defineStruct } from '../../src/world/layout.js';
import { World } from '../../src/world/world.js';
import type { Step, Locals } from '../../src/world/routine.js';
import { runSchedule } from '../../src/world/runner.js';
import { BLOCK_SLEEP } from '../../src/world/routine.js';

const OBJ = defineStruct('dl_obj', ['a', 'b', 'c', 'd', 'owner', 'readers'] as const, {
  a: 'lock:dl.lock',
  b: 'lock:dl.lock',
  c: 'atomic',
  d: 'lockless',
  owner: 'lock-word:dl.lock',
  readers: 'lock-readers:dl.rw',
});
const WORD = defineStruct('dl_word', ['x', 'y'] as const, { x: 'lock:dl.lock', y: 'lock:dl.lock' }, { word: true });

type Body = (w: World) => string | number;

/** A world with one actor running routine `f`, whose one step is `body` (plus `within`/`lockless`). */
function setup(body: Body, opts: { kernel?: boolean; within?: string[]; lockless?: string[] } = {}): World {
  const lib = new Library(`test-dl-${Math.random().toString(36).slice(2, 8)}`, [], opts.kernel ? { kind: 'kernel' } : undefined);
  const step: Step<Locals<never>> = { at: opts.kernel ? 'mm/test.c:f' : 'test', within: opts.within, lockless: opts.lockless, run: (w) => body(w) };
  lib.routine({ name: 'f', params: [], steps: { go: step } });
  const L = new Layout();
  L.add(OBJ, 2);
  L.add(WORD, 1);
  L.addStacks(['t', 'u'], 3, new Model([lib]));
  const w = new World(L);
  w.recorder = null;
  w.lockDiscipline = true;
  w.spawn(0, lib.routines[0], []);
  return w;
}

const run = (body: Body, opts?: Parameters<typeof setup>[1]) => () => runSchedule(setup(body, opts), [0]);
const o = (w: World, i = 0) => w.obj(OBJ, i);
const take = (w: World) => {
  o(w).owner = w.self;
};
const drop = (w: World) => {
  o(w).owner = 0;
};

describe('the lock discipline', () => {
  it('allows one unprotected access, counting a read-modify-write of one word once', () => {
    expect(
      run((w) => {
        o(w).c = o(w).c + 1;
        return w.ret(0);
      }),
    ).not.toThrow();
  });

  it('refuses two unprotected accesses in one step, naming the step and both fields', () => {
    expect(
      run((w) => {
        o(w).c = o(w).c + 1;
        o(w).d = 1;
        return w.ret(0);
      }),
    ).toThrow(/f:go is not one atomic action: a second unprotected access in one step \(dl_obj\[0\]\.c \(atomic\), then dl_obj\[0\]\.d \(lockless\)\)/);
  });

  it('counts a field guarded by a lock the actor holds as protected, and the same field after the release as not', () => {
    const locked = (w: World) => {
      take(w);
      o(w).a = 1;
      o(w).b = 2;
      o(w).c = 3; // the one unprotected access, inside the section
      drop(w);
      return w.ret(0);
    };
    expect(run(locked)).not.toThrow();
    const after = (w: World) => {
      take(w);
      drop(w);
      o(w).c = 1;
      return w.ret(0);
    };
    expect(run(after)).toThrow(/an unprotected access after a lock release/);
  });

  it('refuses an acquire after an unprotected access (the lock can be taken by another CPU between them)', () => {
    const late = (w: World) => {
      o(w).c = 1;
      take(w);
      return w.ret(0);
    };
    expect(run(late)).toThrow(/a lock acquire after an unprotected access or a release/);
  });

  it('a lock test that does not take the lock (a failed trylock) is an unprotected access; one that does is an acquire', () => {
    const failedTry = (w: World) => {
      if (o(w, 1).owner === 0) o(w, 1).owner = w.self; // object 1's lock: taken
      const busy = o(w).owner !== 0; // object 0's lock: only tested
      o(w).c = busy ? 1 : 2;
      return w.ret(0);
    };
    const w = setup(failedTry);
    o(w).owner = 2; // held by the other actor
    expect(() => runSchedule(w, [0])).toThrow(/a second unprotected access/);
    const w2 = setup((x) => {
      const free = o(x).owner === 0;
      if (free) o(x).owner = x.self;
      o(x).c = 1;
      return x.ret(0);
    });
    expect(() => runSchedule(w2, [0])).not.toThrow();
  });

  it('kernel code must declare a lockless read of a lock-protected field (a model error); a driver that does not has a data race (a BUG)', () => {
    const read = (w: World) => w.ret(o(w).a);
    expect(run(read, { kernel: true })).toThrow(/f:go reads dl_obj\[0\]\.a \(protected by dl\.lock\) without holding dl\.lock; .*lockless: \['dl_obj\.a'\]/);
    expect(run(read, { kernel: true, lockless: ['dl_obj.a'] })).not.toThrow();
    // A driver's unlocked access is a data race in the driver: a BUG in the trace, not a model error.
    const driver = setup(read);
    const [step] = runSchedule(driver, [0]);
    expect(step.bugs).toEqual([expect.stringMatching(/^f:go reads dl_obj\[0\]\.a \(protected by dl\.lock\) without holding dl\.lock: a data race/)]);
    expect(runSchedule(setup(read, { lockless: ['dl_obj.a'] }), [0])[0].bugs).toEqual([]);
    const write = (w: World) => {
      o(w).a = 1;
      return w.ret(0);
    };
    expect(run(write, { kernel: true, lockless: ['dl_obj.a'] })).toThrow(/f:go writes dl_obj\[0\]\.a \(protected by dl\.lock\) without holding dl\.lock$/);
  });

  it('a declared kernel-internal lock (within, w.inside) protects what it guards', () => {
    const both = (w: World) => {
      o(w).a = 1;
      o(w).b = 1;
      return w.ret(0);
    };
    expect(run(both, { kernel: true })).toThrow(/f:go writes dl_obj\[0\]\.a \(protected by dl\.lock\) without holding dl\.lock/);
    expect(run(both, { kernel: true, within: ['dl.lock'] })).not.toThrow();
    expect(run((w) => w.inside('dl.lock', () => both(w)), { kernel: true })).not.toThrow();
    expect(run(both, { kernel: true, within: ['no.such.lock'] })).toThrow(/declares it runs within no\.such\.lock, which no field of this layout is protected by/);
    // In driver code the same step is a data race (a BUG), which is the finding: no model error on top.
    expect(runSchedule(setup(both), [0])[0].bugs).toEqual([expect.stringMatching(/f:go writes dl_obj\[0\]\.a .*: a data race/)]);
  });

  it('an owned object, one word, and one lookup each count once (or not at all)', () => {
    const owned = (w: World) => {
      o(w).c = 1;
      w.own(OBJ, 1);
      o(w, 1).c = 1;
      o(w, 1).d = 1;
      return w.ret(0);
    };
    expect(run(owned)).not.toThrow();
    const word = (w: World) => {
      const x = w.obj(WORD, 0);
      x.x = x.y + 1;
      return w.ret(0);
    };
    expect(run(word)).not.toThrow();
    const lookup = (w: World) => {
      w.single(() => o(w).c + o(w, 1).c);
      return w.ret(0);
    };
    expect(run(lookup)).not.toThrow();
    const twoLookups = (w: World) => {
      w.single(() => o(w).c);
      w.single(() => o(w, 1).c);
      return w.ret(0);
    };
    expect(run(twoLookups)).toThrow(/a second unprotected access/);
  });

  it('the words of one lock are one lock (an rwsem acquire reads the writer and bumps the readers)', () => {
    const rw = defineStruct('dl_rw', ['writer', 'readers', 'v'] as const, { writer: 'lock-word:dl.sem', readers: 'lock-readers:dl.sem', v: 'lock:dl.sem' });
    const lib = new Library('test-dl-rw');
    lib.routine({
      name: 'f',
      params: [],
      steps: {
        go: {
          at: 'test',
          run: (w) => {
            const s = w.obj(rw, 0);
            if (s.writer !== 0) return BLOCK_SLEEP;
            s.readers = s.readers + 1;
            return w.ret(s.v);
          },
        },
      },
    });
    const L = new Layout();
    L.add(rw, 1);
    L.addStacks(['t'], 2, new Model([lib]));
    const w = new World(L);
    w.recorder = null;
    w.lockDiscipline = true;
    w.spawn(0, lib.routines[0], []);
    expect(() => runSchedule(w, [0])).not.toThrow();
  });

  it('lists what a proof assumed: each step’s one unprotected access, and the stand-ins', () => {
    const w = setup((x) => {
      x.standIn('a test stand-in', () => o(x, 1).c + o(x, 1).d);
      o(x).d = 1;
      return x.ret(0);
    });
    runSchedule(w, [0]);
    expect(w.assumedAccesses()).toEqual(['f:go: dl_obj.d (lockless)']);
    expect([...w.standIns]).toEqual(['a test stand-in']);
  });
});
