/**
 * JUnit XML for CI dashboards: one testsuite, one testcase per scenario × variant cell, agreeing
 * with the command's exit code. A violation is a <failure> (its message and replay schedule in the
 * body) — except, for the catalogue table, a broken design caught as expected, which passes and
 * says so; the table adds one testcase per broken design, failing if it was caught nowhere. An
 * incomplete run is <skipped> with the stop reason; a proof passes. A cell a scenario file states
 * an expectation for (`expect:`) is judged by it, as `check`'s exit code is: as expected passes
 * (a violation included), UNEXPECTED fails, undecided is skipped.
 */
import { expectedViolation, type CheckResult } from '../check/run.js';
import type { JudgedCell } from '../check/expect.js';
import { VARIANTS } from '../mirror/variants.js';

function xml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export interface JunitOptions {
  /** The results are the catalogue table: a broken design's violation is expected. */
  readonly table?: boolean;
  /** The cells the scenario files' expectations judged (check.ts: judgeExpectations). */
  readonly judged?: ReadonlyMap<CheckResult, JudgedCell>;
}

/** A cell judged by its scenario file's expectation: the expectation, not the verdict, decides. */
function judgedCase(open: string, stats: string, j: JudgedCell): { failed: boolean; skipped: boolean; text: string } {
  const said = `${j.source}: ${j.note}`;
  if (j.status === 'UNEXPECTED')
    return { failed: true, skipped: false, text: `${open}\n    <failure type="unexpected" message="${xml(said)}">${xml(said)}</failure>\n    <system-out>${stats}</system-out>\n  </testcase>` };
  if (j.status === 'undecided') return { failed: false, skipped: true, text: `${open}\n    <skipped message="${xml(`undecided: ${said}`)}"/>\n    <system-out>${stats}</system-out>\n  </testcase>` };
  return { failed: false, skipped: false, text: `${open}\n    <system-out>${xml(`as expected: ${said}\n${stats}`)}</system-out>\n  </testcase>` };
}

export function junitReport(results: readonly CheckResult[], opts: JunitOptions = {}): string {
  const expected = (r: CheckResult) => opts.table === true && expectedViolation(r.variant);
  const cases = results.map((r) => {
    const open = `  <testcase classname="vmamirror.${xml(r.scenario)}" name="${xml(r.variant)}" time="${(r.elapsedMs / 1000).toFixed(3)}">`;
    const stats = `${r.states} states, ${r.transitions} transitions, depth ${r.depth}`;
    const j = opts.judged?.get(r);
    if (j) return judgedCase(open, stats, j);
    if (r.verdict === 'violation') {
      const v = r.violation!;
      const body = `${v.property}: ${v.message}\nreplay: vmamirror replay '${r.schedule}'`;
      if (expected(r)) return { failed: false, skipped: false, text: `${open}\n    <system-out>${xml(`caught as expected: ${body}\n${stats}`)}</system-out>\n  </testcase>` };
      return {
        failed: true,
        skipped: false,
        text: `${open}\n    <failure type="${xml(v.property)}" message="${xml(v.message)}">${xml(body)}</failure>\n    <system-out>${stats}</system-out>\n  </testcase>`,
      };
    }
    if (r.verdict === 'incomplete') {
      return {
        failed: false,
        skipped: true,
        text: `${open}\n    <skipped message="${xml(`incomplete: ${r.stopReason ?? 'limit reached'} after ${r.states} states`)}"/>\n    <system-out>${stats}</system-out>\n  </testcase>`,
      };
    }
    return { failed: false, skipped: false, text: `${open}\n    <system-out>${stats}</system-out>\n  </testcase>` };
  });
  if (opts.table) {
    for (const v of VARIANTS.filter((x) => x.reproduces.length > 0)) {
      const rs = results.filter((r) => r.variant === v.name);
      const open = `  <testcase classname="vmamirror.expectations" name="${xml(`${v.name} is caught`)}" time="0.000">`;
      if (rs.some((r) => r.verdict === 'violation')) cases.push({ failed: false, skipped: false, text: `${open}\n  </testcase>` });
      else if (rs.some((r) => r.verdict === 'incomplete')) cases.push({ failed: false, skipped: true, text: `${open}\n    <skipped message="not caught on the cells that finished"/>\n  </testcase>` });
      else
        cases.push({
          failed: true,
          skipped: false,
          text: `${open}\n    <failure type="not-caught" message="${xml(`${v.name} (${v.reproduces.join(', ')}) was not caught on any scenario`)}"/>\n  </testcase>`,
        });
    }
  }
  const failures = cases.filter((c) => c.failed).length;
  const skipped = cases.filter((c) => c.skipped).length;
  const time = results.reduce((t, r) => t + r.elapsedMs, 0) / 1000;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite name="vmamirror" tests="${cases.length}" failures="${failures}" skipped="${skipped}" errors="0" time="${time.toFixed(3)}">`,
    ...cases.map((c) => c.text),
    '</testsuite>',
    '',
  ].join('\n');
}
