/**
 * Layer `dirty-accessed` (scenario `layers: [dirty-accessed]`): the pte's dirty and accessed bits
 * the MMU sets on an access, the folio's PG_dirty they are moved to when the pte goes, and reclaim
 * writing only a dirty folio to swap. Off, nothing here writes: the fields stay 0 and every count
 * of a scenario without the layer is the same.
 */
import type { World } from '../world/world.js';
import { hasLayer } from '../world/layers.js';
import { PAGE } from './structs.js';

export const DIRTY_ACCESSED = 'dirty-accessed';

/** Whether the scenario switched the dirty-accessed layer on. */
export function dirtyAccessed(w: World): boolean {
  return hasLayer(w, DIRTY_ACCESSED);
}

/**
 * PG_dirty outlives the free in the model (free_pages_prepare clears a page's flags): no path reads
 * it before add_to_swap or folio_mark_dirty sets it again, and clearing it at every free would add
 * a field to the footprint of every step that frees a page.
 *
 * mm/page-writeback.c:folio_mark_dirty — PG_dirty set (an anon or swap-cache folio's mapping has
 * noop_dirty_folio: the bit is all there is). Atomic: callable without the folio lock.
 */
export function folioMarkDirty(w: World, pfn: number): void {
  w.obj(PAGE, pfn).dirty = 1;
}
