/**
 * Object lifetime: reference counts (include/linux/kref.h) and SRCU grace periods
 * (kernel/rcu/srcutree.c), so that a step touching an object after its last reference was dropped
 * is reported — "BUG: KASAN: use-after-free" — with the trace that freed it.
 *
 * A struct whose objects are freed while the actors run declares its kref field with
 * `declareLifetime(STRUCT, 'refs')`: an object is live while that field is not 0, and a step that
 * takes a view of it (`w.obj(STRUCT, i)`) when it is 0 raises the BUG. The last `krefPut` runs the
 * release, then frees the object: every field back to 0, as kfree hands it back (equal futures give
 * equal states); `kzalloc` hands out a free one. Nothing here knows who uses it: a driver's state
 * (DriverSpec.state) or a kernel object.
 *
 * SRCU: `srcu_read_lock` / `srcu_read_unlock` around a reader's section and `synchronizeSrcu`, a
 * routine that waits for every reader that entered before it (the classic free path: unpublish the
 * pointer, synchronize_srcu, then drop the reference). The grace period is one flip of the index
 * readers count under, then a wait for the old index's readers; `srcu_read_lock` is one atomic
 * action here, which the kernel's algorithm (two counter scans with full barriers,
 * srcu_readers_active_idx_check) provides with no lock.
 */
import { ModelError } from '../world/errors.js';
import { defineStruct, type StructDef } from '../world/layout.js';
import { Library } from '../world/registry.js';
import { BLOCK_SLEEP } from '../world/routine.js';
import type { World } from '../world/world.js';
import { KERNEL } from './library.js';
import { mutexLock, mutexUnlock, type Mutex } from './locks.js';

/** Per struct id, the index of its kref field. */
const lifetimes = new Map<number, number>();

/** Objects of `def` are freed at run time: `field` (an `atomic` field) is their kref; 0 means free. */
export function declareLifetime<F extends string>(def: StructDef<F>, field: F): void {
  const k = def.fields.indexOf(field);
  if (k < 0) throw new ModelError(`declareLifetime: struct ${def.name} has no field ${field}`);
  if (def.protect[field] !== 'atomic') throw new ModelError(`declareLifetime: ${def.name}.${field} is a kref: declare it 'atomic'`);
  lifetimes.set(def.id, k);
}

/** The kref field of `def`, if it has a lifetime. */
export function lifetimeField(def: StructDef): string | undefined {
  const k = lifetimes.get(def.id);
  return k === undefined ? undefined : def.fields[k];
}

/** The world's use-after-free check for every struct with a lifetime that its layout holds. */
export function checkLifetimes(w: World): void {
  for (const [id, k] of lifetimes) {
    const region = w.layout.regions.find((r) => r.def.id === id);
    if (!region) continue;
    w.objChecks[id] = (world, index) => {
      // Instrumentation: the kref read here is no access of the modelled code.
      if (world.v[region.base + index * region.stride + k] !== 0) return;
      const what = `${region.def.name}[${world.layout.objectName(region, index)}]`;
      if (!world.bugs.some((b) => b.includes(what))) world.bug(`use after free: ${world.site} accesses ${what}, which has been freed (its ${region.def.fields[k]} is 0)`);
    };
  }
}

function krefSlot(w: World, def: StructDef, index: number): number {
  const field = lifetimeField(def);
  if (field === undefined) throw new ModelError(`struct ${def.name} declares no lifetime (declareLifetime)`);
  return w.layout.slot(def, index, field);
}

/** Why kzalloc's scan is not an access of the modelled code (a proof lists it among what it assumed). */
const SLAB_FREE_LIST = 'kzalloc finds a free object by its kref (the slab allocator keeps its free list under its own lock)';

/**
 * kzalloc: a free object of `def` (the lowest index), its kref 1 and the rest 0; -1 when none is
 * free (-ENOMEM). The scan reads every kref: a stand-in for the slab's free list, so neither the
 * footprint audit nor the lock discipline counts it, but the step merging sees it — a step that
 * finds nothing free still read what another actor's kref_put writes, and must not be merged as
 * if it touched only its own frames.
 */
export function kzalloc(w: World, def: StructDef): number {
  const n = w.count(def);
  const free = w.standIn(SLAB_FREE_LIST, () => {
    for (let i = 0; i < n; i++) if (w.get(krefSlot(w, def, i)) === 0) return i;
    return -1;
  });
  if (free < 0) return -1;
  w.own(def, free); // off the free list: the step's own until it publishes it
  w.set(krefSlot(w, def, free), 1); // kref_init
  return free;
}

/** kref_init on object `index` (set-up: an object live from the start). */
export function krefInit(w: World, def: StructDef, index: number): void {
  w.set(krefSlot(w, def, index), 1);
}

/** kref_get: one more reference; on a freed object the access itself is the use after free. */
export function krefGet(w: World, def: StructDef, index: number): void {
  const o = w.obj(def, index) as unknown as Record<string, number>;
  const field = lifetimeField(def)!;
  o[field] = o[field] + 1;
}

/**
 * kref_put: one reference less; the last one runs `release` (the object still readable) and frees
 * the object. Returns whether it was freed.
 */
export function krefPut(w: World, def: StructDef, index: number, release?: (w: World, index: number) => void): boolean {
  const o = w.obj(def, index) as unknown as Record<string, number>;
  const field = lifetimeField(def)!;
  const refs = o[field];
  if (refs > 1) {
    o[field] = refs - 1;
    return false;
  }
  if (refs <= 0) return false; // freed already: the access above raised the BUG
  w.own(def, index); // its last reference: nobody else can reach it now
  release?.(w, index);
  for (const f of def.fields) o[f] = 0; // kfree
  return true;
}

/** An srcu_struct: the index new readers count under, the two reader counts, the grace-period mutex. */
export const SRCU = defineStruct('srcu_struct', ['idx', 'readers0', 'readers1', 'gpMutex'] as const, {
  idx: 'lock:srcu_struct.gpMutex',
  readers0: 'atomic',
  readers1: 'atomic',
  gpMutex: 'lock-word:srcu_struct.gpMutex',
});

const gpMutex = (w: World, ss: number): Mutex => ({ kind: 'mutex', slot: w.layout.slot(SRCU, ss, 'gpMutex'), name: () => `srcu_struct[${ss}].srcu_gp_mutex` });

/** srcu_read_lock: enters a reader's section of srcu_struct `ss`; returns the index to unlock with. */
export function srcuReadLock(w: World, ss: number): number {
  return w.single(() => {
    const s = w.obj(SRCU, ss);
    const idx = w.readOnce(() => s.idx); // READ_ONCE(ssp->srcu_idx)
    if (idx === 0) s.readers0 = s.readers0 + 1;
    else s.readers1 = s.readers1 + 1;
    return idx;
  });
}

/** srcu_read_unlock: leaves the reader's section entered with `idx`. */
export function srcuReadUnlock(w: World, ss: number, idx: number): void {
  const s = w.obj(SRCU, ss);
  if (idx === 0) s.readers0 = s.readers0 - 1;
  else s.readers1 = s.readers1 - 1;
}

/** The library of the grace-period routine: a driver that calls synchronizeSrcu lists it in its library's `uses`. */
export const SRCU_LIB = new Library('kernel-srcu', [KERNEL], { kind: 'kernel' });

/** synchronize_srcu(ssp): returns once every reader of `ss` that entered before it has left. */
export const synchronizeSrcu = SRCU_LIB.routine({
  name: 'synchronize_srcu',
  params: ['ss'],
  locals: ['old'],
  steps: {
    lock: { at: 'kernel/rcu/srcutree.c:srcu_gp_start mutex_lock(&ssp->srcu_gp_mutex)', run: (w, l) => mutexLock(w, gpMutex(w, l.ss)) || 'flip' },
    flip: {
      at: 'kernel/rcu/srcutree.c:srcu_flip WRITE_ONCE(ssp->srcu_idx, ssp->srcu_idx + 1)',
      run: (w, l) => {
        const s = w.obj(SRCU, l.ss);
        l.old = s.idx;
        s.idx = 1 - l.old;
        return 'wait';
      },
    },
    wait: {
      at: 'kernel/rcu/srcutree.c:srcu_readers_active_idx_check',
      run: (w, l) => {
        const s = w.obj(SRCU, l.ss);
        return (l.old === 0 ? s.readers0 : s.readers1) !== 0 ? BLOCK_SLEEP : 'unlock';
      },
    },
    unlock: {
      at: 'kernel/rcu/srcutree.c:srcu_gp_end mutex_unlock(&ssp->srcu_gp_mutex)',
      run: (w, l) => {
        mutexUnlock(w, gpMutex(w, l.ss));
        l.old = 0; // equal grace periods leave equal states
        return w.ret(0);
      },
    },
  },
});
