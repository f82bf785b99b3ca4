/**
 * Small drivers for the generic checks (test/driver/*.test.ts), written with `defineDriver`: the
 * corrected design's fault path and interval notifier (the built-in `interval`'s routines, called
 * from the driver's own), plus a classic mmu_notifier that counts the invalidations in progress in
 * the driver's own state — the bracket KVM's mmu_invalidate_in_progress and the ODP/amdgpu
 * notifier counts are. `decrement: false` is the bug: the end forgets to drop the count.
 */
import {
  defineDriver,
  defineStruct,
  deref,
  KERNEL,
  Library,
  MIRROR,
  type DriverSpec,
  type Property,
  VM_DONTCOPY,
  VM_DONTDUMP,
  VM_IO,
  VM_PFNMAP,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
} from '../../src/driver/api.js';
import { attachInterval } from '../../src/mirror/device.js';
import { INTERVAL_LIB, installPfn, intervalFault, intervalInvalidate } from '../../src/mirror/interval.js';
import { mmuNotifierRegister } from '../../src/kernel/notifier/mmu-notifier.js';
import { MN } from '../../src/kernel/structs.js';
import type { MirrorVariant } from '../../src/mirror/device.js';

/** The driver's per-device object: how many invalidations are between start and end, and its subscription. */
export const COUNTER = defineStruct('test_inval_counter', ['active', 'mn'] as const, { active: 'atomic', mn: 'stable' });

export interface CountingOptions {
  readonly name: string;
  /** Whether invalidate_range_end drops the count (false: the bug). */
  readonly decrement?: boolean;
  /** Whether invalidate_range_start raises it (false: the other bug). */
  readonly increment?: boolean;
  /** Whether the count names its subscription (`balanced[].subscription`): the check then knows release. */
  readonly releaseAware?: boolean;
  readonly properties?: readonly Property[];
  /** Extra DriverSpec fields. */
  readonly spec?: Partial<DriverSpec>;
}

/** A counting driver: `interval`'s fault and callback, and a classic notifier counting start/end in COUNTER. */
export function countingDriver(o: CountingOptions): MirrorVariant {
  const lib = new Library(`test-${o.name}`, [KERNEL, INTERVAL_LIB], { kind: 'driver', sources: ['mirror', 'counter'] });
  const fault = lib.routine({
    name: `${o.name.replaceAll('-', '_')}_fault`,
    params: ['vma', 'vpn', 'write'],
    steps: {
      fault: { at: 'mirror: the corrected design’s fault', run: (w, l) => w.call(intervalFault, 'done', l.vma, l.vpn, l.write) },
      done: { at: 'mirror: return', run: (w, l) => w.ret(l.result) },
    },
  });
  const counterOf = (w: Parameters<MirrorVariant['attach']>[0], mn: number) => deref(w.obj(MN, mn).priv, 'mmu_notifier.priv');
  /** A callback that adds `delta` to the count (or, `done` false, forgets to: the bug). */
  const counting = (op: 'start' | 'end', delta: 1 | -1, done: boolean) =>
    lib.routine({
      name: `${o.name.replaceAll('-', '_')}_${op}`,
      params: ['mn', 'mm', 'start', 'end', 'event', 'blockable'],
      steps: {
        count: {
          at: done ? `counter: atomic_${delta > 0 ? 'inc' : 'dec'}(&active)` : `counter: (no atomic_${delta > 0 ? 'inc' : 'dec'}: the bug)`,
          run: (w, l) => {
            const c = w.obj(COUNTER, counterOf(w, l.mn));
            if (done) c.active = c.active + delta;
            return w.ret(0);
          },
        },
      },
    });
  const start = counting('start', 1, o.increment !== false);
  const end = counting('end', -1, o.decrement !== false);
  return defineDriver({
    name: o.name,
    summary: 'the corrected design, plus a classic mmu_notifier counting the invalidations in progress',
    library: lib,
    vmaFlags: VM_PFNMAP | VM_IO | VM_DONTCOPY | VM_DONTDUMP | VM_SHARED | VM_READ | VM_WRITE,
    fault,
    routines: [fault, start, end],
    needs: { intervalNotifier: true, mmuNotifier: true },
    attach: (w, dev) => {
      attachInterval(w, dev, installPfn, intervalInvalidate);
      const d = w.obj(MIRROR, dev);
      mmuNotifierRegister(w, deref(d.mn, 'mirror.mn'), deref(d.srcMm, 'mirror.srcMm'), { invalidateRangeStart: start, invalidateRangeEnd: end }, dev);
    },
    state: [
      {
        struct: COUNTER,
        count: 1,
        init: (w, dev) => {
          w.obj(COUNTER, dev).mn = w.obj(MIRROR, dev).mn;
        },
      },
    ],
    balanced: [{ struct: COUNTER, field: 'active', why: 'every invalidate_range_start had its end', ...(o.releaseAware !== false && { subscription: 'mn' }) }],
    ...(o.properties && { properties: o.properties }),
    ...o.spec,
  });
}
