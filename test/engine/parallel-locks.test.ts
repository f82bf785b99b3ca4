/**
 * The lock-order graph on worker threads (parallel-locks.ts): the one-thread result — verdict,
 * counts, depth, schedule, and the graph as a check reports it (classes, edges, each cycle with
 * its edges' first witnesses and their schedules, the recursions) — with every level on both
 * threads. On catalogue cells with and without a cycle, and under a driver file that allocates
 * under its update lock (examples/drivers/allocates-under-lock.ts) on scenarios whose cycle
 * closes at different depths, going on past violations, under a preemption bound and with
 * interchangeable actors; on a toy whose cycle closes where the catalogue's never does, every
 * edge's first witness; and the level merge itself on crafted reports.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkOne, type CheckOptions } from '../../src/check/run.js';
import { parallelCell } from '../../src/cli/parallel-cell.js';
import { parseScenario } from '../../src/scenario/load.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { LOCK_ORDER } from '../../src/engine/verdict.js';
import { CHECK_ROW, type LevelReport } from '../../src/engine/parallel-expand.js';
import { ParallelLockOrder } from '../../src/engine/parallel-locks.js';
import type { LockEdge } from '../../src/world/lock-order.js';
import allocatesUnderLock from '../../examples/drivers/allocates-under-lock.js';
import { ROOT } from '../helpers/cli.js';
import { oneAndTwoThreads, parallelOutcome } from '../helpers/parallel-outcome.js';
import { TWO_READERS } from '../helpers/symmetric-scenarios.js';

const DRIVER = join(ROOT, 'examples/drivers/allocates-under-lock.ts');
const TOY = pathToFileURL(join(ROOT, 'test/fixtures/parallel-locks-model.mjs')).href;
const dist = (path: string) => import(pathToFileURL(join(ROOT, 'dist', path)).href);

/** The toy (test/fixtures/parallel-locks-model.mjs) in `shape` searched on `threads` threads: the result with the whole graph, every edge's first witness included. */
async function toy(shape: string, threads: number, maxViolations: number, lockOrder = true, more: object = {}): Promise<unknown> {
  const { explore } = await dist('engine/exhaustive.js');
  const { exploreParallel } = await dist('engine/parallel.js');
  const { locksWorld } = await import(TOY);
  const opts = { lockOrder, maxViolations, ...more };
  const r = threads === 1 ? explore(locksWorld(shape), opts) : exploreParallel(locksWorld(shape), opts, { workers: threads, module: TOY, data: { shape }, together: true });
  const { verdict, states, transitions, depth, violation, violations } = r;
  return { verdict, states, transitions, depth, violation, violations, graph: r.lockOrder };
}

/** `spec` under the driver on one thread and on two, every level on both. */
function underDriver(spec: ScenarioSpec, opts: CheckOptions) {
  const one = checkOne(spec, allocatesUnderLock, opts);
  const source = { scenario: spec.name, file: '-', spec, variant: allocatesUnderLock.name, drivers: [DRIVER] };
  const two = checkOne(spec, allocatesUnderLock, { ...opts, parallel: { ...parallelCell(2, source), together: true } });
  return { one, two };
}

describe('the lock-order graph on two threads', () => {
  for (const [scenario, variant, opts] of [
    ['exit', 'interval', {}],
    ['exit', 'interval', { maxViolations: 3 }],
    ['introspect', 'interval', {}],
    ['munmap', 'interval', {}],
    ['introspect', 'raw-clear', { maxViolations: 4 }],
    ['swap-cycle', 'start-only', {}],
  ] as const) {
    it(`${scenario}/${variant} ${JSON.stringify(opts)}: the one-thread result and graph`, { timeout: 120_000 }, () => {
      const { one, two } = oneAndTwoThreads(scenario, variant, { lockOrder: true, shrink: false, ...opts });
      expect(one.lockOrder?.edges).toBeGreaterThan(0);
      // With the graph: parallelOutcome compares it on every search that was not stopped by a limit.
      expect(parallelOutcome(two)).toEqual(parallelOutcome(one));
    });
  }

  for (const [name, opts] of [
    ['introspect', {}],
    ['introspect', { maxViolations: Number.POSITIVE_INFINITY }],
    ['introspect', { preemptions: 1 }],
    ['swap-cycle', {}],
    ['munmap', { maxViolations: 2 }],
  ] as const) {
    it(`a driver that allocates under its update lock, ${name} ${JSON.stringify(opts)}: the cycle where one thread stops`, { timeout: 120_000 }, () => {
      const { one, two } = underDriver(scenarioByName(name)!, { lockOrder: true, shrink: false, ...opts });
      expect(one.violation?.property).toBe(LOCK_ORDER);
      // With the graph: parallelOutcome compares it on every search that was not stopped by a limit.
      expect(parallelOutcome(two)).toEqual(parallelOutcome(one));
    });
  }

  it('with interchangeable actors: the witnesses in concrete actors', { timeout: 120_000 }, () => {
    const spec = parseScenario(TWO_READERS, 'x.yaml', 'yaml').spec;
    const { one, two } = underDriver(spec, { lockOrder: true, symmetry: true, shrink: false });
    expect(one.violation?.property).toBe(LOCK_ORDER);
    expect(parallelOutcome(two)).toEqual(parallelOutcome(one));
  });

  for (const shape of ['bug-then-gamma', 'bug-last', 'bug-when-counted', 'blocked-bug', 'first-witness']) {
    for (const maxViolations of [1, Number.POSITIVE_INFINITY]) {
      it(`the toy's ${shape}, ${maxViolations} violations: where one thread stops, and its graph`, { timeout: 60_000 }, async () => {
        const one = (await toy(shape, 1, maxViolations)) as { graph: { cycles: unknown[] } };
        // A blocked step's edges are taken back unless the search ends at its BUG.
        expect(one.graph.cycles).toHaveLength((shape === 'blocked-bug' && maxViolations > 1) || shape === 'first-witness' ? 0 : 1);
        // Each run the threads may take a level's parents the other way round.
        for (let run = 0; run < 6; run++) expect(await toy(shape, 2, maxViolations)).toEqual(one);
      });
    }
  }
});

/** An edge a thread recorded at transition `seq` of `parent` (one step of actor 0). */
const edge = (from: string, to: string, parent: number, seq: number): LockEdge => ({ from, to, witness: { actor: `t${parent}`, where: 'x:y', held: [from], schedule: [parent, seq, 0, 1] } });

/** A thread's report of a level: its edges (recorded before them: `base`) and its checkpoints (edges by then, parent, successor number). */
function report(edges: LockEdge[], checks: [number, number, number][], base = 0): LevelReport {
  const rows = new Int32Array(checks.length * CHECK_ROW);
  checks.forEach(([n, parent, seq], k) => {
    rows.set([n, 0, parent, seq, seq + 1, 0], k * CHECK_ROW);
  });
  const locks = { classes: ['A', 'B', 'C'], edges, recursions: [], edgeBase: base, recursionBase: 0, checks: rows };
  return { kind: 'level', aborted: false, transitions: 0, beyond: 0, below: 0, locks };
}

const to = (parent: number, tail: readonly number[]) => [parent, ...tail];

describe('the graph as one thread reports it when it stops early', () => {
  it('at a violation met before any lock was taken: no class yet (the threads took theirs later in the level)', { timeout: 60_000 }, async () => {
    const one = (await toy('bug-before-locks', 1, 1)) as { violation: { property: string }; graph: { classes: number } };
    expect(one.violation.property).not.toBe(LOCK_ORDER);
    expect(one.graph.classes).toBe(0);
    for (let run = 0; run < 3; run++) expect(await toy('bug-before-locks', 2, 1)).toEqual(one);
  });

  it('under actor symmetry: the concrete replay of the violation records nothing into the graph', { timeout: 60_000 }, async () => {
    const more = { actorGroups: [[0, 1]] };
    const one = (await toy('twins-blocked-tail', 1, 1, true, more)) as { verdict: string; graph: { edges: unknown[] } };
    expect(one.verdict).toBe('violation');
    // The blocked attempt that ends the transition is taken back: its edge B → A is not in the graph.
    expect(one.graph.edges).toEqual([]);
    for (let run = 0; run < 3; run++) expect(await toy('twins-blocked-tail', 2, 1, true, more)).toEqual(one);
  });
});

describe('a BUG raised in a step joined to its transition, on two threads', () => {
  it('has the one-thread schedule: the steps that show it, not one more (a bug found with the lock-order work)', { timeout: 60_000 }, async () => {
    const one = (await toy('bug-then-gamma', 1, 1, false)) as { violation: { schedule: number[] } };
    // Beta's two steps (a local, then the BUG) from the root: one transition of two steps.
    expect(one.violation.schedule).toEqual([1, 1]);
    expect(await toy('bug-then-gamma', 2, 1, false)).toEqual(one);
  });
});

describe("the level merge of the threads' lock-order records (ParallelLockOrder)", () => {
  it('an edge both threads recorded: the witness of the smaller parent, whichever thread had it', () => {
    const g = new ParallelLockOrder(to);
    g.level([report([edge('A', 'B', 7, 0)], [[1, 7, 0]]), report([edge('A', 'B', 3, 2)], [[1, 3, 2]])]);
    expect(g.graph.edges().map((e) => e.witness.schedule)).toEqual([[3, 0]]);
  });

  it('the cycle closes at the edge that comes last in the one-thread order, and stops at its checkpoint', () => {
    const g = new ParallelLockOrder(to);
    // Thread 0 records B → A at parent 5, thread 1 A → B at parent 2: one thread sees A → B first.
    const stop = g.level([
      report(
        [edge('B', 'A', 5, 1)],
        [
          [0, 4, 0],
          [1, 5, 1],
        ],
      ),
      report([edge('A', 'B', 2, 0)], [[1, 2, 0]]),
    ]);
    expect(g.graph.closing?.from).toBe('B');
    expect(stop).toMatchObject({ parent: 5, seq: 1, thread: 0, transitions: 2 });
  });

  it('a closing edge without a checkpoint after it in its parent: the first checkpoint of a later parent, on either thread', () => {
    const g = new ParallelLockOrder(to);
    g.level([report([edge('A', 'B', 1, 0)], [[1, 1, 0]])]);
    // Thread 1 closes at parent 3 (no row after it there: its step raised a BUG); thread 0 has parent 4, thread 1 parent 6.
    const stop = g.level([
      report([], [[0, 4, 2]], 1),
      report(
        [edge('B', 'A', 3, 1)],
        [
          [0, 3, 0],
          [1, 6, 0],
        ],
        0,
      ),
    ]);
    expect(stop).toMatchObject({ parent: 4, seq: 2, thread: 0 });
  });

  it("with no checkpoint after the closing edge in its level: the next level's first", () => {
    const g = new ParallelLockOrder(to);
    expect(g.level([report([edge('A', 'B', 1, 0), edge('B', 'A', 1, 1)], [[1, 1, 0]])])).toBeUndefined();
    expect(g.level([report([], [[2, 9, 3]], 2), report([], [[0, 8, 1]])])).toMatchObject({ parent: 8, seq: 1, thread: 1 });
  });

  it('kept until the stop: the records of its thread made by its checkpoint, and every record before its transition', () => {
    const g = new ParallelLockOrder(to);
    const stop = g.level([
      report(
        [edge('A', 'B', 1, 0), edge('B', 'A', 1, 0), edge('A', 'C', 1, 0)],
        [
          [2, 1, 0],
          [3, 1, 0],
        ],
      ),
      report(
        [edge('C', 'B', 0, 0), edge('B', 'C', 2, 0)],
        [
          [1, 0, 0],
          [2, 2, 0],
        ],
      ),
    ]);
    expect(stop).toMatchObject({ parent: 1, seq: 0, thread: 0, edges: 2 });
    g.keepUntilCheckpoint(stop!);
    expect(g.graph.edges().map((e) => `${e.from}${e.to}`)).toEqual(['CB', 'AB', 'BA']);
  });
});
