/** JUnit agrees with the exit code: in the table a broken design caught is expected, one caught nowhere fails. */
import { describe, expect, it } from 'vitest';
import { junitReport } from '../../src/report/junit.js';
import type { CheckResult } from '../../src/check/run.js';

const cell = (scenario: string, variant: string, verdict: CheckResult['verdict']): CheckResult => ({
  scenario,
  variant,
  verdict,
  states: 10,
  transitions: 20,
  depth: 3,
  elapsedMs: 5,
  bytesPerState: 8,
  missedStateBound: 0,
  peakBytes: 0,
  peakRss: 0,
  rssGrowth: 0,
  ...(verdict === 'violation' ? { violation: { property: 'refinement', message: 'm', schedule: [0] }, schedule: `${scenario}/${variant}:0` } : {}),
  ...(verdict === 'incomplete' ? { stopReason: 'max-states' as const } : {}),
});

describe('junitReport', () => {
  it('outside the table every violation is a failure', () => {
    const xml = junitReport([cell('exit', 'interval', 'holds'), cell('exit', 'start-only', 'violation')]);
    expect(xml).toMatch(/tests="2" failures="1" skipped="0"/);
  });

  it('in the table a broken design caught passes, the corrected one violated fails, a broken one caught nowhere fails', () => {
    const caught = junitReport([cell('exit', 'interval', 'holds'), cell('exit', 'start-only', 'violation')], { table: true });
    expect(caught).toMatch(/<system-out>caught as expected: refinement: m/);
    expect(caught).toMatch(/name="start-only is caught" time="0.000">\n {2}<\/testcase>/);
    // Every other broken design is in no result here: caught nowhere, so it fails.
    const failures = Number(/failures="(\d+)"/.exec(caught)![1]);
    expect(failures).toBeGreaterThan(0);
    expect(caught).not.toMatch(/<failure type="refinement"/);
    const broken = junitReport([cell('exit', 'interval', 'violation')], { table: true });
    expect(broken).toMatch(/<failure type="refinement"/);
    const open = junitReport([cell('exit', 'start-only', 'incomplete')], { table: true });
    expect(open).toMatch(/name="start-only is caught" time="0.000">\n {4}<skipped message="not caught on the cells that finished"\/>/);
  });
});
