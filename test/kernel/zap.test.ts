/**
 * The zapping core (reference §4.4): zap_page_range_single brackets the pte clears with
 * CLEAR on the VMA's own mm and puts the pages only in tlb_finish_mmu, after end; special ptes,
 * swap and migration entries are cleared without page accounting; zap_vma_ptes refuses anything
 * but a VM_PFNMAP range inside the VMA; unmap_mapping_range fires on every mm mapping the file.
 */
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE, VM_IO, VM_DONTEXPAND } from '../../src/kernel/flags.js';
import { allocPage, pageAddNewAnonRmap, pageDupRmap, getPage } from '../../src/kernel/page.js';
import { pte, setPte } from '../../src/kernel/pgtable.js';
import { PAGE, SWAP } from '../../src/kernel/structs.js';
import { gatherAdd, gatherCount, unmapMappingRange, zapPageRangeSingle, zapVmaPtes } from '../../src/kernel/ops/zap.js';
import { actorIndex, runSchedule, runToEnd, runUntil } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { attachRecorder, changeIndex, declareRecorder, recorded, stepIndex, RECORDER_LIB } from '../helpers/recorder.js';
import { Library } from '../../src/world/registry.js';
import { KERNEL } from '../../src/kernel/library.js';
import { NONE, swpEntry } from '../../src/kernel/ref.js';

const LIB = new Library('test-zap', [KERNEL]);

const SRC = 0;
const OTHER = 1;
const PFNMAP = VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_READ | VM_SHARED;

function world(actors = ['zap']): World {
  return buildWorld({ pages: 6, mmPages: 6, mms: ['src', 'other'], actors, libraries: [LIB, RECORDER_LIB] }, declareRecorder);
}

/** A lockless reader of one pte (GUP-fast / a secondary MMU's walk): what it saw, in its frame. */
const pteReader = LIB.routine({
  name: 'test_zap_pte_reader',
  params: ['mm', 'vpn'],
  locals: ['pfn', 'gen', 'sawFree'],
  steps: {
    read: {
      at: 'test: READ_ONCE(*pte)',
      run: (w, l) => {
        const p = pte(w, l.mm, l.vpn);
        l.pfn = p.present ? p.pfn : 0;
        l.gen = p.gen;
        return 'use';
      },
    },
    use: {
      at: 'test: use the page it read',
      run: (w, l) => {
        // A reader without a reference or a notifier: is the page it read still the same page?
        if (l.pfn && (w.obj(PAGE, l.pfn).free || w.obj(PAGE, l.pfn).gen !== l.gen)) l.sawFree = 1;
        return 'park';
      },
    },
    park: { at: 'test: done', run: (w) => w.ret(0) },
  },
});

describe('mmu_gather model', () => {
  it('counts references per pfn, twice for a page mapped twice', () => {
    let g = 0;
    g = gatherAdd(g, 3);
    g = gatherAdd(g, 3);
    g = gatherAdd(g, 15);
    expect(gatherCount(g, 3)).toBe(2);
    expect(gatherCount(g, 15)).toBe(1);
    expect(gatherCount(g, 1)).toBe(0);
    expect(() => gatherAdd(0, 16)).toThrow(/1..15/);
  });
});

describe('zap_page_range_single', () => {
  it("fires CLEAR on the VMA's mm, clears the pte between start and end, puts the page after end", () => {
    const w = world();
    const vma = addVma(w, SRC, { start: 0, end: 4 });
    const pfn = populateAnon(w, SRC, 1, 0xa);
    const keep = populateAnon(w, SRC, 3, 0xb);
    attachRecorder(w, SRC);
    w.spawn(0, zapPageRangeSingle, [SRC, vma, 0, 2]);
    const trace = runToEnd(w, 'zap');
    expect(recorded(w)).toEqual([
      { kind: 'start', mm: SRC, start: 0, end: 2, event: 'CLEAR', blockable: true, pfnAtStart: 0 },
      { kind: 'end', mm: SRC, start: 0, end: 2, event: 'CLEAR', blockable: true, pfnAtStart: 0 },
    ]);
    const start = stepIndex(trace, 'test_recorder_invalidate_range_start');
    const clear = changeIndex(trace, 'pte[src@1].present', 0);
    const end = stepIndex(trace, 'test_recorder_invalidate_range_end');
    const free = changeIndex(trace, `page[pfn${pfn}].free`, 1);
    expect(start).toBeLessThan(clear);
    expect(clear).toBeLessThan(end);
    expect(end).toBeLessThan(free);
    expect(trace[free].where).toBe('zap_page_range_single:finish');
    // The rmap goes with the pte; the reference only at tlb_finish_mmu.
    expect(changeIndex(trace, `page[pfn${pfn}].mapcount`, 0)).toBe(clear);
    expect(w.obj(PAGE, pfn).free).toBe(1);
    expect(pte(w, SRC, 3).pfn).toBe(keep);
    expect(w.obj(PAGE, keep).refcount).toBe(1);
    expect(trace.flatMap((s) => s.bugs)).toEqual([]);
  });

  it('lets the recorder see the page still mapped at start', () => {
    const w = world();
    const vma = addVma(w, SRC, { start: 0, end: 4 });
    const pfn = populateAnon(w, SRC, 2, 0xa);
    attachRecorder(w, SRC);
    w.spawn(0, zapPageRangeSingle, [SRC, vma, 2, 3]);
    runToEnd(w, 'zap');
    expect(recorded(w)[0]).toMatchObject({ kind: 'start', event: 'CLEAR', pfnAtStart: pfn });
    expect(recorded(w)[1]).toMatchObject({ kind: 'end', pfnAtStart: 0 });
  });

  it('clears special ptes with no accounting, and frees swap slots only when no pte uses them', () => {
    const w = world();
    // A page of `other`, mapped special-ly into a PFNMAP VMA of src (a mirror mapping).
    addVma(w, OTHER, { start: 0, end: 2 });
    const theirs = populateAnon(w, OTHER, 0, 0x5);
    const dev = addVma(w, SRC, { start: 0, end: 2, flags: PFNMAP });
    setPte(w, SRC, 0, theirs, false, true);
    const anon = addVma(w, SRC, { start: 2, end: 6 });
    // Swap slot 1 used by src@2 and other@1; a migration entry at src@3.
    w.obj(SWAP, 1).used = 1;
    pte(w, SRC, 2).swap = swpEntry(1);
    pte(w, OTHER, 1).swap = swpEntry(1);
    const migrating = populateAnon(w, SRC, 4, 0x7);
    Object.assign(pte(w, SRC, 3), { present: 0, pfn: 0, migration: migrating });

    w.spawn(0, zapPageRangeSingle, [SRC, dev, 0, 2]);
    runToEnd(w, 'zap');
    expect(pte(w, SRC, 0).present).toBe(0);
    expect(w.obj(PAGE, theirs)).toMatchObject({ refcount: 1, mapcount: 1, free: 0 });

    w.spawn(0, zapPageRangeSingle, [SRC, anon, 2, 4]);
    const trace = runToEnd(w, 'zap');
    expect(trace.flatMap((s) => s.bugs)).toEqual([]);
    expect(pte(w, SRC, 2).swap).toBe(NONE);
    expect(pte(w, SRC, 3).migration).toBe(0);
    expect(w.obj(SWAP, 1).used).toBe(1); // other@1 still refers to it
    expect(w.obj(PAGE, migrating).refcount).toBe(1); // a migration entry holds no page reference here
  });

  it('frees the swap slot with its last pte', () => {
    const w = world();
    const vma = addVma(w, SRC, { start: 0, end: 2 });
    w.obj(SWAP, 1).used = 1;
    pte(w, SRC, 1).swap = 2;
    w.spawn(0, zapPageRangeSingle, [SRC, vma, 0, 2]);
    runToEnd(w, 'zap');
    expect(w.obj(SWAP, 1).used).toBe(0);
  });

  it("flags a caller that names the wrong mm, and still fires on the VMA's own mm", () => {
    const w = world();
    const vma = addVma(w, SRC, { start: 0, end: 2 });
    populateAnon(w, SRC, 0, 1);
    attachRecorder(w, SRC);
    w.spawn(0, zapPageRangeSingle, [OTHER, vma, 0, 2]);
    const trace = runToEnd(w, 'zap');
    expect(trace[0].bugs[0]).toMatch(/belongs to mm 0, not mm 1/);
    expect(recorded(w).map((e) => e.mm)).toEqual([SRC, SRC]);
  });

  it('two actors: a lockless reader inside the [start, end] window still reads the old page, which is then freed', () => {
    const w = world(['zap', 'reader']);
    const vma = addVma(w, SRC, { start: 0, end: 4 });
    const pfn = populateAnon(w, SRC, 1, 0xa);
    attachRecorder(w, SRC);
    w.spawn(actorIndex(w, 'zap'), zapPageRangeSingle, [SRC, vma, 0, 4]);
    w.spawn(actorIndex(w, 'reader'), pteReader, [SRC, 1]);
    runUntil(w, 'zap', 'zap_page_range_single_batched:zap'); // start has returned
    expect(recorded(w).map((e) => e.kind)).toEqual(['start']);
    const read = runSchedule(w, ['reader']);
    expect(read[0].changes).toContainEqual({ what: 'reader:test_zap_pte_reader.pfn', from: 0, to: pfn });
    runToEnd(w, 'zap');
    expect(w.obj(PAGE, pfn).free).toBe(1);
    const use = runSchedule(w, ['reader']);
    // What §1.3 warns about: a walker that ignores the notifier window uses a freed page.
    expect(use[0].changes).toContainEqual({ what: 'reader:test_zap_pte_reader.sawFree', from: 0, to: 1 });
  });
});

describe('zap_vma_ptes', () => {
  it('does nothing on a VMA that is not VM_PFNMAP', () => {
    const w = world();
    const vma = addVma(w, SRC, { start: 0, end: 4 });
    const pfn = populateAnon(w, SRC, 1, 0xa);
    attachRecorder(w, SRC);
    w.spawn(0, zapVmaPtes, [vma, 0, 4]);
    const trace = runToEnd(w, 'zap');
    expect(trace).toHaveLength(1);
    expect(recorded(w)).toEqual([]);
    expect(pte(w, SRC, 1).pfn).toBe(pfn);
  });

  it('does nothing for a range that leaves the PFNMAP VMA', () => {
    const w = world();
    addVma(w, OTHER, { start: 0, end: 2 });
    const theirs = populateAnon(w, OTHER, 0, 0x5);
    const vma = addVma(w, SRC, { start: 0, end: 2, flags: PFNMAP });
    setPte(w, SRC, 1, theirs, false, true);
    attachRecorder(w, SRC);
    w.spawn(0, zapVmaPtes, [vma, 1, 3]);
    runToEnd(w, 'zap');
    expect(recorded(w)).toEqual([]);
    expect(pte(w, SRC, 1).present).toBe(1);
  });

  it("zaps a PFNMAP range with CLEAR on the VMA's mm and leaves the mapped page alone", () => {
    const w = world();
    addVma(w, OTHER, { start: 0, end: 2 });
    const theirs = populateAnon(w, OTHER, 0, 0x5);
    const vma = addVma(w, SRC, { start: 0, end: 2, flags: PFNMAP });
    setPte(w, SRC, 1, theirs, false, true);
    attachRecorder(w, SRC);
    w.spawn(0, zapVmaPtes, [vma, 0, 2]);
    runToEnd(w, 'zap');
    expect(recorded(w).map((e) => [e.kind, e.event, e.start, e.end])).toEqual([
      ['start', 'CLEAR', 0, 2],
      ['end', 'CLEAR', 0, 2],
    ]);
    expect(pte(w, SRC, 1).present).toBe(0);
    expect(w.obj(PAGE, theirs)).toMatchObject({ refcount: 1, mapcount: 1, free: 0 });
  });
});

describe('unmap_mapping_range', () => {
  const FILE = 3;

  /** Shared file page (page cache: one reference of its own) mapped by both mms. */
  function fileWorld(): { w: World; page: number } {
    const w = buildWorld({ pages: 6, mmPages: 6, mms: ['src', 'other'], actors: ['zap'], mmuNotifiers: 2, libraries: [LIB, RECORDER_LIB] }, declareRecorder);
    const page = allocPage(w); // the page-cache reference
    // src maps file pages 0..3 at vpn 0; other maps file pages 2..5 at vpn 1.
    addVma(w, SRC, { start: 0, end: 4, flags: VM_READ | VM_WRITE | VM_SHARED, file: FILE, pgoff: 0 });
    addVma(w, OTHER, { start: 1, end: 5, flags: VM_READ | VM_WRITE | VM_SHARED, file: FILE, pgoff: 2 });
    addVma(w, OTHER, { start: 5, end: 6 }); // unrelated anon VMA
    for (const [mm, vpn] of [
      [SRC, 2],
      [OTHER, 1],
    ]) {
      setPte(w, mm, vpn, page, true, false);
      getPage(w, page);
      pageDupRmap(w, page);
    }
    attachRecorder(w, SRC, 0);
    attachRecorder(w, OTHER, 1);
    return { w, page };
  }

  /** A private mapping of the file in src's second slot (file pages 4..5 at vpn 4), with a COWed anon page at vpn 4. */
  function addCowedPrivateMapping(w: World): number {
    const cow = allocPage(w);
    pageAddNewAnonRmap(w, cow, SRC, 4);
    addVma(w, SRC, { start: 4, end: 6, flags: VM_READ | VM_WRITE, file: FILE, pgoff: 4 });
    setPte(w, SRC, 4, cow, true, false);
    return cow;
  }

  it("fires start/end on every mm mapping the file range, over each mapping's own addresses", () => {
    const { w, page } = fileWorld();
    w.spawn(0, unmapMappingRange, [FILE, 2, 1, 1]); // file page 2 only
    const trace = runToEnd(w, 'zap');
    expect(recorded(w).map((e) => [e.kind, e.mm, e.start, e.end, e.event, e.pfnAtStart])).toEqual([
      ['start', SRC, 2, 3, 'CLEAR', page],
      ['end', SRC, 2, 3, 'CLEAR', 0],
      ['start', OTHER, 1, 2, 'CLEAR', page],
      ['end', OTHER, 1, 2, 'CLEAR', 0],
    ]);
    expect(w.obj(PAGE, page)).toMatchObject({ refcount: 1, mapcount: 0, free: 0 });
    // Each mm's references go in that mapping's tlb_finish_mmu, after its end.
    const frees = trace.filter((s) => s.changes.some((c) => c.what === `page[pfn${page}].refcount`));
    expect(frees.map((s) => s.where)).toEqual(['unmap_mapping_range_vma:finish', 'unmap_mapping_range_vma:finish']);
  });

  it('skips mappings outside the file range and, without even_cows, COWed anon pages', () => {
    const { w } = fileWorld();
    const cow = addCowedPrivateMapping(w);
    w.spawn(0, unmapMappingRange, [FILE, 4, 2, 0]); // file pages 4..5, even_cows = 0
    runToEnd(w, 'zap');
    // src's first VMA maps file pages 0..3: untouched. other's maps 2..5 at 1..4: [3, 5). src's private one: [4, 6).
    expect(
      recorded(w)
        .filter((e) => e.kind === 'start')
        .map((e) => [e.mm, e.start, e.end]),
    ).toEqual([
      [SRC, 4, 6],
      [OTHER, 3, 5],
    ]);
    expect(pte(w, SRC, 4).pfn).toBe(cow); // the COWed page stays
    expect(pte(w, SRC, 2).present).toBe(1);
  });

  it('with even_cows, zaps the COWed anon page and frees it in tlb_finish_mmu (audited: its footprint declares the free)', () => {
    // Found in review after ladder-5's model error: this finish step had the footprint of a put
    // that never frees, while the same code in zap_page_range_single:finish declares the free.
    const { w } = fileWorld();
    const cow = addCowedPrivateMapping(w);
    w.spawn(0, unmapMappingRange, [FILE, 4, 2, 1]); // even_cows = 1 (truncation)
    const trace = runToEnd(w, 'zap'); // traced steps are audited against their footprints
    expect(pte(w, SRC, 4).present).toBe(0);
    expect(w.obj(PAGE, cow).free).toBe(1);
    const freed = trace.find((s) => s.changes.some((c) => c.what === `page[pfn${cow}].free` && c.to === 1));
    expect(freed?.where).toBe('unmap_mapping_range_vma:finish');
  });
});
