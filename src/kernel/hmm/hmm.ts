/**
 * The current HMM API (mm/hmm.c, v6.18; reference §2.3) for a one-page range: hmm_range_fault
 * with HMM_PFN_REQ_FAULT (and HMM_PFN_REQ_WRITE when `write`).
 *
 *   do {
 *     if (mmu_interval_check_retry(range->notifier, range->notifier_seq)) return -EBUSY;
 *     ret = walk_page_range(...);      // faults in what is missing, then returns -EBUSY
 *   } while (ret == -EBUSY);
 *
 * The walk reads the pte without the ptl (pte_offset_map) and takes no page reference: the
 * result is only usable under the driver's lock after mmu_interval_read_retry says the sequence
 * did not move. Returns the encoded hmm pfn (hmm-pfn.ts, always > 0) or -EBUSY / -EFAULT / -EPERM.
 */
import { EBUSY, EFAULT, EPERM, VM_IO, VM_PFNMAP, VM_READ, VM_WRITE } from '../flags.js';
import { assertHeld, mmapLock } from '../locks.js';
import { mmuIntervalCheckRetry } from '../notifier/interval.js';
import { deref, isNone } from '../ref.js';
import { findVma, pte, vma } from '../pgtable.js';
import { MIN } from '../structs.js';
import { handleMmFault, migrationEntryWait, VM_FAULT_ERROR } from '../ops/fault.js';
import { hmmPfnEncode } from './hmm-pfn.js';
import { KERNEL } from '../library.js';

export const hmmRangeFault = KERNEL.routine({
  name: 'hmm_range_fault',
  params: ['sub', 'vpn', 'seq', 'write'],
  locals: ['mm'],
  steps: {
    check: {
      at: 'mm/hmm.c:hmm_range_fault mmu_interval_check_retry',
      run: (w, l) => {
        const mm = w.obj(MIN, l.sub).mm;
        if (isNone(mm)) throw new Error(`hmm_range_fault: interval notifier ${l.sub} is not inserted`);
        l.mm = deref(mm, 'mmu_interval_notifier.mm');
        assertHeld(w, mmapLock(w, l.mm), 'hmm_range_fault'); // mmap_assert_locked
        if (mmuIntervalCheckRetry(w, l.sub, l.seq)) return w.ret(-EBUSY);
        return 'walk';
      },
    },
    walk: {
      at: 'mm/hmm.c:hmm_vma_handle_pte',
      lockless: ['pte.pfn', 'pte.present', 'pte.write', 'pte.special', 'pte.swap', 'pte.migration'], // the walk reads the pte without the ptl (pte_offset_map, ptep_get)
      run: (w, l) => {
        const vi = findVma(w, l.mm, l.vpn);
        if (vi < 0) return w.ret(-EFAULT); // hmm_vma_walk_hole without a vma
        const flags = vma(w, vi).flags;
        if (flags & (VM_IO | VM_PFNMAP) || !(flags & VM_READ)) return w.ret(-EFAULT); // hmm_vma_walk_test
        const p = pte(w, l.mm, l.vpn);
        if (p.present) {
          if (p.special) return w.ret(-EFAULT); // !vm_normal_page() and a fault was required
          if (!l.write || p.write) return w.ret(hmmPfnEncode(p.pfn, p.write === 1));
        } else if (p.migration) {
          return w.call(migrationEntryWait, 'check', l.mm, l.vpn, p.migration); // then -EBUSY: walk again
        }
        // pte_none, swap entry, or read-only while write was requested: hmm_vma_fault.
        if (l.write && !(flags & VM_WRITE)) return w.ret(-EPERM);
        return w.call(handleMmFault, 'faulted', l.mm, l.vpn, l.write);
      },
    },
    faulted: {
      at: 'mm/hmm.c:hmm_vma_fault',
      run: (w, l) => {
        const r = l.result;
        l.result = 0;
        if (r & VM_FAULT_ERROR) return w.ret(-EFAULT);
        return 'check'; // -EBUSY from the walker: loop, re-checking the sequence first
      },
    },
  },
});
