/**
 * The lock primitives (src/kernel/locks.ts), one kind at a time: a contended acquire blocks with
 * its kind's code and writes nothing; taking a lock one already holds is lockdep's AA deadlock (a
 * BUG, and the step still blocks); releasing a lock one does not hold is a BUG; assertHeld fails
 * when the lock is not held; rwsem and rwlock readers share and a writer excludes everyone.
 *
 * The primitives are called directly, as actor `a` or `b` (`as(w, 'b')`), except where the
 * runner's own checks (a blocked step that wrote) are the point.
 */
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import {
  assertHeld,
  type AnyLock,
  assertWriteHeld,
  downRead,
  downReadTrylock,
  downWrite,
  downWriteNested,
  downWriteTrylock,
  driverMutex,
  driverSpinlock,
  folioLock,
  mmapLock,
  mutexLock,
  mutexLockIfBlockable,
  mutexTrylock,
  mutexUnlock,
  ptl,
  readLock,
  readUnlock,
  type RwLock,
  spinLock,
  spinLockBusy,
  spinLockNested,
  spinTrylock,
  spinUnlock,
  upRead,
  upWrite,
  WOULD_BLOCK,
  writeLock,
  writeUnlock,
} from '../../src/kernel/locks.js';
import { MM, PAGE, TASK } from '../../src/kernel/structs.js';
import { BLOCK_SLEEP, BLOCK_SPIN } from '../../src/world/routine.js';
import { isEnabled, runSchedule } from '../../src/world/runner.js';
import { sameState, type World } from '../../src/world/world.js';
import { Library } from '../../src/world/registry.js';
import { KERNEL } from '../../src/kernel/library.js';
import { defineStruct } from '../../src/world/layout.js';

const LIB = new Library('test-locks', [KERNEL]);

const SRC = 0;
const OTHER = 1;

/** A test-only rwlock_t (the kernel library knows none: KVM's mmu_lock lives in src/kvm). */
const RWL = defineStruct('test_rwlock', ['writer', 'readers'] as const, { writer: 'lock-word:test.rwlock', readers: 'lock-readers:test.rwlock' });

function world(): World {
  return buildWorld({ pages: 1, mmPages: 1, mms: ['src', 'other'], locks: ['drv.update'], actors: ['a', 'b'], libraries: [LIB] }, (layout) => {
    layout.add(RWL, 1, ['test.rwlock']);
  });
}

function rwlock(w: World): RwLock {
  return { kind: 'rwlock', writer: w.layout.slot(RWL, 0, 'writer'), readers: w.layout.slot(RWL, 0, 'readers'), name: () => 'test.rwlock' };
}

/** Runs the next primitives as actor `name`, as a step of that actor would. */
function as(w: World, name: 'a' | 'b'): World {
  w.actor = w.layout.actorNames.indexOf(name);
  w.bugs.length = 0;
  return w;
}

/** `fn`'s result, after checking that it wrote nothing. */
function noWrite<T>(w: World, fn: () => T): T {
  const before = w.snapshot();
  const fp = w.fingerprint();
  const r = fn();
  expect(sameState(before, w.v)).toBe(true);
  expect(w.fingerprint()).toBe(fp);
  return r;
}

/** One lock of each kind, with its acquire, release, contention code and kernel names. */
interface Kind<L extends AnyLock> {
  readonly kind: string;
  readonly lock: (w: World) => L;
  readonly take: (w: World, lock: L) => number;
  readonly drop: (w: World, lock: L) => void;
  readonly code: number;
  readonly ops: readonly [string, string];
  readonly name: string;
}
const kind = <L extends AnyLock>(k: Kind<L>): Kind<AnyLock> => k as unknown as Kind<AnyLock>;
const KINDS = [
  kind({ kind: 'spinlock', lock: (w) => ptl(w, SRC), take: spinLock, drop: spinUnlock, code: BLOCK_SPIN, ops: ['spin_lock', 'spin_unlock'], name: 'mm[src].ptl' }),
  kind({ kind: 'mutex', lock: (w) => driverMutex(w, 0), take: mutexLock, drop: mutexUnlock, code: BLOCK_SLEEP, ops: ['mutex_lock', 'mutex_unlock'], name: 'drv.update' }),
  kind({ kind: 'rwsem (write)', lock: (w) => mmapLock(w, SRC), take: downWrite, drop: upWrite, code: BLOCK_SLEEP, ops: ['down_write', 'up_write'], name: 'mm[src].mmap_lock' }),
  kind({ kind: 'rwlock (write)', lock: rwlock, take: writeLock, drop: writeUnlock, code: BLOCK_SPIN, ops: ['write_lock', 'write_unlock'], name: 'test.rwlock' }),
];

describe.each(KINDS)('$kind', (k) => {
  it('blocks without writing while another actor holds it; taken once released', () => {
    const w = world();
    expect(k.take(as(w, 'a'), k.lock(w))).toBe(0);
    expect(noWrite(w, () => k.take(as(w, 'b'), k.lock(w)))).toBe(k.code);
    expect(w.bugs).toEqual([]);
    k.drop(as(w, 'a'), k.lock(w));
    expect(k.take(as(w, 'b'), k.lock(w))).toBe(0);
    expect(w.bugs).toEqual([]);
  });

  it('taking it again is an AA deadlock: a BUG, and the step still blocks', () => {
    const w = world();
    k.take(as(w, 'a'), k.lock(w));
    expect(noWrite(w, () => k.take(w, k.lock(w)))).toBe(k.code);
    expect(w.bugs).toEqual([`${k.ops[0]}(${k.name}): AA deadlock: actor a already holds ${k.name}`]);
  });

  it('release by a non-owner, or of a free lock, is a BUG', () => {
    const w = world();
    k.take(as(w, 'a'), k.lock(w));
    k.drop(as(w, 'b'), k.lock(w));
    expect(w.bugs).toEqual([`${k.ops[1]}(${k.name}) by actor b, but the owner is a`]);
    k.drop(as(w, 'b'), k.lock(w));
    expect(w.bugs).toEqual([`${k.ops[1]}(${k.name}) by actor b, but the owner is nobody`]);
  });

  it('assertHeld fails unless the running actor holds it', () => {
    const w = world();
    assertHeld(as(w, 'a'), k.lock(w), 'caller');
    expect(w.bugs).toEqual([`caller: lockdep_assert_held(${k.name}) failed: actor a does not hold it`]);
    k.take(as(w, 'b'), k.lock(w));
    assertHeld(as(w, 'a'), k.lock(w), 'caller');
    expect(w.bugs).toHaveLength(1);
    assertHeld(as(w, 'b'), k.lock(w), 'caller');
    expect(w.bugs).toEqual([]);
  });
});

describe('spinlock', () => {
  it('spinLockBusy and spin_trylock take nothing; a trylock fails without an AA report', () => {
    const w = world();
    spinLock(as(w, 'a'), driverSpinlock(w, 0));
    expect(noWrite(w, () => spinLockBusy(as(w, 'b'), driverSpinlock(w, 0)))).toBe(BLOCK_SPIN);
    expect(noWrite(w, () => spinTrylock(w, driverSpinlock(w, 0)))).toBe(false);
    expect(noWrite(w, () => spinTrylock(as(w, 'a'), driverSpinlock(w, 0)))).toBe(false);
    expect(w.bugs).toEqual([]);
    expect(noWrite(w, () => spinLockBusy(w, driverSpinlock(w, 0)))).toBe(BLOCK_SPIN);
    expect(w.bugs).toEqual(['spin_lock(drv.update): AA deadlock: actor a already holds drv.update']);
    spinUnlock(as(w, 'a'), driverSpinlock(w, 0));
    expect(spinLockBusy(as(w, 'b'), driverSpinlock(w, 0))).toBe(0);
    expect(spinTrylock(w, driverSpinlock(w, 0))).toBe(true);
  });

  it('spinLockNested takes both locks or neither', () => {
    const w = world();
    spinLock(as(w, 'b'), ptl(w, OTHER));
    expect(noWrite(w, () => spinLockNested(as(w, 'a'), ptl(w, SRC), ptl(w, OTHER)))).toBe(BLOCK_SPIN);
    expect(w.bugs).toEqual([]);
    spinUnlock(as(w, 'b'), ptl(w, OTHER));
    expect(spinLockNested(as(w, 'a'), ptl(w, SRC), ptl(w, OTHER))).toBe(0);
    expect([w.obj(MM, SRC).ptl, w.obj(MM, OTHER).ptl]).toEqual([1, 1]); // owner: actor a + 1
    expect(noWrite(w, () => spinLockNested(w, ptl(w, OTHER), ptl(w, SRC)))).toBe(BLOCK_SPIN);
    expect(w.bugs[0]).toMatch(/AA deadlock: actor a already holds mm\[other\]\.ptl/);
  });
});

describe('mutex', () => {
  it('the folio lock is one: PG_locked holds the owner; folio_trylock fails without writing', () => {
    const w = world();
    expect(mutexLock(as(w, 'a'), folioLock(w, 1))).toBe(0);
    expect(w.obj(PAGE, 1).locked).toBe(1);
    expect(noWrite(w, () => mutexTrylock(as(w, 'b'), folioLock(w, 1)))).toBe(false);
    mutexUnlock(as(w, 'b'), folioLock(w, 1));
    expect(w.bugs).toEqual(['mutex_unlock(folio[pfn1].lock) by actor b, but the owner is a']);
  });

  it('mutexLockIfBlockable: mutex_lock when blockable, mutex_trylock (WOULD_BLOCK on contention) when not', () => {
    const w = world();
    expect(mutexLockIfBlockable(as(w, 'a'), driverMutex(w, 0), 0)).toBe(0);
    expect(noWrite(w, () => mutexLockIfBlockable(as(w, 'b'), driverMutex(w, 0), 0))).toBe(WOULD_BLOCK);
    expect(noWrite(w, () => mutexLockIfBlockable(w, driverMutex(w, 0), 1))).toBe(BLOCK_SLEEP);
    expect(w.bugs).toEqual([]);
  });
});

describe('rwsem (mmap_lock)', () => {
  it('readers share; a writer waits for them without writing, then excludes everyone', () => {
    const w = world();
    const sem = mmapLock(w, SRC);
    expect(downRead(as(w, 'a'), sem)).toBe(0);
    expect(downRead(as(w, 'b'), sem)).toBe(0);
    expect(w.obj(MM, SRC).mmapReaders).toBe(2);
    expect(noWrite(w, () => downWrite(w, sem))).toBe(BLOCK_SLEEP);
    expect(noWrite(w, () => downWriteTrylock(w, sem))).toBe(false);
    upRead(as(w, 'a'), sem);
    upRead(as(w, 'b'), sem);
    expect(downWrite(as(w, 'a'), sem)).toBe(0);
    expect(w.obj(MM, SRC).mmapWriter).toBe(1);
    expect(noWrite(w, () => downRead(as(w, 'b'), sem))).toBe(BLOCK_SLEEP);
    expect(noWrite(w, () => downReadTrylock(w, sem))).toBe(false);
    expect(w.bugs).toEqual([]);
    upWrite(as(w, 'a'), sem);
    expect(downReadTrylock(as(w, 'b'), sem)).toBe(true);
  });

  it("down_read under the actor's own write lock is an AA deadlock too", () => {
    const w = world();
    downWrite(as(w, 'a'), mmapLock(w, SRC));
    expect(noWrite(w, () => downRead(w, mmapLock(w, SRC)))).toBe(BLOCK_SLEEP);
    expect(w.bugs).toEqual(['down_read(mm[src].mmap_lock): AA deadlock: actor a already holds mm[src].mmap_lock']);
  });

  it('downWriteNested takes both or neither', () => {
    const w = world();
    downRead(as(w, 'b'), mmapLock(w, OTHER));
    expect(noWrite(w, () => downWriteNested(as(w, 'a'), mmapLock(w, SRC), mmapLock(w, OTHER)))).toBe(BLOCK_SLEEP);
    upRead(as(w, 'b'), mmapLock(w, OTHER));
    expect(downWriteNested(as(w, 'a'), mmapLock(w, SRC), mmapLock(w, OTHER))).toBe(0);
    expect([w.obj(MM, SRC).mmapWriter, w.obj(MM, OTHER).mmapWriter]).toEqual([1, 1]);
  });

  it('up_read without readers is a BUG', () => {
    const w = world();
    upRead(as(w, 'b'), mmapLock(w, OTHER));
    expect(w.bugs).toEqual(['up_read(mm[other].mmap_lock) with no readers']);
  });

  it('taking mmap_lock inside an invalidate callback is the R16 inversion, trylock or not', () => {
    const w = world();
    w.obj(TASK, 0).inNotifier = 1;
    expect(downReadTrylock(as(w, 'a'), mmapLock(w, SRC))).toBe(true);
    expect(w.bugs[0]).toMatch(/^down_read_trylock\(mm\[src\]\.mmap_lock\) taken inside an mmu notifier invalidate callback .*R16/);
  });

  it('held for read satisfies assertHeld (readers are not named) but not assertWriteHeld', () => {
    const w = world();
    downRead(as(w, 'b'), mmapLock(w, SRC));
    assertHeld(as(w, 'b'), mmapLock(w, SRC), 'handle_mm_fault');
    expect(w.bugs).toEqual([]);
    assertWriteHeld(w, mmapLock(w, SRC), 'remove_vma');
    expect(w.bugs).toEqual(['remove_vma: lockdep_assert_held_write(mm[src].mmap_lock) failed: actor b does not hold it']);
  });
});

describe('rwlock (rwlock_t, spinning)', () => {
  it('readers share; a writer spins without writing while any reader holds it, then excludes everyone', () => {
    const w = world();
    const lock = rwlock(w);
    const rw = () => w.obj(RWL, 0);
    expect(readLock(as(w, 'a'), lock)).toBe(0);
    expect(readLock(as(w, 'b'), lock)).toBe(0);
    expect(rw().readers).toBe(2);
    expect(noWrite(w, () => writeLock(w, lock))).toBe(BLOCK_SPIN);
    readUnlock(as(w, 'a'), lock);
    expect(noWrite(w, () => writeLock(as(w, 'b'), lock))).toBe(BLOCK_SPIN); // its own read hold counts too
    readUnlock(w, lock);
    expect(writeLock(as(w, 'a'), lock)).toBe(0);
    expect([rw().writer, rw().readers]).toEqual([1, 0]); // writer: actor a + 1
    expect(noWrite(w, () => readLock(as(w, 'b'), lock))).toBe(BLOCK_SPIN);
    expect(noWrite(w, () => writeLock(w, lock))).toBe(BLOCK_SPIN);
    expect(w.bugs).toEqual([]);
    writeUnlock(as(w, 'a'), lock);
    expect(readLock(as(w, 'b'), lock)).toBe(0);
    expect(w.bugs).toEqual([]);
  });

  it("read_lock under the actor's own write lock is an AA deadlock; the step still spins", () => {
    const w = world();
    writeLock(as(w, 'a'), rwlock(w));
    expect(noWrite(w, () => readLock(w, rwlock(w)))).toBe(BLOCK_SPIN);
    expect(w.bugs).toEqual(['read_lock(test.rwlock): AA deadlock: actor a already holds test.rwlock']);
  });

  it('read_unlock without readers is a BUG and leaves the count alone', () => {
    const w = world();
    expect(noWrite(w, () => readUnlock(as(w, 'b'), rwlock(w)))).toBeUndefined();
    expect(w.bugs).toEqual(['read_unlock(test.rwlock) with no readers']);
  });

  it('held for read satisfies assertHeld (readers are not named) but not assertWriteHeld', () => {
    const w = world();
    readLock(as(w, 'b'), rwlock(w));
    assertHeld(as(w, 'a'), rwlock(w), 'mmu_invalidate_retry_gfn');
    expect(w.bugs).toEqual([]);
    assertWriteHeld(w, rwlock(w), 'kvm_mmu_invalidate_begin');
    expect(w.bugs).toEqual(['kvm_mmu_invalidate_begin: lockdep_assert_held_write(test.rwlock) failed: actor a does not hold it']);
    readUnlock(as(w, 'b'), rwlock(w));
    writeLock(w, rwlock(w));
    assertWriteHeld(w, rwlock(w), 'kvm_mmu_invalidate_begin');
    expect(w.bugs).toEqual([]);
  });

  it('its words are the lock class the discipline reads: held by the writer, or by anyone while read', () => {
    const w = world();
    const prot = w.protections;
    const c = prot.classIndex('test.rwlock');
    expect(prot.held(w.v, 1, c)).toBe(false);
    readLock(as(w, 'b'), rwlock(w));
    expect([prot.held(w.v, 1, c), prot.held(w.v, 2, c)]).toEqual([true, true]);
    readUnlock(w, rwlock(w));
    writeLock(as(w, 'a'), rwlock(w));
    expect([prot.held(w.v, 1, c), prot.held(w.v, 2, c)]).toEqual([true, false]);
  });
});

describe('assertHeld outside any step', () => {
  it('passes during set-up: nothing runs concurrently', () => {
    const w = world();
    w.actor = -1;
    assertHeld(w, ptl(w, SRC), 'set_pte_at');
    expect(w.bugs).toEqual([]);
  });
});

/** A routine that takes the ptl of `mm` and keeps it, then (`again`) takes it a second time. */
const holdPtl = LIB.routine({
  name: 'test_hold_ptl',
  params: ['mm', 'again'],
  steps: {
    lock: { at: 'test: spin_lock', run: (w, l) => spinLock(w, ptl(w, l.mm)) || 'relock' },
    relock: { at: 'test: spin_lock again', run: (w, l) => (l.again ? spinLock(w, ptl(w, l.mm)) : 0) || w.ret(0) },
  },
});

describe('through the runner', () => {
  it('a contended step is not schedulable and writes nothing (the runner would throw)', () => {
    const w = world();
    w.spawn(0, holdPtl, [SRC, 0]);
    w.spawn(1, holdPtl, [SRC, 0]);
    runSchedule(w, ['a', 'a']);
    expect(isEnabled(w, 1)).toBe(false);
  });

  it('an AA deadlock is a BUG on a blocked attempt, recorded as a step of its own', () => {
    const w = world();
    w.spawn(0, holdPtl, [SRC, 1]);
    const [, again] = runSchedule(w, ['a', 'a']);
    expect(again.outcome).toBe('spin');
    expect(again.bugs).toEqual(['spin_lock(mm[src].ptl): AA deadlock: actor a already holds mm[src].ptl']);
  });
});

describe('open questions found while converting the lock sites', () => {
  // src/mirror/anon-vma.ts: mirror_invalidate_anon_vma's step is labelled
  // `remote_mapping: spin_lock(user_lock)`, but the model takes user_lock as a mutex there (it
  // sleeps when blockable and gives up, returning false, when not), and the shared fault path
  // takes the same lock with mutex_lock(update). A spin_lock never gives up: in a non-blockable
  // invalidation it would spin. Behaviour was kept (mutexLockIfBlockable); one kind must be chosen.
  it.todo('anon-vma: user_lock is one kind of lock on both the fault and the invalidate path');
});

describe('lock references', () => {
  it('are built once per lock and layout, and name the slots of the world asked for when layouts alternate', () => {
    const small = world();
    // Another layout: more pages and mms, so the same mm's and page's words sit at other slots.
    const large = buildWorld({ pages: 3, mmPages: 2, mms: ['x', 'src', 'other'], locks: ['drv.a', 'drv.update'], actors: ['a', 'b'], libraries: [LIB] });
    for (const w of [small, large, small, large]) {
      const L = w.layout;
      expect(ptl(w, 1).slot).toBe(L.slot(MM, 1, 'ptl'));
      expect(ptl(w, 1)).toBe(ptl(w, 1));
      expect(mmapLock(w, 1)).toMatchObject({ writer: L.slot(MM, 1, 'mmapWriter'), readers: L.slot(MM, 1, 'mmapReaders') });
      expect(folioLock(w, 1).slot).toBe(L.slot(PAGE, 1, 'locked'));
      expect(driverMutex(w, 0).slot).toBe(driverSpinlock(w, 0).slot);
    }
    expect(ptl(small, 1).name()).toBe('mm[other].ptl');
    expect(ptl(large, 1).name()).toBe('mm[src].ptl');
    expect(driverMutex(large, 1).name()).toBe('drv.update');
    // An object the layout lacks is refused each time, not remembered.
    expect(() => ptl(small, 2)).toThrow(/out of range/);
    expect(() => ptl(small, 2)).toThrow(/out of range/);
  });
});
