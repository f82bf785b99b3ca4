/**
 * Adding a memslot (src/kvm/memslot.ts): published only once no invalidation is active
 * (mn_active_invalidate_count, B-17), so an invalidation's start and end see the same memslots;
 * an overlapping memslot is refused, and a KVM has one spare memslot object for updates.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KVM_MN } from '../../src/kvm/gpc.js';
import { KVM, MEMSLOT } from '../../src/kvm/structs.js';
import { gfnToHva, spte } from '../../src/kvm/topology.js';
import { interval } from '../../src/mirror/interval.js';
import { buildScenario } from '../../src/scenario/build.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { checkOne } from '../../src/check/run.js';
import { actorIndex, isEnabled, whereIs } from '../../src/world/runner.js';
import { runAllToEnd, runPhases } from '../helpers/phases.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const B17 = loadScenarioFile(join(ROOT, 'examples/races/B-17-memslot-mid-invalidation/scenario.yaml')).spec;

describe('KVM_SET_USER_MEMORY_REGION (add)', () => {
  it('the VM starts with the memslot the scenario gives and a spare; the add publishes gfn 1 → hva 1, and the guest can then fault it in', () => {
    const spec: ScenarioSpec = {
      ...B17,
      actors: [
        {
          name: 'vcpu',
          ops: [
            { op: 'set-memslot', vm: 'source', page: 1 },
            { op: 'guest-access', vm: 'source', page: 1, write: true, value: 5 },
          ],
        },
      ],
    };
    const { world: w } = buildScenario(spec, interval);
    expect(w.count(MEMSLOT)).toBe(2);
    expect([gfnToHva(w, 0, 0), gfnToHva(w, 0, 1)]).toEqual([0, -1]);
    expect(runAllToEnd(w).violation).toBeUndefined();
    expect(gfnToHva(w, 0, 1)).toBe(1);
    expect(spte(w, 0, 1).pfn).not.toBe(0);
  });

  it('waits while an invalidation is active: start raised mn_active_invalidate_count, end drops it and the add proceeds', () => {
    const { world: w } = buildScenario(B17, interval);
    const qemu = actorIndex(w, 'qemu');
    expect(
      runPhases(w, [
        { actor: 'balloon', after: 'kvm_mmu_notifier_invalidate_range_start:gpc' },
        { actor: 'qemu', until: 'kvm_swap_active_memslots:swap' },
      ]).violation,
    ).toBeUndefined();
    expect(w.obj(KVM_MN, 0).activeInvalidateCount).toBe(1);
    expect(isEnabled(w, qemu)).toBe(false);
    expect(w.obj(KVM, 0).invalidateInProgress).toBe(0); // no memslot covered hva 1 at start: KVM took no part
    expect(runPhases(w, [{ actor: 'balloon', until: 'end' }]).violation).toBeUndefined();
    expect(w.obj(KVM_MN, 0).activeInvalidateCount).toBe(0);
    expect(isEnabled(w, qemu)).toBe(true);
    expect(runAllToEnd(w).violation).toBeUndefined();
    expect(whereIs(w, qemu)).toBe('done');
  });

  it('refuses a memslot over gfns the VM already maps (-EEXIST), and a new one once the spare is used (-EINVAL)', () => {
    const spec: ScenarioSpec = {
      ...B17,
      pages: 3,
      actors: [
        {
          name: 'qemu',
          ops: [
            { op: 'set-memslot', vm: 'source', page: 0, pages: 2 },
            { op: 'set-memslot', vm: 'source', page: 1 },
            { op: 'set-memslot', vm: 'source', page: 2 },
          ],
        },
      ],
    };
    const { world: w } = buildScenario(spec, interval);
    expect(runAllToEnd(w).violation).toBeUndefined();
    expect([0, 1, 2].map((g) => gfnToHva(w, 0, g))).toEqual([0, 1, -1]);
    expect([w.obj(MEMSLOT, 1).baseGfn, w.obj(MEMSLOT, 1).npages]).toEqual([1, 1]);
  });

  it('holds exhaustively on the B-17 scenario', () => {
    expect(checkOne(B17, interval).verdict).toBe('holds');
  });
});
