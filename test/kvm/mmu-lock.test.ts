/**
 * KVM's mmu_lock as state (x86: an rwlock_t). The TDP MMU fault holds it for read from the
 * staleness check to the spte install; the invalidate callbacks hold it for write around
 * kvm_mmu_invalidate_begin + the zap, and around kvm_mmu_invalidate_end. So a fault and an
 * invalidation are ordered: whichever takes the lock first, the other waits.
 *
 * The check and the install are separate steps, as in the C: a fault that skips read_lock is
 * caught by the checker on the vCPU scenarios of the catalogue (an invalidation runs between its
 * check and its install), with a shrunk trace. The mutants are test-local: a library of their own
 * holding a copy of guest_access that calls the mutated fault, swapped into the vCPU's program
 * when the (otherwise corrected) design attaches.
 */
import { describe, expect, it } from 'vitest';
import { EFAULT } from '../../src/kernel/flags.js';
import { assertHeld, readUnlock } from '../../src/kernel/locks.js';
import { pageGen, putPage } from '../../src/kernel/page.js';
import { PAGE } from '../../src/kernel/structs.js';
import { deref } from '../../src/kernel/ref.js';
import { KVM_LIB } from '../../src/kvm/library.js';
import { kvmTdpPageFault } from '../../src/kvm/fault.js';
import { CALL_LOCALS } from '../../src/world/layout.js';
import { KVM } from '../../src/kvm/structs.js';
import { gfnToHva, kvmMmuLock, spte } from '../../src/kvm/topology.js';
import { hvaToPfn, unpackPfn } from '../../src/kvm/hva-to-pfn.js';
import { guestAccess } from '../../src/kvm/guest.js';
import { interval, INTERVAL_LIB } from '../../src/mirror/interval.js';
import type { MirrorVariant } from '../../src/mirror/device.js';
import { buildScenario } from '../../src/scenario/build.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { programs, setPrograms } from '../../src/scenario/workload.js';
import { checkOne } from '../../src/check/run.js';
import { quiescence } from '../../src/check/properties.js';
import { decodeSchedule } from '../../src/engine/schedule.js';
import { entryActor, entryChoice } from '../../src/world/entry.js';
import { Library } from '../../src/world/registry.js';
import type { AnyRoutine } from '../../src/world/routine.js';
import type { World } from '../../src/world/world.js';
import { actorIndex, execStep, isEnabled, whereIs } from '../../src/world/runner.js';
import { runAllToEnd, runPhases } from '../helpers/phases.js';

const introspect = scenarioByName('introspect')!;
const nested = scenarioByName('introspect-nested')!;

const kvmState = (w: World) => {
  const k = w.obj(KVM, 0);
  return { writer: k.mmuLockWriter, readers: k.mmuLockReaders, inProgress: k.invalidateInProgress, seq: k.invalidateSeq };
};

describe('with mmu_lock, a fault and an invalidation are ordered', () => {
  it('a fault between its staleness check and its install holds the lock for read: the invalidation waits, then zaps what it installed', () => {
    const { world: w } = buildScenario(introspect, interval);
    const run = runPhases(w, [
      { actor: 'vcpu', until: 'kvm_tdp_page_fault:map' },
      { actor: 'kcompactd', until: 'kvm_mmu_notifier_invalidate_range_start:zap' },
    ]);
    expect(run.violation).toBeUndefined();
    expect(kvmState(w)).toMatchObject({ writer: 0, readers: 1, inProgress: 0 });
    const kcompactd = actorIndex(w, 'kcompactd');
    expect(whereIs(w, kcompactd)).toBe('kvm_mmu_notifier_invalidate_range_start:lock');
    expect(isEnabled(w, kcompactd)).toBe(false); // write_lock spins while the fault reads
    const installed = runPhases(w, [{ actor: 'vcpu', until: 'kvm_tdp_page_fault:release' }]);
    expect(installed.violation).toBeUndefined();
    expect(spte(w, 0, 0).pfn).not.toBe(0);
    expect(kvmState(w).readers).toBe(0);
    expect(isEnabled(w, kcompactd)).toBe(true);
    expect(runPhases(w, [{ actor: 'kcompactd', until: 'kvm_mmu_notifier_invalidate_range_start:unlock' }]).violation).toBeUndefined();
    expect(spte(w, 0, 0).pfn).toBe(0); // the zap ran after the install
    expect(runAllToEnd(w).violation).toBeUndefined();
  });

  it('an invalidation holding the lock for write makes the fault wait, then retry', () => {
    const { world: w } = buildScenario(introspect, interval);
    const run = runPhases(w, [
      { actor: 'vcpu', until: 'kvm_tdp_page_fault:lock' },
      { actor: 'kcompactd', until: 'kvm_mmu_notifier_invalidate_range_start:unlock' },
    ]);
    expect(run.violation).toBeUndefined();
    expect(kvmState(w)).toMatchObject({ writer: actorIndex(w, 'kcompactd') + 1, readers: 0, inProgress: 1 });
    const vcpu = actorIndex(w, 'vcpu');
    expect(isEnabled(w, vcpu)).toBe(false); // read_lock spins while the invalidation writes
    const after = runPhases(w, [
      { actor: 'kcompactd', until: 'mmu_notifier_invalidate_range_start:hlistReturned' },
      { actor: 'vcpu', after: 'kvm_tdp_page_fault:map' },
    ]);
    expect(after.violation).toBeUndefined();
    // Stale (in progress): out_unlock, on the way to retry.
    expect(whereIs(w, vcpu)).toBe('kvm_tdp_page_fault:release');
    expect(kvmState(w).readers).toBe(0);
    expect(w.v[w.topFrame(vcpu)! + CALL_LOCALS + kvmTdpPageFault.localNames.indexOf('retry')]).toBe(1);
    expect(spte(w, 0, 0).pfn).toBe(0);
    // The fault would retry for as long as the invalidation is in progress: let kcompactd end it first.
    expect(runPhases(w, [{ actor: 'kcompactd', until: 'end' }]).violation).toBeUndefined();
    expect(runAllToEnd(w).violation).toBeUndefined();
    expect(kvmState(w)).toMatchObject({ writer: 0, readers: 0, inProgress: 0, seq: 1 });
  });
});

describe('notifier-balance', () => {
  it('once every actor has finished, mmu_lock must be free', () => {
    const { world: w } = buildScenario(introspect, interval);
    expect(runAllToEnd(w).violation).toBeUndefined();
    expect(quiescence.check(w)).toBeUndefined();
    w.obj(KVM, 0).mmuLockReaders = 1;
    expect(quiescence.check(w)).toBe('kvm kvm-source: mmu_lock still held');
  });
});

// ---- the mutants ----

/** The mutants' library: the corrected design's plus KVM's, and the routines below. */
const LIB = new Library('test-kvm-mutants', [INTERVAL_LIB, KVM_LIB]);

/**
 * kvm_tdp_page_fault without mmu_lock: no read_lock, no read_unlock, and a kernel built without
 * lockdep (mmu_invalidate_retry_gfn's lockdep_assert_held compiled out). Nothing but the lock kept
 * an invalidation from running between the staleness check and the install.
 */
const faultWithoutLock = LIB.routine({
  name: 'test_kvm_tdp_page_fault_without_mmu_lock',
  params: ['kvm', 'gfn', 'write'],
  locals: ['mmuSeq', 'pfn', 'writable', 'refcounted', 'retry'],
  steps: {
    seq: {
      at: 'mutant: kvm_faultin_pfn, as the product',
      lockless: ['kvm.invalidateSeq'],
      run: (w, l) => {
        const kvm = w.obj(KVM, l.kvm);
        l.mmuSeq = kvm.invalidateSeq;
        l.retry = 0;
        const hva = gfnToHva(w, l.kvm, l.gfn);
        if (hva < 0) return w.ret(-EFAULT);
        return w.call(hvaToPfn, 'stale', deref(kvm.mm, 'kvm.mm'), hva, l.write);
      },
    },
    stale: {
      at: 'mutant: is_page_fault_stale without read_lock(mmu_lock)',
      run: (w, l) => {
        if (l.result < 0) return w.ret(l.result);
        const r = unpackPfn(l.result);
        l.pfn = r.pfn;
        l.writable = r.writable ? 1 : 0;
        l.refcounted = r.refcounted ? 1 : 0;
        l.result = 0;
        const kvm = w.obj(KVM, l.kvm);
        const inRange = kvm.invalidateInProgress > 0 && kvm.rangeStart <= l.gfn && l.gfn < kvm.rangeEnd;
        if (inRange || kvm.invalidateSeq !== l.mmuSeq) {
          l.retry = 1;
          return 'release';
        }
        return 'map';
      },
    },
    map: {
      at: 'mutant: kvm_tdp_mmu_map, as the product',
      run: (w, l) => {
        const e = spte(w, l.kvm, l.gfn);
        e.pfn = l.pfn;
        e.write = l.write && l.writable ? 1 : 0;
        e.gen = pageGen(w, l.pfn);
        return 'release';
      },
    },
    release: {
      at: 'mutant: kvm_release_faultin_page, no read_unlock',
      run: (w, l) => {
        if (l.refcounted) putPage(w, l.pfn);
        if (l.retry) {
          l.pfn = 0;
          l.writable = 0;
          l.refcounted = 0;
          return 'seq';
        }
        return w.ret(0);
      },
    },
  },
});

/**
 * The same lockless fault with the check and the install in one step, as the model had it before
 * mmu_lock was state: the step's size stood in for the lock, so nothing could run in between.
 */
const faultCheckAndMapInOneStep = LIB.routine({
  name: 'test_kvm_tdp_page_fault_check_and_map_in_one_step',
  params: ['kvm', 'gfn', 'write'],
  locals: ['mmuSeq', 'pfn', 'refcounted', 'retry'],
  steps: {
    seq: {
      at: 'mutant: kvm_faultin_pfn, as the product',
      lockless: ['kvm.invalidateSeq'],
      run: (w, l) => {
        const kvm = w.obj(KVM, l.kvm);
        l.mmuSeq = kvm.invalidateSeq;
        l.retry = 0;
        return w.call(hvaToPfn, 'map', deref(kvm.mm, 'kvm.mm'), gfnToHva(w, l.kvm, l.gfn), l.write);
      },
    },
    map: {
      at: 'mutant: is_page_fault_stale + kvm_tdp_mmu_map in one step, no mmu_lock',
      run: (w, l) => {
        if (l.result < 0) return w.ret(l.result);
        const r = unpackPfn(l.result);
        l.pfn = r.pfn;
        l.refcounted = r.refcounted ? 1 : 0;
        l.result = 0;
        const kvm = w.obj(KVM, l.kvm);
        if ((kvm.invalidateInProgress > 0 && kvm.rangeStart <= l.gfn && l.gfn < kvm.rangeEnd) || kvm.invalidateSeq !== l.mmuSeq) {
          l.retry = 1;
          return 'release';
        }
        const e = spte(w, l.kvm, l.gfn);
        e.pfn = l.pfn;
        e.write = l.write && r.writable ? 1 : 0;
        e.gen = pageGen(w, l.pfn);
        return 'release';
      },
    },
    release: {
      at: 'mutant: kvm_release_faultin_page, as the product',
      run: (w, l) => {
        if (l.refcounted) putPage(w, l.pfn);
        if (!l.retry) return w.ret(0);
        l.pfn = 0;
        l.refcounted = 0;
        return 'seq';
      },
    },
  },
});

/** The one-line mutant: read_lock dropped, everything else as the product (lockdep on). */
const faultWithoutReadLock = LIB.routine({
  name: 'test_kvm_tdp_page_fault_without_read_lock',
  params: ['kvm', 'gfn', 'write'],
  locals: ['mmuSeq'],
  steps: {
    seq: {
      at: 'mutant: kvm_faultin_pfn, as the product',
      lockless: ['kvm.invalidateSeq'],
      run: (w, l) => {
        const kvm = w.obj(KVM, l.kvm);
        l.mmuSeq = kvm.invalidateSeq;
        return w.call(hvaToPfn, 'stale', deref(kvm.mm, 'kvm.mm'), gfnToHva(w, l.kvm, l.gfn), l.write);
      },
    },
    stale: {
      at: 'mutant: is_page_fault_stale, read_lock(mmu_lock) dropped',
      run: (w, l) => {
        assertHeld(w, kvmMmuLock(w, l.kvm), 'mmu_invalidate_retry_gfn');
        return 'unlock';
      },
    },
    unlock: {
      at: 'mutant: read_unlock(mmu_lock)',
      run: (w, l) => {
        readUnlock(w, kvmMmuLock(w, l.kvm));
        return w.ret(0);
      },
    },
  },
});

/** guest_access calling `fault` instead of kvm_tdp_page_fault (a copy: the product's call is static). */
function guestAccessVia(name: string, fault: AnyRoutine): AnyRoutine {
  return LIB.routine({
    name,
    params: ['kvm', 'gfn', 'write', 'value'],
    steps: {
      access: {
        at: 'mutant: guest_access, as the product',
        lockless: ['spte.pfn', 'spte.write'],
        run: (w, l) => {
          const value = w.single(() => {
            const e = spte(w, l.kvm, l.gfn);
            if (e.pfn === 0 || (l.write && !e.write)) return undefined;
            const page = w.obj(PAGE, e.pfn);
            if (l.write) page.contents = l.value;
            return page.contents;
          });
          if (value !== undefined) return w.ret(value);
          return w.call(fault, 'faulted', l.kvm, l.gfn, l.write);
        },
      },
      faulted: {
        at: 'mutant: handle_ept_violation, as the product',
        run: (w, l) => {
          if (l.result < 0) return w.ret(l.result);
          l.result = 0;
          return 'access';
        },
      },
    },
  });
}

/**
 * The corrected design, with every guest access of the scenario's programs going through
 * `access` instead: the programs are static data the build set before the device attached.
 */
function kvmMutant(name: string, access: AnyRoutine): MirrorVariant {
  return {
    ...interval,
    library: LIB,
    name,
    reproduces: ['mutant'],
    attach(w, dev) {
      interval.attach(w, dev);
      const progs = programs(w.layout);
      setPrograms(
        w.layout,
        progs.map((prog) => prog.map((op) => (op.routine === guestAccess ? { ...op, routine: access } : op))),
      );
    },
  };
}

/**
 * The `routine:label` of each step of `schedule`, replayed without the footprint audit of a trace
 * (`traceOf`): the workload's declared footprint calls guest_access, not the mutants' copy.
 */
function stepsOf(spec: ScenarioSpec, variant: MirrorVariant, schedule: readonly number[]): string[] {
  const { world: w } = buildScenario(spec, variant);
  return schedule.map((e) => {
    const where = whereIs(w, entryActor(e));
    w.choice = entryChoice(e);
    execStep(w, entryActor(e));
    w.choice = 0;
    return where;
  });
}

const withoutLock = kvmMutant('test-kvm-fault-without-mmu-lock', guestAccessVia('test_guest_access_without_mmu_lock', faultWithoutLock));
const oneStep = kvmMutant('test-kvm-fault-check-and-map-in-one-step', guestAccessVia('test_guest_access_check_and_map_in_one_step', faultCheckAndMapInOneStep));
const withoutReadLock = kvmMutant('test-kvm-fault-without-read-lock', guestAccessVia('test_guest_access_without_read_lock', faultWithoutReadLock));

describe('a KVM fault that skips read_lock(mmu_lock)', () => {
  it('races with the invalidation on the vCPU scenarios: caught with a shrunk trace', { timeout: 300_000 }, () => {
    for (const spec of [introspect, nested]) {
      // Without the audit: the search itself finds the race (with it, the runner reports the
      // unlocked access at once — the test below).
      const r = checkOne(spec, withoutLock, { shrink: true, audit: false });
      expect(r.verdict, spec.name).toBe('violation');
      expect(['refinement', 'no-dangling-pfn'], spec.name).toContain(r.violation!.property);
      expect(r.shrunk!.schedule).toMatch(new RegExp(`^${spec.name}/test-kvm-fault-without-mmu-lock:`));
      // The fault checks, the invalidation runs, the fault installs: two switches away from a runnable actor at most.
      expect(r.shrunk!.preemptions, spec.name).toBeLessThanOrEqual(2);
      // The trace shows the window: the check passed, the invalidation zapped (nothing yet), then the install.
      const where = stepsOf(spec, withoutLock, decodeSchedule(r.shrunk!.schedule).choices);
      const map = where.lastIndexOf('test_kvm_tdp_page_fault_without_mmu_lock:map');
      const check = where.lastIndexOf('test_kvm_tdp_page_fault_without_mmu_lock:stale', map);
      const zap = where.lastIndexOf('kvm_mmu_notifier_invalidate_range_start:zap', map);
      expect([check >= 0, check < zap, zap < map], spec.name).toEqual([true, true, true]);
    }
  });

  it('is not caught by the search when the check and the install are one step (that step stood in for the lock), but is by the runner', () => {
    expect(checkOne(introspect, oneStep, { audit: false }).verdict).toBe('holds');
    const r = checkOne(introspect, oneStep);
    expect(r.verdict).toBe('violation');
    expect(r.violation!.message).toMatch(
      /test_kvm_tdp_page_fault_check_and_map_in_one_step:\w+ reads kvm\[kvm-source\]\.\w+ \(protected by kvm\.mmu_lock\) without holding kvm\.mmu_lock: a data race/,
    );
  });

  it('the fault alone, or with the lock, is fine: the race needs the invalidation inside the window', () => {
    const r = checkOne({ ...introspect, name: 'vcpu-alone', actors: introspect.actors.filter((a) => a.name === 'vcpu') }, withoutLock, { audit: false });
    expect(r.verdict).toBe('holds');
    expect(checkOne(introspect, interval).verdict).toBe('holds');
  });

  it('with lockdep, the one-line mutant is a kernel BUG at the staleness check (lockdep_assert_held), whatever the schedule', () => {
    const r = checkOne(introspect, withoutReadLock);
    expect(r.verdict).toBe('violation');
    expect(r.violation!.property).toBe('kernel-bug');
    expect(r.violation!.message).toMatch(/mmu_invalidate_retry_gfn: lockdep_assert_held\(kvm\[kvm-source\]\.mmu_lock\) failed: actor vcpu does not hold it/);
  });
});
