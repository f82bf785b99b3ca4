/**
 * Swarm members (src/check/swarm.ts): each index runs its own diversified search, a pure function of
 * (index, seed); a seeded actor order explores the same states when the search completes and other
 * paths first when a budget stops it; the merge says violation, holds only on a complete search,
 * and otherwise what was covered.
 */
import { describe, expect, it } from 'vitest';
import { mergeSwarm, runSwarmCell, swarmMember, type SwarmShardResult } from '../../src/check/swarm.js';
import { checkOne } from '../../src/check/run.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';
import { dfs } from '../../src/engine/dfs.js';

const exit = scenarioByName('exit')!;
const interval = variantByName('interval')!;
const startOnly = variantByName('start-only')!;

describe('swarm members', () => {
  it('member 0 is the breadth-first proof; the others cycle through depth-first orders, PCT, bounds 0, 1, 2 and random walks, seeded per member', () => {
    const kinds = Array.from({ length: 13 }, (_, i) => swarmMember(i, 1).kind);
    expect(kinds).toEqual(['bfs', 'dfs', 'pct', 'bounded', 'random', 'dfs', 'pct', 'bounded', 'random', 'dfs', 'pct', 'bounded', 'random']);
    expect([3, 7, 11].map((i) => swarmMember(i, 1))).toEqual([0, 1, 2].map((preemptions) => ({ kind: 'bounded', preemptions })));
    expect(swarmMember(5, 1)).toEqual(swarmMember(5, 1));
    const orders = [1, 5, 9, 13].map((i) => (swarmMember(i, 1) as { order: number }).order);
    expect(new Set(orders).size).toBe(4);
    expect(orders.every((o) => Number.isInteger(o) && o > 0 && o <= 0xffffffff)).toBe(true);
    expect(swarmMember(1, 2)).not.toEqual(swarmMember(1, 1));
    expect(() => swarmMember(-1, 1)).toThrow(RangeError);
  });

  it('a seeded actor order reaches the same states and verdict when the search completes, and goes down another path first (another counterexample)', () => {
    const plain = checkOne(exit, startOnly, { strategy: dfs, shrink: false });
    const seeded = checkOne(exit, interval, { strategy: dfs, order: 12345, shrink: false });
    const seededPlain = checkOne(exit, interval, { strategy: dfs, shrink: false });
    expect([seeded.verdict, seeded.states, seeded.transitions]).toEqual([seededPlain.verdict, seededPlain.states, seededPlain.transitions]);
    // On the broken design, two orders find their counterexamples on different paths.
    const other = checkOne(exit, startOnly, { strategy: dfs, order: 777, shrink: false });
    expect([plain.verdict, other.verdict]).toEqual(['violation', 'violation']);
    expect(other.violation!.schedule).not.toEqual(plain.violation!.schedule);
  });

  it('runs each kind of member on a cell: complete searches say so, a bound covered is reported, simulations never hold', () => {
    const shard = (i: number) => ({ index: i, count: 9 });
    const bfsCell = runSwarmCell(exit, interval, shard(0), 1);
    expect([bfsCell.verdict, bfsCell.complete]).toEqual(['holds', true]);
    const bounded = runSwarmCell(exit, interval, shard(3), 1);
    expect(bounded.complete).toBe(false);
    expect(bounded.coveredPreemptions).toBe(0);
    const pct = runSwarmCell(exit, interval, shard(2), 1, { runs: 20 });
    expect([pct.verdict, pct.complete, pct.runs]).toEqual(['no-violation-found', false, 20]);
    const caught = runSwarmCell(exit, startOnly, shard(1), 1);
    expect(caught.verdict).toBe('violation');
    expect(caught.schedule).toMatch(/^exit\/start-only:/);
  });
});

describe('mergeSwarm', () => {
  const doc = (index: number, count: number, cell: Partial<SwarmShardResult['cells'][number]>): SwarmShardResult => ({
    kind: 'swarm',
    shard: { index, count },
    seed: 1,
    member: swarmMember(index, 1),
    cells: [{ scenario: 'exit', variant: 'interval', verdict: 'incomplete', complete: false, states: 10 * (index + 1), steps: 1, elapsedMs: index, ...cell }],
  });

  it('holds only when a member searched every state; otherwise incomplete with the coverage', () => {
    const open = mergeSwarm([doc(0, 4, { stopReason: 'time' }), doc(3, 4, { coveredPreemptions: 0 }), doc(2, 4, { verdict: 'no-violation-found', runs: 7 })]);
    expect(open[0]).toMatchObject({ verdict: 'incomplete', coverage: { members: 4, missingMembers: [1], preemptions: 0, largestSearch: 40, runs: 7, states: 80 } });
    const proved = mergeSwarm([doc(0, 4, { stopReason: 'time' }), doc(1, 4, { verdict: 'holds', complete: true })]);
    expect(proved[0]).toMatchObject({ verdict: 'holds', decidedBy: 1 });
  });

  it('a violation wins, the shortest one (ties: the lower member)', () => {
    const v = (n: number) => ({ verdict: 'violation' as const, violation: { property: 'refinement', message: 'm', schedule: Array(n).fill(0) }, schedule: `exit/interval:${n}` });
    const merged = mergeSwarm([doc(0, 3, { verdict: 'holds', complete: true }), doc(1, 3, v(5)), doc(2, 3, v(4))]);
    expect(merged[0]).toMatchObject({ verdict: 'violation', decidedBy: 2, schedule: 'exit/interval:4' });
  });

  it('refuses members of other swarms, a member twice, a member that ran another search, and other cells', () => {
    expect(() => mergeSwarm([])).toThrow(/no swarm results/);
    expect(() => mergeSwarm([doc(0, 3, {}), doc(1, 4, {})])).toThrow(/does not belong to a swarm of 3/);
    expect(() => mergeSwarm([doc(1, 3, {}), doc(1, 3, {})])).toThrow(/given twice/);
    expect(() => mergeSwarm([doc(0, 3, {}), { ...doc(1, 3, {}), seed: 2 }])).toThrow(/ran with seed 2/);
    expect(() => mergeSwarm([{ ...doc(1, 3, {}), member: { kind: 'bfs' } }])).toThrow(/ran another search than its own \(breadth-first, exhaustive\)/);
    const elsewhere = doc(1, 3, {});
    expect(() => mergeSwarm([doc(0, 3, {}), { ...elsewhere, cells: [{ ...elsewhere.cells[0], scenario: 'munmap' }] }])).toThrow(/checked other cells/);
  });
});
