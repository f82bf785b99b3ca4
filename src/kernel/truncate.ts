/**
 * Truncation of a shmem file's page cache: ftruncate (mm/shmem.c:shmem_setattr) and
 * fallocate(FALLOC_FL_PUNCH_HOLE) (mm/shmem.c:shmem_fallocate), both under inode_lock, both
 * through shmem_truncate_range → shmem_undo_range, which removes each folio of the range from the
 * cache (mm/truncate.c:truncate_inode_folio).
 *
 * The order that keeps every mapping coherent with the cache, and why:
 *   1. i_size is written first (ftruncate): a fault from now on fails the EOF check
 *      (shmem_get_folio_gfp) instead of adding a folio past the end;
 *   2. unmap_mapping_range (zap.ts) zaps the range in every VMA of every mm mapping the file, each
 *      under an MMU_NOTIFY_CLEAR invalidation on that mm: the secondary MMUs mirroring any of the
 *      mappings drop their entries there;
 *   3. each folio is locked, unmapped again if a fault mapped it since (truncate_cleanup_folio:
 *      the fault maps under the same folio lock, so none can slip in after this), and only then
 *      removed from the cache, whose reference is put: a folio is never out of the cache while a
 *      pte maps it, and it is freed once the last pte reference is put by the zap's tlb_finish_mmu;
 *   4. ftruncate unmaps once more: mm/truncate.c:truncate_pagecache's comment — "unmap_mapping_range
 *      is called twice, first simply for efficiency so that truncate_inode_pages does fewer
 *      single-page unmaps. However after this first call, and before truncate_inode_pages
 *      finishes, it is possible for private pages to be COWed, which remain after
 *      truncate_inode_pages finishes, hence the second unmap_mapping_range call must be made for
 *      correctness." (shmem_setattr open-codes it: "unmap again to remove racily COWed private
 *      pages"). A hole punch zaps with even_cows = 0 and does not unmap again ("No need to unmap
 *      again: hole-punching leaves COWed pages").
 *
 * Simplifications: shmem_undo_range's first, trylock-only pass over the range is folded into its
 * second, sleeping one (the same folios are removed; the first only skips locked ones for later);
 * no swap entries in the cache; no partial pages (sizes and holes are whole pages); no seals; the
 * shmem_falloc wait of faults during a punch (a livelock avoidance) is not modelled.
 */
import { folioLock, mutexLock, mutexUnlock } from './locks.js';
import { putPage } from './page.js';
import { PAGE } from './structs.js';
import { ADDRESS_SPACE, filemapGetEntry, filemapRemoveFolio, fileOfMapping, folioInMapping, inodeLock } from './filemap.js';
import { unmapMappingRange } from './ops/zap.js';
import { KERNEL } from './library.js';

/**
 * mm/shmem.c:shmem_undo_range(inode, start, end) over file pages [start, end) of mapping `m`, the
 * caller holding inode_lock: every cached folio is locked, unmapped if still mapped, and removed.
 */
export const shmemUndoRange = KERNEL.routine({
  name: 'shmem_undo_range',
  params: ['m', 'start', 'end'],
  locals: ['index', 'pfn', 'advance'],
  steps: {
    // find_get_entries: the next folio of the range, with a reference.
    lookup: {
      at: 'mm/shmem.c:shmem_undo_range find_get_entries',
      lockless: ['iPages.folio'],
      run: (w, l) => {
        if (l.index < l.start) l.index = l.start; // locals start at 0
        if (l.index >= l.end) return w.ret(0);
        l.pfn = filemapGetEntry(w, l.m, l.index);
        if (l.pfn) return 'lock';
        l.index++; // nothing cached at this index
        return 'lookup';
      },
    },
    lock: {
      at: 'mm/shmem.c:shmem_undo_range folio_lock',
      lockless: ['page.mapcount'],
      run: (w, l) => {
        const b = mutexLock(w, folioLock(w, l.pfn));
        if (b) return b;
        if (!folioInMapping(w, l.pfn, l.m)) {
          // "Page was replaced by swap: retry" — here removed by a fault's EOF recheck: look again.
          mutexUnlock(w, folioLock(w, l.pfn));
          l.advance = 0;
          return 'put';
        }
        // truncate_inode_folio → truncate_cleanup_folio: "if (folio_mapped(folio))
        // unmap_mapping_folio(folio)" — a fault mapped it since the caller's unmap_mapping_range.
        if (w.obj(PAGE, l.pfn).mapcount > 0) return w.call(unmapMappingRange, 'remove', fileOfMapping(w, l.m), l.index, 1, 0);
        return 'remove';
      },
    },
    remove: {
      at: 'mm/truncate.c:truncate_inode_folio filemap_remove_folio',
      run: (w, l) => {
        filemapRemoveFolio(w, l.m, l.pfn); // the cache's reference put
        mutexUnlock(w, folioLock(w, l.pfn));
        l.advance = 1;
        return 'put';
      },
    },
    // folio_batch_release: the lookup's reference; the folio is freed here if no pte holds it.
    put: {
      at: 'mm/shmem.c:shmem_undo_range folio_batch_release',
      run: (w, l) => {
        putPage(w, l.pfn);
        l.index += l.advance;
        return 'lookup';
      },
    },
  },
});

/**
 * mm/shmem.c:shmem_setattr(ATTR_SIZE) — ftruncate(fd, newSize pages) of mapping `m` (do_truncate
 * takes inode_lock; notify_change calls shmem_setattr). Growing only writes i_size. Returns 0.
 */
export const shmemSetattr = KERNEL.routine({
  name: 'shmem_setattr',
  params: ['m', 'newSize'],
  locals: ['oldSize'],
  steps: {
    lock: {
      at: 'fs/open.c:do_truncate inode_lock',
      run: (w, l) => {
        const lock = inodeLock(w, l.m);
        const b = mutexLock(w, lock);
        if (b) return b;
        const inode = w.obj(ADDRESS_SPACE, l.m);
        l.oldSize = inode.size;
        inode.size = l.newSize; // i_size_write(inode, newsize), before any unmap
        if (l.newSize >= l.oldSize) {
          mutexUnlock(w, lock);
          return w.ret(0);
        }
        // holebegin = round_up(newsize, PAGE_SIZE); if (oldsize > holebegin) unmap_mapping_range(mapping, holebegin, 0, 1)
        return w.call(unmapMappingRange, 'truncate', fileOfMapping(w, l.m), l.newSize, 0, 1);
      },
    },
    // if (info->alloced) shmem_truncate_range(inode, newsize, (loff_t)-1)
    truncate: { at: 'mm/shmem.c:shmem_setattr shmem_truncate_range', run: (w, l) => w.call(shmemUndoRange, 'unmapAgain', l.m, l.newSize, w.layout.dims.filePages) },
    // "unmap again to remove racily COWed private pages" (truncate_pagecache's double unmap)
    unmapAgain: { at: 'mm/shmem.c:shmem_setattr unmap_mapping_range', run: (w, l) => w.call(unmapMappingRange, 'unlock', fileOfMapping(w, l.m), l.newSize, 0, 1) },
    unlock: {
      at: 'fs/open.c:do_truncate inode_unlock',
      run: (w, l) => {
        mutexUnlock(w, inodeLock(w, l.m));
        return w.ret(0);
      },
    },
  },
});

/**
 * mm/shmem.c:shmem_fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) of file pages
 * [start, start + len) of mapping `m`: i_size is kept. Returns 0.
 */
export const shmemFallocatePunchHole = KERNEL.routine({
  name: 'shmem_fallocate',
  params: ['m', 'start', 'len'],
  steps: {
    lock: {
      at: 'mm/shmem.c:shmem_fallocate inode_lock',
      run: (w, l) => {
        const b = mutexLock(w, inodeLock(w, l.m));
        if (b) return b;
        // unmap_mapping_range(mapping, unmap_start, 1 + unmap_end - unmap_start, 0): even_cows = 0
        return w.call(unmapMappingRange, 'truncate', fileOfMapping(w, l.m), l.start, l.len, 0);
      },
    },
    truncate: { at: 'mm/shmem.c:shmem_fallocate shmem_truncate_range', run: (w, l) => w.call(shmemUndoRange, 'unlock', l.m, l.start, l.start + l.len) },
    // "No need to unmap again: hole-punching leaves COWed pages"
    unlock: {
      at: 'mm/shmem.c:shmem_fallocate inode_unlock',
      run: (w, l) => {
        mutexUnlock(w, inodeLock(w, l.m));
        return w.ret(0);
      },
    },
  },
});
