/**
 * The CPU TLB (layer cpu-tlb, src/kernel/tlb.ts): a user access hits the cached translation without
 * walking the pte and fills the entry on a miss; the kernel's flush points drop it — zap's
 * mmu_gather flushes before tlb_finish_mmu frees the pages (mm/mmu_gather.c:tlb_flush_mmu before
 * free_pages_and_swap_cache), fork flushes the parent's write-protected entries before it unlocks
 * (kernel/fork.c:dup_mmap flush_tlb_mm), mprotect before it unlocks, reclaim's batch before pageout.
 * The properties catch a page freed before its flush (no-dangling-pfn: "stale CPU TLB entry") and a
 * writable entry left after fork's write-protect (refinement), each shown on a mutant of the kernel
 * routine with its flush step skipped, and hold on the kernel's own routine.
 */
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/engine/exhaustive.js';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { pte } from '../../src/kernel/pgtable.js';
import { MM, PAGE } from '../../src/kernel/structs.js';
import { cpuAccess } from '../../src/kernel/ops/access.js';
import { zapPageRangeSingle } from '../../src/kernel/ops/zap.js';
import { dupMmap } from '../../src/kernel/ops/fork.js';
import { doMprotectPkey } from '../../src/kernel/ops/mprotect.js';
import { shrinkFolioList } from '../../src/kernel/ops/reclaim.js';
import { migratePages } from '../../src/kernel/ops/migrate.js';
import { declareTlb, tlbEntry } from '../../src/kernel/tlb.js';
import { PROT_READ } from '../../src/kernel/flags.js';
import { noDanglingPfn, refinement } from '../../src/check/properties.js';
import { KERNEL } from '../../src/kernel/library.js';
import { quiescent } from '../../src/check/balance.js';
import type { Property } from '../../src/engine/verdict.js';
import { Library } from '../../src/world/registry.js';
import type { AnyRoutine, Step } from '../../src/world/routine.js';
import { runToEnd, runUntil } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';

const LIB = new Library('test-tlb', [KERNEL]);

/** The kernel routine `r` with its step `label` replaced (a mutant: the flush skipped). */
function withStep(r: AnyRoutine, name: string, label: string, step: Step<Record<string, number>>): AnyRoutine {
  const steps = Object.fromEntries(r.labels.map((l, i) => [l, l === label ? step : r.steps[i]]));
  return LIB.routine({ name, params: [...r.params], locals: r.localNames.slice(r.params.length), steps });
}

/** zap_page_range_single whose tlb_finish_mmu frees the pages without tlb_flush_mmu first. */
const zapNoFlush = withStep(zapPageRangeSingle, 'test_zap_page_range_single_no_flush', 'tlbFlush', { at: 'mutant: tlb_flush_mmu skipped', run: () => 'finish' });
/** dup_mmap without flush_tlb_mm(oldmm). */
const dupMmapNoFlush = withStep(dupMmap, 'test_dup_mmap_no_flush', 'tlbFlush', { at: 'mutant: flush_tlb_mm skipped', run: () => 'unlock' });

const MMA = 0;
const CHILD = 1;

/** One mm with a populated anonymous page at vpn 0 (and a fork child), a CPU thread and a kernel actor; the TLB on unless `tlb` is false. */
function world(actors: string[], tlb = true): World {
  const w = buildWorld({ pages: 4, mmPages: 1, mms: ['mm', 'child'], actors, libraries: [LIB] }, tlb ? declareTlb : undefined);
  w.obj(MM, CHILD).users = 0; // not yet born
  w.obj(MM, CHILD).count = 0;
  addVma(w, MMA, { start: 0, end: 1 });
  populateAnon(w, MMA, 0, 0xa);
  return w;
}

const PROPS = { properties: [noDanglingPfn, refinement] };

describe('CPU TLB', () => {
  it('a miss walks the pte and fills the entry; a hit uses it without walking', () => {
    const w = world(['cpu']);
    const pfn = pte(w, MMA, 0).pfn;
    w.spawn(0, cpuAccess, [MMA, 0, 0, 0]);
    runToEnd(w, 'cpu');
    expect([tlbEntry(w, MMA, 0).pfn, tlbEntry(w, MMA, 0).write]).toEqual([pfn, 1]);
    // The pte now maps another frame (no flush): a read still reads the cached one.
    const other = 3;
    w.obj(PAGE, other).contents = 0xb;
    pte(w, MMA, 0).pfn = other;
    w.spawn(0, cpuAccess, [MMA, 0, 0, 0]);
    const [last] = runToEnd(w, 'cpu').slice(-1);
    expect(last.changes.some((c) => c.what.includes('pte'))).toBe(false);
    expect(w.obj(PAGE, pfn).contents).toBe(0xa);
  });

  it('zap: the entry survives the pte clear until tlb_flush_mmu, which comes before the free', () => {
    const w = world(['zap']);
    const pfn = pte(w, MMA, 0).pfn;
    tlbEntry(w, MMA, 0).pfn = pfn; // a CPU of the mm cached it
    tlbEntry(w, MMA, 0).gen = pte(w, MMA, 0).gen;
    w.spawn(0, zapPageRangeSingle, [MMA, 0, 0, 1]);
    runUntil(w, 'zap', 'zap_page_range_single:tlbFlush');
    expect(pte(w, MMA, 0).present).toBe(0);
    expect(tlbEntry(w, MMA, 0).pfn).toBe(pfn);
    expect(w.obj(PAGE, pfn).free).toBe(0);
    runToEnd(w, 'zap');
    expect(tlbEntry(w, MMA, 0).pfn).toBe(0);
    expect(w.obj(PAGE, pfn).free).toBe(1);
  });

  it('zap racing a CPU thread holds; the mutant that frees before the flush leaves a stale CPU TLB entry', () => {
    const ok = world(['cpu', 'zap']);
    ok.spawn(0, cpuAccess, [MMA, 0, 1, 0xc]);
    ok.spawn(1, zapPageRangeSingle, [MMA, 0, 0, 1]);
    expect(explore(ok, PROPS).verdict).toBe('holds');
    const bad = world(['cpu', 'zap']);
    bad.spawn(0, cpuAccess, [MMA, 0, 1, 0xc]);
    bad.spawn(1, zapNoFlush, [MMA, 0, 0, 1]);
    const r = explore(bad, PROPS);
    expect(r.verdict).toBe('violation');
    expect(r.violation!.message).toMatch(/^stale CPU TLB entry mm@0 maps pfn \d+, which has been freed/);
  });

  it('without the layer the mutant is the kernel: nothing to catch', () => {
    const w = world(['cpu', 'zap'], false);
    w.spawn(0, cpuAccess, [MMA, 0, 1, 0xc]);
    w.spawn(1, zapNoFlush, [MMA, 0, 0, 1]);
    expect(explore(w, PROPS).verdict).toBe('holds');
  });

  it('fork: the parent may write through its stale writable entry only until flush_tlb_mm; without it refinement fails', () => {
    const ok = world(['cpu', 'fork']);
    ok.spawn(0, cpuAccess, [MMA, 0, 1, 0xc]);
    ok.spawn(1, dupMmap, [MMA, CHILD]);
    expect(explore(ok, PROPS).verdict).toBe('holds');
    const bad = world(['cpu', 'fork']);
    bad.spawn(0, cpuAccess, [MMA, 0, 1, 0xc]);
    bad.spawn(1, dupMmapNoFlush, [MMA, CHILD]);
    const r = explore(bad, PROPS);
    expect(r.verdict).toBe('violation');
    expect(r.violation!.property).toBe('refinement');
    expect(r.violation!.message).toBe('CPU TLB entry mm@0 is writable but mm@0 is read-only, and no TLB flush is pending');
  });

  it('mprotect(PROT_READ) and reclaim flush before they return: a CPU thread racing them holds', () => {
    const mp = world(['cpu', 'mprotect']);
    mp.spawn(0, cpuAccess, [MMA, 0, 1, 0xc]);
    mp.spawn(1, doMprotectPkey, [MMA, 0, 1, PROT_READ]);
    expect(explore(mp, PROPS).verdict).toBe('holds');
    const rc = buildWorld({ pages: 4, mmPages: 1, mms: ['mm'], actors: ['cpu', 'kswapd'], swapSlots: 1, libraries: [LIB] }, declareTlb);
    addVma(rc, MMA, { start: 0, end: 1 });
    const pfn = populateAnon(rc, MMA, 0, 0xa);
    rc.spawn(0, cpuAccess, [MMA, 0, 1, 0xc]);
    rc.spawn(1, shrinkFolioList, [pfn]);
    expect(explore(rc, PROPS).verdict).toBe('holds');
  });

  it('mprotect(PROT_READ) without its flush leaves a writable entry once it returns', () => {
    const noFlush = withStep(doMprotectPkey, 'test_do_mprotect_pkey_no_flush', 'tlbFlush', { at: 'mutant: tlb_finish_mmu skipped', run: () => 'unlock' });
    const w = world(['cpu', 'mprotect']);
    w.spawn(0, cpuAccess, [MMA, 0, 1, 0xc]);
    w.spawn(1, noFlush, [MMA, 0, 1, PROT_READ]);
    const r = explore(w, PROPS);
    expect(r.verdict).toBe('violation');
    expect(r.violation!.message).toBe('CPU TLB entry mm@0 is writable but mm@0 is read-only, and no TLB flush is pending');
  });

  it('reclaim without its batched flush frees the page a CPU still maps', () => {
    const noFlush = withStep(shrinkFolioList, 'test_shrink_folio_list_no_flush', 'flushDirty', { at: 'mutant: try_to_unmap_flush_dirty skipped', run: () => 'pageout' });
    const rc = buildWorld({ pages: 4, mmPages: 1, mms: ['mm'], actors: ['cpu', 'kswapd'], swapSlots: 1, libraries: [LIB] }, declareTlb);
    addVma(rc, MMA, { start: 0, end: 1 });
    const pfn = populateAnon(rc, MMA, 0, 0xa);
    rc.spawn(0, cpuAccess, [MMA, 0, 0, 0]);
    rc.spawn(1, noFlush, [pfn]);
    const r = explore(rc, PROPS);
    expect(r.verdict).toBe('violation');
    expect(r.violation!.message).toMatch(/^stale CPU TLB entry mm@0 maps pfn \d+, which has been freed/);
  });

  it('migration (MIGRATE_SYNC: ptep_clear_flush per mapping) racing a CPU write holds: the write lands before the copy', () => {
    const w = world(['cpu', 'kcompactd']);
    w.spawn(0, cpuAccess, [MMA, 0, 1, 0xc]);
    w.spawn(1, migratePages, [pte(w, MMA, 0).pfn]);
    // Once both are done, whichever page the pte maps holds the write: none was lost to the copy.
    const kept: Property = {
      name: 'write-kept',
      description: 'the CPU write survives the migration',
      check: (x) => (quiescent(x) && x.obj(PAGE, pte(x, MMA, 0).pfn).contents !== 0xc ? 'the write was lost' : undefined),
    };
    expect(explore(w, { properties: [...PROPS.properties, kept] }).verdict).toBe('holds');
  });
});
