/**
 * Iterative preemption bounding (src/engine/iterative.ts): after a limit, the bounds 0, 1, 2, … are
 * searched under the same limits, and the coverage says the largest one searched completely — which
 * a bounded search of its own confirms, and the next bound does not fit.
 */
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/engine/exhaustive.js';
import { iteratePreemptions, outOfReach } from '../../src/engine/iterative.js';
import { PROPERTIES } from '../../src/check/properties.js';
import { buildScenario } from '../../src/scenario/build.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';
import { countPreemptions } from '../../src/engine/replay.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';

const world = (s: string | ScenarioSpec, v: string) => buildScenario(typeof s === 'string' ? scenarioByName(s)! : s, variantByName(v)!).world;

describe('iterative preemption bounding', () => {
  it('reports the largest bound that fits the limit, and that bound fits while the next does not', { timeout: 60_000 }, () => {
    const opts = { properties: PROPERTIES, maxStates: 5000 };
    const full = explore(world('introspect', 'interval'), opts);
    expect(outOfReach(full)).toBe(true);
    const { coverage, violation } = iteratePreemptions(world('introspect', 'interval'), opts);
    expect(violation).toBeUndefined();
    expect(coverage.everySchedule).toBe(false);
    expect(coverage.preemptions).toBeGreaterThanOrEqual(0);
    const k = coverage.preemptions;
    const at = explore(world('introspect', 'interval'), { ...opts, preemptions: k });
    expect(at.stopReason).toBe('preemption-bound');
    expect([at.states, at.transitions]).toEqual([coverage.states, coverage.transitions]);
    expect(explore(world('introspect', 'interval'), { ...opts, preemptions: k + 1 }).stopReason).toBe('max-states');
    expect(coverage.stopReason).toBe('max-states');
  });

  it('a violation found under a bound ends it, with a schedule within that bound', { timeout: 60_000 }, () => {
    const opts = { properties: PROPERTIES, maxStates: 50_000 };
    expect(outOfReach(explore(world('introspect-nested', 'seed-2019-fixed'), opts))).toBe(true);
    const { coverage, violation } = iteratePreemptions(world('introspect-nested', 'seed-2019-fixed'), opts);
    expect(violation?.verdict).toBe('violation');
    expect(violation!.violation!.property).toBe('refinement');
    expect(coverage.violationAt).toBe(coverage.preemptions + 1);
    expect(countPreemptions(world('introspect-nested', 'seed-2019-fixed'), violation!.violation!.schedule)).toBeLessThanOrEqual(coverage.violationAt!);
  });

  it('stops at the first bound that cuts nothing off: no schedule needs more', () => {
    const alone: ScenarioSpec = { name: 'alone', description: 'one actor: no schedule has a preemption', pages: 1, actors: [{ name: 'intro', ops: [{ op: 'access', mm: 'introspector', page: 0 }] }] };
    const { coverage } = iteratePreemptions(world(alone, 'interval'), { properties: PROPERTIES, maxStates: 100_000 });
    expect(coverage).toMatchObject({ preemptions: 0, everySchedule: true });
    expect(coverage.stopReason).toBeUndefined();
  });

  it('a limit below the smallest bounded search covers nothing, and says why', () => {
    const { coverage } = iteratePreemptions(world('exit', 'interval'), { properties: PROPERTIES, maxStates: 2 });
    expect(coverage).toMatchObject({ preemptions: -1, stopReason: 'max-states', states: 0 });
  });
});
