/**
 * Variant `raw-clear` — reproduces R5 (reference §7.2), Paolo's question in the seed thread. The
 * fault path is the corrected one (`interval`), but the invalidate callback clears the mirror's
 * ptes with a raw pte write (the e-mail's `clear_pte(start, end)`), which runs no
 * invalidate_range_start/end on the introspector's mm. The introspector's own KVM therefore never
 * hears of it and keeps its EPT entry for the mirror address after the source frees the page.
 */
import { INTERVAL_SEQ } from '../kernel/structs.js';
import { RAW_CLEAR_FOOTPRINTS } from './footprints/raw-clear.js';
import { assertHeld, mutexUnlock, ptl, spinLock, spinUnlock } from '../kernel/locks.js';
import { mmuIntervalSetSeq } from '../kernel/notifier/interval.js';
import { clearPte } from '../kernel/pgtable.js';
import { attachInterval, MIRROR, MIRROR_VMA_FLAGS, sourceRangeToMirror, updateLock, updateLockStep } from './device.js';
import { deref } from '../kernel/ref.js';
import { INTERVAL_LIB, installPfn, intervalFault, intervalPfnMkwrite } from './interval.js';
import { Library } from '../world/registry.js';
import { defineDriver } from '../driver/define.js';

/** This design's routine library (see src/world/registry.ts). */
const RAW_CLEAR_LIB = new Library('raw-clear', [INTERVAL_LIB], { kind: 'driver', sources: ['mirror'] });
RAW_CLEAR_LIB.declare(RAW_CLEAR_FOOTPRINTS);

const rawClearInvalidate = RAW_CLEAR_LIB.routine({
  name: 'mirror_invalidate_raw_clear',
  params: ['sub', 'start', 'end', 'event', 'blockable', 'curSeq'],
  locals: ['dev'],
  counters: { curSeq: INTERVAL_SEQ },
  steps: {
    lock: updateLockStep('mirror: take_lock(update)', 'clear'), // mutex_lock / mutex_trylock if !blockable
    clear: {
      at: 'mirror: mmu_interval_set_seq + clear_pte(start, end) (raw, no notifier)',
      run: (w, l) => {
        const d = w.obj(MIRROR, l.dev);
        const intr = deref(d.intrMm, 'mirror.intrMm');
        assertHeld(w, updateLock(w, l.dev), 'mmu_interval_set_seq');
        const b = spinLock(w, ptl(w, intr)); // pte_offset_map_lock
        if (b) return b;
        mmuIntervalSetSeq(w, l.sub, l.curSeq);
        const [start, end] = sourceRangeToMirror(w, l.dev, l.start, l.end);
        for (let v = start; v < end; v++) clearPte(w, intr, v);
        spinUnlock(w, ptl(w, intr));
        mutexUnlock(w, updateLock(w, l.dev));
        return w.ret(1);
      },
    },
  },
});

export const rawClear = defineDriver({
  name: 'raw-clear',
  library: RAW_CLEAR_LIB,
  summary: 'correct fault path, but the callback clears mirror ptes with a raw write that fires no notifier on the introspector',
  reproduces: ['R5'],
  vmaFlags: MIRROR_VMA_FLAGS,
  fault: intervalFault,
  pfnMkwrite: intervalPfnMkwrite,
  routines: [intervalFault, installPfn, intervalPfnMkwrite, rawClearInvalidate],
  needs: { intervalNotifier: true },
  attach: (w, dev) => attachInterval(w, dev, installPfn, rawClearInvalidate),
});
