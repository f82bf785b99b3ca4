/**
 * The fork child: its threads start when fork returns (they cannot run before it), and its exit
 * drops the mm_count reference mm_init gave it (regression: the model's dup_mmap left mm_count at
 * 0, so the child's exit reported "mmdrop ... with mm_count 0", a BUG the kernel cannot hit).
 */
import { describe, expect, it } from 'vitest';
import { buildScenario } from '../../src/scenario/build.js';
import { checkOne } from '../../src/check/run.js';
import { variantByName } from '../../src/mirror/variants.js';
import { runToEnd } from '../../src/world/runner.js';
import { explore } from '../../src/engine/exhaustive.js';
import { PROPERTIES } from '../../src/check/properties.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { MM } from '../../src/kernel/structs.js';

const interval = variantByName('interval')!;

const childThread: ScenarioSpec = {
  name: 'fork-child-thread',
  description: 'the source forks; a thread of the child writes its page, then the child exits',
  pages: 1,
  actors: [
    { name: 'parent', ops: [{ op: 'fork', mm: 'source' }] },
    {
      name: 'child',
      ops: [
        { op: 'access', mm: 'child', page: 0, write: true, value: 7 },
        { op: 'exit', mm: 'child' },
      ],
    },
  ],
};

const oneActor: ScenarioSpec = {
  name: 'fork-then-exit-child',
  description: 'one actor forks the source, then the child exits',
  pages: 1,
  actors: [
    {
      name: 'parent',
      ops: [
        { op: 'fork', mm: 'source' },
        { op: 'exit', mm: 'child' },
      ],
    },
  ],
};

describe('the fork child', () => {
  it('has no running thread before fork returns', () => {
    const { world } = buildScenario(childThread, interval);
    expect(world.actorSp(1)).toBe(0);
    expect(world.actorSp(0)).toBe(1);
  });

  it('every interleaving holds: the child never runs before the fork, and its exit is clean', () => {
    const r = checkOne(childThread, interval);
    expect([r.verdict, r.violation?.message]).toEqual(['holds', undefined]);
  });

  it('one actor: fork the source, then exit the child — no BUG, mm_count back to 0', () => {
    const { world } = buildScenario(oneActor, interval);
    const trace = runToEnd(world, 'parent');
    expect(trace.flatMap((s) => s.bugs)).toEqual([]);
    expect([world.obj(MM, 2).users, world.obj(MM, 2).count]).toEqual([0, 0]);
    expect(explore(buildScenario(oneActor, interval).world, { properties: PROPERTIES }).verdict).toBe('holds');
  });
});
