/**
 * The vCPU's EPT fault path, x86 with the TDP MMU (v6.x, reference §3.2):
 * arch/x86/kvm/mmu/mmu.c:kvm_tdp_page_fault → kvm_tdp_mmu_page_fault. Snapshot
 * mmu_invalidate_seq, translate gfn → hva → pfn (may sleep, may fault the host page in), then
 * read_lock(&kvm->mmu_lock); is_page_fault_stale (an invalidation in progress over this gfn, or one
 * completed since the snapshot: retry); kvm_tdp_mmu_map installs the spte; read_unlock; finally
 * release the GUP reference (kvm_mmu_finish_page_fault).
 *
 * Steps: the acquire (it spins while an invalidation holds the lock for write), the staleness
 * check, the install, the release: the check and the install are separate steps as in the C, so
 * only the lock keeps an invalidation from running between them (without it, a fault that found
 * nothing stale would install a pfn the invalidation has just zapped and is about to free). The
 * check is a routine of its own, `is_page_fault_stale`, as in the C, so that a kernel era can
 * replace it alone (B-21: v6.1 passed the snapshot to it as an `int`); the step it returns to
 * installs the spte, or on a stale answer takes the out_unlock path (read_unlock) at once, so a
 * fault takes as many steps as when the check was a step of the fault itself.
 *
 * Several vCPUs of a VM fault at once, each holding the lock for read. With the `kvm-tdp-mmu`
 * layer (and `kvm-tlb`), the walk that reads the spte (iter.old_spte) and the install
 * (tdp_mmu_set_spte_atomic: try_cmpxchg64 of that value) are steps of their own, so another
 * vCPU's install can come between them: the cmpxchg then fails and the fault returns RET_PF_RETRY;
 * a walk that finds the access already allowed returns RET_PF_SPURIOUS. Without it the install
 * stores without comparing, in the step after the check: exact while only faults write sptes under
 * the read lock (two faults of one read hold found the same pfn: an invalidation between their
 * lookups would have made one stale), and the catalogue's pinned counts are those.
 *
 * Simplifications: fast_page_fault (fixing a present spte without the lock) and the lockless
 * mmu_invalidate_retry_gfn_unsafe pre-checks of kvm_faultin_pfn (they only retry earlier, the
 * check under the lock decides) are not modelled; a read fault maps the page read-only (KVM maps
 * it writable when the host pte is: hva_to_pfn's opportunistic write), so two vCPUs can install
 * different write bits for one pfn; 4 KiB sptes only, so no page table is ever replaced
 * (FROZEN_SPTE) and the walk is one read.
 */
import type { World } from '../world/world.js';
import { EFAULT } from '../kernel/flags.js';
import { assertHeld, readLock, readUnlock } from '../kernel/locks.js';
import { pageGen, putPage } from '../kernel/page.js';
import { KVM, KVM_SEQ } from './structs.js';
import { readInvalidateSeq } from './seq.js';
import { deref, isNone } from '../kernel/ref.js';
import { gfnInInvalidMemslot, gfnToHva, kvmMmuLock, spte } from './topology.js';
import { hvaToPfn, unpackPfn } from './hva-to-pfn.js';
import { KVM_LIB } from './library.js';
import { hasLayer } from '../world/layers.js';
import { hasGuestTlb } from './tlb.js';
import { markPageDirtyInSlot } from './dirty-log.js';
import { dirtyAccessed, folioMarkDirty } from '../kernel/dirty.js';

/**
 * arch/x86/kvm/mmu/mmu.c:is_page_fault_stale → include/linux/kvm_host.h:mmu_invalidate_retry_gfn:
 * retry if an invalidation in progress covers the gfn, or one ended since the snapshot
 * (`kvm->mmu_invalidate_seq != mmu_seq`, both `unsigned long`: two words each, seq.ts). Returns 1
 * (stale: RET_PF_RETRY) or 0. The obsolete-root check is not modelled (roots are never zapped here).
 */
/** The first half of mmu_invalidate_retry_gfn (under mmu_lock): an invalidation in progress covers `gfn`. */
export function invalidationCovers(w: World, k: number, gfn: number): boolean {
  const kvm = w.obj(KVM, k);
  return kvm.invalidateInProgress > 0 && kvm.rangeStart <= gfn && gfn < kvm.rangeEnd;
}

export const isPageFaultStale = KVM_LIB.routine({
  name: 'is_page_fault_stale',
  params: ['kvm', 'gfn', 'mmuSeq', 'mmuSeqHi'],
  counters: { mmuSeq: KVM_SEQ },
  steps: {
    check: {
      at: 'arch/x86/kvm/mmu/mmu.c:is_page_fault_stale (mmu_invalidate_retry_gfn)',
      run: (w, l) => {
        assertHeld(w, kvmMmuLock(w, l.kvm), 'mmu_invalidate_retry_gfn');
        const kvm = w.obj(KVM, l.kvm);
        return w.ret(invalidationCovers(w, l.kvm, l.gfn) || kvm.invalidateSeq !== l.mmuSeq || kvm.invalidateSeqHi !== l.mmuSeqHi ? 1 : 0);
      },
    },
  },
});

/**
 * RET_PF_RETRY, returned to the caller (guest_access) where memslots change at run time: the vCPU
 * re-enters the guest, leaving kvm->srcu, and faults again. Elsewhere the fault retries itself:
 * with no grace period to wait for, leaving the read side changes nothing another actor can see.
 */
export const RET_PF_RETRY = 1;

/** The `kvm-tdp-mmu` layer (`layers: [kvm-tdp-mmu]`): the install is its own step, a cmpxchg of the spte the walk read. */
export const KVM_TDP_MMU_LAYER = 'kvm-tdp-mmu';

/**
 * The install is tdp_mmu_set_spte_atomic, a step after the walk: with the `kvm-tdp-mmu` layer, and
 * with `kvm-tlb`, which builds on it (a guest TLB sees an spte taken from under it).
 */
export function tdpMmuAtomic(w: World): boolean {
  return hasLayer(w, KVM_TDP_MMU_LAYER) || hasGuestTlb(w);
}

/** make_spte + the store of the new spte: the pfn the fault found, writable if a write fault found it writable. */
export function installSpte(w: World, l: { kvm: number; gfn: number; write: number; pfn: number; writable: number; refcounted: number }): void {
  const e = spte(w, l.kvm, l.gfn);
  e.pfn = l.pfn;
  e.write = l.write && l.writable ? 1 : 0;
  e.gen = pageGen(w, l.pfn);
  // make_spte marks the gfn before the cmpxchg: here with the store (a failed cmpxchg's mark, an over-report, is omitted).
  if (e.write) markPageDirtyInSlot(w, l.kvm, l.gfn);
  if (dirtyAccessed(w)) {
    // make_spte: accessed (not a prefetch), dirty when writable (spte_shadow_dirty_mask).
    e.accessed = 1;
    e.dirty = e.write;
    // kvm_release_faultin_page(kvm, page, unused, fault->map_writable), under mmu_lock (v6.13+:
    // "Mark folio dirty when creating SPTE, not when zapping/modifying SPTE"): a page the primary
    // MMU gave writable is dirtied now, since the guest may write it with no pte of the host's
    // ever becoming dirty.
    if (l.refcounted && l.writable) folioMarkDirty(w, l.pfn);
  }
}

export const kvmTdpPageFault = KVM_LIB.routine({
  name: 'kvm_tdp_page_fault',
  params: ['kvm', 'gfn', 'write'],
  locals: ['mmuSeq', 'mmuSeqHi', 'pfn', 'writable', 'refcounted', 'retry', 'srcuHeld', 'oldPfn', 'oldWrite'],
  counters: { mmuSeq: KVM_SEQ },
  steps: {
    seq: {
      at: 'arch/x86/kvm/mmu/mmu.c:kvm_faultin_pfn (fault->mmu_seq = kvm->mmu_invalidate_seq; smp_rmb; __kvm_faultin_pfn)',
      // Read without mmu_lock by design: is_page_fault_stale re-checks it under the lock.
      lockless: ['kvm.invalidateSeq', 'kvm.invalidateSeqHi'],
      run: (w, l) => {
        const kvm = w.obj(KVM, l.kvm);
        const seq = readInvalidateSeq(w, l.kvm);
        l.mmuSeq = seq.lo;
        l.mmuSeqHi = seq.hi;
        l.retry = 0;
        l.srcuHeld = isNone(kvm.srcu) ? 0 : 1; // the caller, guest_access, holds kvm->srcu where it exists
        // A memslot being deleted or moved: retry (kvm_faultin_pfn), from the guest (below).
        if (gfnInInvalidMemslot(w, l.kvm, l.gfn)) return w.ret(RET_PF_RETRY);
        const hva = gfnToHva(w, l.kvm, l.gfn);
        if (hva < 0) return w.ret(-EFAULT);
        return w.call(hvaToPfn, 'lock', deref(kvm.mm, 'kvm.mm'), hva, l.write);
      },
    },
    lock: {
      at: 'arch/x86/kvm/mmu/mmu.c:kvm_tdp_mmu_page_fault read_lock(&vcpu->kvm->mmu_lock)',
      run: (w, l) => {
        if (l.result < 0) return w.ret(l.result); // kvm_faultin_pfn failed: returned before the lock
        const b = readLock(w, kvmMmuLock(w, l.kvm));
        if (b) return b;
        const r = unpackPfn(l.result);
        l.pfn = r.pfn;
        l.writable = r.writable ? 1 : 0;
        l.refcounted = r.refcounted ? 1 : 0;
        l.result = 0;
        return w.call(isPageFaultStale, 'map', l.kvm, l.gfn, l.mmuSeq, l.mmuSeqHi);
      },
    },
    map: {
      at: 'arch/x86/kvm/mmu/mmu.c:kvm_tdp_mmu_page_fault if (is_page_fault_stale()) goto out_unlock; kvm_tdp_mmu_map (tdp_mmu_set_spte_atomic)',
      run: (w, l) => {
        const stale = l.result;
        l.result = 0;
        if (stale) {
          l.retry = 1; // r = RET_PF_RETRY; out_unlock: read_unlock(&vcpu->kvm->mmu_lock)
          readUnlock(w, kvmMmuLock(w, l.kvm));
          return 'release';
        }
        const e = spte(w, l.kvm, l.gfn);
        if (tdpMmuAtomic(w)) {
          // The walk (tdp_mmu_for_each_pte) reads iter.old_spte; the install is a step of its own.
          l.oldPfn = e.pfn;
          l.oldWrite = e.write;
          if (e.pfn !== 0 && (e.write || !l.write)) {
            // Another vCPU installed it meanwhile, allowing this access: RET_PF_SPURIOUS.
            if (e.pfn !== l.pfn) w.bug(`kvm ${l.kvm}: gfn${l.gfn} spurious fault on pfn ${e.pfn} but the fault found pfn ${l.pfn} (WARN_ON_ONCE in tdp_mmu_map_handle_target_level)`);
            return 'unlock';
          }
          return 'install';
        }
        installSpte(w, l);
        return 'unlock';
      },
    },
    install: {
      at: 'arch/x86/kvm/mmu/tdp_mmu.c:tdp_mmu_map_handle_target_level tdp_mmu_set_spte_atomic (try_cmpxchg64(sptep, &iter->old_spte, new_spte); on failure RET_PF_RETRY)',
      run: (w, l) => {
        const e = spte(w, l.kvm, l.gfn);
        if (e.pfn !== l.oldPfn || e.write !== l.oldWrite) {
          // Another vCPU changed the spte since the walk read it: the guest retries the access.
          l.retry = 1;
          readUnlock(w, kvmMmuLock(w, l.kvm));
          return 'release';
        }
        installSpte(w, l);
        return 'unlock';
      },
    },
    unlock: {
      at: 'arch/x86/kvm/mmu/mmu.c:kvm_tdp_mmu_page_fault read_unlock(&vcpu->kvm->mmu_lock)',
      run: (w, l) => {
        readUnlock(w, kvmMmuLock(w, l.kvm));
        return 'release';
      },
    },
    release: {
      at: 'arch/x86/kvm/mmu/mmu.c:kvm_mmu_finish_page_fault (kvm_release_faultin_page)',
      run: (w, l) => {
        if (l.refcounted) putPage(w, l.pfn);
        if (l.retry) {
          // Where memslots change, the vCPU leaves kvm->srcu to re-enter the guest (guest.ts). Known
          // from a local: reading kvm->srcu here would make this step visible, and merge fewer.
          if (l.srcuHeld) return w.ret(RET_PF_RETRY);
          // RET_PF_RETRY: the vCPU re-enters the guest and faults again; this attempt's locals are dead.
          l.pfn = 0;
          l.writable = 0;
          l.refcounted = 0;
          l.oldPfn = 0;
          l.oldWrite = 0;
          return 'seq';
        }
        return w.ret(0);
      },
    },
  },
});
