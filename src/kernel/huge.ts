/**
 * Transparent huge pages (the `thp` kernel layer; mm/huge_memory.c, v6.18): anonymous large folios
 * mapped by one PMD entry, split back to ptes when an operation covers part of one, zapped whole
 * when it covers all of it. Off (the default), nothing here runs and no step reads the fields it
 * adds.
 *
 * Sizes. HPAGE_PMD_NR is 2 in the model (the kernel's is 512). What the kernel's behaviour turns on
 * is that one entry maps more than one page: with two, an operation can cover the whole PMD (zap
 * it) or part of it (split it), invalidation ranges are larger than the page that caused them, and
 * a secondary MMU that maps at the larger size can forget the other page. A larger number adds
 * pages, never a new case.
 *
 * Representation. The model keeps no page-table pages: a PMD mapping is its HPAGE_PMD_NR pte slots
 * with `huge` set (pmd_trans_huge), each holding what pmd_pfn(pmd) + i gives for its page, written
 * together under the ptl by the helpers here (set_pmd_at, pmdp_huge_get_and_clear, the split).
 * Every reader of a page's mapping (the properties, GUP, KVM, the drivers' checks) therefore sees
 * the page a PMD maps exactly as the MMU would, and a secondary entry for any page of a folio that
 * is zapped is stale by the existing properties. A PMD range whose every pte is none stands for
 * pmd_none: v6.15's CONFIG_PT_RECLAIM frees a table emptied by MADV_DONTNEED, free_pgtables one
 * emptied by munmap.
 *
 * Large folios. The head page carries the folio's refcount (get_page/put_page of any page go to
 * it: page.ts folioPfn), folio_order and the entire mapcount (PMD mappings); each page keeps its
 * own mapcount (pte mappings) and its anon/index for rmap. The last put frees the whole folio.
 *
 * Operations (what calls them):
 *   - do_huge_pmd_anonymous_page: a fault on pmd_none in an aligned range inside an anonymous VMA
 *     (handle_mm_fault's step, ops/fault.ts: hugePmdFault); transparent_hugepage=always (no VM_HUGEPAGE needed); no huge zero page (a
 *     read fault allocates, as do_anonymous_page does in the model); VM_FAULT_FALLBACK to
 *     do_anonymous_page when no aligned free run is left;
 *   - __split_huge_pmd, with its own MMU_NOTIFY_CLEAR over the whole PMD: from zap_pmd_range inside
 *     the caller's bracket when a zap covers part of a PMD (ops/zap.ts: MADV_DONTNEED of one page),
 *     from __split_vma's vma_adjust_trans_huge when a VMA boundary cuts one (munmap, mprotect), and
 *     from do_huge_pmd_wp_page's fallback;
 *   - zap_huge_pmd, inside zap_pte_range's step, when a zap covers a whole PMD;
 *   - hmm_vma_handle_pmd (hmm/hmm.ts): the order in each hmm pfn (hmm_pfn_to_map_order).
 *
 * Not modelled: khugepaged and MADV_COLLAPSE, the deferred split queue's shrinker (a partly
 * unmapped folio stays whole until its last page goes: split_folio is never called), THP swap-out
 * and migration (reclaim, migrate_pages, migrate_vma, make_device_exclusive, fork's copy_huge_pmd
 * and GUP-fast are not taught PMDs: a scenario with the layer must not run them on a huge range),
 * do_huge_pmd_wp_page's reuse of an exclusive folio (the model always takes its fallback) and
 * v6.10's __wp_can_reuse_large_anon_folio (do_wp_page copies from a pte-mapped large folio, as
 * wp_can_reuse_anon_folio did before: the result the process sees is the same), the
 * transient non-present PMD of pmdp_invalidate (the split is one step under the ptl), file THPs.
 */
import type { World } from '../world/world.js';
import { ModelError } from '../world/errors.js';
import { hasLayer } from '../world/layers.js';
import { injects } from '../world/faults.js';
import { MMU_NOTIFY_CLEAR, VM_ANON, VM_WRITE } from './flags.js';
import { assertHeld, mmapLock, ptl, spinLock, spinUnlock } from './locks.js';
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from './notifier/mmu-notifier.js';
import { ALLOC_FAIL, pageGen, prepNewPage, putPage, THP } from './page.js';
import { findVma, pte, pteNone, vma } from './pgtable.js';
import { MM, PAGE } from './structs.js';
import { NONE, ref } from './ref.js';
import { KERNEL } from './library.js';

export { THP } from './page.js';

/** folio_order of a PMD-mapped folio (PMD_SHIFT - PAGE_SHIFT; 9 on x86-64, 1 in the model: see the file comment). */
export const HPAGE_PMD_ORDER = 1;
export const HPAGE_PMD_NR = 1 << HPAGE_PMD_ORDER;
/** include/linux/mm_types.h: VM_FAULT_FALLBACK — the huge path gave up; the caller faults a pte. */
export const VM_FAULT_FALLBACK = 0x800;

/** address & HPAGE_PMD_MASK, in pages. */
export function pmdStart(vpn: number): number {
  return vpn - (vpn % HPAGE_PMD_NR);
}

/** Whether the thp layer is on: without it no pte is ever huge and nothing here is asked. */
export function thpEnabled(w: World): boolean {
  return hasLayer(w, THP);
}

/** What __handle_mm_fault does at the PMD level (hugePmdFault). */
/**
 * What the thp layer does not model yet, refused rather than mis-modelled: reclaim and
 * migrate_pages of a large folio (the kernel splits it first, split_folio_to_list, or moves it
 * whole) and fork of a PMD (copy_huge_pmd). A scenario that reaches one stops with this
 * message instead of treating the folio's pages as order-0 pages.
 */
export function refuseLargeFolio(w: World, pfn: number, what: string): void {
  if (!thpEnabled(w)) return;
  const page = w.obj(PAGE, pfn);
  if (page.head !== NONE || page.order > 0) throw new ModelError(`${what} of a page of a large folio (pfn ${pfn}) is not modelled by the thp layer yet`);
}

export const PMD_NONE_OR_PTES = 0;
export const PMD_CREATE = 1;
export const PMD_SPLIT = 2;

/**
 * mm/memory.c:__handle_mm_fault at the PMD level, from one lockless read of the PMD
 * (pmdp_get_lockless: the slots in one snapshot, w.single). The caller holds mmap_lock (the VMA is
 * stable):
 *   - `pmd_none(*vmf->pmd) && thp_vma_allowable_order(vma, …, TVA_PAGEFAULT, PMD_ORDER)` →
 *     PMD_CREATE (create_huge_pmd → do_huge_pmd_anonymous_page): the VMA is anonymous (file THPs
 *     are not modelled), the aligned PMD range lies inside it (thp_vma_suitable_order), and no
 *     pte of that range is populated (see the file comment on pmd_none);
 *   - pmd_trans_huge on a write the PMD does not allow → PMD_SPLIT (wp_huge_pmd →
 *     do_huge_pmd_wp_page's fallback);
 *   - otherwise PMD_NONE_OR_PTES: handle_pte_fault (a present PMD's pte-level view is what the
 *     access needs: huge_pmd_set_accessed changes nothing the model tracks).
 * A write to a VMA without VM_WRITE is left to handle_pte_fault, which refuses it.
 */
export function hugePmdFault(w: World, mm: number, vpn: number, write: number): number {
  assertHeld(w, mmapLock(w, mm), 'handle_mm_fault'); // mmap_assert_locked
  const vi = findVma(w, mm, vpn);
  if (vi < 0) return PMD_NONE_OR_PTES;
  const v = vma(w, vi);
  if (write && !(v.flags & VM_WRITE)) return PMD_NONE_OR_PTES;
  const haddr = pmdStart(vpn);
  if (haddr + HPAGE_PMD_NR > w.layout.dims.mmPages) return PMD_NONE_OR_PTES;
  const [none, huge, writable] = w.single(() => {
    let n = true;
    for (let i = 0; i < HPAGE_PMD_NR; i++) n = n && pteNone(pte(w, mm, haddr + i));
    const p = pte(w, mm, vpn);
    return [n, p.huge === 1, p.write === 1];
  });
  if (none) return v.flags & VM_ANON && haddr >= v.start && haddr + HPAGE_PMD_NR <= v.end ? PMD_CREATE : PMD_NONE_OR_PTES;
  return huge && write && !writable ? PMD_SPLIT : PMD_NONE_OR_PTES;
}

/**
 * mm/page_alloc.c:__alloc_pages(order) + prep_compound_page: the lowest naturally aligned run of
 * 1 << order free frames, taken under zone->lock; the head gets the reference and folio_order, each
 * tail points at it. 0 if no run is free (or the alloc-fail fault point fires). GFP_TRANSHUGE_LIGHT
 * (defrag=madvise without MADV_HUGEPAGE): no direct reclaim, so no fs_reclaim annotation.
 */
export function allocFolio(w: World, order: number): number {
  if (injects(w, ALLOC_FAIL) && w.choose(2) === 1) return 0;
  const nr = 1 << order;
  const head = w.inside('zone.lock', () => {
    const n = w.count(PAGE);
    for (let pfn = nr; pfn + nr <= n; pfn += nr) {
      let free = true;
      for (let i = 0; i < nr && free; i++) free = w.obj(PAGE, pfn + i).free === 1;
      if (!free) continue;
      for (let i = 0; i < nr; i++) w.obj(PAGE, pfn + i).free = 0;
      return pfn;
    }
    return 0;
  });
  if (head === 0) return 0;
  for (let i = 0; i < nr; i++) prepNewPage(w, head + i);
  for (let i = 1; i < nr; i++) {
    const t = w.obj(PAGE, head + i);
    t.refcount = 0; // a tail's _refcount is 0: the folio's count is the head's
    t.head = ref(head);
  }
  w.obj(PAGE, head).order = order;
  return head;
}

/** set_pmd_at(mm, haddr, pmd, mk_huge_pmd(folio, vm_page_prot)), under the ptl: every slot of the PMD maps its page of the folio. */
function setPmd(w: World, mm: number, haddr: number, head: number, write: boolean): void {
  assertHeld(w, ptl(w, mm), 'set_pmd_at');
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const p = pte(w, mm, haddr + i);
    p.pfn = head + i;
    p.present = 1;
    p.write = write ? 1 : 0;
    p.special = 0;
    p.swap = NONE;
    p.migration = 0;
    p.devPrivate = 0;
    p.gen = pageGen(w, head + i);
    p.protnone = 0;
    p.huge = 1;
  }
}

/**
 * mm/huge_memory.c:zap_huge_pmd for the PMD at `haddr`, under the ptl (the model's zap holds the
 * mm's one ptl): pmdp_huge_get_and_clear_full, folio_remove_rmap_pmd, and the folio queued whole
 * for tlb_finish_mmu (tlb_remove_page_size). Returns the pfn of the head to queue.
 */
export function zapHugePmd(w: World, mm: number, haddr: number): number {
  assertHeld(w, ptl(w, mm), 'zap_huge_pmd');
  const head = pte(w, mm, haddr).pfn;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const p = pte(w, mm, haddr + i);
    p.pfn = 0;
    p.present = 0;
    p.write = 0;
    p.gen = 0;
    p.protnone = 0;
    p.huge = 0;
  }
  const h = w.obj(PAGE, head);
  if (h.entireMapcount <= 0) w.bug(`folio_remove_rmap_pmd: entire mapcount underflow on folio ${head}`);
  else h.entireMapcount = h.entireMapcount - 1;
  return head;
}

/**
 * The PMD that [start, end) of `mm` covers only part of — its first page — or -1: the one holding
 * `start` or the one holding `end - 1` (any other lies wholly inside). zap_pmd_range's `next - addr
 * != HPAGE_PMD_SIZE`, and vma_adjust_trans_huge's test that a new VMA boundary falls inside one.
 * Read under the ptl (zap) or under mmap_write_lock (a VMA split: no fault or split can run).
 */
export function partialHugePmd(w: World, mm: number, start: number, end: number): number {
  if (!thpEnabled(w) || start >= end) return -1;
  const n = w.layout.dims.mmPages;
  if (start % HPAGE_PMD_NR !== 0 && start < n && pte(w, mm, start).huge) return pmdStart(start);
  if (end % HPAGE_PMD_NR !== 0 && end - 1 < n && pte(w, mm, end - 1).huge) return pmdStart(end - 1);
  return -1;
}

/**
 * mm/huge_memory.c:do_huge_pmd_anonymous_page (→ __do_huge_pmd_anonymous_page) for (mm, vpn) in
 * VMA `vma`: allocate a PMD-order folio, then under the pmd lock recheck pmd_none and map it with
 * one PMD. Returns 0 (mapped, or lost the race: the caller retries) or VM_FAULT_FALLBACK.
 */
export const doHugePmdAnonymousPage = KERNEL.routine({
  name: 'do_huge_pmd_anonymous_page',
  params: ['mm', 'vpn', 'vma'],
  locals: ['head'],
  steps: {
    alloc: {
      at: 'mm/huge_memory.c:__do_huge_pmd_anonymous_page vma_alloc_anon_folio_pmd',
      run: (w, l) => {
        l.head = allocFolio(w, HPAGE_PMD_ORDER);
        if (l.head === 0) return w.ret(VM_FAULT_FALLBACK); // count_vm_event(THP_FAULT_FALLBACK)
        return 'pmdLock';
      },
    },
    pmdLock: {
      at: 'mm/huge_memory.c:__do_huge_pmd_anonymous_page pmd_lock',
      run: (w, l) => {
        for (let i = 0; i < HPAGE_PMD_NR; i++) w.own(PAGE, l.head + i); // ours until set_pmd_at publishes it
        const lock = ptl(w, l.mm);
        const b = spinLock(w, lock); // vmf->ptl = pmd_lock(vma->vm_mm, vmf->pmd)
        if (b) return b;
        const haddr = pmdStart(l.vpn);
        let none = true;
        for (let i = 0; i < HPAGE_PMD_NR; i++) none = none && pteNone(pte(w, l.mm, haddr + i));
        if (!none) {
          // `if (unlikely(!pmd_none(*vmf->pmd))) goto unlock_release;`: folio_put, return 0
          spinUnlock(w, lock);
          putPage(w, l.head);
          return w.ret(0);
        }
        // map_anon_folio_pmd: folio_add_new_anon_rmap(folio, vma, haddr, RMAP_EXCLUSIVE) — the
        // entire mapcount; each page's anon_vma and index for rmap — then set_pmd_at.
        const anonVma = w.obj(MM, l.mm).anonVma;
        for (let i = 0; i < HPAGE_PMD_NR; i++) {
          const p = w.obj(PAGE, l.head + i);
          p.anon = 1;
          p.anonVma = anonVma;
          p.index = haddr + i;
        }
        w.obj(PAGE, l.head).entireMapcount = 1;
        setPmd(w, l.mm, haddr, l.head, (vma(w, l.vma).flags & VM_WRITE) !== 0);
        spinUnlock(w, lock);
        return w.ret(0);
      },
    },
  },
});

/**
 * mm/huge_memory.c:__split_huge_pmd(vma, pmd, address, freeze = false) for the PMD holding `vpn` of
 * `mm`: its own MMU_NOTIFY_CLEAR over the whole PMD range (mmu_notifier_range_init(&range, …,
 * address & HPAGE_PMD_MASK, (address & HPAGE_PMD_MASK) + HPAGE_PMD_SIZE)), nested inside the
 * caller's range when the caller has one; then under the pmd lock, if the PMD is still huge,
 * __split_huge_pmd_locked: the PMD becomes ptes mapping the same pages of the same folio
 * (folio_ref_add(folio, HPAGE_PMD_NR - 1), folio_add_anon_rmap_ptes, folio_remove_rmap_pmd).
 * The folio itself stays whole (split_huge_pmd is not split_folio).
 */
export const splitHugePmd = KERNEL.routine({
  name: '__split_huge_pmd',
  params: ['mm', 'vpn'],
  locals: ['haddr'],
  steps: {
    start: {
      at: 'mm/huge_memory.c:__split_huge_pmd mmu_notifier_invalidate_range_start',
      run: (w, l) => {
        l.haddr = pmdStart(l.vpn);
        return w.call(mmuNotifierInvalidateRangeStart, 'split', l.mm, l.haddr, l.haddr + HPAGE_PMD_NR, MMU_NOTIFY_CLEAR, 1);
      },
    },
    split: {
      at: 'mm/huge_memory.c:__split_huge_pmd_locked',
      run: (w, l) => {
        const lock = ptl(w, l.mm);
        const b = spinLock(w, lock); // ptl = pmd_lock(vma->vm_mm, pmd)
        if (b) return b;
        // split_huge_pmd_locked: `if (pmd_trans_huge(*pmd) …)` — another split or zap may have won.
        if (pte(w, l.mm, l.haddr).huge) splitHugePmdLocked(w, l.mm, l.haddr);
        spinUnlock(w, lock);
        l.result = 0;
        return w.call(mmuNotifierInvalidateRangeEnd, 'done', l.mm, l.haddr, l.haddr + HPAGE_PMD_NR, MMU_NOTIFY_CLEAR, 1);
      },
    },
    done: { at: 'mm/huge_memory.c:__split_huge_pmd', run: (w) => w.ret(0) },
  },
});

/** mm/huge_memory.c:__split_huge_pmd_locked of the (present, anon) PMD at `haddr`, under the ptl. */
function splitHugePmdLocked(w: World, mm: number, haddr: number): void {
  const head = pte(w, mm, haddr).pfn;
  const h = w.obj(PAGE, head);
  h.refcount = h.refcount + HPAGE_PMD_NR - 1; // folio_ref_add: one reference per pte from now on
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const pg = w.obj(PAGE, head + i);
    pg.mapcount = pg.mapcount + 1; // folio_add_anon_rmap_ptes(folio, page, HPAGE_PMD_NR, …)
    pte(w, mm, haddr + i).huge = 0; // the ptes keep pfn, write and protnone: pte_mkwrite/… of the old pmd's bits
  }
  h.entireMapcount = h.entireMapcount - 1; // folio_remove_rmap_pmd
}
