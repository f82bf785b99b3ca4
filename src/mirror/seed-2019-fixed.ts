/**
 * Variant `seed-2019-fixed` — the e-mail's handler with the test flipped into the documented v5.3
 * pattern (reference §2.1): register once, wait until valid, fault under the source mmap_sem,
 * take the update lock, *use the pfns if the range is valid*, else retry. It still trusts the
 * `range->valid` boolean, which an invalidation that starts and ends between the walk and the
 * check leaves true again: Jason Gunthorpe's ABA (R2).
 */
import { SEED_2019_FIXED_FOOTPRINTS } from './footprints/seed-2019-fixed.js';
import { EAGAIN, EBUSY, VM_FAULT_NOPAGE, VM_FAULT_RETRY, VM_FAULT_SIGBUS } from '../kernel/flags.js';
import { assertHeld, downReadTrylock, mmapLock, mutexLock, mutexUnlock, upRead } from '../kernel/locks.js';
import { hmmRangeFaultV53, hmmRangeUnregister, hmmRangeValid, hmmRangeWaitUntilValid } from '../kernel/hmm/hmm-v53.js';
import { hmmPfnToPfn, hmmPfnWritable } from '../kernel/hmm/hmm-pfn.js';
import { insertPfnBusy, vmfInsertPfnProt } from '../kernel/ops/insert.js';
import { HMM_RANGE } from '../kernel/structs.js';
import { vmaMm } from '../kernel/pgtable.js';
import { MIRROR_VMA_FLAGS, updateLock } from './device.js';
import { Library } from '../world/registry.js';
import { attachSeedSync, SEED_SYNC_LIB, seedRangeRegister, seedSync } from './seed-sync.js';
import { defineDriver } from '../driver/define.js';

/** This design's routine library (see src/world/registry.ts). */
const SEED_2019_FIXED_LIB = new Library('seed-2019-fixed', [SEED_SYNC_LIB], { kind: 'driver', sources: ['seed fix'] });
SEED_2019_FIXED_LIB.declare(SEED_2019_FIXED_FOOTPRINTS);

const seedFixedFault = SEED_2019_FIXED_LIB.routine({
  name: 'kvm_mirror_page_fault_fixed',
  params: ['vma', 'vpn', 'write'],
  locals: ['dev', 'src', 'range'],
  steps: {
    register: {
      at: 'seed fix: hmm_range_register(&range)',
      run: (w, l) => seedRangeRegister(w, l, 'wait'),
    },
    wait: {
      at: 'seed fix: hmm_range_wait_until_valid(&range)',
      run: (w, l) => {
        if (l.result < 0) return w.ret(VM_FAULT_SIGBUS);
        return w.call(hmmRangeWaitUntilValid, 'lockSource', l.range);
      },
    },
    lockSource: {
      at: 'seed fix: down_read_trylock(source mmap_sem)',
      run: (w, l) => {
        l.result = 0;
        if (!downReadTrylock(w, mmapLock(w, l.src))) {
          upRead(w, mmapLock(w, vmaMm(w, l.vma)));
          return w.call(hmmRangeUnregister, 'retry', l.range);
        }
        return w.call(hmmRangeFaultV53, 'faulted', l.range, l.write);
      },
    },
    retry: { at: 'seed fix: return VM_FAULT_RETRY', run: (w) => w.ret(VM_FAULT_RETRY) },
    faulted: {
      at: 'seed fix: hmm_range_fault(&range, true)',
      run: (w, l) => {
        const rc = l.result;
        l.result = 0;
        if (rc === -EAGAIN) return 'wait'; // v5.3: hmm_range_fault already dropped mmap_sem
        if (rc < 0) {
          upRead(w, mmapLock(w, l.src));
          if (rc === -EBUSY) return 'wait';
          return w.call(hmmRangeUnregister, 'sigbus', l.range);
        }
        return 'lock';
      },
    },
    sigbus: { at: 'seed fix: return VM_FAULT_SIGBUS', run: (w) => w.ret(VM_FAULT_SIGBUS) },
    lock: {
      at: 'seed fix: mutex_lock(kvmms->update)',
      run: (w, l) => {
        const b = mutexLock(w, updateLock(w, l.dev)); // mutex_lock
        if (b) return b;
        return 'test';
      },
    },
    test: {
      at: 'seed fix: if (hmm_range_valid(&range)) vm_insert_pfn()',
      run: (w, l) => {
        const update = updateLock(w, l.dev);
        assertHeld(w, update, 'kvm_mirror_page_fault_fixed');
        if (!hmmRangeValid(w, l.range)) {
          mutexUnlock(w, update);
          upRead(w, mmapLock(w, l.src));
          return 'wait';
        }
        return 'insert';
      },
    },
    // Still under the update lock, which the sync callback takes too: an invalidation that cleared
    // `valid` after the test above waits for us in sync_cpu_device_pagetables and zaps what we insert.
    insert: {
      at: 'seed fix: vm_insert_pfn()',
      run: (w, l) => {
        const update = updateLock(w, l.dev);
        const b = insertPfnBusy(w, l.vma);
        if (b) return b;
        const hpfn = w.obj(HMM_RANGE, l.range).pfn;
        vmfInsertPfnProt(w, l.vma, l.vpn, hmmPfnToPfn(hpfn), hmmPfnWritable(hpfn) && l.write !== 0);
        mutexUnlock(w, update);
        upRead(w, mmapLock(w, l.src));
        return w.call(hmmRangeUnregister, 'done', l.range);
      },
    },
    done: { at: 'seed fix: return VM_FAULT_NOPAGE', run: (w) => w.ret(VM_FAULT_NOPAGE) },
  },
});

export const seed2019Fixed = defineDriver({
  name: 'seed-2019-fixed',
  library: SEED_2019_FIXED_LIB,
  summary: 'the e-mail handler with the valid test flipped (documented v5.3 pattern): still trusts the range->valid boolean',
  reproduces: ['R2'],
  vmaFlags: MIRROR_VMA_FLAGS,
  fault: seedFixedFault,
  routines: [seedFixedFault, seedSync],
  needs: { hmm: true },
  attach: attachSeedSync,
});
