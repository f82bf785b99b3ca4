/**
 * What a kernel developer needs to read a counterexample without the source at hand: the
 * scenario's description and each actor's operations by schedule number, how to read a schedule,
 * a legend for the fields and encoded values the steps changed, and which steps race.
 */
import { describe, expect, it } from 'vitest';
import { checkOne } from '../../src/check/run.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';
import { counterexampleTrace, traceOf } from '../../src/report/trace.js';
import { replayText } from '../../src/report/text.js';
import { renderHtmlReport } from '../../src/report/html.js';
import { ENCODING_LEGEND, legendFor, racingSteps, SCHEDULE_SYNTAX } from '../../src/report/legend.js';

const result = checkOne(scenarioByName('exit')!, variantByName('start-only')!, { shrink: true });
const trace = counterexampleTrace(result)!;

describe('the racing steps', () => {
  it("are each actor's last write to what the violation names, and the last step", () => {
    expect(trace.violated!.message).toMatch(/introspector@0 maps pfn 1 but source@0/);
    const racing = trace.racing!;
    expect(racing.at(-1)).toBe(trace.steps.length - 1);
    const named = /\[(introspector@0|source@0|pfn1)\]/;
    for (const i of racing.slice(0, -1)) {
      const s = trace.steps[i];
      expect(s.changes.some((c) => named.test(c.what))).toBe(true);
      // No later step of that actor writes one.
      expect(trace.steps.slice(i + 1).some((t) => t.actorIndex === s.actorIndex && t.changes.some((c) => named.test(c.what)))).toBe(false);
    }
    // Both actors race: the introspector's fault and the source's unmap.
    expect(new Set(racing.map((i) => trace.steps[i].actor))).toEqual(new Set(['intro', 'source']));
  });

  it('fall back to the last step of each actor when the message names nothing a step wrote', () => {
    const steps = [
      { actorIndex: 0, changes: [{ what: 'a:f.x', from: 0, to: 1 }] },
      { actorIndex: 1, changes: [] },
      { actorIndex: 0, changes: [] },
      { actorIndex: 1, changes: [] },
    ];
    expect(racingSteps(steps, 'something about nothing')).toEqual([2, 3]);
    expect(racingSteps(steps, 'pte x@0')).toEqual([2, 3]);
    expect(racingSteps([{ actorIndex: 0, changes: [{ what: 'pte[x@0].pfn', from: 0, to: 1 }] }, ...steps.slice(1)], 'maps x@0')).toEqual([0, 3]);
    expect(racingSteps([], 'x')).toEqual([]);
  });
});

describe('replay text', () => {
  const text = replayText(trace);

  it('opens with the scenario, its actors by number with their operations, and the schedule syntax', () => {
    expect(text.startsWith('Scenario exit:\n  The source process exits')).toBe(true);
    expect(text).toContain('\n   0  source  exit mm=source\n   1  intro   access mm=introspector page=0\n');
    expect(text).toContain(`Schedule: ${trace.schedule}\n  (${SCHEDULE_SYNTAX})`);
    expect(text).toContain(`shrunk from ${trace.shrunkFrom}`);
  });

  it('marks the racing steps and names them, and ends with the verdict', () => {
    const marked = text.split('\n').filter((l) => l.startsWith('>'));
    expect(marked).toHaveLength(trace.racing!.length);
    for (const i of trace.racing!) expect(text).toMatch(new RegExp(`^>\\s*${trace.steps[i].index} ${trace.steps[i].actor}`, 'm'));
    expect(text).toMatch(/Racing steps, marked >: \d+ \(intro /);
    expect(text.split('\n').at(-1)).toBe(`VIOLATED refinement: ${trace.violated!.message}`);
  });

  it('explains the fields and encodings the steps changed, and only those', () => {
    const changed = trace.steps.flatMap((s) => s.changes.map((c) => c.what));
    expect(changed.some((c) => c.endsWith('.gen'))).toBe(true);
    expect(text).toMatch(/\n {2}gen: ghost state, not kernel data/);
    expect(changed.some((c) => c.endsWith('.migration'))).toBe(false);
    expect(text).not.toMatch(/\n {2}migration: /);
    expect(legendFor(['pte[source@0].migration']).map((e) => e.name)).toContain('migration');
    expect(legendFor(['intro:hmm_range_fault.pfns']).map((e) => e.name)).toContain('HMM pfn');
  });

  it('prints the legend for a schedule that violates nothing too, and no racing steps', () => {
    const t = traceOf(scenarioByName('exit')!, variantByName('start-only')!, [0, 0, 0]);
    expect(t.racing).toBeUndefined();
    const plain = replayText(t);
    expect(plain).toContain('Legend:');
    expect(plain).not.toContain('Racing steps');
  });
});

describe('HTML report', () => {
  const html = renderHtmlReport({ result, trace });

  it('shows the scenario, the actors table, the schedule syntax and the legend', () => {
    expect(html).toContain('data-testid="scenario-description">The source process exits');
    expect(html).toMatch(/data-testid="actors-table">.*<td>1<\/td><td class="mono">intro<\/td><td class="mono">access mm=introspector page=0<\/td>/s);
    expect(html).toContain('data-testid="schedule-syntax">SCENARIO/VARIANT:CHOICES');
    for (const e of ENCODING_LEGEND) expect(html).toContain(`<th class="mono">${e.name}</th>`);
    expect(html).toContain(`vmamirror replay '${trace.shrunkFrom}'`);
  });

  it('lists the checked properties of a proof, and the other violations of a search for several', () => {
    const holds = checkOne(scenarioByName('munmap')!, variantByName('interval')!);
    expect(renderHtmlReport({ result: holds })).toMatch(/data-testid="checked"><summary>Checked: \d+ properties.*<b class="mono">refinement<\/b>/s);
    const many = checkOne(scenarioByName('introspect')!, variantByName('seed-2019-literal')!, { maxViolations: 3, shrink: false });
    const page = renderHtmlReport({ result: many, trace: counterexampleTrace(many) });
    expect(page).toContain('data-testid="other-violations"><summary>2 other distinct violations found');
    for (const v of many.violations!.slice(1)) expect(page).toContain(`vmamirror replay '${v.schedule}'`);
  });
});
