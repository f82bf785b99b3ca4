/**
 * `check --simulate`: random walks or PCT per cell; never claims more than "no violation found".
 * One budget over all cells (budget.ts): Ctrl-C or the time limit stops between runs (and within a
 * long run), and what was covered is printed.
 */
import { simulateScenario, type ScenarioSimulateResult } from '../check/run.js';
import { cellName, formatShard, type Shard } from '../check/shard.js';
import { shardRuns } from '../engine/shards.js';
import { Budget, type RunContext } from './budget.js';
import { fail } from './exit.js';
import { incompleteSentence, simulationExitCode } from './outcome.js';
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
  if (opts.json) console.log(JSON.stringify(opts.shard ? results : withTraces(results, traceFor), null, 2));
  finalNote(incompleteSentence(results), notStarted, opts.json);
  if (opts.trail) writeTrail(opts.trail, trailOf(results, traceFor, sel.files), opts.json);
  return simulationExitCode(results);
}

function simulationLine(r: ScenarioSimulateResult, strategy: string, shard: Shard | undefined): string {
  const verdict = r.verdict === 'incomplete' ? `incomplete (${r.stopReason})` : r.verdict;
  const runs = r.runs === r.runsRequested ? `${r.runs}` : `${r.runs} of ${r.runsRequested}`;
  const cut = r.truncatedRuns ? ` (${r.truncatedRuns} cut off at ${r.maxSteps} steps)` : '';
  const head = `${r.scenario}/${r.variant}: ${verdict} — ${runs} ${strategy} runs${cut}, ${r.steps} steps, ${r.states} distinct states${shard ? ` (shard ${formatShard(shard)})` : ''}`;
  return r.violation ? `${head}\n  ${r.violation.property}: ${r.violation.message}\n  schedule: ${r.schedule}` : head;
}
