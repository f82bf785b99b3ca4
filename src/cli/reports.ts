/**
 * The report files of `check` (--html, --junit) and the traces the reports and --json share. A
 * report path is checked before the run (its folder exists, it is not a folder), so that a long run
 * is not lost to a typo; a write that still fails is exit 2 with one line.
 */
import { statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { CheckResult, ScenarioSimulateResult } from '../check/run.js';
import type { ScenarioSpec } from '../scenario/spec.js';
import { counterexampleTrace, type Trace } from '../report/trace.js';
import { traceJson } from '../report/json.js';
import { junitReport } from '../report/junit.js';
import type { JudgedCell } from '../check/expect.js';
import { renderHtmlReport } from '../report/html.js';
import { fail } from './exit.js';
import { shown } from './text.js';
import type { Selection } from './selection.js';
import { trailOf, writeTrail } from './trail.js';

export type TraceFor = (r: CheckResult | ScenarioSimulateResult) => Trace | undefined;

/**
 * The trace of each result's counterexample (`counterexampleTrace`: the shrunk one if any), made
 * once per result however many reports render it.
 */
export function tracesOf(scenarios: readonly ScenarioSpec[]): TraceFor {
  const made = new Map<object, Trace | undefined>();
  return (r) => {
    if (!made.has(r))
      made.set(
        r,
        counterexampleTrace(
          r,
          scenarios.find((s) => s.name === r.scenario),
        ),
      );
    return made.get(r);
  };
}

/** --json: the results, each violation followed by the trace of its counterexample (src/report/json.ts). */
export function withTraces<R extends CheckResult | ScenarioSimulateResult>(results: readonly R[], traceFor: TraceFor): object[] {
  return results.map((r) => {
    const t = traceFor(r);
    const { violation, ...rest } = r;
    return { ...rest, violation, ...(t && { trace: traceJson(t) }) };
  });
}

/** Exit 2 now, before any work, if `path` cannot be a report file: its folder is missing, or it is a folder. */
export function checkReportPath(option: string, path: string | undefined): void {
  if (path === undefined) return;
  const name = shown(path);
  if (path === '') fail(`${option}: an empty file name`);
  const folder = statSync(dirname(resolve(path)), { throwIfNoEntry: false });
  if (!folder) fail(`${option} ${name}: the folder ${shown(dirname(path))} does not exist`);
  if (!folder.isDirectory()) fail(`${option} ${name}: ${shown(dirname(path))} is not a folder`);
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) fail(`${option} ${name}: is a folder, not a file`);
}

/** Writes a report file; a failure (permissions, a full disk) is exit 2 with one line. */
export function writeReport(option: string, path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    fail(`${option} ${shown(path)}: cannot write it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export interface ReportOptions {
  readonly html?: string;
  readonly junit?: string;
  readonly trail?: string;
  readonly json?: boolean;
}

/**
 * --html: the report of the first counterexample (or of the only result, if there is one cell);
 * --junit: every cell as a testcase (`table`: a broken design caught is expected; a cell a scenario file
 * states an expectation for is judged by it, see junit.ts).
 */
export function writeReports(results: readonly CheckResult[], traceFor: TraceFor, opts: ReportOptions, sel: Selection, judged?: ReadonlyMap<CheckResult, JudgedCell>): void {
  if (opts.junit) writeReport('--junit', opts.junit, junitReport(results, { table: sel.table, judged }));
  if (opts.trail) writeTrail(opts.trail, trailOf(results, traceFor, sel.files), opts.json);
  if (opts.html) {
    const r = results.find((x) => x.verdict === 'violation') ?? results[0];
    if (!r) return;
    writeReport('--html', opts.html, renderHtmlReport({ result: r, trace: traceFor(r) }));
    if (!opts.json) console.log(`HTML report of ${r.scenario}/${r.variant}: ${opts.html}`);
  }
}
