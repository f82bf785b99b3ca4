/**
 * Variant `interval` — the corrected design (reference §2.3, §4.4), a driver made with
 * `defineDriver` from the public API only (src/driver/api.ts): an mmu_interval_notifier on the
 * source, hmm_range_fault under the source's mmap_lock (taken with trylock, else VM_FAULT_RETRY,
 * to avoid the cross-mm ABBA of R13), mmu_interval_read_retry under the driver's update lock
 * before vmf_insert_pfn into a VM_PFNMAP|VM_DONTCOPY VMA, no page reference held; the invalidate
 * callback sets the sequence and tears the mirror down with zap_vma_ptes — which runs
 * invalidate_range_start/end on the introspector's mm, so the introspector's own KVM zaps too
 * (Paolo's question, R5/R6). raw-clear and anon-vma build on its fault path.
 */
import { INTERVAL_SEQ } from '../kernel/structs.js';
import { INTERVAL_FOOTPRINTS } from './footprints/interval.js';
import { EBUSY, VM_FAULT_NOPAGE, VM_FAULT_RETRY, VM_FAULT_SIGBUS } from '../kernel/flags.js';
import { assertHeld, downReadTrylock, mmapLock, mutexLock, mutexUnlock, upRead } from '../kernel/locks.js';
import { mmgetNotZero } from '../kernel/mm-refs.js';
import { mmuIntervalReadBegin, mmuIntervalReadRetry, mmuIntervalSetSeq } from '../kernel/notifier/interval.js';
import { hmmRangeFault } from '../kernel/hmm/hmm.js';
import { hmmPfnToPfn, hmmPfnWritable } from '../kernel/hmm/hmm-pfn.js';
import { insertPfnBusy, vmfInsertPfnProt } from '../kernel/ops/insert.js';
import { zapVmaPtes } from '../kernel/ops/zap.js';
import { mmput } from '../kernel/ops/exit.js';
import { vmaMm } from '../kernel/pgtable.js';
import { deref } from '../kernel/ref.js';
import { KERNEL } from '../kernel/library.js';
import { Library } from '../world/registry.js';
import { attachInterval, deviceOfVma, INSTALL_RETRY, MIRROR, MIRROR_VMA_FLAGS, mirrorToSource, updateLock, updateLockStep, updateUnlockStep, zapMirror } from './device.js';
import { defineDriver } from '../driver/define.js';

/** This design's routine library (see src/world/registry.ts). */
export const INTERVAL_LIB = new Library('interval', [KERNEL], { kind: 'driver', sources: ['mirror'] });
INTERVAL_LIB.declare(INTERVAL_FOOTPRINTS);

export const intervalFault = INTERVAL_LIB.routine({
  name: 'mirror_fault',
  params: ['vma', 'vpn', 'write'],
  locals: ['dev', 'src', 'srcVpn', 'sub', 'seq', 'hpfn'],
  counters: { seq: INTERVAL_SEQ },
  resultCounters: { lockSource: INTERVAL_SEQ },
  steps: {
    mmget: {
      at: 'mirror: mmget_not_zero(source mm)',
      run: (w, l) => {
        l.dev = deviceOfVma(w, l.vma);
        const d = w.obj(MIRROR, l.dev);
        l.src = deref(d.srcMm, 'mirror.srcMm');
        l.sub = deref(d.sub, 'mirror.sub');
        l.srcVpn = mirrorToSource(w, l.vma, l.vpn);
        return mmgetNotZero(w, l.src) ? 'begin' : w.ret(VM_FAULT_SIGBUS);
      },
    },
    begin: { at: 'mm/mmu_notifier.c:mmu_interval_read_begin', run: (w, l) => w.call(mmuIntervalReadBegin, 'lockSource', l.sub) },
    lockSource: {
      at: 'mirror: mmap_read_trylock(source mm)',
      run: (w, l) => {
        l.seq = l.result;
        l.result = 0;
        if (downReadTrylock(w, mmapLock(w, l.src))) return w.call(hmmRangeFault, 'faulted', l.sub, l.srcVpn, l.seq, l.write);
        // Holding the introspector's mmap_lock: never sleep on another mm's (R13). Drop ours and
        // return VM_FAULT_RETRY (FAULT_FLAG_ALLOW_RETRY): the access is retried from the top.
        upRead(w, mmapLock(w, vmaMm(w, l.vma)));
        return w.call(mmput, 'retry', l.src);
      },
    },
    retry: { at: 'mirror: return VM_FAULT_RETRY', run: (w) => w.ret(VM_FAULT_RETRY) },
    faulted: {
      at: 'mirror: mmap_read_unlock(source mm)',
      run: (w, l) => {
        upRead(w, mmapLock(w, l.src));
        if (l.result === -EBUSY) {
          [l.result, l.seq] = [0, 0]; // dead on the retry edge: equal retries must give equal states
          return 'begin';
        }
        if (l.result < 0) return w.call(mmput, 'sigbus', l.src);
        l.hpfn = l.result;
        return 'lock';
      },
    },
    sigbus: { at: 'mirror: return VM_FAULT_SIGBUS', run: (w) => w.ret(VM_FAULT_SIGBUS) },
    lock: {
      at: 'mirror: mutex_lock(update)',
      run: (w, l) => {
        const b = mutexLock(w, updateLock(w, l.dev));
        if (b) return b;
        // Under the update lock: the design's install (read_retry, then the pte), through the ops pointer .mmap set.
        return w.callRef(w.obj(MIRROR, l.dev).install, 'installed', l.vma, l.vpn, l.dev, l.seq, l.hpfn, l.write);
      },
    },
    installed: {
      at: 'mirror: mutex_unlock(update)',
      run: (w, l) => {
        mutexUnlock(w, updateLock(w, l.dev));
        if (l.result !== INSTALL_RETRY) return w.call(mmput, 'done', l.src);
        [l.result, l.seq, l.hpfn] = [0, 0, 0]; // dead on the retry edge
        return 'begin';
      },
    },
    done: { at: 'mirror: return VM_FAULT_NOPAGE', run: (w) => w.ret(VM_FAULT_NOPAGE) },
  },
});

/**
 * The corrected install: under the update lock, mmu_interval_read_retry, then vmf_insert_pfn_prot
 * of a special pte, writable only if the source pte was writable and this is a write fault. Two
 * steps, as in the C: the sequence check is a plain read, and the insert takes the page-table lock
 * itself; nothing but the update lock keeps an invalidation from running between them — so a
 * callback that forgets that lock is caught (the step's size must not stand in for the lock).
 */
export const installPfn = INTERVAL_LIB.routine({
  name: 'mirror_install_pfn',
  params: ['vma', 'vpn', 'dev', 'seq', 'hpfn', 'write'],
  counters: { seq: INTERVAL_SEQ },
  steps: {
    retry: {
      at: 'mirror: if (mmu_interval_read_retry(&sub, seq)) goto again',
      run: (w, l) => {
        assertHeld(w, updateLock(w, l.dev), 'mirror_install_pfn');
        return mmuIntervalReadRetry(w, deref(w.obj(MIRROR, l.dev).sub, 'mirror.sub'), l.seq) ? w.ret(INSTALL_RETRY) : 'insert';
      },
    },
    insert: {
      at: 'mirror: vmf_insert_pfn_prot(vma, addr, pfn, prot)',
      run: (w, l) => {
        const b = insertPfnBusy(w, l.vma); // get_locked_pte: spin_lock(ptl)
        if (b) return b;
        vmfInsertPfnProt(w, l.vma, l.vpn, hmmPfnToPfn(l.hpfn), hmmPfnWritable(l.hpfn) && l.write !== 0);
        return w.ret(0);
      },
    },
  },
});

/**
 * vm_ops->pfn_mkwrite: a write to a read-only mirror pte must not just upgrade it (the source may
 * map the page read-only: COW-shared after fork, fresh from swap). Drop the pte and let the
 * access fault again as a write, through hmm_range_fault(write) and read_retry.
 */
export const intervalPfnMkwrite = INTERVAL_LIB.routine({
  name: 'mirror_pfn_mkwrite',
  params: ['vma', 'vpn'],
  steps: {
    zap: { at: 'mirror: pfn_mkwrite → zap_vma_ptes(vma, addr, PAGE_SIZE)', run: (w, l) => w.call(zapVmaPtes, 'refault', l.vma, l.vpn, l.vpn + 1) },
    refault: { at: 'mirror: return VM_FAULT_NOPAGE (the write faults again)', run: (w) => w.ret(VM_FAULT_NOPAGE) },
  },
});

export const intervalInvalidate = INTERVAL_LIB.routine({
  name: 'mirror_invalidate',
  params: ['sub', 'start', 'end', 'event', 'blockable', 'curSeq'],
  locals: ['dev'],
  counters: { curSeq: INTERVAL_SEQ },
  steps: {
    lock: updateLockStep('mirror: mutex_lock(update) / mutex_trylock if !blockable', 'zap'),
    zap: {
      at: 'mirror: mmu_interval_set_seq + zap_vma_ptes',
      run: (w, l) => {
        assertHeld(w, updateLock(w, l.dev), 'mmu_interval_set_seq');
        mmuIntervalSetSeq(w, l.sub, l.curSeq);
        return zapMirror(w, l.dev, l.start, l.end, 'unlock');
      },
    },
    unlock: updateUnlockStep('mirror: mutex_unlock(update)', 1),
  },
});

export const interval = defineDriver({
  name: 'interval',
  summary: 'mmu_interval_notifier + hmm_range_fault + read_retry under the update lock; zap_vma_ptes in the callback; no page reference',
  library: INTERVAL_LIB,
  vmaFlags: MIRROR_VMA_FLAGS,
  fault: intervalFault,
  pfnMkwrite: intervalPfnMkwrite,
  // The callback zaps the device's one VMA (zap_vma_ptes): a split would leave a VMA it never
  // zaps, so the device refuses splits (found by the generator: test/generative/known.test.ts).
  maySplit: false,
  routines: [intervalFault, installPfn, intervalPfnMkwrite, intervalInvalidate],
  needs: { intervalNotifier: true },
  attach: (w, dev) => attachInterval(w, dev, installPfn, intervalInvalidate),
  acceptedMutants: {
    'swap-set-seq@mirror_invalidate:zap':
      'tearing the mirror down before mmu_interval_set_seq is as correct as after it while both run under the update lock: ' +
      "a fault's mmu_interval_read_retry and its insert run under that lock too, so none falls between the teardown and set_seq — " +
      'it installs before the callback takes the lock (and the teardown removes the pte) or checks after set_seq (and retries). ' +
      'A fault whose read_begin or hmm_range_fault reads the old sequence meanwhile is caught by that read_retry.',
  },
});
