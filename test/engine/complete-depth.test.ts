/**
 * What a stopped breadth-first search still covers (exhaustive.ts `completeDepth`): every state
 * within that many transitions of the start. Checked against the whole search of the same cell —
 * each state's depth there is its distance from the start, since breadth-first finds it first along
 * a shortest path — at budgets that stop the search in the middle of a level, where claiming one
 * level more (the deepest state found) would be false.
 */
import { describe, expect, it } from 'vitest';
import { buildScenario } from '../../src/scenario/build.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';
import { explore, type ExploreOptions } from '../../src/engine/exhaustive.js';
import { dfs } from '../../src/engine/dfs.js';
import { vmamirror } from '../helpers/cli.js';

const key = (v: Int32Array) => `${v[0]},${v[1]}`;

function search(cell: string, opts: ExploreOptions) {
  const [s, v] = cell.split('/');
  const { world } = buildScenario(scenarioByName(s)!, variantByName(v)!);
  const depths = new Map<string, number>();
  const r = explore(world, { ...opts, onState: (state, depth) => depths.set(key(state), depth) });
  return { r, depths };
}

describe('the runs a stopped breadth-first search covers', () => {
  for (const cell of ['introspect/interval', 'swap-cycle/interval']) {
    it(`on ${cell}: every state within completeDepth transitions is found, and not every one a level deeper`, { timeout: 120_000 }, () => {
      const whole = search(cell, {});
      expect(whole.r.verdict).toBe('holds');
      expect(whole.r.completeDepth).toBeUndefined(); // a whole search needs no such figure
      for (const fraction of [0.05, 0.3, 0.7]) {
        const part = search(cell, { maxStates: Math.round(whole.r.states * fraction) });
        expect(part.r.verdict).toBe('incomplete');
        const d = part.r.completeDepth!;
        expect(d).toBeGreaterThan(0);
        const within = [...whole.depths].filter(([, depth]) => depth <= d);
        for (const [k] of within) expect(part.depths.has(k), `a state at depth ≤ ${d} of ${cell} missing`).toBe(true);
        // The level after it was cut: some state one transition deeper is not found.
        const next = [...whole.depths].filter(([k, depth]) => depth === d + 1 && !part.depths.has(k));
        expect(next.length).toBeGreaterThan(0);
        expect(part.r.depth).toBe(d + 1);
      }
    });
  }

  it('is not claimed by a depth-first search, nor under a preemption bound', () => {
    expect(search('introspect/interval', { maxStates: 2000, strategy: dfs }).r.completeDepth).toBeUndefined();
    expect(search('introspect/interval', { maxStates: 2000, preemptions: 1 }).r.completeDepth).toBeUndefined();
  });

  it('is printed by check, and the closing sentence points to it', () => {
    const r = vmamirror(['check', 'introspect', '--variant', 'interval', '--max-states', '3000']);
    expect(r.code).toBe(3);
    const d = /covered: {2}every run of at most (\d+) transitions/.exec(r.stdout);
    expect(d, r.stdout).not.toBeNull();
    expect(r.stdout).toMatch(/nothing is proved for them beyond the runs each covered/);
    const json = JSON.parse(vmamirror(['check', 'introspect', '--variant', 'interval', '--max-states', '3000', '--json']).stdout);
    expect(json[0].completeDepth).toBe(Number(d![1]));
  });
});
