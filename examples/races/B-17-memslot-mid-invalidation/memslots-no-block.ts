/**
 * KVM with "KVM: Don't take mmu_lock for range invalidation unless necessary" (071064f14d87) but
 * without "KVM: Block memslot updates across range_start() and range_end()" (Paolo Bonzini,
 * 52ac8b358b0c, v5.15), which was written for it and merged with it: the MMU-notifier callbacks
 * take mmu_lock and touch mmu_invalidate_in_progress only when some memslot overlaps the
 * invalidated hvas — decided separately at start and at end — while a memslot update publishes
 * its new memslots at once. An update between the two makes the decisions differ: "Without that
 * guarantee, the mmu_notifier_count adjustments will be imbalanced." This combination never
 * shipped (the two patches were merged together): it is the design hazard the blocking fixed.
 *
 * Only kvm_swap_active_memslots changes: it publishes without waiting for
 * mn_active_invalidate_count (which that kernel did not have).
 */
import { defineEra, deref, KERNEL, KVM, KVM_LIB, Library, publishMemslot, SRCU_LIB, synchronizeSrcu } from 'vmamirror';

const lib = new Library('era-memslots-no-block', [KERNEL, KVM_LIB, SRCU_LIB], { kind: 'kernel' });

const swap = lib.routine({
  name: 'install_new_memslots_no_block',
  params: ['kvm', 'slot', 'gfn', 'npages', 'hva', 'flags'],
  steps: {
    swap: {
      at: 'virt/kvm/kvm_main.c:install_new_memslots rcu_assign_pointer(kvm->memslots[as_id], slots) (no wait for active invalidations)',
      run: (w, l) => {
        publishMemslot(w, l.slot, l.gfn, l.npages, l.hva, l.flags);
        return w.call(synchronizeSrcu, 'done', deref(w.obj(KVM, l.kvm).srcu, 'kvm.srcu'));
      },
    },
    done: { at: 'virt/kvm/kvm_main.c:install_new_memslots synchronize_srcu_expedited(&kvm->srcu)', run: (w) => w.ret(0) },
  },
});
lib.replace('kvm_swap_active_memslots', swap);

export default defineEra({
  name: 'memslots-no-block',
  summary: "KVM's lock elision for invalidations that hit no memslot (071064f14d87) without blocking memslot updates across range_start and range_end (52ac8b358b0c)",
  library: lib,
});
