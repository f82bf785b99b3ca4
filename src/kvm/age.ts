/**
 * KVM's aging callbacks (virt/kvm/kvm_main.c, layer dirty-accessed): kvm_mmu_notifier_clear_flush_young,
 * _clear_young and _test_young, each kvm_handle_hva_range over the memslots backing [start, end)
 * with kvm_age_gfn (clear) or kvm_test_age_gfn (test): on the TDP MMU, every present leaf spte
 * with the accessed bit counts as young, and aging clears the bit (kvm_tdp_mmu_age_gfn_range,
 * A/D bits enabled). clear_flush_young then flushes remote TLBs (flush_on_ret), which the model
 * has nothing to do for. Registered through the notifier ops like the invalidation callbacks.
 *
 * Steps as the invalidation callbacks': the acquire of mmu_lock for write (KVM_MMU_LOCK; v6.15+
 * ages the TDP MMU under RCU alone — CONFIG_KVM_MMU_LOCKLESS_AGING — not modelled), the walk, the
 * release. Returns 1 if any spte was young.
 */
import type { World } from '../world/world.js';
import { assertWriteHeld, writeUnlock } from '../kernel/locks.js';
import { handleHvaRangeLock, kvmOf, LOCK_AT, UNLOCK_AT } from './notifier.js';
import { kvmMmuLock, spte } from './topology.js';
import { KVM_LIB } from './library.js';

/** kvm_tdp_mmu_age_gfn_range / kvm_tdp_mmu_test_age_gfn over [lo, hi): whether any leaf spte is accessed, clearing the bits if `clear`. */
function ageGfns(w: World, kvm: number, lo: number, hi: number, clear: boolean): number {
  let young = 0;
  for (let g = lo; g < hi; g++) {
    const e = spte(w, kvm, g);
    if (e.pfn === 0 || !e.accessed) continue;
    young = 1;
    if (clear) e.accessed = 0; // tdp_mmu_clear_spte_bits(shadow_accessed_mask)
  }
  return young;
}

function defineAging(name: string, handler: string, clear: boolean) {
  return KVM_LIB.routine({
    name,
    params: ['mn', 'mm', 'start', 'end'],
    locals: ['lo', 'hi', 'young'],
    steps: {
      lock: {
        at: LOCK_AT,
        run: (w, l) => {
          const r = handleHvaRangeLock(w, l.mn, l.start, l.end);
          if (r.b === 'none') return w.ret(0);
          if (r.b) return r.b;
          l.lo = r.lo;
          l.hi = r.hi;
          return 'age';
        },
      },
      age: {
        at: `virt/kvm/kvm_main.c:kvm_handle_hva_range ${handler}`,
        run: (w, l) => {
          const k = kvmOf(w, l.mn);
          assertWriteHeld(w, kvmMmuLock(w, k), handler);
          l.young = ageGfns(w, k, l.lo, l.hi, clear);
          [l.lo, l.hi] = [0, 0];
          return 'unlock';
        },
      },
      unlock: {
        at: UNLOCK_AT,
        run: (w, l) => {
          writeUnlock(w, kvmMmuLock(w, kvmOf(w, l.mn)));
          const young = l.young;
          l.young = 0;
          return w.ret(young);
        },
      },
    },
  });
}

export const kvmMmuNotifierClearFlushYoung = defineAging('kvm_mmu_notifier_clear_flush_young', 'kvm_age_gfn', true);
export const kvmMmuNotifierClearYoung = defineAging('kvm_mmu_notifier_clear_young', 'kvm_age_gfn', true);
export const kvmMmuNotifierTestYoung = defineAging('kvm_mmu_notifier_test_young', 'kvm_test_age_gfn', false);
