/**
 * The vCPU's EPT fault path (arch/x86/kvm/mmu/mmu.c:kvm_tdp_page_fault → direct_page_fault,
 * reference §3.2): snapshot mmu_invalidate_seq, translate gfn → hva → pfn (may sleep, may fault
 * the host page in), then under mmu_lock retry if an invalidation is in progress over this gfn or
 * completed since the snapshot, else install the spte; finally release the GUP reference.
 */
import { EFAULT } from '../kernel/flags.js';
import { pageGen, putPage } from '../kernel/page.js';
import { KVM } from './structs.js';
import { deref } from '../kernel/ref.js';
import { gfnToHva, spte } from './topology.js';
import { hvaToPfn, unpackPfn } from './hva-to-pfn.js';
import { KVM_LIB } from './library.js';

export const kvmTdpPageFault = KVM_LIB.routine({
  name: 'kvm_tdp_page_fault',
  params: ['kvm', 'gfn', 'write'],
  locals: ['mmuSeq', 'pfn', 'writable', 'refcounted', 'retry'],
  steps: {
    seq: {
      at: 'arch/x86/kvm/mmu/mmu.c:kvm_faultin_pfn (mmu_seq = kvm->mmu_invalidate_seq; smp_rmb)',
      run: (w, l) => {
        const kvm = w.obj(KVM, l.kvm);
        l.mmuSeq = kvm.invalidateSeq;
        l.retry = 0;
        const hva = gfnToHva(w, l.kvm, l.gfn);
        if (hva < 0) return w.ret(-EFAULT);
        return w.call(hvaToPfn, 'map', deref(kvm.mm, 'kvm.mm'), hva, l.write);
      },
    },
    map: {
      at: 'arch/x86/kvm/mmu/mmu.c:direct_page_fault (write_lock(mmu_lock); is_page_fault_stale; kvm_tdp_mmu_map)',
      run: (w, l) => {
        if (l.result < 0) return w.ret(l.result);
        const r = unpackPfn(l.result);
        l.pfn = r.pfn;
        l.writable = r.writable ? 1 : 0;
        l.refcounted = r.refcounted ? 1 : 0;
        l.result = 0;
        const kvm = w.obj(KVM, l.kvm);
        // virt/kvm/kvm_main.c:mmu_invalidate_retry_gfn
        const inRange = kvm.invalidateInProgress > 0 && kvm.rangeStart <= l.gfn && l.gfn < kvm.rangeEnd;
        if (inRange || kvm.invalidateSeq !== l.mmuSeq) {
          l.retry = 1;
          return 'release';
        }
        const e = spte(w, l.kvm, l.gfn);
        e.pfn = l.pfn;
        e.write = l.write && l.writable ? 1 : 0;
        e.gen = pageGen(w, l.pfn);
        return 'release';
      },
    },
    release: {
      at: 'arch/x86/kvm/mmu/mmu.c:kvm_release_faultin_page',
      run: (w, l) => {
        if (l.refcounted) putPage(w, l.pfn);
        if (l.retry) {
          // RET_PF_RETRY: the vCPU re-enters the guest and faults again; this attempt's locals are dead.
          l.pfn = 0;
          l.writable = 0;
          l.refcounted = 0;
          return 'seq';
        }
        return w.ret(0);
      },
    },
  },
});
