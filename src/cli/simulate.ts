/**
 * `check --simulate`: random walks or PCT per cell; never claims more than "no violation found".
 * One budget over all cells (budget.ts): Ctrl-C or the time limit stops between runs (and within a
 * long run), and what was covered is printed. A scenario file's expectations are judged on what a
 * simulation can show: a violation found is judged as an exhaustive check judges it (check, message,
 * pattern on its trace); no violation found decides nothing (undecided, exit 3), since only an
 * exhaustive check proves a design holds or that a violation is absent.
 */
import { simulateScenario, type ScenarioSimulateResult } from '../check/run.js';
import { cellName, formatShard, type Shard } from '../check/shard.js';
import { shardRuns } from '../engine/shards.js';
import { Budget, type RunContext } from './budget.js';
import { fail } from './exit.js';
import { incompleteSentence, simulationExitCode } from './outcome.js';
import { expectationOf, judgeCell, judgedLine, STATUS, type Expectation, type JudgedCell } from '../check/expect.js';
import type { Trace } from '../report/trace.js';
import { checkReportPath, tracesOf, withTraces } from './reports.js';
import { trailOf, writeTrail } from './trail.js';
import type { Selection } from './selection.js';
import { finalNote } from './check.js';
import { ProgressLine } from './progress.js';

export interface SimulateCliOptions {
  simulate: string | true;
  runs?: number;
  seed?: number;
  depth?: number;
  maxSteps?: number;
  shard?: Shard;
  timeLimit?: number;
  json?: boolean;
  trail?: string;
}

export function checkSimulate(sel: Selection, opts: SimulateCliOptions, ctx: RunContext): number {
  const strategy = opts.simulate === true ? 'random' : opts.simulate;
  if (strategy !== 'random' && strategy !== 'pct') fail(`--simulate takes random or pct, got "${strategy}"`);
  const runs = opts.runs ?? 1000;
  checkReportPath('--trail', opts.trail);
  if (opts.shard && shardRuns(runs, opts.shard) === 0) fail(`shard ${formatShard(opts.shard)} has no run: ${runs} runs split ${opts.shard.count} ways`);
  const budget = new Budget(opts.timeLimit, ctx.shouldStop);
  const results: ScenarioSimulateResult[] = [];
  const progress = ctx.progress && !opts.json ? new ProgressLine() : undefined;
  let notStarted = 0;
  for (const { scenario: spec, variant: v } of sel.cells) {
    const late = budget.spent() !== undefined;
    if (progress) progress.cell = cellName({ scenario: spec, variant: v });
    const r = simulateScenario(spec, v, {
      runs,
      seed: opts.seed ?? 1,
      strategy,
      depth: opts.depth,
      maxSteps: opts.maxSteps,
      shard: opts.shard,
      timeLimitMs: budget.remainingMs(),
      shouldStop: budget.shouldStop,
      onProgress: progress && ((p) => progress.showRuns(p)),
    });
    progress?.clear();
    results.push(r);
    if (late) notStarted++;
    else if (!opts.json) console.log(simulationLine(r, strategy, opts.shard));
  }
  const traceFor = tracesOf(sel.scenarios);
  // A shard sees some runs only: its "no violation" decides even less, and merge judges nothing.
  const judged = opts.shard ? new Map<ScenarioSimulateResult, JudgedCell>() : judgeSimulated(sel.expectations, results, traceFor);
  const withExpected = (o: object, i: number) => (judged.has(results[i]) ? { ...o, expected: judged.get(results[i]) } : o);
  if (opts.json) console.log(JSON.stringify(opts.shard ? results : withTraces(results, traceFor).map(withExpected), null, 2));
  else for (const [r, j] of judged) console.log(judgedLine(r, j));
  finalNote(incompleteSentence(results), notStarted, opts.json);
  if (opts.trail) writeTrail(opts.trail, trailOf(results, traceFor, sel.files), opts.json);
  return simulationExitCode(results, judged);
}

/** The simulated cells a scenario file states an expectation for, judged on what they found. */
function judgeSimulated(
  expectations: readonly Expectation[],
  results: readonly ScenarioSimulateResult[],
  traceFor: (r: ScenarioSimulateResult) => Trace | undefined,
): Map<ScenarioSimulateResult, JudgedCell> {
  const judged = new Map<ScenarioSimulateResult, JudgedCell>();
  for (const r of results) {
    const e = expectationOf(expectations, r);
    if (!e) continue;
    if (r.verdict === 'violation') {
      const o = judgeCell(e, { verdict: 'violation', violation: r.violation }, e.pattern ? traceFor(r) : undefined);
      judged.set(r, { status: STATUS[o.status], source: e.source, note: o.note });
    } else {
      const why = r.verdict === 'incomplete' ? `the simulation did not finish (${r.stopReason ?? 'incomplete'})` : `no violation found in ${r.runs} runs, which proves nothing`;
      judged.set(r, { status: 'undecided', source: e.source, note: `expected ${e.verdict}; ${why} (an exhaustive check decides)` });
    }
  }
  return judged;
}

function simulationLine(r: ScenarioSimulateResult, strategy: string, shard: Shard | undefined): string {
  const verdict = r.verdict === 'incomplete' ? `incomplete (${r.stopReason})` : r.verdict;
  const runs = r.runs === r.runsRequested ? `${r.runs}` : `${r.runs} of ${r.runsRequested}`;
  const cut = r.truncatedRuns ? ` (${r.truncatedRuns} cut off at ${r.maxSteps} steps)` : '';
  const head = `${r.scenario}/${r.variant}: ${verdict} — ${runs} ${strategy} runs${cut}, ${r.steps} steps, ${r.states} distinct states${shard ? ` (shard ${formatShard(shard)})` : ''}`;
  return r.violation ? `${head}\n  ${r.violation.property}: ${r.violation.message}\n  schedule: ${r.schedule}` : head;
}
