/**
 * KVM in 6.1-stable before "KVM: x86/mmu: Fix an sign-extension bug with mmu_seq that hangs vCPUs"
 * (Sean Christopherson, Aug 2023; upstream was fixed unknowingly by ba6e3fe25543 in v6.3; the bug
 * came with a955cad84cda): is_page_fault_stale took the fault's snapshot of
 * kvm->mmu_invalidate_seq as an `int`. The caller's `unsigned long` is truncated to 32 bits there,
 * and sign-extended back to `unsigned long` when passed on to the retry check. Once the sequence
 * passes 0x7fffffff (2^31 ended invalidations: a long-lived VM), bit 31 is set, the snapshot comes
 * back as 0xffffffff8xxxxxxx, never equals the sequence, and every fault retries for ever.
 *
 * Only is_page_fault_stale changes; kvm_tdp_page_fault, which calls it, is today's.
 */
import { assertHeld, defineEra, invalidationCovers, KERNEL, KVM, KVM_LIB, kvmMmuLock, Library } from 'vmamirror';
import { KVM_SEQ } from 'vmamirror';

const lib = new Library('era-v6-1-int-mmu-seq', [KERNEL, KVM_LIB], { kind: 'kernel' });

const isPageFaultStale = lib.routine({
  name: 'is_page_fault_stale_int_mmu_seq',
  params: ['kvm', 'gfn', 'mmuSeq', 'mmuSeqHi'],
  counters: { mmuSeq: KVM_SEQ },
  steps: {
    check: {
      at: 'arch/x86/kvm/mmu/mmu.c:is_page_fault_stale (v6.1: int mmu_seq) → mmu_invalidate_retry_hva(kvm, unsigned long mmu_seq, hva)',
      run: (w, l) => {
        assertHeld(w, kvmMmuLock(w, l.kvm), 'mmu_invalidate_retry_hva');
        const kvm = w.obj(KVM, l.kvm);
        // `int mmu_seq` keeps the low word (the high one, l.mmuSeqHi, is lost); passing it on as
        // `unsigned long` sign-extends it: the high word is all ones when bit 31 is set.
        const seqHi = l.mmuSeq < 0 ? -1 : 0;
        return w.ret(invalidationCovers(w, l.kvm, l.gfn) || kvm.invalidateSeq !== l.mmuSeq || kvm.invalidateSeqHi !== seqHi ? 1 : 0);
      },
    },
  },
});
lib.replace('is_page_fault_stale', isPageFaultStale);

export default defineEra({
  name: 'v6-1-int-mmu-seq',
  summary: "6.1-stable KVM before the mmu_seq sign-extension fix: is_page_fault_stale takes the fault's sequence snapshot as an int",
  library: lib,
});
