/**
 * Variant `anon-vma` — the 2017–2019 "remote page" design (reference §4.6, R14), in the shape
 * of Bitdefender's 2020 v2: the source's anonymous pages are installed as *normal* ptes
 * (mk_pte + set_pte_at) in an introspector VMA that is not VM_PFNMAP, with no refcount, mapcount
 * or rmap of their own. The fault path is otherwise the corrected one (sequence
 * checked under the update lock), so what breaks is the accounting: core mm treats the
 * introspector's ptes as its own pages. Tearing them down with zap_page_range_single (zap_vma_ptes
 * refuses a non-PFNMAP VMA) runs page_remove_rmap + put_page on the source's page.
 */
import { INTERVAL_SEQ } from '../kernel/structs.js';
import { ANON_VMA_FOOTPRINTS } from './footprints/anon-vma.js';
import { VM_DONTCOPY, VM_DONTDUMP, VM_DONTEXPAND, VM_READ, VM_SHARED, VM_WRITE } from '../kernel/flags.js';
import { assertHeld, mutexUnlock, ptl, spinLock, spinUnlock } from '../kernel/locks.js';
import { mmuIntervalReadRetry, mmuIntervalSetSeq } from '../kernel/notifier/interval.js';
import { zapPageRangeSingle } from '../kernel/ops/zap.js';
import { setPte, vmaMm } from '../kernel/pgtable.js';
import { hmmPfnToPfn, hmmPfnWritable } from '../kernel/hmm/hmm-pfn.js';
import { attachInterval, INSTALL_RETRY, lockUpdateForCallback, MIRROR, sourceRangeToMirror, updateLock } from './device.js';
import { deref } from '../kernel/ref.js';
import { INTERVAL_LIB, intervalFault } from './interval.js';
import { Library } from '../world/registry.js';
import { defineDriver } from '../driver/define.js';

/** This design's routine library (see src/world/registry.ts). */
const ANON_VMA_LIB = new Library('anon-vma', [INTERVAL_LIB], { kind: 'driver', sources: ['remote_mapping'] });
ANON_VMA_LIB.declare(ANON_VMA_FOOTPRINTS);

/** Installs the snapshot as a normal pte under the ptl: set_pte_at(mk_pte(page)), no rmap, no get_page. */
const anonVmaInstall = ANON_VMA_LIB.routine({
  name: 'remote_map_page',
  params: ['vma', 'vpn', 'dev', 'seq', 'hpfn', 'write'],
  counters: { seq: INTERVAL_SEQ },
  steps: {
    install: {
      at: 'remote_mapping: mmu_interval_read_retry + set_pte_at(mk_pte(page))',
      run: (w, l) => {
        assertHeld(w, updateLock(w, l.dev), 'remote_map_page');
        const mm = vmaMm(w, l.vma);
        const b = spinLock(w, ptl(w, mm)); // pte_offset_map_lock
        if (b) return b;
        if (mmuIntervalReadRetry(w, deref(w.obj(MIRROR, l.dev).sub, 'mirror.sub'), l.seq)) {
          spinUnlock(w, ptl(w, mm));
          return w.ret(INSTALL_RETRY);
        }
        setPte(w, mm, l.vpn, hmmPfnToPfn(l.hpfn), hmmPfnWritable(l.hpfn) && l.write !== 0, false);
        spinUnlock(w, ptl(w, mm));
        return w.ret(0);
      },
    },
  },
});

const anonVmaInvalidate = ANON_VMA_LIB.routine({
  name: 'mirror_invalidate_anon_vma',
  params: ['sub', 'start', 'end', 'event', 'blockable', 'curSeq'],
  locals: ['dev'],
  counters: { curSeq: INTERVAL_SEQ },
  steps: {
    lock: {
      at: 'remote_mapping: spin_lock(user_lock)',
      run: (w, l) => {
        // Taken as the fault path takes it, as a mutex (a spin_lock would spin, not fail, when !blockable).
        const b = lockUpdateForCallback(w, l);
        if (b) return b;
        mmuIntervalSetSeq(w, l.sub, l.curSeq);
        mutexUnlock(w, updateLock(w, l.dev));
        return 'zap';
      },
    },
    zap: {
      at: 'remote_mapping: zap_page_range_single on the introspector VMA',
      run: (w, l) => {
        const d = w.obj(MIRROR, l.dev);
        const [a, b] = sourceRangeToMirror(w, l.dev, l.start, l.end);
        if (a === b) return w.ret(1);
        return w.call(zapPageRangeSingle, 'done', deref(d.intrMm, 'mirror.intrMm'), deref(d.vma, 'mirror.vma'), a, b);
      },
    },
    done: { at: 'remote_mapping: invalidate', run: (w) => w.ret(1) },
  },
});

export const anonVma = defineDriver({
  name: 'anon-vma',
  library: ANON_VMA_LIB,
  summary: "the source's anon pages installed as normal, unaccounted ptes in an introspector VMA that is not VM_PFNMAP",
  reproduces: ['R14'],
  // Bitdefender's 2020 v2 flags: no VM_PFNMAP, so core mm sees normal pages (vm_normal_page != NULL).
  vmaFlags: VM_READ | VM_WRITE | VM_SHARED | VM_DONTCOPY | VM_DONTDUMP | VM_DONTEXPAND,
  fault: intervalFault,
  routines: [intervalFault, anonVmaInstall, anonVmaInvalidate],
  needs: { intervalNotifier: true },
  attach: (w, dev) => attachInterval(w, dev, anonVmaInstall, anonVmaInvalidate),
});
