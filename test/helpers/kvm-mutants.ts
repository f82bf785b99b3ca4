/**
 * Test-local KVM mutants (test/kvm/*.test.ts): a routine copied with some steps replaced, and the
 * guest access that faults through a mutated fault, swapped into the vCPUs' programs when the
 * corrected design attaches (the programs are static data the build set before).
 */
import { guestAccess } from '../../src/kvm/guest.js';
import { OUTSIDE_GUEST_MODE, vcpu } from '../../src/kvm/tlb.js';
import { interval } from '../../src/mirror/interval.js';
import type { MirrorVariant } from '../../src/mirror/device.js';
import { programs, setPrograms } from '../../src/scenario/workload.js';
import type { Library } from '../../src/world/registry.js';
import type { AnyRoutine, Routine } from '../../src/world/routine.js';

/** A routine's steps as a spec record (its labels in order), to copy it with one step replaced. */
export function stepsOf(r: AnyRoutine): Record<string, Routine['steps'][number]> {
  return Object.fromEntries(r.labels.map((label, i) => [label, r.steps[i]]));
}

/** guest_access (with guest TLBs, no memslot updates: no kvm->srcu) whose EPT violations go to `fault`. */
export function guestAccessVia(lib: Library, name: string, fault: AnyRoutine): AnyRoutine {
  return lib.routine({
    name,
    params: ['kvm', 'gfn', 'write', 'value'],
    locals: ['srcuIdx', 'loaded', 'hit'],
    steps: {
      ...stepsOf(guestAccess),
      vmexit: {
        at: 'mutant: vcpu_enter_guest after the VM exit, as the product, faulting through the mutant',
        run: (w, l) => {
          vcpu(w, l.kvm, w.self - 1).mode = OUTSIDE_GUEST_MODE;
          if (!l.hit) return w.call(fault, 'faulted', l.kvm, l.gfn, l.write);
          const value = l.loaded;
          l.loaded = 0;
          l.hit = 0;
          return w.ret(value);
        },
      },
    },
  });
}

/** The corrected design over `lib`, with every guest access of the programs going through `access`. */
export function accessMutant(lib: Library, name: string, access: AnyRoutine): MirrorVariant {
  return opMutant(lib, name, guestAccess, access);
}

/** The corrected design over `lib`, with the programs' calls of `routine` going to `mutant`. */
export function opMutant(lib: Library, name: string, routine: AnyRoutine, mutant: AnyRoutine): MirrorVariant {
  return {
    ...interval,
    library: lib,
    name,
    reproduces: ['mutant'],
    attach(w, dev) {
      interval.attach(w, dev);
      setPrograms(
        w.layout,
        programs(w.layout).map((prog) => prog.map((op) => (op.routine === routine ? { ...op, routine: mutant } : op))),
      );
    },
  };
}
