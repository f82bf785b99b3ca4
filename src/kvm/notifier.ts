/**
 * KVM's mmu_notifier callbacks (virt/kvm/kvm_main.c, v6.18 semantics, reference §3.1). KVM reacts
 * only to invalidations of hvas that back a memslot; start bumps in_progress, accumulates the gfn
 * range and zaps the sptes before returning (so the page may be freed after start returns); end
 * bumps the sequence *before* dropping in_progress, which the fault path's retry check pairs with.
 * Each callback is one step: the mmu_lock critical section (see structs.ts).
 */
import type { World } from '../world/world.js';
import { MN } from '../kernel/structs.js';
import { deref } from '../kernel/ref.js';
import { KVM } from './structs.js';
import { hvaRangeToGfns, spte } from './topology.js';
import { KVM_LIB } from './library.js';

/** kvm_mmu_unmap_gfn_range / kvm_flush_remote_tlbs: drop sptes of [lo, hi). */
function zapGfns(w: World, kvm: number, lo: number, hi: number): void {
  for (let g = lo; g < hi; g++) {
    const e = spte(w, kvm, g);
    e.pfn = 0;
    e.write = 0;
    e.gen = 0;
  }
}

export const kvmMmuNotifierInvalidateRangeStart = KVM_LIB.routine({
  name: 'kvm_mmu_notifier_invalidate_range_start',
  params: ['mn', 'mm', 'start', 'end', 'event', 'blockable'],
  steps: {
    zap: {
      at: 'virt/kvm/kvm_main.c:kvm_mmu_notifier_invalidate_range_start',
      run: (w, l) => {
        const k = deref(w.obj(MN, l.mn).priv, 'mmu_notifier.priv');
        const [lo, hi] = hvaRangeToGfns(w, k, l.start, l.end);
        if (lo === hi) return w.ret(0); // no memslot overlaps: mmu_lock is not even taken
        const kvm = w.obj(KVM, k);
        // kvm_mmu_invalidate_begin + kvm_mmu_invalidate_range_add
        kvm.invalidateInProgress = kvm.invalidateInProgress + 1;
        if (kvm.invalidateInProgress === 1) {
          kvm.rangeStart = lo;
          kvm.rangeEnd = hi;
        } else {
          kvm.rangeStart = Math.min(kvm.rangeStart, lo);
          kvm.rangeEnd = Math.max(kvm.rangeEnd, hi);
        }
        zapGfns(w, k, lo, hi);
        return w.ret(0);
      },
    },
  },
});

export const kvmMmuNotifierInvalidateRangeEnd = KVM_LIB.routine({
  name: 'kvm_mmu_notifier_invalidate_range_end',
  params: ['mn', 'mm', 'start', 'end', 'event', 'blockable'],
  steps: {
    end: {
      at: 'virt/kvm/kvm_main.c:kvm_mmu_invalidate_end',
      run: (w, l) => {
        const k = deref(w.obj(MN, l.mn).priv, 'mmu_notifier.priv');
        const [lo, hi] = hvaRangeToGfns(w, k, l.start, l.end);
        if (lo === hi) return w.ret(0);
        const kvm = w.obj(KVM, k);
        kvm.invalidateSeq = kvm.invalidateSeq + 1; // then smp_wmb()
        kvm.invalidateInProgress = kvm.invalidateInProgress - 1;
        if (kvm.invalidateInProgress < 0) w.bug(`kvm ${k}: mmu_invalidate_in_progress went negative (WARN_ON_ONCE)`);
        return w.ret(0);
      },
    },
  },
});

export const kvmMmuNotifierRelease = KVM_LIB.routine({
  name: 'kvm_mmu_notifier_release',
  params: ['mn', 'mm'],
  steps: {
    flush: {
      at: 'virt/kvm/kvm_main.c:kvm_mmu_notifier_release (kvm_flush_shadow_all)',
      run: (w, l) => {
        const k = deref(w.obj(MN, l.mn).priv, 'mmu_notifier.priv');
        zapGfns(w, k, 0, w.layout.dims.kvmGfns);
        return w.ret(0);
      },
    },
  },
});
