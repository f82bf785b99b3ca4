/** The HTML report without a browser: escaping, the embedded data, results that hold. */
import { describe, expect, it } from 'vitest';
import { checkOne, type CheckResult } from '../../src/check/run.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';
import { renderHtmlReport, scriptJson } from '../../src/report/html.js';
import { counterexampleTrace } from '../../src/report/trace.js';

function embedded(html: string): { steps: { snapshot: unknown }[]; violation: { message: string } | null; layers: { id: string }[] } {
  const m = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  expect(m).not.toBeNull();
  return JSON.parse(m![1]);
}

const stats = { states: 12, transitions: 30, depth: 5, elapsedMs: 7, bytesPerState: 8, missedStateBound: 0, peakBytes: 0, peakRss: 0, rssGrowth: 0 };

describe('renderHtmlReport', () => {
  it('escapes every text and keeps the JSON block closed', () => {
    const evil = '</script><img src=x onerror="alert(1)"> & \u2028';
    const result = {
      ...stats,
      scenario: 'introspect',
      variant: 'start-only',
      verdict: 'violation',
      violation: { property: 'refinement', message: evil, schedule: [1] },
      schedule: 'introspect/start-only:1',
    } as CheckResult;
    // The trace's verdict is what the report explains on the last step: give it the evil message too.
    const trace = { ...counterexampleTrace(result)!, violated: { property: 'refinement', message: evil } };
    const html = renderHtmlReport({ result, trace });
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;/script&gt;&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp;');
    expect(html.match(/<\/script>/g)).toHaveLength(2); // the data block's and the script's
    expect(embedded(html).violation!.message).toBe(evil);
    expect(scriptJson('</b>')).toBe('"\\u003c/b\\u003e"');
  });

  it('shows verdict and statistics, and no trace, for a result that holds', () => {
    const result = { ...stats, scenario: 'munmap', variant: 'interval', verdict: 'holds' } as CheckResult;
    expect(counterexampleTrace(result)).toBeUndefined();
    const html = renderHtmlReport({ result });
    expect(html).toContain('data-testid="verdict">holds<');
    expect(html).toContain('data-testid="stat-states">12<');
    expect(html).not.toContain('id="lanes"');
    expect(embedded(html).steps).toEqual([]);
    expect(html).not.toMatch(/(src|href)="https?:/);
    expect(html).toContain('data-testid="assumed">Not audited');
  });

  it('lists what a proof assumed: its unprotected accesses and the stand-ins, escaped', () => {
    const result = checkOne(scenarioByName('munmap')!, variantByName('interval')!);
    expect(result.verdict).toBe('holds');
    const html = renderHtmlReport({ result });
    const list = /<ul data-testid="assumed-accesses">(.*?)<\/ul>/s.exec(html)![1];
    expect(list.match(/<li /g)).toHaveLength(result.assumed!.accesses.length);
    expect(list).toContain('<li class="mono">mmu_interval_read_begin:read: intervalNotifier.seq (lock:driver)</li>');
    expect(html).toMatch(new RegExp(`Assumed: sequential consistency for ${result.assumed!.accesses.length} unprotected accesses`));
  });

  it('replays a counterexample with a snapshot of every layer after each step', () => {
    const result = checkOne(scenarioByName('introspect')!, variantByName('start-only')!);
    const trace = counterexampleTrace(result)!;
    expect(trace.steps).toHaveLength(result.violation!.schedule.length);
    expect(trace.steps.map((s) => s.actorIndex)).toEqual(result.violation!.schedule);
    expect(trace.layers.map((l) => l.id)).toEqual(['source', 'source-ept', 'mirror', 'frames']);
    const last = trace.steps.at(-1)!.snapshot;
    const col = (layer: string, c: string) => trace.layers.find((l) => l.id === layer)!.columns.indexOf(c);
    expect(last.mirror[0][col('mirror', 'pfn')]).toBe(1);
    expect(last.source[0][col('source', 'pfn')]).toBe(0);
    expect(last.source[0][col('source', 'migration')]).toBe(1);
    expect(trace.violated).toEqual({ property: result.violation!.property, message: result.violation!.message });
    const html = renderHtmlReport({ result, trace });
    expect(html).toContain('data-testid="violation-description">every EPT entry and mirror pte');
    // Steps that change no layer are sent once.
    const data = embedded(html);
    expect(data.steps.filter((s) => s.snapshot === 0).length).toBeGreaterThan(0);
  });
});
