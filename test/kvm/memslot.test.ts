/**
 * Adding a memslot (src/kvm/memslot.ts): published only once no invalidation is active
 * (mn_active_invalidate_count, B-17), so an invalidation's start and end see the same memslots;
 * an overlapping memslot is refused, and a KVM has one spare memslot object for updates.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KVM_MN } from '../../src/kvm/gpc.js';
import { KVM, KVM_MEMSLOT_INVALID, MEMSLOT } from '../../src/kvm/structs.js';
import { gfnToHva, gfnToMemslot, spte } from '../../src/kvm/topology.js';
import { interval } from '../../src/mirror/interval.js';
import { buildScenario } from '../../src/scenario/build.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { checkOne } from '../../src/check/run.js';
import { Library } from '../../src/world/registry.js';
import { KERNEL } from '../../src/kernel/library.js';
import { KVM_LIB } from '../../src/kvm/library.js';
import { SRCU_LIB } from '../../src/kernel/lifetime.js';
import { defineEra, withEra } from '../../src/driver/era.js';
import { kvmSwapActiveMemslots, publishMemslot } from '../../src/kvm/memslot.js';
import { BLOCK_SLEEP } from '../../src/world/routine.js';
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

describe('KVM_SET_USER_MEMORY_REGION (delete, move): invalid first, the vCPUs grace period, the sptes zapped, then gone or moved', () => {
  const base = (ops: ScenarioSpec['actors']): ScenarioSpec => ({ ...B17, pages: 2, kvm: { memslotPages: 1 }, actors: ops });
  const vcpu = (page = 0) => ({ name: 'vcpu', ops: [{ op: 'guest-access' as const, vm: 'source' as const, page, write: true, value: 7 }] });

  it('delete: the spte the guest faulted in is zapped, the gfn then exits to MMIO (-EFAULT from the fault), the memslot object is spare again', () => {
    const { world: w } = buildScenario(
      base([vcpu(), { name: 'qemu', ops: [{ op: 'delete-memslot' as const, vm: 'source' as const, page: 0 }] }, vcpu()].map((a, i) => ({ ...a, name: `${a.name}${i}` }))),
      interval,
    );
    const [first, qemu, again] = [0, 1, 2];
    expect(runPhases(w, [{ actor: 'vcpu0', until: 'end' }]).violation).toBeUndefined();
    expect(spte(w, 0, 0).pfn).not.toBe(0);
    expect(runPhases(w, [{ actor: 'qemu1', until: 'end' }]).violation).toBeUndefined();
    expect([spte(w, 0, 0).pfn, gfnToMemslot(w, 0, 0), w.obj(MEMSLOT, 0).npages]).toEqual([0, -1, 0]);
    expect(runAllToEnd(w).violation).toBeUndefined();
    expect([whereIs(w, first), whereIs(w, qemu), whereIs(w, again)]).toEqual(['done', 'done', 'done']);
    expect(spte(w, 0, 0).pfn).toBe(0); // the second access exited to MMIO: nothing installed
  });

  it('move: the gfns change, the hvas stay; the old gfn maps nothing, the new one reaches the same host page', () => {
    const { world: w } = buildScenario(
      base([vcpu(), { name: 'qemu', ops: [{ op: 'move-memslot' as const, vm: 'source' as const, page: 0, to: 1 }] }, vcpu(1)].map((a, i) => ({ ...a, name: `${a.name}${i}` }))),
      interval,
    );
    expect(runPhases(w, [{ actor: 'vcpu0', until: 'end' }]).violation).toBeUndefined();
    const pfn = spte(w, 0, 0).pfn;
    expect(runPhases(w, [{ actor: 'qemu1', until: 'end' }]).violation).toBeUndefined();
    expect([spte(w, 0, 0).pfn, gfnToHva(w, 0, 0), gfnToHva(w, 0, 1)]).toEqual([0, -1, 0]);
    expect(runAllToEnd(w).violation).toBeUndefined();
    expect(spte(w, 0, 1).pfn).toBe(pfn);
  });

  it('a vCPU fault while the memslot is invalid waits, holding no kvm->srcu, and the update is not held up by it', () => {
    const { world: w } = buildScenario(base([{ name: 'qemu', ops: [{ op: 'delete-memslot', vm: 'source', page: 0 }] }, vcpu()]), interval);
    const [qemu, cpu] = [0, 1];
    expect(runPhases(w, [{ actor: 'qemu', until: 'kvm_invalidate_memslot:flushLock' }]).violation).toBeUndefined();
    expect(w.obj(MEMSLOT, 0).flags & KVM_MEMSLOT_INVALID).not.toBe(0);
    expect(runPhases(w, [{ actor: 'vcpu', until: 'guest_access:exit' }]).violation).toBeUndefined();
    expect([isEnabled(w, cpu), isEnabled(w, qemu)]).toEqual([false, true]);
    expect(runAllToEnd(w).violation).toBeUndefined();
    expect(spte(w, 0, 0).pfn).toBe(0);
  });

  it('holds exhaustively with a guest access racing a delete, a move, and a DONTNEED of the page', () => {
    for (const op of [
      { op: 'delete-memslot' as const, vm: 'source' as const, page: 0 },
      { op: 'move-memslot' as const, vm: 'source' as const, page: 0, to: 1 },
    ]) {
      const spec = base([{ name: 'qemu', ops: [op] }, vcpu(), { name: 'balloon', ops: [{ op: 'madvise-dontneed', mm: 'source', page: 0 }] }]);
      const r = checkOne(spec, interval);
      expect([op.op, r.verdict, r.violation?.message]).toEqual([op.op, 'holds', undefined]);
    }
  });
});

describe('a memslot update that skips a step of the protocol is caught (the checker is not passing it by construction)', () => {
  const spec: ScenarioSpec = {
    ...B17,
    pages: 2,
    kvm: { memslotPages: 1 },
    actors: [
      { name: 'qemu', ops: [{ op: 'delete-memslot', vm: 'source', page: 0 }] },
      { name: 'vcpu', ops: [{ op: 'guest-access', vm: 'source', page: 0 }] },
    ],
  };
  const era = (name: string, routine: string, steps: Parameters<Library['routine']>[0]['steps'], params: string[]) => {
    const lib = new Library(`era-${name}`, [KERNEL, KVM_LIB, SRCU_LIB], { kind: 'kernel' });
    lib.replace(routine, lib.routine({ name: `${routine}_${name.replaceAll('-', '_')}`, params, steps }));
    return defineEra({ name, summary: `${routine} without a step`, library: lib });
  };

  it('without the grace period: a fault that found the memslot valid installs after the flush, and the deleted gfn still maps the page', () => {
    const noSync = era(
      'no-srcu-sync',
      'kvm_swap_active_memslots',
      {
        swap: {
          at: 'virt/kvm/kvm_main.c:kvm_swap_active_memslots (no synchronize_srcu_expedited)',
          run: (w, l) => {
            if (w.obj(KVM_MN, l.kvm).activeInvalidateCount !== 0) return BLOCK_SLEEP;
            publishMemslot(w, l.slot, l.gfn, l.npages, l.hva, l.flags);
            return w.ret(0);
          },
        },
      },
      ['kvm', 'slot', 'gfn', 'npages', 'hva', 'flags'],
    );
    const r = checkOne(spec, withEra(interval, noSync));
    expect([r.verdict, r.violation?.message]).toEqual(['violation', expect.stringMatching(/^EPT kvm-source:gfn0 maps pfn \d+ but no memslot covers the gfn$/)]);
    expect(checkOne(spec, interval).verdict).toBe('holds');
  });

  it('without the flush of the invalid memslot: the sptes outlive it', () => {
    const noFlush = era(
      'no-flush',
      'kvm_invalidate_memslot',
      {
        invalid: {
          at: 'virt/kvm/kvm_main.c:kvm_invalidate_memslot (no kvm_arch_flush_shadow_memslot)',
          run: (w, l) => {
            const s = w.obj(MEMSLOT, l.slot);
            return w.call(kvmSwapActiveMemslots, 'done', l.kvm, l.slot, s.baseGfn, s.npages, s.hva, s.flags | KVM_MEMSLOT_INVALID);
          },
        },
        done: { at: 'virt/kvm/kvm_main.c:kvm_invalidate_memslot', run: (w) => w.ret(0) },
      },
      ['kvm', 'slot'],
    );
    const r = checkOne(spec, withEra(interval, noFlush));
    expect([r.verdict, r.violation?.message]).toEqual(['violation', expect.stringMatching(/^EPT kvm-source:gfn0 maps pfn \d+ but no memslot covers the gfn$/)]);
  });
});
