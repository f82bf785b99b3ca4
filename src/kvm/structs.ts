/**
 * KVM as a secondary MMU (virt/kvm/kvm_main.c, arch/x86/kvm/mmu/mmu.c), as flat structs.
 *
 * kvm->mmu_lock is state: x86 defines KVM_HAVE_MMU_RWLOCK, so it is an rwlock_t (two words, the
 * writer and the reader count: src/kernel/locks.ts `RwLock`, named by `kvmMmuLock(w, kvm)` in
 * topology.ts). The TDP MMU fault takes it for read (kvm_tdp_mmu_page_fault), the MMU-notifier
 * callbacks for write (KVM_MMU_LOCK = write_lock, virt/kvm/kvm_mm.h). Every field it protects
 * (`lock:kvm.mmu_lock`) is touched only while it is held, and the steps are cut where the C could
 * race were it not held (the acquire, the staleness check, the spte install and the release are
 * steps of their own): no step's size stands in for the lock, so a variant that drops it races.
 */
import { defineCounterDomain, defineStruct } from '../world/layout.js';
import { PAGE_GEN } from '../kernel/structs.js';

/**
 * kvm->mmu_invalidate_seq as a counter domain (layout.ts `CounterDomain`): its low word and the
 * snapshots faults keep of it are only bumped (kvm_mmu_invalidate_end) and compared for equality
 * (mmu_invalidate_retry). The high word stays concrete; a scenario that starts the sequence near a
 * wrap, or an era that tests its sign (B-21), keeps the domain concrete.
 */
export const KVM_SEQ = defineCounterDomain('kvm-seq', "kvm->mmu_invalidate_seq (its low word) and the fault's snapshots of it");

export const KVM = defineStruct(
  'kvm',
  [
    'mm', // ref to the VMM process's mm (kvm->mm)
    'mn', // ref to its classic mmu_notifier subscription
    'invalidateSeq', // kvm->mmu_invalidate_seq (5.10: mmu_notifier_seq), an unsigned long: its low 32 bits (seq.ts)
    'invalidateSeqHi', // its high 32 bits (x86-64: unsigned long is 64 bits wide)
    'invalidateInProgress', // kvm->mmu_invalidate_in_progress (5.10: mmu_notifier_count)
    'rangeStart', // kvm->mmu_invalidate_range_start (gfn), accumulated over concurrent invalidations
    'rangeEnd', // kvm->mmu_invalidate_range_end (gfn, exclusive)
    'mmuLockWriter', // kvm->mmu_lock (rwlock_t): the writer, actor + 1 (w.self), 0 when free
    'mmuLockReaders', // kvm->mmu_lock: the number of readers
    'srcu', // ref to kvm->srcu (an srcu_struct) where memslots change at run time, else none (readers need no grace period)
    'protectOwed', // ghost: operations that took write permission away from sptes and have not yet flushed every vCPU's TLB (tlb.ts, dirty-log.ts)
  ] as const,
  {
    mm: 'stable',
    mn: 'stable',
    invalidateSeq: 'lock:kvm.mmu_lock',
    invalidateSeqHi: 'lock:kvm.mmu_lock',
    invalidateInProgress: 'lock:kvm.mmu_lock',
    rangeStart: 'lock:kvm.mmu_lock',
    rangeEnd: 'lock:kvm.mmu_lock',
    mmuLockWriter: 'lock-word:kvm.mmu_lock',
    mmuLockReaders: 'lock-readers:kvm.mmu_lock',
    srcu: 'stable',
    protectOwed: 'ghost',
  },
  { counters: { invalidateSeq: KVM_SEQ } },
);

/**
 * A memslot of KVM `kvm` (a ref): guest frames [baseGfn, baseGfn + npages) backed by hvas [hva, hva + npages) of kvm->mm
 * (npages 0: a spare object, covering nothing). Memslots are never modified in place: KVM publishes a
 * new set under SRCU (kvm_swap_active_memslots), so a reader sees one immutable snapshot. The model
 * sets them up at creation and changes them only in the one step that stands for that publication
 * (memslot.ts): a reader's step sees the old set or the new one whole, so for the step rule they are `stable`.
 */
export const MEMSLOT = defineStruct('memslot', ['kvm', 'baseGfn', 'npages', 'hva', 'flags'] as const, { kvm: 'stable', baseGfn: 'stable', npages: 'stable', hva: 'stable', flags: 'stable' });

/**
 * include/linux/kvm_host.h:KVM_MEMSLOT_INVALID: the memslot is being deleted or moved. Its gfns
 * translate to no hva (__gfn_to_hva_many: KVM_HVA_ERR_BAD) and a vCPU fault on them retries
 * (kvm_faultin_pfn: RET_PF_RETRY) until the memslot is gone or moved, so that no spte of the old
 * memslot is installed after kvm_arch_flush_shadow_memslot zapped them.
 */
export const KVM_MEMSLOT_INVALID = 1 << 16;

/**
 * include/uapi/linux/kvm.h: the memslot flag userspace toggles at run time (dirty-log.ts);
 * KVM_MEM_READONLY (1 << 1) can only be set when a memslot is created, and the model creates none read-only.
 */
export const KVM_MEM_LOG_DIRTY_PAGES = 1 << 0;

/**
 * One EPT (TDP) entry per gfn. `gen` is ghost state: the page's generation when it was installed.
 * Under mmu_lock: the TDP MMU installs leaf sptes holding it for read with an atomic cmpxchg
 * (tdp_mmu_set_spte_atomic), the zaps hold it for write.
 */
export const SPTE = defineStruct(
  'spte',
  [
    'pfn',
    'write',
    'gen',
    // Layer dirty-accessed: the EPT's A/D bits (shadow_accessed_mask, shadow_dirty_mask), set by
    // the CPU's EPT walk on a guest access and by make_spte; the aging callbacks clear accessed.
    'accessed',
    'dirty',
  ] as const,
  { pfn: 'lock:kvm.mmu_lock', write: 'lock:kvm.mmu_lock', gen: 'ghost', accessed: 'lock:kvm.mmu_lock', dirty: 'lock:kvm.mmu_lock' },
  { word: true, counters: { gen: PAGE_GEN } }, // one 64-bit spte
);
