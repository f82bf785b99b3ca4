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

  it('a cell a scenario file has an expectation for is judged by it: as expected passes, UNEXPECTED fails, undecided is skipped', () => {
    const caught = cell('race', 'buggy', 'violation');
    const held = cell('race', 'fixed', 'holds');
    const open = cell('race', 'other', 'incomplete');
    const judged = new Map([
      [caught, { status: 'as expected' as const, source: 'race.yaml:9: expect[0]', note: 'violation of refinement' }],
      [held, { status: 'UNEXPECTED' as const, source: 'race.yaml:12: expect[1]', note: 'holds, but expected refinement' }],
      [open, { status: 'undecided' as const, source: 'race.yaml:15: expect[2]', note: 'incomplete' }],
    ]);
    const xml = junitReport([caught, held, open], { judged });
    expect(xml).toMatch(/tests="3" failures="1" skipped="1"/);
    expect(xml).toMatch(/name="buggy"[\s\S]*?<system-out>as expected: race.yaml:9: expect\[0\]: violation of refinement/);
    expect(xml).toMatch(/name="fixed"[\s\S]*?<failure type="unexpected" message="race.yaml:12: expect\[1\]: holds, but expected refinement"/);
    expect(xml).toMatch(/name="other"[\s\S]*?<skipped message="undecided: race.yaml:15/);
    // Without the judgement, the caught cell is a failure: the expectation is what passes it.
    expect(junitReport([caught])).toMatch(/failures="1"/);
  });
});
