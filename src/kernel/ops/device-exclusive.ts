/**
 * Device-exclusive entries (v6.15: mm/rmap.c:make_device_exclusive with folio_walk, and
 * mm/memory.c:remove_device_exclusive_entry / restore_exclusive_pte), what a device with atomic
 * access to system memory (nouveau's SVM atomics, lib/test_hmm.c's HMM_DMIRROR_EXCLUSIVE) asks for:
 *
 *   make_device_exclusive(mm, addr, owner, &folio): GUP the page writable (FOLL_GET | FOLL_WRITE),
 *     anonymous only (-EOPNOTSUPP), folio_lock, invalidate_range_start(MMU_NOTIFY_EXCLUSIVE, owner)
 *     over the page, then under the ptl re-find the same page mapped writable (else -EBUSY) and
 *     replace the pte by a non-present device-exclusive entry holding its pfn, range_end; the
 *     caller gets the page locked and referenced, maps it in its device, then unlocks and puts it.
 *   a CPU fault on the entry (do_swap_page → remove_device_exclusive_entry): folio_try_get,
 *     folio_lock, invalidate_range_start(MMU_NOTIFY_EXCLUSIVE, owner NULL) over the page — the
 *     device drops its atomic mapping — and, under the ptl if the pte is unchanged, the present
 *     pte is put back (restore_exclusive_pte), then range_end.
 *
 * Since v6.15 ("mm/rmap: keep mapcount untouched for device-exclusive entries") the entry counts
 * as a mapping: the page keeps the mapcount and the reference its pte had, so neither making nor
 * restoring the entry touches them. The entry is always writable (make_device_exclusive_entry).
 *
 * The entry lives where the kernel keeps it, in the pte's swap-entry bits: a swp_entry_t of type
 * SWP_DEVICE_EXCLUSIVE whose offset is the pfn. Genuine swap entries are `swpEntry(slot)` (slot + 1,
 * positive), so the model writes a device-exclusive entry as -pfn in the same `swap` field: a fault
 * reads it as a non-present, non-none pte (handle_pte_fault → do_swap_page), pte_same compares it,
 * and no code that expects a swap slot can take it for one.
 *
 * Simplifications: owner is NULL in both of the kernel's calls the model has (test_hmm's and the
 * fault's), so no range->owner; one page per call (the kernel's folio_walk refuses anything but a
 * PTE-level mapping too, and the model has no THP); no soft-dirty or uffd-wp bits.
 */
import { refuseLargeFolio } from '../huge.js';
import type { World } from '../../world/world.js';
import { EBUSY, EOPNOTSUPP, MMU_NOTIFY_EXCLUSIVE, VM_WRITE } from '../flags.js';
import { assertHeld, folioLock, mmapLock, mutexLock, mutexUnlock, ptl, spinLock, spinUnlock } from '../locks.js';
import { getPage, putPage } from '../page.js';
import { clearPte, pte, setPte, vma, type PteView } from '../pgtable.js';
import { PAGE } from '../structs.js';
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from '../notifier/mmu-notifier.js';
import { getUserPagesRemote } from './gup.js';
import { pteSame } from './pte-snap.js';
import { flushTlbPage } from '../tlb.js';
import { KERNEL } from '../library.js';

/** include/linux/swapops.h:make_device_exclusive_entry — the swap-field value of the entry for `pfn` (see the file comment). */
export function makeDeviceExclusiveEntry(pfn: number): number {
  return -pfn;
}

/** include/linux/swapops.h:is_device_exclusive_entry, on the pte's swap field. */
export function isDeviceExclusiveEntry(entry: number): boolean {
  return entry < 0;
}

/** The pfn a device-exclusive entry holds (swp_offset_pfn / pfn_swap_entry_to_page). */
function deviceExclusiveEntryPfn(entry: number): number {
  return -entry;
}

/** The pfn a pte's device-exclusive entry holds, 0 if the pte holds none. */
export function deviceExclusivePfn(p: PteView): number {
  return p.present === 0 && isDeviceExclusiveEntry(p.swap) ? deviceExclusiveEntryPfn(p.swap) : 0;
}

/**
 * The step both conversions start with: folio_lock (sleeping) of `pfn`, then
 * mmu_notifier_invalidate_range_start(MMU_NOTIFY_EXCLUSIVE, owner NULL) over the page, resuming at `next`.
 */
function lockAndNotify(at: string, next: string) {
  return {
    at,
    run: (w: World, l: { mm: number; vpn: number; pfn: number }) => {
      const b = mutexLock(w, folioLock(w, l.pfn));
      if (b) return b;
      return w.call(mmuNotifierInvalidateRangeStart, next, l.mm, l.vpn, l.vpn + 1, MMU_NOTIFY_EXCLUSIVE, 1);
    },
  };
}

/**
 * make_device_exclusive(mm, vpn, NULL, &folio): the pfn, locked and with the GUP reference (the
 * caller's folio_unlock and folio_put), or -errno. Caller holds mmap_read_lock(mm).
 */
export const makeDeviceExclusive = KERNEL.routine({
  name: 'make_device_exclusive',
  params: ['mm', 'vpn'],
  locals: ['pfn', 'rc'],
  steps: {
    // "Fault in the page writable and try to lock it; note that if the address would already be
    // marked for exclusive use by a device, the GUP call would undo that first by triggering a fault."
    gup: {
      at: 'mm/rmap.c:make_device_exclusive get_user_page_vma_remote(FOLL_GET | FOLL_WRITE)',
      run: (w, l) => {
        assertHeld(w, mmapLock(w, l.mm), 'make_device_exclusive'); // mmap_assert_locked
        return w.call(getUserPagesRemote, 'got', l.mm, l.vpn, 1);
      },
    },
    got: {
      at: 'mm/rmap.c:make_device_exclusive folio_test_anon',
      run: (w, l) => {
        const r = l.result;
        l.result = 0;
        if (r < 0) return w.ret(r);
        refuseLargeFolio(w, r, 'make_device_exclusive');
        l.pfn = r;
        if (w.obj(PAGE, l.pfn).anon !== 1) {
          putPage(w, l.pfn); // folio_put
          l.pfn = 0;
          return w.ret(-EOPNOTSUPP);
        }
        return 'lock';
      },
    },
    // folio_lock_killable; then "Inform secondary MMUs that we are going to convert this PTE to
    // device-exclusive, such that they unmap it now."
    lock: lockAndNotify('mm/rmap.c:make_device_exclusive folio_lock_killable; mmu_notifier_invalidate_range_start(MMU_NOTIFY_EXCLUSIVE)', 'walk'),
    // folio_walk_start (under the ptl): the same page still mapped writable, else -EBUSY; then
    // ptep_clear_flush and set_pte_at of the device-exclusive entry; folio_walk_end.
    walk: {
      at: 'mm/rmap.c:make_device_exclusive folio_walk_start; ptep_clear_flush; set_pte_at(make_device_exclusive_entry)',
      run: (w, l) => {
        l.result = 0;
        const lock = ptl(w, l.mm);
        const b = spinLock(w, lock);
        if (b) return b;
        const p = pte(w, l.mm, l.vpn);
        if (p.present && p.pfn === l.pfn && p.write) {
          clearPte(w, l.mm, l.vpn); // ptep_clear_flush
          flushTlbPage(w, l.mm, l.vpn);
          p.swap = makeDeviceExclusiveEntry(l.pfn);
        } else {
          l.rc = -EBUSY;
        }
        spinUnlock(w, lock);
        return w.call(mmuNotifierInvalidateRangeEnd, l.rc ? 'failUnlock' : 'done', l.mm, l.vpn, l.vpn + 1, MMU_NOTIFY_EXCLUSIVE, 1);
      },
    },
    done: { at: 'mm/rmap.c:make_device_exclusive *foliop = folio; return page', run: (w, l) => w.ret(l.pfn) },
    // The page moved meanwhile: folio_unlock, folio_put (a put after an unlock is a step of its own), -EBUSY.
    failUnlock: {
      at: 'mm/rmap.c:make_device_exclusive folio_unlock',
      run: (w, l) => {
        mutexUnlock(w, folioLock(w, l.pfn));
        return 'failPut';
      },
    },
    failPut: {
      at: 'mm/rmap.c:make_device_exclusive folio_put; return ERR_PTR(-EBUSY)',
      run: (w, l) => {
        putPage(w, l.pfn);
        return w.ret(-EBUSY);
      },
    },
  },
});

/**
 * remove_device_exclusive_entry(vmf) for the device-exclusive entry `origVal` at (mm, vpn) in VMA
 * `vma` (do_swap_page's is_device_exclusive_entry branch): 0, and the access is retried.
 */
export const removeDeviceExclusiveEntry = KERNEL.routine({
  name: 'remove_device_exclusive_entry',
  params: ['mm', 'vpn', 'vma', 'origVal', 'origBits'],
  locals: ['pfn'],
  steps: {
    // "We need a reference to lock the folio because we don't hold the PTL so a racing thread can
    // remove the device-exclusive entry and unmap it. If the folio is free the entry must have
    // been removed already."
    get: {
      at: 'mm/memory.c:remove_device_exclusive_entry folio_try_get',
      run: (w, l) => {
        const pfn = deviceExclusiveEntryPfn(l.origVal); // vmf->page = pfn_swap_entry_to_page(entry)
        if (w.obj(PAGE, pfn).refcount <= 0) return w.ret(0);
        getPage(w, pfn);
        l.pfn = pfn;
        return 'lock';
      },
    },
    lock: lockAndNotify('mm/memory.c:remove_device_exclusive_entry folio_lock_or_retry; mmu_notifier_invalidate_range_start(MMU_NOTIFY_EXCLUSIVE)', 'restore'),
    // pte_offset_map_lock; if pte_same: restore_exclusive_pte; pte_unmap_unlock; folio_unlock.
    restore: {
      at: 'mm/memory.c:remove_device_exclusive_entry pte_same → restore_exclusive_pte; folio_unlock',
      run: (w, l) => {
        l.result = 0;
        const lock = ptl(w, l.mm);
        const b = spinLock(w, lock);
        if (b) return b;
        if (pteSame(w, l.mm, l.vpn, l.origVal, l.origBits)) restoreExclusivePte(w, l.mm, l.vpn, l.vma, l.pfn);
        spinUnlock(w, lock);
        mutexUnlock(w, folioLock(w, l.pfn));
        return 'put';
      },
    },
    put: {
      at: 'mm/memory.c:remove_device_exclusive_entry folio_put; mmu_notifier_invalidate_range_end',
      run: (w, l) => {
        putPage(w, l.pfn);
        return w.call(mmuNotifierInvalidateRangeEnd, 'out', l.mm, l.vpn, l.vpn + 1, MMU_NOTIFY_EXCLUSIVE, 1);
      },
    },
    out: { at: 'mm/memory.c:remove_device_exclusive_entry return 0', run: (w) => w.ret(0) },
  },
});

/**
 * mm/memory.c:restore_exclusive_pte (v6.15), under the ptl with the folio locked: the present pte
 * back, writable if the VMA is and the page is still this mapping's alone (can_change_pte_writable:
 * PageAnonExclusive, which the model reads as a mapcount of 1). No rmap or reference change: the
 * entry kept both. "No need to invalidate - it was non-present before."
 */
function restoreExclusivePte(w: World, mm: number, vpn: number, vmaIndex: number, pfn: number): void {
  const page = w.obj(PAGE, pfn);
  if (page.locked !== w.self) w.bug(`restore_exclusive_pte: VM_BUG_ON_FOLIO(!folio_test_locked) on pfn ${pfn}`);
  const writable = (vma(w, vmaIndex).flags & VM_WRITE) !== 0 && page.mapcount === 1;
  setPte(w, mm, vpn, pfn, writable, false); // set_pte_at: the entry is gone
}
