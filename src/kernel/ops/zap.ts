/**
 * The zapping core (mm/memory.c): clearing the ptes of a range, with the notifier bracket on the
 * mm that owns them and the pages put only in tlb_finish_mmu, after invalidate_range_end.
 *
 * The mmu_gather is an int32 local: a 2-bit count per pfn (pfns 1..15), because one gather can
 * hold the same page twice (a file page mapped at two addresses of one mm). Routines that own a
 * gather either finish it themselves (zap_page_range_single) or return it to the caller
 * (zap_page_range_single_batched, unmap_vmas), who finishes it at the kernel's point.
 *
 * Simplification: the kernel takes the pte lock per page table and may drop it between tables;
 * the model zaps a whole range under the mm's single ptl in one step.
 */
import type { World } from '../../world/world.js';
import { putSwapFolio, swapCacheLookup, SWAP_COUNT } from './reclaim.js';
import { MMU_NOTIFY_CLEAR, MMU_NOTIFY_UNMAP, VM_PFNMAP } from '../flags.js';
import { assertHeld, ptl, spinLock, spinUnlock } from '../locks.js';
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from '../notifier/mmu-notifier.js';
import { pageRemoveRmap } from '../page.js';
import { folioPut } from '../memremap.js';
import { clearPte, pte, vma, vmaIndex, vmaMm } from '../pgtable.js';
import { PAGE, VMA } from '../structs.js';
import { refersTo, swpOffset } from '../ref.js';
import { KERNEL } from '../library.js';
import { deviceExclusivePfn } from './device-exclusive.js';
import { tlbDefer, tlbFlushStep, tlbOn } from '../tlb.js';
import { HPAGE_PMD_NR, partialHugePmd, pmdStart, splitHugePmd, thpEnabled, zapHugePmd } from '../huge.js';

/** Largest pfn an mmu_gather local can hold (2 bits per pfn in an int32). */
export const GATHER_MAX_PFN = 15;

/** mm/mmu_gather.c:__tlb_remove_folio_pages — queue one reference of `pfn` for tlb_finish_mmu. */
export function gatherAdd(gather: number, pfn: number): number {
  if (pfn < 1 || pfn > GATHER_MAX_PFN) throw new Error(`mmu_gather model holds pfns 1..${GATHER_MAX_PFN}, got ${pfn}`);
  const shift = 2 * pfn;
  const n = (gather >>> shift) & 3;
  if (n === 3) throw new Error(`mmu_gather model holds at most 3 references of pfn ${pfn}`);
  return (gather + (1 << shift)) | 0;
}

/** How many references of `pfn` the gather holds. */
export function gatherCount(gather: number, pfn: number): number {
  return pfn < 1 || pfn > GATHER_MAX_PFN ? 0 : (gather >>> (2 * pfn)) & 3;
}

/**
 * Where a routine that finishes an mmu_gather goes once its ptes are cleared: with the cpu-tlb
 * layer to its `tlbFlush` step (tlbFlushMmuStep), then to `finish` (the puts); without it straight
 * to `finish`, as a cleared pte is gone at once for the CPU.
 */
export function tlbFinishFrom(w: World, finish: string): string {
  return tlbOn(w) ? 'tlbFlush' : finish;
}

/**
 * mm/mmu_gather.c:tlb_finish_mmu → tlb_flush_mmu → tlb_flush_mmu_tlbonly: the TLB flush of what the
 * gather cleared, before tlb_flush_mmu_free frees a page (free_pages_and_swap_cache): a page must
 * not be freed while a TLB still maps it. A step of its own, so CPU accesses through the stale
 * entries between the pte clear and the flush are explored.
 */
export function tlbFlushMmuStep(finish: string) {
  return tlbFlushStep('mm/mmu_gather.c:tlb_flush_mmu_tlbonly', finish);
}

/**
 * mm/mmu_gather.c:tlb_finish_mmu — TLB flushed, then every gathered reference is put
 * (release_pages), each put its own atomic: one put per step. Returns the gather left; the
 * calling step repeats while it is not empty.
 */
export function tlbFinishOne(w: World, gather: number): number {
  for (let pfn = 1; pfn <= GATHER_MAX_PFN; pfn++) {
    if (gatherCount(gather, pfn) > 0) {
      folioPut(w, pfn); // a device page goes back to its driver
      return gather - (1 << (2 * pfn));
    }
  }
  return 0;
}

/**
 * mm/swapfile.c:free_swap_and_cache — the pte's reference to swap slot `slot` is
 * gone. The slot stays used while another pte or the swap cache still refers to it (the model
 * keeps no swap count: the ptes and the cached page are the count); the swap cache is left to
 * reclaim, which frees the slot through put_swap_folio.
 */
export function swapFree(w: World, slot: number): void {
  // The slot's SWAP_HAS_CACHE bit, read under the swap lock: whether a page caches the slot.
  const cached = w.standIn(SWAP_COUNT, () => swapCacheLookup(w, slot) !== 0);
  if (!cached) putSwapFolio(w, slot);
}

/**
 * mm/memory.c:zap_pte_range (zap_present_ptes / zap_nonpresent_ptes), under the ptl: clears the
 * ptes of [start, end) of `mm` and returns the gather with the normal pages added.
 *   - normal present pte: folio_remove_rmap_pte, page queued for tlb_finish_mmu;
 *   - special pte (vm_normal_page() == NULL): cleared, no accounting;
 *   - device-exclusive entry (device-exclusive.ts): as a normal pte, its page queued too;
 *   - swap entry: cleared, free_swap_and_cache;
 *   - migration entry: cleared (it holds no mapcount);
 *   - device-private entry: cleared, folio_remove_rmap_pte, the device page queued as a present one.
 * `evenCows` = 0 is zap_details.even_cows == false (unmap_mapping_range(..., 0)): anon (COWed)
 * pages of private file mappings and their swap/migration entries are kept.
 */
export function zapPteRange(w: World, mm: number, start: number, end: number, evenCows: number, gather: number): number {
  assertHeld(w, ptl(w, mm), 'zap_pte_range');
  const stop = Math.min(end, w.layout.dims.mmPages);
  const thp = thpEnabled(w);
  for (let vpn = Math.max(start, 0); vpn < stop; vpn++) {
    const p = pte(w, mm, vpn);
    if (thp && p.huge) {
      // zap_pmd_range: a PMD the range covers whole goes with zap_huge_pmd (a partial one was
      // split by the calling step first: zapSplitFirst).
      if (vpn % HPAGE_PMD_NR !== 0 || vpn + HPAGE_PMD_NR > stop) throw new Error(`zap_pte_range: the PMD at ${pmdStart(vpn)} is only partly in [${start}, ${end}) and was not split`);
      gather = gatherAdd(gather, zapHugePmd(w, mm, vpn));
      vpn += HPAGE_PMD_NR - 1;
      continue;
    }
    if (p.present) {
      if (p.special) {
        clearPte(w, mm, vpn);
        tlbDefer(w, mm, vpn); // tlb_remove_tlb_entry: flushed in tlb_finish_mmu
        continue;
      }
      const pfn = p.pfn;
      if (!evenCows && w.obj(PAGE, pfn).anon) continue; // should_zap_folio
      clearPte(w, mm, vpn);
      tlbDefer(w, mm, vpn); // zap_present_folio_ptes: tlb_remove_tlb_entries
      pageRemoveRmap(w, pfn);
      gather = gatherAdd(gather, pfn);
    } else if (deviceExclusivePfn(p)) {
      // v6.15 zap_nonpresent_ptes, is_device_exclusive_entry: the entry is a mapping (mapcount and
      // reference): folio_remove_rmap_pte, folio_put. The model queues the put in the gather, so
      // the page is freed at tlb_finish_mmu with the present ones rather than here.
      const pfn = deviceExclusivePfn(p);
      if (!evenCows && w.obj(PAGE, pfn).anon) continue; // should_zap_folio
      clearPte(w, mm, vpn);
      pageRemoveRmap(w, pfn);
      gather = gatherAdd(gather, pfn);
    } else if (p.swap) {
      if (!evenCows) continue; // should_zap_cows
      const slot = swpOffset(p.swap);
      clearPte(w, mm, vpn);
      swapFree(w, slot);
    } else if (p.migration) {
      if (!evenCows && w.obj(PAGE, p.migration).anon) continue;
      clearPte(w, mm, vpn);
    } else if (p.devPrivate) {
      // zap_nonpresent_ptes, is_device_private_entry: folio_remove_rmap_pte, then the put — here
      // through the gather, after the flush (the entry was never in a TLB).
      const pfn = p.devPrivate;
      if (!evenCows && w.obj(PAGE, pfn).anon) continue;
      clearPte(w, mm, vpn);
      pageRemoveRmap(w, pfn);
      gather = gatherAdd(gather, pfn);
    }
  }
  return gather;
}

/**
 * mm/memory.c:zap_pmd_range — a PMD that [start, end) covers only part of is split first,
 * __split_huge_pmd(vma, pmd, addr, false), with its own invalidation nested in the zap's (thp
 * layer, huge.ts). Called by a zap step holding the ptl: 0 when nothing is to split, else the ptl
 * is dropped (the split takes the pmd lock after its range start) and the split is called, the
 * step running again after it.
 */
function zapSplitFirst(w: World, mm: number, start: number, end: number, again: string): number {
  const haddr = partialHugePmd(w, mm, start, end);
  if (haddr < 0) return 0;
  spinUnlock(w, ptl(w, mm));
  return w.call(splitHugePmd, again, mm, haddr);
}

/**
 * mm/memory.c:zap_page_range_single_batched — CLEAR bracket on the VMA's own mm around
 * unmap_single_vma. Returns the gather; the caller runs tlb_finish_mmu after this returns.
 */
export const zapPageRangeSingleBatched = KERNEL.routine({
  name: 'zap_page_range_single_batched',
  params: ['vma', 'start', 'end', 'evenCows'],
  locals: ['mm', 'gather'],
  steps: {
    start: {
      at: 'mm/memory.c:zap_page_range_single_batched',
      run: (w, l) => {
        l.mm = vmaMm(w, l.vma); // mmu_notifier_range_init(..., vma->vm_mm, ...)
        return w.call(mmuNotifierInvalidateRangeStart, 'zap', l.mm, l.start, l.end, MMU_NOTIFY_CLEAR, 1);
      },
    },
    zap: {
      at: 'mm/memory.c:unmap_single_vma',
      // The VMA's bounds, read without mmap_lock: they change only under mmap_lock for write AND
      // i_mmap_rwsem (vma_prepare), which unmap_mapping_range holds; zap_vma_ptes' caller must keep
      // its VMA alive. One snapshot of them (w.single).
      lockless: ['vma.used', 'vma.start', 'vma.end'],
      run: (w, l) => {
        const b = spinLock(w, ptl(w, l.mm)); // pte_offset_map_lock
        if (b) return b;
        const split = zapSplitFirst(w, l.mm, l.start, l.end, 'zap');
        if (split) return split;
        const [used, start, end] = w.single(() => {
          const v = vma(w, l.vma);
          return [v.used, v.start, v.end];
        });
        // unmap_single_vma clips to the VMA; a VMA already gone (see unmap_mapping_range) zaps nothing.
        if (used) l.gather = zapPteRange(w, l.mm, Math.max(l.start, start), Math.min(l.end, end), l.evenCows, l.gather);
        spinUnlock(w, ptl(w, l.mm));
        l.result = 0;
        return w.call(mmuNotifierInvalidateRangeEnd, 'done', l.mm, l.start, l.end, MMU_NOTIFY_CLEAR, 1);
      },
    },
    done: { at: 'mm/memory.c:zap_page_range_single_batched', run: (w, l) => w.ret(l.gather) },
  },
});

/**
 * mm/memory.c:zap_page_range_single(vma, address, size, NULL) — the notifier fires on the VMA's
 * mm; `mm` is the caller's idea of it and a mismatch is a caller bug. Pages are put in a step of
 * their own after invalidate_range_end.
 */
export const zapPageRangeSingle = KERNEL.routine({
  name: 'zap_page_range_single',
  params: ['mm', 'vma', 'start', 'end'],
  steps: {
    zap: {
      at: 'mm/memory.c:zap_page_range_single',
      run: (w, l) => {
        if (vmaMm(w, l.vma) !== l.mm) w.bug(`zap_page_range_single: VMA ${l.vma} belongs to mm ${vmaMm(w, l.vma)}, not mm ${l.mm}`);
        return w.call(zapPageRangeSingleBatched, tlbFinishFrom(w, 'finish'), l.vma, l.start, l.end, 1);
      },
    },
    finish: {
      at: 'mm/mmu_gather.c:tlb_finish_mmu',
      run: (w, l) => {
        l.result = tlbFinishOne(w, l.result);
        return l.result ? 'finish' : w.ret(0);
      },
    },
    tlbFlush: tlbFlushMmuStep('finish'),
  },
});

/**
 * mm/memory.c:zap_vma_ptes — only for VM_PFNMAP VMAs and ranges inside the VMA; silently does
 * nothing otherwise (range_in_vma / VM_PFNMAP check).
 */
export const zapVmaPtes = KERNEL.routine({
  name: 'zap_vma_ptes',
  params: ['vma', 'start', 'end'],
  steps: {
    check: {
      at: 'mm/memory.c:zap_vma_ptes',
      // range_in_vma and VM_PFNMAP, read without mmap_lock (the caller keeps the VMA alive): one snapshot.
      lockless: ['vma.used', 'vma.flags', 'vma.start', 'vma.end'],
      run: (w, l) => {
        const bad = w.single(() => {
          const v = vma(w, l.vma);
          return !v.used || !(v.flags & VM_PFNMAP) || l.start < v.start || l.end > v.end;
        });
        if (bad || l.start >= l.end) return w.ret(0);
        return w.call(zapPageRangeSingle, 'done', vmaMm(w, l.vma), l.vma, l.start, l.end);
      },
    },
    done: { at: 'mm/memory.c:zap_vma_ptes', run: (w) => w.ret(0) },
  },
});

/** mm/memory.c:unmap_mapping_range_vma — zap_page_range_single with the walk's zap_details. */
export const unmapMappingRangeVma = KERNEL.routine({
  name: 'unmap_mapping_range_vma',
  params: ['vma', 'start', 'end', 'evenCows'],
  steps: {
    zap: { at: 'mm/memory.c:unmap_mapping_range_vma', run: (w, l) => w.call(zapPageRangeSingleBatched, tlbFinishFrom(w, 'finish'), l.vma, l.start, l.end, l.evenCows) },
    finish: {
      at: 'mm/mmu_gather.c:tlb_finish_mmu',
      run: (w, l) => {
        l.result = tlbFinishOne(w, l.result);
        return l.result ? 'finish' : w.ret(0);
      },
    },
    tlbFlush: tlbFlushMmuStep('finish'),
  },
});

/**
 * mm/memory.c:unmap_mapping_range(mapping, holebegin, holelen, even_cows) →
 * unmap_mapping_pages → unmap_mapping_range_tree: every VMA of every mm mapping file pages
 * [pgoff, pgoff + len) (len 0 = to the end of the file) is zapped with zap_page_range_single, so
 * start/end fire on each mapping mm.
 *
 * Not modelled: i_mmap_lock_read(mapping) around the walk (the model has no i_mmap_rwsem). The
 * walk is a sequence of steps over the VMA slots; a VMA that munmap/exit removes meanwhile is
 * skipped or zapped empty, where the kernel would hold off free_pgtables/unlink_file_vma instead.
 */
export const unmapMappingRange = KERNEL.routine({
  name: 'unmap_mapping_range',
  params: ['file', 'pgoff', 'len', 'evenCows'],
  locals: ['next'],
  steps: {
    walk: {
      at: 'mm/memory.c:unmap_mapping_range_tree',
      // One interval-tree lookup under i_mmap_rwsem (held around the walk in the C), which every
      // change to a file VMA's bounds also takes (vma_prepare): one consistent read (w.single).
      run: (w, l) => {
        const first = l.pgoff;
        const last = l.len > 0 ? l.pgoff + l.len - 1 : 0x7fffffff;
        const hit = w.single(() => {
          const total = w.count(VMA);
          for (let i = l.next; i < total; i++) {
            const v = vma(w, i);
            if (!v.used || !refersTo(v.file, l.file)) continue;
            const vba = v.pgoff;
            const vea = vba + (v.end - v.start) - 1;
            if (vea < first || vba > last) continue;
            return [i, Math.max(first, vba) - vba + v.start, Math.min(last, vea) - vba + 1 + v.start];
          }
          return undefined;
        });
        if (!hit) return w.ret(0);
        l.next = hit[0] + 1;
        return w.call(unmapMappingRangeVma, 'walk', hit[0], hit[1], hit[2], l.evenCows);
      },
    },
  },
});

/**
 * mm/memory.c:unmap_vmas — one UNMAP bracket over [start, end) of `mm` around unmap_single_vma
 * of every VMA overlapping it (munmap, exit). Returns the gather; the caller frees page tables
 * and then runs tlb_finish_mmu.
 */
export const unmapVmas = KERNEL.routine({
  name: 'unmap_vmas',
  params: ['mm', 'start', 'end'],
  locals: ['gather'],
  steps: {
    start: { at: 'mm/memory.c:unmap_vmas', run: (w, l) => w.call(mmuNotifierInvalidateRangeStart, 'zap', l.mm, l.start, l.end, MMU_NOTIFY_UNMAP, 1) },
    zap: {
      at: 'mm/memory.c:unmap_single_vma',
      run: (w, l) => {
        const b = spinLock(w, ptl(w, l.mm)); // pte_offset_map_lock
        if (b) return b;
        const split = zapSplitFirst(w, l.mm, l.start, l.end, 'zap');
        if (split) return split;
        const per = w.layout.dims.vmasPerMm;
        for (let k = 0; k < per; k++) {
          const v = vma(w, vmaIndex(w, l.mm, k));
          if (!v.used || v.end <= l.start || v.start >= l.end) continue;
          l.gather = zapPteRange(w, l.mm, Math.max(l.start, v.start), Math.min(l.end, v.end), 1, l.gather);
        }
        spinUnlock(w, ptl(w, l.mm));
        l.result = 0;
        return w.call(mmuNotifierInvalidateRangeEnd, 'done', l.mm, l.start, l.end, MMU_NOTIFY_UNMAP, 1);
      },
    },
    done: { at: 'mm/memory.c:unmap_vmas', run: (w, l) => w.ret(l.gather) },
  },
});
