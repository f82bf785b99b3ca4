/**
 * The kernel's side of the lock-order graph (src/world/lock-order.ts): which lock classes an actor
 * holds, and the acquisitions the lock primitives (locks.ts), the page allocator (page.ts) and the
 * notifier core (notifier/*.ts) report. Everything here only reads the state, and reads it raw
 * (`w.v`): recording is an observation of the run, invisible to footprints, audits and the
 * explorer's reduction, and it costs one test of `w.lockOrder` when off.
 *
 * Lock classes, as lockdep names them:
 *   - the lock words of the state, by the class their field declares (structs.ts: `folio`,
 *     `mm.mmap_lock`, `mm.ptl`), except a driver lock, which is a class of its own named after the
 *     topology's lock (`mirror.update`): two different driver locks are two classes;
 *   - `fs_reclaim` (mm/page_alloc.c `__fs_reclaim_map`): acquired and released by every allocation
 *     that may enter direct reclaim (`fs_reclaim_acquire(GFP_KERNEL)`, `might_alloc`), and held
 *     while an actor reclaims: a frame of `shrink_folio_list` on its stack (kswapd holds it across
 *     balance_pgdat; direct reclaim across __perform_reclaim). An actor in reclaim does not record
 *     its own allocations (PF_MEMALLOC: `__need_reclaim` is false);
 *   - `mmu_notifier_invalidate_range_start` (mm/mmu_notifier.c
 *     `__mmu_notifier_invalidate_range_start_map`): acquired and released by
 *     mmu_notifier_invalidate_range_start (whether or not the mm has notifiers), by
 *     __mmu_notifier_invalidate_range_end, by mmu_interval_read_begin and
 *     mmu_interval_notifier_remove, and — since v5.9 — inside fs_reclaim_acquire, which is where
 *     the order fs_reclaim → invalidate_range_start is primed for every allocation (v5.4–v5.8 did
 *     it once, at __mmu_notifier_register: "mm/mmu_notifiers: prime lockdep", replaced by "mm: Track
 *     mmu notifiers in fs_reclaim_acquire/release"); held while mmu_notifier_invalidate_range_start
 *     or _end runs a callback: a frame of either below the running one. Not during ->release and
 *     the RELEASE invalidation of exit_mmap, which the kernel runs without the map (so
 *     `task.inNotifier`, which counts those callbacks too, is not the test).
 *
 * Readers: an rwsem's reader count does not say who reads, so each task counts the rwsems it holds
 * for read (`task.readLocks`, kept by locks.ts); a reader-counted class is held by an actor when
 * the class has readers and the actor holds some rwsem for read. With one rwsem class in the model
 * (mmap_lock) that is exact, class by class.
 */
import type { LockOrder } from '../world/lock-order.js';
import { CALL_ROUTINE, type Layout } from '../world/layout.js';
import type { World } from '../world/world.js';
import { LOCK, TASK } from './structs.js';

export const FS_RECLAIM = 'fs_reclaim';
export const MMU_NOTIFIER_MAP = 'mmu_notifier_invalidate_range_start';

/** One world's lock words and pseudo-locks as classes of one graph, and the buffer of held classes. */
interface Table {
  readonly lo: LockOrder;
  readonly layout: Layout;
  /** Per slot: the class of the lock whose owner (or reader count) it is, -1 otherwise. */
  readonly classOfSlot: Int32Array;
  readonly owners: Int32Array;
  readonly ownerClass: Int32Array;
  readonly readers: Int32Array;
  readonly readerClass: Int32Array;
  /** task[0].readLocks and the stride between tasks (-1: no task region). */
  readonly readLocks: number;
  readonly taskStride: number;
  /** Ops references (model id + 1; 0: not in this model) of shrink_folio_list and the two map holders. */
  readonly reclaimRef: number;
  readonly startRef: number;
  readonly endRef: number;
  readonly fsReclaim: number;
  readonly map: number;
  readonly held: Int32Array;
  readonly stamp: Int32Array;
  gen: number;
}

const tables = new WeakMap<LockOrder, Table>();

function table(w: World, lo: LockOrder): Table {
  const t = tables.get(lo);
  if (t && t.layout === w.layout) return t;
  const made = build(w, lo);
  tables.set(lo, made);
  return made;
}

function build(w: World, lo: LockOrder): Table {
  const layout = w.layout;
  const prot = w.protections;
  const lockWords: { slot: number; reader: boolean }[] = [];
  prot.owners.forEach((slots) => {
    for (const slot of slots) lockWords.push({ slot, reader: false });
  });
  prot.readers.forEach((slots) => {
    for (const slot of slots) lockWords.push({ slot, reader: true });
  });
  lockWords.sort((a, b) => a.slot - b.slot); // classes numbered in layout order: folio, mm.*, then driver locks
  const classOfSlot = new Int32Array(layout.size).fill(-1);
  const owners: number[] = [];
  const ownerClass: number[] = [];
  const readers: number[] = [];
  const readerClass: number[] = [];
  for (const { slot, reader } of lockWords) {
    const c = lo.classId(className(w, slot));
    classOfSlot[slot] = c;
    (reader ? readers : owners).push(slot);
    (reader ? readerClass : ownerClass).push(c);
  }
  const fsReclaim = lo.classId(FS_RECLAIM);
  const map = lo.classId(MMU_NOTIFIER_MAP);
  const hasTask = layout.has(TASK) && layout.region(TASK).count > 0;
  const ref = (name: string) => {
    const r = w.model.byNameOf(name);
    return r ? w.routineRef(r) : 0;
  };
  return {
    lo,
    layout,
    classOfSlot,
    owners: Int32Array.from(owners),
    ownerClass: Int32Array.from(ownerClass),
    readers: Int32Array.from(readers),
    readerClass: Int32Array.from(readerClass),
    readLocks: hasTask ? layout.slot(TASK, 0, 'readLocks') : -1,
    taskStride: hasTask ? layout.region(TASK).stride : 0,
    reclaimRef: ref('shrink_folio_list'),
    startRef: ref('mmu_notifier_invalidate_range_start'),
    endRef: ref('mmu_notifier_invalidate_range_end'),
    fsReclaim,
    map,
    held: new Int32Array(lo.classCount + 1),
    stamp: new Int32Array(lo.classCount),
    gen: 0,
  };
}

/** The class of a lock word: a driver lock's own name, else the class its field declares. */
function className(w: World, slot: number): string {
  const d = w.layout.describe(slot);
  if (d && d.region.def === LOCK) return w.layout.objectName(d.region, d.index);
  const prot = w.protections;
  return prot.classes[prot.classOf[slot]];
}

/** Fills `t.held` with the classes the running actor holds; returns how many. */
function heldOf(w: World, t: Table): number {
  const v = w.v;
  const self = w.self;
  const held = t.held;
  const stamp = t.stamp;
  const g = ++t.gen;
  let n = 0;
  for (let i = 0; i < t.owners.length; i++) {
    if (v[t.owners[i]] !== self) continue;
    const c = t.ownerClass[i];
    if (stamp[c] !== g) {
      stamp[c] = g;
      held[n++] = c;
    }
  }
  if (t.readLocks >= 0 && v[t.readLocks + w.actor * t.taskStride] > 0) {
    for (let i = 0; i < t.readers.length; i++) {
      const c = t.readerClass[i];
      if (v[t.readers[i]] > 0 && stamp[c] !== g) {
        stamp[c] = g;
        held[n++] = c;
      }
    }
  }
  // The pseudo-locks, from the call stack: reclaim anywhere on it; the map under a frame of
  // invalidate_range_start/_end that is not the running one (it is then running a callback).
  const L = w.layout;
  const sp = w.actorSp(w.actor);
  let reclaim = false;
  let map = false;
  for (let d = 0; d < sp; d++) {
    const r = v[L.callSlot(w.actor, d) + CALL_ROUTINE];
    if (r === t.reclaimRef) reclaim = true;
    else if (d < sp - 1 && (r === t.startRef || r === t.endRef)) map = true;
  }
  if (map) held[n++] = t.map;
  if (reclaim) held[n++] = t.fsReclaim;
  return n;
}

/** The graph to record into, or null (off, paused, or no actor running: set-up code). */
function recording(w: World): LockOrder | null {
  const lo = w.lockOrder;
  return lo === null || lo.paused || w.actor < 0 ? null : lo;
}

/**
 * lock_acquire: the running actor takes the lock whose owner word (or, for a read, reader count)
 * is `slot`, before it is marked taken. `nested`: spin_lock_nested / down_write_nested. Trylocks
 * do not call this (a trylock cannot wait, so it adds no dependency).
 */
export function lockdepAcquire(w: World, slot: number, nested = false): void {
  const lo = recording(w);
  if (!lo) return;
  const t = table(w, lo);
  lo.acquire(w, t.held, heldOf(w, t), t.classOfSlot[slot], nested);
}

/**
 * mm/page_alloc.c:fs_reclaim_acquire(GFP_KERNEL) + fs_reclaim_release: an allocation that may
 * enter direct reclaim. held → fs_reclaim, then, inside it, the notifier map's acquire and release
 * (fs_reclaim → mmu_notifier_invalidate_range_start, lockdep's one edge from the innermost lock).
 * Nothing for an actor already in reclaim (PF_MEMALLOC).
 */
export function fsReclaimAcquire(w: World): void {
  const lo = recording(w);
  if (!lo) return;
  const t = table(w, lo);
  const n = heldOf(w, t);
  for (let i = 0; i < n; i++) if (t.held[i] === t.fsReclaim) return;
  lo.acquire(w, t.held, n, t.fsReclaim);
  t.held[n] = t.fsReclaim;
  lo.acquire(w, t.held, n + 1, t.map, false, t.fsReclaim);
}

/** lock_map_acquire(&__mmu_notifier_invalidate_range_start_map) (and its release). */
export function notifierMapAcquire(w: World): void {
  const lo = recording(w);
  if (!lo) return;
  const t = table(w, lo);
  lo.acquire(w, t.held, heldOf(w, t), t.map);
}

/** The classes the running actor holds now, by name (for tests and messages). */
export function heldLockClasses(w: World, lo: LockOrder): string[] {
  const t = table(w, lo);
  return Array.from(t.held.subarray(0, heldOf(w, t)), (c) => lo.className(c));
}
