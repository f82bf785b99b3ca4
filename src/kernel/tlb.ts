/**
 * The CPU TLB (layer `cpu-tlb`, src/world/layers.ts): translations a CPU caches from the ptes of
 * an mm, and the points where the kernel flushes them. Without the layer a cleared pte is gone at
 * once for the CPU; with it a user access (ops/access.ts) goes through the TLB — a hit uses the
 * cached pfn and write permission without walking the pte, a miss walks the pte and fills the
 * entry — and a cleared or write-protected pte stays visible to the CPU until the flush.
 *
 * One TLB per mm, one entry per page of its address space. The kernel has one TLB per CPU and
 * flushes an mm on every CPU of mm_cpumask(mm) at once (flush_tlb_mm_range sends the IPIs and
 * waits for them: arch/x86/mm/tlb.c:flush_tlb_multi), so at every flush point all CPUs that ran the
 * mm's threads lose the entries together; per-CPU TLBs would differ only in which of a page's
 * entries were filled, not in what a flush removes. One TLB per mm keeps that and the states small.
 *
 * Flush points (each cites its caller):
 *   - ptep_clear_flush / ptep_clear_flush_young (mm/pgtable-generic.c): the entry goes in the step
 *     that clears the pte, under the ptl (`flushTlbPage`);
 *   - deferred flushes — the mmu_gather of zap (tlb_finish_mmu: tlb_flush_mmu before the pages are
 *     freed), mprotect's change_protection (flush_tlb_range in tlb_finish_mmu), fork's write-protect
 *     of the parent (dup_mmap: flush_tlb_mm before mmap_write_unlock(oldmm)), reclaim's batched unmap
 *     (mm/rmap.c:set_tlb_ubc_flush_pending, flushed by try_to_unmap_flush before pageout and free):
 *     the pte change marks the entry pending for the actor (`tlbDefer`), and a later step of the
 *     same actor flushes what it deferred (`tlbFlushDeferred`), so the window between the two is an
 *     interleaving the checker explores.
 *
 * `pending` (ghost) stands for mm->tlb_flush_pending / the task's tlb_ubc: which actors owe the
 * entry a flush, one bit per actor. An entry that no longer matches its pte is legitimate only
 * while someone owes it a flush (check/properties.ts: refinement), and it must never map a frame
 * that was freed or reused (no-dangling-pfn), whoever owes what.
 */
import { defineActorNames, defineStruct, type Layout } from '../world/layout.js';
import type { World } from '../world/world.js';
import { MM, PAGE_GEN } from './structs.js';

/** One TLB entry of one mm: a cached translation of (mm, vpn). */
export const TLB = defineStruct(
  'tlb',
  [
    'pfn', // the cached pfn (0 = no entry)
    'write', // the cached write permission
    'gen', // ghost: the page generation the pte had when the entry was filled
    'pending', // ghost: bit a set while actor a owes this entry a flush (tlb_flush_pending, tlb_ubc)
  ] as const,
  // Hardware state: filled by the page walk of one access, dropped by one flush (an IPI is taken
  // between instructions), never under a lock.
  { pfn: 'atomic', write: 'atomic', gen: 'ghost', pending: 'ghost' },
  { word: true, counters: { gen: PAGE_GEN } }, // one TLB entry: the walk fills it whole, invlpg drops it whole
);

/** `pending` names the actors that owe the entry a flush, one bit each (layout.ts `ActorNames`: actor symmetry permutes them). */
defineActorNames({ name: 'cpu-tlb', fields: [{ struct: TLB, field: 'pending', encoding: 'bits' }] });

/** The layer's name in scenario files (`layers: [cpu-tlb]`). */
export const CPU_TLB_LAYER = 'cpu-tlb';

/** Declares every mm's TLB (called once the kernel's regions are laid out, when the layer is on). */
export function declareTlb(layout: Layout): void {
  const mms = layout.region(MM).names!;
  const pages = layout.dims.mmPages;
  layout.add(
    TLB,
    mms.length * pages,
    mms.flatMap((m) => Array.from({ length: pages }, (_, v) => `${m}@${v}`)),
  );
}

/** Whether this world models the CPU TLB. */
export function tlbOn(w: World): boolean {
  return w.layout.has(TLB);
}

export function tlbEntry(w: World, mm: number, vpn: number) {
  return w.obj(TLB, mm * w.layout.dims.mmPages + vpn);
}

/** The page walk of a TLB miss found a present, accessible pte: the entry caches it. */
export function tlbFill(w: World, mm: number, vpn: number, pfn: number, write: number, gen: number): void {
  if (!tlbOn(w)) return;
  const e = tlbEntry(w, mm, vpn);
  if (e.pfn === pfn && e.write === write && e.gen === gen) return;
  e.pfn = pfn;
  e.write = write;
  e.gen = gen;
  e.pending = 0;
}

/**
 * mm/pgtable-generic.c:ptep_clear_flush (flush_tlb_page): the pte of (mm, vpn) was just cleared or
 * replaced under the ptl; the CPUs' entry for it goes in the same step.
 */
export function flushTlbPage(w: World, mm: number, vpn: number): void {
  if (!tlbOn(w)) return;
  const e = tlbEntry(w, mm, vpn);
  if (e.pfn === 0) return;
  dropEntry(e);
}

type TlbView = ReturnType<typeof tlbEntry>;

/** An entry gone, with whatever flushes were owed it: nothing is left to flush. */
function dropEntry(e: TlbView): void {
  e.pfn = 0;
  e.write = 0;
  e.gen = 0;
  e.pending = 0;
}

/**
 * The pte of (mm, vpn) was cleared or downgraded and its flush deferred (tlb_remove_tlb_entry /
 * tlb_flush_pte_range in an mmu_gather, set_tlb_ubc_flush_pending, fork's wrprotect): the running
 * actor owes the entry a flush. Only the ghost word is written: the kernel does not look at the
 * TLB here (it cannot), so neither does the model, and an empty entry is owed a flush too.
 */
export function tlbDefer(w: World, mm: number, vpn: number): void {
  if (!tlbOn(w)) return;
  const e = tlbEntry(w, mm, vpn);
  e.pending = e.pending | (1 << w.actor);
}

/**
 * The deferred flush: every entry the running actor owes a flush is dropped (flush_tlb_range /
 * flush_tlb_mm from tlb_flush_mmu_tlbonly, arch_tlbbatch_flush from try_to_unmap_flush). One IPI
 * round, taken by every CPU between two instructions: one access for the lock discipline.
 */
export function tlbFlushDeferred(w: World): void {
  if (!tlbOn(w)) return;
  const bit = 1 << w.actor;
  w.single(() => {
    const n = w.count(TLB);
    for (let i = 0; i < n; i++) {
      const e = w.obj(TLB, i);
      if (e.pending & bit) dropEntry(e);
    }
  });
}

/**
 * A step that runs the deferred flush (tlbFlushDeferred) at the kernel's flush point `at`, then goes
 * to `next`. Routines reach it only with the layer on (they go straight to `next` otherwise), so
 * the worlds without the layer keep their steps and states.
 */
export function tlbFlushStep(at: string, next: string) {
  return {
    at,
    layer: CPU_TLB_LAYER,
    run: (w: World) => {
      tlbFlushDeferred(w);
      return next;
    },
  };
}
