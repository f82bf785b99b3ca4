/**
 * fork (reference §5, R7, R8): dup_mmap / copy_page_range. COW mappings: PROTECTION_PAGE on the
 * parent, parent ptes write-protected inside the bracket, child shares the pages read-only with
 * refcount+1 and mapcount+1 and the parent's anon_vma lineage. PFNMAP special ptes are copied
 * as-is with no accounting (R7). VM_DONTCOPY / VM_WIPEONFORK honoured.
 */
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { VM_DONTCOPY, VM_DONTEXPAND, VM_IO, VM_PFNMAP, VM_READ, VM_SHARED, VM_ANON, VM_WIPEONFORK, VM_WRITE } from '../../src/kernel/flags.js';
import { pte, setPte, vma, vmaIndex } from '../../src/kernel/pgtable.js';
import { MM, PAGE, SWAP } from '../../src/kernel/structs.js';
import { dupMmap } from '../../src/kernel/ops/fork.js';
import { isEnabled, runToEnd } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { attachRecorder, changeIndex, declareRecorder, recorded, stepIndex, RECORDER_LIB } from '../helpers/recorder.js';
import { swpEntry } from '../../src/kernel/ref.js';
import { holdMmapRead } from '../helpers/mmap-read.js';

const PARENT = 0;
const CHILD = 1;
const SRC = 2;
const PFNMAP_SHARED = VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_READ | VM_WRITE | VM_SHARED;

function world(): World {
  const w = buildWorld({ pages: 6, mmPages: 6, mms: ['parent', 'child', 'src'], actors: ['fork', 'other'], mmuNotifiers: 2, libraries: [RECORDER_LIB] }, declareRecorder);
  w.obj(MM, CHILD).users = 0; // not yet born
  return w;
}

describe('fork: dup_mmap + copy_page_range', () => {
  it('COW anon VMA: PROTECTION_PAGE on the parent, both write-protected, child shares the page with +1 ref and +1 map', () => {
    const w = world();
    addVma(w, PARENT, { start: 0, end: 4 });
    const pfn = populateAnon(w, PARENT, 1, 0xa);
    attachRecorder(w, PARENT, 0);
    attachRecorder(w, CHILD, 1);
    w.spawn(0, dupMmap, [PARENT, CHILD]);
    const trace = runToEnd(w, 'fork');
    expect(trace.flatMap((s) => s.bugs)).toEqual([]);
    // Only the parent hears anything: installing into the child's empty ptes fires nothing.
    expect(recorded(w).map((e) => [e.kind, e.mm, e.event, e.start, e.end, e.pfnAtStart])).toEqual([
      ['start', PARENT, 'PROTECTION_PAGE', 0, 4, 0],
      ['end', PARENT, 'PROTECTION_PAGE', 0, 4, 0],
    ]);
    const start = stepIndex(trace, 'test_recorder_invalidate_range_start');
    const wp = changeIndex(trace, 'pte[parent@1].write', 0);
    const end = stepIndex(trace, 'test_recorder_invalidate_range_end');
    expect(start).toBeLessThan(wp);
    expect(wp).toBeLessThan(end);
    expect(pte(w, PARENT, 1)).toMatchObject({ present: 1, pfn, write: 0 });
    expect(pte(w, CHILD, 1)).toMatchObject({ present: 1, pfn, write: 0, special: 0 });
    expect(w.obj(PAGE, pfn)).toMatchObject({ refcount: 2, mapcount: 2 });
    expect(w.obj(MM, CHILD)).toMatchObject({ users: 1, anonVma: w.obj(MM, PARENT).anonVma, mmapWriter: 0 });
    expect(w.obj(MM, PARENT).mmapWriter).toBe(0);
    const c = vma(w, vmaIndex(w, CHILD, 0));
    expect([c.used, c.start, c.end, c.flags]).toEqual([1, 0, 4, vma(w, 0).flags]);
  });

  it('copies the special ptes of a shared PFNMAP VMA as-is, with no accounting and no event (R7)', () => {
    const w = world();
    addVma(w, SRC, { start: 0, end: 2 });
    const theirs = populateAnon(w, SRC, 0, 0x5);
    addVma(w, PARENT, { start: 2, end: 4, flags: PFNMAP_SHARED });
    setPte(w, PARENT, 3, theirs, true, true);
    attachRecorder(w, PARENT, 0);
    w.spawn(0, dupMmap, [PARENT, CHILD]);
    runToEnd(w, 'fork');
    expect(recorded(w)).toEqual([]); // not a COW mapping
    expect(pte(w, CHILD, 3)).toMatchObject({ present: 1, pfn: theirs, special: 1, write: 1, gen: pte(w, PARENT, 3).gen });
    expect(pte(w, PARENT, 3).write).toBe(1);
    expect(w.obj(PAGE, theirs)).toMatchObject({ refcount: 1, mapcount: 1 });
  });

  it('honours VM_DONTCOPY and VM_WIPEONFORK', () => {
    const w = world();
    addVma(w, PARENT, { start: 0, end: 2, flags: PFNMAP_SHARED | VM_DONTCOPY });
    addVma(w, PARENT, { start: 2, end: 4, flags: VM_ANON | VM_READ | VM_WRITE | VM_WIPEONFORK });
    addVma(w, SRC, { start: 0, end: 2 });
    const theirs = populateAnon(w, SRC, 0, 0x5);
    setPte(w, PARENT, 1, theirs, true, true);
    const wiped = populateAnon(w, PARENT, 3, 0x6);
    attachRecorder(w, PARENT, 0);
    w.spawn(0, dupMmap, [PARENT, CHILD]);
    runToEnd(w, 'fork');
    const child = [0, 1, 2, 3]
      .map((k) => vma(w, vmaIndex(w, CHILD, k)))
      .filter((v) => v.used)
      .map((v) => [v.start, v.end]);
    expect(child).toEqual([[2, 4]]); // the DONTCOPY VMA is not there; the WIPEONFORK one is, empty
    expect(pte(w, CHILD, 1).present).toBe(0);
    expect(pte(w, CHILD, 3).present).toBe(0);
    expect(w.obj(PAGE, wiped)).toMatchObject({ refcount: 1, mapcount: 1 });
    expect(pte(w, PARENT, 3).write).toBe(1); // no copy, no write-protect
    expect(recorded(w)).toEqual([]);
  });

  it('copies swap entries (the slot stays in use) and write-protects writable migration entries under COW', () => {
    const w = world();
    addVma(w, PARENT, { start: 0, end: 4 });
    const migrating = populateAnon(w, PARENT, 3, 0x7);
    w.obj(SWAP, 1).used = 1;
    pte(w, PARENT, 0).swap = swpEntry(1);
    Object.assign(pte(w, PARENT, 1), { migration: migrating, write: 1 });
    w.spawn(0, dupMmap, [PARENT, CHILD]);
    runToEnd(w, 'fork');
    expect(pte(w, CHILD, 0)).toMatchObject({ present: 0, swap: swpEntry(1) });
    expect(pte(w, CHILD, 1)).toMatchObject({ present: 0, migration: migrating, write: 0 });
    expect(pte(w, PARENT, 1).write).toBe(0);
  });

  it("waits for the parent's mmap_lock", () => {
    const w = world();
    addVma(w, PARENT, { start: 0, end: 2 });
    holdMmapRead(w, PARENT);
    w.spawn(0, dupMmap, [PARENT, CHILD]);
    expect(isEnabled(w, 0)).toBe(false);
  });
});
