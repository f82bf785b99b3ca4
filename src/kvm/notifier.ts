/**
 * KVM's mmu_notifier callbacks (virt/kvm/kvm_main.c, v6.x semantics, reference §3.1). KVM reacts
 * only to invalidations of hvas that back a memslot; start bumps in_progress, accumulates the gfn
 * range and zaps the sptes before returning (so the page may be freed after start returns); end
 * bumps the sequence *before* dropping in_progress, which the fault path's retry check pairs with.
 *
 * Both go through kvm_handle_hva_range: walk the memslots overlapping the hva range and, at the
 * first one found, take mmu_lock for write (KVM_MMU_LOCK: x86 has KVM_HAVE_MMU_RWLOCK), run the
 * `on_lock` hook (kvm_mmu_invalidate_begin / kvm_mmu_invalidate_end) and the handler for each
 * memslot (kvm_mmu_unmap_gfn_range / none), flush remote TLBs, then KVM_MMU_UNLOCK. Steps: the
 * acquire (it spins, and is legal in a non-blockable callback), the critical section (one step:
 * everything it touches is protected by the write lock), the release.
 *
 * Before its memslot walk, start raises mn_active_invalidate_count and invalidates the gfn→pfn
 * caches (gpc.ts); end drops the count after its walk. Both exist only in scenarios with a cache
 * or a memslot update (memslot.ts): elsewhere nothing reads them, and the callbacks take exactly
 * the steps they took before either was modelled. Not modelled:
 * kvm_arch_guest_memory_reclaimed (a no-op on x86 without SEV), the may_block yielding of the TDP
 * MMU zap (cond_resched_rwlock_write: the zap of one or two gfns never yields).
 */
import type { World } from '../world/world.js';
import { assertWriteHeld, writeLock, writeUnlock } from '../kernel/locks.js';
import { MN } from '../kernel/structs.js';
import { deref } from '../kernel/ref.js';
import { KVM } from './structs.js';
import { bumpInvalidateSeq } from './seq.js';
import { hvaRangeToGfns, kvmMmuLock, spte } from './topology.js';
import { KVM_LIB } from './library.js';
import { hasGuestTlb, kvmFlushRemoteTlbs, owePermissionFlush } from './tlb.js';
import { dirtyAccessed } from '../kernel/dirty.js';
import { gpcInvalidateStart, hasGpc, KVM_MN, mnActiveAdd } from './gpc.js';

/** mmu_notifier_to_kvm: the KVM a callback was registered for. */
export function kvmOf(w: World, mn: number): number {
  return deref(w.obj(MN, mn).priv, 'mmu_notifier.priv');
}

/** kvm_mmu_unmap_gfn_range: drop sptes of [lo, hi). Returns whether one was present (the TLBs need a flush). */
export function zapGfns(w: World, kvm: number, lo: number, hi: number): boolean {
  let flush = false;
  for (let g = lo; g < hi; g++) {
    const e = spte(w, kvm, g);
    if (e.pfn !== 0) flush = true;
    e.pfn = 0;
    e.write = 0;
    e.gen = 0;
    if (dirtyAccessed(w)) {
      e.accessed = 0;
      e.dirty = 0;
    }
  }
  return flush;
}

/**
 * After a zap under mmu_lock for write: with guest TLBs (`kvm-tlb`), kvm_flush_remote_tlbs if an
 * spte was zapped, then `next` (the unlock); without them, the zap stands for its flush (no TLB
 * caches an spte) and the step goes on to `next` as before.
 */
export function flushAfterZap(w: World, kvm: number, flush: boolean, next: string): string | number {
  if (!(flush && hasGuestTlb(w))) return next;
  owePermissionFlush(w, kvm);
  return w.call(kvmFlushRemoteTlbs, next, kvm);
}

/**
 * The lock step of kvm_handle_hva_range: the gfn range [lo, hi) the memslot walk finds for hvas
 * [start, end), and mmu_lock taken for write if it found any. Returns `'none'` (no memslot: the
 * lock is not even taken), a block code (contended: nothing written), or 0 (taken); the step
 * stores lo and hi only once the lock is held.
 */
export function handleHvaRangeLock(w: World, mn: number, start: number, end: number): { readonly lo: number; readonly hi: number; readonly b: number | 'none' } {
  const k = kvmOf(w, mn);
  const [lo, hi] = hvaRangeToGfns(w, k, start, end);
  if (lo === hi) return { lo, hi, b: 'none' };
  return { lo, hi, b: writeLock(w, kvmMmuLock(w, k)) };
}

export const LOCK_AT = 'virt/kvm/kvm_main.c:kvm_handle_hva_range KVM_MMU_LOCK(kvm) = write_lock(&kvm->mmu_lock), at the first memslot found';
export const UNLOCK_AT = 'virt/kvm/kvm_main.c:kvm_handle_hva_range KVM_MMU_UNLOCK(kvm) = write_unlock(&kvm->mmu_lock)';

export const kvmMmuNotifierInvalidateRangeStart = KVM_LIB.routine({
  name: 'kvm_mmu_notifier_invalidate_range_start',
  params: ['mn', 'mm', 'start', 'end', 'event', 'blockable'],
  locals: ['lo', 'hi', 'stage'],
  steps: {
    lock: {
      at: LOCK_AT,
      run: (w, l) => {
        // Where the scenario has mn_active_invalidate_count (a cache or a memslot update reads it),
        // its ++ and the caches' invalidation come first; elsewhere nothing reads them, and the
        // callback starts here as before (no step of its own for what nothing can observe).
        if (l.stage === 0 && w.layout.has(KVM_MN)) return 'active';
        const r = handleHvaRangeLock(w, l.mn, l.start, l.end);
        if (r.b === 'none') return w.ret(0);
        if (r.b) return r.b;
        l.lo = r.lo;
        l.hi = r.hi;
        return 'zap';
      },
    },
    active: {
      at: 'virt/kvm/kvm_main.c:kvm_mmu_notifier_invalidate_range_start spin_lock(&kvm->mn_invalidate_lock); kvm->mn_active_invalidate_count++; spin_unlock',
      run: (w, l) => {
        mnActiveAdd(w, kvmOf(w, l.mn), 1);
        return 'gpc';
      },
    },
    gpc: {
      at: 'virt/kvm/pfncache.c:gfn_to_pfn_cache_invalidate_start (before mmu_lock: the caches use mn_active_invalidate_count, not mmu_invalidate_in_progress)',
      run: (w, l) => {
        const b = hasGpc(w) ? gpcInvalidateStart(w, kvmOf(w, l.mn), l.start, l.end) : 0;
        if (b) return b;
        l.stage = 1;
        return 'lock';
      },
    },
    zap: {
      at: 'virt/kvm/kvm_main.c:kvm_mmu_invalidate_begin (on_lock), then kvm_mmu_unmap_gfn_range (kvm_mmu_invalidate_range_add, kvm_unmap_gfn_range) and kvm_flush_remote_tlbs',
      run: (w, l) => {
        const k = kvmOf(w, l.mn);
        assertWriteHeld(w, kvmMmuLock(w, k), 'kvm_mmu_invalidate_begin');
        const kvm = w.obj(KVM, k);
        kvm.invalidateInProgress = kvm.invalidateInProgress + 1;
        if (kvm.invalidateInProgress === 1) {
          // kvm_mmu_invalidate_begin resets the range to INVALID_GPA; the first range_add sets it.
          kvm.rangeStart = l.lo;
          kvm.rangeEnd = l.hi;
        } else {
          // kvm_mmu_invalidate_range_add: concurrent invalidations accumulate the smallest covering range.
          kvm.rangeStart = Math.min(kvm.rangeStart, l.lo);
          kvm.rangeEnd = Math.max(kvm.rangeEnd, l.hi);
        }
        return flushAfterZap(w, k, zapGfns(w, k, l.lo, l.hi), 'unlock');
      },
    },
    unlock: {
      at: UNLOCK_AT,
      run: (w, l) => {
        writeUnlock(w, kvmMmuLock(w, kvmOf(w, l.mn)));
        return w.ret(0);
      },
    },
  },
});

export const kvmMmuNotifierInvalidateRangeEnd = KVM_LIB.routine({
  name: 'kvm_mmu_notifier_invalidate_range_end',
  params: ['mn', 'mm', 'start', 'end', 'event', 'blockable'],
  steps: {
    lock: {
      at: LOCK_AT,
      run: (w, l) => {
        const r = handleHvaRangeLock(w, l.mn, l.start, l.end);
        if (r.b === 'none') return w.layout.has(KVM_MN) ? 'active' : w.ret(0);
        return r.b || 'end';
      },
    },
    end: {
      at: 'virt/kvm/kvm_main.c:kvm_mmu_invalidate_end (on_lock; the handler is kvm_null_fn)',
      run: (w, l) => {
        const k = kvmOf(w, l.mn);
        assertWriteHeld(w, kvmMmuLock(w, k), 'kvm_mmu_invalidate_end');
        const kvm = w.obj(KVM, k);
        bumpInvalidateSeq(w, k); // then smp_wmb()
        kvm.invalidateInProgress = kvm.invalidateInProgress - 1;
        if (kvm.invalidateInProgress < 0) w.bug(`kvm ${k}: mmu_invalidate_in_progress went negative (KVM_BUG_ON)`);
        return 'unlock';
      },
    },
    unlock: {
      at: UNLOCK_AT,
      run: (w, l) => {
        writeUnlock(w, kvmMmuLock(w, kvmOf(w, l.mn)));
        // The count's -- only where the scenario has it (see range_start).
        return w.layout.has(KVM_MN) ? 'active' : w.ret(0);
      },
    },
    active: {
      at: 'virt/kvm/kvm_main.c:kvm_mmu_notifier_invalidate_range_end spin_lock(&kvm->mn_invalidate_lock); --kvm->mn_active_invalidate_count; spin_unlock (then rcuwait_wake_up)',
      run: (w, l) => {
        mnActiveAdd(w, kvmOf(w, l.mn), -1);
        return w.ret(0);
      },
    },
  },
});

export const kvmMmuNotifierRelease = KVM_LIB.routine({
  name: 'kvm_mmu_notifier_release',
  params: ['mn', 'mm'],
  steps: {
    lock: {
      at: 'arch/x86/kvm/mmu/mmu.c:kvm_mmu_zap_all write_lock(&kvm->mmu_lock) (kvm_mmu_notifier_release → kvm_flush_shadow_all → kvm_arch_flush_shadow_all)',
      run: (w, l) => writeLock(w, kvmMmuLock(w, kvmOf(w, l.mn))) || 'flush',
    },
    flush: {
      at: 'arch/x86/kvm/mmu/mmu.c:kvm_mmu_zap_all (kvm_tdp_mmu_zap_all)',
      run: (w, l) => {
        const k = kvmOf(w, l.mn);
        return flushAfterZap(w, k, zapGfns(w, k, 0, w.layout.dims.kvmGfns), 'unlock');
      },
    },
    unlock: {
      at: 'arch/x86/kvm/mmu/mmu.c:kvm_mmu_zap_all write_unlock(&kvm->mmu_lock)',
      run: (w, l) => {
        writeUnlock(w, kvmMmuLock(w, kvmOf(w, l.mn)));
        return w.ret(0);
      },
    },
  },
});
