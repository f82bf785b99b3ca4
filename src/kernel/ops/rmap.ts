/**
 * The anonymous reverse map (mm/rmap.c:rmap_walk_anon). An anon page records its anon_vma
 * (`page.anonVma`, a reference to the anon_vma root fork relatives share) and its `index` (the vpn it lives
 * at); the walk visits every mm of that lineage and looks at the pte at `index`
 * (page_vma_mapped_walk). Only normal ptes are in the rmap: a special pte (VM_PFNMAP/VM_MIXEDMAP,
 * vmf_insert_pfn) mapping the same pfn is never found, which is why rmap-driven reclaim and
 * migration never touch a mirror's ptes (reference §4.5) and why an unaccounted normal pte in
 * another lineage is left dangling (R14).
 *
 * Simplifications:
 *  - The kernel walks the VMAs of the anon_vma interval tree that cover the address and checks the
 *    pte only inside try_to_unmap_one (after invalidate_range_start), so it also notifies mms of
 *    the lineage whose pte no longer maps the page (e.g. after COW). The model filters by the pte
 *    here, so those spurious (harmless) invalidations are not generated; callers re-check the pte
 *    under the ptl, as page_vma_mapped_walk does.
 *  - VMAs are not consulted: a pte of a VMA being unmapped stays in the rmap until its anon_vma is
 *    unlinked (free_pgtables), i.e. after the zap, so the pte alone is the right test.
 *  - The walk is a cursor over mm indices (one mapping per step sequence) instead of a pass under
 *    the anon_vma lock; a mapping added behind the cursor (fork) is missed, which the callers
 *    catch with folio_mapped() afterwards, as the kernel does.
 */
import type { World } from '../../world/world.js';
import type { Locals } from '../../world/routine.js';
import { MMU_NOTIFY_CLEAR } from '../flags.js';
import { ptl, spinLock, spinUnlock } from '../locks.js';
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from '../notifier/mmu-notifier.js';
import { pageRemoveRmap, putPage } from '../page.js';
import { pte, type PteView } from '../pgtable.js';
import { MM, PAGE } from '../structs.js';
import { isNone } from '../ref.js';
import { CPU_TLB_LAYER, tlbFlushDeferred, tlbOn } from '../tlb.js';
import { KERNEL } from '../library.js';
import { DIRTY_ACCESSED, dirtyAccessed, folioMarkDirty } from '../dirty.js';
import { folioTryShareAnonRmap } from '../pin.js';

/** What a walker looks for in the pte at the page's index. */
export type PteMatch = (p: PteView, pfn: number) => boolean;

/** page_vma_mapped_walk for a mapped page: a present, normal (not special) pte of `pfn`. */
export const mapsPage: PteMatch = (p, pfn) => p.present === 1 && p.special === 0 && p.pfn === pfn;

/** page_vma_mapped_walk with PVMW_MIGRATION: a migration entry for `pfn` (remove_migration_ptes). */
export const migrationEntryOf: PteMatch = (p, pfn) => p.present === 0 && p.migration === pfn;

/**
 * mm/rmap.c:rmap_walk_anon — the first mm with index ≥ `from` in the anon_vma of page `pfn` whose
 * pte at page->index satisfies `match` (by default: maps the page). Returns -1 when there is none
 * or the page is not anonymous. Callers keep `mm + 1` as their cursor.
 */
export function rmapNextMm(w: World, pfn: number, from: number, match: PteMatch = mapsPage): number {
  const page = w.obj(PAGE, pfn);
  if (page.anon !== 1 || isNone(page.anonVma)) return -1;
  const n = w.count(MM);
  for (let mm = from; mm < n; mm++) {
    if (w.obj(MM, mm).anonVma !== page.anonVma) continue;
    if (w.standIn(RMAP_FILTER, () => match(pte(w, mm, page.index), pfn))) return mm;
  }
  return -1;
}

/** What the pte filter of the rmap walk stands for (listed among a proof's assumptions). */
export const RMAP_FILTER =
  'the rmap walk finds the mms that map a page by looking at their ptes (the kernel walks the anon_vma tree under its lock and checks each pte under the ptl, as the callers here re-check)';

/** Every mm whose pte maps page `pfn` through the rmap, in walk order (for assertions and checkers). */
export function rmapMappings(w: World, pfn: number): number[] {
  const out: number[] = [];
  for (let mm = rmapNextMm(w, pfn, 0); mm >= 0; mm = rmapNextMm(w, pfn, mm + 1)) out.push(mm);
  return out;
}

/** How one rmap-driven unmapper (try_to_unmap_one, try_to_migrate_one) rewrites a pte. */
export interface RmapUnmapSpec {
  /** The kernel's name of the walk (try_to_unmap, try_to_migrate). */
  readonly name: string;
  /** `file:function` of the per-mapping callback. */
  readonly oneAt: string;
  /** Under the ptl, on the pte of (mm, vpn) that maps `pfn`: install the non-present entry that replaces it (and defer its TLB flush, kernel/tlb.ts). */
  readonly replace: (w: World, mm: number, vpn: number, pfn: number) => void;
  /**
   * Where the walk flushes each mapping's TLB entry itself (ptep_clear_flush, no TTU_BATCH_FLUSH):
   * with the cpu-tlb layer, a `flush` step after the mapping's pte change and before its
   * invalidate_range_end. The kernel flushes under the ptl, before folio_put; the model's step that
   * puts cannot also flush (two atomics: another CPU runs between them), and a CPU access cannot
   * tell, as the pte is already a non-present entry and the caller's reference keeps the page.
   * Without it the caller flushes the batch (try_to_unmap_flush).
   */
  readonly flushEach?: string;
}

/**
 * An rmap walk that unmaps page `pfn` from every mm that maps it, one mapping at a time, as
 * try_to_unmap_one / try_to_migrate_one do: invalidate_range_start(CLEAR) on that mm while the pte
 * still maps the page; under the ptl, re-check the pte (page_vma_mapped_walk), replace it, drop the
 * rmap and the mapping's reference (ptep_clear_flush, folio_remove_rmap_pte, folio_put);
 * invalidate_range_end. The caller holds the folio lock and a reference of its own, so the page is
 * never freed here. An exclusive anon page that may be pinned (src/kernel/pin.ts) is not unmapped:
 * the walk stops there. Returns 0; the caller checks folio_mapped() afterwards.
 */
export function defineRmapUnmap(spec: RmapUnmapSpec) {
  return KERNEL.routine({
    name: spec.name,
    params: ['pfn'],
    locals: ['mm', 'next', 'vpn'],
    steps: {
      walk: {
        at: 'mm/rmap.c:rmap_walk_anon',
        run: (w, l) => {
          const mm = rmapNextMm(w, l.pfn, l.next);
          if (mm < 0) return w.ret(0);
          l.next = mm + 1;
          l.mm = mm;
          l.vpn = w.obj(PAGE, l.pfn).index;
          return w.call(mmuNotifierInvalidateRangeStart, 'unmap', mm, l.vpn, l.vpn + 1, MMU_NOTIFY_CLEAR, 1);
        },
      },
      unmap: {
        at: spec.oneAt,
        run: (w, l) => {
          const b = spinLock(w, ptl(w, l.mm)); // page_vma_mapped_walk: pte_offset_map_lock
          if (b) return b;
          // The pte may have changed since the walk found it (zap, COW): then there is nothing to do.
          // An exclusive anon page that may be pinned must not be unmapped
          // (folio_try_share_anon_rmap_pte fails): the pte is restored and the walk stops (ret = false).
          if (mapsPage(pte(w, l.mm, l.vpn), l.pfn) && folioTryShareAnonRmap(w, l.pfn)) l.next = w.count(MM);
          else if (mapsPage(pte(w, l.mm, l.vpn), l.pfn)) {
            const dirty = dirtyAccessed(w) && pte(w, l.mm, l.vpn).dirty === 1;
            spec.replace(w, l.mm, l.vpn, l.pfn);
            pageRemoveRmap(w, l.pfn);
            // Dirty-accessed layer: "Set the dirty flag on the folio now the PTE is gone" (if
            // pte_dirty(pteval) folio_mark_dirty); the put follows in a step of its own, as both
            // are atomic operations on the folio another CPU can interleave with.
            if (dirty) {
              folioMarkDirty(w, l.pfn);
              return 'put';
            }
            putPage(w, l.pfn);
          }
          spinUnlock(w, ptl(w, l.mm));
          if (spec.flushEach && tlbOn(w)) return 'flush';
          return w.call(mmuNotifierInvalidateRangeEnd, 'walk', l.mm, l.vpn, l.vpn + 1, MMU_NOTIFY_CLEAR, 1);
        },
      },
      ...(spec.flushEach && {
        flush: {
          at: spec.flushEach,
          layer: CPU_TLB_LAYER,
          run: (w: World, l: Locals<'pfn' | 'mm' | 'next' | 'vpn'>) => {
            tlbFlushDeferred(w);
            return w.call(mmuNotifierInvalidateRangeEnd, 'walk', l.mm, l.vpn, l.vpn + 1, MMU_NOTIFY_CLEAR, 1);
          },
        },
      }),
      put: {
        at: `${spec.oneAt} folio_put`,
        layer: DIRTY_ACCESSED, // reached only after folio_mark_dirty of a dirty pte
        run: (w, l) => {
          putPage(w, l.pfn);
          spinUnlock(w, ptl(w, l.mm)); // page_vma_mapped_walk_done
          if (spec.flushEach && tlbOn(w)) return 'flush';
          return w.call(mmuNotifierInvalidateRangeEnd, 'walk', l.mm, l.vpn, l.vpn + 1, MMU_NOTIFY_CLEAR, 1);
        },
      },
    },
  });
}
