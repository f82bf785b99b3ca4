/**
 * mmput / exit_mmap (reference §1.7, §5): mmu_notifier_release first — the hlist subscriber's
 * ->release runs and it is unlinked, so it hears no UNMAP; interval subscribers get RELEASE and
 * then the UNMAP of unmap_vmas. Ptes change strictly inside the UNMAP bracket and pages are freed
 * in tlb_finish_mmu, after end and after the VMAs left the rmap.
 */
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { EVENT_NAMES, VM_DONTEXPAND, VM_IO, VM_PFNMAP, VM_READ, VM_SHARED } from '../../src/kernel/flags.js';
import { intervalNotifierInsert } from '../../src/kernel/notifier/interval.js';
import { pte, setPte, vma } from '../../src/kernel/pgtable.js';
import { MM, PAGE } from '../../src/kernel/structs.js';
import { mmput } from '../../src/kernel/ops/exit.js';
import { defineStruct, type Layout } from '../../src/world/layout.js';
import { isEnabled, runSchedule, runToEnd, runUntil } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { attachRecorder, changeIndex, declareRecorder, recorded, stepIndex, RECORDER_LIB } from '../helpers/recorder.js';
import { downReadTrylock, mmapLock } from '../../src/kernel/locks.js';
import { Library } from '../../src/world/registry.js';
import { KERNEL } from '../../src/kernel/library.js';

const LIB = new Library('test-exit', [KERNEL]);

const SRC = 0;
const OTHER = 1;

/** An interval subscriber's log: the events its ops->invalidate heard. */
const ILOG = defineStruct('testExitItreeLog', ['event', 'start', 'end'] as const);
const ILOG_SIZE = 4;

const itreeRecorder = LIB.routine({
  name: 'test_exit_itree_invalidate',
  params: ['sub', 'start', 'end', 'event', 'blockable', 'curSeq'],
  steps: {
    record: {
      at: 'test: interval ops->invalidate',
      run: (w, l) => {
        for (let i = 0; i < ILOG_SIZE; i++) {
          const e = w.obj(ILOG, i);
          if (e.end !== 0) continue;
          e.event = l.event + 1;
          e.start = l.start;
          e.end = l.end;
          return w.ret(1);
        }
        throw new Error('interval log full');
      },
    },
  },
});

function itreeEvents(w: World): string[] {
  const out: string[] = [];
  for (let i = 0; i < ILOG_SIZE; i++) if (w.obj(ILOG, i).end) out.push(EVENT_NAMES[w.obj(ILOG, i).event - 1]);
  return out;
}

function world(actors = ['exit']): World {
  return buildWorld({ pages: 6, mmPages: 6, mms: ['src', 'other'], actors, libraries: [LIB, RECORDER_LIB] }, (L: Layout) => {
    declareRecorder(L);
    L.add(ILOG, ILOG_SIZE);
  });
}

describe('mmput', () => {
  it('only drops mm_users while other users remain', () => {
    const w = world();
    addVma(w, SRC, { start: 0, end: 2 });
    populateAnon(w, SRC, 0, 1);
    w.obj(MM, SRC).users = 2;
    w.spawn(0, mmput, [SRC]);
    const trace = runToEnd(w, 'exit');
    expect(trace).toHaveLength(1);
    expect(w.obj(MM, SRC)).toMatchObject({ users: 1 });
    expect(pte(w, SRC, 0).present).toBe(1);
  });

  it('runs exit_mmap on the last user: RELEASE first, then UNMAP, ptes inside the bracket, pages freed after end', () => {
    const w = world();
    addVma(w, SRC, { start: 0, end: 4 });
    const a = populateAnon(w, SRC, 0, 0xa);
    const b = populateAnon(w, SRC, 3, 0xb);
    attachRecorder(w, SRC);
    intervalNotifierInsert(w, 0, SRC, 0, 4, itreeRecorder, 0);
    const count = w.obj(MM, SRC).count;
    w.spawn(0, mmput, [SRC]);
    const trace = runToEnd(w, 'exit');
    expect(trace.flatMap((s) => s.bugs)).toEqual([]);

    // The hlist subscriber: ->release, and nothing after it (unlinked before unmap_vmas).
    expect(recorded(w).map((e) => e.kind)).toEqual(['release']);
    // The interval subscriber stays subscribed: RELEASE, then the UNMAP of unmap_vmas.
    expect(itreeEvents(w)).toEqual(['RELEASE', 'UNMAP']);

    const release = stepIndex(trace, 'test_recorder_release');
    const unmapStart = stepIndex(trace, 'unmap_vmas', 'start');
    const clear = changeIndex(trace, 'pte[src@0].present', 0);
    const end = stepIndex(trace, 'unmap_vmas', 'done');
    const unlinked = changeIndex(trace, 'vma[src#0].used', 0);
    const freeA = changeIndex(trace, `page[pfn${a}].free`, 1);
    expect(stepIndex(trace, 'mmu_notifier_release')).toBeLessThan(release);
    expect(release).toBeLessThan(unmapStart);
    expect(unmapStart).toBeLessThan(clear);
    expect(clear).toBeLessThan(end);
    expect(end).toBeLessThan(unlinked);
    expect(unlinked).toBeLessThan(freeA);
    expect(trace[freeA].where).toBe('exit_mmap:tlbFinish');
    // release_pages: one put per step (each is its own atomic), the next page right after.
    expect(changeIndex(trace, `page[pfn${b}].free`, 1)).toBe(freeA + 1);
    expect(trace[freeA + 1].where).toBe('exit_mmap:tlbFinish');

    expect(w.obj(MM, SRC)).toMatchObject({ users: 0, mmapReaders: 0, mmapWriter: 0, count: count - 1 });
    expect(vma(w, 0).used).toBe(0);
  });

  it("leaves the pages behind special ptes alone (a mirror's PFNMAP VMA)", () => {
    const w = world();
    addVma(w, OTHER, { start: 0, end: 2 });
    const theirs = populateAnon(w, OTHER, 1, 0x5);
    addVma(w, SRC, { start: 0, end: 2, flags: VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_READ | VM_SHARED });
    setPte(w, SRC, 1, theirs, false, true);
    w.spawn(0, mmput, [SRC]);
    const trace = runToEnd(w, 'exit');
    expect(trace.flatMap((s) => s.bugs)).toEqual([]);
    expect(pte(w, SRC, 1).present).toBe(0);
    expect(w.obj(PAGE, theirs)).toMatchObject({ refcount: 1, mapcount: 1, free: 0 });
  });

  it('waits for mmap_lock writers and reports a double mmput', () => {
    const w = world(['exit', 'holder']);
    addVma(w, SRC, { start: 0, end: 2 });
    w.obj(MM, SRC).mmapWriter = 2; // `holder` holds the write lock
    w.spawn(0, mmput, [SRC]);
    runUntil(w, 'exit', 'exit_mmap:lock');
    expect(isEnabled(w, 0)).toBe(false);
    w.obj(MM, SRC).mmapWriter = 0;
    runToEnd(w, 'exit');
    expect(w.obj(MM, SRC).users).toBe(0);
    w.spawn(0, mmput, [SRC]);
    const again = runSchedule(w, ['exit']);
    expect(again[0].bugs[0]).toMatch(/mm_users is 0/);
  });

  it('blocks at free_pgtables while a reader (e.g. the OOM reaper) still holds mmap_lock', () => {
    const w = world(['exit', 'reader']);
    addVma(w, SRC, { start: 0, end: 2 });
    populateAnon(w, SRC, 0, 1);
    w.spawn(0, mmput, [SRC]);
    runUntil(w, 'exit', 'exit_mmap:readUnlock');
    w.actor = 1;
    expect(downReadTrylock(w, mmapLock(w, SRC))).toBe(true); // the reader got in beside exit's read section
    runSchedule(w, ['exit']);
    expect(isEnabled(w, 0)).toBe(false); // mmap_write_lock waits for it
  });
});
