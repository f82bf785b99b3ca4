/**
 * The trace (src/report/trace.ts): one function builds the world and replays the schedule; the
 * reports render the object it returns.
 */
import { describe, expect, it } from 'vitest';
import { checkOne } from '../../src/check/run.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';
import { entryOf } from '../../src/world/entry.js';
import { renderHtmlReport } from '../../src/report/html.js';
import { replayText } from '../../src/report/text.js';
import { counterexampleTrace, traceOf, type Trace } from '../../src/report/trace.js';

const cell = (s: string, v: string) => [scenarioByName(s)!, variantByName(v)!] as const;
const check = (s: string, v: string, shrink = false) => checkOne(...cell(s, v), { shrink });

describe('traceOf', () => {
  it("replays the search's counterexample to the search's verdict, a snapshot before and after every step", () => {
    for (const [s, v] of [['introspect', 'start-only'], ['cow', 'seed-2019-literal'], ['swap-cycle', 'anon-vma']] as const) {
      const result = check(s, v);
      const trace = traceOf(...cell(s, v), result.violation!.schedule);
      expect(trace.schedule).toBe(result.schedule);
      expect(trace.steps.map((st) => st.entry)).toEqual(result.violation!.schedule);
      expect(trace.violated).toEqual({ property: result.violation!.property, message: result.violation!.message });
      expect(Object.keys(trace.initial)).toEqual(trace.layers.map((l) => l.id));
      for (const st of trace.steps) expect(Object.keys(st.snapshot)).toEqual(trace.layers.map((l) => l.id));
    }
  });

  it('gives the shrunk counterexample when there is one, with the original', () => {
    const result = check('exit', 'start-only', true);
    const trace = counterexampleTrace(result)!;
    expect(trace.schedule).toBe(result.shrunk!.schedule);
    expect(trace.shrunkFrom).toBe(result.schedule);
    expect(trace.steps).toHaveLength(result.shrunk!.steps);
    expect(replayText(trace).split('\n').slice(0, 2)).toEqual([`shrunk to ${result.shrunk!.schedule}`, `    from ${result.schedule}`]);
    const html = renderHtmlReport({ result, trace });
    expect(html).toContain(`vmamirror replay '${result.shrunk!.schedule}'`);
    expect(html).toContain(`data-testid="original-schedule">${result.schedule}<`);
  });

  it('says nothing is violated at the end of a schedule that violates nothing', () => {
    const trace = traceOf(...cell('exit', 'start-only'), [0, 0, 0]);
    expect(trace.steps).toHaveLength(3);
    expect(trace.violated).toBeUndefined();
    expect(replayText(trace).split('\n').at(-1)).toBe('No property is violated at the end of this schedule.');
  });

  it('stops with a replay error where the schedule cannot go on, keeping the steps that ran', () => {
    const finished = traceOf(...cell('exit', 'start-only'), Array(40).fill(1));
    expect(finished.steps.length).toBeGreaterThan(0);
    expect(finished.replayError).toBe(`step ${finished.steps.length}: actor intro has finished`);
    expect(finished.violated).toBeUndefined();
    expect(replayText(finished).split('\n').at(-1)).toBe(`Replay stopped: ${finished.replayError}`);

    const noBranch = traceOf(...cell('exit', 'start-only'), [0, entryOf(0, 1)]);
    expect(noBranch.steps).toHaveLength(1);
    expect(noBranch.replayError).toMatch(/^step 1: .*does not branch/);

    const noActor = traceOf(...cell('exit', 'start-only'), [0, 7]);
    expect(noActor.steps).toEqual([]);
    expect(noActor.replayError).toBe('actor index 7 out of range (actors: 0=source, 1=intro)');
  });

  it('has no trace for a result without a counterexample, and an error for an unknown scenario', () => {
    const holds = { scenario: 'munmap', variant: 'interval' };
    expect(counterexampleTrace(holds)).toBeUndefined();
    const unknown = { scenario: 'nosuch', variant: 'interval', violation: { property: 'refinement', message: 'm', schedule: [0] } };
    const t: Trace = counterexampleTrace(unknown)!;
    expect(t.replayError).toBe('unknown scenario "nosuch": the trace cannot be replayed');
    expect(t.schedule).toBe('nosuch/interval:0');
  });
});
