/**
 * B-13, fixed: an amdgpu-style userptr as a mirror device (its table is the mirror VMA's ptes; an
 * access to it is the GPU touching the userptr BO). The restore path (the fault) faults the pages
 * with hmm_range_fault, then under the notifier lock checks mmu_interval_read_retry and only then
 * writes the device's page table; the invalidate callback sets the sequence and clears the table
 * under that same lock. f95f51a4c335 ("drm/amdgpu: Add notifier lock for KFD userptrs").
 */
import { defineDriver, Library, KERNEL, MIRROR, attachInterval, INSTALL_RETRY, deviceOfVma, mirrorToSource, sourceRangeToMirror, updateLock, deref, updateLockStep } from 'vmamirror';
import { INTERVAL_SEQ } from 'vmamirror';
import { assertHeld, downReadTrylock, mmapLock, mutexLock, mutexUnlock, upRead, vmaMm } from 'vmamirror';
import { hmmPfnToPfn, hmmRangeFault, insertPfnBusy, vmfInsertPfnProt, zapVmaPtes, mmgetNotZero, mmput, mmuIntervalReadBegin, mmuIntervalReadRetry, mmuIntervalSetSeq } from 'vmamirror';
import { EBUSY, VM_DONTCOPY, VM_DONTDUMP, VM_FAULT_NOPAGE, VM_FAULT_RETRY, VM_FAULT_SIGBUS, VM_IO, VM_PFNMAP, VM_READ, VM_SHARED } from 'vmamirror';

const lib = new Library('b13-fixed', [KERNEL], { kind: 'driver', sources: ['amdgpu'] });

const fault = lib.routine({
  name: 'userptr_fault',
  params: ['vma', 'vpn', 'write'],
  locals: ['dev', 'src', 'srcVpn', 'sub', 'seq', 'hpfn'],
  counters: { seq: INTERVAL_SEQ },
  resultCounters: { lockSource: INTERVAL_SEQ },
  steps: {
    mmget: {
      at: 'amdgpu: mmget_not_zero(userptr mm)',
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
      at: 'amdgpu: mmap_read_trylock(userptr mm)',
      run: (w, l) => {
        l.seq = l.result;
        l.result = 0;
        if (downReadTrylock(w, mmapLock(w, l.src))) return w.call(hmmRangeFault, 'faulted', l.sub, l.srcVpn, l.seq, 0);
        upRead(w, mmapLock(w, vmaMm(w, l.vma)));
        return w.call(mmput, 'retry', l.src);
      },
    },
    retry: { at: 'amdgpu: return VM_FAULT_RETRY', run: (w) => w.ret(VM_FAULT_RETRY) },
    faulted: {
      at: 'amdgpu: mmap_read_unlock(userptr mm)',
      run: (w, l) => {
        upRead(w, mmapLock(w, l.src));
        if (l.result === -EBUSY) {
          [l.result, l.seq] = [0, 0];
          return 'begin';
        }
        if (l.result < 0) return w.call(mmput, 'sigbus', l.src);
        l.hpfn = l.result;
        return 'lock';
      },
    },
    sigbus: { at: 'amdgpu: return VM_FAULT_SIGBUS', run: (w) => w.ret(VM_FAULT_SIGBUS) },
    lock: {
      at: 'amdgpu: mutex_lock(notifier_lock)',
      run: (w, l) => {
        const b = mutexLock(w, updateLock(w, l.dev));
        if (b) return b;
        return w.callRef(w.obj(MIRROR, l.dev).install, 'installed', l.vma, l.vpn, l.dev, l.seq, l.hpfn, 0);
      },
    },
    installed: {
      at: 'amdgpu: mutex_unlock(notifier_lock)',
      run: (w, l) => {
        mutexUnlock(w, updateLock(w, l.dev));
        if (l.result !== INSTALL_RETRY) return w.call(mmput, 'done', l.src);
        [l.result, l.seq, l.hpfn] = [0, 0, 0];
        return 'begin';
      },
    },
    done: { at: 'amdgpu: return VM_FAULT_NOPAGE', run: (w) => w.ret(VM_FAULT_NOPAGE) },
  },
});

const install = lib.routine({
  name: 'userptr_install',
  params: ['vma', 'vpn', 'dev', 'seq', 'hpfn', 'write'],
  counters: { seq: INTERVAL_SEQ },
  steps: {
    retry: {
      at: 'amdgpu: confirm_valid_user_pages_locked: mmu_interval_read_retry',
      run: (w, l) => {
        assertHeld(w, updateLock(w, l.dev), 'userptr_install');
        return mmuIntervalReadRetry(w, deref(w.obj(MIRROR, l.dev).sub, 'mirror.sub'), l.seq) ? w.ret(INSTALL_RETRY) : 'insert';
      },
    },
    insert: {
      at: 'amdgpu: amdgpu_vm_update_range (the GPU page table)',
      run: (w, l) => {
        const b = insertPfnBusy(w, l.vma);
        if (b) return b;
        vmfInsertPfnProt(w, l.vma, l.vpn, hmmPfnToPfn(l.hpfn), false);
        return w.ret(0);
      },
    },
  },
});

const invalidate = lib.routine({
  name: 'userptr_invalidate',
  params: ['sub', 'start', 'end', 'event', 'blockable', 'curSeq'],
  locals: ['dev'],
  counters: { curSeq: INTERVAL_SEQ },
  steps: {
    // mutex_lock, or mutex_trylock when !blockable (false on contention): the shared update-lock step.
    lock: updateLockStep('amdgpu: mutex_lock(notifier_lock) / mutex_trylock if !blockable', 'evict'),
    evict: {
      at: 'amdgpu: mmu_interval_set_seq + evict (clear the GPU mapping)',
      run: (w, l) => {
        assertHeld(w, updateLock(w, l.dev), 'mmu_interval_set_seq');
        mmuIntervalSetSeq(w, l.sub, l.curSeq);
        const [a, b] = sourceRangeToMirror(w, l.dev, l.start, l.end);
        return a === b ? 'unlock' : w.call(zapVmaPtes, 'unlock', deref(w.obj(MIRROR, l.dev).vma, 'mirror.vma'), a, b);
      },
    },
    unlock: {
      at: 'amdgpu: mutex_unlock(notifier_lock)',
      run: (w, l) => {
        mutexUnlock(w, updateLock(w, l.dev));
        return w.ret(1);
      },
    },
  },
});

export default defineDriver({
  name: 'b13-fixed',
  summary: 'amdgpu userptr, fixed: mmu_interval_read_retry under the notifier lock, immediately before the GPU page table is written',
  library: lib,
  vmaFlags: VM_PFNMAP | VM_IO | VM_DONTCOPY | VM_DONTDUMP | VM_SHARED | VM_READ,
  fault,
  routines: [fault, install, invalidate],
  needs: { intervalNotifier: true },
  attach: (w, dev) => attachInterval(w, dev, install, invalidate),
});
