/**
 * Dirty logging through memslot flags changes at run time (src/kvm/dirty-log.ts): a write fault on
 * a logged memslot marks the gfn before its writable spte is installed; enabling logging
 * write-protects the memslot's sptes under mmu_lock for read and flushes the vCPUs' TLBs;
 * KVM_GET_DIRTY_LOG harvests the bitmap and write-protects under the write lock, flushing after
 * the unlock. The `dirty-log` property (dirty_log_test's invariant) is proven by three mutants: a
 * fault that does not mark, an enable that does not write-protect, a harvest that does not flush.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kvmTdpPageFault } from '../../src/kvm/fault.js';
import { DIRTY_BITMAP, gfnMarkedDirty, kvmGetDirtyLog, kvmSetMemslotFlags } from '../../src/kvm/dirty-log.js';
import { KVM_LIB } from '../../src/kvm/library.js';
import { KVM, KVM_MEM_LOG_DIRTY_PAGES, MEMSLOT } from '../../src/kvm/structs.js';
import { kvmMmuLock, spte } from '../../src/kvm/topology.js';
import { readUnlock } from '../../src/kernel/locks.js';
import { interval, INTERVAL_LIB } from '../../src/mirror/interval.js';
import { buildScenario } from '../../src/scenario/build.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { checkOne } from '../../src/check/run.js';
import { dirtyLog } from '../../src/check/properties.js';
import { explore } from '../../src/engine/exhaustive.js';
import { Library } from '../../src/world/registry.js';
import { runAllToEnd, runPhases } from '../helpers/phases.js';
import { accessMutant, guestAccessVia, opMutant, stepsOf } from '../helpers/kvm-mutants.js';
import { pageGen } from '../../src/kernel/page.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const K06 = loadScenarioFile(join(ROOT, 'fidelity/K06-dirty-log.yaml')).spec;

/** A vCPU writes gfn 0 twice while the host enables dirty logging and harvests the log twice. */
function racing(layers: ScenarioSpec['layers']): ScenarioSpec {
  return {
    name: `dirty-log-race-${(layers ?? []).join('-') || 'plain'}`,
    description: 'guest writes racing the enable and two harvests',
    pages: 1,
    sourceKvm: true,
    layers,
    actors: [
      {
        name: 'vcpu',
        ops: [
          { op: 'guest-access', vm: 'source', page: 0, write: true, value: 1 },
          { op: 'guest-access', vm: 'source', page: 0, write: true, value: 2 },
        ],
      },
      {
        name: 'host',
        ops: [
          { op: 'enable-dirty-log', vm: 'source', page: 0 },
          { op: 'get-dirty-log', vm: 'source', page: 0 },
          { op: 'get-dirty-log', vm: 'source', page: 0 },
        ],
      },
    ],
    variants: ['interval'],
  };
}

describe('dirty logging', () => {
  it("enable write-protects the memslot's sptes; a write fault marks the gfn before its writable spte; a harvest returns and clears the bitmap and write-protects", () => {
    const { world: w } = buildScenario(K06, interval);
    expect(w.count(DIRTY_BITMAP)).toBe(w.count(MEMSLOT));
    expect(runPhases(w, [{ actor: 'test', until: 'kvm_update_flags_memslot:flags' }]).violation).toBeUndefined();
    expect(spte(w, 0, 0).write).toBe(1); // the write before logging
    expect(runPhases(w, [{ actor: 'test', until: 'kvm_get_dirty_log_protect:lock' }]).violation).toBeUndefined();
    expect(w.obj(MEMSLOT, 0).flags & KVM_MEM_LOG_DIRTY_PAGES).toBe(KVM_MEM_LOG_DIRTY_PAGES);
    expect(spte(w, 0, 0)).toMatchObject({ write: 0 });
    expect(spte(w, 0, 0).pfn).not.toBe(0);
    expect(gfnMarkedDirty(w, 0, 0)).toBe(false);
    expect(w.obj(KVM, 0).protectOwed).toBe(0);
    // The first harvest, then the guest's write: the fault marks the gfn and makes the spte writable.
    expect(
      runPhases(w, [
        { actor: 'test', after: 'kvm_get_dirty_log_protect:done' },
        { actor: 'test', until: 'kvm_get_dirty_log_protect:lock' },
      ]).violation,
    ).toBeUndefined();
    expect(gfnMarkedDirty(w, 0, 0)).toBe(true);
    expect(spte(w, 0, 0).write).toBe(1);
    expect(runAllToEnd(w).violation).toBeUndefined();
  });

  it('a harvest of a memslot that does not log is -ENOENT; a disable frees the bitmap', () => {
    const spec: ScenarioSpec = {
      ...racing(undefined),
      name: 'dirty-log-enoent',
      actors: [
        {
          name: 'host',
          ops: [
            { op: 'get-dirty-log', vm: 'source', page: 0 },
            { op: 'enable-dirty-log', vm: 'source', page: 0 },
            { op: 'guest-access', vm: 'source', page: 0, write: true, value: 1 },
            { op: 'disable-dirty-log', vm: 'source', page: 0 },
          ],
        },
      ],
      outcomes: [{ observe: [{ result: { actor: 'host', op: 0 }, value: -2 }] }],
    };
    const { world: w } = buildScenario(spec, interval);
    expect(runAllToEnd(w).violation).toBeUndefined();
    expect(w.obj(DIRTY_BITMAP, 0).bitmap).toBe(0);
    expect(w.obj(MEMSLOT, 0).flags & KVM_MEM_LOG_DIRTY_PAGES).toBe(0);
    expect(checkOne(spec, interval).verdict).toBe('holds');
  });

  // Regression (found by the build fuzz): the harvest's lock step wrote its memslot local before
  // blocking on mmu_lock, which another harvest holds for write; a blocked step must write nothing.
  it('a harvest waiting for mmu_lock behind another writes nothing before it blocks', () => {
    // The introspector's VM: its memslot is not object 0, so a stray write of the local shows.
    const spec: ScenarioSpec = {
      name: 'dirty-log-harvest-blocks',
      description: 'two harvests of the introspector VM, one waiting for the other to drop mmu_lock',
      pages: 1,
      sourceKvm: true,
      introspectorKvm: true,
      actors: [
        {
          name: 'host',
          ops: [
            { op: 'enable-dirty-log', vm: 'introspector', page: 0 },
            { op: 'get-dirty-log', vm: 'introspector', page: 0 },
          ],
        },
        { name: 'host2', ops: [{ op: 'get-dirty-log', vm: 'introspector', page: 0 }] },
      ],
      variants: ['interval'],
    };
    expect(checkOne(spec, interval).verdict).toBe('holds');
  });

  it('holds exhaustively with the guest racing the enable and the harvests, with and without the KVM layers', () => {
    for (const layers of [undefined, ['kvm-tdp-mmu', 'kvm-tlb'] as const]) {
      const r = checkOne(racing(layers && [...layers]), interval);
      expect(r.verdict, String(layers)).toBe('holds');
    }
  });
});

// ---- the mutants ----

const LIB = new Library('test-kvm-dirty-log-mutants', [INTERVAL_LIB, KVM_LIB]);

/** A fault whose install makes the writable spte without mark_page_dirty_in_slot. */
const faultWithoutMark = LIB.routine({
  name: 'test_kvm_tdp_page_fault_without_mark',
  params: ['kvm', 'gfn', 'write'],
  locals: ['mmuSeq', 'mmuSeqHi', 'pfn', 'writable', 'refcounted', 'retry', 'srcuHeld', 'oldPfn', 'oldWrite'],
  steps: {
    ...stepsOf(kvmTdpPageFault),
    install: {
      at: 'mutant: make_spte without mark_page_dirty_in_slot, installed by cmpxchg as the product',
      run: (w, l) => {
        const e = spte(w, l.kvm, l.gfn);
        if (e.pfn !== l.oldPfn || e.write !== l.oldWrite) return stepsOf(kvmTdpPageFault).install.run(w, l);
        e.pfn = l.pfn;
        e.write = l.write && l.writable ? 1 : 0;
        e.gen = pageGen(w, l.pfn);
        return 'unlock';
      },
    },
  },
});

/** An enable that publishes the flag but does not write-protect the memslot's sptes. */
const enableWithoutWrprot = LIB.routine({
  name: 'test_kvm_update_flags_memslot_without_wrprot',
  params: ['kvm', 'gfn', 'enable'],
  locals: ['slot', 'g', 'flush'],
  steps: {
    ...stepsOf(kvmSetMemslotFlags),
    wrprot: {
      at: 'mutant: kvm_mmu_slot_apply_flags without kvm_mmu_slot_remove_write_access',
      run: (w, l) => {
        readUnlock(w, kvmMmuLock(w, l.kvm));
        return 'flush';
      },
    },
  },
});

/** A harvest that write-protects but returns without flushing the vCPUs' TLBs. */
const harvestWithoutFlush = LIB.routine({
  name: 'test_kvm_get_dirty_log_protect_without_flush',
  params: ['kvm', 'gfn'],
  locals: ['slot', 'mask', 'flush'],
  steps: {
    ...stepsOf(kvmGetDirtyLog),
    flush: {
      at: 'mutant: kvm_get_dirty_log_protect without kvm_flush_remote_tlbs_memslot',
      run: (w, l) => {
        if (l.flush) {
          const kvm = w.obj(KVM, l.kvm);
          kvm.protectOwed = kvm.protectOwed - 1; // the ioctl returns: nothing is owed any more
        }
        return 'done';
      },
    },
  },
});

describe('the mutants are caught by dirty-log', () => {
  const layers = ['kvm-tdp-mmu', 'kvm-tlb'] as const;

  it('a fault that makes a writable spte without marking the gfn', () => {
    const v = accessMutant(LIB, 'test-kvm-fault-without-mark', guestAccessVia(LIB, 'test_guest_access_without_mark', faultWithoutMark));
    const r = checkOne(racing([...layers]), v, { audit: false });
    expect(r.verdict).toBe('violation');
    expect(r.violation!.property).toBe('dirty-log');
    expect(r.violation!.message).toMatch(/^EPT kvm-source:gfn0 is writable but gfn0 is not marked in its memslot's dirty bitmap/);
  });

  it('an enable that leaves the sptes writable', () => {
    const r = checkOne(racing([...layers]), opMutant(LIB, 'test-kvm-enable-without-wrprot', kvmSetMemslotFlags, enableWithoutWrprot), { audit: false });
    expect(r.verdict).toBe('violation');
    expect(r.violation!.property).toBe('dirty-log');
  });

  it('a harvest that returns without flushing the TLBs: the vCPU writes through its stale writable entry, unlogged', () => {
    const mutant = opMutant(LIB, 'test-kvm-harvest-without-flush', kvmGetDirtyLog, harvestWithoutFlush);
    const r = checkOne(racing([...layers]), mutant, { audit: false });
    expect(r.verdict).toBe('violation');
    // The TLB entry outlives its spte's write permission (refinement), and so the log (dirty-log).
    expect(r.violation!.message).toMatch(/^guest TLB of kvm-source:vcpu for gfn0 is writable but EPT kvm-source:gfn0 is read-only/);
    const logOnly = explore(buildScenario(racing([...layers]), mutant).world, { properties: [dirtyLog] });
    expect(logOnly.verdict).toBe('violation');
    expect(logOnly.violation!.message).toMatch(/^guest TLB of kvm-source:vcpu for gfn0 is writable but gfn0 is not marked/);
    // Without guest TLBs the write-protect alone is enough: nothing to see.
    expect(checkOne(racing(['kvm-tdp-mmu']), opMutant(LIB, 'test-kvm-harvest-without-flush', kvmGetDirtyLog, harvestWithoutFlush), { audit: false }).verdict).toBe('holds');
  });
});
