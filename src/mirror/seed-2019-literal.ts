/**
 * Variant `seed-2019-literal` — the fault handler exactly as the Oct 2 2019 e-mail wrote it
 * (reference §7.2 R1), on the v5.3 HMM API:
 *
 *   again:
 *     hmm_range_register(&range);
 *     hmm_range_snapshot(&range);
 *     take_lock(kvmms->update);
 *     if (!hmm_range_valid(&range)) {          // inverted: inserts only when invalid
 *       vm_insert_pfn(); drop_lock(kvmms->update); hmm_range_unregister(&range);
 *       return VM_FAULT_NOPAGE;
 *     }
 *     drop_lock(kvmms->update);
 *     goto again;                              // re-registers without unregistering
 *
 * One addition: hmm_range_snapshot asserts the source mmap_sem (lockdep), which the e-mail does
 * not take; we take it for read around the snapshot (trylock, else VM_FAULT_RETRY) as the
 * documented pattern does, so that the checker reports the inverted test rather than the missing
 * lock. The snapshot's return value is ignored, as in the e-mail.
 */
import { SEED_2019_LITERAL_FOOTPRINTS } from './footprints/seed-2019-literal.js';
import { VM_FAULT_NOPAGE, VM_FAULT_RETRY, VM_FAULT_SIGBUS } from '../kernel/flags.js';
import { assertHeld, downReadTrylock, mmapLock, mutexLock, mutexUnlock, upRead } from '../kernel/locks.js';
import { hmmRangeSnapshot, hmmRangeUnregister, hmmRangeValid } from '../kernel/hmm/hmm-v53.js';
import { hmmPfnToPfn, hmmPfnWritable } from '../kernel/hmm/hmm-pfn.js';
import { insertPfnBusy, vmfInsertPfnProt } from '../kernel/ops/insert.js';
import { HMM_RANGE } from '../kernel/structs.js';
import { vmaMm } from '../kernel/pgtable.js';
import { MIRROR_VMA_FLAGS, updateLock } from './device.js';
import { Library } from '../world/registry.js';
import { attachSeedSync, SEED_SYNC_LIB, seedRangeRegister, seedSync } from './seed-sync.js';
import { defineDriver } from '../driver/define.js';

/** This design's routine library (see src/world/registry.ts). */
const SEED_2019_LITERAL_LIB = new Library('seed-2019-literal', [SEED_SYNC_LIB], { kind: 'driver', sources: ['seed e-mail', 'model'] });
SEED_2019_LITERAL_LIB.declare(SEED_2019_LITERAL_FOOTPRINTS);

const seedLiteralFault = SEED_2019_LITERAL_LIB.routine({
  name: 'kvm_mirror_page_fault',
  params: ['vma', 'vpn', 'write'],
  locals: ['dev', 'src', 'range'],
  steps: {
    register: {
      at: 'seed e-mail: hmm_range_register(&range)',
      run: (w, l) => seedRangeRegister(w, l, 'lockSource'),
    },
    lockSource: {
      at: 'model: mmap_read_trylock(source mm) (added: hmm_range_snapshot asserts it)',
      run: (w, l) => {
        l.result = 0;
        if (!downReadTrylock(w, mmapLock(w, l.src))) {
          upRead(w, mmapLock(w, vmaMm(w, l.vma)));
          return w.ret(VM_FAULT_RETRY);
        }
        return w.call(hmmRangeSnapshot, 'unlockSource', l.range);
      },
    },
    unlockSource: {
      at: 'model: mmap_read_unlock(source mm)',
      run: (w, l) => {
        upRead(w, mmapLock(w, l.src));
        l.result = 0; // the e-mail ignores the snapshot's return value
        return 'lock';
      },
    },
    lock: {
      at: 'seed e-mail: take_lock(kvmms->update)',
      run: (w, l) => {
        const b = mutexLock(w, updateLock(w, l.dev)); // take_lock = mutex_lock
        if (b) return b;
        return 'test';
      },
    },
    test: {
      at: 'seed e-mail: if (!hmm_range_valid(&range)) vm_insert_pfn()',
      run: (w, l) => {
        const update = updateLock(w, l.dev);
        assertHeld(w, update, 'kvm_mirror_page_fault');
        if (hmmRangeValid(w, l.range)) {
          mutexUnlock(w, update);
          return 'register'; // goto again
        }
        return 'insert';
      },
    },
    // The insert is a step of its own: the test above is a plain read of range->valid, and only
    // the update lock (which the sync callback takes too) orders the two against an invalidation.
    insert: {
      at: 'seed e-mail: vm_insert_pfn()',
      run: (w, l) => {
        const update = updateLock(w, l.dev);
        const b = insertPfnBusy(w, l.vma);
        if (b) return b;
        const hpfn = w.obj(HMM_RANGE, l.range).pfn;
        const pfn = hmmPfnToPfn(hpfn);
        if (pfn === 0) {
          w.bug(`vm_insert_pfn of an invalid range->pfns entry (${hpfn}): the snapshot failed and its return value was ignored`);
          mutexUnlock(w, update);
          return w.ret(VM_FAULT_SIGBUS);
        }
        vmfInsertPfnProt(w, l.vma, l.vpn, pfn, hmmPfnWritable(hpfn) && l.write !== 0);
        mutexUnlock(w, update);
        return w.call(hmmRangeUnregister, 'done', l.range);
      },
    },
    done: { at: 'seed e-mail: return VM_FAULT_NOPAGE', run: (w) => w.ret(VM_FAULT_NOPAGE) },
  },
});

export const seed2019Literal = defineDriver({
  name: 'seed-2019-literal',
  library: SEED_2019_LITERAL_LIB,
  summary: 'the fault handler of the Oct 2019 e-mail: inverted range->valid test, re-register without unregister',
  reproduces: ['R1'],
  vmaFlags: MIRROR_VMA_FLAGS,
  fault: seedLiteralFault,
  routines: [seedLiteralFault, seedSync],
  needs: { hmm: true },
  attach: attachSeedSync,
});
