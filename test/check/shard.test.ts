import { describe, expect, it } from 'vitest';
import { simulate, type SimulateOptions, type SimulateResult } from '../../src/engine/simulate.js';
import {
  catalogueCells,
  checkCatalogueShard,
  exploreShard,
  mergeCatalogueShards,
  mergeShardResults,
  parseShard,
  shardCells,
  ShardSyntaxError,
  type ExploreShardResult,
  type ShardResult,
} from '../../src/check/shard.js';
import { explore } from '../../src/engine/exhaustive.js';
import { checkCatalogue } from '../../src/check/run.js';
import { PROPERTIES } from '../../src/check/properties.js';
import { buildScenario } from '../../src/scenario/build.js';
import { CATALOGUE, scenarioByName } from '../../src/scenario/catalogue.js';
import { VARIANTS, variantByName } from '../../src/mirror/variants.js';
import { runSchedule } from '../../src/world/runner.js';
import type { World } from '../../src/world/world.js';

const world = (s: string, v: string): World => buildScenario(scenarioByName(s)!, variantByName(v)!).world;
const sim = (s: string, v: string, opts: Omit<SimulateOptions, 'properties'>) => simulate(world(s, v), { ...opts, properties: PROPERTIES });
const withoutTime = <T extends { elapsedMs: number }>(r: T): T => ({ ...r, elapsedMs: 0 });
/** Through JSON, as a batch runner would hand the shard outputs over. */
const viaJson = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

describe('--shard i/N syntax', () => {
  it('parses i/N with 0 <= i < N and rejects the rest', () => {
    expect(parseShard('0/4')).toEqual({ index: 0, count: 4 });
    expect(parseShard(' 3 / 4 ')).toEqual({ index: 3, count: 4 });
    for (const bad of ['4/4', '1/0', 'x', '1/2/3', '-1/2', '1.5/3', '']) expect(() => parseShard(bad), bad).toThrow(ShardSyntaxError);
  });
});

describe('sharded simulation', () => {
  const base = { runs: 60, seed: 17, keepRuns: true, stopOnViolation: false } as const;

  it('shard 0/1 is the unsharded simulation', () => {
    const a = sim('introspect', 'start-only', base);
    const b = sim('introspect', 'start-only', { ...base, shard: { index: 0, count: 1 } });
    expect(withoutTime(b)).toEqual(withoutTime(a));
  });

  for (const strategy of ['random', 'pct'] as const) {
    it(`the union of shards i/N is the unsharded run set, and merges to the same verdict (${strategy})`, () => {
      const whole = sim('introspect', 'start-only', { ...base, strategy });
      expect(whole.violatingRuns).toBeGreaterThan(0);
      for (const N of [2, 3, 7]) {
        const shards = [...Array(N).keys()].map((i) => sim('introspect', 'start-only', { ...base, strategy, shard: { index: i, count: N } }));
        const union = shards.flatMap((s) => s.runLog!).sort((x, y) => x.run - y.run);
        expect(union).toEqual(whole.runLog);
        const m = mergeShardResults(shards.map(viaJson));
        expect(m.verdict).toBe('violation');
        expect(m.exhaustive).toBe(false);
        expect(m.runs).toBe(whole.runs);
        expect(m.steps).toBe(whole.steps);
        expect(m.states).toBeGreaterThanOrEqual(whole.states); // summed, not deduplicated
        expect(shards.reduce((n, s) => n + s.violatingRuns, 0)).toBe(whole.violatingRuns);
        const { shard, ...v } = m.violation!;
        expect(v).toEqual(whole.violation);
        expect(shard).toBe(whole.violation!.run % N);
      }
    });
  }

  it('stopping at the first violation: the lowest violating run over the shards is the unsharded one', () => {
    const o = { runs: 400, seed: 3, strategy: 'pct' as const };
    const whole = sim('swap-cycle', 'seed-2019-fixed', o);
    expect(whole.verdict).toBe('violation');
    const shards = [0, 1, 2, 3].map((i) => sim('swap-cycle', 'seed-2019-fixed', { ...o, shard: { index: i, count: 4 } }));
    const runs = shards.filter((s) => s.violation).map((s) => s.violation!.run);
    expect(Math.min(...runs)).toBe(whole.violation!.run);
    const first = shards.find((s) => s.violation?.run === whole.violation!.run)!;
    expect(first.violation).toEqual(whole.violation);
  });

  it('a corrected design shows no violation in any shard', () => {
    const shards = [0, 1, 2].map((i) => sim('cow', 'interval', { runs: 90, seed: 1, strategy: 'pct', shard: { index: i, count: 3 } }));
    const m = mergeShardResults(shards);
    expect(m.verdict).toBe('no-violation-found');
    expect(m.runs).toBe(90);
    expect(m.missingShards).toEqual([]);
  });
});

describe('merging shard results', () => {
  const fake = (index: number, count: number, verdict: SimulateResult['verdict'], schedule?: number[], run = index): SimulateResult => ({
    kind: 'simulate',
    verdict,
    exhaustive: false,
    strategy: 'random',
    seed: 1,
    maxSteps: 100,
    shard: { index, count },
    runsTotal: 10,
    runsRequested: 5,
    runs: 5,
    steps: 50,
    states: 20,
    truncatedRuns: 0,
    violatingRuns: schedule ? 1 : 0,
    violation: schedule ? { property: 'refinement', message: `shard ${index}`, schedule, run, runSeed: 0 } : undefined,
    elapsedMs: 10 + index,
  });

  it('picks the shortest counterexample, ties by run index then shard order', () => {
    const m = mergeShardResults([fake(0, 3, 'violation', [0, 1, 2, 1]), fake(1, 3, 'violation', [1, 1, 0]), fake(2, 3, 'no-violation-found')]);
    expect(m.verdict).toBe('violation');
    expect(m.violation!.schedule).toEqual([1, 1, 0]);
    expect(m.violation!.shard).toBe(1);
    expect(m.steps).toBe(150);
    expect(m.states).toBe(60);
    expect(m.elapsedMs).toBe(33);
    expect(m.maxShardMs).toBe(12);
    const tie = mergeShardResults([fake(1, 2, 'violation', [0, 0], 9), fake(0, 2, 'violation', [1, 1], 4)]);
    expect(tie.violation!.run).toBe(4);
  });

  it('ties between exploration shards go by shard order', () => {
    const e = (index: number, schedule: number[]): ExploreShardResult => ({
      kind: 'explore',
      verdict: 'violation',
      exhaustive: true,
      shard: { index, count: 3 },
      splitDepth: 1,
      frontier: 3,
      subtrees: 1,
      states: 5,
      transitions: 6,
      depth: 3,
      violation: { property: 'deadlock', message: `${index}`, schedule },
      elapsedMs: 1,
    });
    const m = mergeShardResults([e(2, [2, 0]), e(1, [1, 0]), e(0, [0, 0, 0])]);
    expect(m.violation!.message).toBe('1');
    expect(m.steps).toBe(18);
  });

  it('any violation wins; else a missing or incomplete shard makes it incomplete', () => {
    expect(mergeShardResults([fake(0, 2, 'incomplete'), fake(1, 2, 'violation', [0])]).verdict).toBe('violation');
    expect(mergeShardResults([fake(0, 2, 'incomplete'), fake(1, 2, 'no-violation-found')]).verdict).toBe('incomplete');
    const missing = mergeShardResults([fake(0, 3, 'no-violation-found'), fake(2, 3, 'no-violation-found')]);
    expect(missing.verdict).toBe('incomplete');
    expect(missing.missingShards).toEqual([1]);
    expect(mergeShardResults([fake(0, 2, 'no-violation-found'), fake(1, 2, 'no-violation-found')]).verdict).toBe('no-violation-found');
  });

  it('refuses shards that do not belong together', () => {
    expect(() => mergeShardResults([])).toThrow();
    expect(() => mergeShardResults([fake(0, 2, 'violation', [0]), fake(0, 2, 'no-violation-found')])).toThrow(/twice/);
    expect(() => mergeShardResults([fake(0, 2, 'no-violation-found'), fake(1, 3, 'no-violation-found')])).toThrow(/split into 2/);
    expect(() => mergeShardResults([fake(0, 2, 'no-violation-found'), { ...fake(1, 2, 'no-violation-found'), seed: 2 }])).toThrow(/other settings/);
  });
});

describe('sharded exhaustive checking', () => {
  it('catalogue cells: the shards partition the cell list', () => {
    const all = catalogueCells();
    const N = 4;
    const parts = [...Array(N).keys()].map((i) => shardCells(all, { index: i, count: N }));
    expect(
      parts
        .flat()
        .map((c) => c.index)
        .sort((a, b) => a - b),
    ).toEqual(all.map((c) => c.index));
    expect(all.map((c) => `${c.scenario.name}/${c.variant.name}`)).toEqual(CATALOGUE.flatMap((s) => VARIANTS.map((v) => `${s.name}/${v.name}`)));
  });

  it('catalogue shards merge into the unsharded verdict table', () => {
    const scenarios = ['munmap', 'mprotect'].map((n) => scenarioByName(n)!);
    const whole = checkCatalogue({}, scenarios);
    const shards = [0, 1, 2, 3, 4].map((i) => viaJson(checkCatalogueShard({ index: i, count: 5 }, {}, scenarios)));
    const m = mergeCatalogueShards([shards[3], shards[0], shards[4], shards[2], shards[1]]);
    expect(m.missingCells).toEqual([]);
    // Memory is the process's, measured when each ran: not a property of the cell.
    const cellOnly = <T extends { elapsedMs: number; peakRss: number; rssGrowth: number }>(r: T) => viaJson({ ...withoutTime(r), peakRss: 0, rssGrowth: 0 });
    expect(m.results.map(({ cell, ...r }) => cellOnly(r))).toEqual(whole.map((r) => cellOnly(r)));
    const partial = mergeCatalogueShards(shards.slice(0, 4));
    expect(partial.missingShards).toEqual([4]);
    expect(partial.missingCells.length).toBeGreaterThan(0);
  });

  const cells: [string, string][] = [
    ['exit', 'seed-2019-fixed'],
    ['cow', 'interval'],
    ['swap-cycle', 'anon-vma'],
    ['munmap', 'raw-clear'],
  ];
  for (const [s, v] of cells) {
    it(`splitting ${s}/${v} at the first levels gives the unsharded verdict`, () => {
      const whole = explore(world(s, v), { properties: PROPERTIES });
      for (const [splitDepth, N] of [
        [0, 1],
        [1, 2],
        [1, 3],
        [2, 3],
      ]) {
        {
          const shards: ShardResult[] = [];
          for (let i = 0; i < N; i++) shards.push(viaJson(exploreShard(world(s, v), { index: i, count: N }, { properties: PROPERTIES, splitDepth })));
          const m = mergeShardResults(shards);
          expect(m.verdict, `${s}/${v} split at ${splitDepth} into ${N}`).toBe(whole.verdict);
          expect(m.exhaustive).toBe(true);
          expect(m.states).toBeGreaterThanOrEqual(whole.states);
          if (splitDepth === 0) {
            // The whole tree is one subtree: shard 0 is the plain explorer.
            expect((shards[0] as ExploreShardResult).states).toBe(whole.states);
            expect(m.violation?.schedule).toEqual(whole.violation?.schedule);
          }
          if (m.violation) {
            expect(m.violation.property).toBe(whole.violation!.property);
            const w = world(s, v);
            runSchedule(w, m.violation.schedule);
            if (m.violation.property !== 'kernel-bug') expect(PROPERTIES.find((p) => p.name === m.violation!.property)!.check(w)).toBe(m.violation.message);
          }
        }
      }
    });
  }
});
