/**
 * virt/kvm/kvm_main.c:hva_to_pfn — the host page behind a guest fault. Normal memory goes
 * through GUP, which takes a page reference that the fault path releases after installing the
 * spte. VM_IO|VM_PFNMAP memory (e.g. a mirror device's VMA) goes through hva_to_pfn_remapped:
 * follow the pte, and if absent run the VMA's fault handler via fixup_user_fault; no reference
 * is taken (v6.18), so such sptes are protected by MMU notifiers alone (reference §3.3).
 *
 * Simplification: GUP-fast and GUP-slow are one path (the slow one, under mmap_read_lock); a read
 * fault maps the page read-only (KVM's opportunistic writable mapping is not modelled).
 */
import { EBUSY, EFAULT, VM_FAULT_OOM, VM_FAULT_RETRY, VM_FAULT_SIGBUS, VM_IO, VM_PFNMAP } from '../kernel/flags.js';
import { downRead, mmapLock, ptl, spinLockBusy, upRead } from '../kernel/locks.js';
import { findVma, vma } from '../kernel/pgtable.js';
import { followPfn, getUserPagesRemote } from '../kernel/ops/gup.js';
import { handleMmFault } from '../kernel/ops/fault.js';
import { KVM_LIB } from './library.js';

/** Result of hva_to_pfn packed in one int: pfn * 4 + writable * 2 + refcounted; negative = -errno. */
export function packPfn(pfn: number, writable: boolean, refcounted: boolean): number {
  return pfn * 4 + (writable ? 2 : 0) + (refcounted ? 1 : 0);
}
export const unpackPfn = (r: number) => ({ pfn: r >> 2, writable: (r & 2) !== 0, refcounted: (r & 1) !== 0 });

export const hvaToPfn = KVM_LIB.routine({
  name: 'hva_to_pfn',
  params: ['mm', 'hva', 'write'],
  steps: {
    lock: {
      at: 'virt/kvm/kvm_main.c:hva_to_pfn mmap_read_lock',
      run: (w, l) => {
        const b = downRead(w, mmapLock(w, l.mm)); // mmap_read_lock
        if (b) return b;
        return 'lookup';
      },
    },
    lookup: {
      at: 'virt/kvm/kvm_main.c:hva_to_pfn vma_lookup',
      run: (w, l) => {
        const v = findVma(w, l.mm, l.hva);
        if (v < 0) {
          upRead(w, mmapLock(w, l.mm));
          return w.ret(-EFAULT);
        }
        if (vma(w, v).flags & (VM_IO | VM_PFNMAP)) return 'remapped';
        return w.call(getUserPagesRemote, 'gupDone', l.mm, l.hva, l.write);
      },
    },
    gupDone: {
      at: 'virt/kvm/kvm_main.c:hva_to_pfn_slow',
      run: (w, l) => {
        if (l.result === -EBUSY) {
          // GUP's fault returned VM_FAULT_RETRY: mmap_lock was dropped for us (*locked = 0); retry.
          l.result = 0;
          return 'lock';
        }
        upRead(w, mmapLock(w, l.mm));
        if (l.result <= 0) return w.ret(l.result < 0 ? l.result : -EFAULT);
        return w.ret(packPfn(l.result, l.write !== 0, true));
      },
    },
    remapped: {
      at: 'virt/kvm/kvm_main.c:hva_to_pfn_remapped follow_pfnmap_start',
      run: (w, l) => {
        const b = spinLockBusy(w, ptl(w, l.mm)); // follow_pte: pte_offset_map_lock
        if (b) return b;
        const f = followPfn(w, l.mm, l.hva);
        if (f.pfn !== 0 && (!l.write || f.write)) {
          upRead(w, mmapLock(w, l.mm));
          // Post-2021 (CVE-2021-22543 fix): writable only if the pte is; no page reference.
          return w.ret(packPfn(f.pfn, f.write, false));
        }
        return w.call(handleMmFault, 'fixedUp', l.mm, l.hva, l.write);
      },
    },
    fixedUp: {
      at: 'mm/gup.c:fixup_user_fault',
      run: (w, l) => {
        const r = l.result;
        l.result = 0;
        // VM_FAULT_RETRY: the handler dropped mmap_lock; retake it and look the VMA up again.
        if (r & VM_FAULT_RETRY) return 'lock';
        if (r & (VM_FAULT_SIGBUS | VM_FAULT_OOM)) {
          upRead(w, mmapLock(w, l.mm));
          return w.ret(-EFAULT);
        }
        return 'remapped';
      },
    },
  },
});
