/**
 * `--exact`: whole states instead of 64-bit fingerprints. The set tells apart two states a
 * fingerprint confuses; on real cells it finds exactly the states and transitions the fingerprint
 * run finds (no collision happened there), so the two agree on every count and verdict.
 */
import { describe, expect, it } from 'vitest';
import { checkOne, type CheckOptions } from '../../src/check/run.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';
import { buildScenario } from '../../src/scenario/build.js';
import { explore } from '../../src/engine/exhaustive.js';
import { dfs } from '../../src/engine/dfs.js';
import { PROPERTIES } from '../../src/check/properties.js';
import { ExactStates, FingerprintStates } from '../../src/engine/visited.js';
import { DATA_START } from '../../src/world/layout.js';
import { fingerprintLine, verdictTable } from '../../src/report/text.js';
import { renderHtmlReport } from '../../src/report/html.js';
import { readVsReclaim, retryForever } from '../helpers/mutants.js';
import { vmamirror } from '../helpers/cli.js';

const cell = (s: string, v: string, opts: CheckOptions) => checkOne(scenarioByName(s)!, variantByName(v)!, { shrink: false, ...opts });

describe('the exact visited set', () => {
  it('keeps two states whose fingerprints collide apart, where hash compaction merges them', () => {
    const { world } = buildScenario(scenarioByName('munmap')!, variantByName('interval')!);
    const a = world.snapshot();
    const b = a.slice();
    b[DATA_START] ^= 1; // other contents, same fingerprint lanes: a collision made by hand
    const exact = new ExactStates(world.layout, 4);
    const hashed = new FingerprintStates(4);
    expect([exact.add(a, 0), exact.add(b, 0), exact.add(b.slice(), 0)]).toEqual([true, true, false]);
    expect([hashed.add(a, 0), hashed.add(b, 0)]).toEqual([true, false]);
    // The tag (the preemption-bounded key) is part of the key; each state keeps its own key.
    expect(exact.add(a, 7)).toBe(true);
    expect(exact.find(b, 0) && exact.keyLo).toBe(1);
    expect(exact.size).toBe(3);
    expect(exact.missedBound).toBe(0);
    // The key of an expanded state (the termination graph files it under that): the same as `find`'s, without a probe for a fingerprint.
    exact.keyOf(b, 0);
    expect(exact.keyLo).toBe(1);
    expect(() => exact.keyOf(b, 3)).toThrow(/not in the visited set/);
    hashed.keyOf(a, 0);
    expect([hashed.keyLo, hashed.keyHi]).toEqual([a[0], a[1]]);
  });

  it('finds what it holds after growing, and copies another set', () => {
    const { world } = buildScenario(scenarioByName('munmap')!, variantByName('interval')!);
    const s = world.snapshot();
    const set = new ExactStates(world.layout, 2);
    for (let i = 0; i < 100; i++) {
      s[DATA_START] = i;
      expect(set.add(s, 0)).toBe(true);
    }
    const copy = new ExactStates(world.layout, 2);
    copy.addAll(set);
    for (let i = 99; i >= 0; i--) {
      s[DATA_START] = i;
      expect([set.find(s, 0), copy.find(s, 0)]).toEqual([true, true]);
    }
    s[DATA_START] = 100;
    expect(set.find(s, 0)).toBe(false);
  });
});

describe('--exact against the fingerprint run', () => {
  const cells: [string, string, CheckOptions][] = [
    ['munmap', 'interval', {}],
    ['swap-cycle', 'interval', {}],
    ['exit', 'start-only', {}],
    ['introspect', 'seed-2019-fixed', {}],
    ['introspect', 'start-only', { preemptions: 1 }],
    ['fork-introspector', 'interval', { strategy: dfs }],
  ];
  for (const [s, v, opts] of cells) {
    it(`agrees on ${s}/${v}${opts.preemptions !== undefined ? ' (--preemptions 1)' : ''}${opts.strategy ? ' (--dfs)' : ''}`, () => {
      const hashed = cell(s, v, opts);
      const exact = cell(s, v, { ...opts, exact: true });
      const counts = (r: typeof hashed) => [r.verdict, r.states, r.transitions, r.depth, r.violation?.property, r.schedule];
      expect(counts(exact)).toEqual(counts(hashed));
      expect(exact.exact).toBe(true);
      expect(exact.missedStateBound).toBe(0);
      expect(hashed.exact).toBeUndefined();
    });
  }

  it('finds the same livelock through the exact termination graph', () => {
    const run = (exact: boolean) => explore(buildScenario(readVsReclaim, retryForever).world, { properties: PROPERTIES, exact });
    const [hashed, exact] = [run(false), run(true)];
    expect(exact.violation?.property).toBe('termination');
    expect([exact.states, exact.transitions, exact.violation!.schedule]).toEqual([hashed.states, hashed.transitions, hashed.violation!.schedule]);
  });

  it('prints no probability for an exact proof: its line, the table, the HTML report', () => {
    const r = cell('munmap', 'interval', { exact: true });
    expect(fingerprintLine(r)).toMatch(/exact: whole states stored/);
    expect(fingerprintLine(r)).not.toMatch(/probability/);
    expect(verdictTable([r])).toContain('Every "holds" is exact');
    expect(renderHtmlReport({ result: r })).toContain('data-testid="stat-missed">whole (exact)<');
  });

  it('is an option of the command, refused with --simulate', () => {
    const r = vmamirror(['check', 'munmap', '--variant', 'interval', '--exact', '--json']);
    expect(r.code).toBe(0);
    const [out] = JSON.parse(r.stdout);
    expect([out.exact, out.missedStateBound, out.states]).toEqual([true, 0, cell('munmap', 'interval', {}).states]);
    const sim = vmamirror(['check', 'munmap', '--exact', '--simulate']);
    expect([sim.code, sim.stderr]).toEqual([2, 'vmamirror: --exact applies to exhaustive checks, not to --simulate\n']);
  });
});
