/**
 * The notifier callback of the 2019 e-mail (`kvmms_notifier_start`), as an hmm_mirror
 * sync_cpu_device_pagetables: take_lock(update); clear_pte(start, end); drop_lock(update).
 * `clear_pte` is modelled as zap_vma_ptes of the mirror range (Jérôme's own follow-up used
 * unmap_mapping_range), so the seed variants are judged on their fault path; the raw clear is the
 * `raw-clear` variant. take_lock is a plain mutex_lock, as written: it sleeps even when the
 * invalidation is non-blockable (defect (d) of R1).
 */
import { SEED_SYNC_FOOTPRINTS } from './footprints/seed-sync.js';
import { mutexLock } from '../kernel/locks.js';
import { HMM_MIRROR } from '../kernel/structs.js';
import { deviceOfVma, MIRROR, mirrorToSource, updateLock, updateUnlockStep, zapMirror } from './device.js';
import { hmmMirrorRegister, hmmRangeRegister } from '../kernel/hmm/hmm-v53.js';
import type { World } from '../world/world.js';
import { deref } from '../kernel/ref.js';
import { Library } from '../world/registry.js';
import { defineActorNames } from '../world/layout.js';
import { KERNEL } from '../kernel/library.js';

/** The frame of both seed fault handlers that `seedRangeRegister` fills. */
interface SeedFaultFrame {
  vma: number;
  vpn: number;
  dev: number;
  src: number;
  range: number;
}

/**
 * Both seed fault handlers' first step: `hmm_range_register(&range)` of the one source page the
 * mirror page shows (the range lives on the faulting task's stack), then `resume`.
 */
export function seedRangeRegister(w: World, l: SeedFaultFrame, resume: string): number {
  l.dev = deviceOfVma(w, l.vma);
  const d = w.obj(MIRROR, l.dev);
  l.src = deref(d.srcMm, 'mirror.srcMm');
  l.range = w.actor; // `struct hmm_range range` lives on the faulting task's stack
  const s = mirrorToSource(w, l.vma, l.vpn);
  return w.call(hmmRangeRegister, resume, l.range, deref(d.hmirror, 'mirror.hmirror'), s, s + 1);
}

/**
 * Both seed fault handlers keep their task's hmm_range (an actor's row) in `range`, set by their
 * `register` step (layout.ts `ActorNames`). The literal one's `goto again` comes back to that step
 * with the number still there, which no permutation can tell from a 0 not yet set: actor symmetry
 * refuses it there (the engine's equivariance check).
 */
defineActorNames({
  name: 'seed-fault-range',
  locals: ['kvm_mirror_page_fault', 'kvm_mirror_page_fault_fixed'].map((routine) => ({ routine, local: 'range', encoding: 'index' as const, setBy: 'register' })),
});

/** This design's routine library (see src/world/registry.ts). */
export const SEED_SYNC_LIB = new Library('seed-sync', [KERNEL], { kind: 'driver', sources: ['seed e-mail'] });
SEED_SYNC_LIB.declare(SEED_SYNC_FOOTPRINTS);

export const seedSync = SEED_SYNC_LIB.routine({
  name: 'kvmms_notifier_start',
  params: ['mirror', 'start', 'end', 'event', 'blockable'],
  locals: ['dev'],
  steps: {
    lock: {
      at: 'seed e-mail: take_lock(kvmms->update)',
      run: (w, l) => {
        const dev = deref(w.obj(HMM_MIRROR, l.mirror).priv, 'hmm_mirror.priv');
        const b = mutexLock(w, updateLock(w, dev)); // take_lock = mutex_lock, even when !blockable (defect (d))
        if (b) return b;
        l.dev = dev;
        return zapMirror(w, dev, l.start, l.end, 'unlock');
      },
    },
    unlock: updateUnlockStep('seed e-mail: drop_lock(kvmms->update)', 0),
  },
});

/** Both seed designs' .mmap: hmm_mirror_register on the source, `kvmms_notifier_start` as sync_cpu_device_pagetables. */
export function attachSeedSync(w: World, dev: number): void {
  const d = w.obj(MIRROR, dev);
  hmmMirrorRegister(w, deref(d.hmirror, 'mirror.hmirror'), deref(d.srcMm, 'mirror.srcMm'), seedSync, undefined, dev, deref(d.mn, 'mirror.mn'));
}
