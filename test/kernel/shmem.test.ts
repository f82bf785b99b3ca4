/**
 * shmem/memfd mappings shared by two mms (src/kernel/shmem.ts, filemap.ts, truncate.ts), against
 * the kernel's rules: shmem_fault maps the page cache's folio itself (no COW for MAP_SHARED), the
 * cache holds one reference and each pte one more; ftruncate and FALLOC_FL_PUNCH_HOLE zap every
 * mapping of the range under MMU_NOTIFY_CLEAR on each mm before the folios leave the cache; munmap
 * and MADV_DONTNEED zap a mapping without freeing the cache's page; fork shares the file VMA.
 * Last, a broken truncate (removing folios without unmapping them) is caught by the properties.
 */
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateShmem } from '../../src/kernel/setup.js';
import { EFAULT, MMU_NOTIFY_CLEAR, VM_READ, VM_SHARED, VM_WRITE } from '../../src/kernel/flags.js';
import { pte } from '../../src/kernel/pgtable.js';
import { MM, PAGE } from '../../src/kernel/structs.js';
import { ADDRESS_SPACE, declareFiles, filemapGetEntry, filemapRemoveFolio, fileOfMapping, folioInMapping, iPagesSlot, inodeLock } from '../../src/kernel/filemap.js';
import { shmemFault } from '../../src/kernel/shmem.js';
import { shmemFallocatePunchHole, shmemSetattr, shmemUndoRange } from '../../src/kernel/truncate.js';
import { cpuAccess } from '../../src/kernel/ops/access.js';
import { madviseDontneed } from '../../src/kernel/ops/madvise.js';
import { vmMunmap } from '../../src/kernel/ops/munmap.js';
import { dupMmap } from '../../src/kernel/ops/fork.js';
import { folioLock, mutexLock, mutexUnlock } from '../../src/kernel/locks.js';
import { putPage } from '../../src/kernel/page.js';
import { ref } from '../../src/kernel/ref.js';
import { explore } from '../../src/engine/exhaustive.js';
import { PROPERTIES } from '../../src/check/properties.js';
import { pageCacheCoherence } from '../../src/check/page-cache.js';
import { defineStruct, type Layout } from '../../src/world/layout.js';
import { runToEnd } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { attachRecorder, declareRecorder, recorded, RECORDER_LIB } from '../helpers/recorder.js';
import { Library } from '../../src/world/registry.js';
import { KERNEL } from '../../src/kernel/library.js';
import type { AnyRoutine } from '../../src/world/routine.js';

const LIB = new Library('test-shmem', [KERNEL]);
const OUT = defineStruct('testShmemOut', ['value'] as const);

const A = 0; // the source QEMU
const B = 1; // the other process mapping the memfd (the introspector, a vhost-user backend)
const CHILD = 2;
const FILE = 5; // the memfd's file id (vma.file)
const PAGES = 4;
const SHARED = VM_SHARED | VM_READ | VM_WRITE;

/** Runs a routine and keeps its return value in OUT[slot] (a bottom frame's result has nowhere to go). */
function caller(name: string, routine: AnyRoutine) {
  const args = ['a', 'b', 'c', 'd'].slice(0, routine.params.length);
  return LIB.routine({
    name: `test_shmem_${name}`,
    params: ['slot', ...args],
    steps: {
      call: { at: `test: ${name}`, run: (w, l) => w.call(routine, 'keep', ...args.map((k) => (l as Record<string, number>)[k])) },
      keep: {
        at: 'test: keep the result',
        run: (w, l) => {
          w.obj(OUT, l.slot).value = l.result;
          return w.ret(0);
        },
      },
    },
  });
}
const access = caller('access', cpuAccess);
const truncate = caller('ftruncate', shmemSetattr);
const punch = caller('punch', shmemFallocatePunchHole);
const dontneed = caller('dontneed', madviseDontneed);
const munmap = caller('munmap', vmMunmap);
const fork = caller('fork', dupMmap);
const undo = caller('undo', shmemUndoRange);

/**
 * The mutant: a truncate that takes the folios out of the cache without unmapping them first
 * (no unmap_mapping_range, no truncate_cleanup_folio): the kernel's order, broken.
 */
const truncateNoUnmap = LIB.routine({
  name: 'test_shmem_truncate_without_unmap',
  params: ['m', 'newSize'],
  locals: ['index', 'pfn'],
  steps: {
    size: {
      at: 'test: i_size_write without the unmap',
      run: (w, l) => {
        const b = mutexLock(w, inodeLock(w, l.m));
        if (b) return b;
        w.obj(ADDRESS_SPACE, l.m).size = l.newSize;
        l.index = l.newSize;
        return 'lookup';
      },
    },
    lookup: {
      at: 'test: find_get_entries',
      lockless: ['iPages.folio'],
      run: (w, l) => {
        if (l.index >= w.layout.dims.filePages) {
          mutexUnlock(w, inodeLock(w, l.m));
          return w.ret(0);
        }
        l.pfn = filemapGetEntry(w, l.m, l.index);
        if (l.pfn) return 'remove';
        l.index++;
        return 'lookup';
      },
    },
    remove: {
      at: 'test: filemap_remove_folio while mapped',
      run: (w, l) => {
        const b = mutexLock(w, folioLock(w, l.pfn));
        if (b) return b;
        if (folioInMapping(w, l.pfn, l.m)) filemapRemoveFolio(w, l.m, l.pfn);
        mutexUnlock(w, folioLock(w, l.pfn));
        return 'put';
      },
    },
    put: {
      at: 'test: folio_batch_release',
      run: (w, l) => {
        putPage(w, l.pfn);
        l.index++;
        return 'lookup';
      },
    },
  },
});
const truncateBroken = caller('ftruncate_broken', truncateNoUnmap);

function world(actors = ['t'], mms = ['a', 'b']): World {
  const w = buildWorld({ pages: 10, mmPages: PAGES, mms, actors, libraries: [LIB, RECORDER_LIB] }, (L: Layout) => {
    declareRecorder(L);
    declareFiles(L, ['memfd'], PAGES);
    L.add(OUT, actors.length);
  });
  const inode = w.obj(ADDRESS_SPACE, 0);
  inode.file = ref(FILE);
  inode.size = PAGES;
  // memory-backend-memfd,share=on: both processes mmap the memfd MAP_SHARED.
  for (const mm of [A, B]) addVma(w, mm, { start: 0, end: PAGES, flags: SHARED, fault: shmemFault, file: FILE });
  if (mms.length > CHILD) {
    w.obj(MM, CHILD).users = 0;
    w.obj(MM, CHILD).count = 0;
  }
  return w;
}

const out = (w: World, slot = 0) => w.obj(OUT, slot).value;
const cached = (w: World, index: number) => iPagesSlot(w, 0, index).folio;

describe('shmem_fault on a memfd mapped MAP_SHARED by two mms', () => {
  it('maps the page cache folio the other mm mapped: one folio, the cache reference plus one per pte', () => {
    const w = world();
    const pfn = populateShmem(w, A, 1, 0x11);
    expect(w.obj(PAGE, pfn)).toMatchObject({ refcount: 2, mapcount: 1, anon: 0, mapping: ref(0) });
    w.spawn(0, access, [0, B, 1, 0, 0]);
    runToEnd(w, 't');
    expect(out(w)).toBe(0x11);
    expect(pte(w, B, 1)).toMatchObject({ present: 1, pfn, write: 1 });
    expect(w.obj(PAGE, pfn)).toMatchObject({ refcount: 3, mapcount: 2 });
  });

  it('allocates a zeroed folio into the cache on a hole, and a write through one mm is seen by the other: no COW', () => {
    const w = world(['t', 'u']);
    w.spawn(0, access, [0, B, 2, 1, 0x77]);
    runToEnd(w, 't');
    const pfn = cached(w, 2);
    expect(pfn).not.toBe(0);
    expect(pte(w, B, 2).pfn).toBe(pfn);
    expect(w.obj(PAGE, pfn)).toMatchObject({ refcount: 2, mapcount: 1, contents: 0x77, mapping: ref(0), index: 2 });
    w.spawn(1, access, [1, A, 2, 0, 0]);
    runToEnd(w, 'u');
    expect(out(w, 1)).toBe(0x77);
    expect(pte(w, A, 2).pfn).toBe(pfn);
  });

  it('refuses a fault past i_size with SIGBUS (-EFAULT to the access)', () => {
    const w = world();
    w.obj(ADDRESS_SPACE, 0).size = 2;
    w.spawn(0, access, [0, B, 3, 0, 0]);
    runToEnd(w, 't');
    expect(out(w)).toBe(-EFAULT);
    expect(cached(w, 3)).toBe(0);
  });
});

describe('ftruncate and FALLOC_FL_PUNCH_HOLE', () => {
  it('ftruncate zaps the cut pages in both mms under MMU_NOTIFY_CLEAR on each, then frees them; the kept page stays', () => {
    const w = world();
    const pfns = [0, 1, 2, 3].map((v) => populateShmem(w, A, v, 0x20 + v));
    for (const v of [0, 2]) populateShmem(w, B, v, 0);
    attachRecorder(w, A, 0);
    attachRecorder(w, B, 1);
    w.spawn(0, truncate, [0, 0, 1]); // ftruncate(memfd, 1 page)
    runToEnd(w, 't');
    expect(out(w)).toBe(0);
    expect(w.obj(ADDRESS_SPACE, 0).size).toBe(1);
    for (const v of [1, 2, 3]) {
      expect(pte(w, A, v).present).toBe(0);
      expect(pte(w, B, v).present).toBe(0);
      expect(cached(w, v)).toBe(0);
      expect(w.obj(PAGE, pfns[v])).toMatchObject({ free: 1, mapping: 0, refcount: 0 });
    }
    expect(pte(w, A, 0).pfn).toBe(pfns[0]);
    expect(w.obj(PAGE, pfns[0])).toMatchObject({ refcount: 3, mapcount: 2 });
    const clears = recorded(w).filter((e) => e.kind === 'start');
    // The first unmap_mapping_range: a CLEAR on each mm over the cut range; then the second one.
    expect(clears.map((e) => [e.mm, e.start, e.end, e.event])).toEqual([
      [A, 1, 4, 'CLEAR'],
      [B, 1, 4, 'CLEAR'],
      [A, 1, 4, 'CLEAR'],
      [B, 1, 4, 'CLEAR'],
    ]);
    expect(MMU_NOTIFY_CLEAR).toBeGreaterThan(0);
  });

  it('a hole punch zaps and frees the hole in both mms but keeps i_size; the next fault gets a fresh zeroed folio', () => {
    const w = world(['t', 'u']);
    const old = populateShmem(w, A, 2, 0x42);
    populateShmem(w, B, 2, 0);
    w.spawn(0, punch, [0, 0, 2, 1]);
    runToEnd(w, 't');
    expect(out(w)).toBe(0);
    expect(w.obj(ADDRESS_SPACE, 0).size).toBe(PAGES);
    expect(pte(w, A, 2).present + pte(w, B, 2).present).toBe(0);
    expect(w.obj(PAGE, old).free).toBe(1);
    w.spawn(1, access, [1, B, 2, 0, 0]);
    runToEnd(w, 'u');
    expect(out(w, 1)).toBe(0);
    expect(cached(w, 2)).not.toBe(0);
  });

  it('removes a folio a fault maps behind the first unmap: truncate_cleanup_folio unmaps it under the folio lock', () => {
    const w = world(['t', 'u']);
    const pfn = populateShmem(w, A, 3, 0x33);
    w.obj(ADDRESS_SPACE, 0).size = 3; // i_size already cut, as shmem_setattr does before its unmap
    // shmem_undo_range alone (the first unmap has run): the pte mapped behind it is zapped first.
    w.spawn(0, undo, [0, 0, 3, PAGES]);
    runToEnd(w, 't');
    expect(pte(w, A, 3).present).toBe(0);
    expect(cached(w, 3)).toBe(0);
    expect(w.obj(PAGE, pfn).free).toBe(1);
    expect(fileOfMapping(w, 0)).toBe(FILE);
  });
});

describe('the existing operations on a shared file VMA', () => {
  it('MADV_DONTNEED and munmap drop the mapping but not the page cache folio; a refault maps the same folio', () => {
    const w = world(['t', 'u', 'v']);
    const pfn = populateShmem(w, A, 1, 0x51);
    populateShmem(w, B, 1, 0);
    w.spawn(0, dontneed, [0, A, 0, PAGES]);
    runToEnd(w, 't');
    w.spawn(1, munmap, [1, B, 0, PAGES]);
    runToEnd(w, 'u');
    expect(pte(w, A, 1).present + pte(w, B, 1).present).toBe(0);
    expect(w.obj(PAGE, pfn)).toMatchObject({ free: 0, refcount: 1, mapcount: 0, mapping: ref(0) });
    w.spawn(2, access, [2, A, 1, 0, 0]);
    runToEnd(w, 'v');
    expect(out(w, 2)).toBe(0x51);
    expect(pte(w, A, 1).pfn).toBe(pfn);
  });

  it('fork shares the file VMA: the child copies no pte and faults the same folio in', () => {
    const w = world(['t', 'u'], ['a', 'b', 'child']);
    const pfn = populateShmem(w, A, 0, 0x61);
    w.spawn(0, fork, [0, A, CHILD]);
    runToEnd(w, 't');
    expect(pte(w, CHILD, 0).present).toBe(0); // vma_needs_copy: a shared file VMA faults in
    w.spawn(1, access, [1, CHILD, 0, 0, 0]);
    runToEnd(w, 'u');
    expect(out(w, 1)).toBe(0x61);
    expect(pte(w, CHILD, 0).pfn).toBe(pfn);
  });
});

describe('truncate racing a fault, exhaustively', () => {
  const race = (trunc: AnyRoutine, properties = PROPERTIES) => {
    const w = world(['trunc', 'fault']);
    populateShmem(w, A, 2, 0x22);
    w.spawn(0, trunc, [0, 0, 1]);
    w.spawn(1, access, [1, B, 2, 1, 0x99]);
    return explore(w, { properties, audit: true });
  };

  it('holds for the kernel order: no pte keeps a page the file lost, none maps a freed page', () => {
    const r = race(truncate);
    expect(r.verdict).toBe('holds');
    expect(r.states).toBeGreaterThan(20);
  });

  it('two threads faulting the same hole racing an ftruncate past it: every path of the fault and of the truncation runs, and all hold', () => {
    const w = world(['trunc', 'faultA', 'faultB']);
    w.spawn(0, truncate, [0, 0, 1]);
    w.spawn(1, access, [1, A, 3, 1, 0x31]);
    w.spawn(2, access, [2, A, 3, 0, 0]); // a second thread of the same mm: finish_fault can find the pte set
    w.trackReached();
    const r = explore(w, { properties: PROPERTIES, audit: true });
    expect(r.verdict).toBe('holds');
    // -EEXIST (the other fault added first), the EOF recheck's removal, the mapping recheck's
    // retry, finish_fault's VM_FAULT_NOPAGE, truncate_cleanup_folio's unmap.
    expect(w.unreachedLabels().filter((l) => l.startsWith('shmem_fault:') || l.startsWith('shmem_undo_range:'))).toEqual([]);
  });

  it('catches a truncate that takes folios out of the cache before unmapping them', () => {
    const r = race(truncateBroken);
    expect(r.verdict).toBe('violation');
    expect(r.violation!.property).toBe('page-cache-coherence');
    expect(r.violation!.message).toMatch(/a page removed from the file is still mapped/);
    // Without it nothing notices: the pte's reference keeps the page alive, so no frame is freed
    // under a mapping and the accounting balances — the mapper just keeps a page the file lost.
    expect(
      race(
        truncateBroken,
        PROPERTIES.filter((p) => p !== pageCacheCoherence),
      ).verdict,
    ).toBe('holds');
  });
});
