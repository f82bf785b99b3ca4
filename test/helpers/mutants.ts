/**
 * The smallest race of the catalogue (two actors, one page) and mutants of the corrected design,
 * for checking the checker: a fault path that always retries
 * (a livelock once the invalidations stop) and an invalidate callback that never drops the update
 * lock (the next fault sleeps forever).
 */
import { interval, intervalFault, INTERVAL_LIB } from '../../src/mirror/interval.js';
import { INSTALL_RETRY } from '../../src/mirror/device.js';
import { deviceOfSub, MIRROR, sourceRangeToMirror, updateLock, type MirrorVariant } from '../../src/mirror/device.js';
import { deref } from '../../src/kernel/ref.js';
import { mmuIntervalReadRetry, mmuIntervalSetSeq } from '../../src/kernel/notifier/interval.js';
import { insertPfnBusy, vmfInsertPfnProt } from '../../src/kernel/ops/insert.js';
import { hmmPfnToPfn, hmmPfnWritable } from '../../src/kernel/hmm/hmm-pfn.js';
import { mmput } from '../../src/kernel/ops/exit.js';
import { mutexLock } from '../../src/kernel/locks.js';
import { zapVmaPtes } from '../../src/kernel/ops/zap.js';
import { MIN } from '../../src/kernel/structs.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { Library } from '../../src/world/registry.js';
import type { AnyRoutine } from '../../src/world/routine.js';

/** The mutants are drivers of their own: the corrected design's library plus the mutated routine. */
const LIB = new Library('test-mutants', [INTERVAL_LIB]);

const alwaysRetry = LIB.routine({
  name: 'test_mirror_install_always_retry',
  params: ['vma', 'vpn', 'dev', 'seq', 'hpfn', 'write'],
  steps: { install: { at: 'mutant: read_retry inverted', run: (w) => w.ret(INSTALL_RETRY) } },
});

/** The corrected design with another install step (what the fault path does under the update lock), from `library`. */
export function withInstall(name: string, library: Library, install: AnyRoutine): MirrorVariant {
  return {
    ...interval,
    library,
    name,
    reproduces: ['mutant'],
    attach(w, dev) {
      interval.attach(w, dev);
      w.obj(MIRROR, dev).install = w.routineRef(install);
    },
  };
}

export const retryForever = withInstall('test-retry-forever', LIB, alwaysRetry);

const keepsLock = LIB.routine({
  name: 'test_mirror_invalidate_keeps_lock',
  params: ['sub', 'start', 'end', 'event', 'blockable', 'curSeq'],
  steps: {
    lock: {
      at: 'mutant: mutex_lock(update), never unlocked',
      run: (w, l) => {
        const dev = deviceOfSub(w, l.sub);
        const b = mutexLock(w, updateLock(w, dev));
        if (b) return b;
        mmuIntervalSetSeq(w, l.sub, l.curSeq);
        const [start, end] = sourceRangeToMirror(w, dev, l.start, l.end);
        return w.call(zapVmaPtes, 'done', deref(w.obj(MIRROR, dev).vma, 'mirror.vma'), start, end);
      },
    },
    done: { at: 'mutant: return without mutex_unlock', run: (w) => w.ret(1) },
  },
});

export const forgetsUnlock: MirrorVariant = {
  ...interval,
  library: LIB,
  name: 'test-forgets-unlock',
  reproduces: ['mutant'],
  attach(w, dev) {
    interval.attach(w, dev);
    w.obj(MIN, deref(w.obj(MIRROR, dev).sub, 'mirror.sub')).invalidate = w.routineRef(keepsLock);
  },
};

/**
 * The callback that forgets the driver's update lock: mmu_interval_set_seq and the zap without
 * mutex_lock(update). Nothing then orders it against the fault's read_retry + insert, and a fault
 * that checked the sequence before set_seq installs after the zap. (Caught only because the
 * install is two steps, as in the C: with read_retry and the insert in one step, the step's size
 * stood in for the very lock this mutant drops.)
 */
const noUpdateLock = LIB.routine({
  name: 'test_mirror_invalidate_without_lock',
  params: ['sub', 'start', 'end', 'event', 'blockable', 'curSeq'],
  locals: ['dev'],
  steps: {
    zap: {
      at: 'mutant: mmu_interval_set_seq + zap_vma_ptes, no mutex_lock(update)',
      run: (w, l) => {
        l.dev = deviceOfSub(w, l.sub);
        mmuIntervalSetSeq(w, l.sub, l.curSeq);
        const [a, b] = sourceRangeToMirror(w, l.dev, l.start, l.end);
        if (a === b) return w.ret(1);
        return w.call(zapVmaPtes, 'done', deref(w.obj(MIRROR, l.dev).vma, 'mirror.vma'), a, b);
      },
    },
    done: { at: 'mutant: return true', run: (w) => w.ret(1) },
  },
});

export const forgetsUpdateLock: MirrorVariant = {
  ...interval,
  library: LIB,
  name: 'test-forgets-update-lock',
  reproduces: ['mutant'],
  attach(w, dev) {
    interval.attach(w, dev);
    w.obj(MIN, deref(w.obj(MIRROR, dev).sub, 'mirror.sub')).invalidate = w.routineRef(noUpdateLock);
  },
};

/**
 * The original mistake written freshly: a fault path whose install re-checks the sequence and
 * inserts in ONE step, without the update lock — the step's size standing in for the lock. The
 * other steps are the corrected design's.
 */
const faultSteps = Object.fromEntries(intervalFault.labels.map((label, i) => [label, intervalFault.steps[i]]));
const freshFault = LIB.routine({
  name: 'test_fresh_install',
  params: ['vma', 'vpn', 'write'],
  locals: ['dev', 'src', 'srcVpn', 'sub', 'seq', 'hpfn'],
  steps: {
    ...faultSteps,
    lock: {
      at: 'mutant: mmu_interval_read_retry + vmf_insert_pfn_prot in one step, no mutex_lock(update)',
      run: (w, l) => {
        const b = insertPfnBusy(w, l.vma);
        if (b) return b;
        if (mmuIntervalReadRetry(w, l.sub, l.seq)) {
          l.seq = 0;
          l.hpfn = 0;
          return 'begin';
        }
        vmfInsertPfnProt(w, l.vma, l.vpn, hmmPfnToPfn(l.hpfn), hmmPfnWritable(l.hpfn) && l.write !== 0);
        return w.call(mmput, 'done', l.src);
      },
    },
  },
});

export const freshInstallWithoutLock: MirrorVariant = {
  ...interval,
  library: LIB,
  name: 'test-fresh-install-without-lock',
  reproduces: ['mutant'],
  fault: freshFault,
  routines: [freshFault, ...interval.routines.slice(1)],
};

/** The introspector reads the mirror while kswapd reclaims the source page. */
export const readVsReclaim: ScenarioSpec = {
  name: 'read-vs-reclaim',
  description: 'the introspector reads the mirror while kswapd reclaims the source page',
  pages: 1,
  actors: [
    { name: 'intro', ops: [{ op: 'access', mm: 'introspector', page: 0 }] },
    { name: 'kswapd', ops: [{ op: 'reclaim', page: 0 }] },
  ],
};
