/**
 * Mutation testing (`vmamirror mutate`, src/check/mutate.ts): the corrected design's mutants at its
 * kernel-API call sites are all caught on the built-in catalogue (introspect-nested aside: too slow
 * for the suite), accepted with the design's written reason, or not checkable — and the plan that
 * only records sites changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { CATALOGUE, scenarioByName } from '../../src/scenario/catalogue.js';
import { interval, INTERVAL_LIB } from '../../src/mirror/interval.js';
import { updateLock, type MirrorVariant } from '../../src/mirror/device.js';
import { checkMutant, mutate, mutantVariant, parseMutantId, type MutantResult } from '../../src/check/mutate.js';
import { checkOne } from '../../src/check/run.js';
import { MEASURED_COUNTS } from '../../src/check/costs.js';
import { MUTATION_CATEGORIES, MutationPlan } from '../../src/kernel/mutation-hooks.js';
import { mutexLock, mutexUnlock } from '../../src/kernel/locks.js';
import { VM_FAULT_SIGBUS } from '../../src/kernel/flags.js';
import { LOCK, TASK } from '../../src/kernel/structs.js';
import { Library } from '../../src/world/registry.js';
import { buildScenario } from '../../src/scenario/build.js';
import { traceOf } from '../../src/report/trace.js';
import { decodeSchedule } from '../../src/engine/schedule.js';

const spec = (name: string) => scenarioByName(name)!;

describe('mutants of the corrected design on the catalogue', () => {
  const small = CATALOGUE.filter((s) => s.name !== 'introspect-nested');
  let report: ReturnType<typeof mutate>;
  const byId = (id: string): MutantResult => report.mutants.find((r) => r.mutant.id === id)!;

  it('are each caught, accepted with a reason or not checkable', { timeout: 120_000 }, () => {
    report = mutate(interval, small);
    expect(report.excluded).toEqual([]);
    expect(report.judges).toHaveLength(small.length);
    expect(report.mutants.length).toBeGreaterThanOrEqual(10);
    for (const c of MUTATION_CATEGORIES) expect(report.mutants.map((r) => r.mutant.category)).toContain(c);
    const open = report.mutants.filter((r) => !['caught', 'accepted', 'not-checkable'].includes(r.outcome));
    expect(open.map((r) => `${r.mutant.id}: ${r.outcome} ${r.hint ?? r.reason ?? ''}`)).toEqual([]);
    expect(report.mutants.filter((r) => r.staleReason).map((r) => r.mutant.id)).toEqual([]);
    expect(report.unknownAccepted).toEqual([]);
  });

  it('catch the callback that forgets the update lock, with a shrunk trace that replays to the violation', () => {
    const r = byId('drop-lock@mirror_invalidate:lock');
    expect(r.outcome).toBe('caught');
    // The runner reports the unlocked mmu_interval_set_seq itself: a data race, whatever the schedule.
    expect(r.caught!.property).toBe('kernel-bug');
    expect(r.caught!.message).toMatch(/mirror_invalidate:zap writes intervalNotifier\[\w+\]\.seq \(protected by driver\) without holding driver: a data race/);
    expect(r.caught!.shrunk!.preemptions).toBeLessThanOrEqual(1);
    const s = decodeSchedule(r.caught!.shrunk!.schedule);
    expect(s.choices).toHaveLength(r.caught!.shrunk!.steps);
    const mutant = parseMutantId(r.mutant.id);
    if (typeof mutant === 'string') throw new Error(mutant);
    expect(traceOf(spec(s.scenario), mutantVariant(interval, mutant), s.choices).violated?.property).toBe(r.caught!.property);
    // On the design itself the same schedule violates nothing.
    expect(traceOf(spec(s.scenario), interval, s.choices).violated).toBeUndefined();
  });

  it('accept tearing down before set_seq under the lock, but not set_seq after the unlock', () => {
    const swap = byId('swap-set-seq@mirror_invalidate:zap');
    expect(swap.outcome).toBe('accepted');
    expect(swap.reason).toBe(interval.acceptedMutants!['swap-set-seq@mirror_invalidate:zap']);
    expect(swap.scenarios).toHaveLength(small.length);
    expect(byId('set-seq-outside-lock@mirror_invalidate:zap').outcome).toBe('caught');
  });

  it('name a drop-barrier mutant at each unprotected access of the driver, not checkable, with the reason', () => {
    const b = report.mutants.filter((r) => r.mutant.category === 'drop-barrier');
    // The driver steps whose one unprotected access the proofs assumed sequentially consistent.
    expect(b.map((r) => [r.mutant.id, r.outcome])).toEqual([
      ['drop-barrier@mirror_fault:mmget', 'not-checkable'],
      ['drop-barrier@mirror_fault:lockSource', 'not-checkable'],
      ['drop-barrier@mirror_invalidate:zap', 'not-checkable'],
    ]);
    for (const r of b) expect(r.reason).toMatch(/sequential consistency/);
  });

  it("are made at the driver's call sites only: the kernel's own locking inside vmf_insert_pfn_prot is not one", () => {
    const ids = report.mutants.map((r) => r.mutant.id);
    expect(ids).toContain('install-writable@mirror_install_pfn:insert');
    expect(ids.filter((id) => id.startsWith('drop-lock@') || id.startsWith('drop-unlock@'))).toEqual([
      'drop-lock@mirror_fault:lockSource',
      'drop-lock@mirror_fault:lock',
      'drop-lock@mirror_invalidate:lock',
      'drop-unlock@mirror_fault:lockSource',
      'drop-unlock@mirror_fault:faulted',
      'drop-unlock@mirror_fault:installed',
      'drop-unlock@mirror_invalidate:unlock',
    ]);
  });
});

describe('the mutation plan', () => {
  it('changes nothing when it only records: the pinned counts and verdict', () => {
    const plan = new MutationPlan(null, { record: true });
    const r = checkOne(spec('introspect'), { ...interval, mutation: plan });
    expect(r.verdict).toBe('holds');
    expect([r.states, r.transitions]).toEqual(MEASURED_COUNTS['introspect/interval']);
    expect(plan.seen!.size).toBeGreaterThan(10);
  });

  it("is null on a normal world and set on a mutant's, whose ghost fields start at 0", () => {
    expect(buildScenario(spec('exit'), interval).world.mutation).toBeNull();
    const { world } = buildScenario(spec('exit'), mutantVariant(interval, { id: 'x', category: 'drop-unlock', site: 'nowhere:at' }));
    expect(world.mutation).toBeInstanceOf(MutationPlan);
    for (let a = 0; a < world.count(TASK); a++) expect(world.obj(TASK, a).deferredPhase).toBe(0);
  });

  it('parses mutant ids and refuses malformed ones with a sentence', () => {
    expect(parseMutantId('drop-lock@mirror_invalidate:lock')).toEqual({ id: 'drop-lock@mirror_invalidate:lock', category: 'drop-lock', site: 'mirror_invalidate:lock' });
    expect(parseMutantId('drop-unlock@mirror_invalidate_raw_clear:clear#1')).toMatchObject({ site: 'mirror_invalidate_raw_clear:clear#1' });
    expect(parseMutantId('drop-barrier')).toMatchObject({ category: 'drop-barrier', site: '' });
    expect(parseMutantId('drop-lock')).toMatch(/drop-lock needs a site/);
    expect(parseMutantId('frobnicate@a:b')).toMatch(/expected CATEGORY@ROUTINE:LABEL/);
    expect(parseMutantId('drop-lock@a:b#0')).toMatch(/expected CATEGORY@ROUTINE:LABEL/);
  });
});

/**
 * A driver whose own model code is wrong only when its lock is dropped (it jumps to a label that
 * does not exist): the mutant's ModelError is its outcome, never "caught".
 */
const LIB = new Library('test-mutate-driver', [INTERVAL_LIB], { kind: 'driver', sources: ['test driver'] });
const faultWithModelBug = LIB.routine({
  name: 'test_fault_checks_its_lock',
  params: ['vma', 'vpn', 'write'],
  steps: {
    lock: {
      at: 'test driver: mutex_lock(update)',
      run: (w) => {
        const b = mutexLock(w, updateLock(w, 0));
        if (b) return b;
        return w.obj(LOCK, 0).owner === w.self ? 'unlock' : 'no-such-label';
      },
    },
    unlock: {
      at: 'test driver: mutex_unlock(update); return VM_FAULT_SIGBUS',
      run: (w) => {
        mutexUnlock(w, updateLock(w, 0));
        return w.ret(VM_FAULT_SIGBUS);
      },
    },
  },
});
const modelBugDesign: MirrorVariant = { ...interval, name: 'test-model-bug', library: LIB, fault: faultWithModelBug, routines: [faultWithModelBug, ...interval.routines.slice(1)] };

describe('a model error while checking a mutant', () => {
  it('is its own outcome, with the message', () => {
    const r = checkMutant(modelBugDesign, { id: 'drop-lock@test_fault_checks_its_lock:lock', category: 'drop-lock', site: 'test_fault_checks_its_lock:lock' }, [spec('exit')]);
    expect(r.outcome).toBe('model-error');
    expect(r.reason).toMatch(/^on exit: .*no-such-label/);
  });
});
