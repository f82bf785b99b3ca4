import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { getPage } from '../../src/kernel/page.js';
import { pte } from '../../src/kernel/pgtable.js';
import { MM, PAGE, SWAP } from '../../src/kernel/structs.js';
import { migratePages } from '../../src/kernel/ops/migrate.js';
import { madviseDontneed } from '../../src/kernel/ops/madvise.js';
import { shrinkFolioList } from '../../src/kernel/ops/reclaim.js';
import { actorIndex, isEnabled, runToEnd, runUntil } from '../../src/world/runner.js';
import { changeIndex, recorded, stepIndex, RECORDER_LIB } from '../helpers/recorder.js';
import { CHILD, MIRROR, PARENT, recorderSteps, sharedPageWorld } from '../helpers/shared-page.js';
import { swpEntry } from '../../src/kernel/ref.js';

const world = (actors: string[] = ['migrate'], special = false) => sharedPageWorld(actors, special);

describe('migration (migrate_pages / try_to_migrate_one / remove_migration_ptes)', () => {
  it('moves every mapping to a new page with the same contents; no notifier when restoring; frees the source after', () => {
    const { w, pfn } = world();
    w.spawn(0, migratePages, [pfn]);
    const trace = runToEnd(w, 'migrate');
    const dst = 2; // the lowest free pfn

    expect(recorded(w)).toEqual([
      { kind: 'start', mm: PARENT, start: 1, end: 2, event: 'CLEAR', blockable: true, pfnAtStart: pfn },
      { kind: 'end', mm: PARENT, start: 1, end: 2, event: 'CLEAR', blockable: true, pfnAtStart: 0 },
      { kind: 'start', mm: CHILD, start: 1, end: 2, event: 'CLEAR', blockable: true, pfnAtStart: pfn },
      { kind: 'end', mm: CHILD, start: 1, end: 2, event: 'CLEAR', blockable: true, pfnAtStart: 0 },
    ]);
    const starts = recorderSteps(trace, 'start');
    const ends = recorderSteps(trace, 'end');
    const parentEntry = changeIndex(trace, 'pte[parent@1].migration', pfn);
    const childEntry = changeIndex(trace, 'pte[child@1].migration', pfn);
    expect(starts[0]).toBeLessThan(parentEntry);
    expect(parentEntry).toBeLessThan(ends[0]);
    expect(starts[1]).toBeLessThan(childEntry);
    expect(childEntry).toBeLessThan(ends[1]);
    // Restoring happens after the last end and fires nothing (the log has only the four entries).
    const restore = stepIndex(trace, 'remove_migration_ptes', 'restore');
    expect(restore).toBeGreaterThan(ends[1]);
    expect(changeIndex(trace, 'pte[parent@1].pfn', dst)).toBeGreaterThan(ends[1]);
    expect(changeIndex(trace, `page[pfn${pfn}].free`, 1)).toBeGreaterThan(changeIndex(trace, 'pte[child@1].pfn', dst));
    expect(trace.at(-1)!.where).toBe('migrate_pages:putSrc');

    for (const mm of [PARENT, CHILD]) {
      const p = pte(w, mm, 1);
      expect([p.present, p.pfn, p.write, p.migration, p.gen]).toEqual([1, dst, 0, 0, w.obj(PAGE, dst).gen]);
    }
    const d = w.obj(PAGE, dst);
    expect([d.contents, d.mapcount, d.refcount, d.anon, d.index, d.locked]).toEqual([42, 2, 2, 1, 1, 0]);
    expect(d.anonVma).toBe(w.obj(MM, PARENT).anonVma);
    expect(w.obj(PAGE, pfn).free).toBe(1);
    expect(trace.flatMap((s) => s.bugs)).toEqual([]);
  });

  it('keeps the write bit of each pte in its migration entry', () => {
    const w = buildWorld({ pages: 4, mmPages: 4, mms: ['parent'], actors: ['migrate'], libraries: [RECORDER_LIB] });
    addVma(w, PARENT, { start: 0, end: 4 });
    const pfn = populateAnon(w, PARENT, 3, 9, true);
    w.spawn(0, migratePages, [pfn]);
    runUntil(w, 'migrate', 'migrate_pages:unmapped');
    expect([pte(w, PARENT, 3).migration, pte(w, PARENT, 3).write]).toEqual([pfn, 1]);
    runToEnd(w, 'migrate');
    const p = pte(w, PARENT, 3);
    expect([p.present, p.pfn, p.write]).toEqual([1, 2, 1]);
  });

  it('fails with an extra reference (GUP pin) and restores the ptes to the source page', () => {
    const { w, pfn } = world();
    getPage(w, pfn);
    w.spawn(0, migratePages, [pfn]);
    const trace = runToEnd(w, 'migrate');

    expect(trace.at(-1)!.where).toBe('migrate_pages:undoPutDst');
    expect(recorded(w)).toHaveLength(4); // the unmap pairs; restoring fires nothing
    for (const mm of [PARENT, CHILD]) {
      const p = pte(w, mm, 1);
      expect([p.present, p.pfn, p.migration]).toEqual([1, pfn, 0]);
    }
    const src = w.obj(PAGE, pfn);
    expect([src.free, src.mapcount, src.refcount, src.locked]).toEqual([0, 2, 3, 0]);
    expect(w.obj(PAGE, 2).free).toBe(1); // dst given back
    expect(trace.flatMap((s) => s.bugs)).toEqual([]);
  });

  it('moves the swap cache entry to the new page', () => {
    const { w, pfn } = world();
    const page = w.obj(PAGE, pfn);
    page.swap = swpEntry(1); // in the swap cache for slot 1 (e.g. swapped in and still cached)
    page.refcount = page.refcount + 1;
    w.obj(SWAP, 1).used = 1;
    w.spawn(0, migratePages, [pfn]);
    runToEnd(w, 'migrate');
    const d = w.obj(PAGE, 2);
    expect([d.swap, d.refcount, d.mapcount]).toEqual([2, 3, 2]);
    expect(page.free).toBe(1);
  });

  it('leaves a special pte of the source pfn pointing at the freed page (R14 / INV-11)', () => {
    const { w, pfn } = world(['migrate'], true);
    w.spawn(0, migratePages, [pfn]);
    runToEnd(w, 'migrate');
    expect(recorded(w).some((e) => e.mm === MIRROR)).toBe(false);
    const m = pte(w, MIRROR, 2);
    expect([m.present, m.special, m.pfn]).toEqual([1, 1, pfn]);
    expect(w.obj(PAGE, pfn).free).toBe(1);
  });
});

describe('migration racing reclaim of the same page', () => {
  it('migration sleeps on the folio lock held by reclaim, then migrates the unmapped swap-cache page', () => {
    const { w, pfn } = world(['reclaim', 'migrate']);
    w.spawn(actorIndex(w, 'reclaim'), shrinkFolioList, [pfn]);
    w.spawn(actorIndex(w, 'migrate'), migratePages, [pfn]);
    runUntil(w, 'reclaim', 'try_to_unmap:walk'); // reclaim holds the folio lock
    runUntil(w, 'migrate', 'migrate_pages:lock'); // isolated, dst allocated
    expect(isEnabled(w, actorIndex(w, 'migrate'))).toBe(false);
    const r = runToEnd(w, 'reclaim');
    // Migration's isolation reference fails reclaim's freeze: the page stays in the swap cache.
    expect(r.at(-1)!.where).toBe('shrink_folio_list:putback'); // keep_locked unlocks at removeMapping; the put back is a step of its own;
    const m = runToEnd(w, 'migrate');
    // Unmapped (all swap entries), refcount = migration's + swap cache: it migrates the cached page.
    expect(m.at(-1)!.where).toBe('migrate_pages:putSrc');
    expect(w.obj(PAGE, pfn).free).toBe(1);
    const dst = w.obj(PAGE, 2); // allocated before it slept
    expect([dst.free, dst.swap, dst.contents, dst.refcount, dst.mapcount]).toEqual([0, swpEntry(1), 42, 1, 0]);
    expect(pte(w, PARENT, 1).swap).toBe(swpEntry(1));
    expect([...r, ...m].flatMap((s) => s.bugs)).toEqual([]);
  });
});

describe('migration out of memory after the source lost its other references', () => {
  // Found by ladder-5 (bench/scenarios/ladder-5.yaml): MADV_DONTNEED zapped the page between
  // folio_isolate_lru and get_new_folio, no frame was free, and migrate_pages' folio_put of the
  // source freed it — free_pages_prepare's checks read PG_locked, which the step's footprint did
  // not declare, so a deep search stopped with a model error.
  it('frees the source when its own reference was the last, and the audited step declares what freeing reads', () => {
    const w = buildWorld({ pages: 1, mmPages: 4, mms: ['parent'], actors: ['migrate', 'zap'] });
    addVma(w, PARENT, { start: 0, end: 4 });
    const pfn = populateAnon(w, PARENT, 1, 42, true);
    w.spawn(actorIndex(w, 'migrate'), migratePages, [pfn]);
    w.spawn(actorIndex(w, 'zap'), madviseDontneed, [PARENT, 0, 4]);
    runUntil(w, 'migrate', 'migrate_pages:allocDst');
    runToEnd(w, 'zap');
    expect(w.obj(PAGE, pfn).refcount).toBe(1); // only the migration's isolation reference
    const trace = runToEnd(w, 'migrate'); // traced steps are audited against their footprints
    expect(trace.at(-1)!.where).toBe('migrate_pages:allocDst');
    expect(w.obj(PAGE, pfn).free).toBe(1);
    expect(trace.flatMap((s) => s.bugs)).toEqual([]);
  });
});
