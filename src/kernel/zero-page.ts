/**
 * The shared zero page (mm/memory.c, include/linux/pgtable.h), a kernel layer (`layers:
 * [zero-page]`): a read fault on an unpopulated anonymous page maps the zero pfn read-only and
 * special (do_anonymous_page: pte_mkspecial(pfn_pte(my_zero_pfn(addr)))) — no allocation, no
 * reference, no mapcount — and a write to it copies it to a new zeroed page (do_wp_page →
 * wp_page_copy, is_zero_pfn). GUP returns it (follow_page_pte: is_zero_pfn) but never pins it
 * (try_grab_folio), hmm_range_fault reports it valid and read-only (hmm_vma_handle_pte).
 *
 * Why a layer: without it the model's read fault allocates a zeroed page, as with
 * mm_forbids_zeropage. Scenarios that read an untouched page (H01 after MADV_DONTNEED, H09 after
 * munmap and mmap) would map another frame and change their states, so the catalogue's pinned
 * counts and the fidelity cases stay as they are unless a scenario asks for it.
 *
 * The zero page is a frame of the world reserved at set-up (refcount 1 forever, contents 0, not
 * anon): its pfn is static scenario data beside the layout, as the kernel's is a constant.
 */
import type { World } from '../world/world.js';
import { hasLayer } from '../world/layers.js';
import { allocPage } from './page.js';

/** The layer's name, as scenario files spell it. */
export const ZERO_PAGE_LAYER = 'zero-page';

const KEY = 'zeroPfn';

/** Reserves the zero page of a world whose scenario switched the layer on (set-up code). */
export function reserveZeroPage(w: World): void {
  if (!hasLayer(w, ZERO_PAGE_LAYER)) return;
  const pfn = allocPage(w);
  if (pfn === 0) throw new Error('out of page frames while reserving the zero page');
  w.layout.statics[KEY] = pfn; // mem_init: the empty_zero_page, never freed
}

/** include/linux/pgtable.h:my_zero_pfn — the zero page's pfn, 0 when the layer is off (the model then has none). */
export function myZeroPfn(w: World): number {
  return (w.layout.statics[KEY] as number | undefined) ?? 0;
}

/** include/linux/pgtable.h:is_zero_pfn */
export function isZeroPfn(w: World, pfn: number): boolean {
  return pfn !== 0 && pfn === myZeroPfn(w);
}

/** do_anonymous_page's "use the zero-page for reads": a read fault with the layer on (mm_forbids_zeropage is false). */
export function useZeroPage(w: World, write: boolean): boolean {
  return !write && hasLayer(w, ZERO_PAGE_LAYER);
}
