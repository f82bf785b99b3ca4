/**
 * The current hmm_range_fault (mm/hmm.c, reference §2.3): -EBUSY once an overlapping invalidation
 * moved the subscription's sequence, faults in what is missing, refuses PFNMAP, takes no page
 * reference, and must run under the notifier mm's mmap_lock.
 */
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { getPage, pageDupRmap } from '../../src/kernel/page.js';
import { pte, setPte } from '../../src/kernel/pgtable.js';
import { MIN, MM, PAGE } from '../../src/kernel/structs.js';
import { EBUSY, EFAULT, EPERM, VM_ANON, VM_IO, VM_PFNMAP, VM_READ } from '../../src/kernel/flags.js';
import { downRead, mmapLock, upRead } from '../../src/kernel/locks.js';
import { intervalNotifierInsert, mmuIntervalReadBegin, mmuIntervalSetSeq } from '../../src/kernel/notifier/interval.js';
import { cpuAccess } from '../../src/kernel/ops/access.js';
import { hmmRangeFault } from '../../src/kernel/hmm/hmm.js';
import { hmmPfnEncode, hmmPfnToPfn, hmmPfnWritable } from '../../src/kernel/hmm/hmm-pfn.js';
import { defineStruct } from '../../src/world/layout.js';
import { runSchedule, runToEnd, runUntil } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { Library } from '../../src/world/registry.js';
import { KERNEL } from '../../src/kernel/library.js';

const LIB = new Library('test-hmm', [KERNEL]);

const SRC = 0;
const CHILD = 1;
const SUB = 0;
const RESULT = defineStruct('testHmmResult', ['value', 'invalidations'] as const);

/** ops->invalidate of a correct driver (no driver lock needed here): set the sequence. */
const invalidate = LIB.routine({
  name: 'test_hmm_invalidate',
  params: ['sub', 'start', 'end', 'event', 'blockable', 'curSeq'],
  steps: {
    go: {
      at: 'test:invalidate',
      run: (w, l) => {
        mmuIntervalSetSeq(w, l.sub, l.curSeq);
        const r = w.obj(RESULT, 0);
        r.invalidations = r.invalidations + 1;
        return w.ret(1);
      },
    },
  },
});

/** The documented pattern's first half: read_begin; mmap_read_lock; hmm_range_fault; unlock. */
const driver = LIB.routine({
  name: 'test_hmm_driver',
  params: ['vpn', 'write'],
  locals: ['seq'],
  steps: {
    begin: { at: 'test', run: (w) => w.call(mmuIntervalReadBegin, 'lock', SUB) },
    lock: {
      at: 'test:mmap_read_lock',
      run: (w, l) => {
        const b = downRead(w, mmapLock(w, SRC));
        if (b) return b;
        l.seq = l.result;
        l.result = 0;
        return 'fault';
      },
    },
    fault: { at: 'test', run: (w, l) => w.call(hmmRangeFault, 'unlock', SUB, l.vpn, l.seq, l.write) },
    unlock: {
      at: 'test:mmap_read_unlock',
      run: (w, l) => {
        upRead(w, mmapLock(w, SRC));
        w.obj(RESULT, w.actor + 1).value = l.result;
        return w.ret(0);
      },
    },
  },
});

const cpuWrite = LIB.routine({
  name: 'test_hmm_cpu_write',
  params: ['vpn', 'value'],
  steps: {
    go: { at: 'test', run: (w, l) => w.call(cpuAccess, 'done', SRC, l.vpn, 1, l.value) },
    done: { at: 'test', run: (w) => w.ret(0) },
  },
});

/** Source: page `old` at vpn 1 shared COW with a fork child; vpn 2 empty; vpn 3 a PFNMAP VMA; vpn 4 read-only anon. Sub over all. */
function world(): { w: World; old: number } {
  const w = buildWorld({ pages: 5, mmPages: 5, mms: ['source', 'child'], actors: ['drv', 'cpu'], libraries: [LIB] }, (L) => L.add(RESULT, 3));
  addVma(w, SRC, { start: 0, end: 3 });
  addVma(w, SRC, { start: 3, end: 4, flags: VM_PFNMAP | VM_IO | VM_READ });
  addVma(w, SRC, { start: 4, end: 5, flags: VM_ANON | VM_READ });
  addVma(w, CHILD, { start: 0, end: 3 });
  w.obj(MM, CHILD).anonVma = w.obj(MM, SRC).anonVma;
  const old = populateAnon(w, SRC, 1, 10, false);
  setPte(w, CHILD, 1, old, false, false);
  pageDupRmap(w, old);
  getPage(w, old);
  intervalNotifierInsert(w, SUB, SRC, 0, 5, invalidate, 0);
  return { w, old };
}

const result = (w: World) => w.obj(RESULT, 1).value;

describe('hmm_range_fault (current API)', () => {
  it('returns the encoded pfn of a present page and takes no reference', () => {
    const { w, old } = world();
    w.spawn(0, driver, [1, 0]);
    runToEnd(w, 'drv');
    expect(result(w)).toBe(hmmPfnEncode(old, false));
    expect(w.obj(PAGE, old).refcount).toBe(2);
  });

  it('faults in a missing page (no notifier: the slot was empty)', () => {
    const { w } = world();
    w.spawn(0, driver, [2, 1]);
    const t = runToEnd(w, 'drv');
    const pfn = pte(w, SRC, 2).pfn;
    expect(pfn).toBeGreaterThan(0);
    expect(hmmPfnToPfn(result(w))).toBe(pfn);
    expect(hmmPfnWritable(result(w))).toBe(true);
    expect(w.obj(PAGE, pfn).refcount).toBe(1);
    expect(w.obj(RESULT, 0).invalidations).toBe(0);
    expect(t.some((s) => s.where === 'do_anonymous_page:ptLock')).toBe(true);
  });

  it('returns -EBUSY after an overlapping invalidation changed the sequence since read_begin', () => {
    const { w } = world();
    w.spawn(0, driver, [1, 0]);
    runUntil(w, 'drv', 'test_hmm_driver:lock'); // read_begin done
    w.spawn(1, cpuWrite, [1, 7]); // COW break on vpn 1: start/end on the source
    runToEnd(w, 'cpu');
    expect(w.obj(RESULT, 0).invalidations).toBe(1);
    runToEnd(w, 'drv');
    expect(result(w)).toBe(-EBUSY);
  });

  it('a write request on a COW-shared page faults (COW) and loops to the check: -EBUSY from its own invalidation', () => {
    const { w, old } = world();
    w.spawn(0, driver, [1, 1]);
    runToEnd(w, 'drv');
    // The COW break it triggered invalidated the range itself; the caller must begin again.
    expect(result(w)).toBe(-EBUSY);
    expect(pte(w, SRC, 1).pfn).not.toBe(old);
    w.spawn(0, driver, [1, 1]);
    runToEnd(w, 'drv');
    expect(result(w)).toBe(hmmPfnEncode(pte(w, SRC, 1).pfn, true));
  });

  it('refuses VM_PFNMAP (-EFAULT) and a write request on a read-only VMA (-EPERM)', () => {
    const { w } = world();
    w.spawn(0, driver, [3, 0]);
    runToEnd(w, 'drv');
    expect(result(w)).toBe(-EFAULT);
    w.spawn(0, driver, [4, 1]);
    runToEnd(w, 'drv');
    expect(result(w)).toBe(-EPERM);
    expect(pte(w, SRC, 4).present).toBe(0);
  });

  it('without the mmap_lock of the notifier mm it is a BUG', () => {
    const { w } = world();
    w.spawn(1, hmmRangeFault, [SUB, 1, w.obj(MIN, SUB).seq, 0]);
    expect(runSchedule(w, ['cpu'])[0].bugs.join()).toMatch(/lockdep_assert_held\(mm\[\w+\]\.mmap_lock\) failed/);
    // Going on, the walk reads the VMA without the lock: the lock discipline refuses the step.
    expect(() => runToEnd(w, 'cpu')).toThrow(/hmm_range_fault:walk reads vma\[\w+#0\]\.used \(protected by mm\.mmap_lock\) without holding mm\.mmap_lock/);
  });
});
