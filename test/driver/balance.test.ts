/**
 * The driver's own state, its own properties and `unbalanced` (src/check/balance.ts), on the small
 * counting drivers of counting.ts; and `notifier-balance`, which now uses the same mechanism for
 * the kernel's counters, on exit racing an invalidation (the release-aware case).
 */
import { describe, expect, it } from 'vitest';
import { checkOne } from '../../src/check/run.js';
import { PROPERTIES, quiescence } from '../../src/check/properties.js';
import { explore } from '../../src/engine/exhaustive.js';
import { buildScenario } from '../../src/scenario/build.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { interval } from '../../src/mirror/interval.js';
import { startOnly } from '../../src/mirror/start-only.js';
import { KVM } from '../../src/kvm/structs.js';
import { MN } from '../../src/kernel/structs.js';
import { runAllToEnd } from '../helpers/phases.js';
import { unbalanced } from '../../src/check/balance.js';
import { COUNTER, countingDriver } from './counting.js';

/** The source exits while kswapd reclaims its page: reclaim's invalidation may be open when exit's release unlinks the classic subscribers. */
const exitReclaim = (sourceKvm: boolean): ScenarioSpec => ({
  name: 'exit-reclaim',
  description: 'the source exits while kswapd reclaims its page',
  pages: 1,
  sourceKvm,
  actors: [
    { name: 'source', ops: [{ op: 'exit', mm: 'source' }] },
    { name: 'kswapd', ops: [{ op: 'reclaim', page: 0 }] },
  ],
});

const munmap = scenarioByName('munmap')!;
const exit = scenarioByName('exit')!;

describe('driver state', () => {
  it('adds the driver’s objects to the world and runs its init after the .mmap', () => {
    const d = countingDriver({ name: 'count-ok' });
    const { world: w } = buildScenario(munmap, d);
    expect(w.count(COUNTER)).toBe(1);
    expect(w.obj(COUNTER, 0).mn).not.toBe(0); // init read the subscription attach registered
    expect(w.obj(MN, w.obj(COUNTER, 0).mn - 1).priv).toBe(1); // its priv: device 0
  });

  it('is held to the lock discipline like the kernel’s: an atomic counter is one access per step', () => {
    expect(checkOne(munmap, countingDriver({ name: 'count-ok' })).verdict).toBe('holds');
  });
});

describe('unbalanced', () => {
  it('catches an end that forgets the decrement, naming object, field and value', () => {
    const r = checkOne(munmap, countingDriver({ name: 'count-leak', decrement: false }));
    expect(r.violation?.property).toBe('unbalanced');
    expect(r.violation?.message).toBe('test_inval_counter[0].active is 1 (every invalidate_range_start had its end)');
  });

  it('holds on the fixed driver, on munmap and exit', () => {
    for (const s of [munmap, exit]) expect(checkOne(s, countingDriver({ name: 'count-ok' })).verdict, s.name).toBe('holds');
  });

  it('is aware of release: exit unlinking the subscriber mid-invalidation loses its end, which the kernel accepts', () => {
    const aware = checkOne(exitReclaim(false), countingDriver({ name: 'count-ok' }));
    expect(aware.verdict).toBe('holds');
    // The same driver without `subscription` cannot tell, and reports the lost end: the schedule exists.
    const blind = checkOne(exitReclaim(false), countingDriver({ name: 'count-blind', releaseAware: false }));
    expect(blind.violation?.property).toBe('unbalanced');
    expect(blind.violation?.message).toBe('test_inval_counter[0].active is 1 (every invalidate_range_start had its end)');
  });

  it('after release, still reports a count below zero (an end too many is no lost end)', () => {
    const d = countingDriver({ name: 'count-ok' });
    const { world: w } = buildScenario(exitReclaim(false), d);
    expect(runAllToEnd(w).violation).toBeUndefined();
    expect(w.obj(MN, w.obj(COUNTER, 0).mn - 1).mm).toBe(0); // release unlinked the subscription
    const check = unbalanced(d.balanced!);
    w.obj(COUNTER, 0).active = 2;
    expect(check.check(w)).toBeUndefined();
    w.obj(COUNTER, 0).active = -1;
    expect(check.check(w)).toBe('test_inval_counter[0].active is -1 (every invalidate_range_start had its end)');
  });
});

describe('notifier-balance is aware of release (regression: it flagged the fixed kernel)', () => {
  it('holds when exit unlinks KVM while reclaim’s invalidation is open', () => {
    for (const v of [interval, startOnly]) {
      const r = explore(buildScenario(exitReclaim(true), v).world, { properties: PROPERTIES });
      expect(r.verdict, v.name).toBe('holds');
    }
  });

  it('still reports KVM’s count when its subscription was not released', () => {
    const { world: w } = buildScenario(scenarioByName('introspect')!, interval);
    expect(runAllToEnd(w).violation).toBeUndefined();
    w.obj(KVM, 0).invalidateInProgress = 1;
    expect(quiescence.check(w)).toBe('kvm[kvm-source].invalidateInProgress is 1 (mmu_invalidate_in_progress: every kvm_mmu_invalidate_begin had its end)');
  });
});
