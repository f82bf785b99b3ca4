/**
 * mm/rmap.c:folio_referenced — the aging walk reclaim runs on a folio (folio_check_references)
 * and that page_idle and MGLRU's look-around stand beside (layer dirty-accessed): for every pte
 * the rmap finds mapping the folio, under its ptl (page_vma_mapped_walk),
 * ptep_clear_flush_young_notify — the pte's accessed bit tested and cleared
 * (ptep_clear_flush_young), then every secondary asked and cleared too
 * (mmu_notifier_clear_flush_young on the page's range) — and a mapping that was young in either
 * counts once. Returns the number of referenced mappings.
 *
 * Simplifications: the walk is the rmap cursor of rmap.ts (no anon_vma lock: the pte is
 * re-checked under the ptl); the MGLRU look-around and the VM_LOCKED / VM_SEQ_READ exits are not
 * modelled; the TLB flush of a young pte is the model's nothing (no CPU TLB without cpu-tlb).
 */
import { ptl, spinLock, spinUnlock } from '../locks.js';
import { pte } from '../pgtable.js';
import { PAGE } from '../structs.js';
import { KERNEL } from '../library.js';
import { mmuNotifierClearFlushYoung } from '../notifier/young.js';
import { mapsPage, rmapNextMm } from './rmap.js';

export const folioReferenced = KERNEL.routine({
  name: 'folio_referenced',
  params: ['pfn'],
  locals: ['next', 'mm', 'vpn', 'young', 'referenced'],
  steps: {
    walk: {
      at: 'mm/rmap.c:rmap_walk_anon',
      // An anon folio is walked without its lock (page_idle_clear_pte_refs, folio_referenced:
      // need_lock only for file or KSM folios); its index (folio_pgoff) is fixed while it is mapped.
      lockless: ['page.index'],
      run: (w, l) => {
        const mm = rmapNextMm(w, l.pfn, l.next);
        if (mm < 0) {
          const referenced = l.referenced;
          [l.next, l.mm, l.vpn, l.referenced] = [0, 0, 0, 0];
          return w.ret(referenced);
        }
        l.next = mm + 1;
        l.mm = mm;
        l.vpn = w.obj(PAGE, l.pfn).index;
        return 'one';
      },
    },
    // folio_referenced_one under the ptl page_vma_mapped_walk took: ptep_clear_flush_young, then
    // the notifier, still under the ptl (ptep_clear_flush_young_notify).
    one: {
      at: 'mm/rmap.c:folio_referenced_one ptep_clear_flush_young',
      run: (w, l) => {
        const b = spinLock(w, ptl(w, l.mm)); // page_vma_mapped_walk: pte_offset_map_lock
        if (b) return b;
        const p = pte(w, l.mm, l.vpn);
        if (!mapsPage(p, l.pfn)) {
          spinUnlock(w, ptl(w, l.mm));
          return 'walk';
        }
        l.young = p.young;
        p.young = 0;
        return w.call(mmuNotifierClearFlushYoung, 'notified', l.mm, l.vpn, l.vpn + 1);
      },
    },
    notified: {
      at: 'mm/rmap.c:folio_referenced_one if (ptep_clear_flush_young_notify()) referenced++',
      run: (w, l) => {
        if (l.young || l.result) l.referenced = l.referenced + 1;
        [l.young, l.result] = [0, 0];
        spinUnlock(w, ptl(w, l.mm)); // page_vma_mapped_walk_done
        return 'walk';
      },
    },
  },
});
