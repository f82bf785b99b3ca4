/**
 * Counters and in-progress flags that must be balanced once everything has finished: an
 * invalidation count bumped in `invalidate_range_start` and dropped in its `end`, a flag set
 * around a device job. One mechanism for the kernel's own (`KERNEL_BALANCED` in properties.ts,
 * checked by `notifier-balance`) and a driver's (`DriverSpec.balanced`, checked as `unbalanced`).
 *
 * Aware of release. mm/mmu_notifier.c:mn_hlist_release unlinks every classic subscriber of an mm
 * that exits (hlist_del_init_rcu), and an invalidation already past its start then walks a list
 * that no longer holds it: its `end` never comes, and the kernel accepts that — the subscriber is
 * being torn down, and resets what it counted (virt/kvm/kvm_main.c:kvm_destroy_vm: "pending calls
 * to invalidate_range_start() have completed but no more MMU notifiers will run, so
 * mn_active_invalidate_count may remain unbalanced"). A counter declared with the `subscription`
 * that balances it is therefore not checked once release has unlinked that subscription — except
 * below zero, which only an `end` too many can cause.
 *
 * The state does not record whether an invalidation was open at the unlink, so a counter left
 * positive by a missing decrement is not told apart from a lost `end` on the schedules where the
 * subscriber was released: such a bug is found on the scenarios without exit (or before it).
 */
import type { StructDef } from '../world/layout.js';
import type { World } from '../world/world.js';
import { MN } from '../kernel/structs.js';
import { deref, isNone } from '../kernel/ref.js';
import type { Property } from '../engine/verdict.js';

/** One field of every object of a struct that must be 0 once every actor has finished. */
export interface Balanced {
  readonly struct: StructDef;
  readonly field: string;
  /** What pairs it, for the message (`kvm_mmu_invalidate_begin/_end`). */
  readonly why?: string;
  /**
   * A field of the same struct holding a reference (src/kernel/ref.ts) to the classic
   * `mmu_notifier` (struct mmuNotifier) whose start/end pairs balance the counter: once exit's
   * mmu_notifier_release has unlinked that subscription, a lost `end` is the kernel's, not a bug.
   */
  readonly subscription?: string;
}

/** Whether every actor has finished: the only state in which a balance is due. */
export function quiescent(w: World): boolean {
  for (let a = 0; a < w.layout.actorNames.length; a++) if (w.actorSp(a) !== 0) return false;
  return true;
}

/** Whether classic subscription `mn` was registered and has been unlinked from its mm since (by release). */
function unlinked(w: World, mn: number): boolean {
  const s = w.obj(MN, mn);
  return isNone(s.mm) && !(isNone(s.invalidateRangeStart) && isNone(s.invalidateRangeEnd) && isNone(s.release));
}

/**
 * The first declared field that is not 0 in `w`, as `struct[object].field is value (why)`; the
 * caller asks only at quiescence. Regions absent from the world are skipped (a KVM-less scenario).
 */
export function firstUnbalanced(w: World, decls: readonly Balanced[]): string | undefined {
  for (const d of decls) {
    if (!w.layout.has(d.struct)) continue;
    const region = w.layout.region(d.struct);
    for (let i = 0; i < region.count; i++) {
      const o = w.obj(d.struct, i) as unknown as Record<string, number>;
      const value = o[d.field];
      if (value === 0) continue;
      if (value > 0 && d.subscription !== undefined) {
        const r = o[d.subscription];
        if (!isNone(r) && unlinked(w, deref(r, `${d.struct.name}.${d.subscription}`))) continue;
      }
      return `${d.struct.name}[${w.layout.objectName(region, i)}].${d.field} is ${value}${d.why ? ` (${d.why})` : ''}`;
    }
  }
  return undefined;
}

export const UNBALANCED = 'unbalanced';

/** The `unbalanced` property over a driver's declarations. */
export function unbalanced(decls: readonly Balanced[]): Property {
  return {
    name: UNBALANCED,
    description:
      "once every actor has finished, every counter and in-progress flag the driver declared balanced is 0 (a subscriber's, unless exit's mmu_notifier_release unlinked it mid-invalidation)",
    check: (w) => (quiescent(w) ? firstUnbalanced(w, decls) : undefined),
  };
}
