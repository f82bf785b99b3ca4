/**
 * Device-private memory (mm/memremap.c) and its migration (mm/migrate_device.c): migrate_vma_setup
 * (migrate_vma_collect under MMU_NOTIFY_MIGRATE with range->owner, migrate_vma_collect_pmd's
 * migration entries, migrate_device_unmap's check and restore), migrate_vma_pages
 * (folio_migrate_mapping), migrate_vma_finalize (remove_migration_ptes to a device-private entry);
 * do_swap_page on a device-private entry (pgmap->ops->migrate_to_ram); hmm_range_fault on one
 * (mm/hmm.c:hmm_vma_handle_pte: reported to its owner, faulted back for anyone else).
 */
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { getPage, allocPage } from '../../src/kernel/page.js';
import { pte } from '../../src/kernel/pgtable.js';
import { PAGE } from '../../src/kernel/structs.js';
import { EVENT_NAMES } from '../../src/kernel/flags.js';
import { downRead, folioLock, mmapLock, mutexTrylock, upRead } from '../../src/kernel/locks.js';
import { intervalNotifierInsert, mmuIntervalReadBegin } from '../../src/kernel/notifier/interval.js';
import { DEV_PAGEMAP, memremapPages, zoneDevicePageAlloc } from '../../src/kernel/memremap.js';
import {
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_WRITE,
  MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
  MIGRATE_VMA_SELECT_SYSTEM,
  migratePfn,
  migratePfnToPage,
  migrateVmaDone,
  migrateVmaFinalize,
  migrateVmaInit,
  migrateVmaOf,
  migrateVmaPages,
  migrateVmaSetDst,
  migrateVmaSetup,
  migrateVmaSrc,
  MIGRATE_VMA,
  mmuNotifierRangeOwner,
} from '../../src/kernel/ops/migrate-device.js';
import { cpuAccess } from '../../src/kernel/ops/access.js';
import { vmMunmap } from '../../src/kernel/ops/munmap.js';
import { dupMmap } from '../../src/kernel/ops/fork.js';
import { MM } from '../../src/kernel/structs.js';
import { hmmRangeDone, hmmRangeFaultCall, hmmRangeInit, hmmRangeOf, hmmRangePfn, hmmRangeSetSeq } from '../../src/kernel/hmm/hmm.js';
import { HMM_PFN_REQ_FAULT, hmmPfnEncode } from '../../src/kernel/hmm/hmm-pfn.js';
import { defineStruct } from '../../src/world/layout.js';
import { runToEnd, runUntil } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { Library } from '../../src/world/registry.js';
import { KERNEL } from '../../src/kernel/library.js';
import { betweenSteps } from '../helpers/between-steps.js';

const LIB = new Library('test-migrate-device', [KERNEL]);
const SRC = 0;
const SUB = 0;
const PGMAP = 0;
const OWNER = 7;
/** What the test's callers saw: the last invalidation's event and range->owner, migrate->cpages, hmm_pfns[0..1]. */
const SEEN = defineStruct('testMigrateSeen', ['event', 'owner', 'cpages', 'pfn0', 'pfn1'] as const);

const invalidate = LIB.routine({
  name: 'test_migrate_invalidate',
  params: ['sub', 'start', 'end', 'event', 'blockable', 'curSeq'],
  steps: {
    go: {
      at: 'test:invalidate',
      run: (w, l) => {
        const s = w.obj(SEEN, 0);
        s.event = l.event;
        s.owner = mmuNotifierRangeOwner(w, l.event);
        return w.ret(1); // nothing mirrored: no sequence to set (mmu_interval_set_seq needs a driver lock)
      },
    },
  },
});

/** A driver's migration of [start, end) into device pages (dmirror_migrate_to_device's shape), under mmap_read_lock. */
const toDevice = LIB.routine({
  name: 'test_migrate_to_device',
  params: ['start', 'end'],
  locals: ['i'],
  steps: {
    lock: {
      at: 'test:mmap_read_lock',
      run: (w, l) => {
        const b = downRead(w, mmapLock(w, SRC));
        if (b) return b;
        migrateVmaInit(w, migrateVmaOf(w), 0, l.start, l.end, OWNER, MIGRATE_VMA_SELECT_SYSTEM);
        return w.call(migrateVmaSetup, 'alloc', migrateVmaOf(w));
      },
    },
    alloc: {
      at: 'test:alloc and copy',
      run: (w, l) => {
        const m = migrateVmaOf(w);
        w.obj(SEEN, 0).cpages = w.obj(MIGRATE_VMA, m).cpages;
        for (; l.i < l.end - l.start; l.i++) {
          const src = migrateVmaSrc(w, m, l.i);
          if (!(src & MIGRATE_PFN_MIGRATE)) continue;
          const dpage = zoneDevicePageAlloc(w, PGMAP);
          w.obj(PAGE, dpage).contents = w.obj(PAGE, migratePfnToPage(src)).contents;
          migrateVmaSetDst(w, m, l.i, migratePfn(dpage) | (src & MIGRATE_PFN_WRITE));
          l.i = l.i + 1;
          return 'alloc';
        }
        return w.call(migrateVmaPages, 'finalize', m);
      },
    },
    finalize: { at: 'test:migrate_vma_finalize', run: (w) => w.call(migrateVmaFinalize, 'done', migrateVmaOf(w)) },
    done: {
      at: 'test:mmap_read_unlock',
      run: (w, l) => {
        upRead(w, mmapLock(w, SRC));
        migrateVmaDone(w, migrateVmaOf(w));
        l.i = 0;
        return w.ret(0);
      },
    },
  },
});

/** The pgmap's migrate_to_ram (dmirror_devmem_fault's shape): the faulting page back into a system page. */
const toRam = LIB.routine({
  name: 'test_migrate_to_ram',
  params: ['vma', 'vpn', 'page'],
  steps: {
    setup: {
      at: 'test:migrate_vma_setup(fault_page)',
      run: (w, l) => {
        migrateVmaInit(w, migrateVmaOf(w), l.vma, l.vpn, l.vpn + 1, OWNER, MIGRATE_VMA_SELECT_DEVICE_PRIVATE, l.page);
        return w.call(migrateVmaSetup, 'copy', migrateVmaOf(w));
      },
    },
    copy: {
      at: 'test:alloc and copy',
      run: (w) => {
        const m = migrateVmaOf(w);
        const src = migrateVmaSrc(w, m, 0);
        const dpage = allocPage(w);
        mutexTrylock(w, folioLock(w, dpage));
        w.obj(PAGE, dpage).contents = w.obj(PAGE, migratePfnToPage(src)).contents;
        migrateVmaSetDst(w, m, 0, migratePfn(dpage) | (src & MIGRATE_PFN_WRITE));
        return w.call(migrateVmaPages, 'finalize', m);
      },
    },
    finalize: { at: 'test:migrate_vma_finalize', run: (w) => w.call(migrateVmaFinalize, 'done', migrateVmaOf(w)) },
    done: {
      at: 'test:return 0',
      run: (w) => {
        migrateVmaDone(w, migrateVmaOf(w));
        return w.ret(0);
      },
    },
  },
});

/** read_begin, mmap_read_lock, hmm_range_fault over [0, 2) (its range set up by the test), unlock; hmm_pfns into SEEN. */
const hmmDriver = LIB.routine({
  name: 'test_migrate_hmm',
  params: [],
  steps: {
    begin: { at: 'test', run: (w) => w.call(mmuIntervalReadBegin, 'lock', SUB) },
    lock: {
      at: 'test:mmap_read_lock',
      run: (w, l) => {
        const b = downRead(w, mmapLock(w, SRC));
        if (b) return b;
        hmmRangeSetSeq(w, hmmRangeOf(w), l.result);
        l.result = 0;
        return hmmRangeFaultCall(w, 'unlock', hmmRangeOf(w));
      },
    },
    unlock: {
      at: 'test:mmap_read_unlock',
      run: (w) => {
        upRead(w, mmapLock(w, SRC));
        const s = w.obj(SEEN, 0);
        [s.pfn0, s.pfn1] = [hmmRangePfn(w, hmmRangeOf(w), 0), hmmRangePfn(w, hmmRangeOf(w), 1)];
        hmmRangeDone(w, hmmRangeOf(w));
        return w.ret(0);
      },
    },
  },
});

/** The source: [0, 2) anonymous, page 0 writable (contents 10), page 1 read-only (contents 11); two device pages; one interval notifier. */
function world(mms = ['source']): { w: World; p0: number; p1: number } {
  const w = buildWorld({ pages: 8, mmPages: 2, mms, actors: ['drv', 'cpu'], libraries: [LIB] }, (L) => {
    L.add(SEEN, 1);
    L.add(DEV_PAGEMAP, 1);
  });
  addVma(w, SRC, { start: 0, end: 2 });
  const p0 = populateAnon(w, SRC, 0, 10, true);
  const p1 = populateAnon(w, SRC, 1, 11, false);
  intervalNotifierInsert(w, SUB, SRC, 0, 2, invalidate, 0);
  memremapPages(w, PGMAP, OWNER, w.routineRef(toRam), 2);
  return { w, p0, p1 };
}

/** Both pages moved to the device (H14's migrate_vma_* round). */
function migrated(mms?: string[]) {
  const { w, p0, p1 } = world(mms);
  w.spawn(0, toDevice, [0, 2]);
  const trace = runToEnd(w, 'drv');
  return { w, p0, p1, trace, d0: pte(w, SRC, 0).devPrivate, d1: pte(w, SRC, 1).devPrivate };
}

describe('device-private memory (mm/memremap.c:memremap_pages)', () => {
  it('takes the highest free frames off the free lists for good, leaving the allocator its pfns', () => {
    const { w } = world();
    expect([7, 8].map((pfn) => [w.obj(PAGE, pfn).free, w.obj(PAGE, pfn).pgmap])).toEqual([
      [0, PGMAP + 1],
      [0, PGMAP + 1],
    ]);
    expect(w.obj(PAGE, 3).free).toBe(1);
  });
});

describe('migrate_vma_setup / migrate_vma_pages / migrate_vma_finalize (mm/migrate_device.c)', () => {
  it('collects under an MMU_NOTIFY_MIGRATE invalidation carrying pgmap_owner (migrate_vma_collect), every pte a migration entry keeping its write bit', () => {
    const { w, p0, p1 } = world();
    w.spawn(0, toDevice, [0, 2]);
    runUntil(w, 'drv', 'test_migrate_to_device:alloc');
    const s = w.obj(SEEN, 0);
    expect([EVENT_NAMES[s.event], s.owner]).toEqual(['MIGRATE', OWNER]);
    const m = migrateVmaOf(w);
    expect(w.obj(MIGRATE_VMA, m).cpages).toBe(2);
    expect(migrateVmaSrc(w, m, 0)).toBe(migratePfn(p0) | MIGRATE_PFN_MIGRATE | MIGRATE_PFN_WRITE);
    expect(migrateVmaSrc(w, m, 1)).toBe(migratePfn(p1) | MIGRATE_PFN_MIGRATE);
    const e0 = pte(w, SRC, 0);
    const e1 = pte(w, SRC, 1);
    expect([e0.present, e0.migration, e0.write, e1.migration, e1.write]).toEqual([0, p0, 1, p1, 0]);
    // Locked and unmapped, one reference left (isolation's): "stable content" for the driver's copy.
    expect([w.obj(PAGE, p0).locked !== 0, w.obj(PAGE, p0).mapcount, w.obj(PAGE, p0).refcount]).toEqual([true, 0, 1]);
  });

  it('ends with device-private entries of the device pages (remove_migration_pte), the data copied and the system pages freed', () => {
    const { w, p0, p1, trace, d0, d1 } = migrated();
    expect(trace.flatMap((t) => t.bugs)).toEqual([]);
    expect([d0, d1].every((d) => w.obj(PAGE, d).pgmap === PGMAP + 1)).toBe(true);
    const e0 = pte(w, SRC, 0);
    expect([e0.present, e0.pfn, e0.write, pte(w, SRC, 1).write]).toEqual([0, 0, 1, 0]);
    for (const [d, c, vpn] of [
      [d0, 10, 0],
      [d1, 11, 1],
    ]) {
      const pg = w.obj(PAGE, d);
      expect([pg.contents, pg.refcount, pg.mapcount, pg.locked, pg.anon, pg.index]).toEqual([c, 1, 1, 0, 1, vpn]);
    }
    expect([w.obj(PAGE, p0).free, w.obj(PAGE, p1).free]).toEqual([1, 1]);
  });

  it('does not migrate a page with an extra reference (migrate_vma_check_page): its pte comes back, unlocked, and cpages says 0', () => {
    const { w, p0 } = world();
    betweenSteps(w, () => getPage(w, p0)); // a GUP pin
    w.spawn(0, toDevice, [0, 1]);
    runUntil(w, 'drv', 'test_migrate_to_device:alloc');
    expect(w.obj(SEEN, 0).cpages).toBe(0);
    expect(migrateVmaSrc(w, migrateVmaOf(w), 0)).toBe(0);
    const e = pte(w, SRC, 0);
    expect([e.present, e.pfn, e.write, e.migration]).toEqual([1, p0, 1, 0]);
    expect([w.obj(PAGE, p0).locked, w.obj(PAGE, p0).mapcount, w.obj(PAGE, p0).refcount]).toEqual([0, 1, 2]);
  });

  it('skips a page whose lock another task holds (migrate_vma_collect_pmd: folio_trylock, best effort)', () => {
    const { w, p0 } = world();
    betweenSteps(w, () => {
      w.obj(PAGE, p0).locked = 99;
    });
    w.spawn(0, toDevice, [0, 1]);
    runUntil(w, 'drv', 'test_migrate_to_device:alloc');
    expect(migrateVmaSrc(w, migrateVmaOf(w), 0)).toBe(0);
    expect([pte(w, SRC, 0).present, w.obj(PAGE, p0).refcount]).toEqual([1, 1]);
  });
});

describe('do_swap_page on a device-private entry (mm/memory.c)', () => {
  it('calls the pgmap migrate_to_ram with the page locked and referenced; the page comes back to system memory and the device page to its driver', () => {
    const { w, d0 } = migrated();
    w.spawn(1, cpuAccess, [SRC, 0, 0, 0]);
    const trace = runToEnd(w, 'cpu');
    expect(trace.flatMap((t) => t.bugs)).toEqual([]);
    const at = trace.findIndex((t) => t.where === 'test_migrate_to_ram:setup');
    expect(at).toBeGreaterThan(trace.findIndex((t) => t.where === 'do_swap_page:devicePrivate'));
    expect(w.obj(SEEN, 0).owner).toBe(OWNER); // its collect's MIGRATE invalidation carried the owner too
    const e = pte(w, SRC, 0);
    expect([e.present, e.write, e.devPrivate, w.obj(PAGE, e.pfn).contents, w.obj(PAGE, e.pfn).pgmap]).toEqual([1, 1, 0, 10, 0]);
    const dev = w.obj(PAGE, d0);
    expect([dev.refcount, dev.mapcount, dev.locked, dev.free, dev.pgmap]).toEqual([0, 0, 0, 0, PGMAP + 1]); // back to its driver, not to the free lists
  });
});

describe('zap of a device-private entry (mm/memory.c:zap_nonpresent_ptes)', () => {
  it('munmap clears the entries, drops their rmap and gives the device pages back to their driver, not to the free lists', () => {
    const { w, d0, d1 } = migrated();
    w.spawn(1, vmMunmap, [SRC, 0, 2]);
    const trace = runToEnd(w, 'cpu');
    expect(trace.flatMap((t) => t.bugs)).toEqual([]);
    expect([pte(w, SRC, 0).devPrivate, pte(w, SRC, 1).devPrivate]).toEqual([0, 0]);
    for (const d of [d0, d1]) expect([w.obj(PAGE, d).refcount, w.obj(PAGE, d).mapcount, w.obj(PAGE, d).free]).toEqual([0, 0, 0]);
  });
});

describe('fork of a device-private entry (mm/memory.c:copy_nonpresent_pte)', () => {
  it('the child gets the entry with a reference and a mapping of its own; a writable entry becomes readable in both (COW)', () => {
    const { w, d0 } = migrated(['source', 'child']);
    betweenSteps(w, () => {
      w.obj(MM, 1).users = 0; // not yet born
    });
    w.spawn(1, dupMmap, [SRC, 1]);
    const trace = runToEnd(w, 'cpu');
    expect(trace.flatMap((t) => t.bugs)).toEqual([]);
    for (const mm of [SRC, 1]) expect([pte(w, mm, 0).present, pte(w, mm, 0).devPrivate, pte(w, mm, 0).write]).toEqual([0, d0, 0]);
    expect([w.obj(PAGE, d0).refcount, w.obj(PAGE, d0).mapcount]).toEqual([2, 2]);
  });
});

describe('hmm_range_fault on a device-private entry (mm/hmm.c:hmm_vma_handle_pte)', () => {
  function snapshot(w: World, owner: number, flags: number) {
    hmmRangeInit(w, 1, SUB, 0, 2, flags, 0, owner);
    w.spawn(1, hmmDriver, []);
    const trace = runToEnd(w, 'cpu');
    return { trace, pfns: [w.obj(SEEN, 0).pfn0, w.obj(SEEN, 0).pfn1] };
  }

  it("reports its owner's device pages VALID (+ WRITE) without faulting", () => {
    const { w, d0, d1 } = migrated();
    const { trace, pfns } = snapshot(w, OWNER, HMM_PFN_REQ_FAULT);
    expect(pfns).toEqual([hmmPfnEncode(d0, true), hmmPfnEncode(d1, false)]);
    expect(trace.some((t) => t.where.startsWith('do_swap_page'))).toBe(false);
  });

  it('gives another owner nothing when not faulting, and faults the pages back when asked to', () => {
    const { w } = migrated();
    expect(snapshot(w, OWNER + 1, 0).pfns).toEqual([0, 0]);
    const { trace, pfns } = snapshot(w, OWNER + 1, HMM_PFN_REQ_FAULT);
    expect(trace.some((t) => t.where === 'test_migrate_to_ram:setup')).toBe(true);
    expect(pfns).toEqual([hmmPfnEncode(pte(w, SRC, 0).pfn, true), hmmPfnEncode(pte(w, SRC, 1).pfn, false)]);
    expect([pte(w, SRC, 0).present, pte(w, SRC, 1).present]).toEqual([1, 1]);
  });
});
