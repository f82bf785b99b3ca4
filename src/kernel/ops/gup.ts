/**
 * get_user_pages_remote for one page (mm/gup.c: __get_user_pages → check_vma_flags,
 * follow_page_pte, faultin_page) and follow_pfn (mm/memory.c) for KVM's hva_to_pfn_remapped.
 *
 * GUP only hands out pages that vm_normal_page finds: it refuses VM_IO|VM_PFNMAP VMAs and special
 * ptes with -EFAULT, and returns the page with a reference (try_grab_folio), taken under the ptl
 * so the page cannot be freed between the pte read and the get.
 */
import type { World } from '../../world/world.js';
import {
  EBUSY,
  EFAULT,
  ENOMEM,
  FAULT_FLAG_UNSHARE,
  FAULT_FLAG_WRITE,
  FOLL_LONGTERM,
  FOLL_PIN,
  FOLL_WRITE,
  GUP_PIN_COUNTING_BIAS,
  VM_FAULT_OOM,
  VM_FAULT_RETRY,
  VM_FAULT_SIGBUS,
  VM_IO,
  VM_PFNMAP,
  VM_READ,
  VM_WRITE,
} from '../flags.js';
import { assertHeld, mmapLock, ptl, spinLock, spinUnlock } from '../locks.js';
import { getPage, getPageRefs } from '../page.js';
import { findVma, pte, vma } from '../pgtable.js';
import { handleMmFault } from './fault.js';
import { KERNEL } from '../library.js';
import { ModelError } from '../../world/errors.js';
import { gupMustUnshare } from '../pin.js';
import { isZeroPfn } from '../zero-page.js';
import { MM, PAGE } from '../structs.js';

/** mm/gup.c:check_vma_flags (find_vma first): whether GUP may follow (mm, vpn) — a VMA there, not VM_IO|VM_PFNMAP, allowing the access. */
function checkVmaFlags(w: World, mm: number, vpn: number, write: boolean): boolean {
  const vi = findVma(w, mm, vpn);
  if (vi < 0) return false;
  const flags = vma(w, vi).flags;
  return !(flags & (VM_IO | VM_PFNMAP)) && (flags & (write ? VM_WRITE : VM_READ)) !== 0;
}

/**
 * mm/gup.c:follow_page_pte under the ptl the caller just took: the pfn mapped (the ptl still
 * held), 0 when there is no page to follow for this access (no_page, or a write to a read-only
 * pte: faultin_page), or -EFAULT for a special pte other than the zero page (vm_normal_page() ==
 * NULL); on 0 and -EFAULT the ptl is dropped.
 */
function followPte(w: World, mm: number, vpn: number, write: boolean): number {
  const p = pte(w, mm, vpn);
  if (!p.present || (write && !p.write)) {
    spinUnlock(w, ptl(w, mm)); // no_page / cannot follow for write: fault it in
    return 0;
  }
  if (p.special && !isZeroPfn(w, p.pfn)) {
    spinUnlock(w, ptl(w, mm)); // vm_normal_page() == NULL and not the zero page
    return -EFAULT;
  }
  return p.pfn;
}

/** get_user_pages_remote(mm, vpn, 1, write ? FOLL_WRITE : 0): the pfn with a reference, or -errno. Caller holds mmap_read_lock(mm). */
export const getUserPagesRemote = KERNEL.routine({
  name: 'get_user_pages_remote',
  params: ['mm', 'vpn', 'write'],
  steps: {
    check: {
      at: 'mm/gup.c:check_vma_flags',
      run: (w, l) => {
        assertHeld(w, mmapLock(w, l.mm), 'get_user_pages_remote'); // mmap_assert_locked
        return checkVmaFlags(w, l.mm, l.vpn, l.write !== 0) ? 'follow' : w.ret(-EFAULT);
      },
    },
    follow: {
      at: 'mm/gup.c:follow_page_pte',
      run: (w, l) => {
        const lock = ptl(w, l.mm);
        const b = spinLock(w, lock); // pte_offset_map_lock
        if (b) return b;
        const pfn = followPte(w, l.mm, l.vpn, l.write !== 0);
        if (pfn === 0) return 'fault';
        if (pfn < 0) return w.ret(pfn);
        getPage(w, pfn); // try_grab_folio(FOLL_GET), under the ptl (the zero page too)
        spinUnlock(w, lock);
        return w.ret(pfn);
      },
    },
    fault: { at: 'mm/gup.c:faultin_page', run: (w, l) => w.call(handleMmFault, 'faulted', l.mm, l.vpn, l.write) },
    faulted: { at: 'mm/gup.c:faultin_page', run: (w, l) => faultinResult(w, l) },
  },
});

/** What __get_user_pages does with faultin_page's result: an error (vm_fault_to_errno), or `follow` again. */
function faultinResult(w: World, l: { result: number }) {
  const r = l.result;
  l.result = 0;
  if (r & VM_FAULT_OOM) return w.ret(-ENOMEM);
  if (r & VM_FAULT_SIGBUS) return w.ret(-EFAULT);
  if (r & VM_FAULT_RETRY) return w.ret(-EBUSY);
  return 'follow'; // retry: follow_page_mask again
}

/**
 * pin_user_pages_remote(mm, vpn, 1, gupFlags | FOLL_PIN) for one page (mm/gup.c:
 * __gup_longterm_locked → __get_user_pages): the pfn, pinned (GUP_PIN_COUNTING_BIAS added to its
 * refcount), or -errno. `gupFlags`: FOLL_WRITE, FOLL_LONGTERM. Caller holds mmap_read_lock(mm);
 * unpin_user_page (src/kernel/pin.ts) releases the pin.
 *
 * A R/O pin of a page mapped read-only that is not exclusive (shared with a fork relative, or not
 * known exclusive) first unshares it: faultin_page with FAULT_FLAG_UNSHARE, which copies a shared
 * page or marks a reusable one exclusive, so the pin and the mm keep seeing the same page.
 *
 * Simplifications: FOLL_LONGTERM's check_and_migrate_movable_pages has nothing to do (no
 * ZONE_MOVABLE or CMA in the model); no GUP-fast (its result is the slow path's or a fallback to it).
 */
export const pinUserPagesRemote = KERNEL.routine({
  name: 'pin_user_pages_remote',
  params: ['mm', 'vpn', 'gupFlags'],
  locals: ['faultFlags'],
  steps: {
    check: {
      at: 'mm/gup.c:__get_user_pages_locked mm_set_has_pinned_flag',
      run: (w, l) => {
        assertHeld(w, mmapLock(w, l.mm), 'pin_user_pages_remote'); // mmap_assert_locked
        const m = w.obj(MM, l.mm);
        if (!m.hasPinned) m.hasPinned = 1; // mm_set_has_pinned_flag: test_bit, then set_bit
        return checkVmaFlags(w, l.mm, l.vpn, (l.gupFlags & FOLL_WRITE) !== 0) ? 'follow' : w.ret(-EFAULT);
      },
    },
    follow: {
      at: 'mm/gup.c:follow_page_pte',
      run: (w, l) => {
        const lock = ptl(w, l.mm);
        const b = spinLock(w, lock); // pte_offset_map_lock
        if (b) return b;
        const write = (l.gupFlags & FOLL_WRITE) !== 0;
        const pfn = followPte(w, l.mm, l.vpn, write);
        if (pfn === 0) {
          l.faultFlags = write ? FAULT_FLAG_WRITE : 0;
          return 'fault';
        }
        if (pfn < 0) return w.ret(pfn);
        const vmaFlags = vma(w, findVma(w, l.mm, l.vpn)).flags;
        if (!pte(w, l.mm, l.vpn).write && gupMustUnshare(w, vmaFlags, l.gupFlags | FOLL_PIN, pfn, (l.gupFlags & FOLL_LONGTERM) !== 0)) {
          spinUnlock(w, lock); // -EMLINK: faultin_page(FAULT_FLAG_UNSHARE)
          l.faultFlags = FAULT_FLAG_UNSHARE;
          return 'fault';
        }
        // try_grab_folio(FOLL_PIN), under the ptl: folio_ref_add(GUP_PIN_COUNTING_BIAS); "Don't take a
        // pin on the zero page" (a short-term R/O pin of it: a long-term one unshared it above).
        if (isZeroPfn(w, pfn)) {
          spinUnlock(w, lock);
          return w.ret(pfn);
        }
        getPageRefs(w, pfn, GUP_PIN_COUNTING_BIAS, 'pin_user_pages');
        const pg = w.obj(PAGE, pfn);
        // An anon page is pinned only while exclusive (the writable pte says so, or the unshare
        // made it so): the model records PageAnonExclusive here (src/kernel/pin.ts).
        if (pg.anon) pg.anonExclusive = 1;
        spinUnlock(w, lock);
        return w.ret(pfn);
      },
    },
    fault: {
      at: 'mm/gup.c:faultin_page',
      run: (w, l) => {
        const flags = l.faultFlags;
        l.faultFlags = 0;
        return w.call(handleMmFault, 'faulted', l.mm, l.vpn, flags);
      },
    },
    faulted: { at: 'mm/gup.c:faultin_page', run: (w, l) => faultinResult(w, l) },
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
