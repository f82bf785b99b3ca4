/**
 * The TDP MMU's fault under mmu_lock held for read (layers `kvm-tdp-mmu` and `kvm-tlb`,
 * src/kvm/fault.ts, src/kvm/tlb.ts): two vCPUs that fault the same gfn at once both hold the read
 * lock and race only through tdp_mmu_set_spte_atomic's cmpxchg of the spte their walk read (the
 * loser retries; a fault that finds the access already allowed is spurious); invalidations take
 * the lock for write and flush every vCPU's guest TLB (KVM_REQ_TLB_FLUSH, waiting for a vCPU in
 * guest mode to leave it) before they return.
 *
 * The mutants are test-local, as in mmu-lock.test.ts: a copy of the fault whose install is a plain
 * store (with a copy of guest_access calling it), and a copy of range_start whose zap skips
 * kvm_flush_remote_tlbs (swapped into KVM's notifier once the world is built).
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MN } from '../../src/kernel/structs.js';
import { deref } from '../../src/kernel/ref.js';
import { KVM_LIB } from '../../src/kvm/library.js';
import { installSpte, kvmTdpPageFault } from '../../src/kvm/fault.js';
import { guestAccess } from '../../src/kvm/guest.js';
import { kvmMmuNotifierInvalidateRangeStart, zapGfns } from '../../src/kvm/notifier.js';
import { KVM } from '../../src/kvm/structs.js';
import { spte } from '../../src/kvm/topology.js';
import { gtlb, IN_GUEST_MODE, KVM_REQ_TLB_FLUSH, OUTSIDE_GUEST_MODE, vcpu, vcpuIndex } from '../../src/kvm/tlb.js';
import { interval, INTERVAL_LIB } from '../../src/mirror/interval.js';
import type { MirrorVariant } from '../../src/mirror/device.js';
import { buildScenario } from '../../src/scenario/build.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { programs, setPrograms } from '../../src/scenario/workload.js';
import { checkOne, propertiesFor } from '../../src/check/run.js';
import { noDanglingPfn } from '../../src/check/properties.js';
import { explore } from '../../src/engine/exhaustive.js';
import { CALL_LOCALS } from '../../src/world/layout.js';
import { Library } from '../../src/world/registry.js';
import type { AnyRoutine, Routine } from '../../src/world/routine.js';
import type { World } from '../../src/world/world.js';
import { actorIndex, isEnabled, whereIs } from '../../src/world/runner.js';
import { runAllToEnd, runPhases } from '../helpers/phases.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const K01_VCPUS = loadScenarioFile(join(ROOT, 'fidelity/K01-mprotect-ro-vcpus.yaml')).spec;

/** Two vCPUs of the source VM fault gfn 0 at once: vcpu0 reads it, vcpu1 writes 5. */
function twoVcpus(layers: ScenarioSpec['layers']): ScenarioSpec {
  return {
    name: `two-vcpus-${(layers ?? []).join('-')}`,
    description: 'two vCPUs fault the same gfn at once',
    pages: 1,
    sourceKvm: true,
    layers,
    actors: [
      { name: 'vcpu0', ops: [{ op: 'guest-access', vm: 'source', page: 0 }] },
      { name: 'vcpu1', ops: [{ op: 'guest-access', vm: 'source', page: 0, write: true, value: 5 }] },
    ],
    variants: ['interval'],
  };
}

const local = (w: World, actor: string, name: string) => w.v[w.topFrame(actorIndex(w, actor))! + CALL_LOCALS + kvmTdpPageFault.localNames.indexOf(name)];

describe('kvm-tdp-mmu: the install is a cmpxchg of the spte the walk read', () => {
  it("two vCPUs hold mmu_lock for read together; the one whose walk read an spte that changed since retries, and leaves the other one's writable spte alone", () => {
    const { world: w } = buildScenario(twoVcpus(['kvm-tdp-mmu']), interval);
    expect(runPhases(w, [{ actor: 'vcpu0', until: 'kvm_tdp_page_fault:install' }]).violation).toBeUndefined();
    expect(w.obj(KVM, 0).mmuLockReaders).toBe(1);
    expect(local(w, 'vcpu0', 'oldPfn')).toBe(0); // its walk found no spte
    // vcpu1 takes the read lock beside it, installs a writable spte and writes.
    expect(runPhases(w, [{ actor: 'vcpu1', until: 'end' }]).violation).toBeUndefined();
    expect(whereIs(w, actorIndex(w, 'vcpu1'))).toBe('done');
    const installed = { pfn: spte(w, 0, 0).pfn, write: spte(w, 0, 0).write };
    expect(installed.write).toBe(1);
    // vcpu0's cmpxchg fails (the spte is no longer the one it read): RET_PF_RETRY, out_unlock.
    expect(runPhases(w, [{ actor: 'vcpu0', after: 'kvm_tdp_page_fault:install' }]).violation).toBeUndefined();
    expect(local(w, 'vcpu0', 'retry')).toBe(1);
    expect(w.obj(KVM, 0).mmuLockReaders).toBe(0);
    expect({ pfn: spte(w, 0, 0).pfn, write: spte(w, 0, 0).write }).toEqual(installed);
    // The retried access finds the spte: it reads what vcpu1 wrote.
    expect(runAllToEnd(w).violation).toBeUndefined();
    expect(spte(w, 0, 0).write).toBe(1);
  });

  it('a fault whose walk finds the access already allowed (another vCPU fixed it) is spurious: no install', () => {
    const { world: w } = buildScenario(twoVcpus(['kvm-tdp-mmu']), interval);
    expect(runPhases(w, [{ actor: 'vcpu0', until: 'kvm_tdp_page_fault:map' }]).violation).toBeUndefined();
    expect(runPhases(w, [{ actor: 'vcpu1', until: 'end' }]).violation).toBeUndefined();
    const run = runPhases(w, [{ actor: 'vcpu0', after: 'kvm_tdp_page_fault:map' }]);
    expect(run.violation).toBeUndefined();
    expect(whereIs(w, actorIndex(w, 'vcpu0'))).toBe('kvm_tdp_page_fault:unlock'); // RET_PF_SPURIOUS, not install
    expect(runAllToEnd(w).violation).toBeUndefined();
  });

  it('holds exhaustively with two vCPUs, with and without guest TLBs', () => {
    for (const layers of [['kvm-tdp-mmu'], ['kvm-tdp-mmu', 'kvm-tlb']] as const) {
      const r = checkOne(twoVcpus([...layers]), interval);
      expect(r.verdict, layers.join('+')).toBe('holds');
    }
  });
});

describe('kvm-tlb: a remote TLB flush kicks the vCPUs in guest mode and waits for them', () => {
  it('the invalidation sets KVM_REQ_TLB_FLUSH, waits while the vCPU is in guest mode (it may still use its TLB), and the vCPU flushes on its next entry', () => {
    const { world: w } = buildScenario(K01_VCPUS, interval);
    const v0 = vcpuIndex(w, 0, actorIndex(w, 'vcpu0'));
    // vcpu1's first write: fault, install, then the access fills its TLB.
    const filled = runPhases(w, [
      { actor: 'vcpu1', after: 'guest_access:vmexit' },
      { actor: 'vcpu1', after: 'guest_access:vmexit' },
      // vcpu0's write finds the spte and fills its TLB from it, without a fault.
      { actor: 'vcpu0', after: 'guest_access:vmexit' },
    ]);
    expect(filled.violation).toBeUndefined();
    expect(gtlb(w, v0, 0).pfn).toBe(spte(w, 0, 0).pfn);
    expect(gtlb(w, v0, 0).write).toBe(1);
    // vcpu1 enters guest mode for its second write; vcpu0 (the host thread) mprotects.
    expect(runPhases(w, [{ actor: 'vcpu1', until: 'guest_access:guest' }]).violation).toBeUndefined();
    const v1 = vcpuIndex(w, 0, actorIndex(w, 'vcpu1'));
    expect(vcpu(w, 0, actorIndex(w, 'vcpu1')).mode).toBe(IN_GUEST_MODE);
    expect(runPhases(w, [{ actor: 'vcpu0', until: 'kvm_flush_remote_tlbs:wait' }]).violation).toBeUndefined();
    expect(spte(w, 0, 0).pfn).toBe(0); // zapped
    expect(vcpu(w, 0, actorIndex(w, 'vcpu0')).requests & KVM_REQ_TLB_FLUSH).toBe(KVM_REQ_TLB_FLUSH);
    expect(vcpu(w, 0, actorIndex(w, 'vcpu1')).requests & KVM_REQ_TLB_FLUSH).toBe(KVM_REQ_TLB_FLUSH);
    expect(runPhases(w, [{ actor: 'vcpu0', after: 'kvm_flush_remote_tlbs:wait' }]).trace).toHaveLength(0);
    expect(isEnabled(w, actorIndex(w, 'vcpu0'))).toBe(false); // the IPI waits for vcpu1 to leave guest mode
    // vcpu1, still in guest mode, writes through its stale entry (the page is not freed: mprotect has not returned), then exits.
    expect(runPhases(w, [{ actor: 'vcpu1', after: 'guest_access:vmexit' }]).violation).toBeUndefined();
    expect(vcpu(w, 0, actorIndex(w, 'vcpu1')).mode).toBe(OUTSIDE_GUEST_MODE);
    expect(isEnabled(w, actorIndex(w, 'vcpu0'))).toBe(true);
    // The mprotect returns; vcpu0's next entry flushes its TLB, and its write fails.
    const rest = runPhases(w, [{ actor: 'vcpu0', after: 'guest_access:access' }]);
    expect(rest.violation).toBeUndefined();
    expect(gtlb(w, v0, 0).pfn).toBe(0);
    expect(gtlb(w, v1, 0).pfn).not.toBe(0); // vcpu1's is dead (a request pending outside guest mode) until its next entry
    expect(runAllToEnd(w).violation).toBeUndefined();
  });
});

// ---- the mutants ----

const LIB = new Library('test-kvm-tdp-mmu-mutants', [INTERVAL_LIB, KVM_LIB]);

/** A routine's steps as a spec record (its labels in order), to copy it with one step replaced. */
function stepsOf(r: AnyRoutine): Record<string, Routine['steps'][number]> {
  return Object.fromEntries(r.labels.map((label, i) => [label, r.steps[i]]));
}

/** kvm_tdp_page_fault whose install is a plain store: it does not check that the spte is still the one its walk read. */
const faultPlainStore = LIB.routine({
  name: 'test_kvm_tdp_page_fault_plain_store',
  params: ['kvm', 'gfn', 'write'],
  locals: ['mmuSeq', 'mmuSeqHi', 'pfn', 'writable', 'refcounted', 'retry', 'srcuHeld', 'oldPfn', 'oldWrite'],
  steps: {
    ...stepsOf(kvmTdpPageFault),
    install: {
      at: 'mutant: tdp_mmu_map_handle_target_level with a plain store (WRITE_ONCE) instead of tdp_mmu_set_spte_atomic',
      run: (w, l) => {
        installSpte(w, l);
        return 'unlock';
      },
    },
  },
});

/** guest_access whose EPT violations go to `fault` (no memslot updates here: no kvm->srcu). */
const guestAccessPlainStore = LIB.routine({
  name: 'test_guest_access_plain_store',
  params: ['kvm', 'gfn', 'write', 'value'],
  locals: ['srcuIdx', 'loaded', 'hit'],
  steps: {
    ...stepsOf(guestAccess),
    vmexit: {
      at: 'mutant: vcpu_enter_guest after the VM exit, as the product, faulting through the mutant',
      run: (w, l) => {
        vcpu(w, l.kvm, w.self - 1).mode = OUTSIDE_GUEST_MODE;
        if (!l.hit) return w.call(faultPlainStore, 'faulted', l.kvm, l.gfn, l.write);
        const value = l.loaded;
        l.loaded = 0;
        l.hit = 0;
        return w.ret(value);
      },
    },
  },
});

const plainStore: MirrorVariant = {
  ...interval,
  library: LIB,
  name: 'test-kvm-install-plain-store',
  reproduces: ['mutant'],
  attach(w, dev) {
    interval.attach(w, dev);
    setPrograms(
      w.layout,
      programs(w.layout).map((prog) => prog.map((op) => (op.routine === guestAccess ? { ...op, routine: guestAccessPlainStore } : op))),
    );
  },
};

/** kvm_mmu_notifier_invalidate_range_start whose zap does not flush the remote TLBs before mmu_lock is dropped. */
const startWithoutFlush = LIB.routine({
  name: 'test_kvm_mmu_notifier_invalidate_range_start_without_flush',
  params: ['mn', 'mm', 'start', 'end', 'event', 'blockable'],
  locals: ['lo', 'hi', 'stage'],
  steps: {
    ...stepsOf(kvmMmuNotifierInvalidateRangeStart),
    zap: {
      at: 'mutant: kvm_mmu_invalidate_begin + kvm_unmap_gfn_range, flush_on_ret forgotten (no kvm_flush_remote_tlbs)',
      run: (w, l) => {
        const k = deref(w.obj(MN, l.mn).priv, 'mmu_notifier.priv');
        const kvm = w.obj(KVM, k);
        kvm.invalidateInProgress = kvm.invalidateInProgress + 1;
        kvm.rangeStart = kvm.invalidateInProgress === 1 ? l.lo : Math.min(kvm.rangeStart, l.lo);
        kvm.rangeEnd = kvm.invalidateInProgress === 1 ? l.hi : Math.max(kvm.rangeEnd, l.hi);
        zapGfns(w, k, l.lo, l.hi);
        return 'unlock';
      },
    },
  },
});

/** Explores `spec` with KVM's range_start swapped for the mutant that skips the flush. */
function exploreWithoutFlush(spec: ScenarioSpec, properties = propertiesFor(spec, interval).properties) {
  const { world: w } = buildScenario(spec, { ...interval, library: LIB });
  w.obj(MN, 0).invalidateRangeStart = w.routineRef(startWithoutFlush);
  return explore(w, { properties });
}

describe('the mutants are caught', () => {
  it("an install by plain store under the read lock downgrades another vCPU's writable spte behind its TLB: caught with guest TLBs (refinement), invisible without", () => {
    const r = checkOne(twoVcpus(['kvm-tdp-mmu', 'kvm-tlb']), plainStore, { audit: false });
    expect(r.verdict).toBe('violation');
    expect(r.violation!.property).toBe('refinement');
    expect(r.violation!.message).toMatch(/^guest TLB of kvm-source:vcpu1 for gfn0 is writable but EPT kvm-source:gfn0 is read-only, and no TLB flush is under way/);
    // Without a TLB, the lost update only costs vcpu1 a second fault: nothing to see.
    expect(checkOne(twoVcpus(['kvm-tdp-mmu']), plainStore, { audit: false }).verdict).toBe('holds');
  });

  it('an invalidation that returns without flushing the remote TLBs leaves a stale entry a vCPU writes through after mprotect returned', () => {
    const r = exploreWithoutFlush(K01_VCPUS);
    expect(r.verdict).toBe('violation');
    expect(r.violation!.property).toBe('refinement');
    expect(r.violation!.message).toMatch(/^guest TLB of kvm-source:vcpu\d for gfn0 maps pfn \d+ but EPT kvm-source:gfn0 maps nothing, and no TLB flush is under way/);
  });

  it('and, where the page is then freed (MADV_DONTNEED), an entry for a freed page (no-dangling-pfn)', () => {
    const spec: ScenarioSpec = {
      ...K01_VCPUS,
      name: 'tlb-dontneed',
      outcomes: undefined,
      exercises: undefined,
      actors: [
        { name: 'vcpu', ops: [{ op: 'guest-access', vm: 'source', page: 0, write: true, value: 1 }] },
        { name: 'host', ops: [{ op: 'madvise-dontneed', mm: 'source', page: 0 }] },
      ],
    };
    expect(checkOne(spec, interval).verdict).toBe('holds');
    const r = exploreWithoutFlush(spec, [noDanglingPfn]);
    expect(r.verdict).toBe('violation');
    expect(r.violation!.message).toMatch(/^guest TLB of kvm-source:vcpu for gfn0 maps pfn \d+, which has been freed/);
  });
});

describe('the catalogue keeps its verdicts with both KVM layers on', () => {
  it('introspect (a vCPU faulting while kcompactd migrates the page) on the corrected design and two broken ones', () => {
    const introspect = scenarioByName('introspect')!;
    for (const name of ['interval', 'seed-2019-literal', 'anon-vma']) {
      const variant = variantByName(name)!;
      const without = checkOne(introspect, variant);
      const withLayers = checkOne({ ...introspect, layers: ['kvm-tdp-mmu', 'kvm-tlb'] }, variant);
      expect(withLayers.verdict, name).toBe(without.verdict);
      expect(withLayers.violation?.property, name).toBe(without.violation?.property);
    }
  });
});
