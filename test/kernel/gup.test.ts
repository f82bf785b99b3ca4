/**
 * get_user_pages_remote (mm/gup.c) and follow_pfn (mm/memory.c): GUP only returns normal pages,
 * with a reference, refuses VM_IO|VM_PFNMAP VMAs and special ptes (reference §3.3, §4.2), and
 * faults in what is missing; follow_pfn sees special ptes of PFNMAP VMAs and takes no reference.
 */
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { getPage, pageDupRmap } from '../../src/kernel/page.js';
import { pte, setPte } from '../../src/kernel/pgtable.js';
import { MM, PAGE } from '../../src/kernel/structs.js';
import { EFAULT, VM_ANON, VM_IO, VM_MIXEDMAP, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE } from '../../src/kernel/flags.js';
import { followPfn, getUserPagesRemote } from '../../src/kernel/ops/gup.js';
import { isEnabled, runToEnd, runUntil } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { attachRecorder, declareRecorder, recorded, RECORDER_LIB } from '../helpers/recorder.js';
import { holdMmapRead } from '../helpers/mmap-read.js';

const MMA = 0;
function world(): World {
  const w = buildWorld({ pages: 5, mmPages: 8, mms: ['proc', 'child'], actors: ['g', 'h'], vmasPerMm: 4, libraries: [RECORDER_LIB] }, declareRecorder);
  addVma(w, MMA, { start: 0, end: 4 });
  addVma(w, MMA, { start: 4, end: 6, flags: VM_PFNMAP | VM_IO | VM_SHARED | VM_READ | VM_WRITE });
  addVma(w, MMA, { start: 6, end: 8, flags: VM_MIXEDMAP | VM_SHARED | VM_READ | VM_WRITE });
  attachRecorder(w, MMA, 0);
  holdMmapRead(w, MMA); // the caller holds mmap_read_lock
  return w;
}

/** What get_user_pages_remote returned to actor g (the caller holds mmap_read_lock: set up above). */
const res = (w: World) => w.actorResult(0);

describe('get_user_pages_remote', () => {
  it('returns a present normal page with a reference taken', () => {
    const w = world();
    const pfn = populateAnon(w, MMA, 1, 3);
    w.spawn(0, getUserPagesRemote, [MMA, 1, 0]);
    runToEnd(w, 'g');
    expect(res(w)).toBe(pfn);
    expect(w.obj(PAGE, pfn).refcount).toBe(2);
    expect(w.obj(PAGE, pfn).mapcount).toBe(1);
  });

  it('refuses a VM_PFNMAP VMA with -EFAULT, even where a page is mapped', () => {
    const w = world();
    const pfn = populateAnon(w, MMA, 1, 3);
    setPte(w, MMA, 4, pfn, true, true);
    w.spawn(0, getUserPagesRemote, [MMA, 4, 0]);
    runToEnd(w, 'g');
    expect(res(w)).toBe(-EFAULT);
    expect(w.obj(PAGE, pfn).refcount).toBe(1);
  });

  it('refuses a special pte (vm_normal_page == NULL) in a VM_MIXEDMAP VMA with -EFAULT', () => {
    const w = world();
    const pfn = populateAnon(w, MMA, 1, 3);
    setPte(w, MMA, 6, pfn, true, true);
    w.spawn(0, getUserPagesRemote, [MMA, 6, 0]);
    runToEnd(w, 'g');
    expect(res(w)).toBe(-EFAULT);
    expect(w.obj(PAGE, pfn).refcount).toBe(1);
  });

  it('faults in a missing anon page and returns it referenced (fault ref + GUP ref)', () => {
    const w = world();
    w.spawn(0, getUserPagesRemote, [MMA, 2, 0]);
    const t = runToEnd(w, 'g');
    const pfn = pte(w, MMA, 2).pfn;
    expect(res(w)).toBe(pfn);
    expect(pfn).toBeGreaterThan(0);
    expect(w.obj(PAGE, pfn).refcount).toBe(2);
    expect(t.some((s) => s.where === 'do_anonymous_page:ptLock')).toBe(true);
    expect(recorded(w)).toEqual([]);
  });

  it('a FOLL_WRITE on a COW-shared page breaks COW first (one CLEAR bracket) and returns the copy', () => {
    const w = world();
    addVma(w, 1, { start: 0, end: 4 });
    const old = populateAnon(w, MMA, 1, 3, false);
    setPte(w, 1, 1, old, false, false);
    pageDupRmap(w, old);
    getPage(w, old);
    w.spawn(0, getUserPagesRemote, [MMA, 1, 1]);
    runToEnd(w, 'g');
    const now = pte(w, MMA, 1).pfn;
    expect(now).not.toBe(old);
    expect(res(w)).toBe(now);
    expect(w.obj(PAGE, now).refcount).toBe(2);
    expect(w.obj(PAGE, now).contents).toBe(3);
    expect(recorded(w).map((e) => `${e.kind}:${e.event}`)).toEqual(['start:CLEAR', 'end:CLEAR']);
  });

  it('refuses a write to a read-only VMA and reports calling without mmap_lock as a BUG', () => {
    const w = world();
    addVma(w, 1, { start: 0, end: 4, flags: VM_READ | VM_ANON });
    w.spawn(0, getUserPagesRemote, [1, 0, 1]);
    const t = runToEnd(w, 'g');
    expect(res(w)).toBe(-EFAULT);
    expect(t.flatMap((s) => s.bugs).join()).toMatch(/lockdep_assert_held\(mm\[\w+\]\.mmap_lock\) failed/);
  });

  it('spins while another actor holds the page-table lock', () => {
    const w = world();
    const pfn = populateAnon(w, MMA, 1, 3);
    w.obj(MM, MMA).ptl = 2; // actor h
    w.spawn(0, getUserPagesRemote, [MMA, 1, 0]);
    runUntil(w, 'g', 'get_user_pages_remote:follow');
    expect(isEnabled(w, 0)).toBe(false);
    w.obj(MM, MMA).ptl = 0;
    runToEnd(w, 'g');
    expect(res(w)).toBe(pfn);
  });
});

describe('follow_pfn', () => {
  it('returns the pfn and write bit of a special pte in a VM_PFNMAP VMA, without a reference', () => {
    const w = world();
    const pfn = populateAnon(w, MMA, 1, 3);
    setPte(w, MMA, 5, pfn, true, true);
    expect(followPfn(w, MMA, 5)).toEqual({ pfn, write: true });
    expect(followPfn(w, MMA, 4)).toEqual({ pfn: 0, write: false }); // nothing mapped
    expect(followPfn(w, MMA, 1)).toEqual({ pfn: 0, write: false }); // not VM_IO|VM_PFNMAP: -EINVAL
    expect(w.obj(PAGE, pfn).refcount).toBe(1);
  });
});
