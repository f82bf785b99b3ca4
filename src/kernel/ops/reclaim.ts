/**
 * Reclaim of one anonymous page to swap: mm/vmscan.c:shrink_folio_list for a single folio.
 *
 *   isolate (LRU reference) → folio_lock → add_to_swap → try_to_unmap (per mapping:
 *   start(CLEAR) → pte := swap entry → end) → folio_mapped? → pageout → __remove_mapping
 *   (folio_ref_freeze: only our reference and the swap cache's) → free.
 *
 * Swap conventions shared with do_swap_page (ops/fault.ts):
 *   - a swap pte holds the swap entry `swap = swpEntry(slot)` (present 0, pfn 0; see ref.ts);
 *   - a page is in the swap cache for slot s when it is not free and `page.swap === swpEntry(s)`; the
 *     swap cache holds one page reference;
 *   - after pageout `SWAP[s].contents` holds the data; `SWAP[s].used` is 1 while the swap cache
 *     or any swap pte refers to the slot.
 *   - slot 0 is never handed out, like the kernel's swap header page (offset 0 of a swap device).
 *
 * Locking (reference §5): the folio lock and, in the kernel, the anon_vma rwsem for the walk; no
 * mmap_lock. The model lets the folio lock stand for the anon_vma lock too: it serialises rmap
 * walkers of the same page, which is all the anon_vma lock is needed for here.
 *
 * Simplifications, each documented where it is modelled:
 *   - reclaim sleeps on the folio lock instead of skipping a locked folio (folio_trylock → keep):
 *     the sleep stands for the later pass that retries, without the uninteresting give-up branch;
 *   - LRU isolation takes the reference but is not exclusive: a second reclaimer of the same pfn
 *     isolates it too (the kernel's second isolate_lru_folios would skip it). Its extra reference
 *     makes the first reclaimer's freeze fail, after which the second one succeeds — the same end
 *     state as the kernel's "first pass fails, next pass reclaims";
 *   - pageout is a synchronous write under the folio lock (no writeback state, no redirty);
 *   - swap_map counts are not kept: a slot is free when no swap pte and no swap cache page refers
 *     to it (computed by scanning the ptes, as the rmap is);
 *   - a pinned page (src/kernel/pin.ts) is kept before add_to_swap (folio_maybe_dma_pinned); one
 *     already in the swap cache is refused by try_to_unmap_one (pinned and exclusive) or, failing
 *     that, at the refcount check.
 */
import { refuseLargeFolio } from '../huge.js';
import type { World } from '../../world/world.js';
import { EBUSY, ENOMEM } from '../flags.js';
import { folioLock, mutexLock, mutexUnlock } from '../locks.js';
import { getPage, putPage } from '../page.js';
import { clearPte, pte } from '../pgtable.js';
import { PAGE, PTE, SWAP } from '../structs.js';
import { isNone, NONE, swpEntry, swpOffset } from '../ref.js';
import { defineRmapUnmap } from './rmap.js';
import { tlbDefer, tlbFlushStep, tlbOn } from '../tlb.js';
import { KERNEL } from '../library.js';
import { DIRTY_ACCESSED, dirtyAccessed, folioMarkDirty } from '../dirty.js';
import { folioMaybeDmaPinned } from '../pin.js';
import { defineRowDomain } from '../../world/layout.js';
import { SNAP_SWAP } from './pte-snap.js';

/** mm/swapfile.c:folio_alloc_swap — the lowest free slot (≥ 1: slot 0 is the swap header), or -1. */
export function getSwapSlot(w: World): number {
  return w.inside(SWAP_LOCK, () => {
    const n = w.count(SWAP);
    for (let s = 1; s < n; s++) if (w.obj(SWAP, s).used === 0) return s;
    return -1;
  });
}

/**
 * The swap slots as a pool of interchangeable rows (layout.ts `RowDomain`, `--symmetry`): nothing
 * in the model names a slot but a swap entry, which lives in a swap pte (`pte.swap`, positive: a
 * negative value is a device-exclusive entry's pfn), in a swap-cache page (`page.swap`) and in the
 * fault paths' snapshot of a pte (`vmf->orig_pte`: `origVal` while `origBits` says SNAP_SWAP); a
 * freed slot is zeroed (freeSwapSlot), so free slots are alike. Slot 0, the swap header, is
 * never handed out.
 */
export const SWAP_SLOTS = defineRowDomain({
  name: 'swap-slot',
  description: 'the swap slots (swap_map offsets), named by the swap entries of ptes, swap-cache pages and pte snapshots',
  struct: SWAP,
  reserved: 1,
  free: { field: 'used', value: 0 },
  fields: [
    { struct: PTE, field: 'swap', encoding: 'ref' },
    { struct: PAGE, field: 'swap', encoding: 'ref' },
  ],
  // Every routine that keeps a pte snapshot (pte-snap.ts): its value half is a swap entry when the bits say so.
  locals: ['handle_pte_fault', 'do_swap_page', 'wp_page_copy', 'finish_mkwrite_fault', 'wp_pfn_shared', 'remove_device_exclusive_entry'].map((routine) => ({
    routine,
    local: 'origVal',
    encoding: 'ref' as const,
    when: { local: 'origBits', mask: SNAP_SWAP },
  })),
});

/** The class of the swap device's lock (si->lock and its cluster locks), around the slot map. */
export const SWAP_LOCK = 'swap_info.lock';

/** What the recomputed swap count stands for (listed among a proof's assumptions). */
export const SWAP_COUNT = 'the swap count of a slot is recomputed from the ptes that hold its entry (the kernel reads swap_map[slot] under the swap lock)';

/** mm/swap_state.c:swap_cache_get_folio — the swap-cache page of `slot` (a non-free page whose page.swap is its entry), or 0. */
export function swapCacheLookup(w: World, slot: number): number {
  // One xarray load; the model's swap cache is spread over the pages (a free page's swap entry is none).
  return w.single(() => {
    const n = w.count(PAGE);
    for (let pfn = 1; pfn < n; pfn++) if (w.obj(PAGE, pfn).swap === swpEntry(slot)) return pfn;
    return 0;
  });
}

/** Whether any pte holds a swap entry for `slot` (the swap_map count, recomputed). */
export function swapSlotReferenced(w: World, slot: number): boolean {
  const n = w.count(PTE);
  for (let i = 0; i < n; i++) {
    const p = w.obj(PTE, i);
    if (p.present === 0 && p.swap === swpEntry(slot)) return true;
  }
  return false;
}

/**
 * mm/swapfile.c:put_swap_folio — the swap cache lets go of `slot`: the slot is freed when no swap
 * pte refers to it any more (otherwise it keeps the data for do_swap_page).
 */
export function putSwapFolio(w: World, slot: number): void {
  if (w.standIn(SWAP_COUNT, () => swapSlotReferenced(w, slot))) return;
  freeSwapSlot(w, slot);
}

/** swap_entries_free: the slot back in the map (under the swap lock); its data is gone (the model zeroes it: equal states). */
export function freeSwapSlot(w: World, slot: number): void {
  w.inside(SWAP_LOCK, () => {
    w.obj(SWAP, slot).used = 0;
  });
  w.own(SWAP, slot);
  w.obj(SWAP, slot).contents = 0;
  if (dirtyAccessed(w)) w.obj(SWAP, slot).latest = 0;
}

/** mm/rmap.c:try_to_unmap — every pte mapping the page becomes its swap entry (folio->swap). */
export const tryToUnmap = defineRmapUnmap({
  name: 'try_to_unmap',
  oneAt: 'mm/rmap.c:try_to_unmap_one',
  replace: (w, mm, vpn, pfn) => {
    const swap = w.obj(PAGE, pfn).swap;
    // "folio_test_swapbacked != folio_test_swapcache": WARN and abort in the kernel.
    if (isNone(swap)) w.bug(`try_to_unmap_one: anon pfn ${pfn} is not in the swap cache`);
    clearPte(w, mm, vpn);
    // shrink_folio_list unmaps with TTU_BATCH_FLUSH: set_tlb_ubc_flush_pending instead of the
    // flush, which try_to_unmap_flush(_dirty) does before pageout and the free.
    tlbDefer(w, mm, vpn);
    pte(w, mm, vpn).swap = swap; // swap_duplicate + set_pte_at(swp_pte)
  },
});

/** keep / keep_locked / activate_locked: unlock, put back on the LRU (drop the isolation ref). */
function keep(w: World, l: { pfn: number; rc: number }, rc: number): string {
  mutexUnlock(w, folioLock(w, l.pfn)); // keep_locked: folio_unlock
  l.rc = rc;
  return tlbOn(w) ? 'unmapFlush' : 'putback';
}

/**
 * Reclaims anonymous page `pfn` to swap. Returns 0 when the page was freed, -EBUSY when it was
 * kept (not an LRU anon page, still mapped, or an extra reference), -ENOMEM when swap is full.
 */
export const shrinkFolioList = KERNEL.routine({
  name: 'shrink_folio_list',
  params: ['pfn'],
  locals: ['rc'],
  steps: {
    // The reclaimer's own reference: the page cannot be freed under it by its owners.
    isolate: {
      at: 'mm/vmscan.c:isolate_lru_folios',
      run: (w, l) => {
        const page = w.obj(PAGE, l.pfn);
        if (page.refcount <= 0 || page.anon !== 1) return w.ret(-EBUSY);
        refuseLargeFolio(w, l.pfn, 'reclaim');
        getPage(w, l.pfn);
        return 'lock';
      },
    },
    lock: {
      at: 'mm/vmscan.c:shrink_folio_list folio_trylock',
      run: (w, l) => {
        const b = mutexLock(w, folioLock(w, l.pfn)); // folio_lock (see the simplifications: no trylock-and-skip)
        if (b) return b;
        return 'addToSwap';
      },
    },
    // A page already in the swap cache (swapped in earlier, or a failed reclaim) keeps its slot.
    addToSwap: {
      at: 'mm/swap_state.c:add_to_swap',
      run: (w, l) => {
        const page = w.obj(PAGE, l.pfn);
        if (isNone(page.swap)) {
          // "mm: don't put pinned pages into the swap cache": a maybe-pinned page cannot be freed.
          if (folioMaybeDmaPinned(w, l.pfn)) return keep(w, l, -EBUSY);
          const slot = getSwapSlot(w);
          if (slot < 0) return keep(w, l, -ENOMEM);
          w.inside(SWAP_LOCK, () => {
            w.obj(SWAP, slot).used = 1;
          });
          page.swap = swpEntry(slot);
          page.refcount = page.refcount + 1; // the swap cache's reference
          // The folio is dirtied here (dirty-accessed layer): "Normally the folio will be dirtied
          // in unmap because its pte should be dirty. A special case is MADV_FREE page" — so
          // add_to_swap marks a folio it adds dirty, to be written out.
          if (dirtyAccessed(w)) return 'markDirty';
        }
        return w.call(tryToUnmap, 'mapped', l.pfn);
      },
    },
    markDirty: {
      at: 'mm/swap_state.c:add_to_swap folio_mark_dirty',
      layer: DIRTY_ACCESSED,
      run: (w, l) => {
        folioMarkDirty(w, l.pfn);
        return w.call(tryToUnmap, 'mapped', l.pfn);
      },
    },
    // A mapping the walk missed (added behind the cursor, or unaccounted) keeps the page:
    // activate_locked. Ptes already converted stay swap entries, the page stays in the swap cache.
    mapped: {
      at: 'mm/vmscan.c:shrink_folio_list folio_mapped',
      lockless: ['page.mapcount'],
      run: (w, l) => {
        if (w.obj(PAGE, l.pfn).mapcount > 0) return keep(w, l, -EBUSY);
        if (dirtyAccessed(w)) return 'dirty';
        return tlbOn(w) ? 'flushDirty' : 'pageout';
      },
    },
    // Dirty-accessed layer: only a dirty folio is written (folio_test_dirty → pageout, whose
    // folio_clear_dirty_for_io cleans it first); a clean one's data is on swap already and it goes
    // straight to __remove_mapping. A write that never reached PG_dirty is lost there. With the
    // cpu-tlb layer the batched flush comes first either way: try_to_unmap_flush_dirty before a
    // dirty folio's pageout, try_to_unmap_flush before a clean one is freed (the model frees at
    // once, the kernel after the flush at the end of shrink_folio_list).
    dirty: {
      at: 'mm/vmscan.c:shrink_folio_list folio_test_dirty',
      layer: DIRTY_ACCESSED,
      run: (w, l) => {
        const page = w.obj(PAGE, l.pfn);
        if (!page.dirty) return tlbOn(w) ? 'flushClean' : 'removeMapping';
        // pageout's folio_clear_dirty_for_io, a step before the write (the kernel's comes after
        // try_to_unmap_flush_dirty: a store through a stale TLB entry in between still reaches the
        // copy pageout makes, so the order of the two makes no difference to the data).
        page.dirty = 0;
        return tlbOn(w) ? 'flushDirty' : 'pageout';
      },
    },
    pageout: {
      at: 'mm/vmscan.c:pageout',
      run: (w, l) => {
        const page = w.obj(PAGE, l.pfn);
        w.obj(SWAP, swpOffset(page.swap)).contents = page.contents;
        return 'removeMapping';
      },
    },
    // folio_ref_freeze(folio, 1 + nr): only the isolation and swap cache references may remain;
    // anything else (a GUP reference) keeps the page in the swap cache (keep_locked).
    removeMapping: {
      at: 'mm/vmscan.c:__remove_mapping',
      run: (w, l) => {
        const page = w.obj(PAGE, l.pfn);
        // folio_ref_freeze; the mapcount was checked at `mapped` (a locked swap-cache page cannot be
        // mapped again: do_swap_page takes the folio lock first).
        if (page.refcount !== 2) return keep(w, l, -EBUSY);
        const slot = swpOffset(page.swap);
        // Ghost: what a swap-in of the slot must read back (property lost-write).
        if (dirtyAccessed(w)) w.obj(SWAP, slot).latest = w.instrument(() => page.contents) + 1;
        page.swap = NONE; // __delete_from_swap_cache
        putSwapFolio(w, slot);
        putPage(w, l.pfn); // the swap cache's reference
        return 'free';
      },
    },
    // free_it: the refcount is frozen, so the lock is cleared non-atomically and the page freed.
    free: {
      at: 'mm/vmscan.c:shrink_folio_list free_it',
      run: (w, l) => {
        // Frozen: no pte and no swap-cache entry refers to the page; only our reference is left.
        w.own(PAGE, l.pfn);
        mutexUnlock(w, folioLock(w, l.pfn));
        putPage(w, l.pfn);
        return w.ret(0);
      },
    },
    // keep: the folio goes back to the LRU (putback_lru_folio drops the isolation reference).
    putback: {
      at: 'mm/vmscan.c:shrink_folio_list keep',
      run: (w, l) => {
        putPage(w, l.pfn);
        const rc = l.rc;
        l.rc = 0;
        return w.ret(rc);
      },
    },
    // The batched flush of the cpu-tlb layer (kernel/tlb.ts): before pageout reads the page, so no
    // write through a stale writable entry is lost, and so before the free.
    flushDirty: tlbFlushStep('mm/vmscan.c:shrink_folio_list try_to_unmap_flush_dirty', 'pageout'),
    // A kept folio: shrink_folio_list still flushes the batch (try_to_unmap_flush, before it returns
    // the folios its caller puts back).
    flushClean: tlbFlushStep('mm/vmscan.c:shrink_folio_list try_to_unmap_flush', 'removeMapping'),
    unmapFlush: tlbFlushStep('mm/vmscan.c:shrink_folio_list try_to_unmap_flush', 'putback'),
  },
});
