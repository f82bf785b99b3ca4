/**
 * KVM's gfn→pfn cache (virt/kvm/pfncache.c, v6.x): a cached translation gfn → hva → pfn that KVM
 * itself uses (Xen's shared_info and vcpu_info, kvmclock): a secondary layer of the VMM's page
 * tables that is *checked when it is used*, not kept equal to its parent. The MMU notifier clears
 * its `valid` bit (gfn_to_pfn_cache_invalidate_start, from kvm_mmu_notifier_invalidate_range_start,
 * before mmu_lock is taken); a user takes gpc->lock for read, kvm_gpc_check()s it and, if valid,
 * uses the pfn under that lock; a refresh (kvm_gpc_refresh → hva_to_pfn_retry) looks the hva up
 * with gpc->lock dropped and retries while an invalidation is active (mn_active_invalidate_count,
 * raised before the cache is invalidated and dropped after the sequence is bumped) or ended since
 * its snapshot. Today's cache holds no page reference (it relies on the invalidation alone).
 *
 * The properties cover the cache while it is in use (a user between a successful check and its
 * read_unlock: the ghost `users`): the pfn it uses must be the page the process maps at the cached
 * hva now (refinement), and not a freed or reused frame (no-dangling-pfn). A stale but unused
 * cache is no violation: a check will refuse it.
 *
 * The model: one cache per KVM, activated when the VM is created (kvm_gpc_init +
 * kvm_gpc_activate's list_add; its first refresh is a scenario operation), for one page (len ≤
 * PAGE_SIZE); `active` is always true, so kvm_gpc_check is the memslots' generation, gpa, uhva
 * and valid (the generation moves only where memslots change at run time: memslot.ts). KVM_HOST_USES_PFN's kmap is the pfn
 * itself (khva = the page). The cache's state exists only in scenarios that use a cache, and
 * mn_active_invalidate_count only in those and the ones that update memslots (memslot.ts; both
 * from src/scenario/build.ts): elsewhere nothing reads the count, and the steps that would touch
 * them do nothing (and are merged away), so other scenarios cost nothing.
 */
import type { World } from '../world/world.js';
import { defineStruct } from '../world/layout.js';
import { EFAULT } from '../kernel/flags.js';
import { assertHeld, assertWriteHeld, mutexLock, mutexUnlock, readLock, readUnlock, writeLock, writeUnlock, type Mutex, type RwLock } from '../kernel/locks.js';
import { pageGen, putPage } from '../kernel/page.js';
import { PAGE, PAGE_GEN } from '../kernel/structs.js';
import { deref, ref } from '../kernel/ref.js';
import { KVM, KVM_SEQ } from './structs.js';
import { gfnToHva } from './topology.js';
import { hvaToPfn, unpackPfn } from './hva-to-pfn.js';
import { readInvalidateSeq } from './seq.js';
import { KVM_LIB } from './library.js';

/** KVM_HVA_ERR_BAD, and INVALID_GPA (as a gfn): the cache has no translation yet. */
export const GPC_NONE = -1;

/**
 * struct gfn_to_pfn_cache. `gfn` is gpc->gpa >> PAGE_SHIFT; `pfn` 0 is KVM_PFN_ERR_FAULT; `gen`
 * (ghost) the page's generation when it was cached; `users` (ghost) the tasks between a successful
 * kvm_gpc_check and their read_unlock.
 */
export const GPC = defineStruct(
  'gpc',
  ['kvm', 'gfn', 'uhva', 'pfn', 'valid', 'gen', 'lockWriter', 'lockReaders', 'refreshLock', 'users', 'generation', 'stale'] as const,
  {
    kvm: 'stable',
    gfn: 'lock:gpc.lock',
    uhva: 'lock:gpc.lock',
    pfn: 'lock:gpc.lock',
    valid: 'lock:gpc.lock',
    gen: 'ghost',
    lockWriter: 'lock-word:gpc.lock',
    lockReaders: 'lock-readers:gpc.lock',
    refreshLock: 'lock-word:gpc.refresh_lock',
    users: 'ghost',
    generation: 'lock:gpc.lock', // gpc->generation: the memslots' generation its uhva was computed in
    stale: 'ghost', // a kvm_gpc_check passed on a uhva the memslots no longer give for its gfn (until that user's unlock)
  },
  { counters: { gen: PAGE_GEN } },
);

/**
 * The part of struct kvm that only the caches and memslot updates read: mn_active_invalidate_count.
 * The C updates it under kvm->mn_invalidate_lock, and every critical section of that spinlock (the
 * ++ in range_start, the -- in range_end, the wait-and-swap of kvm_swap_active_memslots) is one
 * step of the model: the lock is never seen held, so the count is one atomic word.
 */
export const KVM_MN = defineStruct('kvmMn', ['activeInvalidateCount', 'generation'] as const, {
  activeInvalidateCount: 'atomic',
  // kvm_memslots(kvm)->generation: changes with the memslot set, in the step that publishes it
  // (memslot.ts), so `stable` as the memslots are; kept where a cache checks it (a scenario with caches).
  generation: 'stable',
});

/** gpc->lock: an rwlock_t (write_lock_irq by refresh and invalidation, read_lock by users). */
export function gpcLock(w: World, gpc: number): RwLock {
  return { kind: 'rwlock', writer: w.layout.slot(GPC, gpc, 'lockWriter'), readers: w.layout.slot(GPC, gpc, 'lockReaders'), name: () => `gpc[${gpc}].lock` };
}

/** gpc->refresh_lock: serialises refreshes. */
export function gpcRefreshLock(w: World, gpc: number): Mutex {
  return { kind: 'mutex', slot: w.layout.slot(GPC, gpc, 'refreshLock'), name: () => `gpc[${gpc}].refresh_lock` };
}

/** The scenario has caches (one per KVM, the cache of KVM `k` is `k`). */
export function hasGpc(w: World): boolean {
  return w.layout.has(GPC);
}

/** virt/kvm/pfncache.c:kvm_gpc_init + kvm_gpc_activate's list_add, at VM creation: the cache of KVM `k` translates nothing yet. */
export function setupGpc(w: World, k: number): void {
  const gpc = w.obj(GPC, k);
  gpc.kvm = ref(k);
  gpc.gfn = GPC_NONE;
  gpc.uhva = GPC_NONE;
}

/**
 * Calls `f` for each cache some task is using (between a successful kvm_gpc_check and its
 * read_unlock) with a pfn: its name, the pfn, the page generation it cached, and the mm and hva
 * it translates (the parent layer).
 */
export function forEachGpcInUse(w: World, f: (what: string, pfn: number, gen: number, mm: number, hva: number) => string | undefined): string | undefined {
  if (!hasGpc(w)) return undefined;
  for (let g = 0; g < w.count(GPC); g++) {
    const gpc = w.obj(GPC, g);
    if (gpc.users === 0 || gpc.pfn === 0) continue;
    const k = deref(gpc.kvm, 'gpc.kvm');
    const msg = f(`gfn→pfn cache ${w.layout.objectName(w.layout.region(KVM), k)}:gfn${gpc.gfn} (in use)`, gpc.pfn, gpc.gen, deref(w.obj(KVM, k).mm, 'kvm.mm'), gpc.uhva);
    if (msg) return msg;
  }
  return undefined;
}

/**
 * `spin_lock(&kvm->mn_invalidate_lock); kvm->mn_active_invalidate_count += delta; spin_unlock`
 * (kvm_mmu_notifier_invalidate_range_start: ++; _end: --, WARN_ON_ONCE at 0). Callers check that
 * the scenario has the count (`w.layout.has(KVM_MN)`) first.
 */
export function mnActiveAdd(w: World, k: number, delta: 1 | -1): void {
  const mn = w.obj(KVM_MN, k);
  if (delta < 0 && mn.activeInvalidateCount === 0) w.bug(`kvm ${k}: mn_active_invalidate_count would go negative (WARN_ON_ONCE)`);
  else mn.activeInvalidateCount = mn.activeInvalidateCount + delta;
}

/**
 * virt/kvm/pfncache.c:gfn_to_pfn_cache_invalidate_start for KVM `k` and hvas [start, end): clear
 * `valid` of the cache if its uhva is in the range, under gpc->lock for write (it spins while a
 * user reads or a refresh writes). 0, or the block code (nothing written). No caches: nothing.
 */
export function gpcInvalidateStart(w: World, k: number, start: number, end: number): number {
  if (!hasGpc(w)) return 0;
  const lock = gpcLock(w, k);
  const b = writeLock(w, lock);
  if (b) return b;
  const gpc = w.obj(GPC, k);
  if (gpc.valid && gpc.pfn !== 0 && gpc.uhva >= start && gpc.uhva < end) gpc.valid = 0;
  writeUnlock(w, lock);
  return 0;
}

/** kvm_memslots(kvm)->generation of KVM `k` (0 where no memslot changes under a cache). */
export function memslotsGeneration(w: World, k: number): number {
  return w.obj(KVM_MN, k).generation;
}

/**
 * virt/kvm/pfncache.c:kvm_gpc_check (gpc->lock held): the cache translates `gfn`, in the current
 * memslots' generation ("make sure the memslots have not been re-configured"), and is valid.
 */
export function gpcCheck(w: World, g: number, gfn: number): boolean {
  assertHeld(w, gpcLock(w, g), 'kvm_gpc_check');
  const gpc = w.obj(GPC, g);
  if (gpc.gfn !== GPC_NONE && gpc.generation !== memslotsGeneration(w, deref(gpc.kvm, 'gpc.kvm'))) return false;
  return gpc.gfn === gfn && gpc.uhva !== GPC_NONE && gpc.valid !== 0;
}

/**
 * Ghost, at a check that passed (gpc_use): whether the cache's uhva is no longer what the
 * memslots give for its gfn — a user would then access the page of an hva the guest frame no
 * longer maps to (a memslot moved or deleted since the cache was filled). Model instrumentation.
 */
export function markStaleTranslation(w: World, g: number): void {
  const gpc = w.obj(GPC, g);
  w.instrument(() => {
    if (gfnToHva(w, deref(gpc.kvm, 'gpc.kvm'), gpc.gfn) !== gpc.uhva) gpc.stale = 1;
  });
}

/** A cache in use whose check passed on a stale translation (markStaleTranslation): the message, or undefined. */
export function gpcStaleInUse(w: World): string | undefined {
  if (!hasGpc(w)) return undefined;
  for (let g = 0; g < w.count(GPC); g++) {
    const gpc = w.obj(GPC, g);
    if (!gpc.stale) continue;
    const k = deref(gpc.kvm, 'gpc.kvm');
    return `gfn→pfn cache ${w.layout.objectName(w.layout.region(KVM), k)}:gfn${gpc.gfn} is in use with uhva ${gpc.uhva}, but the memslots now map gfn${gpc.gfn} to ${gfnToHva(w, k, gpc.gfn) < 0 ? 'no hva' : `hva ${gfnToHva(w, k, gpc.gfn)}`}`;
  }
  return undefined;
}

/**
 * virt/kvm/pfncache.c:hva_to_pfn_retry (v6.x): called and returning with gpc->lock held for write
 * and gpc->refresh_lock held; 0 or -EFAULT.
 */
export const hvaToPfnRetry = KVM_LIB.routine({
  name: 'hva_to_pfn_retry',
  params: ['gpc'],
  locals: ['uhva', 'mmuSeq', 'mmuSeqHi', 'newPfn', 'refcounted'],
  counters: { mmuSeq: KVM_SEQ },
  steps: {
    begin: {
      at: 'virt/kvm/pfncache.c:hva_to_pfn_retry gpc->valid = false; do { mmu_seq = kvm->mmu_invalidate_seq; smp_rmb(); write_unlock_irq(&gpc->lock)',
      lockless: ['kvm.invalidateSeq', 'kvm.invalidateSeqHi'],
      run: (w, l) => {
        const lock = gpcLock(w, l.gpc);
        assertWriteHeld(w, lock, 'hva_to_pfn_retry');
        const gpc = w.obj(GPC, l.gpc);
        // Invalidate before dropping gpc->lock: a concurrent check must not see the old pfn as valid.
        gpc.valid = 0;
        l.uhva = gpc.uhva;
        return snapshotAndUnlock(w, l);
      },
    },
    lookup: {
      at: 'virt/kvm/pfncache.c:hva_to_pfn_retry kvm_release_pfn_clean(new_pfn) of the failed iteration; new_pfn = hva_to_pfn(gpc->uhva, ..., writable)',
      run: (w, l) => {
        if (l.newPfn !== 0 && l.refcounted) putPage(w, l.newPfn);
        l.newPfn = 0;
        l.refcounted = 0;
        const kvm = w.obj(KVM, deref(w.obj(GPC, l.gpc).kvm, 'gpc.kvm'));
        return w.call(hvaToPfn, 'looked', deref(kvm.mm, 'kvm.mm'), l.uhva, 1);
      },
    },
    looked: {
      at: 'virt/kvm/pfncache.c:hva_to_pfn_retry if (is_error_noslot_pfn(new_pfn)) goto out_error; write_lock_irq(&gpc->lock)',
      run: (w, l) => {
        const b = writeLock(w, gpcLock(w, l.gpc)); // also out_error's write_lock_irq
        if (b) return b;
        if (l.result < 0) {
          l.result = 0;
          return w.ret(-EFAULT);
        }
        const r = unpackPfn(l.result);
        l.result = 0;
        l.newPfn = r.pfn;
        l.refcounted = r.refcounted ? 1 : 0;
        return 'recheck';
      },
    },
    recheck: {
      at: 'virt/kvm/pfncache.c:mmu_notifier_retry_cache if (kvm->mn_active_invalidate_count) return true',
      // Read without its lock by design: raised before the notifier takes gpc->lock, dropped only after the sequence is bumped.
      lockless: ['kvmMn.activeInvalidateCount'],
      run: (w, l) => (w.obj(KVM_MN, deref(w.obj(GPC, l.gpc).kvm, 'gpc.kvm')).activeInvalidateCount !== 0 ? 'retry' : 'seq'),
    },
    seq: {
      at: 'virt/kvm/pfncache.c:mmu_notifier_retry_cache smp_rmb(); return kvm->mmu_invalidate_seq != mmu_seq',
      lockless: ['kvm.invalidateSeq', 'kvm.invalidateSeqHi'],
      run: (w, l) => {
        const seq = readInvalidateSeq(w, deref(w.obj(GPC, l.gpc).kvm, 'gpc.kvm'));
        if (seq.lo !== l.mmuSeq || seq.hi !== l.mmuSeqHi) return 'retry';
        const gpc = w.obj(GPC, l.gpc);
        gpc.valid = 1;
        gpc.pfn = l.newPfn;
        gpc.gen = pageGen(w, l.newPfn);
        return 'put';
      },
    },
    put: {
      at: 'virt/kvm/pfncache.c:hva_to_pfn_retry kvm_release_pfn_clean(new_pfn): "The pfn is now tracked by the cache" (no pin)',
      run: (w, l) => {
        if (l.refcounted) putPage(w, l.newPfn);
        return w.ret(0);
      },
    },
    retry: {
      at: 'virt/kvm/pfncache.c:hva_to_pfn_retry do { mmu_seq = kvm->mmu_invalidate_seq; smp_rmb(); write_unlock_irq(&gpc->lock) (the next iteration)',
      lockless: ['kvm.invalidateSeq', 'kvm.invalidateSeqHi'],
      run: (w, l) => snapshotAndUnlock(w, l),
    },
  },
});

/** The top of hva_to_pfn_retry's loop: snapshot the sequence, drop gpc->lock, go look the hva up. */
function snapshotAndUnlock(w: World, l: { gpc: number; mmuSeq: number; mmuSeqHi: number }): string {
  const seq = readInvalidateSeq(w, deref(w.obj(GPC, l.gpc).kvm, 'gpc.kvm'));
  l.mmuSeq = seq.lo;
  l.mmuSeqHi = seq.hi;
  writeUnlock(w, gpcLock(w, l.gpc));
  return 'lookup';
}

/** virt/kvm/pfncache.c:kvm_gpc_refresh (v6.x): make the cache translate `gfn`; 0 or -EFAULT. */
export const kvmGpcRefresh = KVM_LIB.routine({
  name: 'kvm_gpc_refresh',
  params: ['gpc', 'gfn'],
  steps: {
    serialise: {
      at: 'virt/kvm/pfncache.c:kvm_gpc_refresh mutex_lock(&gpc->refresh_lock)',
      run: (w, l) => mutexLock(w, gpcRefreshLock(w, l.gpc)) || 'lock',
    },
    lock: {
      at: 'virt/kvm/pfncache.c:kvm_gpc_refresh write_lock_irq(&gpc->lock); refresh gpa → uhva; if (!gpc->valid || old_uhva != gpc->uhva) hva_to_pfn_retry',
      run: (w, l) => {
        const b = writeLock(w, gpcLock(w, l.gpc));
        if (b) return b;
        const gpc = w.obj(GPC, l.gpc);
        const oldUhva = gpc.uhva;
        const generation = memslotsGeneration(w, deref(gpc.kvm, 'gpc.kvm'));
        if (gpc.gfn !== l.gfn || gpc.generation !== generation || gpc.uhva === GPC_NONE) {
          gpc.gfn = l.gfn;
          gpc.generation = generation;
          gpc.uhva = gfnToHva(w, deref(gpc.kvm, 'gpc.kvm'), l.gfn);
          if (gpc.uhva < 0) {
            gpc.uhva = GPC_NONE;
            l.result = -EFAULT;
            return 'out';
          }
        }
        if (!gpc.valid || oldUhva !== gpc.uhva) return w.call(hvaToPfnRetry, 'out', l.gpc);
        return 'out';
      },
    },
    out: {
      at: 'virt/kvm/pfncache.c:kvm_gpc_refresh out: if (ret) purge; write_unlock_irq(&gpc->lock)',
      run: (w, l) => {
        if (l.result) {
          const gpc = w.obj(GPC, l.gpc);
          gpc.valid = 0;
          gpc.pfn = 0;
          gpc.gen = 0;
        }
        writeUnlock(w, gpcLock(w, l.gpc));
        return 'unlock';
      },
    },
    unlock: {
      at: 'virt/kvm/pfncache.c:kvm_gpc_refresh mutex_unlock(&gpc->refresh_lock)',
      run: (w, l) => {
        mutexUnlock(w, gpcRefreshLock(w, l.gpc));
        const r = l.result;
        l.result = 0;
        return w.ret(r);
      },
    },
  },
});

/**
 * A kernel user of the cache (arch/x86/kvm/xen.c, e.g. kvm_xen_update_runstate_guest; x86.c's
 * kvm_setup_guest_pvclock): `read_lock(&gpc->lock); while (!kvm_gpc_check(gpc, len)) {
 * read_unlock; if (kvm_gpc_refresh(gpc, len)) return; read_lock; }`, then a load or store
 * through gpc->khva, then read_unlock. Returns the value read (or written), or -EFAULT.
 */
export const gpcUse = KVM_LIB.routine({
  name: 'gpc_use',
  params: ['kvm', 'gfn', 'write', 'value'],
  locals: ['loaded'],
  steps: {
    check: {
      at: 'arch/x86/kvm/xen.c:kvm_xen_update_runstate_guest read_lock_irqsave(&gpc->lock); kvm_gpc_check(gpc, len)',
      run: (w, l) => {
        const lock = gpcLock(w, l.kvm);
        const b = readLock(w, lock);
        if (b) return b;
        if (gpcCheck(w, l.kvm, l.gfn)) {
          const gpc = w.obj(GPC, l.kvm);
          gpc.users = gpc.users + 1;
          markStaleTranslation(w, l.kvm);
          return 'access';
        }
        readUnlock(w, lock);
        return w.call(kvmGpcRefresh, 'refreshed', l.kvm, l.gfn);
      },
    },
    refreshed: {
      at: 'arch/x86/kvm/xen.c:kvm_xen_update_runstate_guest if (kvm_gpc_refresh(gpc, len)) return',
      run: (w, l) => {
        if (l.result < 0) return w.ret(l.result);
        l.result = 0;
        return 'check';
      },
    },
    access: {
      at: 'arch/x86/kvm/xen.c:kvm_xen_update_runstate_guest a load or store through gpc->khva',
      lockless: ['page.contents'],
      run: (w, l) => {
        const gpc = w.obj(GPC, l.kvm);
        // khva is NULL when pfn is KVM_PFN_ERR_FAULT: the dereference oopses.
        if (gpc.pfn === 0) w.bug(`gpc ${l.kvm}: kvm_gpc_check passed with pfn KVM_PFN_ERR_FAULT: NULL khva dereferenced`);
        else {
          const page = w.obj(PAGE, gpc.pfn);
          if (l.write) page.contents = l.value;
          l.loaded = page.contents;
        }
        return 'unlock';
      },
    },
    unlock: {
      at: 'arch/x86/kvm/xen.c:kvm_xen_update_runstate_guest read_unlock_irqrestore(&gpc->lock)',
      run: (w, l) => {
        const gpc = w.obj(GPC, l.kvm);
        gpc.users = gpc.users - 1;
        gpc.stale = 0;
        readUnlock(w, gpcLock(w, l.kvm));
        return w.ret(l.loaded);
      },
    },
  },
});
