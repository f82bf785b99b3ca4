/** The table's expectations when cells did not finish: open, not failed (and no false "not caught"). */
import { describe, expect, it } from 'vitest';
import { expectedViolation, tableExpectations, type CheckResult } from '../../src/check/run.js';

const cell = (scenario: string, variant: string, verdict: CheckResult['verdict']): CheckResult => ({
  scenario,
  variant,
  verdict,
  states: 1,
  transitions: 0,
  depth: 0,
  elapsedMs: 0,
  bytesPerState: 0,
  missedStateBound: 0,
  peakBytes: 0,
  peakRss: 0,
  rssGrowth: 0,
  ...(verdict === 'violation' ? { violation: { property: 'refinement', message: 'm', schedule: [] } } : {}),
  ...(verdict === 'incomplete' ? { stopReason: 'max-states' as const } : {}),
});

describe('tableExpectations', () => {
  it('a broken design not caught on the cells that finished is undecided while one did not finish', () => {
    const t = tableExpectations([cell('exit', 'start-only', 'holds'), cell('cow', 'start-only', 'incomplete'), cell('exit', 'interval', 'incomplete')]);
    expect(t.problems).toEqual([]);
    expect(t.undecided).toEqual([expect.stringMatching(/^start-only \(.*\) was not caught on the scenarios that finished \(not finished: cow\)$/), 'interval is not proved on exit (max-states)']);
    expect(t.ok).toBe(false);
  });

  it('caught nowhere with every cell finished, or the corrected design violated, is a problem', () => {
    expect(tableExpectations([cell('exit', 'start-only', 'holds')]).problems).toEqual([expect.stringMatching(/^start-only \(.*\) was not caught on any scenario$/)]);
    expect(tableExpectations([cell('exit', 'interval', 'violation')]).problems).toEqual(['interval is violated on exit: refinement']);
  });

  it('knows which violations the table expects', () => {
    expect(expectedViolation('start-only')).toBe(true);
    expect(expectedViolation('interval')).toBe(false);
    expect(expectedViolation('nosuch')).toBe(false);
  });
});
