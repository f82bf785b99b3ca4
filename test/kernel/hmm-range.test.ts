/**
 * hmm_range_fault over a struct hmm_range (mm/hmm.c, v6.x): the walk over [start, end), per-page
 * requests `(hmm_pfns[i] & pfn_flags_mask) | default_flags` (hmm_pte_need_fault), the snapshot
 * without faulting, the errors (hmm_vma_walk_hole, hmm_vma_walk_test, hmm_vma_fault) and the
 * restart after a fault (hmm_range_fault's do/while with mmu_interval_check_retry).
 */
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { pte } from '../../src/kernel/pgtable.js';
import { MIN, PAGE } from '../../src/kernel/structs.js';
import { EBUSY, EFAULT, EPERM, VM_ANON, VM_IO, VM_PFNMAP, VM_READ } from '../../src/kernel/flags.js';
import { downRead, mmapLock, upRead } from '../../src/kernel/locks.js';
import { intervalNotifierInsert, mmuIntervalReadBegin, mmuIntervalSetSeq } from '../../src/kernel/notifier/interval.js';
import { betweenSteps } from '../helpers/between-steps.js';
import { hmmRangeDone, hmmRangeFault, hmmRangeFaultCall, hmmRangeInit, hmmRangeOf, hmmRangePfn, hmmRangeSetPfn, hmmRangeSetSeq } from '../../src/kernel/hmm/hmm.js';
import { HMM_PFN_ERROR, HMM_PFN_REQ_FAULT, HMM_PFN_REQ_WRITE, hmmPfnEncode, hmmPfnToPfn, hmmPfnValid, hmmPfnWritable } from '../../src/kernel/hmm/hmm-pfn.js';
import { HMM_RANGE_NOW, HMM_RANGE_PAGES } from '../../src/kernel/hmm/hmm-range.js';
import { MAX_PAGES } from '../../src/scenario/bounds.js';
import { defineStruct } from '../../src/world/layout.js';
import { runToEnd, runUntil } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { Library } from '../../src/world/registry.js';
import { KERNEL } from '../../src/kernel/library.js';

const LIB = new Library('test-hmm-range', [KERNEL]);
const SRC = 0;
const SUB = 0;
/** What the driver saw: hmm_range_fault's return, hmm_pfns[0..3] after it. */
const OUT = defineStruct('testHmmRangeOut', ['ret', 'pfn0', 'pfn1', 'pfn2', 'pfn3'] as const);

/** ops->invalidate: only the sequence (these tests run no invalidation through it; the interval tree needs one). */
const invalidate = LIB.routine({
  name: 'test_hmm_range_invalidate',
  params: ['sub', 'start', 'end', 'event', 'blockable', 'curSeq'],
  steps: {
    go: {
      at: 'test:invalidate',
      run: (w, l) => {
        mmuIntervalSetSeq(w, l.sub, l.curSeq);
        return w.ret(1);
      },
    },
  },
});

/** mmap_read_lock(source), then `call` (hmm_range_fault in one of its forms), `l.result` being read_begin's sequence. */
function lockThen(call: (w: World, l: { result: number } & Record<string, number>, seq: number) => number) {
  return {
    at: 'test:mmap_read_lock',
    run: (w: World, l: { result: number } & Record<string, number>) => {
      const b = downRead(w, mmapLock(w, SRC));
      if (b) return b;
      const seq = l.result;
      l.result = 0;
      return call(w, l, seq);
    },
  };
}

/** The range a test sets up before spawning the driver: [start, end), default_flags, mask, per-page requests. */
interface RangeSpec {
  start: number;
  end: number;
  defaultFlags: number;
  mask?: number;
  requests?: Record<number, number>;
}

/** lib/test_hmm.c:dmirror_range_fault's first half: read_begin; mmap_read_lock; hmm_range_fault(range); unlock. */
const driver = LIB.routine({
  name: 'test_hmm_range_driver',
  params: ['start', 'end', 'defaultFlags', 'mask'],
  steps: {
    begin: { at: 'test', run: (w) => w.call(mmuIntervalReadBegin, 'lock', SUB) },
    lock: lockThen((w, _l, seq) => {
      hmmRangeSetSeq(w, hmmRangeOf(w), seq);
      return hmmRangeFaultCall(w, 'unlock', hmmRangeOf(w));
    }),
    unlock: {
      at: 'test:mmap_read_unlock',
      run: (w, l) => {
        upRead(w, mmapLock(w, SRC));
        const o = w.obj(OUT, 0);
        o.ret = l.result;
        for (let v = l.start; v < l.end; v++) o[`pfn${v - l.start}` as 'pfn0'] = hmmRangePfn(w, hmmRangeOf(w), v);
        hmmRangeDone(w, hmmRangeOf(w));
        return w.ret(0);
      },
    },
  },
});

/** The seed designs' call: the one-page form, a read fault. */
const pageDriver = LIB.routine({
  name: 'test_hmm_page_driver',
  params: ['vpn'],
  steps: {
    begin: { at: 'test', run: (w) => w.call(mmuIntervalReadBegin, 'lock', SUB) },
    lock: lockThen((w, l, seq) => w.call(hmmRangeFault, 'unlock', SUB, l.vpn, seq, 0)),
    unlock: {
      at: 'test:mmap_read_unlock',
      run: (w, l) => {
        upRead(w, mmapLock(w, SRC));
        w.obj(OUT, 0).ret = l.result;
        return w.ret(0);
      },
    },
  },
});

/**
 * The source: [0, 3) anonymous read-write with page 1 present read-only (`ro`) and 2 present
 * writable (`rw`), page 0 pte_none; [3, 4) VM_PFNMAP | VM_IO; 4 a hole with no VMA; [5, 6) anonymous
 * read-only. One interval notifier over it all.
 */
function world(): { w: World; ro: number; rw: number } {
  const w = buildWorld({ pages: 8, mmPages: 6, mms: ['source'], actors: ['drv', 'cpu'], libraries: [LIB] }, (L) => L.add(OUT, 1));
  addVma(w, SRC, { start: 0, end: 3 });
  addVma(w, SRC, { start: 3, end: 4, flags: VM_PFNMAP | VM_IO | VM_READ });
  addVma(w, SRC, { start: 5, end: 6, flags: VM_ANON | VM_READ });
  const ro = populateAnon(w, SRC, 1, 10, false);
  const rw = populateAnon(w, SRC, 2, 20, true);
  intervalNotifierInsert(w, SUB, SRC, 0, 6, invalidate, 0);
  return { w, ro, rw };
}

function run(w: World, r: RangeSpec) {
  const range = 0; // the drv actor's own
  hmmRangeInit(w, range, SUB, r.start, r.end, r.defaultFlags, r.mask ?? 0);
  for (const [v, req] of Object.entries(r.requests ?? {})) hmmRangeSetPfn(w, range, Number(v), req);
  w.spawn(0, driver, [r.start, r.end, r.defaultFlags, r.mask ?? 0]);
  const trace = runToEnd(w, 'drv');
  const o = w.obj(OUT, 0);
  return { ret: o.ret, pfns: [o.pfn0, o.pfn1, o.pfn2, o.pfn3].slice(0, r.end - r.start), trace };
}

const FAULT = HMM_PFN_REQ_FAULT;
const WRITE = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE;

describe('hmm_range_fault(range)', () => {
  it('holds an hmm_pfns entry for every page of the largest scenario', () => {
    expect(HMM_RANGE_PAGES).toBeGreaterThanOrEqual(MAX_PAGES);
  });

  it('snapshots without faulting: pte_none 0, a present pte VALID (+WRITE), VM_PFNMAP ERROR (hmm_vma_handle_pte, hmm_vma_walk_test)', () => {
    const { w, ro, rw } = world();
    const r = run(w, { start: 0, end: 4, defaultFlags: 0 });
    expect(r.ret).toBe(0);
    expect(r.pfns).toEqual([0, hmmPfnEncode(ro, false), hmmPfnEncode(rw, true), HMM_PFN_ERROR]);
    expect(pte(w, SRC, 0).present).toBe(0); // nothing faulted
    expect(w.obj(PAGE, ro).refcount).toBe(1); // no reference taken
  });

  it('snapshots a hole without a VMA as ERROR (hmm_vma_walk_hole, walk->vma == NULL) and walks on into the next VMA', () => {
    const { w } = world();
    const r = run(w, { start: 3, end: 6, defaultFlags: 0 });
    expect(r.ret).toBe(0);
    expect(r.pfns).toEqual([HMM_PFN_ERROR, HMM_PFN_ERROR, 0]);
  });

  it('faults every missing page of a multi-page range, restarting the walk (and the sequence check) after each fault', () => {
    const { w, ro, rw } = world();
    const r = run(w, { start: 0, end: 3, defaultFlags: FAULT });
    expect(r.ret).toBe(0);
    const p0 = pte(w, SRC, 0).pfn;
    expect(p0).toBeGreaterThan(0);
    expect(r.pfns).toEqual([hmmPfnEncode(p0, true), hmmPfnEncode(ro, false), hmmPfnEncode(rw, true)]);
    // hmm_vma_fault faults from page 0 to the end of the walk in the VMA, then -EBUSY: check again.
    expect(r.trace.filter((s) => s.where === 'hmm_range_fault:check')).toHaveLength(2);
  });

  it('a write request upgrades a read-only present page (its COW break moves the sequence: -EBUSY for the caller to retry)', () => {
    const { w, ro } = world();
    const r = run(w, { start: 1, end: 2, defaultFlags: WRITE });
    expect(pte(w, SRC, 1).write).toBe(1);
    // The page was not shared: the write fault reuses it in place, with no invalidation.
    expect(pte(w, SRC, 1).pfn).toBe(ro);
    expect(r.ret).toBe(0);
    expect(r.pfns).toEqual([hmmPfnEncode(ro, true)]);
  });

  it('pfn_flags_mask lets each hmm_pfns entry ask on its own: only the page whose entry says REQ_FAULT is faulted', () => {
    const { w } = world();
    const r = run(w, { start: 0, end: 4, defaultFlags: 0, mask: WRITE, requests: { 0: 0, 3: 0 } });
    expect(pte(w, SRC, 0).present).toBe(0);
    expect(r.pfns[0]).toBe(0);
    const { w: w2 } = world();
    const r2 = run(w2, { start: 0, end: 3, defaultFlags: 0, mask: WRITE, requests: { 0: FAULT } });
    expect(r2.ret).toBe(0);
    expect(hmmPfnToPfn(r2.pfns[0])).toBe(pte(w2, SRC, 0).pfn);
    expect(hmmPfnValid(r2.pfns[0])).toBe(true);
    // Without the mask the same per-page request is ignored (hmm_pte_need_fault: pfn_req_flags &= mask).
    const { w: w3 } = world();
    const r3 = run(w3, { start: 0, end: 1, defaultFlags: 0, mask: 0, requests: { 0: FAULT } });
    expect(r3.pfns).toEqual([0]);
    expect(pte(w3, SRC, 0).present).toBe(0);
  });

  it('fails with -EFAULT when a fault is asked of a VM_PFNMAP VMA or a hole, and -EPERM for a write fault on a VMA without VM_WRITE', () => {
    expect(run(world().w, { start: 2, end: 4, defaultFlags: FAULT }).ret).toBe(-EFAULT);
    expect(run(world().w, { start: 4, end: 5, defaultFlags: FAULT }).ret).toBe(-EFAULT);
    const { w } = world();
    expect(run(w, { start: 5, end: 6, defaultFlags: WRITE }).ret).toBe(-EPERM);
    expect(pte(w, SRC, 5).present).toBe(0);
    // A read fault on the same read-only VMA is allowed.
    const { w: w2 } = world();
    const r = run(w2, { start: 5, end: 6, defaultFlags: FAULT });
    expect(r.ret).toBe(0);
    expect(hmmPfnWritable(r.pfns[0])).toBe(false);
  });

  it('returns -EBUSY when an invalidation moved the sequence after read_begin, before the walk (mmu_interval_check_retry)', () => {
    const { w } = world();
    hmmRangeInit(w, 0, SUB, 0, 3, 0);
    w.spawn(0, driver, [0, 3, 0, 0]);
    runUntil(w, 'drv', 'test_hmm_range_driver:lock'); // read_begin returned the sequence
    betweenSteps(w, () => mmuIntervalSetSeq(w, SUB, w.obj(MIN, SUB).seq + 2)); // an invalidation's callback ran meanwhile
    runToEnd(w, 'drv');
    expect(w.obj(OUT, 0).ret).toBe(-EBUSY);
  });

  it("the one-page form returns hmm_pfns[0] itself and leaves the caller's range object alone", () => {
    const { w, ro } = world();
    w.spawn(0, pageDriver, [1]);
    runToEnd(w, 'drv');
    expect(w.obj(OUT, 0).ret).toBe(hmmPfnEncode(ro, false));
    expect(HMM_RANGE_NOW.fields.map((f) => w.obj(HMM_RANGE_NOW, 0)[f])).toEqual(HMM_RANGE_NOW.fields.map(() => 0));
  });
});
