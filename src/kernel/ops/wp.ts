/**
 * Write-protect faults (mm/memory.c): do_wp_page on a write to a read-only present pte, and what
 * it hands the fault to — wp_page_reuse (upgrade in place), wp_page_copy (the COW break: the only
 * fault path that replaces a present pte, bracketed by invalidate_range_start/end), and
 * wp_pfn_shared (a shared pfn mapping: the driver's ->pfn_mkwrite, then finish_mkwrite_fault).
 *
 * do_wp_page and wp_page_reuse run entirely under the ptl that handle_pte_fault took, inside its
 * step: they are functions called from that step, not routines (a routine call would put a step
 * boundary inside the locked section). Their tail calls (`return wp_page_copy(vmf)`,
 * `return wp_pfn_shared(vmf)`) end the step with a call of the routine, which resumes the caller.
 *
 * Simplifications: a write fault on a read-only pte of a *private* pfn mapping (COW of
 * file/device memory) is SIGBUS, not copied; page_mkwrite is not modelled (wp_page_shared reuses
 * in place); free_swap_cache of the old page after a COW copy is not modelled.
 */
import type { World } from '../../world/world.js';
import type { StepResult } from '../../world/routine.js';
import { MMU_NOTIFY_CLEAR, VM_FAULT_NOPAGE, VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_SHARED, VM_WRITE } from '../flags.js';
import { assertHeld, ptl, spinLock, spinUnlock } from '../locks.js';
import { allocPage, folioPfn, getPage, pageAddNewAnonRmap, pageRemoveRmap, putPage } from '../page.js';
import { pte, setPte, vma } from '../pgtable.js';
import { PAGE } from '../structs.js';
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from '../notifier/mmu-notifier.js';
import { pteSame } from './pte-snap.js';
import { VM_FAULT_ERROR } from './vm-fault.js';
import { flushTlbPage } from '../tlb.js';
import { KERNEL } from '../library.js';
import { dirtyAccessed } from '../dirty.js';
import { pageAnonExclusive } from '../pin.js';
import { isZeroPfn } from '../zero-page.js';

/**
 * mm/memory.c:wp_page_reuse — make the faulting pte writable in place (pte_mkyoung, pte_mkdirty,
 * maybe_mkwrite; no notifier: nothing is removed or downgraded), then pte_unmap_unlock.
 * Called under the ptl of `mm`.
 */
export function wpPageReuse(w: World, mm: number, vpn: number): void {
  const lock = ptl(w, mm);
  assertHeld(w, lock, 'wp_page_reuse');
  const p = pte(w, mm, vpn);
  p.write = 1;
  if (dirtyAccessed(w)) {
    p.young = 1; // pte_mkyoung
    p.dirty = 1; // pte_mkdirty
  }
  spinUnlock(w, lock); // pte_unmap_unlock
}

/**
 * mm/memory.c:do_wp_page — called from handle_pte_fault's step under the ptl of `mm`, after
 * pte_same, on a write to the read-only present pte (mm, vpn) of VMA `vma`. Releases the ptl in
 * every case and returns what the step returns: `w.ret` of the result, or a call of wp_page_copy /
 * wp_pfn_shared that resumes the caller at `resume` with the callee's result.
 */
export function doWpPage(w: World, mm: number, vpn: number, vmaIndex: number, origVal: number, origBits: number, resume: string, unshare = false): StepResult {
  const lock = ptl(w, mm);
  assertHeld(w, lock, 'do_wp_page');
  const p = pte(w, mm, vpn);
  const v = vma(w, vmaIndex);
  // vmf->page = vm_normal_page(): none for a special pte. The zero page of a private mapping
  // (is_zero_pfn) is copied to a new zeroed page: no folio_get, nothing to put or unmap.
  if (p.special && !(v.flags & VM_SHARED) && isZeroPfn(w, p.pfn)) {
    spinUnlock(w, lock); // pte_unmap_unlock
    return w.call(wpPageCopy, resume, mm, vpn, vmaIndex, origVal, origBits, 0, unshare ? 1 : 0);
  }
  if (p.special || v.flags & VM_SHARED) {
    if (!(v.flags & VM_SHARED)) {
      spinUnlock(w, lock);
      return w.ret(VM_FAULT_SIGBUS); // private COW of a pfn mapping: not modelled
    }
    // Shared mapping: wp_pfn_shared (no page) or wp_page_shared.
    if (p.special && v.pfnMkwrite) {
      // wp_pfn_shared with ->pfn_mkwrite: pte_unmap_unlock, then the driver decides (FAULT_FLAG_MKWRITE).
      spinUnlock(w, lock);
      return w.call(wpPfnShared, resume, mm, vpn, vmaIndex, origVal, origBits, v.pfnMkwrite);
    }
    wpPageReuse(w, mm, vpn); // wp_pfn_shared / wp_page_shared without a mkwrite callback
    return w.ret(0);
  }
  // Private mapping: reuse an exclusive anon page (PageAnonExclusive, or wp_can_reuse_anon_folio:
  // nobody else maps or holds it), else copy. A pinned page is exclusive (src/kernel/pin.ts): it is
  // reused whatever its refcount, so the pin keeps seeing what the mm writes.
  const pg = w.obj(PAGE, p.pfn);
  if (pg.anon && (pageAnonExclusive(w, p.pfn) || (pg.mapcount === 1 && w.obj(PAGE, folioPfn(w, p.pfn)).refcount === 1))) {
    if (unshare) {
      // An unshare leaves the pte read-only: the page is only marked exclusive (SetPageAnonExclusive).
      pg.anonExclusive = 1;
      spinUnlock(w, lock);
      return w.ret(0);
    }
    wpPageReuse(w, mm, vpn);
    return w.ret(0);
  }
  const oldPfn = p.pfn; // vmf->page, read under the lock
  getPage(w, oldPfn); // folio_get: keep the old page while wp_page_copy copies without the lock
  spinUnlock(w, lock); // pte_unmap_unlock
  return w.call(wpPageCopy, resume, mm, vpn, vmaIndex, origVal, origBits, oldPfn, unshare ? 1 : 0);
}

/**
 * wp_page_copy(vmf) for (mm, vpn) in VMA `vma`: called without the ptl, holding a reference on
 * the old page `oldPfn`, which (origVal, origBits) maps, or with `oldPfn` 0 for the zero page
 * (old_folio == NULL: the new page is zeroed, not copied); `unshare` for FAULT_FLAG_UNSHARE.
 * Returns 0 (copied, or the pte changed: retry) or VM_FAULT_OOM.
 */
export const wpPageCopy = KERNEL.routine({
  name: 'wp_page_copy',
  params: ['mm', 'vpn', 'vma', 'origVal', 'origBits', 'oldPfn', 'unshare'],
  locals: ['newPfn', 'copied'],
  steps: {
    // folio_prealloc + __wp_page_copy_user: the copy is made before the notifier range starts.
    copy: {
      at: 'mm/memory.c:wp_page_copy folio_prealloc',
      run: (w, l) => {
        // pfn_is_zero: vma_alloc_zeroed_movable_folio (allocPage zeroes); else folio_prealloc + copy.
        l.newPfn = allocPage(w);
        if (l.newPfn === 0) {
          if (l.oldPfn) putPage(w, l.oldPfn); // oom: ret = VM_FAULT_OOM; out: if (old_folio) folio_put(old_folio)
          return w.ret(VM_FAULT_OOM);
        }
        if (l.oldPfn) w.obj(PAGE, l.newPfn).contents = w.obj(PAGE, l.oldPfn).contents;
        return 'start';
      },
    },
    start: { at: 'mm/memory.c:wp_page_copy mmu_notifier_invalidate_range_start', run: (w, l) => w.call(mmuNotifierInvalidateRangeStart, 'ptLock', l.mm, l.vpn, l.vpn + 1, MMU_NOTIFY_CLEAR, 1) },
    // Re-take the ptl and recheck: the pte may have changed since do_wp_page dropped the lock.
    ptLock: {
      at: 'mm/memory.c:wp_page_copy pte_offset_map_lock',
      run: (w, l) => {
        const lock = ptl(w, l.mm);
        // The new page is ours until set_pte_at publishes it (folio_add_new_anon_rmap's "new" folio).
        w.own(PAGE, l.newPfn);
        const b = spinLock(w, lock); // pte_offset_map_lock
        if (b) return b;
        if (pteSame(w, l.mm, l.vpn, l.origVal, l.origBits)) {
          // ptep_clear_flush; folio_add_new_anon_rmap(new); set_pte_at(new, writable); remove old rmap
          pageAddNewAnonRmap(w, l.newPfn, l.mm, l.vpn);
          // An unshare maps the copy read-only and exclusive (folio_add_new_anon_rmap(RMAP_EXCLUSIVE)):
          // the R/O pin that asked for it pins the copy next.
          if (l.unshare) w.obj(PAGE, l.newPfn).anonExclusive = 1;
          setPte(w, l.mm, l.vpn, l.newPfn, !l.unshare && (vma(w, l.vma).flags & VM_WRITE) !== 0, false);
          flushTlbPage(w, l.mm, l.vpn); // ptep_clear_flush: the old page's entry goes with the old pte
          if (l.oldPfn) pageRemoveRmap(w, l.oldPfn); // if (old_folio): the zero page has no rmap
          l.copied = 1; // new_folio = old_folio; page_copied = 1
        }
        spinUnlock(w, lock);
        return 'end';
      },
    },
    end: { at: 'mm/memory.c:wp_page_copy mmu_notifier_invalidate_range_end', run: (w, l) => w.call(mmuNotifierInvalidateRangeEnd, 'put', l.mm, l.vpn, l.vpn + 1, MMU_NOTIFY_CLEAR, 1) },
    // folio_put(new_folio) — the old page's pte reference once copied, else the unused copy —
    // then folio_put(old_folio) for the reference do_wp_page took.
    put: {
      at: 'mm/memory.c:wp_page_copy folio_put',
      run: (w, l) => {
        const put = l.copied ? l.oldPfn : l.newPfn;
        if (put) putPage(w, put); // if (new_folio): none once the zero page was replaced
        return 'putOld';
      },
    },
    // The reference do_wp_page took on the old page: a put of its own.
    putOld: {
      at: 'mm/memory.c:wp_page_copy folio_put(old_folio)',
      run: (w, l) => {
        if (l.oldPfn) putPage(w, l.oldPfn); // if (old_folio)
        return w.ret(0);
      },
    },
  },
});

/**
 * finish_mkwrite_fault(vmf) for (mm, vpn), whose pte was (origVal, origBits) when the fault read
 * it: relock, recheck, wp_page_reuse. Returns 0.
 */
export const finishMkwriteFault = KERNEL.routine({
  name: 'finish_mkwrite_fault',
  params: ['mm', 'vpn', 'origVal', 'origBits'],
  steps: {
    ptLock: {
      at: 'mm/memory.c:finish_mkwrite_fault pte_offset_map_lock',
      run: (w, l) => {
        const lock = ptl(w, l.mm);
        const b = spinLock(w, lock); // pte_offset_map_lock
        if (b) return b;
        if (pteSame(w, l.mm, l.vpn, l.origVal, l.origBits)) {
          wpPageReuse(w, l.mm, l.vpn);
          return w.ret(0);
        }
        // We raced with another fault: the kernel returns VM_FAULT_NOPAGE here; the model returns 0,
        // which every caller treats the same way (the access is retried).
        spinUnlock(w, lock);
        return w.ret(0);
      },
    },
  },
});

/**
 * The rest of wp_pfn_shared(vmf) once do_wp_page's step has dropped the ptl: call the driver's
 * ->pfn_mkwrite (`mkwrite`, the ops pointer do_wp_page read from the VMA) for (vma, vpn); an error
 * or VM_FAULT_NOPAGE ends the fault (the access retries), otherwise finish_mkwrite_fault upgrades
 * the pte in place. Returns the driver's result or finish_mkwrite_fault's.
 */
export const wpPfnShared = KERNEL.routine({
  name: 'wp_pfn_shared',
  params: ['mm', 'vpn', 'vma', 'origVal', 'origBits', 'mkwrite'],
  steps: {
    mkwrite: { at: 'mm/memory.c:wp_pfn_shared vma->vm_ops->pfn_mkwrite', run: (w, l) => w.callRef(l.mkwrite, 'mkwritten', l.vma, l.vpn) },
    mkwritten: {
      at: 'mm/memory.c:wp_pfn_shared',
      run: (w, l) => {
        const r = l.result;
        if (r & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)) return w.ret(r);
        l.result = 0; // ret is dead: finish_mkwrite_fault's result replaces it
        return w.call(finishMkwriteFault, 'finished', l.mm, l.vpn, l.origVal, l.origBits);
      },
    },
    finished: { at: 'mm/memory.c:wp_pfn_shared return finish_mkwrite_fault', run: (w, l) => w.ret(l.result) },
  },
});
