/**
 * A broken driver: the corrected design (the built-in `interval`: its fault path, install and
 * pfn_mkwrite, which vmamirror exports for designs built on them) with an invalidate callback of
 * its own that forgets the update lock. The checker reports its unlocked mmu_interval_set_seq as
 * a data race (kernel-bug) on any scenario where the callback runs:
 * `vmamirror check exit --driver examples/drivers/forgets-update-lock.ts`.
 */
import { defineDriver, Library, INTERVAL_LIB, intervalFault, installPfn, intervalPfnMkwrite, attachInterval, MIRROR, MIRROR_VMA_FLAGS } from 'vmamirror';
import { INTERVAL_SEQ } from 'vmamirror';
import { deviceOfSub, sourceRangeToMirror, deref, mmuIntervalSetSeq, zapVmaPtes } from 'vmamirror';

// Its own library, using the corrected design's: its routines may be listed as this driver's.
const lib = new Library('forgets-update-lock', [INTERVAL_LIB], { kind: 'driver', sources: ['mirror'] });

const invalidate = lib.routine({
  name: 'ful_invalidate',
  params: ['sub', 'start', 'end', 'event', 'blockable', 'curSeq'],
  counters: { curSeq: INTERVAL_SEQ },
  steps: {
    zap: {
      at: 'mirror: mmu_interval_set_seq + zap_vma_ptes (no mutex_lock(update): the bug)',
      run: (w, l) => {
        const dev = deviceOfSub(w, l.sub);
        mmuIntervalSetSeq(w, l.sub, l.curSeq);
        const [a, b] = sourceRangeToMirror(w, dev, l.start, l.end);
        return a === b ? w.ret(1) : w.call(zapVmaPtes, 'done', deref(w.obj(MIRROR, dev).vma, 'mirror.vma'), a, b);
      },
    },
    done: { at: 'mirror: return true', run: (w) => w.ret(1) },
  },
});

export default defineDriver({
  name: 'forgets-update-lock',
  summary: 'the corrected design with a callback that forgets the update lock',
  library: lib,
  vmaFlags: MIRROR_VMA_FLAGS,
  fault: intervalFault,
  pfnMkwrite: intervalPfnMkwrite,
  routines: [intervalFault, installPfn, intervalPfnMkwrite, invalidate],
  needs: { intervalNotifier: true },
  attach: (w, dev) => attachInterval(w, dev, installPfn, invalidate),
});
