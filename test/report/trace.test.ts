/**
 * The trace (src/report/trace.ts) and its three renderings: one function builds the world and
 * replays the schedule; the HTML report, the text of `vmamirror replay` and the JSON of
 * `check --json` render the object it returns, and agree on it.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { checkOne } from '../../src/check/run.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';
import { entryOf } from '../../src/world/entry.js';
import { renderHtmlReport } from '../../src/report/html.js';
import { replayText } from '../../src/report/text.js';
import { traceJson } from '../../src/report/json.js';
import { counterexampleTrace, traceOf, type Trace } from '../../src/report/trace.js';
import { explore } from '../../src/engine/exhaustive.js';
import { buildScenario } from '../../src/scenario/build.js';
import { PROPERTIES } from '../../src/check/properties.js';
import { forgetsUnlock, readVsReclaim, retryForever } from '../helpers/mutants.js';

const cell = (s: string, v: string) => [scenarioByName(s)!, variantByName(v)!] as const;
const check = (s: string, v: string, shrink = false) => checkOne(...cell(s, v), { shrink });

interface Embedded {
  steps: { where: string; actorIndex: number; snapshot: unknown }[];
  violation: { property: string; message: string } | null;
}

function embedded(html: string): Embedded {
  const m = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  expect(m).not.toBeNull();
  return JSON.parse(m![1]);
}

/** The step lines of `replayText` (index, actor, where), and its verdict line. */
function parseText(text: string): { steps: { index: number; actor: string; where: string }[]; verdict: string } {
  const lines = text.split('\n');
  const steps = lines.flatMap((l) => {
    const m = /^[\s>]{0,2}(\d+) (\S+)\s+(\S+)/.exec(l);
    return m ? [{ index: Number(m[1]), actor: m[2], where: m[3] }] : [];
  });
  return { steps, verdict: lines.at(-1)! };
}

describe('one trace, three renderings', () => {
  // A refinement violation (shrunk, so the trace is of the shrunk schedule), a kernel BUG, a
  // frame-accounting violation.
  const cases: [string, string, boolean][] = [
    ['exit', 'start-only', true],
    ['introspect', 'seed-2019-literal', false],
    ['mprotect', 'anon-vma', false],
  ];
  for (const [s, v, shrink] of cases) {
    it(`text, HTML and JSON agree on the steps and the verdict of ${s}/${v}`, () => {
      const result = check(s, v, shrink);
      const trace = counterexampleTrace(result)!; // built once, rendered three times
      expect(trace.steps.length).toBeGreaterThan(0);
      expect(trace.replayError).toBeUndefined();
      const text = parseText(replayText(trace));
      const html = embedded(renderHtmlReport({ result, trace }));
      const json = JSON.parse(JSON.stringify(traceJson(trace))) as ReturnType<typeof traceJson>;

      const where = trace.steps.map((st) => st.where);
      expect(text.steps.map((st) => st.where)).toEqual(where);
      expect(html.steps.map((st) => st.where)).toEqual(where);
      expect(json.steps.map((st) => st.where)).toEqual(where);
      expect(text.steps.map((st) => st.actor)).toEqual(json.steps.map((st) => st.actor));
      expect(html.steps.map((st) => trace.actors[st.actorIndex])).toEqual(json.steps.map((st) => st.actor));

      const violated = trace.violated!;
      expect(violated.property).toBe(result.violation!.property);
      expect(json.violated).toEqual({ property: violated.property, message: violated.message });
      expect(html.violation).toMatchObject({ property: violated.property, message: violated.message });
      expect(text.verdict).toBe(violated.property === 'kernel-bug' ? `KERNEL BUG: ${violated.message}` : `VIOLATED ${violated.property}: ${violated.message}`);
    });
  }
});

describe('traceOf', () => {
  it("replays the search's counterexample to the search's verdict, a snapshot before and after every step", () => {
    for (const [s, v] of [
      ['introspect', 'start-only'],
      ['cow', 'seed-2019-literal'],
      ['swap-cycle', 'anon-vma'],
    ] as const) {
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
    const text = replayText(trace);
    expect(text).toContain(`\nSchedule: ${result.shrunk!.schedule}\n`);
    expect(text).toContain(`\n  shrunk from ${result.schedule}, the schedule the search found`);
    expect(traceJson(trace)).toMatchObject({ schedule: result.shrunk!.schedule, shrunkFrom: result.schedule });
    const html = renderHtmlReport({ result, trace });
    expect(html).toContain(`vmamirror replay '${result.shrunk!.schedule}'`);
    expect(html).toContain(`data-testid="original-schedule">${result.schedule}<`);
  });

  it('says nothing is violated at the end of a schedule that violates nothing', () => {
    const trace = traceOf(...cell('exit', 'start-only'), [0, 0, 0]);
    expect(trace.steps).toHaveLength(3);
    expect(trace.violated).toBeUndefined();
    expect(replayText(trace).split('\n').at(-1)).toBe('No property is violated at the end of this schedule.');
    expect(traceJson(trace).violated).toBeNull();
  });

  it('stops with a replay error where the schedule cannot go on, keeping the steps that ran', () => {
    const finished = traceOf(...cell('exit', 'start-only'), Array(40).fill(1));
    expect(finished.steps.length).toBeGreaterThan(0);
    expect(finished.replayError).toBe(`step ${finished.steps.length}: actor intro has finished`);
    expect(finished.violated).toBeUndefined();
    expect(replayText(finished).split('\n').at(-1)).toBe(`Replay stopped: ${finished.replayError}`);
    expect(traceJson(finished).replayError).toBe(finished.replayError);

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

describe("the trace ends with the engine's verdict of the whole schedule", () => {
  it('deadlock and termination too, not only BUGs and properties', () => {
    for (const [variant, property] of [
      [forgetsUnlock, 'deadlock'],
      [retryForever, 'termination'],
    ] as const) {
      const v = explore(buildScenario(readVsReclaim, variant).world, { properties: PROPERTIES }).violation!;
      expect(v.property).toBe(property);
      const t = traceOf(readVsReclaim, variant, v.schedule);
      expect([t.replayError, t.violated?.property, t.violated?.message]).toEqual([undefined, property, v.message]);
      expect(replayText(t)).toContain(`VIOLATED ${property}`);
    }
  });
});

describe('the reports replay nothing themselves', () => {
  it('only src/report/trace.ts builds a world or runs a step, among the reports and the command', () => {
    const replaying = /\b(buildScenario|runSchedule|traceStep|execStep|runUntil|runToEnd|replayFrom|replayRepaired|judgeSchedule|shrinkSchedule|explore)\s*\(/;
    const found: string[] = [];
    for (const dir of ['src/report', 'src/cli']) {
      for (const f of readdirSync(new URL(`../../${dir}/`, import.meta.url))) {
        const text = readFileSync(new URL(`../../${dir}/${f}`, import.meta.url), 'utf8');
        for (const m of text.matchAll(new RegExp(replaying, 'g'))) found.push(`${dir}/${f}: ${m[1]}`);
      }
    }
    expect([...new Set(found)].sort()).toEqual(['src/report/trace.ts: buildScenario', 'src/report/trace.ts: judgeSchedule', 'src/report/trace.ts: traceStep']);
  });
});
