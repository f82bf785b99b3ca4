/**
 * The OOM reaper (reference §1.4, §4.5, R11): mmap_read_trylock; per anonymous/private VMA a
 * NON-blockable UNMAP bracket; a start that fails with -EAGAIN skips the VMA and calls no end;
 * VM_PFNMAP / VM_HUGETLB / shared file VMAs are skipped; a callback that sleeps is a BUG.
 */
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { VM_DONTEXPAND, VM_HUGETLB, VM_IO, VM_PFNMAP, VM_READ, VM_SHARED, VM_WRITE, EAGAIN } from '../../src/kernel/flags.js';
import { driverMutex, mutexLock, mutexUnlock } from '../../src/kernel/locks.js';
import { intervalNotifierInsert } from '../../src/kernel/notifier/interval.js';
import { mmuNotifierRegister } from '../../src/kernel/notifier/mmu-notifier.js';
import { allocPage, getPage, pageDupRmap } from '../../src/kernel/page.js';
import { pte, setPte } from '../../src/kernel/pgtable.js';
import { LOCK, MM, PAGE } from '../../src/kernel/structs.js';
import { oomReapTaskMm } from '../../src/kernel/ops/oom.js';
import { vmMunmap } from '../../src/kernel/ops/munmap.js';
import { defineStruct, type Layout } from '../../src/world/layout.js';
import { isEnabled, runSchedule, runToEnd, runUntil } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { attachRecorder, changeIndex, declareRecorder, recorded, stepIndex, RECORDER_LIB } from '../helpers/recorder.js';
import { Library } from '../../src/world/registry.js';
import { KERNEL } from '../../src/kernel/library.js';

const LIB = new Library('test-oom', [KERNEL]);

const VICTIM = 0;
const OTHER = 1;
const OUT = defineStruct('testOomOut', ['value', 'done'] as const);

const callReaper = LIB.routine({
  name: 'test_call_oom_reaper',
  params: ['mm'],
  steps: {
    call: { at: 'test: oom_reap_task', run: (w, l) => w.call(oomReapTaskMm, 'keep', l.mm) },
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

/** An interval notifier that, like a correct driver, refuses to sleep when non-blockable. */
const refuseNonblock = LIB.routine({
  name: 'test_oom_itree_refuse_nonblock',
  params: ['sub', 'start', 'end', 'event', 'blockable', 'curSeq'],
  steps: { run: { at: 'test: ops->invalidate', run: (w, l) => w.ret(l.blockable ? 1 : 0) } },
});

/** A classic notifier whose start returns -EAGAIN when non-blockable (so it has no end). */
const eagainStart = LIB.routine({
  name: 'test_oom_eagain_start',
  params: ['mn', 'mm', 'start', 'end', 'event', 'blockable'],
  steps: { run: { at: 'test: ops->invalidate_range_start', run: (w, l) => w.ret(l.blockable ? 0 : -EAGAIN) } },
});

/** A buggy classic notifier: mutex_lock in start whatever the blockability. */
const sleepyStart = LIB.routine({
  name: 'test_oom_sleepy_start',
  params: ['mn', 'mm', 'start', 'end', 'event', 'blockable'],
  steps: {
    lock: { at: 'test: mutex_lock(&drv->lock)', run: (w) => mutexLock(w, driverMutex(w, 0)) || 'unlock' },
    unlock: {
      at: 'test: mutex_unlock(&drv->lock)',
      run: (w) => {
        mutexUnlock(w, driverMutex(w, 0));
        return w.ret(0);
      },
    },
  },
});

function world(actors = ['reaper']): World {
  return buildWorld({ pages: 8, mmPages: 8, mms: ['victim', 'other'], actors, locks: ['drv'], mmuNotifiers: 2, libraries: [LIB, RECORDER_LIB] }, (L: Layout) => {
    declareRecorder(L);
    L.add(OUT, 1);
  });
}

const starts = (trace: { where: string }[], name: string) => trace.filter((s) => s.where === name).length;

describe('OOM reaper', () => {
  it('reaps anonymous VMAs under non-blockable UNMAP and skips PFNMAP, HUGETLB and shared file VMAs', () => {
    const w = world();
    addVma(w, VICTIM, { start: 0, end: 2 });
    const anon = populateAnon(w, VICTIM, 1, 0xa);
    addVma(w, VICTIM, { start: 2, end: 4, flags: VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_READ | VM_SHARED });
    addVma(w, OTHER, { start: 0, end: 2 });
    const theirs = populateAnon(w, OTHER, 0, 0x5);
    setPte(w, VICTIM, 3, theirs, false, true);
    addVma(w, VICTIM, { start: 4, end: 6, flags: VM_READ | VM_WRITE | VM_SHARED, file: 1 });
    const cache = allocPage(w);
    setPte(w, VICTIM, 4, cache, true, false);
    getPage(w, cache);
    pageDupRmap(w, cache);
    addVma(w, VICTIM, { start: 6, end: 8, flags: VM_READ | VM_WRITE | VM_HUGETLB });
    attachRecorder(w, VICTIM);
    w.spawn(0, callReaper, [VICTIM]);
    const trace = runToEnd(w, 'reaper');
    expect(w.obj(OUT, 0).value).toBe(1);
    expect(recorded(w).map((e) => [e.kind, e.event, e.start, e.end, e.blockable, e.pfnAtStart])).toEqual([
      ['start', 'UNMAP', 0, 2, false, 0],
      ['end', 'UNMAP', 0, 2, false, 0],
    ]);
    const clear = changeIndex(trace, 'pte[victim@1].present', 0);
    expect(stepIndex(trace, 'test_recorder_invalidate_range_start')).toBeLessThan(clear);
    const end = stepIndex(trace, 'test_recorder_invalidate_range_end');
    expect(clear).toBeLessThan(end);
    const free = changeIndex(trace, `page[pfn${anon}].free`, 1);
    expect(end).toBeLessThan(free);
    expect(trace[free].where).toBe('oom_reap_task_mm:tlbFinish');
    expect(pte(w, VICTIM, 3).present).toBe(1);
    expect(pte(w, VICTIM, 4).present).toBe(1);
    expect(w.obj(MM, VICTIM).mmapReaders).toBe(0);
  });

  it('skips a VMA whose interval notifier refuses non-blockable, calling no end, and reaps the others', () => {
    const w = world();
    addVma(w, VICTIM, { start: 0, end: 2 });
    addVma(w, VICTIM, { start: 2, end: 4 });
    const kept = populateAnon(w, VICTIM, 0, 0xa);
    const reaped = populateAnon(w, VICTIM, 2, 0xb);
    intervalNotifierInsert(w, 0, VICTIM, 0, 2, refuseNonblock, 0);
    attachRecorder(w, VICTIM);
    w.spawn(0, callReaper, [VICTIM]);
    const trace = runToEnd(w, 'reaper');
    expect(trace.flatMap((s) => s.bugs)).toEqual([]);
    expect(w.obj(OUT, 0).value).toBe(0); // "failed to reap part of the address space"
    expect(pte(w, VICTIM, 0).pfn).toBe(kept);
    expect(w.obj(PAGE, kept).free).toBe(0);
    expect(w.obj(PAGE, reaped).free).toBe(1);
    // Two starts, one end: the failed VMA's range was never ended by the reaper.
    expect(starts(trace, 'mmu_notifier_invalidate_range_start:itree')).toBe(2);
    expect(starts(trace, 'mmu_notifier_invalidate_range_end:itree')).toBe(1);
    expect(recorded(w).map((e) => [e.kind, e.start])).toEqual([
      ['start', 2],
      ['end', 2],
    ]);
    // The interval epoch the failed start opened was closed by mn_itree_invalidate itself.
    expect(w.obj(MM, VICTIM)).toMatchObject({ activeInvalidateRanges: 0, invalidateSeq: 4 });
  });

  it("skips the VMA when a classic notifier's start returns -EAGAIN, and calls no end", () => {
    const w = world();
    addVma(w, VICTIM, { start: 0, end: 2 });
    const pfn = populateAnon(w, VICTIM, 1, 0xa);
    mmuNotifierRegister(w, 0, VICTIM, { invalidateRangeStart: eagainStart }, 0);
    w.spawn(0, callReaper, [VICTIM]);
    const trace = runToEnd(w, 'reaper');
    expect(trace.flatMap((s) => s.bugs)).toEqual([]);
    expect(w.obj(OUT, 0).value).toBe(0);
    expect(stepIndex(trace, 'mmu_notifier_invalidate_range_end')).toBe(-1);
    expect(pte(w, VICTIM, 1).pfn).toBe(pfn);
  });

  it('reports a callback that sleeps in the non-blockable start as a BUG; the same callback only waits under munmap', () => {
    const w = world(['reaper', 'holder']);
    addVma(w, VICTIM, { start: 0, end: 2 });
    populateAnon(w, VICTIM, 1, 0xa);
    mmuNotifierRegister(w, 0, VICTIM, { invalidateRangeStart: sleepyStart }, 0);
    w.obj(LOCK, 0).owner = 2; // `holder` holds the driver mutex
    w.spawn(0, callReaper, [VICTIM]);
    runUntil(w, 'reaper', 'test_oom_sleepy_start:lock');
    expect(w.actorNonblock(0)).toBe(1);
    // The blocked attempt is recorded with its BUG (the state does not change).
    const [attempt] = runSchedule(w, ['reaper']);
    expect(attempt.outcome).toBe('sleep');
    expect(attempt.bugs.join('; ')).toMatch(/would sleep in a non-blockable context/);

    const v = world(['munmap', 'holder']);
    addVma(v, VICTIM, { start: 0, end: 2 });
    mmuNotifierRegister(v, 0, VICTIM, { invalidateRangeStart: sleepyStart }, 0);
    v.obj(LOCK, 0).owner = 2;
    v.spawn(0, vmMunmap, [VICTIM, 0, 2]);
    runUntil(v, 'munmap', 'test_oom_sleepy_start:lock');
    expect(v.actorNonblock(0)).toBe(0);
    expect(() => runSchedule(v, ['munmap'])).toThrow(/blocked at test_oom_sleepy_start:lock$/);
  });

  it('gives up at once when mmap_read_trylock fails', () => {
    const w = world();
    addVma(w, VICTIM, { start: 0, end: 2 });
    populateAnon(w, VICTIM, 1, 0xa);
    w.obj(MM, VICTIM).mmapWriter = 2;
    w.spawn(0, callReaper, [VICTIM]);
    expect(isEnabled(w, 0)).toBe(true);
    runToEnd(w, 'reaper');
    expect(w.obj(OUT, 0)).toMatchObject({ value: 0, done: 1 });
    expect(pte(w, VICTIM, 1).present).toBe(1);
  });
});
