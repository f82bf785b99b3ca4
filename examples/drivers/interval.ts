/**
 * The corrected mirror design (the built-in `interval`, src/mirror/interval.ts) as an outside driver, from the public API
 * only: an mmu_interval_notifier; hmm_range_fault under the source's mmap_lock (trylock, else VM_FAULT_RETRY), then
 * read_retry and vmf_insert_pfn_prot under the update lock; the callback sets the sequence and zaps under that lock.
 */
import { defineDriver, Library, KERNEL, MIRROR, MIRROR_VMA_FLAGS, attachInterval, INSTALL_RETRY, deviceOfVma, mirrorToSource, updateLock, updateLockStep, updateUnlockStep, zapMirror, deref } from 'vmamirror';
import { INTERVAL_SEQ } from 'vmamirror';
import { assertHeld, downReadTrylock, mmapLock, mutexLock, mutexUnlock, upRead, vmaMm, EBUSY, VM_FAULT_NOPAGE, VM_FAULT_RETRY, VM_FAULT_SIGBUS } from 'vmamirror';
import { hmmPfnToPfn, hmmPfnWritable, hmmRangeFault, insertPfnBusy, vmfInsertPfnProt, zapVmaPtes, mmgetNotZero, mmput, mmuIntervalReadBegin, mmuIntervalReadRetry, mmuIntervalSetSeq } from 'vmamirror';

const lib = new Library('byo-interval', [KERNEL], { kind: 'driver', sources: ['mirror'] });

const fault = lib.routine({
  name: 'byo_fault',
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
        upRead(w, mmapLock(w, vmaMm(w, l.vma))); // never sleep on another mm's mmap_lock: retry the access
        return w.call(mmput, 'retry', l.src);
      },
    },
    retry: { at: 'mirror: return VM_FAULT_RETRY', run: (w) => w.ret(VM_FAULT_RETRY) },
    faulted: {
      at: 'mirror: mmap_read_unlock(source mm)',
      run: (w, l) => {
        upRead(w, mmapLock(w, l.src));
        if (l.result === -EBUSY) {
          [l.result, l.seq] = [0, 0]; // equal retries must give equal states
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
        return w.callRef(w.obj(MIRROR, l.dev).install, 'installed', l.vma, l.vpn, l.dev, l.seq, l.hpfn, l.write);
      },
    },
    installed: {
      at: 'mirror: mutex_unlock(update)',
      run: (w, l) => {
        mutexUnlock(w, updateLock(w, l.dev));
        if (l.result !== INSTALL_RETRY) return w.call(mmput, 'done', l.src);
        [l.result, l.seq, l.hpfn] = [0, 0, 0];
        return 'begin';
      },
    },
    done: { at: 'mirror: return VM_FAULT_NOPAGE', run: (w) => w.ret(VM_FAULT_NOPAGE) },
  },
});

const install = lib.routine({
  name: 'byo_install_pfn',
  params: ['vma', 'vpn', 'dev', 'seq', 'hpfn', 'write'],
  counters: { seq: INTERVAL_SEQ },
  steps: {
    retry: {
      at: 'mirror: if (mmu_interval_read_retry(&sub, seq)) goto again',
      run: (w, l) => {
        assertHeld(w, updateLock(w, l.dev), 'byo_install_pfn');
        return mmuIntervalReadRetry(w, deref(w.obj(MIRROR, l.dev).sub, 'mirror.sub'), l.seq) ? w.ret(INSTALL_RETRY) : 'insert';
      },
    },
    insert: {
      at: 'mirror: vmf_insert_pfn_prot(vma, addr, pfn, prot)',
      run: (w, l) => {
        const b = insertPfnBusy(w, l.vma);
        if (b) return b;
        vmfInsertPfnProt(w, l.vma, l.vpn, hmmPfnToPfn(l.hpfn), hmmPfnWritable(l.hpfn) && l.write !== 0);
        return w.ret(0);
      },
    },
  },
});

const pfnMkwrite = lib.routine({
  name: 'byo_pfn_mkwrite',
  params: ['vma', 'vpn'],
  steps: {
    zap: { at: 'mirror: pfn_mkwrite → zap_vma_ptes(vma, addr, PAGE_SIZE)', run: (w, l) => w.call(zapVmaPtes, 'refault', l.vma, l.vpn, l.vpn + 1) },
    refault: { at: 'mirror: return VM_FAULT_NOPAGE (the write faults again)', run: (w) => w.ret(VM_FAULT_NOPAGE) },
  },
});

const invalidate = lib.routine({
  name: 'byo_invalidate',
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

export default defineDriver({
  name: 'byo-interval',
  summary: 'the corrected design (interval) as an outside driver: interval notifier, hmm_range_fault, read_retry under the update lock, zap_vma_ptes',
  library: lib,
  vmaFlags: MIRROR_VMA_FLAGS,
  fault,
  pfnMkwrite,
  maySplit: false, // the callback zaps the one VMA it made: refuse splits (vm_ops->may_split)
  routines: [fault, install, pfnMkwrite, invalidate],
  needs: { intervalNotifier: true },
  attach: (w, dev) => attachInterval(w, dev, install, invalidate),
  acceptedMutants: {
    'swap-set-seq@byo_invalidate:zap':
      'tearing the mirror down before mmu_interval_set_seq is as correct as after it while both run under the update lock: ' +
      "a fault's mmu_interval_read_retry and its insert run under that lock too, so none falls between the teardown and set_seq.",
  },
});
