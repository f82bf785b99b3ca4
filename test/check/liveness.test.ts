/**
 * Termination and deadlock, on mutants of the corrected design: a fault path that always retries
 * (it livelocks once the invalidations have stopped) and an invalidate callback that forgets to
 * drop the update lock (the next fault sleeps forever).
 */
import { describe, expect, it } from 'vitest';
import { defineRoutine } from '../../src/world/routine.js';
import { explore } from '../../src/check/explore.js';
import { PROPERTIES } from '../../src/check/properties.js';
import { buildScenario } from '../../src/scenario/build.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { interval, INSTALL_RETRY, intervalInvalidate } from '../../src/mirror/interval.js';
import { MIRROR, sourceRangeToMirror, type MirrorVariant } from '../../src/mirror/device.js';
import { zapVmaPtes } from '../../src/kernel/ops/zap.js';
import { mmuIntervalSetSeq } from '../../src/kernel/notifier/interval.js';
import { driverTrylock } from '../../src/kernel/locks.js';
import { MIN } from '../../src/kernel/structs.js';
import { BLOCK_SLEEP } from '../../src/world/routine.js';

const alwaysRetry = defineRoutine({
  name: 'test_mirror_install_always_retry',
  params: ['vma', 'vpn', 'dev', 'seq', 'hpfn', 'write'],
  steps: { install: { at: 'mutant: read_retry inverted', run: (w) => w.ret(INSTALL_RETRY) } },
});

const retryForever: MirrorVariant = {
  ...interval,
  name: 'test-retry-forever',
  reproduces: ['mutant'],
  attach(w, dev) {
    interval.attach(w, dev);
    w.obj(MIRROR, dev).install = alwaysRetry.id + 1;
  },
};

const keepsLock = defineRoutine({
  name: 'test_mirror_invalidate_keeps_lock',
  params: ['sub', 'start', 'end', 'event', 'blockable', 'curSeq'],
  steps: {
    lock: { at: 'mutant: mutex_lock(update), never unlocked', run: (w, l) => {
      const dev = w.obj(MIN, l.sub).priv - 1;
      if (!driverTrylock(w, w.obj(MIRROR, dev).lock - 1)) return BLOCK_SLEEP;
      mmuIntervalSetSeq(w, l.sub, l.curSeq);
      const [a, b] = sourceRangeToMirror(w, dev, l.start, l.end);
      return w.call(zapVmaPtes, 'done', w.obj(MIRROR, dev).vma - 1, a, b);
    } },
    done: { at: 'mutant: return without mutex_unlock', run: (w) => w.ret(1) },
  },
});

const forgetsUnlock: MirrorVariant = {
  ...interval,
  name: 'test-forgets-unlock',
  reproduces: ['mutant'],
  attach(w, dev) {
    interval.attach(w, dev);
    const d = w.obj(MIRROR, dev);
    w.obj(MIN, d.sub - 1).invalidate = keepsLock.id + 1;
  },
};

const readVsReclaim: ScenarioSpec = {
  name: 'read-vs-reclaim',
  description: 'the introspector reads the mirror while kswapd reclaims the source page',
  pages: 1,
  actors: [
    { name: 'intro', ops: [{ op: 'access', mm: 'introspector', page: 0 }] },
    { name: 'kswapd', ops: [{ op: 'reclaim', page: 0 }] },
  ],
};

describe('liveness and deadlock', () => {
  it('reports a fault path that keeps retrying once no invalidation is left', () => {
    const r = explore(buildScenario(readVsReclaim, retryForever).world, { properties: PROPERTIES });
    expect(r.verdict).toBe('violation');
    expect(r.violation!.property).toBe('termination');
    expect(r.violation!.message).toMatch(/^intro loops forever alone at /);
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
      const dfs = explore(buildScenario(readVsReclaim, v).world, { properties: PROPERTIES, order: 'dfs' });
      expect(dfs.verdict).toBe(bfs.verdict);
      expect(dfs.violation?.property).toBe(bfs.violation?.property);
      if (bfs.verdict === 'holds') expect(dfs.states).toBe(bfs.states);
    }
  });

});
