/**
 * KVM_SET_USER_MEMORY_REGION (virt/kvm/kvm_main.c, v6.x): adding, deleting and moving a memslot.
 * kvm_set_memslot → kvm_create_memslot / kvm_delete_memslot / kvm_move_memslot, each ending in
 * kvm_swap_active_memslots, which publishes the new memslot set (rcu_assign_pointer under
 * kvm->mn_invalidate_lock) only once no MMU-notifier invalidation is active
 * (mn_active_invalidate_count == 0, waiting on mn_memslots_update_rcuwait, woken by
 * kvm_mmu_notifier_invalidate_range_end), then waits for every vCPU that may still use the old set
 * (synchronize_srcu_expedited(&kvm->srcu): a vCPU holds kvm->srcu from its exit to its next entry,
 * the fault included). Without the first wait, an invalidation's start and its end could see
 * different memslots: start finds no memslot over its hvas and skips mmu_invalidate_in_progress++,
 * end finds the new one and decrements it (B-17).
 *
 * Deleting or moving first makes the old memslot invalid (kvm_invalidate_memslot: a copy flagged
 * KVM_MEMSLOT_INVALID replaces it, swapped in as above), so a new fault on its gfns retries
 * instead of installing; the grace period lets the faults that found it valid finish; then
 * kvm_arch_flush_shadow_memslot zaps its sptes under mmu_lock for write. Only then is the
 * memslot removed (its gfns then exit to MMIO) or published at its new gfns.
 *
 * The model: an added memslot maps gfns [gfn, gfn + npages) to the same-numbered hvas of the VMM
 * (as the scenario's first memslot does); a moved one keeps its hvas. Each KVM of a scenario that
 * changes memslots has one spare memslot object and an srcu_struct. A memslot object changes in
 * place in the one step that stands for a publication: readers see the old set or the new one
 * whole, as SRCU gives them (so memslots stay `stable` for the step rule: structs.ts). One updater
 * at a time (kvm->slots_lock is not modelled: a scenario has one). Flags changes (dirty logging,
 * read-only) are not modelled.
 */
import type { World } from '../world/world.js';
import { EEXIST, EINVAL } from '../kernel/flags.js';
import { BLOCK_SLEEP } from '../world/routine.js';
import { deref, refersTo } from '../kernel/ref.js';
import { KVM_MN } from './gpc.js';
import { KVM, KVM_MEMSLOT_INVALID, MEMSLOT } from './structs.js';
import { gfnToMemslot, kvmMmuLock } from './topology.js';
import { synchronizeSrcu } from '../kernel/lifetime.js';
import { writeLock, writeUnlock } from '../kernel/locks.js';
import { flushAfterZap, zapGfns } from './notifier.js';
import { hasGuestTlb } from './tlb.js';
import { KVM_LIB } from './library.js';

/**
 * virt/kvm/kvm_main.c:kvm_swap_active_memslots: wait until no invalidation is active, publish
 * memslot object `slot` as [gfn, gfn + npages) → hvas [hva, hva + npages) with `flags` (npages 0:
 * removed), then wait for the readers of the old set (synchronize_srcu_expedited).
 */
export const kvmSwapActiveMemslots = KVM_LIB.routine({
  name: 'kvm_swap_active_memslots',
  params: ['kvm', 'slot', 'gfn', 'npages', 'hva', 'flags'],
  steps: {
    swap: {
      at: 'virt/kvm/kvm_main.c:kvm_swap_active_memslots spin_lock(&kvm->mn_invalidate_lock); while (kvm->mn_active_invalidate_count) schedule(); rcu_assign_pointer(kvm->memslots[as_id], slots)',
      run: (w, l) => {
        // Sleeps (the lock dropped) until range_end's rcuwait_wake_up finds the count at 0.
        if (w.obj(KVM_MN, l.kvm).activeInvalidateCount !== 0) return BLOCK_SLEEP;
        publishMemslot(w, l.slot, l.gfn, l.npages, l.hva, l.flags);
        return w.call(synchronizeSrcu, 'done', deref(w.obj(KVM, l.kvm).srcu, 'kvm.srcu'));
      },
    },
    done: { at: 'virt/kvm/kvm_main.c:kvm_swap_active_memslots synchronize_srcu_expedited(&kvm->srcu)', run: (w) => w.ret(0) },
  },
});

/** The new memslot set's one change: memslot object `slot` now maps [gfn, gfn + npages) to hvas from `hva`. */
export function publishMemslot(w: World, slot: number, gfn: number, npages: number, hva: number, flags: number): void {
  const s = w.obj(MEMSLOT, slot);
  s.baseGfn = gfn;
  s.hva = hva;
  s.npages = npages;
  s.flags = flags;
}

/** A memslot of `kvm` other than `except` maps one of gfns [gfn, gfn + npages): kvm_set_memory_region's overlap check. */
function overlaps(w: World, kvm: number, gfn: number, npages: number, except: number): boolean {
  for (let g = gfn; g < gfn + npages; g++) {
    const i = gfnToMemslot(w, kvm, g);
    if (i >= 0 && i !== except) return true;
  }
  return false;
}

/** virt/kvm/kvm_main.c:kvm_set_memslot (KVM_MR_CREATE): 0, -EEXIST (overlap) or -EINVAL (no spare memslot). */
export const kvmSetMemslot = KVM_LIB.routine({
  name: 'kvm_set_memslot',
  params: ['kvm', 'gfn', 'npages'],
  steps: {
    create: {
      at: 'virt/kvm/kvm_main.c:kvm_set_memory_region (overlap check) → kvm_set_memslot → kvm_create_memslot',
      run: (w, l) => {
        if (overlaps(w, l.kvm, l.gfn, l.npages, -1)) return w.ret(-EEXIST);
        const n = w.count(MEMSLOT);
        for (let i = 0; i < n; i++) {
          const s = w.obj(MEMSLOT, i);
          if (refersTo(s.kvm, l.kvm) && s.npages === 0) return w.call(kvmSwapActiveMemslots, 'done', l.kvm, i, l.gfn, l.npages, l.gfn, 0);
        }
        return w.ret(-EINVAL);
      },
    },
    done: {
      at: 'virt/kvm/kvm_main.c:kvm_set_memslot',
      run: (w, l) => w.ret(l.result),
    },
  },
});

/**
 * virt/kvm/kvm_main.c:kvm_invalidate_memslot: swap in memslot `slot` flagged KVM_MEMSLOT_INVALID
 * (new faults on it retry), then kvm_arch_flush_shadow_memslot: zap its sptes under mmu_lock for
 * write (arch/x86/kvm/mmu/mmu.c:kvm_mmu_zap_memslot, then kvm_flush_remote_tlbs).
 */
export const kvmInvalidateMemslot = KVM_LIB.routine({
  name: 'kvm_invalidate_memslot',
  params: ['kvm', 'slot'],
  steps: {
    invalid: {
      at: 'virt/kvm/kvm_main.c:kvm_invalidate_memslot (invalid_slot->flags |= KVM_MEMSLOT_INVALID; kvm_replace_memslot; kvm_swap_active_memslots)',
      run: (w, l) => {
        const s = w.obj(MEMSLOT, l.slot);
        return w.call(kvmSwapActiveMemslots, 'flushLock', l.kvm, l.slot, s.baseGfn, s.npages, s.hva, s.flags | KVM_MEMSLOT_INVALID);
      },
    },
    flushLock: {
      at: 'arch/x86/kvm/mmu/mmu.c:kvm_arch_flush_shadow_memslot → kvm_mmu_zap_memslot write_lock(&kvm->mmu_lock)',
      run: (w, l) => writeLock(w, kvmMmuLock(w, l.kvm)) || 'flush',
    },
    flush: {
      at: 'arch/x86/kvm/mmu/mmu.c:kvm_mmu_zap_memslot (kvm_tdp_mmu_unmap_gfn_range; kvm_flush_remote_tlbs) write_unlock(&kvm->mmu_lock)',
      run: (w, l) => {
        const s = w.obj(MEMSLOT, l.slot);
        const flush = zapGfns(w, l.kvm, s.baseGfn, s.baseGfn + s.npages);
        // With guest TLBs the flush is steps of its own (tlb.ts), the unlock after it.
        if (flush && hasGuestTlb(w)) return flushAfterZap(w, l.kvm, flush, 'unlock');
        writeUnlock(w, kvmMmuLock(w, l.kvm));
        return w.ret(0);
      },
    },
    unlock: {
      at: 'arch/x86/kvm/mmu/mmu.c:kvm_mmu_zap_memslot write_unlock(&kvm->mmu_lock)',
      run: (w, l) => {
        writeUnlock(w, kvmMmuLock(w, l.kvm));
        return w.ret(0);
      },
    },
  },
});

/** virt/kvm/kvm_main.c:kvm_set_memslot (KVM_MR_DELETE) of the memslot covering `gfn`: 0, or -EINVAL (none does). */
export const kvmDeleteMemslot = KVM_LIB.routine({
  name: 'kvm_delete_memslot',
  params: ['kvm', 'gfn'],
  locals: ['slot'],
  steps: {
    find: {
      at: 'virt/kvm/kvm_main.c:kvm_set_memory_region (KVM_MR_DELETE: memory_size 0) → kvm_set_memslot',
      run: (w, l) => {
        l.slot = gfnToMemslot(w, l.kvm, l.gfn);
        if (l.slot < 0) return w.ret(-EINVAL);
        return w.call(kvmInvalidateMemslot, 'delete', l.kvm, l.slot);
      },
    },
    delete: {
      at: 'virt/kvm/kvm_main.c:kvm_delete_memslot (kvm_replace_memslot(kvm, old, NULL); kvm_swap_active_memslots)',
      run: (w, l) => w.call(kvmSwapActiveMemslots, 'done', l.kvm, l.slot, 0, 0, 0, 0),
    },
    done: {
      at: 'virt/kvm/kvm_main.c:kvm_set_memslot',
      run: (w, l) => {
        l.slot = 0;
        return w.ret(0);
      },
    },
  },
});

/** virt/kvm/kvm_main.c:kvm_set_memslot (KVM_MR_MOVE) of the memslot covering `gfn` to start at `to`, its hvas kept: 0, -EINVAL or -EEXIST. */
export const kvmMoveMemslot = KVM_LIB.routine({
  name: 'kvm_move_memslot',
  params: ['kvm', 'gfn', 'to'],
  locals: ['slot'],
  steps: {
    find: {
      at: 'virt/kvm/kvm_main.c:kvm_set_memory_region (KVM_MR_MOVE: base_gfn changes; overlap check) → kvm_set_memslot',
      run: (w, l) => {
        l.slot = gfnToMemslot(w, l.kvm, l.gfn);
        if (l.slot < 0) return w.ret(-EINVAL);
        const s = w.obj(MEMSLOT, l.slot);
        if (l.to + s.npages > w.layout.dims.kvmGfns) return w.ret(-EINVAL); // beyond the model's guest frames
        if (overlaps(w, l.kvm, l.to, s.npages, l.slot)) return w.ret(-EEXIST);
        return w.call(kvmInvalidateMemslot, 'move', l.kvm, l.slot);
      },
    },
    move: {
      at: 'virt/kvm/kvm_main.c:kvm_move_memslot (kvm_replace_memslot(kvm, invalid_slot, new); kvm_swap_active_memslots)',
      run: (w, l) => {
        const s = w.obj(MEMSLOT, l.slot);
        return w.call(kvmSwapActiveMemslots, 'done', l.kvm, l.slot, l.to, s.npages, s.hva, s.flags & ~KVM_MEMSLOT_INVALID);
      },
    },
    done: {
      at: 'virt/kvm/kvm_main.c:kvm_set_memslot',
      run: (w, l) => {
        l.slot = 0;
        return w.ret(0);
      },
    },
  },
});
