/**
 * FOLL_PIN accounting of a small folio and the anon-exclusive rules that keep a pin coherent
 * (include/linux/mm.h, mm/gup.c, include/linux/rmap.h, mm/internal.h). Helpers called inside steps.
 *
 * A pin adds GUP_PIN_COUNTING_BIAS to the refcount (try_grab_folio), so folio_maybe_dma_pinned is
 * "refcount ≥ bias" and every refcount check (reclaim's and migration's folio_ref_freeze) fails on
 * a pinned page without knowing about pins. What a pin needs beyond that is PageAnonExclusive: a
 * pinned anon page must stay the page its mm maps, so GUP pins only an exclusive page (unsharing
 * a shared one first), fork copies a pinned exclusive page instead of sharing it, a write fault
 * reuses an exclusive page whatever its refcount, and reclaim/migration refuse to unmap it.
 *
 * The model keeps `page.anonExclusive` only where a pin needs it: GUP sets it when it pins (a
 * writable pte maps an exclusive page; a read-only one was just unshared), fork and the rmap
 * unmappers clear it when they share an unpinned page. The kernel also sets it on every new anon
 * page and on every write-fault reuse; without the flag the model decides reuse by
 * wp_can_reuse_anon_folio's refcount rule, which gives the kernel's answer whenever no one else
 * holds a reference to the page (an exclusive page with a transient extra reference, a FOLL_GET by
 * KVM, is copied by the model where the kernel reuses it).
 */
import type { World } from '../world/world.js';
import { FOLL_PIN, FOLL_WRITE, GUP_PIN_COUNTING_BIAS, isCowMapping } from './flags.js';
import { MM, PAGE } from './structs.js';
import { folioPfn, putPageRefs } from './page.js';
import { isZeroPfn } from './zero-page.js';

/** include/linux/mm.h:folio_maybe_dma_pinned for a small folio: refcount ≥ GUP_PIN_COUNTING_BIAS. */
export function folioMaybeDmaPinned(w: World, pfn: number): boolean {
  return w.obj(PAGE, folioPfn(w, pfn)).refcount >= GUP_PIN_COUNTING_BIAS; // the folio's count: its head's
}

/** include/linux/page-flags.h:PageAnonExclusive (as the model keeps it, see above). */
export function pageAnonExclusive(w: World, pfn: number): boolean {
  return w.obj(PAGE, pfn).anonExclusive === 1;
}

/**
 * mm/internal.h:gup_must_unshare — a R/O FOLL_PIN of a page mapped read-only must first unshare
 * it (FAULT_FLAG_UNSHARE) unless it is an exclusive anon page. FOLL_WRITE needs a writable pte,
 * which maps an exclusive page; a page that is not anon (the zero page: see the zero-page layer)
 * needs it only for a FOLL_LONGTERM pin of a COW mapping.
 */
export function gupMustUnshare(w: World, vmaFlags: number, gupFlags: number, pfn: number, longterm: boolean): boolean {
  if ((gupFlags & (FOLL_WRITE | FOLL_PIN)) !== FOLL_PIN) return false;
  if (pfn === 0 || !w.obj(PAGE, pfn).anon) return longterm && isCowMapping(vmaFlags);
  return !pageAnonExclusive(w, pfn);
}

/**
 * include/linux/mm.h:folio_needs_cow_for_dma — fork must copy this page now rather than share it
 * COW: a COW mapping of an mm that has taken a FOLL_PIN (MMF_HAS_PINNED), and the page may be pinned.
 */
export function folioNeedsCowForDma(w: World, vmaFlags: number, mm: number, pfn: number): boolean {
  if (!isCowMapping(vmaFlags)) return false;
  if (!w.obj(MM, mm).hasPinned) return false;
  return folioMaybeDmaPinned(w, pfn);
}

/**
 * include/linux/rmap.h:folio_try_share_anon_rmap_pte (and, in fork, the exclusive half of
 * folio_try_dup_anon_rmap_pte) — an exclusive anon page is about to be shared (fork) or unmapped
 * (swap, migration): refuse if it may be pinned (the caller keeps or copies it), else clear
 * PageAnonExclusive. Returns true when refused. Under the ptl of a pte that maps the page.
 */
export function folioTryShareAnonRmap(w: World, pfn: number): boolean {
  if (!pageAnonExclusive(w, pfn)) return false;
  if (folioMaybeDmaPinned(w, pfn)) return true;
  w.obj(PAGE, pfn).anonExclusive = 0; // ClearPageAnonExclusive
  return false;
}

/**
 * mm/gup.c:unpin_user_page → gup_put_folio(folio, 1, FOLL_PIN): folio_put_refs(folio,
 * GUP_PIN_COUNTING_BIAS) — the last reference frees the page; nothing for the zero page.
 */
export function unpinUserPage(w: World, pfn: number): void {
  if (isZeroPfn(w, pfn)) return; // gup_put_folio: the zero page was never pinned
  if (!folioMaybeDmaPinned(w, pfn)) w.bug(`unpin_user_page on pfn ${pfn}, which is not pinned`);
  putPageRefs(w, pfn, GUP_PIN_COUNTING_BIAS);
}
