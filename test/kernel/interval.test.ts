/**
 * The mmu_interval_notifier sequence protocol (reference §1.8), step by step, and the driver
 * pattern it exists for: the right driver never installs a stale pfn, the one that skips
 * mmu_interval_read_retry does on a hand-written schedule.
 */
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { intervalNotifierInsert, mmuIntervalNotifierInsert, mmuIntervalNotifierRemove, mmuIntervalReadBegin } from '../../src/kernel/notifier/interval.js';
import { MIN, MIN_DEFERRED_INSERT, MIN_DEFERRED_REMOVE, MIN_INSERTED, MIN_UNUSED, MM, PAGE } from '../../src/kernel/structs.js';
import { isEnabled, runSchedule, runToEnd, runUntil } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { DEV, declareTestDevice, deviceStale, testDriverFault, testDriverInvalidate, testZapOne, TEST_DRIVER_LIB } from '../helpers/test-driver.js';
import { NONE } from '../../src/kernel/ref.js';
import { betweenSteps } from '../helpers/between-steps.js';

const SRC = 0;
const SUB = 0;

function setup(actors: string[] = ['fault', 'inv']): { w: World; pfn: number } {
  const w = buildWorld({ pages: 4, mmPages: 4, mms: ['source'], locks: ['update'], actors, libraries: [TEST_DRIVER_LIB] }, declareTestDevice);
  addVma(w, SRC, { start: 0, end: 4 });
  const pfn = populateAnon(w, SRC, 1, 0xa);
  populateAnon(w, SRC, 3, 0xb);
  return { w, pfn };
}

const S = (w: World) => w.obj(MM, SRC).invalidateSeq;
const A = (w: World) => w.obj(MM, SRC).activeInvalidateRanges;
const subSeq = (w: World) => w.obj(MIN, SUB).seq;

describe('mmu_interval_notifier: the worked example of reference §1.8', () => {
  it('follows S, A and sub.seq through an invalidation, a retry, a wait and the next epoch', () => {
    const { w, pfn } = setup();
    // S=2. Sub X inserted: X.seq=1.
    expect(S(w)).toBe(2);
    intervalNotifierInsert(w, SUB, SRC, 0, 2, testDriverInvalidate, 0);
    expect(subSeq(w)).toBe(1);
    expect(w.obj(MIN, SUB).state).toBe(MIN_INSERTED);

    w.spawn(0, testDriverFault, [SUB, 1, 1]);
    w.spawn(1, testZapOne, [SRC, 1]);

    // Fault: read_begin -> 1 (1 != 2, no wait); snapshot reads pfn.
    runUntil(w, 'fault', 'testdrv_fault:lock');
    // Invalidation I1 overlaps X: A=1, S=3; the callback sets X.seq := 3 under user_lock and zaps.
    runUntil(w, 'inv', 'testdrv_invalidate:lock');
    expect([A(w), S(w)]).toEqual([1, 3]);
    runUntil(w, 'inv', 'test_zap_one:clear');
    expect(subSeq(w)).toBe(3);
    // Fault takes user_lock: retry, 3 != 1 -> back to read_begin.
    const retry = runUntil(w, 'fault', 'mmu_interval_read_begin:wait');
    expect(retry.map((s) => s.where)).toEqual(['testdrv_fault:lock', 'testdrv_fault:install', 'testdrv_fault:begin', 'mmu_interval_read_begin:read']);
    expect(w.obj(DEV, 1).pfn).toBe(0);
    // read_begin: X.seq(3) == S(3) -> wait.
    expect(isEnabled(w, 0)).toBe(false);
    // I1 clears the pte; ends: A=0, S=4, wake.
    runUntil(w, 'inv', 'test_zap_one:free');
    expect([A(w), S(w)]).toEqual([0, 4]);
    expect(isEnabled(w, 0)).toBe(true);
    runToEnd(w, 'inv');
    expect(w.obj(PAGE, pfn).free).toBe(1);
    // read_begin -> 3; the fault finds the pte gone and gives up (nothing stale installed).
    const rest = runToEnd(w, 'fault');
    expect(rest[0].changes).toContainEqual({ what: 'fault:testdrv_fault.result', from: 1, to: 3 });
    expect(w.obj(DEV, 1).pfn).toBe(0);
  });

  it('installs when no invalidation intervenes, and the next overlapping one sets S=5, X.seq=5', () => {
    const { w, pfn } = setup();
    intervalNotifierInsert(w, SUB, SRC, 0, 2, testDriverInvalidate, 0);
    // One full invalidation first (S 2 -> 3 -> 4) on another page of the sub's range.
    w.spawn(1, testZapOne, [SRC, 0]);
    runToEnd(w, 'inv');
    expect([S(w), subSeq(w)]).toEqual([4, 3]);
    // read_begin -> 3 (3 != 4, no wait); install (retry: 3 == 3 is false).
    w.spawn(0, testDriverFault, [SUB, 1, 1]);
    runToEnd(w, 'fault');
    expect(w.obj(DEV, 1).pfn).toBe(pfn);
    // Next overlapping invalidation: S=5, X.seq=5, and the device entry is zapped.
    w.spawn(1, testZapOne, [SRC, 1]);
    runUntil(w, 'inv', 'test_zap_one:clear');
    expect([S(w), subSeq(w)]).toEqual([5, 5]);
    expect(w.obj(DEV, 1).pfn).toBe(0);
  });

  it('leaves X.seq alone and S even for an invalidation that does not overlap X', () => {
    const { w } = setup();
    intervalNotifierInsert(w, SUB, SRC, 0, 2, testDriverInvalidate, 0);
    w.spawn(1, testZapOne, [SRC, 3]);
    runUntil(w, 'inv', 'test_zap_one:clear');
    expect([A(w), S(w), subSeq(w)]).toEqual([1, 2, 1]);
    // X's readers proceed: read_begin does not wait during this (partially excluded) epoch.
    w.spawn(0, mmuIntervalReadBegin, [SUB]);
    const t = runToEnd(w, 'fault');
    expect(t).toHaveLength(1);
  });
});

describe('mmu_interval_notifier: insertion and removal during an epoch', () => {
  it('defers an insert while fully excluded and inserts it when the epoch ends', () => {
    const { w } = setup(['inv']);
    intervalNotifierInsert(w, SUB, SRC, 0, 2, testDriverInvalidate, 0);
    w.spawn(0, testZapOne, [SRC, 1]);
    runUntil(w, 'inv', 'test_zap_one:clear'); // S = 3, A = 1
    intervalNotifierInsert(w, 1, SRC, 2, 2, testDriverInvalidate, 0);
    expect(w.obj(MIN, 1).state).toBe(MIN_DEFERRED_INSERT);
    expect(w.obj(MIN, 1).seq).toBe(3); // == S: a read_begin now waits for the epoch end
    runToEnd(w, 'inv');
    expect(w.obj(MIN, 1).state).toBe(MIN_INSERTED);
    expect(S(w)).toBe(4);
  });

  it('inserts at once but marks the tree invalidating when only partially excluded', () => {
    const { w } = setup(['inv']);
    intervalNotifierInsert(w, SUB, SRC, 0, 1, testDriverInvalidate, 0);
    w.spawn(0, testZapOne, [SRC, 3]); // does not overlap sub 0: S stays even
    runUntil(w, 'inv', 'test_zap_one:clear');
    expect(S(w)).toBe(2);
    intervalNotifierInsert(w, 1, SRC, 2, 2, testDriverInvalidate, 0);
    expect(w.obj(MIN, 1).state).toBe(MIN_INSERTED);
    expect([S(w), w.obj(MIN, 1).seq]).toEqual([3, 3]);
  });

  it('makes mmu_interval_notifier_remove wait for the epoch to end', () => {
    const { w } = setup(['rm', 'inv']);
    intervalNotifierInsert(w, SUB, SRC, 0, 2, testDriverInvalidate, 0);
    w.spawn(1, testZapOne, [SRC, 1]);
    runUntil(w, 'inv', 'test_zap_one:clear');
    w.spawn(0, mmuIntervalNotifierRemove, [SUB]);
    runSchedule(w, ['rm']);
    expect(w.obj(MIN, SUB).state).toBe(MIN_DEFERRED_REMOVE);
    expect(isEnabled(w, 0)).toBe(false);
    runToEnd(w, 'inv');
    expect(w.obj(MIN, SUB).state).toBe(MIN_UNUSED);
    runToEnd(w, 'rm');
    expect(w.obj(MIN, SUB).mm).toBe(NONE);
  });
});

describe('a driver that installs without mmu_interval_read_retry', () => {
  // Fault snapshots pfn; a full invalidation (start, zap, end, free) runs; the fault then installs.
  const schedule = (w: World) => {
    runUntil(w, 'fault', 'testdrv_fault:lock');
    runToEnd(w, 'inv');
    runToEnd(w, 'fault');
  };

  it('installs a freed pfn in the device', () => {
    const { w, pfn } = setup();
    intervalNotifierInsert(w, SUB, SRC, 0, 2, testDriverInvalidate, 0);
    w.spawn(0, testDriverFault, [SUB, 1, /* checkRetry */ 0]);
    w.spawn(1, testZapOne, [SRC, 1]);
    schedule(w);
    expect(w.obj(DEV, 1).pfn).toBe(pfn);
    expect(w.obj(PAGE, pfn).free).toBe(1);
    expect(deviceStale(w, 1)).toBe(true);
  });

  it('does not when it checks read_retry under the lock', () => {
    const { w } = setup();
    intervalNotifierInsert(w, SUB, SRC, 0, 2, testDriverInvalidate, 0);
    w.spawn(0, testDriverFault, [SUB, 1, /* checkRetry */ 1]);
    w.spawn(1, testZapOne, [SRC, 1]);
    schedule(w);
    expect(w.obj(DEV, 1).pfn).toBe(0);
    expect(deviceStale(w, 1)).toBe(false);
  });
});

describe('a subscription inserted while an invalidation runs (regression: the model called it with a stale sequence)', () => {
  it('is not called by an invalidation that began with no overlapping subscription, and keeps its odd sequence', () => {
    const { w } = setup(['inv']);
    // Sub 0 on [3, 4) gives the mm an interval tree; the invalidation of page 1 overlaps nothing.
    intervalNotifierInsert(w, 0, SRC, 3, 1, testDriverInvalidate, 0);
    w.spawn(0, testZapOne, [SRC, 1]);
    runUntil(w, 'inv', 'mn_itree_invalidate:callNext');
    expect([A(w), S(w)]).toEqual([1, 2]); // running, not invalidating (S even: nothing overlapped)
    // Sub 1 on [0, 2) is inserted now (mm_take_all_locks in the kernel: between steps here): into the
    // tree at once, S made odd, its seq = S.
    betweenSteps(w, () => intervalNotifierInsert(w, 1, SRC, 0, 2, testDriverInvalidate, 1));
    expect([S(w), w.obj(MIN, 1).seq, w.obj(MIN, 1).state]).toEqual([3, 3, MIN_INSERTED]);
    // The running invalidation's loop never started (mn_itree_inv_start_range returned NULL): sub 1's
    // callback is not called with that invalidation's stale, even cur_seq (2).
    const rest = runToEnd(w, 'inv');
    expect(rest.map((s) => s.where)).not.toContain('testdrv_invalidate:lock');
    expect(w.obj(MIN, 1).seq).toBe(3);
    expect([A(w), S(w)]).toEqual([0, 4]); // the epoch it opened ends with it
  });
});

describe('mmu_interval_notifier_insert while actors run (a device opened at run time)', () => {
  const insert = (w: World, sub: number, start: number, length: number) => w.spawn(0, mmuIntervalNotifierInsert, [sub, SRC, start, length, w.routineRef(testDriverInvalidate), sub]);

  it('registers the mm under mmap_lock for write the first time, then inserts under subscriptions->lock', () => {
    const { w } = setup(['open']);
    const count = w.obj(MM, SRC).count;
    insert(w, SUB, 0, 2);
    const steps = runToEnd(w, 'open');
    expect(steps.map((s) => s.where)).toEqual([
      'mmu_interval_notifier_insert:load',
      'mmu_interval_notifier_insert:register',
      'mmu_interval_notifier_insert:registered',
      'mmu_interval_notifier_insert:insert',
    ]);
    expect([w.obj(MM, SRC).hasItree, w.obj(MM, SRC).mmapWriter, w.obj(MM, SRC).count - count]).toEqual([1, 0, 1]);
    expect([w.obj(MIN, SUB).state, subSeq(w), S(w)]).toEqual([MIN_INSERTED, S(w) - 1, 2]);
  });

  it('skips the registration once the mm has an interval tree, and sleeps on mmap_lock while another task holds it', () => {
    const { w } = setup(['open', 'open2']);
    betweenSteps(w, () => {
      w.obj(MM, SRC).mmapReaders = 1;
    });
    insert(w, SUB, 0, 2);
    runUntil(w, 'open', 'mmu_interval_notifier_insert:register');
    expect(isEnabled(w, 0)).toBe(false); // down_write waits for the reader
    betweenSteps(w, () => {
      w.obj(MM, SRC).mmapReaders = 0;
    });
    runToEnd(w, 'open');
    w.spawn(1, mmuIntervalNotifierInsert, [1, SRC, 2, 2, w.routineRef(testDriverInvalidate), 1]);
    expect(runToEnd(w, 'open2').map((s) => s.where)).toEqual(['mmu_interval_notifier_insert:load', 'mmu_interval_notifier_insert:insert']);
  });

  it('during an invalidation of its range: queued until the epoch ends, and a read_begin made now waits for that end', () => {
    const { w } = setup(['open', 'inv', 'fault']);
    intervalNotifierInsert(w, SUB, SRC, 0, 2, testDriverInvalidate, 0);
    w.spawn(1, testZapOne, [SRC, 1]);
    runUntil(w, 'inv', 'testdrv_invalidate:lock'); // the epoch is open: S odd
    expect(S(w) % 2).toBe(1);
    insert(w, 1, 0, 4);
    runToEnd(w, 'open');
    expect([w.obj(MIN, 1).state, w.obj(MIN, 1).seq]).toEqual([MIN_DEFERRED_INSERT, S(w)]);
    w.spawn(2, mmuIntervalReadBegin, [1]);
    runUntil(w, 'fault', 'mmu_interval_read_begin:wait');
    expect(isEnabled(w, 2)).toBe(false);
    runToEnd(w, 'inv');
    expect([w.obj(MIN, 1).state, isEnabled(w, 2)]).toEqual([MIN_INSERTED, true]);
  });

  it("then removed: the subscription is the caller's again and mm_count is back; inserting it twice is a BUG", () => {
    const { w } = setup(['open', 'close', 'again']);
    const count = w.obj(MM, SRC).count;
    insert(w, SUB, 0, 2);
    runToEnd(w, 'open');
    w.spawn(1, mmuIntervalNotifierRemove, [SUB]);
    runToEnd(w, 'close');
    expect([w.obj(MIN, SUB).state, w.obj(MIN, SUB).mm, w.obj(MM, SRC).count]).toEqual([MIN_UNUSED, NONE, count]);
    insert(w, SUB, 0, 2);
    runToEnd(w, 'open');
    w.spawn(2, mmuIntervalNotifierInsert, [SUB, SRC, 0, 2, w.routineRef(testDriverInvalidate), SUB]);
    runToEnd(w, 'again');
    expect(w.bugs.join('\n')).toMatch(/mmu_interval_notifier_insert of interval notifier 0, which is already inserted/);
  });
});
