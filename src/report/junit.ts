/**
 * JUnit XML for CI dashboards: one testsuite, one testcase per scenario × variant cell. A
 * violation is a <failure> (its message and replay schedule in the body), an incomplete run is
 * <skipped> with the stop reason, a proof passes.
 */
import type { CheckResult } from '../check/run.js';

function xml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export function junitReport(results: readonly CheckResult[]): string {
  const failures = results.filter((r) => r.verdict === 'violation').length;
  const skipped = results.filter((r) => r.verdict === 'incomplete').length;
  const time = results.reduce((t, r) => t + r.elapsedMs, 0) / 1000;
  const cases = results.map((r) => {
    const open = `  <testcase classname="vmamirror.${xml(r.scenario)}" name="${xml(r.variant)}" time="${(r.elapsedMs / 1000).toFixed(3)}">`;
    const stats = `    <system-out>${r.states} states, ${r.transitions} transitions, depth ${r.depth}</system-out>`;
    if (r.verdict === 'violation') {
      const v = r.violation!;
      return `${open}\n    <failure type="${xml(v.property)}" message="${xml(v.message)}">${xml(`${v.property}: ${v.message}\nreplay: vmamirror replay '${r.schedule}'`)}</failure>\n${stats}\n  </testcase>`;
    }
    if (r.verdict === 'incomplete') return `${open}\n    <skipped message="${xml(`incomplete: ${r.stopReason ?? 'limit reached'} after ${r.states} states`)}"/>\n${stats}\n  </testcase>`;
    return `${open}\n${stats}\n  </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite name="vmamirror" tests="${results.length}" failures="${failures}" skipped="${skipped}" errors="0" time="${time.toFixed(3)}">`,
    ...cases,
    '</testsuite>',
    '',
  ].join('\n');
}
