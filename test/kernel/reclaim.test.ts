import { describe, expect, it } from 'vitest';
import { getPage } from '../../src/kernel/page.js';
import { pte } from '../../src/kernel/pgtable.js';
import { PAGE, SWAP } from '../../src/kernel/structs.js';
import { shrinkFolioList } from '../../src/kernel/ops/reclaim.js';
import { actorIndex, isEnabled, runSchedule, runToEnd, runUntil } from '../../src/world/runner.js';
import { changeIndex, recorded } from '../helpers/recorder.js';
import { CHILD, MIRROR, PARENT, recorderSteps, sharedPageWorld } from '../helpers/shared-page.js';
import { swpEntry } from '../../src/kernel/ref.js';

const world = (actors: string[] = ['reclaim'], special = false) => sharedPageWorld(actors, special);

describe('reclaim to swap (shrink_folio_list / try_to_unmap_one)', () => {
  it('brackets each pte → swap entry with CLEAR start/end on every mm mapping the page, frees after the last end', () => {
    const { w, pfn } = world();
    w.spawn(0, shrinkFolioList, [pfn]);
    const trace = runToEnd(w, 'reclaim');

    expect(recorded(w)).toEqual([
      { kind: 'start', mm: PARENT, start: 1, end: 2, event: 'CLEAR', blockable: true, pfnAtStart: pfn },
      { kind: 'end', mm: PARENT, start: 1, end: 2, event: 'CLEAR', blockable: true, pfnAtStart: 0 },
      { kind: 'start', mm: CHILD, start: 1, end: 2, event: 'CLEAR', blockable: true, pfnAtStart: pfn },
      { kind: 'end', mm: CHILD, start: 1, end: 2, event: 'CLEAR', blockable: true, pfnAtStart: 0 },
    ]);
    const starts = recorderSteps(trace, 'start');
    const ends = recorderSteps(trace, 'end');
    // Slot 1 is the first one handed out (slot 0 is the swap header): swap entry 2.
    const parentSwap = changeIndex(trace, 'pte[parent@1].swap', swpEntry(1));
    const childSwap = changeIndex(trace, 'pte[child@1].swap', swpEntry(1));
    expect(starts[0]).toBeLessThan(parentSwap);
    expect(parentSwap).toBeLessThan(ends[0]);
    expect(starts[1]).toBeLessThan(childSwap);
    expect(childSwap).toBeLessThan(ends[1]);
    expect(changeIndex(trace, `page[pfn${pfn}].free`, 1)).toBeGreaterThan(ends[1]);
    expect(trace.at(-1)!.where).toBe('shrink_folio_list:free');

    const page = w.obj(PAGE, pfn);
    expect(page.free).toBe(1);
    expect(page.mapcount).toBe(0);
    expect(page.locked).toBe(0);
    expect(w.obj(SWAP, 1).used).toBe(1);
    expect(w.obj(SWAP, 1).contents).toBe(42);
    for (const mm of [PARENT, CHILD]) {
      const p = pte(w, mm, 1);
      expect([p.present, p.pfn, p.swap]).toEqual([0, 0, 2]);
    }
    expect(trace.flatMap((s) => s.bugs)).toEqual([]);
  });

  it('keeps the page in the swap cache when an extra reference (a GUP pin) remains', () => {
    const { w, pfn } = world();
    getPage(w, pfn); // get_user_pages
    w.spawn(0, shrinkFolioList, [pfn]);
    const trace = runToEnd(w, 'reclaim');

    expect(trace.at(-1)!.where).toBe('shrink_folio_list:putback');
    expect(
      recorded(w)
        .filter((e) => e.kind === 'start')
        .map((e) => e.mm),
    ).toEqual([PARENT, CHILD]);
    const page = w.obj(PAGE, pfn);
    // The ptes already converted stay swap entries; the page stays in the swap cache with the pin.
    expect(page.free).toBe(0);
    expect(page.swap).toBe(swpEntry(1));
    expect(page.mapcount).toBe(0);
    expect(page.refcount).toBe(2); // the pin and the swap cache
    expect(page.locked).toBe(0);
    expect(pte(w, PARENT, 1).swap).toBe(swpEntry(1));
    expect(pte(w, CHILD, 1).swap).toBe(swpEntry(1));
    expect(w.obj(SWAP, 1).used).toBe(1);
    expect(trace.flatMap((s) => s.bugs)).toEqual([]);
  });

  it('does not visit a special pte of the same pfn: after reclaim it maps a freed page (R14 / INV-11)', () => {
    const { w, pfn } = world(['reclaim'], true);
    w.spawn(0, shrinkFolioList, [pfn]);
    runToEnd(w, 'reclaim');

    expect(recorded(w).some((e) => e.mm === MIRROR)).toBe(false);
    const m = pte(w, MIRROR, 2);
    expect([m.present, m.special, m.pfn, m.swap]).toEqual([1, 1, pfn, 0]);
    expect(w.obj(PAGE, pfn).free).toBe(1); // the mirror's pte is dangling
  });

  it('frees the swap slot with the page when no swap pte refers to it', () => {
    const { w, pfn } = world();
    w.spawn(0, shrinkFolioList, [pfn]);
    runSchedule(w, ['reclaim']); // isolated: refcount 3
    // Both mappings are zapped (munmap) while the page is isolated: only reclaim's reference is left.
    for (const mm of [PARENT, CHILD]) {
      const p = pte(w, mm, 1);
      p.present = 0;
      p.pfn = 0;
    }
    const page = w.obj(PAGE, pfn);
    page.mapcount = 0;
    page.refcount = 1;
    runToEnd(w, 'reclaim');
    expect(page.free).toBe(1);
    expect(w.obj(SWAP, 1).used).toBe(0);
    expect(recorded(w)).toEqual([]);
  });

  it('fails with no free swap slot and leaves everything mapped', () => {
    const { w, pfn } = world();
    w.obj(SWAP, 1).used = 1;
    w.obj(SWAP, 2).used = 1;
    w.spawn(0, shrinkFolioList, [pfn]);
    const trace = runToEnd(w, 'reclaim');
    expect(trace.at(-1)!.where).toBe('shrink_folio_list:putback');
    expect(pte(w, PARENT, 1).pfn).toBe(pfn);
    expect(w.obj(PAGE, pfn).refcount).toBe(2);
    expect(recorded(w)).toEqual([]);
  });
});

describe('two reclaimers of the same page', () => {
  it('the second sleeps on the folio lock, its reference fails the first one, then it reclaims the page', () => {
    const { w, pfn } = world(['a', 'b']);
    w.spawn(actorIndex(w, 'a'), shrinkFolioList, [pfn]);
    w.spawn(actorIndex(w, 'b'), shrinkFolioList, [pfn]);
    runUntil(w, 'a', 'try_to_unmap:unmap'); // a holds the folio lock, parent's start has run
    runSchedule(w, ['b']); // b isolates (takes its reference)
    expect(isEnabled(w, actorIndex(w, 'b'))).toBe(false); // folio_lock sleeps
    const first = runToEnd(w, 'a');
    // b's isolation reference: refcount 3 (a, b, swap cache) ≠ 2 → a keeps the page.
    expect(first.at(-1)!.where).toBe('shrink_folio_list:putback');
    expect(w.obj(PAGE, pfn).free).toBe(0);
    expect(isEnabled(w, actorIndex(w, 'b'))).toBe(true);
    const second = runToEnd(w, 'b');
    // Already in the swap cache and unmapped: no new slot, no invalidation, freed.
    expect(second.at(-1)!.where).toBe('shrink_folio_list:free');
    expect(recorded(w).filter((e) => e.kind === 'start')).toHaveLength(2);
    expect(w.obj(PAGE, pfn).free).toBe(1);
    expect(w.obj(SWAP, 1).contents).toBe(42);
    expect(w.obj(SWAP, 2).used).toBe(0);
    expect([...first, ...second].flatMap((s) => s.bugs)).toEqual([]);
  });

  it('a reclaimer that comes after the page was freed does not touch it', () => {
    const { w, pfn } = world(['a', 'b']);
    w.spawn(actorIndex(w, 'a'), shrinkFolioList, [pfn]);
    w.spawn(actorIndex(w, 'b'), shrinkFolioList, [pfn]);
    runToEnd(w, 'a');
    const before = w.snapshot();
    const trace = runToEnd(w, 'b');
    expect(trace.map((s) => s.where)).toEqual(['shrink_folio_list:isolate']);
    expect(w.obj(PAGE, pfn).refcount).toBe(before[w.layout.slot(PAGE, pfn, 'refcount')]);
  });
});
