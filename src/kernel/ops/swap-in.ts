/**
 * mm/memory.c:do_swap_page — a fault on a non-present, non-empty pte (handle_pte_fault's
 * !pte_present): a migration entry waits for the migration (migration_entry_wait); a
 * device-exclusive entry is turned back into a present pte (remove_device_exclusive_entry,
 * device-exclusive.ts); a swap entry
 * maps the swap-cache page (locked, so that reclaim cannot be tearing it down), or reads the slot
 * into a new page, then under the ptl rechecks pte_same and installs it. Installing into a
 * non-present slot fires no notifier.
 *
 * Simplifications: one swap device that never goes away (get_swap_device fails only for a freed
 * slot, which means the pte changed); no readahead, no SWP_SYNCHRONOUS_IO skip of the swap cache,
 * no KSM, no THP; a new page read from the slot is not added to the swap cache.
 */
import type { World } from '../../world/world.js';
import { VM_FAULT_OOM, VM_WRITE } from '../flags.js';
import { folioLock, mutexLock, mutexTrylock, mutexUnlock, ptl, spinLock, spinUnlock } from '../locks.js';
import { folioPut, pgmapMigrateToRam } from '../memremap.js';
import { allocPage, getPage, pageAddNewAnonRmap, pageDupRmap, putPage } from '../page.js';
import { pte, setPte, vma } from '../pgtable.js';
import { PAGE, PTE, SWAP } from '../structs.js';
import { swpEntry, swpOffset } from '../ref.js';
import { pteSame, SNAP_DEVICE_PRIVATE, SNAP_MIGRATION } from './pte-snap.js';
import { migrationEntryWait } from './migration-wait.js';
import { isDeviceExclusiveEntry, removeDeviceExclusiveEntry } from './device-exclusive.js';
import { KERNEL } from '../library.js';
import { dirtyAccessed } from '../dirty.js';
import { freeSwapSlot, swapCacheLookup, SWAP_COUNT } from './reclaim.js';

/** What the freed-entry shortcut stands for (listed among a proof's assumptions). */
const FREED_ENTRY = 'a swap-in whose entry was freed meanwhile retries at once (the kernel reads the freed slot into a new page and fails pte_same under the ptl)';

/** Whether any pte of any mm other than (mm, vpn) still holds the swap entry of `slot` (the swap count). */
function otherSwapRefs(w: World, mm: number, vpn: number, slot: number): boolean {
  const self = mm * w.layout.dims.mmPages + vpn;
  const n = w.count(PTE);
  const entry = swpEntry(slot);
  return w.standIn(SWAP_COUNT, () => {
    for (let i = 0; i < n; i++) if (i !== self && w.obj(PTE, i).swap === entry) return true;
    return false;
  });
}

/**
 * do_swap_page on a device-private entry (is_device_private_entry): under the ptl, pte_same, then
 * "get a page reference while we know the page can't be freed": folio_trylock (on contention the
 * fault is retried), get_page, unlock the ptl and call page_pgmap(page)->ops->migrate_to_ram(vmf)
 * with (vma, vpn, page); then unlock_page and put_page, returning what migrate_to_ram returned.
 */
const devicePrivateSteps = {
  devicePrivate: {
    at: 'mm/memory.c:do_swap_page is_device_private_entry pte_offset_map_lock',
    run: (w: World, l: { mm: number; vpn: number; vma: number; origVal: number; origBits: number; pfn: number }) => {
      const lock = ptl(w, l.mm);
      const b = spinLock(w, lock);
      if (b) return b;
      if (!pteSame(w, l.mm, l.vpn, l.origVal, l.origBits)) {
        spinUnlock(w, lock); // goto unlock: the access is retried
        return w.ret(0);
      }
      const pfn = l.origVal; // vmf->page = pfn_swap_entry_to_page(entry)
      if (!mutexTrylock(w, folioLock(w, pfn))) {
        spinUnlock(w, lock); // somebody else migrates it: retry
        return w.ret(0);
      }
      getPage(w, pfn);
      spinUnlock(w, lock); // pte_unmap_unlock
      l.pfn = pfn;
      return w.callRef(pgmapMigrateToRam(w, pfn), 'migrated', l.vma, l.vpn, pfn);
    },
  },
  migrated: {
    at: 'mm/memory.c:do_swap_page unlock_page',
    run: (w: World, l: { pfn: number }) => {
      mutexUnlock(w, folioLock(w, l.pfn));
      return 'migratedPut';
    },
  },
  migratedPut: {
    at: 'mm/memory.c:do_swap_page put_page',
    run: (w: World, l: { pfn: number; result: number }) => {
      folioPut(w, l.pfn);
      const ret = l.result;
      [l.pfn, l.result] = [0, 0];
      return w.ret(ret);
    },
  },
};

/**
 * do_swap_page(vmf) for (mm, vpn) in VMA `vma`, where (origVal, origBits) is handle_pte_fault's
 * vmf->orig_pte (pte-snap.ts). Returns 0 (mapped, or the pte changed: retry) or VM_FAULT_OOM.
 */
export const doSwapPage = KERNEL.routine({
  name: 'do_swap_page',
  params: ['mm', 'vpn', 'write', 'vma', 'origVal', 'origBits'],
  locals: ['pfn', 'locked'],
  steps: {
    // entry = pte_to_swp_entry(vmf->orig_pte): a migration entry waits; a swap entry is looked
    // up in the swap cache (swap_cache_get_folio), else a page is allocated and the slot read
    // into it (swap_read_folio).
    entry: {
      at: 'mm/memory.c:do_swap_page pte_to_swp_entry(vmf->orig_pte)',
      run: (w, l) => {
        if (l.origBits & SNAP_MIGRATION) return w.call(migrationEntryWait, 'out', l.mm, l.vpn, l.origVal);
        // is_device_exclusive_entry: vmf->page = pfn_swap_entry_to_page(entry); ret = remove_device_exclusive_entry(vmf)
        if (isDeviceExclusiveEntry(l.origVal)) return w.call(removeDeviceExclusiveEntry, 'out', l.mm, l.vpn, l.vma, l.origVal, l.origBits);
        if (l.origBits & SNAP_DEVICE_PRIVATE) return 'devicePrivate';
        const slot = swpOffset(l.origVal);
        if (w.standIn(FREED_ENTRY, () => w.obj(SWAP, slot).used === 0)) return w.ret(0);
        // swap_cache_get_folio: the lookup and its folio_try_get are one (the lookup re-checks the
        // entry after taking the reference); else a new page, locked before anyone can see it.
        l.pfn = w.single(() => {
          const pfn = swapCacheLookup(w, slot);
          if (pfn !== 0) getPage(w, pfn);
          return pfn;
        });
        if (l.pfn !== 0) return 'folioLock';
        l.pfn = allocPage(w);
        if (l.pfn === 0) return w.ret(VM_FAULT_OOM);
        // __folio_set_locked on the new folio, then swap_read_folio into it.
        w.obj(PAGE, l.pfn).locked = w.self;
        l.locked = 1;
        w.obj(PAGE, l.pfn).contents = w.obj(SWAP, slot).contents;
        return 'ptLock';
      },
    },
    // A swap-cache page is locked before it is mapped (folio_lock_or_retry): reclaim holds the
    // lock from add_to_swap to the free, so the fault cannot map a page reclaim is tearing down.
    folioLock: {
      at: 'mm/memory.c:do_swap_page folio_lock_or_retry',
      run: (w, l) => {
        const b = mutexLock(w, folioLock(w, l.pfn)); // folio_lock
        if (b) return b;
        l.locked = 1;
        if (w.obj(PAGE, l.pfn).swap !== l.origVal) {
          // Left the swap cache while we waited: !folio_matches_swap_entry → out_page, retry.
          mutexUnlock(w, folioLock(w, l.pfn)); // out_page: folio_unlock
          return 'release';
        }
        return 'ptLock';
      },
    },
    ptLock: {
      at: 'mm/memory.c:do_swap_page pte_offset_map_lock',
      run: (w, l) => {
        const lock = ptl(w, l.mm);
        const b = spinLock(w, lock); // pte_offset_map_lock
        if (b) return b;
        if (!pteSame(w, l.mm, l.vpn, l.origVal, l.origBits)) {
          spinUnlock(w, lock); // out_nomap
          if (l.locked) mutexUnlock(w, folioLock(w, l.pfn)); // out_page
          return 'release';
        }
        const slot = swpOffset(l.origVal);
        const others = otherSwapRefs(w, l.mm, l.vpn, slot);
        const pg = w.obj(PAGE, l.pfn);
        const exclusive = !others && pg.mapcount === 0;
        // Since v6.11 an exclusive folio is mapped writable on a read fault too, clean ("pte =
        // pte_mkwrite(pte, vma); if (vmf->flags & FAULT_FLAG_WRITE) pte = pte_mkdirty(pte)"):
        // modelled with the dirty-accessed layer, where a writable clean pte is what makes a
        // write that bypasses the pte (a secondary's) lose its data unless it dirties the folio.
        const reuse = l.write !== 0 || dirtyAccessed(w);
        const writable = reuse && exclusive && (vma(w, l.vma).flags & VM_WRITE) !== 0;
        if (pg.mapcount === 0) pageAddNewAnonRmap(w, l.pfn, l.mm, l.vpn);
        else pageDupRmap(w, l.pfn);
        setPte(w, l.mm, l.vpn, l.pfn, writable, false);
        if (writable && l.write === 0) pte(w, l.mm, l.vpn).dirty = 0; // not pte_mkdirty: a read fault
        // swap_free: the slot goes when no pte references it — unless the page is still in the swap
        // cache, which holds the slot itself (SWAP_HAS_CACHE) until reclaim removes it.
        if (!others && pg.swap !== swpEntry(slot)) freeSwapSlot(w, slot);
        spinUnlock(w, lock); // unlock
        if (l.locked) mutexUnlock(w, folioLock(w, l.pfn)); // folio_unlock
        return w.ret(0);
      },
    },
    // out_release: folio_put, after the unlocks; return 0: the access is retried.
    release: {
      at: 'mm/memory.c:do_swap_page out_release',
      run: (w, l) => {
        putPage(w, l.pfn);
        l.pfn = 0; // dead on the retry
        l.locked = 0;
        return w.ret(0);
      },
    },
    // After migration_entry_wait or remove_device_exclusive_entry: goto out, return ret (0); the access is retried.
    out: { at: 'mm/memory.c:do_swap_page out', run: (w) => w.ret(0) },
    ...devicePrivateSteps,
  },
});
