/**
 * The v5.3 HMM API (reference §2.1, §2.2): range->valid goes false at invalidate_range_start and
 * back to true when the last invalidation ends — so a snapshot taken before a complete
 * invalidation looks valid afterwards (Jason Gunthorpe's ABA, May 2019).
 */
import { describe, expect, it } from 'vitest';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { getPage, pageDupRmap } from '../../src/kernel/page.js';
import { pte, setPte } from '../../src/kernel/pgtable.js';
import { HMM_RANGE, MM, MN, PAGE } from '../../src/kernel/structs.js';
import { EAGAIN, EFAULT, VM_IO, VM_PFNMAP, VM_READ, VM_SHARED } from '../../src/kernel/flags.js';
import { downRead, mmapLock, upRead } from '../../src/kernel/locks.js';
import { cpuAccess } from '../../src/kernel/ops/access.js';
import {
  hmmInvalidateRangeStart,
  hmmMirrorRegister,
  hmmRangeFaultV53,
  hmmRangeRegister,
  hmmRangeSnapshot,
  hmmRangeUnregister,
  hmmRangeValid,
  hmmRangeWaitUntilValid,
} from '../../src/kernel/hmm/hmm-v53.js';
import { hmmPfnEncode, hmmPfnToPfn } from '../../src/kernel/hmm/hmm-pfn.js';
import { defineStruct } from '../../src/world/layout.js';
import { isEnabled, runToEnd, runUntil } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';
import { Library } from '../../src/world/registry.js';
import { KERNEL } from '../../src/kernel/library.js';
import { deref, NONE } from '../../src/kernel/ref.js';

const LIB = new Library('test-hmm-v53', [KERNEL]);

const SRC = 0;
const CHILD = 1;
const MIRROR = 0;
const RANGE = 0;
/** What the mirror's sync_cpu_device_pagetables saw, and each actor's last result. */
const LOG = defineStruct('testHmmLog', ['syncs', 'mirror', 'start', 'end', 'event', 'blockable', 'result'] as const);

const sync = LIB.routine({
  name: 'test_hmm53_sync',
  params: ['mirror', 'start', 'end', 'event', 'blockable'],
  steps: {
    go: {
      at: 'test:sync_cpu_device_pagetables',
      run: (w, l) => {
        const g = w.obj(LOG, 0);
        Object.assign(g, { syncs: g.syncs + 1, mirror: l.mirror, start: l.start, end: l.end, event: l.event, blockable: l.blockable });
        return w.ret(0);
      },
    },
  },
});

/** Driver: register the range, then down_read(mmap_sem); snapshot; up_read — the first half of the documented pattern. */
const registerAndSnapshot = LIB.routine({
  name: 'test_hmm53_register_snapshot',
  params: ['vpn'],
  steps: {
    register: { at: 'test', run: (w, l) => w.call(hmmRangeRegister, 'lock', RANGE, MIRROR, l.vpn, l.vpn + 1) },
    lock: { at: 'test:down_read', run: (w) => downRead(w, mmapLock(w, SRC)) || 'snap' },
    snap: { at: 'test', run: (w) => w.call(hmmRangeSnapshot, 'unlock', RANGE) },
    unlock: {
      at: 'test:up_read',
      run: (w, l) => {
        upRead(w, mmapLock(w, SRC));
        w.obj(LOG, w.actor + 1).result = l.result;
        return w.ret(0);
      },
    },
  },
});

/** Stores the callee's result in LOG[actor + 1].result. */
function storing(name: string, callee: Parameters<World['call']>[0], lock: boolean) {
  return LIB.routine({
    name,
    params: ['a', 'b'],
    steps: {
      lock: { at: 'test', run: (w) => (lock && downRead(w, mmapLock(w, SRC))) || 'go' },
      go: { at: 'test', run: (w, l) => w.call(callee, 'store', ...[l.a, l.b].slice(0, callee.params.length)) },
      store: {
        at: 'test',
        run: (w, l) => {
          w.obj(LOG, w.actor + 1).result = l.result;
          return w.ret(0);
        },
      },
    },
  });
}
const snapshotLocked = storing('test_hmm53_snapshot_locked', hmmRangeSnapshot, true);
const faultLocked = storing('test_hmm53_fault_locked', hmmRangeFaultV53, true);
const writeAccess = LIB.routine({
  name: 'test_hmm53_cpu_write',
  params: ['vpn', 'value'],
  steps: {
    go: { at: 'test', run: (w, l) => w.call(cpuAccess, 'done', SRC, l.vpn, 1, l.value) },
    done: { at: 'test', run: (w) => w.ret(0) },
  },
});

/** Source page at vpn 1 shared COW with a fork child, so a CPU write replaces the source pte. */
function world(actors = ['drv', 'cpu']): { w: World; old: number } {
  const w = buildWorld({ pages: 5, mmPages: 4, mms: ['source', 'child'], actors, hmmMirrors: 1, hmmRanges: 1, mmuNotifiers: 2, libraries: [LIB] }, (L) => L.add(LOG, actors.length + 1));
  addVma(w, SRC, { start: 0, end: 3 });
  addVma(w, SRC, { start: 3, end: 4, flags: VM_PFNMAP | VM_IO | VM_SHARED | VM_READ });
  addVma(w, CHILD, { start: 0, end: 3 });
  w.obj(MM, CHILD).anonVma = w.obj(MM, SRC).anonVma;
  const old = populateAnon(w, SRC, 1, 10, false);
  setPte(w, CHILD, 1, old, false, false);
  pageDupRmap(w, old);
  getPage(w, old);
  hmmMirrorRegister(w, MIRROR, SRC, sync, undefined, 0);
  return { w, old };
}

const valid = (w: World) => hmmRangeValid(w, RANGE);

describe('v5.3 struct hmm', () => {
  it('registers the hmm as a classic notifier with the hmm callbacks, mmgrab for the hmm', () => {
    const { w } = world();
    const mn = deref(w.obj(MM, SRC).hmm, 'mm.hmm');
    expect(mn).toBe(0);
    expect(w.obj(MN, mn).invalidateRangeStart).toBe(w.routineRef(hmmInvalidateRangeStart));
    expect(w.obj(MM, SRC).count).toBe(3); // own + mmu_notifier_register + hmm_get_or_create
  });

  it('reproduces the ABA: after a complete invalidation the stale snapshot looks valid again', () => {
    const { w, old } = world();
    w.spawn(0, registerAndSnapshot, [1]);
    runToEnd(w, 'drv');
    expect(w.obj(LOG, 1).result).toBe(1);
    expect(w.obj(HMM_RANGE, RANGE).pfn).toBe(hmmPfnEncode(old, false));
    expect(valid(w)).toBe(true);
    expect(w.obj(MM, SRC).users).toBe(2); // the range's mmget_not_zero

    w.spawn(1, writeAccess, [1, 99]);
    runUntil(w, 'cpu', 'wp_page_copy:ptLock'); // start has run, the pte still maps `old`
    expect(valid(w)).toBe(false);
    expect(w.obj(MM, SRC).hmmNotifiers).toBe(1);
    expect(w.obj(LOG, 0).syncs).toBe(1);
    expect([w.obj(LOG, 0).start, w.obj(LOG, 0).end, w.obj(LOG, 0).event, w.obj(LOG, 0).blockable]).toEqual([1, 2, 1, 1]);
    runToEnd(w, 'cpu');

    // The driver now checks hmm_range_valid under its lock: true — yet the pte moved.
    expect(valid(w)).toBe(true);
    expect(w.obj(MM, SRC).hmmNotifiers).toBe(0);
    expect(pte(w, SRC, 1).pfn).not.toBe(old);
    expect(hmmPfnToPfn(w.obj(HMM_RANGE, RANGE).pfn)).toBe(old);
  });

  it('snapshot says -EAGAIN inside the window; wait_until_valid sleeps until end', () => {
    const { w } = world(['drv', 'cpu', 'snap']);
    w.spawn(0, hmmRangeRegister, [RANGE, MIRROR, 1, 2]);
    runToEnd(w, 'drv');
    w.spawn(1, writeAccess, [1, 5]);
    runUntil(w, 'cpu', 'wp_page_copy:ptLock');
    w.spawn(2, snapshotLocked, [RANGE, 0]);
    runToEnd(w, 'snap');
    expect(w.obj(LOG, 3).result).toBe(-EAGAIN);
    upRead(w, mmapLock(w, SRC));
    w.spawn(0, hmmRangeWaitUntilValid, [RANGE]);
    expect(isEnabled(w, 0)).toBe(false);
    runToEnd(w, 'cpu');
    expect(isEnabled(w, 0)).toBe(true);
  });

  it('a range registered during an invalidation starts invalid', () => {
    const { w } = world();
    w.spawn(1, writeAccess, [1, 5]);
    runUntil(w, 'cpu', 'wp_page_copy:ptLock');
    w.spawn(0, hmmRangeRegister, [RANGE, MIRROR, 2, 3]); // not even overlapping
    runToEnd(w, 'drv');
    expect(valid(w)).toBe(false);
    runToEnd(w, 'cpu');
    expect(valid(w)).toBe(true);
  });

  it('unregister unlinks, drops the mm_users reference and invalidates', () => {
    const { w } = world();
    w.spawn(0, hmmRangeRegister, [RANGE, MIRROR, 1, 2]);
    runToEnd(w, 'drv');
    w.spawn(0, hmmRangeUnregister, [RANGE]);
    runToEnd(w, 'drv');
    expect(w.obj(MM, SRC).users).toBe(1);
    expect(valid(w)).toBe(false);
    expect(w.obj(HMM_RANGE, RANGE).mm).toBe(NONE);
  });

  it('snapshot refuses device VMAs and needs mmap_sem', () => {
    const { w } = world();
    w.spawn(0, hmmRangeRegister, [RANGE, MIRROR, 3, 4]);
    runToEnd(w, 'drv');
    w.spawn(0, snapshotLocked, [RANGE, 0]);
    runToEnd(w, 'drv');
    expect(w.obj(LOG, 1).result).toBe(-EFAULT);
    upRead(w, mmapLock(w, SRC));
    w.spawn(1, hmmRangeSnapshot, [RANGE]);
    expect(runToEnd(w, 'cpu')[0].bugs.join()).toMatch(/lockdep_assert_held\(mm\[\w+\]\.mmap_lock\) failed/);
  });

  it('hmm_range_fault faults a missing page in; on an invalid range it drops mmap_sem itself', () => {
    const { w } = world();
    w.spawn(0, hmmRangeRegister, [RANGE, MIRROR, 2, 3]);
    runToEnd(w, 'drv');
    w.spawn(0, faultLocked, [RANGE, 1]);
    runToEnd(w, 'drv');
    expect(w.obj(LOG, 1).result).toBe(1);
    const pfn = pte(w, SRC, 2).pfn;
    expect(w.obj(HMM_RANGE, RANGE).pfn).toBe(hmmPfnEncode(pfn, true));
    expect(w.obj(PAGE, pfn).refcount).toBe(1); // no reference kept by HMM
    upRead(w, mmapLock(w, SRC));

    w.obj(HMM_RANGE, RANGE).valid = 0;
    w.spawn(0, faultLocked, [RANGE, 0]);
    runToEnd(w, 'drv');
    expect(w.obj(LOG, 1).result).toBe(-EAGAIN);
    expect(w.obj(MM, SRC).mmapReaders).toBe(0);
  });
});
