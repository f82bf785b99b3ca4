/**
 * get_user_pages_remote for one page (mm/gup.c: __get_user_pages → check_vma_flags,
 * follow_page_pte, faultin_page) and follow_pfn (mm/memory.c) for KVM's hva_to_pfn_remapped.
 *
 * GUP only hands out pages that vm_normal_page finds: it refuses VM_IO|VM_PFNMAP VMAs and special
 * ptes with -EFAULT, and returns the page with a reference (try_grab_folio), taken under the ptl
 * so the page cannot be freed between the pte read and the get.
 */
import type { World } from '../../world/world.js';
import { EBUSY, EFAULT, ENOMEM, VM_FAULT_OOM, VM_FAULT_RETRY, VM_FAULT_SIGBUS, VM_IO, VM_PFNMAP, VM_READ, VM_WRITE } from '../flags.js';
import { assertHeld, mmapLock, ptl, spinLock, spinUnlock } from '../locks.js';
import { getPage } from '../page.js';
import { findVma, pte, vma } from '../pgtable.js';
import { handleMmFault } from './fault.js';
import { KERNEL } from '../library.js';
import { ModelError } from '../../world/errors.js';

/** get_user_pages_remote(mm, vpn, 1, write ? FOLL_WRITE : 0): the pfn with a reference, or -errno. Caller holds mmap_read_lock(mm). */
export const getUserPagesRemote = KERNEL.routine({
  name: 'get_user_pages_remote',
  params: ['mm', 'vpn', 'write'],
  steps: {
    check: {
      at: 'mm/gup.c:check_vma_flags',
      run: (w, l) => {
        assertHeld(w, mmapLock(w, l.mm), 'get_user_pages_remote'); // mmap_assert_locked
        const vi = findVma(w, l.mm, l.vpn);
        if (vi < 0) return w.ret(-EFAULT);
        const flags = vma(w, vi).flags;
        if (flags & (VM_IO | VM_PFNMAP)) return w.ret(-EFAULT);
        if (!(flags & (l.write ? VM_WRITE : VM_READ))) return w.ret(-EFAULT);
        return 'follow';
      },
    },
    follow: {
      at: 'mm/gup.c:follow_page_pte',
      run: (w, l) => {
        const lock = ptl(w, l.mm);
        const b = spinLock(w, lock); // pte_offset_map_lock
        if (b) return b;
        const p = pte(w, l.mm, l.vpn);
        if (!p.present || (l.write && !p.write)) {
          spinUnlock(w, lock); // no_page / cannot follow for write: fault it in
          return 'fault';
        }
        if (p.special) {
          spinUnlock(w, lock); // vm_normal_page() == NULL and not the zero page
          return w.ret(-EFAULT);
        }
        const pfn = p.pfn;
        getPage(w, pfn); // try_grab_folio(FOLL_GET), under the ptl
        spinUnlock(w, lock);
        return w.ret(pfn);
      },
    },
    fault: { at: 'mm/gup.c:faultin_page', run: (w, l) => w.call(handleMmFault, 'faulted', l.mm, l.vpn, l.write) },
    faulted: {
      at: 'mm/gup.c:faultin_page',
      run: (w, l) => {
        const r = l.result;
        l.result = 0;
        if (r & VM_FAULT_OOM) return w.ret(-ENOMEM);
        if (r & VM_FAULT_SIGBUS) return w.ret(-EFAULT);
        if (r & VM_FAULT_RETRY) return w.ret(-EBUSY);
        return 'follow'; // retry: follow_page_mask again
      },
    },
  },
});

export interface FollowedPfn {
  /** 0 when nothing is mapped (or the VMA is not VM_IO|VM_PFNMAP). */
  readonly pfn: number;
  readonly write: boolean;
}

/**
 * mm/memory.c:follow_pfn (v5.10) / follow_pfnmap_start (v6.x): the pfn of a present pte of a
 * VM_IO|VM_PFNMAP VMA, special or not, without a reference. Both refuse other VMAs (-EINVAL →
 * pfn 0 here). The pte is read under the ptl, taken and dropped here (follow_pte … pte_unmap_unlock):
 * the calling step must first return what `spinLockBusy(w, ptl(w, mm))` returns when it is not 0.
 * Caller holds mmap_lock(mm).
 */
export function followPfn(w: World, mm: number, vpn: number): FollowedPfn {
  assertHeld(w, mmapLock(w, mm), 'follow_pfn'); // mmap_assert_locked
  const vi = findVma(w, mm, vpn);
  if (vi < 0 || !(vma(w, vi).flags & (VM_IO | VM_PFNMAP))) return { pfn: 0, write: false };
  const lock = ptl(w, mm);
  if (spinLock(w, lock)) throw new ModelError(`follow_pfn: ${lock.name()} is held; the calling step must spin first (spinLockBusy)`);
  const p = pte(w, mm, vpn);
  const f = p.present ? { pfn: p.pfn, write: p.write === 1 } : { pfn: 0, write: false };
  spinUnlock(w, lock);
  return f;
}
