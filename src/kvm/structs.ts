/**
 * KVM as a secondary MMU (virt/kvm/kvm_main.c, arch/x86/kvm/mmu/mmu.c), as flat structs.
 *
 * mmu_lock is not a state field: every access to KVM's invalidation state and EPT happens in one
 * step that models the whole mmu_lock critical section (the lock only protects what those steps
 * touch, so no interleaving is lost), and the step boundary sits where the lock is taken.
 */
import { defineStruct } from '../world/layout.js';

export const KVM = defineStruct(
  'kvm',
  [
    'mm', // ref to the VMM process's mm (kvm->mm)
    'mn', // ref to its classic mmu_notifier subscription
    'invalidateSeq', // kvm->mmu_invalidate_seq (5.10: mmu_notifier_seq)
    'invalidateInProgress', // kvm->mmu_invalidate_in_progress (5.10: mmu_notifier_count)
    'rangeStart', // kvm->mmu_invalidate_range_start (gfn), accumulated over concurrent invalidations
    'rangeEnd', // kvm->mmu_invalidate_range_end (gfn, exclusive)
  ] as const,
  { mm: 'stable', mn: 'stable', invalidateSeq: 'lock:kvm.mmu_lock', invalidateInProgress: 'lock:kvm.mmu_lock', rangeStart: 'lock:kvm.mmu_lock', rangeEnd: 'lock:kvm.mmu_lock' },
);

/** A memslot of KVM `kvm` (a ref): guest frames [baseGfn, baseGfn + npages) backed by hvas [hva, hva + npages) of kvm->mm. */
export const MEMSLOT = defineStruct('memslot', ['kvm', 'baseGfn', 'npages', 'hva'] as const, { kvm: 'rcu', baseGfn: 'rcu', npages: 'rcu', hva: 'rcu' });

/** One EPT (TDP) entry per gfn. `gen` is ghost state: the page's generation when it was installed. */
export const SPTE = defineStruct('spte', ['pfn', 'write', 'gen'] as const, { pfn: 'lock:kvm.mmu_lock', write: 'lock:kvm.mmu_lock', gen: 'ghost' });
