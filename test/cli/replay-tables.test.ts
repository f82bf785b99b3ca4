/**
 * `vmamirror replay --tables [N]` in-process: the kernel objects after the last step (or step N)
 * follow the trace, as the trace recorded them (src/report/state-tables.ts), and a step outside
 * the trace is a usage error of one line. Without the option the output has none of them.
 */
import { describe, expect, it } from 'vitest';
import { captureOutput } from '../helpers/capture.js';
import { main, EXIT_USAGE, EXIT_VIOLATION } from '../../src/cli/main.js';
import { decodeSchedule } from '../../src/engine/schedule.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { variantByName } from '../../src/mirror/variants.js';
import { traceOf } from '../../src/report/trace.js';

const io = captureOutput();

// README's R1 race: the introspector inserts pfn 1 while kswapd's invalidation of it runs.
const SCHEDULE = 'swap-cycle/seed-2019-literal:2*11.0*27.2*3';
const trace = traceOf(scenarioByName('swap-cycle')!, variantByName('seed-2019-literal')!, decodeSchedule(SCHEDULE).choices);
const last = trace.steps.length - 1;

/** The lines after the trace's verdict: the tables section, if any. */
const tablesPart = () => {
  const text = io.out.join('\n');
  const at = text.indexOf('The kernel objects after step');
  return at < 0 ? undefined : text.slice(at);
};

describe('replay --tables', () => {
  it('prints no table by default', () => {
    expect(main(['replay', SCHEDULE])).toBe(EXIT_VIOLATION);
    expect(tablesPart()).toBeUndefined();
  });

  it('prints the tables after the last step, under the verdict, with every row the trace recorded', () => {
    expect(main(['replay', SCHEDULE, '--tables'])).toBe(EXIT_VIOLATION);
    const text = io.out.join('\n');
    const part = tablesPart()!;
    expect(part.startsWith(`The kernel objects after step ${last}:`)).toBe(true);
    expect(text.indexOf('VIOLATED refinement')).toBeLessThan(text.indexOf(part));
    const tables = trace.steps[last].tables;
    expect(tables.map((t) => t.id)).toEqual(['notifiers', 'hmm-ranges', 'sequences', 'locks']);
    for (const t of tables) {
      expect(part).toContain(`${t.title}:`);
      for (const row of t.rows) expect(part).toMatch(new RegExp(row.map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join(' +')));
    }
    // kswapd holds the folio lock of the page it reclaims; its invalidation is still running.
    expect(part).toMatch(/page\[pfn1\] +folio +kswapd/);
    expect(part).toMatch(/hmm->notifiers \(v5\.3\) +1 /);
  });

  it('prints the tables after step N, which differ from the last step where the state does', () => {
    expect(main(['replay', SCHEDULE, '--tables', '5'])).toBe(EXIT_VIOLATION);
    const part = tablesPart()!;
    expect(part.startsWith('The kernel objects after step 5:')).toBe(true);
    expect(part).toMatch(/page\[pfn1\] +folio +- /);
    expect(part).not.toContain('HMM ranges');
  });

  it('refuses a step outside the trace with one line', () => {
    expect(main(['replay', SCHEDULE, '--tables', String(last + 1)])).toBe(EXIT_USAGE);
    expect(io.err.join('')).toBe(`vmamirror: --tables ${last + 1}: the trace has ${last + 1} steps, numbered 0 to ${last}\n`);
    io.err = [];
    expect(main(['replay', SCHEDULE, '--tables', 'x'])).toBe(EXIT_USAGE);
    expect(io.err.join('')).toMatch(/^vmamirror: [^\n]*\n$/);
  });
});
