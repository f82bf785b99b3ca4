/**
 * The page-fault handler (mm/memory.c, v6.x shape): handle_mm_fault → handle_pte_fault, which
 * reads the pte without the lock and dispatches on it:
 *   none      → do_anonymous_page (anon VMA) or do_fault → vm_ops->fault
 *   swap      → do_swap_page
 *   migration → migration_entry_wait, then return 0 (the access is retried by the caller)
 *   present   → under the ptl: pte_same recheck, then do_wp_page on a write to a read-only pte
 *               (wp_page_reuse or wp_page_copy, the COW break).
 * Returns 0 (or VM_FAULT_NOPAGE from a driver) when the caller should retry its lookup, or
 * VM_FAULT_SIGBUS / VM_FAULT_OOM. Installing into an empty or non-present slot fires no notifier;
 * only the COW break replaces a present pte and brackets it with invalidate_range_start/end.
 *
 * Simplifications: no zero page (a read fault on anon memory allocates, as with
 * mm_forbids_zeropage); no per-VMA locks (the caller must hold mmap_lock); no THP; a write fault
 * on a read-only pte of a *private* vm_ops VMA (COW of file/device memory) is SIGBUS, not copied;
 * page_mkwrite / pfn_mkwrite are not modelled (shared mappings are made writable in place);
 * free_swap_cache of the old page after a COW copy is not modelled.
 */
import { BLOCK_SLEEP } from '../../world/routine.js';
import type { World } from '../../world/world.js';
import {
  MMU_NOTIFY_CLEAR,
  VM_ANON,
  VM_FAULT_NOPAGE,
  VM_FAULT_OOM,
  VM_FAULT_SIGBUS,
  VM_SHARED,
  VM_WRITE,
} from '../flags.js';
import { assertHeld, folioLock, mmapLock, mutexLock, mutexUnlock, ptl, spinLock, spinUnlock } from '../locks.js';
import { allocPage, getPage, pageAddNewAnonRmap, pageDupRmap, pageRemoveRmap, putPage } from '../page.js';
import { findVma, pte, pteNone, setPte, vma } from '../pgtable.js';
import { PAGE, PTE, SWAP } from '../structs.js';
import { isNone, swpEntry, swpOffset } from '../ref.js';
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from '../notifier/mmu-notifier.js';
import { pteBits, pteSame, pteValue } from './pte-snap.js';
import { KERNEL } from '../library.js';

/** include/linux/mm_types.h:VM_FAULT_ERROR, restricted to the results the model produces. */
export const VM_FAULT_ERROR = VM_FAULT_OOM | VM_FAULT_SIGBUS;

/** Whether any pte of any mm other than (mm, vpn) still holds the swap entry of `slot` (the swap count). */
function otherSwapRefs(w: World, mm: number, vpn: number, slot: number): boolean {
  const self = mm * w.layout.dims.mmPages + vpn;
  const n = w.count(PTE);
  const entry = swpEntry(slot);
  for (let i = 0; i < n; i++) if (i !== self && w.obj(PTE, i).swap === entry) return true;
  return false;
}

/** The swap-cache page of `slot` (a non-free page whose page.swap is its entry), or 0. */
function swapCacheLookup(w: World, slot: number): number {
  const n = w.count(PAGE);
  for (let pfn = 1; pfn < n; pfn++) {
    const p = w.obj(PAGE, pfn);
    if (p.free === 0 && p.swap === swpEntry(slot)) return pfn;
  }
  return 0;
}

/**
 * mm/migrate.c:migration_entry_wait — sleep while the pte still holds migration entry `mig`
 * (the kernel sleeps on the folio lock, which migration holds until remove_migration_ptes has
 * replaced the entry). Returns 0; the caller retries its lookup, as the hardware retries the access.
 */
export const migrationEntryWait = KERNEL.routine({
  name: 'migration_entry_wait',
  params: ['mm', 'vpn', 'mig'],
  steps: {
    wait: { at: 'mm/migrate.c:migration_entry_wait', run: (w, l) => {
      const p = pte(w, l.mm, l.vpn);
      if (p.present === 0 && p.migration !== 0 && p.migration === l.mig) return BLOCK_SLEEP;
      return w.ret(0);
    } },
  },
});

/** handle_mm_fault(vma of (mm, vpn), write ? FAULT_FLAG_WRITE : 0). Caller holds mmap_lock of mm. */
export const handleMmFault = KERNEL.routine({
  name: 'handle_mm_fault',
  params: ['mm', 'vpn', 'write'],
  locals: ['vma', 'origVal', 'origBits', 'pfn', 'newPfn', 'copied', 'locked'],
  steps: {
    // find_vma + handle_pte_fault's lockless read of the pte (vmf->orig_pte).
    lookup: { at: 'mm/memory.c:handle_pte_fault', run: (w, l) => {
      assertHeld(w, mmapLock(w, l.mm), 'handle_mm_fault'); // mmap_assert_locked
      l.vma = findVma(w, l.mm, l.vpn);
      if (l.vma < 0) return w.ret(VM_FAULT_SIGBUS); // the arch handler would send SIGSEGV
      const v = vma(w, l.vma);
      // The arch handler (access_error) and GUP (check_vma_flags) refuse this before calling us;
      // answering SIGBUS keeps a careless caller from looping on wp_page_reuse.
      if (l.write && !(v.flags & VM_WRITE)) return w.ret(VM_FAULT_SIGBUS);
      const p = pte(w, l.mm, l.vpn);
      l.origVal = pteValue(p);
      l.origBits = pteBits(p);
      if (pteNone(p)) {
        if (v.flags & VM_ANON) return 'anonAlloc';
        if (isNone(v.fault)) return w.ret(VM_FAULT_SIGBUS); // do_fault: no ->fault
        return w.callRef(v.fault, 'driverFaulted', l.vma, l.vpn, l.write);
      }
      if (p.migration) return w.call(migrationEntryWait, 'done', l.mm, l.vpn, p.migration);
      if (p.swap) return 'swapin';
      return 'ptLock';
    } },
    driverFaulted: { at: 'mm/memory.c:__do_fault', run: (w, l) => w.ret(l.result) },
    done: { at: 'mm/memory.c:handle_pte_fault', run: (w, l) => w.ret(0) },

    // ---- do_anonymous_page ----
    anonAlloc: { at: 'mm/memory.c:do_anonymous_page alloc_anon_folio', run: (w, l) => {
      l.pfn = allocPage(w);
      if (l.pfn === 0) return w.ret(VM_FAULT_OOM);
      return 'anonMap';
    } },
    // pte_offset_map_lock; recheck pte_none (another thread may have faulted it in); install.
    anonMap: { at: 'mm/memory.c:do_anonymous_page', run: (w, l) => {
      const lock = ptl(w, l.mm);
      const b = spinLock(w, lock); // pte_offset_map_lock
      if (b) return b;
      if (!pteNone(pte(w, l.mm, l.vpn))) {
        spinUnlock(w, lock);
        putPage(w, l.pfn); // release: folio_put
        return w.ret(0);
      }
      pageAddNewAnonRmap(w, l.pfn, l.mm, l.vpn);
      setPte(w, l.mm, l.vpn, l.pfn, (vma(w, l.vma).flags & VM_WRITE) !== 0, false);
      spinUnlock(w, lock);
      return w.ret(0);
    } },

    // ---- do_swap_page ----
    // swap_cache_get_folio, else allocate and read the slot (swap_read_folio).
    swapin: { at: 'mm/memory.c:do_swap_page', run: (w, l) => {
      const slot = swpOffset(l.origVal);
      if (w.obj(SWAP, slot).used === 0) return w.ret(0); // entry already freed: the pte changed, retry
      l.pfn = swapCacheLookup(w, slot);
      if (l.pfn !== 0) {
        getPage(w, l.pfn);
        return 'swapLock';
      }
      l.pfn = allocPage(w);
      if (l.pfn === 0) return w.ret(VM_FAULT_OOM);
      w.obj(PAGE, l.pfn).contents = w.obj(SWAP, slot).contents;
      return 'swapMap';
    } },
    // A swap-cache page is locked before it is mapped (folio_lock_or_retry): reclaim holds the
    // lock from add_to_swap to the free, so the fault cannot map a page reclaim is tearing down.
    swapLock: { at: 'mm/memory.c:do_swap_page folio_lock_or_retry', run: (w, l) => {
      const b = mutexLock(w, folioLock(w, l.pfn)); // folio_lock
      if (b) return b;
      l.locked = 1;
      if (w.obj(PAGE, l.pfn).swap !== l.origVal) {
        // Left the swap cache while we waited: page_swap_entry(page) != entry → out_page, retry.
        mutexUnlock(w, folioLock(w, l.pfn));
        putPage(w, l.pfn);
        return w.ret(0);
      }
      return 'swapMap';
    } },
    swapMap: { at: 'mm/memory.c:do_swap_page pte_offset_map_lock', run: (w, l) => {
      const lock = ptl(w, l.mm);
      const b = spinLock(w, lock); // pte_offset_map_lock
      if (b) return b;
      if (!pteSame(w, l.mm, l.vpn, l.origVal, l.origBits)) {
        spinUnlock(w, lock); // out_nomap
        if (l.locked) mutexUnlock(w, folioLock(w, l.pfn));
        putPage(w, l.pfn);
        return w.ret(0);
      }
      const slot = swpOffset(l.origVal);
      const others = otherSwapRefs(w, l.mm, l.vpn, slot);
      const pg = w.obj(PAGE, l.pfn);
      const exclusive = !others && pg.mapcount === 0;
      const writable = l.write !== 0 && exclusive && (vma(w, l.vma).flags & VM_WRITE) !== 0;
      if (pg.mapcount === 0) pageAddNewAnonRmap(w, l.pfn, l.mm, l.vpn);
      else pageDupRmap(w, l.pfn);
      setPte(w, l.mm, l.vpn, l.pfn, writable, false);
      // swap_free: the slot goes when no pte references it — unless the page is still in the swap
      // cache, which holds the slot itself (SWAP_HAS_CACHE) until reclaim removes it.
      if (!others && pg.swap !== swpEntry(slot)) {
        const s = w.obj(SWAP, slot);
        s.used = 0;
        s.contents = 0;
      }
      spinUnlock(w, lock);
      if (l.locked) mutexUnlock(w, folioLock(w, l.pfn));
      return w.ret(0);
    } },

    // vm_ops->pfn_mkwrite returned: VM_FAULT_NOPAGE / an error ends the fault (the access
    // retries), 0 means finish_mkwrite_fault: relock, recheck, upgrade in place.
    mkwriteDone: { at: 'mm/memory.c:wp_pfn_shared', run: (w, l) => {
      const r = l.result;
      if (r & (VM_FAULT_ERROR | VM_FAULT_NOPAGE)) return w.ret(r);
      l.result = 0;
      return 'finishMkwrite';
    } },
    finishMkwrite: { at: 'mm/memory.c:finish_mkwrite_fault', run: (w, l) => {
      const lock = ptl(w, l.mm);
      const b = spinLock(w, lock); // pte_offset_map_lock
      if (b) return b;
      if (pteSame(w, l.mm, l.vpn, l.origVal, l.origBits)) pte(w, l.mm, l.vpn).write = 1;
      spinUnlock(w, lock);
      return w.ret(0);
    } },

    // ---- present pte: handle_pte_fault under the ptl, then do_wp_page ----
    ptLock: { at: 'mm/memory.c:handle_pte_fault spin_lock(vmf->ptl)', run: (w, l) => {
      const lock = ptl(w, l.mm);
      const b = spinLock(w, lock); // spin_lock(vmf->ptl)
      if (b) return b;
      if (!pteSame(w, l.mm, l.vpn, l.origVal, l.origBits)) {
        spinUnlock(w, lock); // someone changed it since our lockless read: retry
        return w.ret(0);
      }
      const p = pte(w, l.mm, l.vpn);
      if (!l.write || p.write) {
        spinUnlock(w, lock); // pte_mkyoung: nothing the model tracks
        return w.ret(0);
      }
      // do_wp_page
      const flags = vma(w, l.vma).flags;
      if (p.special || flags & VM_SHARED) {
        if (!(flags & VM_SHARED)) {
          spinUnlock(w, lock);
          return w.ret(VM_FAULT_SIGBUS); // private COW of a pfn mapping: not modelled
        }
        const mkwrite = vma(w, l.vma).pfnMkwrite;
        if (p.special && mkwrite) {
          // wp_pfn_shared: the driver decides (FAULT_FLAG_MKWRITE), without the ptl
          spinUnlock(w, lock);
          return w.callRef(mkwrite, 'mkwriteDone', l.vma, l.vpn);
        }
        p.write = 1; // wp_pfn_shared / wp_page_shared → wp_page_reuse
        spinUnlock(w, lock);
        return w.ret(0);
      }
      const pg = w.obj(PAGE, p.pfn);
      if (pg.anon && pg.mapcount === 1 && pg.refcount === 1) {
        p.write = 1; // wp_page_reuse: exclusively ours, upgrade in place, no notifier
        spinUnlock(w, lock);
        return w.ret(0);
      }
      getPage(w, p.pfn); // folio_get: keep the old page while we copy without the lock
      l.pfn = p.pfn;
      spinUnlock(w, lock);
      return 'cowAlloc';
    } },

    // ---- wp_page_copy ----
    cowAlloc: { at: 'mm/memory.c:wp_page_copy copy_user_highpage', run: (w, l) => {
      l.newPfn = allocPage(w);
      if (l.newPfn === 0) {
        putPage(w, l.pfn);
        return w.ret(VM_FAULT_OOM);
      }
      w.obj(PAGE, l.newPfn).contents = w.obj(PAGE, l.pfn).contents;
      return 'cowStart';
    } },
    cowStart: { at: 'mm/memory.c:wp_page_copy mmu_notifier_invalidate_range_start', run: (w, l) =>
      w.call(mmuNotifierInvalidateRangeStart, 'cowMap', l.mm, l.vpn, l.vpn + 1, MMU_NOTIFY_CLEAR, 1) },
    // Re-take the ptl and recheck: the pte may have changed since do_wp_page dropped the lock.
    cowMap: { at: 'mm/memory.c:wp_page_copy pte_offset_map_lock', run: (w, l) => {
      const lock = ptl(w, l.mm);
      const b = spinLock(w, lock); // pte_offset_map_lock
      if (b) return b;
      if (pteSame(w, l.mm, l.vpn, l.origVal, l.origBits)) {
        // ptep_clear_flush; folio_add_new_anon_rmap(new); set_pte_at(new, writable); remove old rmap
        pageAddNewAnonRmap(w, l.newPfn, l.mm, l.vpn);
        setPte(w, l.mm, l.vpn, l.newPfn, (vma(w, l.vma).flags & VM_WRITE) !== 0, false);
        pageRemoveRmap(w, l.pfn);
        l.copied = 1;
      }
      spinUnlock(w, lock);
      return 'cowEnd';
    } },
    cowEnd: { at: 'mm/memory.c:wp_page_copy mmu_notifier_invalidate_range_end', run: (w, l) =>
      w.call(mmuNotifierInvalidateRangeEnd, 'cowPut', l.mm, l.vpn, l.vpn + 1, MMU_NOTIFY_CLEAR, 1) },
    // folio_put(new_folio) — the old page's pte reference once copied, else the unused copy —
    // then folio_put(old_folio) for the reference do_wp_page took.
    cowPut: { at: 'mm/memory.c:wp_page_copy folio_put', run: (w, l) => {
      putPage(w, l.copied ? l.pfn : l.newPfn);
      putPage(w, l.pfn);
      return w.ret(0);
    } },
  },
});
