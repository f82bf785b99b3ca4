import { describe, expect, it } from 'vitest';
import { explore } from '../../src/engine/exhaustive.js';
import type { Property } from '../../src/engine/verdict.js';
import { buildWorld } from '../../src/kernel/topology.js';
import { addVma, populateAnon } from '../../src/kernel/setup.js';
import { intervalNotifierInsert } from '../../src/kernel/notifier/interval.js';
import { execStep, runSchedule } from '../../src/world/runner.js';
import { BLOCK_SLEEP, BLOCK_SPIN } from '../../src/world/routine.js';
import type { World } from '../../src/world/world.js';
import { declareTestDevice, deviceStale, testDriverFault, testDriverInvalidate, testZapOne, TEST_DRIVER_LIB } from '../helpers/test-driver.js';

/** Two faults of the test driver racing two zaps of the same page range. */
function world(checkRetry: number): World {
  const w = buildWorld({ pages: 4, mmPages: 4, mms: ['source'], locks: ['update'], actors: ['f0', 'f1', 'z0', 'z1'], libraries: [TEST_DRIVER_LIB] }, declareTestDevice);
  addVma(w, 0, { start: 0, end: 4 });
  populateAnon(w, 0, 0, 0xa);
  populateAnon(w, 0, 1, 0xb);
  intervalNotifierInsert(w, 0, 0, 0, 2, testDriverInvalidate, 0);
  w.spawn(0, testDriverFault, [0, 0, checkRetry]);
  w.spawn(1, testDriverFault, [0, 1, checkRetry]);
  w.spawn(2, testZapOne, [0, 0]);
  w.spawn(3, testZapOne, [0, 1]);
  return w;
}

const noStaleDevice: Property = {
  name: 'no-dangling-pfn',
  description: 'the device never maps a freed or reused page',
  check: (w) => (deviceStale(w, 0) || deviceStale(w, 1) ? 'device maps a freed page' : undefined),
};

/** Reference exploration keyed on the full state contents (no hashing), for cross-checking counts. */
function exactStateCount(w: World): number {
  const key = (s: Int32Array) => Buffer.from(s.buffer, s.byteOffset + 8, s.byteLength - 8).toString('latin1');
  const init = w.snapshot();
  const seen = new Set<string>([key(init)]);
  const queue = [init];
  while (queue.length) {
    const s = queue.pop()!;
    for (let a = 0; a < w.layout.actorNames.length; a++) {
      w.load(s);
      if (w.actorSp(a) === 0) continue;
      const c = s.slice();
      w.load(c);
      const r = execStep(w, a);
      if (r === BLOCK_SLEEP || r === BLOCK_SPIN) continue;
      const k = key(c);
      if (!seen.has(k)) {
        seen.add(k);
        queue.push(c);
      }
    }
  }
  w.load(init);
  return seen.size;
}

describe('breadth-first exploration', () => {
  it('proves the read_retry driver never maps a freed page', () => {
    const r = explore(world(1), { properties: [noStaleDevice] });
    expect(r.verdict).toBe('holds');
    expect(r.states).toBeGreaterThan(100);
  });

  it('finds a shortest schedule where the driver without read_retry maps a freed page, and it replays', () => {
    const w = world(0);
    const r = explore(w, { properties: [noStaleDevice] });
    expect(r.verdict).toBe('violation');
    expect(r.violation!.property).toBe('no-dangling-pfn');
    const schedule = r.violation!.schedule;
    runSchedule(w, schedule);
    expect(deviceStale(w, 0) || deviceStale(w, 1)).toBe(true);
    // Shortest: every proper prefix of the schedule is violation-free (BFS order).
    const again = world(0);
    runSchedule(again, schedule.slice(0, -1));
    expect(deviceStale(again, 0) || deviceStale(again, 1)).toBe(false);
  });

  it('counts exactly the states an exact (unhashed) store counts', () => {
    const r = explore(world(1), { properties: [], merge: false });
    expect(r.states).toBe(exactStateCount(world(1)));
  });

  it('is deterministic: same counts on every run', () => {
    const a = explore(world(1));
    const b = explore(world(1));
    expect([a.states, a.transitions, a.depth]).toEqual([b.states, b.transitions, b.depth]);
  });
});
