/**
 * The gfn→pfn cache's memslot generation check (virt/kvm/pfncache.c:kvm_gpc_check: "If the page
 * was cached from a memslot, make sure the memslots have not been re-configured"): moving or
 * deleting a memslot fires no MMU-notifier invalidation (the VMM's hvas stay mapped), so only the
 * generation tells a cache that its gfn no longer translates to its uhva. A check without it passes
 * on the stale translation: caught by refinement (the cache in use with a uhva the memslots no
 * longer give for its gfn).
 */
import { describe, expect, it } from 'vitest';
import { gpcLock, gpcUse, GPC, kvmGpcRefresh, KVM_MN, markStaleTranslation } from '../../src/kvm/gpc.js';
import { readLock, readUnlock } from '../../src/kernel/locks.js';
import { KVM_LIB } from '../../src/kvm/library.js';
import { GPC_NONE } from '../../src/kvm/gpc.js';
import { interval, INTERVAL_LIB } from '../../src/mirror/interval.js';
import { buildScenario } from '../../src/scenario/build.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { checkOne } from '../../src/check/run.js';
import { Library } from '../../src/world/registry.js';
import { runAllToEnd, runPhases } from '../helpers/phases.js';
import { opMutant, stepsOf } from '../helpers/kvm-mutants.js';

/** Xen's runstate update uses the cache of gfn 0 twice while QEMU moves gfn 0's memslot away. */
const MOVE: ScenarioSpec = {
  name: 'gpc-memslot-move',
  description: 'a gfn→pfn cache in use across a memslot move',
  pages: 3,
  sourceKvm: true,
  kvm: { memslotPages: 2 },
  actors: [
    {
      name: 'xen',
      ops: [
        { op: 'gpc-refresh', vm: 'source', page: 0 },
        { op: 'gpc-use', vm: 'source', page: 0 },
        { op: 'gpc-use', vm: 'source', page: 0 },
      ],
    },
    { name: 'qemu', ops: [{ op: 'move-memslot', vm: 'source', page: 0, to: 1 }] },
  ],
  variants: ['interval'],
};

describe("kvm_gpc_check compares the memslots' generation", () => {
  it('a memslot swap bumps the generation; the check then fails and the refresh recomputes the uhva (here: none, -EFAULT)', () => {
    const { world: w } = buildScenario(MOVE, interval);
    expect(runPhases(w, [{ actor: 'xen', until: 'gpc_use:check' }]).violation).toBeUndefined();
    expect(w.obj(GPC, 0)).toMatchObject({ gfn: 0, uhva: 0, valid: 1, generation: 0 });
    expect(runPhases(w, [{ actor: 'qemu', until: 'end' }]).violation).toBeUndefined();
    expect(w.obj(KVM_MN, 0).generation).toBe(2); // made invalid, then moved: two publications
    expect(w.obj(GPC, 0).valid).toBe(1); // no invalidation reached it: the hva is still mapped
    expect(runAllToEnd(w).violation).toBeUndefined();
    expect(w.obj(GPC, 0)).toMatchObject({ gfn: 0, uhva: GPC_NONE, valid: 0 });
  });

  it('holds exhaustively', () => {
    expect(checkOne(MOVE, interval).verdict).toBe('holds');
  });
});

const LIB = new Library('test-kvm-gpc-generation-mutants', [INTERVAL_LIB, KVM_LIB]);

/** gpc_use whose kvm_gpc_check leaves out the generation (gpa, uhva and valid only). */
const useWithoutGeneration = LIB.routine({
  name: 'test_gpc_use_without_generation',
  params: ['kvm', 'gfn', 'write', 'value'],
  locals: ['loaded'],
  steps: {
    ...stepsOf(gpcUse),
    check: {
      at: 'mutant: kvm_gpc_check without gpc->generation != slots->generation',
      run: (w, l) => {
        const lock = gpcLock(w, l.kvm);
        const b = readLock(w, lock);
        if (b) return b;
        const gpc = w.obj(GPC, l.kvm);
        if (gpc.gfn === l.gfn && gpc.uhva !== GPC_NONE && gpc.valid !== 0) {
          gpc.users = gpc.users + 1;
          markStaleTranslation(w, l.kvm);
          return 'access';
        }
        readUnlock(w, lock);
        return w.call(kvmGpcRefresh, 'refreshed', l.kvm, l.gfn);
      },
    },
  },
});

describe('the mutant is caught', () => {
  it('a check without the generation uses the cache across the move: refinement', () => {
    const r = checkOne(MOVE, opMutant(LIB, 'test-kvm-gpc-check-without-generation', gpcUse, useWithoutGeneration), { audit: false });
    expect(r.verdict).toBe('violation');
    expect(r.violation!.property).toBe('refinement');
    expect(r.violation!.message).toMatch(/^gfn→pfn cache kvm-source:gfn0 is in use with uhva 0, but the memslots now map gfn0 to no hva/);
  });
});
