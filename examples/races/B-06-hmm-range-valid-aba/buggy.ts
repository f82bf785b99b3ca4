/**
 * B-06, buggy: a mirror on the 2019 hmm_mirror API (v5.3), the documented pattern — register the
 * range, wait until valid, hmm_range_fault under the source mmap_sem, take the update lock, and
 * insert if hmm_range_valid(). The bool cannot tell "no invalidation" from "an invalidation came
 * and went": one that starts and ends between the walk and the test leaves it true again (Jason
 * Gunthorpe's ABA, 20190527195829.GB18019@mellanox.com). vmamirror's seed-2019-fixed as a driver.
 */
import { defineDriver, Library, KERNEL, MIRROR, deviceOfVma, mirrorToSource, sourceRangeToMirror, updateLock, deref } from 'vmamirror';
import { assertHeld, downReadTrylock, mmapLock, mutexLock, mutexUnlock, upRead, vmaMm } from 'vmamirror';
import { hmmMirrorRegister, hmmRangeRegister, hmmRangeUnregister, hmmRangeWaitUntilValid, hmmRangeFaultV53, hmmRangeValid, HMM_MIRROR, HMM_RANGE } from 'vmamirror';
import { hmmPfnToPfn, insertPfnBusy, vmfInsertPfnProt, zapVmaPtes } from 'vmamirror';
import { EAGAIN, EBUSY, VM_DONTCOPY, VM_DONTDUMP, VM_FAULT_NOPAGE, VM_FAULT_RETRY, VM_FAULT_SIGBUS, VM_IO, VM_PFNMAP, VM_READ, VM_SHARED } from 'vmamirror';

const lib = new Library('b06-buggy', [KERNEL], { kind: 'driver', sources: ['driver'] });

const fault = lib.routine({
  name: 'hmm2019_fault',
  params: ['vma', 'vpn', 'write'],
  locals: ['dev', 'src', 'range'],
  steps: {
    register: {
      at: 'driver: hmm_range_register(&range, mirror, addr, addr + PAGE_SIZE)',
      run: (w, l) => {
        l.dev = deviceOfVma(w, l.vma);
        const d = w.obj(MIRROR, l.dev);
        l.src = deref(d.srcMm, 'mirror.srcMm');
        l.range = w.actor; // struct hmm_range lives on the faulting task's stack
        const s = mirrorToSource(w, l.vma, l.vpn);
        return w.call(hmmRangeRegister, 'wait', l.range, deref(d.hmirror, 'mirror.hmirror'), s, s + 1);
      },
    },
    wait: {
      at: 'driver: hmm_range_wait_until_valid(&range)',
      run: (w, l) => (l.result < 0 ? w.ret(VM_FAULT_SIGBUS) : w.call(hmmRangeWaitUntilValid, 'lockSource', l.range)),
    },
    lockSource: {
      at: 'driver: down_read_trylock(source mmap_sem)',
      run: (w, l) => {
        l.result = 0;
        if (downReadTrylock(w, mmapLock(w, l.src))) return w.call(hmmRangeFaultV53, 'faulted', l.range, 0);
        upRead(w, mmapLock(w, vmaMm(w, l.vma)));
        return w.call(hmmRangeUnregister, 'retry', l.range);
      },
    },
    retry: { at: 'driver: return VM_FAULT_RETRY', run: (w) => w.ret(VM_FAULT_RETRY) },
    faulted: {
      at: 'driver: hmm_range_fault(&range, true)',
      run: (w, l) => {
        const rc = l.result;
        l.result = 0;
        if (rc === -EAGAIN) return 'wait'; // v5.3: hmm_range_fault already dropped mmap_sem
        if (rc < 0) {
          upRead(w, mmapLock(w, l.src));
          return rc === -EBUSY ? 'wait' : w.call(hmmRangeUnregister, 'sigbus', l.range);
        }
        return 'lock';
      },
    },
    sigbus: { at: 'driver: return VM_FAULT_SIGBUS', run: (w) => w.ret(VM_FAULT_SIGBUS) },
    lock: {
      at: 'driver: mutex_lock(update)',
      run: (w, l) => mutexLock(w, updateLock(w, l.dev)) || 'test',
    },
    test: {
      at: 'driver: if (hmm_range_valid(&range)) insert, else retry',
      run: (w, l) => {
        assertHeld(w, updateLock(w, l.dev), 'hmm2019_fault');
        if (hmmRangeValid(w, l.range)) return 'insert';
        mutexUnlock(w, updateLock(w, l.dev));
        upRead(w, mmapLock(w, l.src));
        return 'wait';
      },
    },
    insert: {
      at: 'driver: vmf_insert_pfn(vma, addr, range.pfns[0])',
      run: (w, l) => {
        const b = insertPfnBusy(w, l.vma);
        if (b) return b;
        vmfInsertPfnProt(w, l.vma, l.vpn, hmmPfnToPfn(w.obj(HMM_RANGE, l.range).pfn), false);
        mutexUnlock(w, updateLock(w, l.dev));
        upRead(w, mmapLock(w, l.src));
        return w.call(hmmRangeUnregister, 'done', l.range);
      },
    },
    done: { at: 'driver: return VM_FAULT_NOPAGE', run: (w) => w.ret(VM_FAULT_NOPAGE) },
  },
});

/** ops->sync_cpu_device_pagetables: clear the mirror under the update lock. */
const sync = lib.routine({
  name: 'hmm2019_sync',
  params: ['mirror', 'start', 'end', 'event', 'blockable'],
  locals: ['dev'],
  steps: {
    lock: {
      at: 'driver: mutex_lock(update)',
      run: (w, l) => {
        const dev = deref(w.obj(HMM_MIRROR, l.mirror).priv, 'hmm_mirror.priv');
        const b = mutexLock(w, updateLock(w, dev));
        if (b) return b;
        l.dev = dev;
        const [a, z] = sourceRangeToMirror(w, dev, l.start, l.end);
        return a === z ? 'unlock' : w.call(zapVmaPtes, 'unlock', deref(w.obj(MIRROR, dev).vma, 'mirror.vma'), a, z);
      },
    },
    unlock: {
      at: 'driver: mutex_unlock(update)',
      run: (w, l) => {
        mutexUnlock(w, updateLock(w, l.dev));
        return w.ret(0);
      },
    },
  },
});

export default defineDriver({
  name: 'b06-buggy',
  summary: 'a 2019 hmm_mirror design that trusts the range->valid bool (B-06, ABA)',
  library: lib,
  vmaFlags: VM_PFNMAP | VM_IO | VM_DONTCOPY | VM_DONTDUMP | VM_SHARED | VM_READ,
  fault,
  routines: [fault, sync],
  needs: { hmm: true },
  attach: (w, dev) => {
    const d = w.obj(MIRROR, dev);
    hmmMirrorRegister(w, deref(d.hmirror, 'mirror.hmirror'), deref(d.srcMm, 'mirror.srcMm'), sync, undefined, dev, deref(d.mn, 'mirror.mn'));
  },
});
