/**
 * The page-fault handler (mm/memory.c, v6.x shape), one routine per C function that spans steps:
 *
 *   handle_mm_fault → (__handle_mm_fault →) handle_pte_fault, which reads the pte without the
 *   lock (vmf->orig_pte) and dispatches on it:
 *     none        → do_pte_missing: do_anonymous_page (anon VMA, anonymous.ts) or do_fault →
 *                   __do_fault → vm_ops->fault
 *     non-present → do_swap_page (swap-in.ts): swap-in, or migration_entry_wait on a migration entry
 *     present     → under the ptl: pte_same recheck, then on a write to a read-only pte do_wp_page
 *                   (wp.ts): wp_page_reuse, wp_page_copy (the COW break) or wp_pfn_shared.
 *
 * Each routine returns what its C function returns: 0 (or VM_FAULT_NOPAGE from a driver) when the
 * caller should retry its lookup, VM_FAULT_SIGBUS, VM_FAULT_OOM, or a driver's VM_FAULT_RETRY.
 * Installing into an empty or non-present slot fires no notifier; only the COW break replaces a
 * present pte and brackets it with invalidate_range_start/end.
 *
 * Where the model departs from the C's call structure, and why:
 *   - every step that touches shared state is kept where it was when this was one routine (the
 *     explorer's states are the same); calls and returns touch only the actor's own frames;
 *   - the arch handler's / GUP's checks (find_vma, access_error / check_vma_flags) and
 *     handle_mm_fault's mmap_lock assertion are one atomic step with handle_pte_fault's lockless
 *     read (the model's handle_mm_fault takes (mm, vpn), not a vma): they live in that step;
 *   - __handle_mm_fault (the pgd..pmd walk, not modelled), do_pte_missing, do_fault with its
 *     do_read_fault / do_cow_fault / do_shared_fault, and __do_fault only dispatch: their
 *     decisions are part of handle_pte_fault's step, which calls vm_ops->fault itself. They have
 *     no frames of their own because every frame counts: the deepest catalogue paths (a driver
 *     fault whose hmm_range_fault breaks a COW that the driver's invalidation answers with
 *     zap_vma_ptes; a COW break under KVM's GUP with the same nested invalidation) use all 16
 *     frames of the scenarios;
 *   - do_wp_page and wp_page_reuse run under handle_pte_fault's ptl inside its step: functions, not
 *     routines (wp.ts).
 *
 * With the thp layer, handle_mm_fault's step is __handle_mm_fault's PMD level (huge.ts:
 * hugePmdFault): pmd_none in a THP-eligible range goes to do_huge_pmd_anonymous_page, a write to a
 * read-only PMD splits it and retries.
 *
 * Simplifications: no per-VMA locks (the caller must hold mmap_lock); no NUMA hinting
 * faults, no userfaultfd.
 */
import { FAULT_FLAG_UNSHARE, FAULT_FLAG_WRITE, VM_ANON, VM_FAULT_SIGBUS, VM_WRITE } from '../flags.js';
import { assertHeld, mmapLock, ptl, spinLock, spinUnlock } from '../locks.js';
import { findVma, pte, pteNone, vma } from '../pgtable.js';
import { isNone } from '../ref.js';
import { pteBits, pteSame, pteValue } from './pte-snap.js';
import { doAnonymousPage } from './anonymous.js';
import { doSwapPage } from './swap-in.js';
import { doWpPage } from './wp.js';
import { KERNEL } from '../library.js';
import { doHugePmdAnonymousPage, hugePmdFault, PMD_CREATE, PMD_NONE_OR_PTES, PMD_SPLIT, splitHugePmd, thpEnabled, VM_FAULT_FALLBACK } from '../huge.js';

export { VM_FAULT_ERROR } from './vm-fault.js';
export { migrationEntryWait } from './migration-wait.js';

/**
 * handle_pte_fault(vmf) for (mm, vpn); `write` is vmf->flags: FAULT_FLAG_WRITE (1, so a boolean
 * will do) or FAULT_FLAG_UNSHARE (GUP's R/O pin of a shared page, src/kernel/pin.ts).
 * Caller holds mmap_lock of mm.
 */
export const handlePteFault = KERNEL.routine({
  name: 'handle_pte_fault',
  params: ['mm', 'vpn', 'write'],
  locals: ['vma', 'origVal', 'origBits'],
  steps: {
    // vmf->orig_pte = ptep_get_lockless(vmf->pte), and the dispatch on it; with the caller's checks.
    readPte: {
      at: 'mm/memory.c:handle_pte_fault ptep_get_lockless',
      lockless: ['pte.pfn', 'pte.present', 'pte.write', 'pte.special', 'pte.swap', 'pte.migration', 'pte.devPrivate'],
      run: (w, l) => {
        assertHeld(w, mmapLock(w, l.mm), 'handle_mm_fault'); // mmap_assert_locked
        l.vma = findVma(w, l.mm, l.vpn);
        if (l.vma < 0) return w.ret(VM_FAULT_SIGBUS); // the arch handler would send SIGSEGV
        const v = vma(w, l.vma);
        // The arch handler (access_error) and GUP (check_vma_flags) refuse this before calling us;
        // answering SIGBUS keeps a careless caller from looping on wp_page_reuse.
        const write = l.write & FAULT_FLAG_WRITE;
        if (write && !(v.flags & VM_WRITE)) return w.ret(VM_FAULT_SIGBUS);
        const p = pte(w, l.mm, l.vpn);
        l.origVal = pteValue(p);
        l.origBits = pteBits(p);
        if (pteNone(p)) {
          // do_pte_missing
          if (v.flags & VM_ANON) return w.call(doAnonymousPage, 'done', l.mm, l.vpn, l.vma, write);
          // do_fault: no ->fault is SIGBUS; do_read_fault / do_cow_fault / do_shared_fault →
          // __do_fault → vma->vm_ops->fault. Model drivers install the pte themselves
          // (vmf_insert_pfn) and return VM_FAULT_NOPAGE, an error or VM_FAULT_RETRY, which
          // __do_fault and do_read_fault return as is: neither vmf->page's folio lock nor
          // finish_fault is reached.
          if (isNone(v.fault)) return w.ret(VM_FAULT_SIGBUS);
          return w.callRef(v.fault, 'done', l.vma, l.vpn, write);
        }
        if (!p.present) return w.call(doSwapPage, 'done', l.mm, l.vpn, write, l.vma, l.origVal, l.origBits);
        return 'ptLock';
      },
    },
    ptLock: {
      at: 'mm/memory.c:handle_pte_fault spin_lock(vmf->ptl)',
      run: (w, l) => {
        const lock = ptl(w, l.mm);
        const b = spinLock(w, lock); // spin_lock(vmf->ptl)
        if (b) return b;
        if (!pteSame(w, l.mm, l.vpn, l.origVal, l.origBits)) {
          spinUnlock(w, lock); // someone changed it since our lockless read: goto unlock, retry
          return w.ret(0);
        }
        // A write or an unshare of a read-only pte: do_wp_page.
        if (l.write & (FAULT_FLAG_WRITE | FAULT_FLAG_UNSHARE) && !pte(w, l.mm, l.vpn).write) {
          return doWpPage(w, l.mm, l.vpn, l.vma, l.origVal, l.origBits, 'done', (l.write & FAULT_FLAG_UNSHARE) !== 0);
        }
        spinUnlock(w, lock); // pte_mkyoung / ptep_set_access_flags: nothing the model tracks; unlock
        return w.ret(0);
      },
    },
    // `return do_anonymous_page(vmf)` and the other tail calls: the callee's result.
    done: { at: 'mm/memory.c:handle_pte_fault', run: (w, l) => w.ret(l.result) },
  },
});

/** handle_mm_fault(vma of (mm, vpn), write ? FAULT_FLAG_WRITE : 0). Caller holds mmap_lock of mm. */
export const handleMmFault = KERNEL.routine({
  name: 'handle_mm_fault',
  params: ['mm', 'vpn', 'write'],
  steps: {
    fault: {
      at: 'mm/memory.c:handle_mm_fault __handle_mm_fault',
      // With the thp layer: vmf.orig_pmd = pmdp_get_lockless(vmf.pmd), one read of the PMD (huge.ts).
      lockless: ['pte.pfn', 'pte.present', 'pte.write', 'pte.special', 'pte.swap', 'pte.migration', 'pte.devPrivate', 'pte.huge'],
      run: (w, l) => {
        const pmd = thpEnabled(w) ? hugePmdFault(w, l.mm, l.vpn, l.write) : PMD_NONE_OR_PTES;
        if (pmd === PMD_CREATE) return w.call(doHugePmdAnonymousPage, 'out', l.mm, l.vpn, findVma(w, l.mm, l.vpn));
        // do_huge_pmd_wp_page's fallback: __split_huge_pmd, VM_FAULT_FALLBACK; the access retries at the pte level.
        if (pmd === PMD_SPLIT) return w.call(splitHugePmd, 'out', l.mm, l.vpn);
        return w.call(handlePteFault, 'out', l.mm, l.vpn, l.write);
      },
    },
    // out: mm_account_fault (nothing the model tracks); return ret.
    out: {
      at: 'mm/memory.c:handle_mm_fault mm_account_fault',
      run: (w, l) => {
        // create_huge_pmd gave VM_FAULT_FALLBACK (thp layer): __handle_mm_fault goes on to the pte
        // level. Kept in this step, no label of its own: the catalogue's `exercises` lists every
        // label a routine has, and without the layer this one would never run.
        if (l.result === VM_FAULT_FALLBACK) {
          l.result = 0;
          return w.call(handlePteFault, 'out', l.mm, l.vpn, l.write);
        }
        return w.ret(l.result);
      },
    },
  },
});
