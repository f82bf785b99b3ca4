/**
 * Locks: one small set of primitives per lock kind, over lock words in the state.
 *
 *   spinlock  spinLock / spinTrylock / spinUnlock (+ spinLockNested, spinLockBusy)   BLOCK_SPIN
 *   mutex     mutexLock / mutexTrylock / mutexUnlock (+ mutexLockIfBlockable)        BLOCK_SLEEP
 *   rwsem     downRead / downReadTrylock / upRead,
 *             downWrite / downWriteTrylock / upWrite (+ downWriteNested)             BLOCK_SLEEP
 *   rwlock    readLock / readUnlock, writeLock / writeUnlock                         BLOCK_SPIN
 *   any       assertHeld (lockdep_assert_held), assertWriteHeld (lockdep_assert_held_write)
 *
 * A lock is named by a *lock reference* built where the kernel would name it: `ptl(w, mm)`,
 * `mmapLock(w, mm)`, `folioLock(w, pfn)`, `driverMutex(w, i)` / `driverSpinlock(w, i)` (and, outside
 * src/kernel, by the layer that owns the lock: `kvmMmuLock(w, kvm)` in src/kvm). Its kind is
 * part of its type, so a spinlock cannot be taken with mutexLock. Every primitive:
 *
 *   - blocks without writing: a blocking acquire returns 0 when it took the lock, else the block
 *     code the step must return as is (`const b = spinLock(w, ptl(w, mm)); if (b) return b;`), so a
 *     call site cannot pick the wrong one; a trylock returns a boolean and never blocks;
 *   - reports self-deadlock as lockdep would: a blocking acquire of a lock the running actor already
 *     holds is a BUG ("AA deadlock"), and the step still blocks, so the actor hangs as it would;
 *   - on release, checks the owner: releasing a lock held by another actor (or by nobody) is a BUG;
 *   - with a lock-order graph attached (`w.lockOrder`), a blocking acquire that succeeds records
 *     the classes held before the one taken (lockdep.ts); a trylock records nothing (it cannot
 *     wait). Readers are counted per task too (`task.readLocks`), for lockdep's held-lock list.
 *
 * Encoding (read by src/check/properties.ts, unchanged): an exclusive lock word holds its owner as
 * actor + 1 (`w.self`), 0 when free; an rwsem, and likewise an rwlock, is two words, the writer
 * (actor + 1) and the number of readers.
 *
 * Fairness: every blocking acquire marks its step (`w.fairAcquire`), and the termination check
 * holds such steps to strong fairness — an actor that finds the lock free again and again takes
 * it — because the kernel's locks serve their waiters: queued spinlocks and rwlocks
 * (kernel/locking/qspinlock.c, qrwlock.c: a reader backs off while a writer waits), the handoff
 * of mutexes, rwsems (kernel/locking/mutex.c, rwsem.c: MUTEX_FLAG_HANDOFF, RWSEM_FLAG_HANDOFF) and
 * the folio lock (mm/filemap.c:folio_wait_bit_common). So a reader re-taking a lock in a retry
 * loop does not starve a writer (a vCPU retrying its fault under KVM's mmu_lock while an
 * invalidation waits to take it for write). Simplification: the lock words hold no queue — a
 * waiting writer does not hold back new readers in the state, so the exclusion is exact, but a
 * writer waiting behind readers that overlap for ever (never all out at once) still looks starved,
 * and the deadlock of a reader re-taking an rwsem behind a waiting writer is not produced. Readers are
 * counted, not named: a reader taking the lock again for write, or an upRead/readUnlock by an
 * actor that is not a reader, cannot be told apart (the first blocks; the liveness check then
 * reports the deadlock), and a reader taking an rwlock again for read succeeds (recursive
 * read_lock, which lockdep only flags in some contexts, is not reported).
 */
import { injects } from '../world/faults.js';
import type { World } from '../world/world.js';
import type { Layout } from '../world/layout.js';
import { BLOCK_SLEEP, BLOCK_SPIN } from '../world/routine.js';
import { LOCK, MM, PAGE, TASK } from './structs.js';
import { deref, isNone } from './ref.js';
import { dropAcquire, skipAssert, skipRelease } from './mutation-hooks.js';
import { lockdepAcquire } from './lockdep.js';
import { mightSleep, spinlockWord } from './might-sleep.js';

interface ExclusiveLock {
  /** The owner word's slot: actor + 1, 0 when free. */
  readonly slot: number;
  /** The name lockdep would print, e.g. `mm[source].ptl` (built only for messages). */
  readonly name: () => string;
}

/** A spinning lock: contention returns BLOCK_SPIN (allowed in non-blockable context). */
export interface SpinLock extends ExclusiveLock {
  readonly kind: 'spinlock';
}

/** A sleeping exclusive lock (a mutex, or the folio lock bit): contention returns BLOCK_SLEEP. */
export interface Mutex extends ExclusiveLock {
  readonly kind: 'mutex';
}

/** A reader/writer semaphore: two words, the writer (actor + 1) and the number of readers. */
export interface RwSem {
  readonly kind: 'rwsem';
  readonly writer: number;
  readonly readers: number;
  readonly name: () => string;
  /**
   * Lockdep's ordering against the mmu notifier map: taking it inside an invalidate callback is
   * the reclaim inversion of R16 (mmap_lock). Checked before availability, by trylocks too: the
   * inversion is a bug whether or not it deadlocks this time.
   */
  readonly notInNotifier?: boolean;
}

export type AnyLock = SpinLock | Mutex | RwSem | RwLock;

// ---- lock references ----

/**
 * The references to one kind of lock in one layout, by object: a reference is immutable data
 * (slots and a name), so each is built once, on first use, rather than at every acquire, release
 * and assertion — two objects and field lookups by name each, a few million per search. Keyed by
 * the layout last asked (a search runs one): another layout starts over.
 */
class LockRefs<L extends AnyLock> {
  private layout: Layout | undefined = undefined;
  private refs: (L | undefined)[] = [];

  constructor(private readonly make: (layout: Layout, index: number) => L) {}

  of(w: World, index: number): L {
    if (w.layout !== this.layout) {
      this.layout = w.layout;
      this.refs = [];
    }
    // An index out of range throws in `make` (Layout.slot) every time: nothing is kept for it.
    let ref = this.refs[index];
    if (ref === undefined) {
      ref = this.make(w.layout, index);
      this.refs[index] = ref;
    }
    return ref;
  }
}

const mmName = (layout: Layout, mm: number) => `mm[${layout.objectName(layout.region(MM), mm)}]`;

const ptls = new LockRefs<SpinLock>((layout, mm) => ({ kind: 'spinlock', slot: layout.slot(MM, mm, 'ptl'), name: () => `${mmName(layout, mm)}.ptl` }));

/** mm/memory.c:pte_lockptr — the page-table lock of `mm` (one lock stands for its split ptls). */
export function ptl(w: World, mm: number): SpinLock {
  return ptls.of(w, mm);
}

const mmapLocks = new LockRefs<RwSem>((layout, mm) => ({
  kind: 'rwsem',
  writer: layout.slot(MM, mm, 'mmapWriter'),
  readers: layout.slot(MM, mm, 'mmapReaders'),
  name: () => `${mmName(layout, mm)}.mmap_lock`,
  notInNotifier: true,
}));

/** mm->mmap_lock. */
export function mmapLock(w: World, mm: number): RwSem {
  return mmapLocks.of(w, mm);
}

const folioLocks = new LockRefs<Mutex>((layout, pfn) => ({ kind: 'mutex', slot: layout.slot(PAGE, pfn, 'locked'), name: () => `folio[${layout.objectName(layout.region(PAGE), pfn)}].lock` }));

/** The folio lock (PG_locked) of page `pfn`: a sleeping lock. */
export function folioLock(w: World, pfn: number): Mutex {
  return folioLocks.of(w, pfn);
}

const lockName = (layout: Layout, lock: number) => layout.objectName(layout.region(LOCK), lock);

const driverMutexes = new LockRefs<Mutex>((layout, lock) => ({ kind: 'mutex', slot: layout.slot(LOCK, lock, 'owner'), name: () => lockName(layout, lock) }));

/** A driver lock of the topology (`locks`, by index) used as a mutex. */
export function driverMutex(w: World, lock: number): Mutex {
  return driverMutexes.of(w, lock);
}

const driverSpinlocks = new LockRefs<SpinLock>((layout, lock) => ({ kind: 'spinlock', slot: layout.slot(LOCK, lock, 'owner'), name: () => lockName(layout, lock) }));

/** A driver lock of the topology (`locks`, by index) used as a spinlock. */
export function driverSpinlock(w: World, lock: number): SpinLock {
  return driverSpinlocks.of(w, lock);
}

// ---- shared checks ----

/** The actor a lock word names (its tag `w.self` is a reference: none = free). */
function actorName(w: World, tag: number): string {
  return isNone(tag) ? 'nobody' : w.layout.actorNames[deref(tag, 'lock owner')];
}

/** The step blocks on `lock`; if the running actor holds it itself, that is lockdep's AA deadlock. */
function blocked(w: World, op: string, name: () => string, owner: number, code: number): number {
  if (owner === w.self) w.bug(`${op}(${name()}): AA deadlock: actor ${actorName(w, w.self)} already holds ${name()}`);
  return code;
}

function checkNotInNotifier(w: World, op: string, sem: RwSem): void {
  if (sem.notInNotifier && w.actor >= 0 && w.obj(TASK, w.actor).inNotifier > 0) {
    w.bug(`${op}(${sem.name()}) taken inside an mmu notifier invalidate callback (lock inversion with reclaim, R16)`);
  }
}

/** The nested acquires: both owner words in one step, unless `busy` (a block code) says to wait. */
function takeBoth(w: World, busy: number, first: number, second: number): number {
  if (busy) return busy;
  if (w.lockOrder !== null) lockdepAcquire(w, first);
  w.set(first, w.self);
  if (w.lockOrder !== null) lockdepAcquire(w, second, true); // the _nested annotation: a subclass, not a recursion
  w.set(second, w.self);
  return 0;
}

/** The running task takes (+1) or drops (-1) an rwsem for read: lockdep's held-lock list for readers (lockdep.ts). */
function readHeld(w: World, delta: 1 | -1): void {
  if (w.actor < 0) return;
  const t = w.obj(TASK, w.actor);
  if (delta > 0 || t.readLocks > 0) t.readLocks = t.readLocks + delta;
}

function release(w: World, op: string, lock: ExclusiveLock | RwSem, slot: number): void {
  const owner = w.get(slot);
  if (owner !== w.self) w.bug(`${op}(${lock.name()}) by actor ${actorName(w, w.self)}, but the owner is ${actorName(w, owner)}`);
  w.set(slot, 0);
}

// ---- spinlock and mutex: one owner word ----

/** The blocking acquire of an exclusive lock: 0 when taken, else `code` (nothing written). */
function take(w: World, op: string, lock: ExclusiveLock, code: number): number {
  w.fairAcquire = true;
  const owner = w.get(lock.slot);
  if (owner !== 0) return blocked(w, op, lock.name, owner, code);
  if (w.lockOrder !== null) lockdepAcquire(w, lock.slot);
  w.set(lock.slot, w.self);
  return 0;
}

/** The trylock of an exclusive lock: takes it if it is free. */
function tryTake(w: World, lock: ExclusiveLock): boolean {
  if (w.get(lock.slot) !== 0) return false;
  w.set(lock.slot, w.self);
  return true;
}

/** spin_lock: 0 when taken, else BLOCK_SPIN (nothing written). */
export function spinLock(w: World, lock: SpinLock): number {
  if (w.mutation !== null && dropAcquire(w, lock)) return 0;
  spinlockWord(w, lock.slot);
  return take(w, 'spin_lock', lock, BLOCK_SPIN);
}

/**
 * Whether spin_lock(lock) would have to spin now: BLOCK_SPIN (an AA deadlock reported) or 0. Takes
 * nothing: for a step that calls a helper which takes and drops the lock itself (insert_pfn).
 */
export function spinLockBusy(w: World, lock: SpinLock): number {
  w.fairAcquire = true;
  const owner = w.get(lock.slot);
  if (owner !== 0) return blocked(w, 'spin_lock', lock.name, owner, BLOCK_SPIN);
  if (w.lockOrder !== null) lockdepAcquire(w, lock.slot); // the helper's spin_lock
  return 0;
}

/** spin_lock(outer); spin_lock_nested(inner, SINGLE_DEPTH_NESTING): both in one step, or neither. */
export function spinLockNested(w: World, outer: SpinLock, inner: SpinLock): number {
  if (w.mutation !== null && dropAcquire(w, outer)) return 0;
  spinlockWord(w, outer.slot);
  spinlockWord(w, inner.slot);
  return takeBoth(w, spinLockBusy(w, outer) || spinLockBusy(w, inner), outer.slot, inner.slot);
}

/** The fault point of a trylock refused although the lock is free (scenario `faults: [trylock-fail]`). */
export const TRYLOCK_FAIL = 'trylock-fail';

/**
 * Fault injection: a trylock on a free lock may still fail — in the kernel because some party the
 * scenario does not model holds it for a moment. With the point on, the step branches (w.choose).
 * Exported for the trylocks of locks the model keeps out of the state (an era's hmm->mirrors_sem,
 * whose writers are set-up actions here): the only way such a trylock fails.
 */
export function trylockRefused(w: World): boolean {
  return injects(w, TRYLOCK_FAIL) && w.choose(2) === 1;
}

/** spin_trylock: takes the lock if it is free. */
export function spinTrylock(w: World, lock: SpinLock): boolean {
  if (w.mutation !== null && dropAcquire(w, lock)) return true;
  if (w.get(lock.slot) === 0 && trylockRefused(w)) return false;
  spinlockWord(w, lock.slot);
  return tryTake(w, lock);
}

/** spin_unlock */
export function spinUnlock(w: World, lock: SpinLock): void {
  if (w.mutation !== null && skipRelease(w, lock)) return;
  release(w, 'spin_unlock', lock, lock.slot);
}

/** mutex_lock (or folio_lock): 0 when taken, else BLOCK_SLEEP (nothing written). */
export function mutexLock(w: World, lock: Mutex): number {
  if (w.mutation !== null && dropAcquire(w, lock)) return 0;
  mightSleep(w, 'mutex_lock', lock.name);
  return take(w, 'mutex_lock', lock, BLOCK_SLEEP);
}

/** mutex_trylock (or folio_trylock): takes the lock if it is free. */
export function mutexTrylock(w: World, lock: Mutex): boolean {
  if (w.mutation !== null && dropAcquire(w, lock)) return true;
  if (w.get(lock.slot) === 0 && trylockRefused(w)) return false;
  return tryTake(w, lock);
}

/** mutex_unlock (or folio_unlock) */
export function mutexUnlock(w: World, lock: Mutex): void {
  if (w.mutation !== null && skipRelease(w, lock)) return;
  release(w, 'mutex_unlock', lock, lock.slot);
}

/** What mutexLockIfBlockable returns when a non-blockable caller finds the lock taken. */
export const WOULD_BLOCK = 1;

/**
 * The notifier-callback idiom `if (mmu_notifier_range_blockable(range)) mutex_lock(&lock); else if
 * (!mutex_trylock(&lock)) return false;`: 0 when taken, BLOCK_SLEEP (blockable: wait), or
 * WOULD_BLOCK (non-blockable and contended: the callback gives up).
 */
export function mutexLockIfBlockable(w: World, lock: Mutex, blockable: number): number {
  if (blockable) return mutexLock(w, lock);
  return mutexTrylock(w, lock) ? 0 : WOULD_BLOCK;
}

// ---- rwsem ----

/** down_read: 0 when taken, else BLOCK_SLEEP (nothing written). */
export function downRead(w: World, sem: RwSem): number {
  if (w.mutation !== null && dropAcquire(w, sem, true)) return 0;
  mightSleep(w, 'down_read', sem.name);
  checkNotInNotifier(w, 'down_read', sem);
  w.fairAcquire = true;
  const writer = w.get(sem.writer);
  if (writer !== 0) return blocked(w, 'down_read', sem.name, writer, BLOCK_SLEEP);
  if (w.lockOrder !== null) lockdepAcquire(w, sem.readers);
  w.set(sem.readers, w.get(sem.readers) + 1);
  readHeld(w, 1);
  return 0;
}

/** down_read_trylock */
export function downReadTrylock(w: World, sem: RwSem): boolean {
  if (w.mutation !== null && dropAcquire(w, sem, true)) return true;
  checkNotInNotifier(w, 'down_read_trylock', sem);
  if (w.get(sem.writer) !== 0 || trylockRefused(w)) return false;
  w.set(sem.readers, w.get(sem.readers) + 1);
  readHeld(w, 1);
  return true;
}

/** up_read: releasing with no reader is a BUG (readers are not named: see the header). */
export function upRead(w: World, sem: RwSem): void {
  if (w.mutation !== null && skipRelease(w, sem, true)) return;
  const n = w.get(sem.readers);
  if (n <= 0) w.bug(`up_read(${sem.name()}) with no readers`);
  w.set(sem.readers, n - 1);
  readHeld(w, -1);
}

function writeBusy(w: World, sem: RwSem): number {
  w.fairAcquire = true;
  const writer = w.get(sem.writer);
  if (writer !== 0) return blocked(w, 'down_write', sem.name, writer, BLOCK_SLEEP);
  return w.get(sem.readers) !== 0 ? BLOCK_SLEEP : 0;
}

/** down_write: 0 when taken, else BLOCK_SLEEP (nothing written). */
export function downWrite(w: World, sem: RwSem): number {
  if (w.mutation !== null && dropAcquire(w, sem)) return 0;
  mightSleep(w, 'down_write', sem.name);
  checkNotInNotifier(w, 'down_write', sem);
  const b = writeBusy(w, sem);
  if (b) return b;
  if (w.lockOrder !== null) lockdepAcquire(w, sem.writer);
  w.set(sem.writer, w.self);
  return 0;
}

/** down_write(outer); down_write_nested(inner, SINGLE_DEPTH_NESTING): both in one step, or neither. */
export function downWriteNested(w: World, outer: RwSem, inner: RwSem): number {
  if (w.mutation !== null && dropAcquire(w, outer)) return 0;
  mightSleep(w, 'down_write', outer.name);
  checkNotInNotifier(w, 'down_write', outer);
  checkNotInNotifier(w, 'down_write_nested', inner);
  return takeBoth(w, writeBusy(w, outer) || writeBusy(w, inner), outer.writer, inner.writer);
}

/** down_write_trylock */
export function downWriteTrylock(w: World, sem: RwSem): boolean {
  if (w.mutation !== null && dropAcquire(w, sem)) return true;
  checkNotInNotifier(w, 'down_write_trylock', sem);
  if (w.get(sem.writer) !== 0 || w.get(sem.readers) !== 0 || trylockRefused(w)) return false;
  w.set(sem.writer, w.self);
  return true;
}

/** up_write */
export function upWrite(w: World, sem: RwSem): void {
  if (w.mutation !== null && skipRelease(w, sem)) return;
  release(w, 'up_write', sem, sem.writer);
}

// ---- lockdep_assert_held ----

/**
 * lockdep_assert_held(lock), from `who` (the function that relies on it): a BUG unless the running
 * actor holds `lock` — for an rwsem, holds it for write, or someone holds it for read (readers are
 * not named). Outside any step (set-up, before an actor ran) nothing can race: it passes.
 */
export function assertHeld(w: World, lock: AnyLock, who: string): void {
  if (w.mutation !== null && skipAssert(w)) return;
  if (w.actor < 0) return;
  // lockdep's own bookkeeping: not an access of the modelled code.
  const held = lock.kind === 'rwsem' || lock.kind === 'rwlock' ? w.instrumentGet(lock.writer) === w.self || w.instrumentGet(lock.readers) > 0 : w.instrumentGet(lock.slot) === w.self;
  if (!held) w.bug(`${who}: lockdep_assert_held(${lock.name()}) failed: actor ${actorName(w, w.self)} does not hold it`);
}

/** lockdep_assert_held_write(sem) (mmap_assert_write_locked; also of an rwlock): the running actor holds `sem` for write. */
export function assertWriteHeld(w: World, sem: RwSem | RwLock, who: string): void {
  if (w.mutation !== null && skipAssert(w)) return;
  if (w.actor < 0) return;
  if (w.instrumentGet(sem.writer) !== w.self) w.bug(`${who}: lockdep_assert_held_write(${sem.name()}) failed: actor ${actorName(w, w.self)} does not hold it`);
}

// ---- rwlock_t (spinning reader/writer lock) ----

/**
 * A spinning reader/writer lock (rwlock_t, e.g. x86 KVM's mmu_lock): two words, the writer
 * (actor + 1, `lock-word:CLASS`) and the number of readers (`lock-readers:CLASS`), as an rwsem's;
 * contention returns BLOCK_SPIN, so it may be taken in non-blockable context.
 */
export interface RwLock {
  readonly kind: 'rwlock';
  readonly writer: number;
  readonly readers: number;
  readonly name: () => string;
}

/** read_lock: 0 when taken, else BLOCK_SPIN (nothing written); the writer taking it for read is an AA deadlock. */
export function readLock(w: World, lock: RwLock): number {
  w.fairAcquire = true;
  const writer = w.get(lock.writer);
  if (writer !== 0) return blocked(w, 'read_lock', lock.name, writer, BLOCK_SPIN);
  w.set(lock.readers, w.get(lock.readers) + 1);
  return 0;
}

/** read_unlock: releasing with no reader is a BUG, and leaves the count as it is (readers are not named: see the header). */
export function readUnlock(w: World, lock: RwLock): void {
  const n = w.get(lock.readers);
  if (n <= 0) {
    w.bug(`read_unlock(${lock.name()}) with no readers`);
    return;
  }
  w.set(lock.readers, n - 1);
}

/** write_lock: 0 when taken, else BLOCK_SPIN (nothing written): a writer or any reader holds it; the writer itself is an AA deadlock. */
export function writeLock(w: World, lock: RwLock): number {
  spinlockWord(w, lock.writer);
  w.fairAcquire = true;
  const writer = w.get(lock.writer);
  if (writer !== 0) return blocked(w, 'write_lock', lock.name, writer, BLOCK_SPIN);
  if (w.get(lock.readers) !== 0) return BLOCK_SPIN;
  w.set(lock.writer, w.self);
  return 0;
}

/** write_unlock: by an actor that is not the writer, a BUG. */
export function writeUnlock(w: World, lock: RwLock): void {
  const owner = w.get(lock.writer);
  if (owner !== w.self) w.bug(`write_unlock(${lock.name()}) by actor ${actorName(w, w.self)}, but the owner is ${actorName(w, owner)}`);
  w.set(lock.writer, 0);
}
