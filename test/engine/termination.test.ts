/**
 * Termination with roles: once the adversaries have stopped, every client completes under weak
 * fairness — also when a daemon (a vCPU) runs for ever, which made the old "lone actor" check
 * vacuous.
 */
import { describe, expect, it } from 'vitest';
import { Library } from '../../src/world/registry.js';
import { defineStruct, type ActorRole } from '../../src/world/layout.js';
import type { World } from '../../src/world/world.js';
import { BLOCK_SLEEP, type AnyRoutine } from '../../src/world/routine.js';
import { explore } from '../../src/engine/exhaustive.js';
import { dfs } from '../../src/engine/dfs.js';
import { replayRepaired } from '../../src/engine/replay.js';
import { shrinkSchedule } from '../../src/engine/shrink.js';
import { roleWorld } from '../helpers/role-world.js';

const BOX = defineStruct('termination_box', ['tick', 'ready', 'lock', 'stage'] as const);
const LIB = new Library('test-termination');

/** A vCPU: runs guest code for ever. */
const vcpu = LIB.routine({
  name: 'test_vcpu_run',
  params: [],
  steps: {
    run: {
      at: 'test:vcpu_run',
      run: (w) => {
        const b = w.obj(BOX, 0);
        b.tick = 1 - b.tick;
        return 'run';
      },
    },
  },
});

/**
 * The box's lock taken, then on to `next`. `fair` marks the acquire as the model's lock primitives
 * do (`w.fairAcquire`); without it the same step is a poll of a flag.
 */
const takeLock = (next: string, fair = true) => ({
  at: 'test:mutex_lock',
  run: (w: World) => {
    w.fairAcquire = fair;
    const b = w.obj(BOX, 0);
    if (b.lock) return BLOCK_SLEEP;
    b.lock = w.self;
    return next;
  },
});

/** A vCPU that takes the lock and never drops it while it runs. */
const vcpuHoldingLock = LIB.routine({
  name: 'test_vcpu_holding_lock',
  params: [],
  steps: {
    lock: takeLock('run'),
    run: {
      at: 'test:vcpu_run',
      run: (w) => {
        const b = w.obj(BOX, 0);
        b.tick = 1 - b.tick;
        return 'run';
      },
    },
  },
});

/** A fault that retries until `ready`, which nobody left will set: the broken client. */
const retriesForever = LIB.routine({
  name: 'test_fault_retries_forever',
  params: [],
  steps: { again: { at: 'test:fault', run: (w) => (w.obj(BOX, 0).ready ? w.ret(0) : w.retry('again')) } },
});

/** The correct client: retries only while the adversary has not finished its work. */
const retriesWhileInvalidating = LIB.routine({
  name: 'test_fault_retries_while_invalidating',
  params: [],
  steps: { again: { at: 'test:fault', run: (w) => (w.obj(BOX, 0).stage >= 2 ? w.ret(0) : w.retry('again')) } },
});

/** A daemon that takes the lock and drops it again, for ever (a fair acquire, or a poll of the flag). */
const takesAndDrops = (fair: boolean) =>
  LIB.routine({
    name: `test_vcpu_takes_and_drops_${fair ? 'lock' : 'flag'}`,
    params: [],
    steps: {
      lock: takeLock('unlock', fair),
      unlock: {
        at: 'test:mutex_unlock',
        run: (w) => {
          w.obj(BOX, 0).lock = 0;
          return 'lock';
        },
      },
    },
  });
const daemonLock = takesAndDrops(true);
const daemonFlag = takesAndDrops(false);

/** A client that takes the lock once (a fair acquire, or a poll of the flag) and finishes. */
const takesOnce = (fair: boolean) =>
  LIB.routine({
    name: `test_fault_takes_${fair ? 'lock' : 'flag'}_once`,
    params: [],
    steps: {
      lock: {
        at: 'test:mutex_lock',
        run: (w) => {
          w.fairAcquire = fair;
          return w.obj(BOX, 0).lock ? BLOCK_SLEEP : w.ret(0);
        },
      },
    },
  });
const clientLock = takesOnce(true);
const clientFlag = takesOnce(false);

/** A client that needs the lock. */
const needsLock = LIB.routine({
  name: 'test_fault_needs_lock',
  params: [],
  steps: { lock: { at: 'test:mutex_lock', run: (w) => (w.obj(BOX, 0).lock ? BLOCK_SLEEP : w.ret(0)) } },
});

/** An adversary: two invalidations, then it stops. */
const invalidator = LIB.routine({
  name: 'test_invalidator',
  params: [],
  steps: {
    one: {
      at: 'test:invalidate',
      run: (w) => {
        w.obj(BOX, 0).stage = 1;
        return 'two';
      },
    },
    two: {
      at: 'test:invalidate',
      run: (w) => {
        w.obj(BOX, 0).stage = 2;
        return w.ret(0);
      },
    },
  },
});

/** An adversary whose retry loop bumps a counter each time round: no state repeats, the state space is infinite. */
const countsForever = LIB.routine({
  name: 'test_counts_forever',
  params: [],
  steps: {
    again: {
      at: 'test:retry',
      run: (w) => {
        const b = w.obj(BOX, 0);
        b.tick = b.tick + 1;
        return w.retry('again');
      },
    },
  },
});

function world(actors: readonly [string, ActorRole, AnyRoutine][]): World {
  return roleWorld(BOX, LIB, actors);
}

describe('termination: clients complete once the adversaries stop, under weak fairness', () => {
  const livelock = () =>
    world([
      ['vcpu', 'daemon', vcpu],
      ['fault', 'client', retriesForever],
      ['kswapd', 'adversary', invalidator],
    ]);
  const correct = () =>
    world([
      ['vcpu', 'daemon', vcpu],
      ['fault', 'client', retriesWhileInvalidating],
      ['kswapd', 'adversary', invalidator],
    ]);

  it('reports a client fault that retries for ever beside a daemon vCPU as a livelock', () => {
    const r = explore(livelock());
    expect(r.verdict).toBe('violation');
    expect(r.violation!.property).toBe('termination');
    expect(r.violation!.message).toMatch(/^fault \(at test_fault_retries_forever:again\) never completes/);
  });

  it('reports a livelock that is one state going round to itself (the daemon blocked for good, the client polling)', () => {
    // The region's component is a single state with an edge to itself: the one kind of component
    // of one that holds a cycle (the components of one without it are skipped without a look).
    const w = world([
      ['vcpu', 'daemon', needsLock],
      ['fault', 'client', retriesForever],
      ['kswapd', 'adversary', invalidator],
    ]);
    w.obj(BOX, 0).lock = 1; // held by nobody who will drop it: the daemon waits for ever
    const r = explore(w);
    expect(r.violation?.property).toBe('termination');
    expect(r.violation!.message).toMatch(/^fault \(at test_fault_retries_forever:again\) never completes/);
  });

  it('holds for the same scenario with a correct client, breadth- and depth-first', () => {
    expect(explore(correct()).verdict).toBe('holds');
    expect(explore(correct(), { strategy: dfs }).verdict).toBe('holds');
    expect(explore(livelock(), { strategy: dfs }).violation?.property).toBe('termination');
  });

  it('does not blame a client for retrying while an adversary still runs', () => {
    // Without the adversary's second step the client would loop; with it, every fair run completes.
    const r = explore(
      world([
        ['fault', 'client', retriesWhileInvalidating],
        ['kswapd', 'adversary', invalidator],
      ]),
    );
    expect(r.verdict).toBe('holds');
  });

  it('reports a client blocked for ever on a lock a daemon keeps (starvation), not only busy loops', () => {
    const r = explore(
      world([
        ['vcpu', 'daemon', vcpuHoldingLock],
        ['fault', 'client', needsLock],
      ]),
    );
    expect(r.violation?.property).toBe('termination');
    expect(r.violation!.message).toMatch(/^fault \(at test_fault_needs_lock:lock\) never completes/);
  });

  it("holds a lock waiter to strong fairness (the kernel's locks serve their waiters), a poll of a flag only to weak fairness", () => {
    // The daemon takes and drops the lock for ever; the client can take it whenever it is free.
    const lock = () =>
      world([
        ['vcpu', 'daemon', daemonLock],
        ['fault', 'client', clientLock],
      ]);
    const flag = () =>
      world([
        ['vcpu', 'daemon', daemonFlag],
        ['fault', 'client', clientFlag],
      ]);
    // Polling a flag that is set only now and then can starve for ever: a real livelock.
    const starved = explore(flag());
    expect(starved.violation?.property).toBe('termination');
    expect(starved.violation!.message).toMatch(/^fault \(at test_fault_takes_flag_once:lock\) never completes/);
    // A queued lock lets the waiter in: no fair cycle, breadth- and depth-first.
    expect(explore(lock()).verdict).toBe('holds');
    expect(explore(lock(), { strategy: dfs }).verdict).toBe('holds');
    // The replay's cycle check (CycleWatch) agrees: the flag's lasso is a livelock there, and the
    // same schedule over the lock is not (the waiter could take the lock in the cycle, and never does).
    expect(replayRepaired(flag(), starved.violation!.schedule).found?.property).toBe('termination');
    expect(replayRepaired(lock(), starved.violation!.schedule).found).toBeUndefined();
  });

  it('asks nothing of daemons: a vCPU alone loops for ever and that holds', () => {
    expect(explore(world([['vcpu', 'daemon', vcpu]])).verdict).toBe('holds');
  });

  it('gives a lasso that replays to the same violation, and shrinks', () => {
    const v = explore(livelock()).violation!;
    const again = replayRepaired(livelock(), v.schedule);
    expect(again.found?.property).toBe('termination');
    expect(again.schedule).toEqual(v.schedule);
    const s = shrinkSchedule(livelock, v.schedule);
    expect(s.property).toBe('termination');
  });

  it('reports a lone actor whose retry loop only bumps a counter (no cycle ever closes) after a bound, and the replay agrees', () => {
    const r = explore(world([['kswapd', 'adversary', countsForever]]));
    expect(r.violation?.property).toBe('termination');
    expect(r.violation!.message).toMatch(/^kswapd \(at test_counts_forever:again\) never completes: it runs alone and takes 20000 steps/);
    expect(replayRepaired(world([['kswapd', 'adversary', countsForever]]), r.violation!.schedule).found?.property).toBe('termination');
  });

  it('can be switched off', () => {
    expect(explore(livelock(), { liveness: false }).verdict).toBe('holds');
  });
});
