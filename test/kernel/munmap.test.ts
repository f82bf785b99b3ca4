/**
 * munmap (reference §4.4, §5): mmap_write_lock; one UNMAP bracket over the range; ptes cleared
 * inside it; the VMAs leave at free_pgtables; pages freed in tlb_finish_mmu after end.
 */
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { pte, vma } from '../../src/kernel/pgtable.js';
import { EINVAL, VM_IO, VM_NO_SPLIT, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE } from '../../src/kernel/flags.js';
import { MM, PAGE } from '../../src/kernel/structs.js';
import { vmMunmap } from '../../src/kernel/ops/munmap.js';
import { madviseDontneed } from '../../src/kernel/ops/madvise.js';
import { defineStruct, type Layout } from '../../src/world/layout.js';
import { isEnabled, runSchedule, runToEnd, runUntil } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { attachRecorder, changeIndex, declareRecorder, recorded, stepIndex, RECORDER_LIB } from '../helpers/recorder.js';
import { Library } from '../../src/world/registry.js';
import { KERNEL } from '../../src/kernel/library.js';

const LIB = new Library('test-munmap', [KERNEL]);

const SRC = 0;
const OUT = defineStruct('testMunmapOut', ['value', 'done'] as const);

const callMunmap = LIB.routine({
  name: 'test_call_munmap',
  params: ['mm', 'start', 'end'],
  steps: {
    call: { at: 'test: munmap', run: (w, l) => w.call(vmMunmap, 'keep', l.mm, l.start, l.end) },
    keep: {
      at: 'test: keep the result',
      run: (w, l) => {
        w.obj(OUT, 0).value = l.result;
        w.obj(OUT, 0).done = 1;
        return w.ret(0);
      },
    },
  },
});

function world(actors = ['munmap'], vmasPerMm = 4): World {
  return buildWorld({ pages: 6, mmPages: 8, mms: ['src'], vmasPerMm, actors, libraries: [LIB, RECORDER_LIB] }, (L: Layout) => {
    declareRecorder(L);
    L.add(OUT, 1);
  });
}

describe('munmap', () => {
  it('unmaps a whole VMA: UNMAP bracket, pte cleared inside, VMA gone, page freed after end', () => {
    const w = world();
    addVma(w, SRC, { start: 0, end: 4 });
    const pfn = populateAnon(w, SRC, 2, 0xa);
    attachRecorder(w, SRC);
    w.spawn(0, callMunmap, [SRC, 0, 4]);
    const trace = runToEnd(w, 'munmap');
    expect(w.obj(OUT, 0)).toMatchObject({ value: 0, done: 1 });
    expect(recorded(w).map((e) => [e.kind, e.event, e.start, e.end, e.blockable])).toEqual([
      ['start', 'UNMAP', 0, 4, true],
      ['end', 'UNMAP', 0, 4, true],
    ]);
    const lock = changeIndex(trace, 'mm[src].mmapWriter', 1);
    const start = stepIndex(trace, 'test_recorder_invalidate_range_start');
    const clear = changeIndex(trace, 'pte[src@2].present', 0);
    const end = stepIndex(trace, 'test_recorder_invalidate_range_end');
    const gone = changeIndex(trace, 'vma[src#0].used', 0);
    const free = changeIndex(trace, `page[pfn${pfn}].free`, 1);
    const unlock = changeIndex(trace, 'mm[src].mmapWriter', 0);
    expect([lock, start, clear, end, gone, free, unlock]).toEqual([...[lock, start, clear, end, gone, free, unlock]].sort((x, y) => x - y));
    expect(new Set([lock, start, clear, end, gone, free, unlock]).size).toBe(7);
    expect(trace[free].where).toBe('__vm_munmap:tlbFinish');
    expect(w.obj(MM, SRC).mmapWriter).toBe(0);
    expect(trace.flatMap((s) => s.bugs)).toEqual([]);
  });

  it('splits a VMA for a partial munmap and keeps the pages outside the range', () => {
    const w = world();
    addVma(w, SRC, { start: 0, end: 6 });
    const a = populateAnon(w, SRC, 0, 0xa);
    const b = populateAnon(w, SRC, 2, 0xb);
    const c = populateAnon(w, SRC, 5, 0xc);
    attachRecorder(w, SRC);
    w.spawn(0, callMunmap, [SRC, 1, 4]);
    runToEnd(w, 'munmap');
    expect(w.obj(OUT, 0).value).toBe(0);
    expect(recorded(w).map((e) => [e.kind, e.start, e.end])).toEqual([
      ['start', 1, 4],
      ['end', 1, 4],
    ]);
    const left = vma(w, 0);
    expect([left.used, left.start, left.end]).toEqual([1, 0, 1]);
    const used = [0, 1, 2, 3]
      .map((k) => vma(w, k))
      .filter((v) => v.used)
      .map((v) => [v.start, v.end]);
    expect(used).toEqual([
      [0, 1],
      [4, 6],
    ]);
    expect(w.obj(PAGE, b).free).toBe(1);
    expect(pte(w, SRC, 0).pfn).toBe(a);
    expect(pte(w, SRC, 5).pfn).toBe(c);
  });

  it('fails with -ENOMEM, changing nothing, when the split has no VMA slot', () => {
    const w = world(['munmap'], 2);
    addVma(w, SRC, { start: 0, end: 6 });
    populateAnon(w, SRC, 2, 0xb);
    attachRecorder(w, SRC);
    w.spawn(0, callMunmap, [SRC, 1, 4]);
    runToEnd(w, 'munmap');
    expect(w.obj(OUT, 0).value).toBe(-12);
    expect(recorded(w)).toEqual([]);
    expect(pte(w, SRC, 2).present).toBe(1);
    expect([vma(w, 0).start, vma(w, 0).end, vma(w, 1).used]).toEqual([0, 6, 0]);
  });

  it("fails with -EINVAL, changing nothing, when the VMA's vm_ops->may_split refuses (mm/vma.c:__split_vma), and unmaps it whole", () => {
    const w = world();
    addVma(w, SRC, { start: 0, end: 4, flags: VM_PFNMAP | VM_IO | VM_SHARED | VM_READ | VM_WRITE | VM_NO_SPLIT });
    attachRecorder(w, SRC);
    w.spawn(0, callMunmap, [SRC, 1, 3]);
    runToEnd(w, 'munmap');
    expect(w.obj(OUT, 0).value).toBe(-EINVAL);
    expect(recorded(w)).toEqual([]);
    expect([vma(w, 0).start, vma(w, 0).end, vma(w, 1).used]).toEqual([0, 4, 0]);
    // No split needed: may_split is not asked.
    w.obj(OUT, 0).done = 0;
    w.spawn(0, callMunmap, [SRC, 0, 4]);
    runToEnd(w, 'munmap');
    expect(w.obj(OUT, 0).value).toBe(0);
    expect(vma(w, 0).used).toBe(0);
  });

  it('does nothing and fires nothing over an unmapped range', () => {
    const w = world();
    addVma(w, SRC, { start: 0, end: 2 });
    attachRecorder(w, SRC);
    w.spawn(0, callMunmap, [SRC, 4, 6]);
    runToEnd(w, 'munmap');
    expect(w.obj(OUT, 0).value).toBe(0);
    expect(recorded(w)).toEqual([]);
  });

  it('two actors: waits for a madvise that holds mmap_read_lock, then unmaps what is left', () => {
    const w = world(['munmap', 'madvise']);
    addVma(w, SRC, { start: 0, end: 4 });
    const pfn = populateAnon(w, SRC, 1, 0xa);
    attachRecorder(w, SRC);
    w.spawn(0, callMunmap, [SRC, 0, 4]);
    w.spawn(1, madviseDontneed, [SRC, 0, 4]);
    runSchedule(w, ['madvise', 'munmap']); // madvise has the read lock; munmap called __vm_munmap
    expect(isEnabled(w, 0)).toBe(false);
    runUntil(w, 'madvise', 'do_madvise:unlock');
    expect(w.obj(PAGE, pfn).free).toBe(1);
    expect(isEnabled(w, 0)).toBe(false);
    runToEnd(w, 'madvise');
    runToEnd(w, 'munmap');
    expect(recorded(w).map((e) => e.event)).toEqual(['CLEAR', 'CLEAR', 'UNMAP', 'UNMAP']);
    expect(vma(w, 0).used).toBe(0);
  });
});
