/**
 * Page frames: allocation, references and reverse-map accounting. These are helpers called inside
 * steps (they never block); each one models a kernel primitive that is atomic in the kernel.
 */
import { injects } from '../world/faults.js';
import { hasLayer } from '../world/layers.js';
import type { World } from '../world/world.js';
import { MM, PAGE } from './structs.js';
import { deref, NONE } from './ref.js';
import { GFP_DIRECT_RECLAIM, GFP_KERNEL } from './flags.js';
import { fsReclaimAcquire } from './lockdep.js';

/** The fault point of a failing page allocation (scenario `faults: [alloc-fail]`). */
export const ALLOC_FAIL = 'alloc-fail';

/**
 * include/linux/sched/mm.h:might_alloc(GFP_KERNEL) — for a driver's kmalloc(GFP_KERNEL) or any
 * allocation the model does not represent: it may enter direct reclaim, which lockdep records
 * (fs_reclaim_acquire/release, src/kernel/lockdep.ts). Writes nothing: an annotation.
 */
export function mightAlloc(w: World): void {
  if (w.lockOrder !== null) fsReclaimAcquire(w);
}

/**
 * mm/page_alloc.c: alloc_pages — takes the lowest free pfn (deterministic), bumps its generation,
 * zeroes it. Returns 0 if memory is exhausted. `gfp`: GFP_KERNEL (default) may enter direct
 * reclaim (prepare_alloc_pages: might_alloc), GFP_NOWAIT does not.
 */
export function allocPage(w: World, gfp = GFP_KERNEL): number {
  if (gfp & GFP_DIRECT_RECLAIM) mightAlloc(w);
  // Fault injection (mm/fail_page_alloc.c: should_fail_alloc_page): the allocation may fail even
  // with free frames, and every caller must take its error path (VM_FAULT_OOM, -ENOMEM).
  if (injects(w, ALLOC_FAIL) && w.choose(2) === 1) return 0;
  const pfn = w.inside('zone.lock', () => takeFree(w));
  if (pfn === 0) return 0;
  prepNewPage(w, pfn);
  return pfn;
}

/**
 * mm/page_alloc.c:prep_new_page (and memremap.c:zone_device_page_init for a device page): a new
 * generation, one reference, no mapping, zeroed. Off the free list, the page is the allocating
 * step's until it publishes it (in a pte, a list).
 */
export function prepNewPage(w: World, pfn: number): void {
  w.own(PAGE, pfn);
  const p = w.obj(PAGE, pfn);
  p.gen = p.gen + 1;
  p.refcount = 1;
  p.mapcount = 0;
  p.contents = 0;
  p.anon = 0;
  p.anonVma = NONE;
  p.index = 0;
  p.swap = NONE;
  p.anonExclusive = 0; // free_pages_prepare cleared PG_anon_exclusive with the other flags
}

/** rmqueue under zone->lock: the lowest free pfn, taken off the free list; 0 if none. */
function takeFree(w: World): number {
  const n = w.count(PAGE);
  for (let pfn = 1; pfn < n; pfn++) {
    const p = w.obj(PAGE, pfn);
    if (p.free === 1) {
      p.free = 0;
      return pfn;
    }
  }
  return 0;
}

/** The kernel layer of large folios and PMD mappings (src/kernel/huge.ts). */
export const THP = 'thp';

/**
 * include/linux/page-flags.h: page_folio / compound_head — the pfn of the folio's head: `pfn`
 * itself for an order-0 page or a head, the head for a tail of a large folio (src/kernel/huge.ts).
 * The folio's reference count lives on its head.
 */
export function folioPfn(w: World, pfn: number): number {
  if (!hasLayer(w, THP)) return pfn; // without the layer every folio is one page (and steps read no page.head)
  const head = w.obj(PAGE, pfn).head;
  return head === NONE ? pfn : derefPfn(head);
}

/** include/linux/mm.h: get_page / folio_get. Taking a reference on a free page is a use-after-free. */
export function getPage(w: World, pfn: number): void {
  getPageRefs(w, pfn, 1, 'get_page');
}

/**
 * include/linux/mm.h: folio_ref_add — `refs` references at once, on the folio's head (GUP's
 * FOLL_PIN adds GUP_PIN_COUNTING_BIAS); `who` names the caller in the use-after-free BUG.
 */
export function getPageRefs(w: World, pfn: number, refs: number, who: string): void {
  pfn = folioPfn(w, pfn);
  const p = w.obj(PAGE, pfn);
  // A free page has no reference (refcount 0 exactly while on the free list, or never allocated).
  if (p.refcount <= 0) w.bug(`${who} on free pfn ${pfn} (use after free)`);
  p.refcount = p.refcount + refs;
}

/** include/linux/mm.h: put_page / folio_put — the last reference frees the page. */
export function putPage(w: World, pfn: number): void {
  putPageRefs(w, pfn, 1);
}

/** include/linux/mm.h: folio_put_refs — drops `refs` references at once; the last frees the page. */
export function putPageRefs(w: World, pfn: number, refs: number): void {
  pfn = folioPfn(w, pfn);
  const p = w.obj(PAGE, pfn);
  if (p.refcount < refs) {
    w.bug(`put_page on ${p.refcount <= 0 ? 'free ' : ''}pfn ${pfn} (refcount underflow)`);
    return;
  }
  p.refcount = p.refcount - refs;
  if (p.refcount === 0) freePage(w, pfn);
}

/**
 * mm/page_alloc.c: free_unref_folios — back on the free list; contents stay until reuse. The
 * caller dropped the last reference: nobody else can reach the page, it is the step's own.
 */
function freePage(w: World, pfn: number): void {
  const order = hasLayer(w, THP) ? w.obj(PAGE, pfn).order : 0;
  // A large folio goes back whole (free_unref_folios → free_frozen_pages(folio, order)).
  for (let i = 0; i < 1 << order; i++) w.own(PAGE, pfn + i);
  for (let i = 1; i < 1 << order; i++) {
    freeOnePage(w, pfn + i);
    w.obj(PAGE, pfn + i).head = NONE;
  }
  if (order > 0) {
    const h = w.obj(PAGE, pfn);
    if (h.entireMapcount !== 0) w.bug(`freeing folio ${pfn} while its entire mapcount is ${h.entireMapcount} (bad page state)`);
    h.order = 0;
  }
  freeOnePage(w, pfn);
}

/** One frame of a freed folio back on the free list (free_pages_prepare's checks, __free_one_page). */
function freeOnePage(w: World, pfn: number): void {
  w.own(PAGE, pfn);
  const p = w.obj(PAGE, pfn);
  if (p.mapcount !== 0) w.bug(`freeing pfn ${pfn} while mapcount is ${p.mapcount} (bad page state)`);
  if (p.locked !== 0) w.bug(`freeing locked pfn ${pfn}`);
  w.inside('zone.lock', () => {
    p.free = 1;
  });
  // free_pages_prepare: page->flags &= ~PAGE_FLAGS_CHECK_AT_PREP — every flag, PG_dirty included, so
  // the next allocation starts clean (an anon page is often freed dirty).
  p.dirty = 0;
  p.anon = 0;
  p.anonVma = NONE;
  p.index = 0;
  p.swap = NONE;
}

/** mm/rmap.c: folio_add_new_anon_rmap — a fresh anon page mapped at `vpn` of `mm`. */
export function pageAddNewAnonRmap(w: World, pfn: number, mm: number, vpn: number): void {
  const p = w.obj(PAGE, pfn);
  p.anon = 1;
  p.anonVma = w.obj(MM, mm).anonVma;
  p.index = vpn;
  p.mapcount = p.mapcount + 1;
}

/** mm/rmap.c: folio_add_anon_rmap_pte / folio_dup_file_rmap — another normal pte maps the page. */
export function pageDupRmap(w: World, pfn: number): void {
  const p = w.obj(PAGE, pfn);
  if (w.obj(PAGE, folioPfn(w, pfn)).refcount <= 0) w.bug(`mapping free pfn ${pfn}`);
  p.mapcount = p.mapcount + 1;
}

/** mm/rmap.c: folio_remove_rmap_pte — a normal pte stops mapping the page. */
export function pageRemoveRmap(w: World, pfn: number): void {
  const p = w.obj(PAGE, pfn);
  if (p.mapcount <= 0) {
    w.bug(`folio_remove_rmap_pte: mapcount underflow on pfn ${pfn}`);
    return;
  }
  p.mapcount = p.mapcount - 1;
}

const derefPfn = (head: number) => deref(head, 'page.head');

/** The page's reuse generation, for ghost fields of mappings. */
export function pageGen(w: World, pfn: number): number {
  return w.obj(PAGE, pfn).gen;
}
