/**
 * vmf_insert_pfn / vmf_insert_mixed (mm/memory.c:insert_pfn, reference §4.3): a special pte into
 * an empty slot only — no refcount, no mapcount, no notifier — nothing done over a non-empty pte,
 * and the BUG_ONs on the VMA flags.
 */
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { pte, setPte } from '../../src/kernel/pgtable.js';
import { MM, PAGE } from '../../src/kernel/structs.js';
import { VM_FAULT_NOPAGE, VM_FAULT_SIGBUS, VM_IO, VM_MIXEDMAP, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE } from '../../src/kernel/flags.js';
import { vmfInsertMixed, vmfInsertMixedRoutine, vmfInsertPfn, vmfInsertPfnProt, vmfInsertPfnRoutine } from '../../src/kernel/ops/insert.js';
import { defineStruct } from '../../src/world/layout.js';
import { isEnabled, runToEnd, type TraceStep } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { attachRecorder, declareRecorder, recorded, RECORDER_LIB } from '../helpers/recorder.js';
import { Library } from '../../src/world/registry.js';
import { KERNEL } from '../../src/kernel/library.js';
import { betweenSteps } from '../helpers/between-steps.js';
import { holdMmapRead } from '../helpers/mmap-read.js';

const LIB = new Library('test-insert', [KERNEL]);

const SRC = 0;
const DEV = 1;
const RESULT = defineStruct('testInsertResult', ['value'] as const);
const PFNMAP_SHARED = VM_PFNMAP | VM_IO | VM_SHARED | VM_READ | VM_WRITE;

/** A driver ->fault step that inserts with the plain function (mixed = 1: vmf_insert_mixed). */
const driverStep = LIB.routine({
  name: 'test_insert_driver',
  params: ['vma', 'vpn', 'pfn', 'write', 'mixed'],
  steps: {
    go: {
      at: 'test:driver fault',
      run: (w, l) => {
        const f = l.mixed ? vmfInsertMixed : vmfInsertPfn;
        w.obj(RESULT, w.actor).value = f(w, l.vma, l.vpn, l.pfn, l.write !== 0);
        return w.ret(0);
      },
    },
  },
});

function world(devFlags = PFNMAP_SHARED): { w: World; vi: number; pfn: number } {
  const w = buildWorld({ pages: 4, mmPages: 4, mms: ['source', 'dev'], actors: ['d', 'e'], libraries: [LIB, RECORDER_LIB] }, (L) => {
    declareRecorder(L);
    L.add(RESULT, 2);
  });
  addVma(w, SRC, { start: 0, end: 4 });
  const vi = addVma(w, DEV, { start: 0, end: 2, flags: devFlags });
  const pfn = populateAnon(w, SRC, 1, 7);
  attachRecorder(w, SRC, 0);
  attachRecorder(w, DEV, 1);
  // The faulting tasks hold the device mm's mmap_lock for read, as every ->fault caller does.
  holdMmapRead(w, DEV);
  return { w, vi, pfn };
}

const bugs = (t: readonly TraceStep[]) => t.flatMap((s) => s.bugs).join('\n');

const insertProt = LIB.routine({
  name: 'test_insert_prot',
  params: ['vma', 'vpn', 'pfn', 'writable'],
  steps: { go: { at: 'test', run: (w, l) => w.ret(vmfInsertPfnProt(w, l.vma, l.vpn, l.pfn, l.writable !== 0)) } },
});

describe('vmf_insert_pfn', () => {
  it('installs a special pte into an empty slot without refcount, mapcount or notifier', () => {
    const { w, vi, pfn } = world();
    w.spawn(0, driverStep, [vi, 1, pfn, 0, 0]);
    const t = runToEnd(w, 'd');
    expect(w.obj(RESULT, 0).value).toBe(VM_FAULT_NOPAGE);
    const p = pte(w, DEV, 1);
    expect([p.present, p.special, p.pfn, p.write]).toEqual([1, 1, pfn, 1]); // shared writable VMA
    expect([w.obj(PAGE, pfn).refcount, w.obj(PAGE, pfn).mapcount]).toEqual([1, 1]);
    expect(recorded(w)).toEqual([]);
    expect(bugs(t)).toBe('');
  });

  it('leaves a non-empty pte alone (no overwrite of a stale entry) and still says NOPAGE', () => {
    const { w, vi, pfn } = world();
    const other = populateAnon(w, SRC, 2, 8);
    setPte(w, DEV, 1, other, false, true);
    w.spawn(0, driverStep, [vi, 1, pfn, 0, 0]);
    runToEnd(w, 'd');
    expect(w.obj(RESULT, 0).value).toBe(VM_FAULT_NOPAGE);
    expect([pte(w, DEV, 1).pfn, pte(w, DEV, 1).write]).toEqual([other, 0]);
    expect(recorded(w)).toEqual([]);
  });

  it('mkwrite over the same pfn upgrades the pte to writable; over another pfn does nothing', () => {
    const { w, vi, pfn } = world(VM_MIXEDMAP | VM_READ | VM_WRITE);
    setPte(w, DEV, 1, pfn, false, true);
    w.spawn(0, driverStep, [vi, 1, pfn, 1, 1]);
    runToEnd(w, 'd');
    expect(pte(w, DEV, 1).write).toBe(1);
    betweenSteps(w, () => setPte(w, DEV, 0, pfn, false, true));
    w.spawn(1, driverStep, [vi, 0, pfn + 1, 1, 1]);
    runToEnd(w, 'e');
    expect([pte(w, DEV, 0).pfn, pte(w, DEV, 0).write]).toEqual([pfn, 0]);
  });

  it("vmf_insert_pfn_prot takes the writability from the caller's pgprot", () => {
    const { w, vi, pfn } = world();
    w.spawn(0, insertProt, [vi, 0, pfn, 0]);
    runToEnd(w, 'd');
    w.spawn(1, insertProt, [vi, 1, pfn, 1]);
    runToEnd(w, 'e');
    expect([pte(w, DEV, 0).special, pte(w, DEV, 0).write]).toEqual([1, 0]);
    expect([pte(w, DEV, 1).special, pte(w, DEV, 1).write]).toEqual([1, 1]);
  });

  it('is SIGBUS outside the VMA', () => {
    const { w, vi, pfn } = world();
    w.spawn(0, driverStep, [vi, 3, pfn, 0, 0]);
    runToEnd(w, 'd');
    expect(w.obj(RESULT, 0).value).toBe(VM_FAULT_SIGBUS);
    expect(pte(w, DEV, 3).present).toBe(0);
  });

  it.each([
    ['neither PFNMAP nor MIXEDMAP', VM_SHARED | VM_READ | VM_WRITE, 0, /neither VM_PFNMAP nor VM_MIXEDMAP/],
    ['both PFNMAP and MIXEDMAP', PFNMAP_SHARED | VM_MIXEDMAP, 0, /both VM_PFNMAP and VM_MIXEDMAP/],
    ['a COW PFNMAP mapping', VM_PFNMAP | VM_IO | VM_READ | VM_WRITE, 0, /COW mapping/],
    ['vmf_insert_pfn of a pfn_valid pfn into MIXEDMAP', VM_MIXEDMAP | VM_SHARED | VM_READ, 0, /pfn_valid/],
  ])('BUGs on %s', (_name, flags, mixed, msg) => {
    const { w, vi, pfn } = world(flags);
    w.spawn(0, driverStep, [vi, 0, pfn, 0, mixed]);
    expect(bugs(runToEnd(w, 'd'))).toMatch(msg);
  });
});

describe('vmf_insert_mixed', () => {
  it('on x86 (pte_special) also installs a special, unrefcounted pte; read-only in a private VMA', () => {
    const { w, vi, pfn } = world(VM_MIXEDMAP | VM_READ | VM_WRITE);
    w.spawn(0, driverStep, [vi, 0, pfn, 0, 1]);
    const t = runToEnd(w, 'd');
    const p = pte(w, DEV, 0);
    expect([p.present, p.special, p.pfn, p.write]).toEqual([1, 1, pfn, 0]);
    expect([w.obj(PAGE, pfn).refcount, w.obj(PAGE, pfn).mapcount]).toEqual([1, 1]);
    expect(bugs(t)).toBe('');
  });
});

describe('the routine forms', () => {
  it('spin while another actor holds the ptl, then insert', () => {
    const { w, vi, pfn } = world();
    w.obj(MM, DEV).ptl = 2; // actor e
    w.spawn(0, vmfInsertPfnRoutine, [vi, 1, pfn, 0]);
    expect(isEnabled(w, 0)).toBe(false);
    w.obj(MM, DEV).ptl = 0;
    runToEnd(w, 'd');
    expect(pte(w, DEV, 1).special).toBe(1);
  });

  it('vmf_insert_mixed on a VMA without VM_MIXEDMAP is SIGBUS (vm_mixed_ok), not a BUG', () => {
    const { w, vi, pfn } = world();
    w.spawn(1, vmfInsertMixedRoutine, [vi, 0, pfn, 0]);
    const t = runToEnd(w, 'e');
    expect(bugs(t)).toBe('');
    expect(pte(w, DEV, 0).present).toBe(0);
  });
});
