/**
 * A minimal mmu_interval_notifier driver for kernel tests, written exactly to the pattern of
 * Documentation/mm/hmm.rst (reference §2.3) — and, with `checkRetry = 0`, the deliberately wrong
 * variant that installs without mmu_interval_read_retry. Its "device page table" is a test-only
 * region; the primary walk reads the source pte directly (as hmm_range_fault would, without
 * faulting), so these tests depend only on the notifier core.
 *
 * Also a minimal core-mm invalidation (`test_zap_one`): start → clear pte → end → put page, the
 * order of zap_page_range_single + tlb_finish_mmu.
 */
import { defineStruct, type Layout } from '../../src/world/layout.js';
import type { World } from '../../src/world/world.js';
import { EFAULT, MMU_NOTIFY_CLEAR } from '../../src/kernel/flags.js';
import { assertHeld, driverMutex, mutexLock, mutexLockIfBlockable, mutexUnlock, ptl, spinLock, spinUnlock, WOULD_BLOCK, type Mutex } from '../../src/kernel/locks.js';
import { mmuIntervalReadBegin, mmuIntervalReadRetry, mmuIntervalSetSeq } from '../../src/kernel/notifier/interval.js';
import { mmuNotifierInvalidateRangeEnd, mmuNotifierInvalidateRangeStart } from '../../src/kernel/notifier/mmu-notifier.js';
import { pageGen, pageRemoveRmap, putPage } from '../../src/kernel/page.js';
import { clearPte, pte } from '../../src/kernel/pgtable.js';
import { MIN, PAGE } from '../../src/kernel/structs.js';
import { deref } from '../../src/kernel/ref.js';
import { Library } from '../../src/world/registry.js';
import { KERNEL } from '../../src/kernel/library.js';

export const TEST_DRIVER_LIB = new Library('test-test-driver', [KERNEL]);

/** The test device's page table: one entry per source vpn. */
export const DEV = defineStruct('testDev', ['pfn', 'gen'] as const);

export function declareTestDevice(layout: Layout): void {
  layout.add(DEV, layout.dims.mmPages);
}

/** The driver's update lock (user_lock) is the topology's first named lock, used as a mutex. */
const updateLock = (w: World): Mutex => driverMutex(w, 0);

export const testDriverInvalidate = TEST_DRIVER_LIB.routine({
  name: 'testdrv_invalidate',
  params: ['sub', 'start', 'end', 'event', 'blockable', 'curSeq'],
  steps: {
    lock: {
      at: 'test driver: mutex_lock(user_lock)',
      run: (w, l) => {
        const b = mutexLockIfBlockable(w, updateLock(w), l.blockable);
        if (b === WOULD_BLOCK) return w.ret(0);
        if (b) return b;
        return 'update';
      },
    },
    update: {
      at: 'test driver: mmu_interval_set_seq + zap device ptes',
      run: (w, l) => {
        assertHeld(w, updateLock(w), 'mmu_interval_set_seq');
        mmuIntervalSetSeq(w, l.sub, l.curSeq);
        for (let v = l.start; v < l.end && v < w.count(DEV); v++) {
          w.obj(DEV, v).pfn = 0;
          w.obj(DEV, v).gen = 0;
        }
        mutexUnlock(w, updateLock(w));
        return w.ret(1);
      },
    },
  },
});

export const testDriverFault = TEST_DRIVER_LIB.routine({
  name: 'testdrv_fault',
  params: ['sub', 'vpn', 'checkRetry'],
  locals: ['seq', 'pfn'],
  steps: {
    begin: { at: 'test driver: mmu_interval_read_begin', run: (w, l) => w.call(mmuIntervalReadBegin, 'snapshot', l.sub) },
    snapshot: {
      at: 'test driver: hmm_range_fault (walk without faulting)',
      run: (w, l) => {
        l.seq = l.result;
        const p = pte(w, deref(w.obj(MIN, l.sub).mm, 'mmu_interval_notifier.mm'), l.vpn);
        if (!p.present) return w.ret(-EFAULT);
        l.pfn = p.pfn;
        return 'lock';
      },
    },
    lock: { at: 'test driver: mutex_lock(user_lock)', run: (w) => mutexLock(w, updateLock(w)) || 'install' },
    install: {
      at: 'test driver: mmu_interval_read_retry + program device pte',
      run: (w, l) => {
        assertHeld(w, updateLock(w), 'testdrv_fault install');
        if (l.checkRetry && mmuIntervalReadRetry(w, l.sub, l.seq)) {
          mutexUnlock(w, updateLock(w));
          return 'begin';
        }
        w.obj(DEV, l.vpn).pfn = l.pfn;
        w.obj(DEV, l.vpn).gen = pageGen(w, l.pfn);
        mutexUnlock(w, updateLock(w));
        return w.ret(0);
      },
    },
  },
});

export const testZapOne = TEST_DRIVER_LIB.routine({
  name: 'test_zap_one',
  params: ['mm', 'vpn'],
  locals: ['pfn'],
  steps: {
    start: { at: 'mm/memory.c:zap_page_range_single', run: (w, l) => w.call(mmuNotifierInvalidateRangeStart, 'clear', l.mm, l.vpn, l.vpn + 1, MMU_NOTIFY_CLEAR, 1) },
    clear: {
      at: 'mm/memory.c:zap_pte_range',
      run: (w, l) => {
        const b = spinLock(w, ptl(w, l.mm)); // pte_offset_map_lock
        if (b) return b;
        const p = pte(w, l.mm, l.vpn);
        if (p.present && !p.special) {
          l.pfn = p.pfn;
          pageRemoveRmap(w, p.pfn);
        }
        clearPte(w, l.mm, l.vpn);
        spinUnlock(w, ptl(w, l.mm));
        return 'end';
      },
    },
    end: { at: 'mm/memory.c:zap_page_range_single', run: (w, l) => w.call(mmuNotifierInvalidateRangeEnd, 'free', l.mm, l.vpn, l.vpn + 1, MMU_NOTIFY_CLEAR, 1) },
    free: {
      at: 'mm/mmu_gather.c:tlb_finish_mmu',
      run: (w, l) => {
        if (l.pfn) putPage(w, l.pfn);
        return w.ret(0);
      },
    },
  },
});

/** Whether the device maps a page that is free or was reused since it was mapped. */
export function deviceStale(w: World, vpn: number): boolean {
  const d = w.obj(DEV, vpn);
  if (d.pfn === 0) return false;
  const page = w.obj(PAGE, d.pfn);
  return page.free === 1 || page.gen !== d.gen;
}
