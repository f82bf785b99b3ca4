/**
 * KVM_SET_USER_MEMORY_REGION adding a memslot (virt/kvm/kvm_main.c, v6.x): kvm_set_memslot →
 * kvm_create_memslot → kvm_activate_memslot → kvm_swap_active_memslots, which publishes the new
 * memslot set (rcu_assign_pointer under kvm->mn_invalidate_lock) only once no MMU-notifier
 * invalidation is active (mn_active_invalidate_count == 0, waiting on mn_memslots_update_rcuwait,
 * woken by kvm_mmu_notifier_invalidate_range_end). Without that wait, an invalidation's start and
 * its end could see different memslots: start finds no memslot over its hvas and skips
 * mmu_invalidate_in_progress++, end finds the new one and decrements it (B-17).
 *
 * The model: a new memslot maps gfns [gfn, gfn + npages) to the same-numbered hvas of the VMM
 * (as the scenario's first memslot does); each KVM of a scenario that adds memslots has one spare
 * memslot object for it. Publishing is one step: readers see the old set or the new one whole, as
 * SRCU gives them (so memslots stay `stable` for the step rule: structs.ts). One updater at a time
 * (kvm->slots_lock is not modelled: a scenario has one). Deleting and moving memslots (which also
 * flush the old slot's sptes, through an intermediate KVM_MEMSLOT_INVALID set) are not modelled.
 */
import type { World } from '../world/world.js';
import { EINVAL } from '../kernel/flags.js';
import { BLOCK_SLEEP } from '../world/routine.js';
import { refersTo } from '../kernel/ref.js';
import { KVM_MN } from './gpc.js';
import { MEMSLOT } from './structs.js';
import { gfnToHva } from './topology.js';
import { KVM_LIB } from './library.js';

/** EEXIST: the new memslot overlaps one the VM has. */
const EEXIST = 17;

/**
 * virt/kvm/kvm_main.c:kvm_swap_active_memslots: wait until no invalidation is active, then publish
 * memslot object `slot` as [gfn, gfn + npages) → hvas [gfn, gfn + npages), under
 * mn_invalidate_lock.
 */
export const kvmSwapActiveMemslots = KVM_LIB.routine({
  name: 'kvm_swap_active_memslots',
  params: ['kvm', 'slot', 'gfn', 'npages'],
  steps: {
    swap: {
      at: 'virt/kvm/kvm_main.c:kvm_swap_active_memslots spin_lock(&kvm->mn_invalidate_lock); while (kvm->mn_active_invalidate_count) schedule(); rcu_assign_pointer(kvm->memslots[as_id], slots)',
      run: (w, l) => {
        // Sleeps (the lock dropped) until range_end's rcuwait_wake_up finds the count at 0.
        if (w.obj(KVM_MN, l.kvm).activeInvalidateCount !== 0) return BLOCK_SLEEP;
        publishMemslot(w, l.slot, l.gfn, l.npages);
        return w.ret(0);
      },
    },
  },
});

/** The new memslot set's one change: memslot object `slot` now maps [gfn, gfn + npages) to the same hvas. */
export function publishMemslot(w: World, slot: number, gfn: number, npages: number): void {
  const s = w.obj(MEMSLOT, slot);
  s.baseGfn = gfn;
  s.hva = gfn;
  s.npages = npages;
}

/** virt/kvm/kvm_main.c:kvm_set_memslot (KVM_MR_CREATE): 0, -EEXIST (overlap) or -EINVAL (no spare memslot). */
export const kvmSetMemslot = KVM_LIB.routine({
  name: 'kvm_set_memslot',
  params: ['kvm', 'gfn', 'npages'],
  steps: {
    create: {
      at: 'virt/kvm/kvm_main.c:kvm_set_memory_region (overlap check) → kvm_set_memslot → kvm_create_memslot',
      run: (w, l) => {
        for (let g = l.gfn; g < l.gfn + l.npages; g++) if (gfnToHva(w, l.kvm, g) >= 0) return w.ret(-EEXIST);
        const n = w.count(MEMSLOT);
        for (let i = 0; i < n; i++) {
          const s = w.obj(MEMSLOT, i);
          if (refersTo(s.kvm, l.kvm) && s.npages === 0) return w.call(kvmSwapActiveMemslots, 'done', l.kvm, i, l.gfn, l.npages);
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
