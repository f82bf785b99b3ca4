/**
 * mprotect to read-only (reference §5): mmap_write_lock; PROTECTION_VMA bracket per VMA on its
 * mm; every present pte (normal or special) loses write strictly inside it; no page is freed;
 * the VMA loses VM_WRITE; partial ranges split the VMA.
 */
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { PROT_READ, PROT_WRITE, VM_ANON, VM_DONTEXPAND, VM_IO, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE } from '../../src/kernel/flags.js';
import { pte, setPte, vma } from '../../src/kernel/pgtable.js';
import { MM, PAGE } from '../../src/kernel/structs.js';
import { doMprotectPkey } from '../../src/kernel/ops/mprotect.js';
import { runToEnd } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { attachRecorder, changeIndex, declareRecorder, recorded, stepIndex, RECORDER_LIB } from '../helpers/recorder.js';

const SRC = 0;
const OTHER = 1;

function world(): World {
  return buildWorld({ pages: 6, mmPages: 8, mms: ['src', 'other'], actors: ['mprotect'], libraries: [RECORDER_LIB] }, declareRecorder);
}

describe('mprotect(PROT_READ)', () => {
  it('write-protects present ptes strictly between start and end of PROTECTION_VMA, page still mapped', () => {
    const w = world();
    addVma(w, SRC, { start: 0, end: 4 });
    const pfn = populateAnon(w, SRC, 0, 0xa);
    attachRecorder(w, SRC);
    w.spawn(0, doMprotectPkey, [SRC, 0, 4, PROT_READ]);
    const trace = runToEnd(w, 'mprotect');
    expect(recorded(w).map((e) => [e.kind, e.event, e.start, e.end, e.blockable, e.pfnAtStart])).toEqual([
      ['start', 'PROTECTION_VMA', 0, 4, true, pfn],
      ['end', 'PROTECTION_VMA', 0, 4, true, pfn],
    ]);
    const start = stepIndex(trace, 'test_recorder_invalidate_range_start');
    const wp = changeIndex(trace, 'pte[src@0].write', 0);
    const end = stepIndex(trace, 'test_recorder_invalidate_range_end');
    expect(start).toBeLessThan(wp);
    expect(wp).toBeLessThan(end);
    expect(pte(w, SRC, 0)).toMatchObject({ present: 1, pfn, write: 0 });
    expect(w.obj(PAGE, pfn)).toMatchObject({ refcount: 1, mapcount: 1, free: 0 });
    expect(vma(w, 0).flags).toBe(VM_ANON | VM_READ);
    expect(w.obj(MM, SRC).mmapWriter).toBe(0);
  });

  it('write-protects special ptes too', () => {
    const w = world();
    addVma(w, OTHER, { start: 0, end: 2 });
    const theirs = populateAnon(w, OTHER, 1, 0x5);
    addVma(w, SRC, { start: 0, end: 2, flags: VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_READ | VM_WRITE | VM_SHARED });
    setPte(w, SRC, 1, theirs, true, true);
    w.spawn(0, doMprotectPkey, [SRC, 0, 2, PROT_READ]);
    runToEnd(w, 'mprotect');
    expect(pte(w, SRC, 1)).toMatchObject({ present: 1, special: 1, write: 0 });
    expect(w.obj(PAGE, theirs)).toMatchObject({ refcount: 1, mapcount: 1 });
  });

  it('fires nothing for a VMA that is already read-only', () => {
    const w = world();
    addVma(w, SRC, { start: 0, end: 4, flags: VM_ANON | VM_READ });
    populateAnon(w, SRC, 0, 0xa, false);
    attachRecorder(w, SRC);
    w.spawn(0, doMprotectPkey, [SRC, 0, 4, PROT_READ]);
    runToEnd(w, 'mprotect');
    expect(recorded(w)).toEqual([]);
  });

  it('splits for a partial range and leaves the rest writable', () => {
    const w = world();
    addVma(w, SRC, { start: 0, end: 6 });
    populateAnon(w, SRC, 0, 0xa);
    populateAnon(w, SRC, 2, 0xb);
    attachRecorder(w, SRC);
    w.spawn(0, doMprotectPkey, [SRC, 2, 4, PROT_READ]);
    runToEnd(w, 'mprotect');
    expect(
      recorded(w)
        .filter((e) => e.kind === 'start')
        .map((e) => [e.start, e.end]),
    ).toEqual([[2, 4]]);
    expect(pte(w, SRC, 0).write).toBe(1);
    expect(pte(w, SRC, 2).write).toBe(0);
    const vmas = [0, 1, 2, 3]
      .map((k) => vma(w, k))
      .filter((v) => v.used)
      .map((v) => [v.start, v.end, (v.flags & VM_WRITE) !== 0]);
    expect(vmas).toEqual([
      [0, 2, true],
      [2, 4, false],
      [4, 6, true],
    ]);
  });
});

describe('mprotect(PROT_READ|PROT_WRITE)', () => {
  it('gives VM_WRITE back inside a PROTECTION_VMA bracket and leaves the ptes read-only for the write fault', () => {
    const w = world();
    addVma(w, SRC, { start: 0, end: 4 });
    const pfn = populateAnon(w, SRC, 0, 0xa);
    attachRecorder(w, SRC);
    w.spawn(0, doMprotectPkey, [SRC, 0, 4, PROT_READ]);
    runToEnd(w, 'mprotect');
    w.spawn(0, doMprotectPkey, [SRC, 0, 4, PROT_READ | PROT_WRITE]);
    const trace = runToEnd(w, 'mprotect');
    expect(
      recorded(w)
        .slice(2)
        .map((e) => [e.kind, e.event, e.start, e.end]),
    ).toEqual([
      ['start', 'PROTECTION_VMA', 0, 4],
      ['end', 'PROTECTION_VMA', 0, 4],
    ]);
    expect(trace.some((t) => t.changes.some((c) => c.what === 'pte[src@0].write'))).toBe(false);
    expect(pte(w, SRC, 0)).toMatchObject({ present: 1, pfn, write: 0 });
    expect(vma(w, 0).flags).toBe(VM_ANON | VM_READ | VM_WRITE);
    expect(w.obj(MM, SRC).mmapWriter).toBe(0);
  });

  it('fires nothing for a VMA that is already writable', () => {
    const w = world();
    addVma(w, SRC, { start: 0, end: 4 });
    populateAnon(w, SRC, 0, 0xa);
    attachRecorder(w, SRC);
    w.spawn(0, doMprotectPkey, [SRC, 0, 4, PROT_READ | PROT_WRITE]);
    runToEnd(w, 'mprotect');
    expect(recorded(w)).toEqual([]);
    expect(vma(w, 0).flags).toBe(VM_ANON | VM_READ | VM_WRITE);
  });
});
