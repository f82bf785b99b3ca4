/**
 * KVM's aging callbacks (src/kvm/age.ts; virt/kvm/kvm_main.c kvm_mmu_notifier_clear_flush_young,
 * _clear_young, _test_young → kvm_age_gfn / kvm_test_age_gfn), reached from the core's
 * mmu_notifier_* entry points (src/kernel/notifier/young.ts) on the source mm whose guest touched
 * its page: test_young reports the EPT entry's accessed bit and leaves it, the two clears report it
 * and clear it, and a range no memslot backs reports nothing.
 */
import { describe, expect, it } from 'vitest';
import { interval } from '../../src/mirror/interval.js';
import { buildScenario } from '../../src/scenario/build.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { spte } from '../../src/kvm/topology.js';
import { mmuNotifierClearFlushYoung, mmuNotifierClearYoung, mmuNotifierTestYoung } from '../../src/kernel/notifier/young.js';
import { runToEnd } from '../../src/world/runner.js';
import { runAllToEnd } from '../helpers/phases.js';

const spec: ScenarioSpec = {
  name: 'kvm-aging',
  description: 'the guest writes its page, then the host ages it',
  pages: 2,
  sourceKvm: true,
  kvm: { memslotPages: 1 },
  layers: ['dirty-accessed'],
  actors: [{ name: 'vcpu', ops: [{ op: 'guest-access', vm: 'source', page: 0, write: true, value: 7 }] }],
  variants: ['interval'],
};

describe("KVM's aging callbacks (layer dirty-accessed)", () => {
  it('test_young reports the accessed bit, clear_young and clear_flush_young clear it, an unbacked range is old', () => {
    const { world: w } = buildScenario(spec, interval);
    w.audit = true;
    expect(runAllToEnd(w).violation).toBeUndefined();
    expect(spte(w, 0, 0).accessed).toBe(1);
    const age = (entry: typeof mmuNotifierTestYoung, start: number): number => {
      w.spawn(0, entry, [0, start, start + 1]);
      runToEnd(w, 'vcpu');
      return w.actorResult(0);
    };
    expect(age(mmuNotifierTestYoung, 0)).toBe(1);
    expect(spte(w, 0, 0).accessed).toBe(1); // kvm_test_age_gfn only looks
    expect(age(mmuNotifierClearYoung, 0)).toBe(1);
    expect(spte(w, 0, 0).accessed).toBe(0);
    expect(age(mmuNotifierTestYoung, 0)).toBe(0);
    spte(w, 0, 0).accessed = 1; // the guest touches it again (the EPT walk sets A)
    expect(age(mmuNotifierClearFlushYoung, 0)).toBe(1);
    expect(spte(w, 0, 0).accessed).toBe(0);
    expect(age(mmuNotifierClearFlushYoung, 1)).toBe(0); // page 1: no memslot backs it
  });
});
