/**
 * Termination and deadlock, on mutants of the corrected design: a fault path that always retries
 * (it livelocks once the invalidations have stopped) and an invalidate callback that forgets to
 * drop the update lock (the next fault sleeps forever).
 */
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/engine/exhaustive.js';
import { dfs as depthFirst } from '../../src/engine/dfs.js';
import { PROPERTIES } from '../../src/check/properties.js';
import { buildScenario } from '../../src/scenario/build.js';
import { interval, intervalInvalidate } from '../../src/mirror/interval.js';
import { forgetsUnlock, readVsReclaim, retryForever } from '../helpers/mutants.js';

describe('liveness and deadlock', () => {
  it('reports a fault path that keeps retrying once no invalidation is left', () => {
    const r = explore(buildScenario(readVsReclaim, retryForever).world, { properties: PROPERTIES });
    expect(r.verdict).toBe('violation');
    expect(r.violation!.property).toBe('termination');
    expect(r.violation!.message).toMatch(/^intro \(at [a-z_]+:[a-zA-Z]+\) never completes: every adversary has stopped/);
  });

  it('does not report the corrected design, whose retries end when the invalidations do', () => {
    const r = explore(buildScenario(readVsReclaim, interval).world, { properties: PROPERTIES });
    expect(r.verdict).toBe('holds');
    expect(intervalInvalidate.name).toBe('mirror_invalidate');
  });

  it('can be switched off', () => {
    const r = explore(buildScenario(readVsReclaim, retryForever).world, { properties: PROPERTIES, liveness: false, maxStates: 5000 });
    expect(r.violation?.property).not.toBe('termination');
  });

  it('reports a deadlock when a callback never drops the update lock', () => {
    const r = explore(buildScenario(readVsReclaim, forgetsUnlock).world, { properties: PROPERTIES });
    expect(r.verdict).toBe('violation');
    expect(r.violation!.property).toBe('deadlock');
  });

  it('stops at the state limit with the reason', () => {
    const r = explore(buildScenario(readVsReclaim, interval).world, { properties: PROPERTIES, maxStates: 50 });
    expect([r.verdict, r.stopReason, r.states]).toEqual(['incomplete', 'max-states', 50]);
  });

  it('explores depth-first to the same verdicts and state count', () => {
    for (const v of [interval, retryForever]) {
      const bfs = explore(buildScenario(readVsReclaim, v).world, { properties: PROPERTIES });
      const dfs = explore(buildScenario(readVsReclaim, v).world, { properties: PROPERTIES, strategy: depthFirst });
      expect(dfs.verdict).toBe(bfs.verdict);
      expect(dfs.violation?.property).toBe(bfs.violation?.property);
      if (bfs.verdict === 'holds') expect(dfs.states).toBe(bfs.states);
    }
  });
});
