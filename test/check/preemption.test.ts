/** The preemption bound: schedules with at most K preemptions, nothing claimed beyond. */
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/engine/exhaustive.js';
import { PROPERTIES } from '../../src/check/properties.js';
import { buildScenario } from '../../src/scenario/build.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';
import { countPreemptions } from '../../src/engine/replay.js';

const world = (s: string, v: string) => buildScenario(scenarioByName(s)!, variantByName(v)!).world;

describe('preemption bound', () => {
  it('finds the start-only race within one preemption, and the schedule has at most one', () => {
    const r = explore(world('introspect', 'start-only'), { properties: PROPERTIES, preemptions: 1 });
    expect(r.verdict).toBe('violation');
    expect(r.violation!.property).toBe('refinement');
    expect(countPreemptions(world('introspect', 'start-only'), r.violation!.schedule)).toBeLessThanOrEqual(1);
  });

  it('misses the range->valid ABA with no preemption at all, and says the run is bounded, not a proof', () => {
    const r = explore(world('introspect', 'seed-2019-fixed'), { properties: PROPERTIES, preemptions: 0 });
    expect(r.verdict).toBe('incomplete');
    expect(r.stopReason).toBe('preemption-bound');
    const unbounded = explore(world('introspect', 'seed-2019-fixed'), { properties: PROPERTIES });
    expect(unbounded.violation?.property).toBe('refinement');
  });

  it('explores fewer states under a tighter bound', () => {
    const one = explore(world('introspect', 'interval'), { properties: PROPERTIES, preemptions: 1 });
    const two = explore(world('introspect', 'interval'), { properties: PROPERTIES, preemptions: 2 });
    expect(one.stopReason).toBe('preemption-bound');
    expect(one.states).toBeLessThan(two.states);
  });
});
