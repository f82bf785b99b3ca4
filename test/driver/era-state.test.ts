/**
 * A kernel era with kernel objects of its own (EraSpec.state, src/driver/era.ts): its objects are
 * regions of every world a design runs in on the era, set up by its `init` before any actor, and
 * its replacement routines use them; a wrong state list is a DriverError naming the era.
 */
import { describe, expect, it } from 'vitest';
import { defineEra, withEra } from '../../src/driver/era.js';
import { DriverError } from '../../src/driver/define.js';
import { Library } from '../../src/world/registry.js';
import { KERNEL } from '../../src/kernel/library.js';
import { KVM_LIB } from '../../src/kvm/library.js';
import { KVM } from '../../src/kvm/structs.js';
import { defineStruct } from '../../src/world/layout.js';
import { interval } from '../../src/mirror/interval.js';
import { buildScenario } from '../../src/scenario/build.js';
import { checkOne } from '../../src/check/run.js';
import { invalidationCovers } from '../../src/kvm/fault.js';
import { runAllToEnd } from '../helpers/phases.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';

/** An old is_page_fault_stale that also counted its calls in a struct of the era's own. */
const STATS = defineStruct('era_fault_stats', ['checks', 'since'] as const, { checks: 'atomic', since: 'stable' });

function countingEra(state: unknown = [{ struct: STATS, count: 1, init: (w: Parameters<NonNullable<import('../../src/driver/era.js').EraState['init']>>[0]) => (w.obj(STATS, 0).since = 7) }]) {
  const lib = new Library('era-counting-stale', [KERNEL, KVM_LIB], { kind: 'kernel' });
  lib.replace(
    'is_page_fault_stale',
    lib.routine({
      name: 'is_page_fault_stale_counting',
      params: ['kvm', 'gfn', 'mmuSeq', 'mmuSeqHi'],
      steps: {
        check: {
          at: 'arch/x86/kvm/mmu/mmu.c:is_page_fault_stale (and a count of the checks)',
          run: (w, l) => {
            const s = w.obj(STATS, 0);
            s.checks = s.checks + 1;
            const kvm = w.obj(KVM, l.kvm);
            return w.ret(invalidationCovers(w, l.kvm, l.gfn) || kvm.invalidateSeq !== l.mmuSeq || kvm.invalidateSeqHi !== l.mmuSeqHi ? 1 : 0);
          },
        },
      },
    }),
  );
  return defineEra({ name: 'counting-stale', summary: 'is_page_fault_stale counting its calls', library: lib, state: state as never });
}

const GUEST: ScenarioSpec = {
  name: 'one-guest-access',
  description: 'a vCPU writes its page',
  pages: 1,
  sourceKvm: true,
  actors: [{ name: 'vcpu', ops: [{ op: 'guest-access', vm: 'source', page: 0, write: true, value: 3 }] }],
};

describe('an era with objects of its own', () => {
  it('its objects are a region of the world, set up by init before any actor, and its routine uses them', () => {
    const design = withEra(interval, countingEra());
    expect(design.eraState?.map((s) => s.struct.name)).toEqual(['era_fault_stats']);
    const { world: w } = buildScenario(GUEST, design);
    expect([w.count(STATS), w.obj(STATS, 0).since, w.obj(STATS, 0).checks]).toEqual([1, 7, 0]);
    expect(runAllToEnd(w).violation).toBeUndefined();
    expect(w.obj(STATS, 0).checks).toBe(1);
    // Today's kernel has no such object: the design without the era has no region for it.
    expect(buildScenario(GUEST, interval).world.count(STATS)).toBe(0);
  });

  it('is checked exhaustively like any era: the guest access alone holds', () => {
    expect(checkOne(GUEST, withEra(interval, countingEra())).verdict).toBe('holds');
  });

  it('refuses a wrong state list, naming the era and what was expected', () => {
    const refused = (state: unknown) => {
      try {
        countingEra(state);
      } catch (e) {
        expect(e).toBeInstanceOf(DriverError);
        return (e as Error).message;
      }
      return 'accepted';
    };
    expect(refused('hmm')).toMatch(/^defineEra: era "counting-stale": state: expected a list of \{ struct, count, init\? \}$/);
    expect(refused([{ struct: KVM, count: 1 }])).toMatch(/state\[0\]: struct kvm is the package's own/);
    expect(refused([{ struct: STATS, count: 0 }])).toMatch(/state\[0\]: count: expected the number of era_fault_stats objects in every world \(at least 1\)$/);
    expect(refused([{ struct: STATS, count: 1, lifetime: 'checks' }])).toMatch(/state\[0\]: lifetime: an era's objects live as long as the world/);
  });
});
