/**
 * Lock primitives over lock words in the state. Each acquire is a *try*: a step calls it and, if
 * it fails, returns BLOCK_SLEEP (mutex, rwsem, folio lock) or BLOCK_SPIN (spinlock) without having
 * written anything, so the explorer does not schedule the actor until the holder releases.
 * Owners are stored as actor + 1 so that releasing a lock one does not hold is caught as a BUG.
 *
 * Simplification: rwsems are not fair (a waiting writer does not hold back new readers); the
 * model therefore cannot show writer starvation, only real exclusion.
 */
import type { World } from '../world/world.js';
import { LOCK, MM, PAGE, TASK } from './structs.js';

/** Takes the lock word at `slot` if free. */
export function tryLockSlot(w: World, slot: number): boolean {
  if (w.get(slot) !== 0) return false;
  w.set(slot, w.self);
  return true;
}

/** Releases the lock word at `slot`; releasing a lock held by someone else is a BUG. */
export function unlockSlot(w: World, slot: number, what: string): void {
  if (w.get(slot) !== w.self) {
    w.bug(`${what}: unlock by actor ${w.self - 1} but owner is ${w.get(slot) - 1}`);
  }
  w.set(slot, 0);
}

function mmSlot(w: World, mm: number, field: 'ptl' | 'mmapWriter' | 'mmapReaders'): number {
  return w.layout.slot(MM, mm, field);
}

/** The actor runs inside an invalidate callback: taking mmap_lock there is the R16 inversion. */
function checkNotInNotifier(w: World, what: string): void {
  if (w.obj(TASK, w.actor).inNotifier > 0) {
    w.bug(`${what} taken inside an mmu notifier invalidate callback (lock inversion with reclaim, R16)`);
  }
}

// include/linux/mmap_lock.h: mmap_read_trylock / mmap_read_lock
export function mmapReadTrylock(w: World, mm: number): boolean {
  // Checked before the lock's availability: the inversion is a bug whether or not it deadlocks now.
  checkNotInNotifier(w, 'mmap_read_lock');
  const m = w.obj(MM, mm);
  if (m.mmapWriter !== 0) return false;
  m.mmapReaders = m.mmapReaders + 1;
  return true;
}

export function mmapReadUnlock(w: World, mm: number): void {
  const m = w.obj(MM, mm);
  if (m.mmapReaders <= 0) w.bug(`mmap_read_unlock of mm ${mm} with no readers`);
  m.mmapReaders = m.mmapReaders - 1;
}

// include/linux/mmap_lock.h: mmap_write_trylock / mmap_write_lock
export function mmapWriteTrylock(w: World, mm: number): boolean {
  checkNotInNotifier(w, 'mmap_write_lock');
  const m = w.obj(MM, mm);
  if (m.mmapWriter !== 0 || m.mmapReaders !== 0) return false;
  m.mmapWriter = w.self;
  return true;
}

export function mmapWriteUnlock(w: World, mm: number): void {
  unlockSlot(w, mmSlot(w, mm, 'mmapWriter'), `mmap_write_unlock(mm ${mm})`);
}

// mm/memory.c: pte_offset_map_lock — one lock stands for the mm's split page-table locks
export function ptlTrylock(w: World, mm: number): boolean {
  return tryLockSlot(w, mmSlot(w, mm, 'ptl'));
}

export function ptlUnlock(w: World, mm: number): void {
  unlockSlot(w, mmSlot(w, mm, 'ptl'), `pte_unmap_unlock(mm ${mm})`);
}


// mm/filemap.c: folio_trylock / folio_lock
export function folioTrylock(w: World, pfn: number): boolean {
  return tryLockSlot(w, w.layout.slot(PAGE, pfn, 'locked'));
}

export function folioUnlock(w: World, pfn: number): void {
  unlockSlot(w, w.layout.slot(PAGE, pfn, 'locked'), `folio_unlock(pfn ${pfn})`);
}

/** A driver lock declared by name in the topology (mutex or spinlock: the caller decides how to block). */
export function driverTrylock(w: World, lock: number): boolean {
  return tryLockSlot(w, w.layout.slot(LOCK, lock, 'owner'));
}

export function driverUnlock(w: World, lock: number): void {
  unlockSlot(w, w.layout.slot(LOCK, lock, 'owner'), `unlock(${w.layout.objectName(w.layout.region(LOCK), lock)})`);
}
