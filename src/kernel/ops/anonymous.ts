/**
 * mm/memory.c:do_anonymous_page — a fault on an empty pte of an anonymous VMA: allocate a page,
 * then under the ptl recheck that the pte is still empty (another thread may have faulted it in)
 * and install it. Installing into an empty slot fires no notifier.
 *
 * A read fault maps the shared zero page when the scenario has the zero-page layer
 * (src/kernel/zero-page.ts); without it a read fault allocates, as with mm_forbids_zeropage.
 *
 * Simplifications: no THP (alloc_anon_folio allocates one page), no userfaultfd.
 */
import { VM_FAULT_OOM, VM_WRITE } from '../flags.js';
import { ptl, spinLock, spinUnlock } from '../locks.js';
import { allocPage, pageAddNewAnonRmap, putPage } from '../page.js';
import { pte, pteNone, setPte, vma } from '../pgtable.js';
import { KERNEL } from '../library.js';
import { myZeroPfn, useZeroPage } from '../zero-page.js';
import { PAGE } from '../structs.js';

/** do_anonymous_page(vmf) for (mm, vpn) in VMA `vma`, a write fault when `write`. Returns 0 (installed, or lost the race: retry) or VM_FAULT_OOM. */
export const doAnonymousPage = KERNEL.routine({
  name: 'do_anonymous_page',
  params: ['mm', 'vpn', 'vma', 'write'],
  locals: ['pfn'],
  steps: {
    alloc: {
      at: 'mm/memory.c:do_anonymous_page alloc_anon_folio',
      run: (w, l) => {
        if (useZeroPage(w, l.write !== 0)) return 'zeroPage'; // "Use the zero-page for reads"
        l.pfn = allocPage(w);
        if (l.pfn === 0) return w.ret(VM_FAULT_OOM); // goto oom
        return 'ptLock';
      },
    },
    ptLock: {
      at: 'mm/memory.c:do_anonymous_page pte_offset_map_lock',
      run: (w, l) => {
        // The new page is ours until set_pte_at publishes it.
        w.own(PAGE, l.pfn);
        const lock = ptl(w, l.mm);
        const b = spinLock(w, lock); // pte_offset_map_lock
        if (b) return b;
        if (!pteNone(pte(w, l.mm, l.vpn))) {
          // vmf_pte_changed: goto release (folio_put), then unlock
          putPage(w, l.pfn);
          spinUnlock(w, lock);
          return w.ret(0);
        }
        pageAddNewAnonRmap(w, l.pfn, l.mm, l.vpn); // folio_add_new_anon_rmap
        setPte(w, l.mm, l.vpn, l.pfn, (vma(w, l.vma).flags & VM_WRITE) !== 0, false); // setpte: set_ptes
        spinUnlock(w, lock); // unlock
        return w.ret(0);
      },
    },
    // entry = pte_mkspecial(pfn_pte(my_zero_pfn(vmf->address), vma->vm_page_prot)): read-only, special.
    zeroPage: {
      at: 'mm/memory.c:do_anonymous_page my_zero_pfn',
      run: (w, l) => {
        const lock = ptl(w, l.mm);
        const b = spinLock(w, lock); // pte_offset_map_lock
        if (b) return b;
        // vmf_pte_changed: goto unlock; else goto setpte
        if (pteNone(pte(w, l.mm, l.vpn))) setPte(w, l.mm, l.vpn, myZeroPfn(w), false, true);
        spinUnlock(w, lock);
        return w.ret(0);
      },
    },
  },
});
