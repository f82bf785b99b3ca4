/**
 * mm/hmm.c:hmm_vma_walk_test on a PROT_NONE VMA, through lib/test_hmm.c's dmirror
 * (examples/drivers/dmirror.ts): a VMA qualifies only with VM_READ (and not VM_IO|VM_PFNMAP); a VMA
 * mprotect(PROT_NONE) left without it is skipped — hmm_range_fault returns -EFAULT if a fault was
 * requested of any of its pages (dmirror's READ: hmm-tests.c anon_read_prot), and fills
 * HMM_PFN_ERROR if not (dmirror's SNAPSHOT: HMM_DMIRROR_PROT_ERROR, the hmm2 snapshot test's page
 * 0), then walks on into the next VMA.
 */
import { describe, expect, it } from 'vitest';
import { runAllToEnd } from '../helpers/phases.js';
import { buildScenario } from '../../src/scenario/build.js';
import type { Op } from '../../src/scenario/spec.js';
import { pte } from '../../src/kernel/pgtable.js';
import { EFAULT } from '../../src/kernel/flags.js';
import { mmIndex } from '../../src/kernel/topology.js';
import dmirrorDriver, { DMIRROR_CMD, HMM_DMIRROR_PROT_ERROR, HMM_DMIRROR_PROT_WRITE } from '../../examples/drivers/dmirror.js';

/** Runs one actor's `ops` over 3 source pages with dmirror to the end: the last ioctl's outputs, and the world. */
function run(ops: Op[]) {
  const { world: w } = buildScenario({ name: 'hmm-vma-walk-test', description: '', pages: 3, actors: [{ name: 'test', ops }] }, dmirrorDriver);
  expect(runAllToEnd(w).violation).toBeUndefined();
  const c = w.obj(DMIRROR_CMD, 0);
  return { w, ret: c.ret, cpages: c.cpages, faults: c.faults, snap: [c.snap0, c.snap1, c.snap2] };
}

const none = (page: number, pages = 1): Op => ({ op: 'mprotect-none', mm: 'source', page, pages });

describe('hmm_vma_walk_test: a VMA without VM_READ', () => {
  it('a fault requested of it: hmm_range_fault returns -EFAULT, nothing is faulted, copied or mapped by the device', () => {
    const r = run([none(0, 3), { op: 'device', call: 'read', page: 0 }]);
    expect(r.ret).toBe(-EFAULT);
    expect([r.cpages, r.faults]).toEqual([0, 0]);
    const src = mmIndex(r.w, 'source');
    for (const vpn of [0, 1, 2]) expect(pte(r.w, src, vpn)).toMatchObject({ present: 1, protnone: 1 });
  });

  it('no fault requested: its pages are HMM_PFN_ERROR (snapshot bytes PROT_ERROR), and the walk goes on into the next VMA', () => {
    // (A scenario's mm has two VMA slots: the PROT_NONE part is the first page, the rest stays one VMA.)
    const r = run([none(0), { op: 'device', call: 'snapshot', page: 0 }]);
    expect(r.ret).toBe(0);
    expect(r.snap).toEqual([HMM_DMIRROR_PROT_ERROR, HMM_DMIRROR_PROT_WRITE, HMM_DMIRROR_PROT_WRITE]);
  });

  it('a fault requested of a range that reaches into it fails as a whole, though the pages before it were readable', () => {
    const r = run([none(2), { op: 'device', call: 'read', page: 0 }]);
    expect(r.ret).toBe(-EFAULT);
    expect(r.cpages).toBe(0);
  });

  it('the same VMA qualifies again after mprotect(PROT_READ): the READ succeeds in one fault round', () => {
    const r = run([none(0, 3), { op: 'mprotect-readonly', mm: 'source', page: 0, pages: 3 }, { op: 'device', call: 'read', page: 0 }]);
    expect(r.ret).toBe(0);
    expect([r.cpages, r.faults]).toEqual([3, 1]);
  });
});
