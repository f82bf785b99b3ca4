import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { pte } from '../../src/kernel/pgtable.js';
import { PAGE, SWAP } from '../../src/kernel/structs.js';
import { cpuAccess } from '../../src/kernel/ops/access.js';
import { shrinkFolioList } from '../../src/kernel/ops/reclaim.js';
import { folioMarkDirty, DIRTY_ACCESSED } from '../../src/kernel/dirty.js';
import { lostWrite } from '../../src/check/properties.js';
import { swpEntry } from '../../src/kernel/ref.js';
import { setLayers } from '../../src/world/layers.js';
import { runToEnd } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { betweenSteps } from '../helpers/between-steps.js';
import { Library } from '../../src/world/registry.js';
import { KERNEL } from '../../src/kernel/library.js';
import { mmuNotifierRegister } from '../../src/kernel/notifier/mmu-notifier.js';
import { folioReferenced } from '../../src/kernel/ops/age.js';
import { mmuNotifierClearYoung, mmuNotifierTestYoung } from '../../src/kernel/notifier/young.js';
import { madviseDontneed } from '../../src/kernel/ops/madvise.js';

/** A secondary whose entry for vpn 1 was accessed: its clear_flush_young reports it young. */
const AGING_LIB = new Library('test-aging', [KERNEL]);
const youngOnce = AGING_LIB.routine({
  name: 'test_clear_flush_young',
  params: ['mn', 'mm', 'start', 'end'],
  steps: { age: { at: 'hw: a secondary TLB whose entry was accessed', run: (w, l) => w.ret(l.start === 1 ? 1 : 0) } },
});

/** One process `p` with anon page 42 at vpn 1 (writable), the layer on or off. */
function world(layer = true, actors = ['a']): { w: World; pfn: number } {
  const w = buildWorld({ pages: 4, mmPages: 4, mms: ['p'], actors, swapSlots: 2 }, (layout) => setLayers(layout, layer ? [DIRTY_ACCESSED] : []));
  w.audit = true;
  addVma(w, 0, { start: 0, end: 4 });
  const pfn = populateAnon(w, 0, 1, 42, true);
  return { w, pfn };
}

/** The page already written out once and kept in the swap cache, clean (a failed __remove_mapping), mapped by a clean pte. */
function cleanSwapCachePage(w: World, pfn: number): void {
  const page = w.obj(PAGE, pfn);
  page.swap = swpEntry(1);
  page.refcount = page.refcount + 1; // the swap cache's reference
  page.dirty = 0;
  w.obj(SWAP, 1).used = 1;
  w.obj(SWAP, 1).contents = 42;
  pte(w, 0, 1).dirty = 0; // do_swap_page maps an exclusive folio writable and clean on a read fault
}

describe('dirty and accessed bits (layer dirty-accessed)', () => {
  it('a page freed dirty is clean when it is allocated again: free_pages_prepare clears every flag (regression: PG_dirty outlived the free)', () => {
    const { w, pfn } = world();
    w.obj(PAGE, pfn).dirty = 1;
    w.spawn(0, madviseDontneed, [0, 1, 2]);
    runToEnd(w, 'a');
    expect([w.obj(PAGE, pfn).free, w.obj(PAGE, pfn).dirty]).toEqual([1, 0]);
    // A write fault elsewhere takes the lowest free frame: this one, clean (its pte is dirty, the folio not).
    w.spawn(0, cpuAccess, [0, 2, 1, 5]);
    runToEnd(w, 'a');
    expect(pte(w, 0, 2).pfn).toBe(pfn);
    expect(w.obj(PAGE, pfn).dirty).toBe(0);
  });

  it('the MMU sets young on a load and young+dirty on a store, in the pte', () => {
    const { w } = world();
    const p = pte(w, 0, 1);
    p.young = 0;
    p.dirty = 0;
    w.spawn(0, cpuAccess, [0, 1, 0, 0]);
    runToEnd(w, 'a');
    expect([p.young, p.dirty]).toEqual([1, 0]);
    w.spawn(0, cpuAccess, [0, 1, 1, 7]);
    runToEnd(w, 'a');
    expect([p.young, p.dirty]).toEqual([1, 1]);
  });

  it('writes nothing with the layer off: the bits stay 0', () => {
    const { w } = world(false);
    w.spawn(0, cpuAccess, [0, 1, 1, 7]);
    runToEnd(w, 'a');
    expect([pte(w, 0, 1).young, pte(w, 0, 1).dirty]).toEqual([0, 0]);
  });

  it('try_to_unmap_one moves the pte dirty bit to the folio, and reclaim writes the dirty folio out', () => {
    const { w, pfn } = world();
    cleanSwapCachePage(w, pfn);
    w.spawn(0, cpuAccess, [0, 1, 1, 7]); // the store sets the pte's dirty bit
    runToEnd(w, 'a');
    w.spawn(0, shrinkFolioList, [pfn]);
    const trace = runToEnd(w, 'a');
    expect(trace.map((s) => s.where)).toContain('shrink_folio_list:pageout');
    expect(w.obj(SWAP, 1).contents).toBe(7);
    expect(w.obj(PAGE, pfn).free).toBe(1);
    expect(lostWrite.check(w)).toBeUndefined();
  });

  it('reclaim drops a clean swap-cache folio without pageout: its data is on swap already', () => {
    const { w, pfn } = world();
    cleanSwapCachePage(w, pfn);
    w.spawn(0, shrinkFolioList, [pfn]);
    const trace = runToEnd(w, 'a');
    expect(trace.map((s) => s.where)).not.toContain('shrink_folio_list:pageout');
    expect(w.obj(PAGE, pfn).free).toBe(1);
    expect(lostWrite.check(w)).toBeUndefined();
  });

  it('a secondary that writes through its own entry without dirtying the folio loses the write: lost-write', () => {
    const { w, pfn } = world();
    cleanSwapCachePage(w, pfn);
    betweenSteps(w, () => {
      w.obj(PAGE, pfn).contents = 9; // a device's DMA through its mirror of the writable pte
    });
    w.spawn(0, shrinkFolioList, [pfn]);
    runToEnd(w, 'a');
    expect(w.obj(SWAP, 1).contents).toBe(42);
    expect(lostWrite.check(w)).toBe('lost write: swap slot 1 holds 42, but the page reclaim dropped held 9 (the last write that completed); a swap-in reads back 42');
  });

  it('the same write followed by set_page_dirty (folio_mark_dirty) reaches swap', () => {
    const { w, pfn } = world();
    cleanSwapCachePage(w, pfn);
    betweenSteps(w, () => {
      w.obj(PAGE, pfn).contents = 9;
      folioMarkDirty(w, pfn);
    });
    w.spawn(0, shrinkFolioList, [pfn]);
    runToEnd(w, 'a');
    expect(w.obj(SWAP, 1).contents).toBe(9);
    expect(lostWrite.check(w)).toBeUndefined();
  });

  it('folio_referenced clears the accessed bit of every pte mapping the page and counts the young ones', () => {
    const { w, pfn } = world();
    expect(pte(w, 0, 1).young).toBe(1); // a fault's pte is young (x86's protections carry _PAGE_ACCESSED)
    w.spawn(0, folioReferenced, [pfn]);
    runToEnd(w, 'a');
    expect(w.actorResult(0)).toBe(1);
    expect(pte(w, 0, 1).young).toBe(0);
    w.spawn(0, folioReferenced, [pfn]);
    runToEnd(w, 'a');
    expect(w.actorResult(0)).toBe(0); // idle: nobody touched it since
    w.spawn(0, cpuAccess, [0, 1, 0, 0]);
    runToEnd(w, 'a');
    w.spawn(0, folioReferenced, [pfn]);
    runToEnd(w, 'a');
    expect(w.actorResult(0)).toBe(1);
  });

  it("a mapping counts as referenced when a secondary's clear_flush_young says young, with the pte old", () => {
    const w = buildWorld({ pages: 4, mmPages: 4, mms: ['p'], actors: ['a'], mmuNotifiers: 1, libraries: [AGING_LIB] }, (layout) => setLayers(layout, [DIRTY_ACCESSED]));
    w.audit = true;
    addVma(w, 0, { start: 0, end: 4 });
    const pfn = populateAnon(w, 0, 1, 42, true);
    pte(w, 0, 1).young = 0;
    mmuNotifierRegister(w, 0, 0, { clearFlushYoung: youngOnce }, 0);
    w.spawn(0, folioReferenced, [pfn]);
    const trace = runToEnd(w, 'a');
    expect(trace.map((s) => s.where)).toContain('test_clear_flush_young:age');
    expect(w.actorResult(0)).toBe(1);
  });

  it('mmu_notifier_test_young and mmu_notifier_clear_young ask every subscriber with the op, and none without notifiers', () => {
    const w = buildWorld({ pages: 4, mmPages: 4, mms: ['p', 'q'], actors: ['a'], mmuNotifiers: 1, libraries: [AGING_LIB] }, (layout) => setLayers(layout, [DIRTY_ACCESSED]));
    w.audit = true;
    mmuNotifierRegister(w, 0, 0, { testYoung: youngOnce, clearYoung: youngOnce }, 0);
    for (const [entry, mm, start, young] of [
      [mmuNotifierTestYoung, 0, 1, 1],
      [mmuNotifierClearYoung, 0, 1, 1],
      [mmuNotifierClearYoung, 0, 2, 0],
      [mmuNotifierTestYoung, 1, 1, 0], // mm q has no notifiers
    ] as const) {
      w.spawn(0, entry, [mm, start, start + 1]);
      runToEnd(w, 'a');
      expect(w.actorResult(0)).toBe(young);
    }
  });
});
