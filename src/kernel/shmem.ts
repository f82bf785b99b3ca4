/**
 * The shmem (tmpfs, memfd) fault: mm/shmem.c:shmem_fault → shmem_get_folio_gfp(SGP_CACHE), which
 * finds the folio in the page cache or allocates one and adds it, and returns it locked with a
 * reference; then mm/memory.c:finish_fault maps it and do_shared_fault / do_read_fault unlock it.
 * The page cache and its reference rules are filemap.ts's; truncation is truncate.ts's.
 *
 * A MAP_SHARED mapping maps the cache's folio itself, writable when the VMA is (shmem has no
 * page_mkwrite and no dirty accounting, so vma_wants_writenotify is false and vm_page_prot is
 * writable): a write never copies. Every mm mapping the file maps the same folios, which is the
 * QEMU `memory-backend-memfd,share=on` set-up: the source and another process (the introspector,
 * a vhost-user backend) both map the memfd.
 *
 * Where the model departs from the C's call structure: handle_pte_fault (fault.ts) calls
 * vm_ops->fault and returns its result as is; __do_fault's VM_FAULT_LOCKED and vmf->page are not
 * handed back to do_shared_fault, so this routine goes on with finish_fault and the folio unlock
 * itself, as the steps after its own. The steps, and what they touch, are the C's.
 *
 * Simplifications: MAP_SHARED mappings only (a MAP_PRIVATE one would go to do_cow_fault); no swap
 * (shmem_swapin_folio), no huge folios, no shmem_falloc wait (the livelock avoidance of a fault
 * racing a hole punch: it changes no outcome), no userfaultfd, no memcg charge.
 */
import type { World } from '../world/world.js';
import { VM_FAULT_NOPAGE, VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_WRITE } from './flags.js';
import { mutexLock, mutexTrylock, mutexUnlock, folioLock, ptl, spinLock, spinUnlock } from './locks.js';
import { allocPage, pageDupRmap, putPage } from './page.js';
import { pte, pteNone, setPte, vma, vmaMm } from './pgtable.js';
import { PAGE } from './structs.js';
import { ADDRESS_SPACE, filemapGetEntry, filemapRemoveFolio, folioInMapping, mappingOfFile, shmemAddToPageCache } from './filemap.js';
import { KERNEL } from './library.js';

/** i_size_read past `index`: the page lies beyond the end of the file. */
function beyondEof(w: World, m: number, index: number): boolean {
  return index >= w.obj(ADDRESS_SPACE, m).size;
}

/**
 * mm/shmem.c:shmem_fault(vmf) for page `vpn` of shared shmem VMA `vma`, called by handle_pte_fault
 * on a none pte (the caller holds mmap_lock). Returns 0 once mapped, VM_FAULT_NOPAGE if another
 * fault mapped the pte first, VM_FAULT_SIGBUS beyond the end of the file, VM_FAULT_OOM.
 */
export const shmemFault = KERNEL.routine({
  name: 'shmem_fault',
  params: ['vma', 'vpn', 'write'],
  locals: ['mm', 'm', 'index', 'pfn', 'ret'],
  steps: {
    // shmem_get_folio_gfp, repeat: "if (sgp <= SGP_CACHE && index << PAGE_SHIFT >= i_size_read(inode)) return -EINVAL"
    isize: {
      at: 'mm/shmem.c:shmem_get_folio_gfp i_size_read',
      lockless: ['addressSpace.size'],
      run: (w, l) => {
        const v = vma(w, l.vma);
        l.mm = vmaMm(w, l.vma);
        l.m = mappingOfFile(w, v.file);
        l.index = v.pgoff + (l.vpn - v.start); // linear_page_index
        if (beyondEof(w, l.m, l.index)) return w.ret(VM_FAULT_SIGBUS); // shmem_fault: vmf_error(-EINVAL)
        return 'lookup';
      },
    },
    lookup: {
      at: 'mm/shmem.c:shmem_get_folio_gfp filemap_get_entry',
      lockless: ['iPages.folio'],
      run: (w, l) => {
        l.pfn = filemapGetEntry(w, l.m, l.index);
        return l.pfn ? 'lock' : 'alloc';
      },
    },
    lock: {
      at: 'mm/shmem.c:shmem_get_folio_gfp folio_lock',
      run: (w, l) => {
        const lock = folioLock(w, l.pfn);
        const b = mutexLock(w, lock);
        if (b) return b;
        // "Has the folio been truncated or swapped out?"
        if (folioInMapping(w, l.pfn, l.m)) return 'finish';
        mutexUnlock(w, lock);
        return 'putRetry';
      },
    },
    // folio_put(folio); goto repeat;
    putRetry: {
      at: 'mm/shmem.c:shmem_get_folio_gfp folio_put',
      run: (w, l) => {
        putPage(w, l.pfn);
        return 'isize';
      },
    },
    // shmem_alloc_and_add_folio: shmem_alloc_folio, __folio_set_locked, shmem_add_to_page_cache.
    alloc: {
      at: 'mm/shmem.c:shmem_alloc_and_add_folio',
      run: (w, l) => {
        l.pfn = allocPage(w);
        if (l.pfn === 0) return w.ret(VM_FAULT_OOM); // vmf_error(-ENOMEM)
        w.own(PAGE, l.pfn); // ours until shmem_add_to_page_cache publishes it
        mutexTrylock(w, folioLock(w, l.pfn)); // __folio_set_locked: nobody else can see the folio
        if (shmemAddToPageCache(w, l.m, l.index, l.pfn) === 0) return 'recheck';
        // -EEXIST: another fault added a folio first; "if (error == -EEXIST) goto repeat" after
        // the unlock and put of ours (still private: nobody saw it).
        mutexUnlock(w, folioLock(w, l.pfn));
        putPage(w, l.pfn);
        return 'isize';
      },
    },
    // "Perhaps the file has been truncated since we checked"
    recheck: {
      at: 'mm/shmem.c:shmem_get_folio_gfp i_size_read',
      lockless: ['addressSpace.size'],
      run: (w, l) => (beyondEof(w, l.m, l.index) ? 'unalloc' : 'finish'),
    },
    // unlock: if (alloced) filemap_remove_folio(folio); folio_unlock(folio);
    unalloc: {
      at: 'mm/shmem.c:shmem_get_folio_gfp filemap_remove_folio',
      run: (w, l) => {
        filemapRemoveFolio(w, l.m, l.pfn);
        mutexUnlock(w, folioLock(w, l.pfn));
        return 'putErr';
      },
    },
    putErr: {
      at: 'mm/shmem.c:shmem_get_folio_gfp folio_put',
      run: (w, l) => {
        putPage(w, l.pfn);
        return w.ret(VM_FAULT_SIGBUS);
      },
    },
    // finish_fault: pte_offset_map_lock; a pte no longer none is VM_FAULT_NOPAGE; else
    // set_pte_range: folio_add_file_rmap_ptes, set_ptes — our reference becomes the pte's.
    finish: {
      at: 'mm/memory.c:finish_fault',
      run: (w, l) => {
        const lock = ptl(w, l.mm);
        const b = spinLock(w, lock);
        if (b) return b;
        if (pteNone(pte(w, l.mm, l.vpn))) {
          pageDupRmap(w, l.pfn); // folio_add_file_rmap_ptes
          setPte(w, l.mm, l.vpn, l.pfn, (vma(w, l.vma).flags & VM_WRITE) !== 0, false);
          l.ret = 0;
        } else l.ret = VM_FAULT_NOPAGE;
        spinUnlock(w, lock); // pte_unmap_unlock
        return 'unlock';
      },
    },
    // do_shared_fault / do_read_fault: folio_unlock(folio); on VM_FAULT_NOPAGE also folio_put.
    unlock: {
      at: 'mm/memory.c:do_shared_fault folio_unlock',
      run: (w, l) => {
        mutexUnlock(w, folioLock(w, l.pfn));
        return l.ret ? 'put' : w.ret(0);
      },
    },
    put: {
      at: 'mm/memory.c:do_shared_fault folio_put',
      run: (w, l) => {
        putPage(w, l.pfn);
        return w.ret(l.ret);
      },
    },
  },
});
