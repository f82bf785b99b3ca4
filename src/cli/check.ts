/**
 * `check` without --simulate: exhaustive search of every selected cell (or this shard's), one cell
 * after the other within one budget (budget.ts); the results as lines, the verdict table, JSON, or a
 * shard document for `merge`. A run that is stopped (a limit, Ctrl-C) prints what it covered, says
 * what did not finish, and exits 3.
 */
import { checkOne, type CheckOptions, type CheckResult } from '../check/run.js';
import { cellName, formatShard, shardCells, type CatalogueShardResult, type CellResult, type Shard } from '../check/shard.js';
import { bfs } from '../engine/bfs.js';
import { dfs } from '../engine/dfs.js';
import { resultLine, verdictTable } from '../report/text.js';
import { Budget, type RunContext } from './budget.js';
import { fail } from './exit.js';
import { exitCodeOf, incompleteSentence, whyStopped } from './outcome.js';
import { ProgressLine } from './progress.js';
import { checkReportPath, tracesOf, withTraces, writeReports } from './reports.js';
import type { Selection } from './selection.js';
import { tableExpectations } from '../check/run.js';
import { judgedLine, judgeExpectations } from '../check/expect.js';
import { parallelUnsupported } from '../engine/parallel.js';
import type { BoundedCoverage } from '../engine/iterative.js';
import { cellSource, parallelCell } from './parallel-cell.js';
import { unknownDomain } from '../engine/counters.js';

export interface ExhaustiveCliOptions {
  shard?: Shard;
  maxStates?: number;
  maxMemory?: number;
  timeLimit?: number;
  dfs?: boolean;
  bfs?: boolean;
  por?: boolean;
  json?: boolean;
  html?: string;
  junit?: string;
  preemptions?: number;
  shrink?: boolean;
  lockOrder?: boolean;
  exact?: boolean;
  abstractCounters?: boolean;
  concreteCounters?: string[];
  symmetry?: boolean;
  trail?: string;
  maxViolations?: number;
  allViolations?: boolean;
  workers?: number;
  iteratePreemptions?: boolean;
  driver?: string[];
  era?: string;
}

export function checkExhaustive(sel: Selection, opts: ExhaustiveCliOptions, ctx: RunContext): number {
  if (opts.dfs && opts.bfs) fail('--bfs and --dfs exclude each other');
  if (opts.shard && (opts.html || opts.junit)) fail('--html and --junit need the whole run: write them from `merge` output instead of a shard');
  checkReportPath('--html', opts.html);
  checkReportPath('--junit', opts.junit);
  checkReportPath('--trail', opts.trail);
  if (opts.maxViolations !== undefined && opts.allViolations) fail('--max-violations and --all-violations exclude each other');
  if (opts.concreteCounters && !opts.abstractCounters) fail('--concrete-counters names the exceptions to --abstract-counters: give both');
  const unknownCounter = unknownDomain(opts.concreteCounters ?? []);
  if (unknownCounter) fail(`--concrete-counters: ${unknownCounter}`);
  if (opts.iteratePreemptions && opts.preemptions !== undefined) fail('--iterate-preemptions and --preemptions exclude each other: the first chooses the bounds itself');
  const cells = opts.shard ? shardCells(sel.cells, opts.shard) : sel.cells;
  if (!cells.length) fail(`shard ${formatShard(opts.shard!)} has no cell: ${sel.cells.length} cells split ${opts.shard!.count} ways; use at most ${sel.cells.length} shards`);
  const budget = new Budget(opts.timeLimit, ctx.shouldStop);
  const progress = ctx.progress && !opts.json ? new ProgressLine() : undefined;
  const base: CheckOptions = {
    maxStates: opts.maxStates,
    maxMemoryBytes: opts.maxMemory,
    strategy: opts.dfs ? dfs : bfs,
    merge: opts.por !== false,
    preemptions: opts.preemptions,
    iteratePreemptions: opts.iteratePreemptions,
    lockOrder: opts.lockOrder,
    exact: opts.exact,
    counters: opts.abstractCounters ? { concrete: opts.concreteCounters } : undefined,
    symmetry: opts.symmetry,
    maxViolations: opts.allViolations ? Number.POSITIVE_INFINITY : opts.maxViolations,
    // Shrinking costs replays; the table prints shortest schedules only.
    shrink: opts.shrink !== false && !sel.table,
    shouldStop: budget.shouldStop,
  };
  const workers = opts.workers ?? 1;
  const alone = workers > 1 ? parallelUnsupported(base) : undefined;
  if (alone) fail(`--workers ${workers}: ${alone} runs on one thread only`);
  const lines = !opts.json && (!sel.table || opts.shard !== undefined);
  const results: CheckResult[] = [];
  let notStarted = 0;
  for (const c of cells) {
    // After a stop every cell still runs, to its first state: the results name every cell, incomplete.
    const late = budget.spent() !== undefined;
    if (progress) progress.cell = cellName(c);
    const parallel = workers > 1 ? parallelCell(workers, cellSource(c, sel.files, opts.driver, opts.era)) : undefined;
    const r = checkOne(c.scenario, c.variant, { ...base, parallel, timeLimitMs: budget.remainingMs(), onProgress: progress && ((p) => progress.show(p)) });
    progress?.clear();
    results.push(r);
    if (late) notStarted++;
    else if (lines) {
      console.log(resultLine(r));
      if (r.bounded) console.log(boundedLine(r.bounded));
    }
  }
  const note = incompleteSentence(results);
  if (opts.shard) {
    const mine: CellResult[] = results.map((r, i) => ({ ...r, cell: cells[i].index }));
    const doc: CatalogueShardResult = { kind: 'catalogue', shard: { ...opts.shard }, cellsTotal: sel.cells.length, cellNames: sel.cells.map(cellName), table: sel.table, cells: mine };
    if (opts.json) console.log(JSON.stringify(doc, null, 2));
    finalNote(note, notStarted, opts.json);
    return exitCodeOf(results, sel.table ? 'table-shard' : 'cells');
  }
  const traceFor = tracesOf(sel.scenarios);
  // The scenario files' expectations, judged on the trace the reports show (the shrunk one).
  const expected = judgeExpectations(sel.expectations, results, traceFor);
  const withExpected = (o: object, i: number) => (expected.cells.has(results[i]) ? { ...o, expected: expected.cells.get(results[i]) } : o);
  if (opts.json) console.log(JSON.stringify(withTraces(results, traceFor).map(withExpected), null, 2));
  else if (sel.table) {
    console.log(verdictTable(results));
    for (const p of tableExpectations(results).problems) console.log(`UNEXPECTED: ${p}`);
  }
  if (!opts.json) for (const [r, j] of expected.cells) console.log(judgedLine(r, j));
  finalNote(note, notStarted, opts.json);
  writeReports(results, traceFor, opts, sel, expected.cells);
  return exitCodeOf(results, sel.table ? 'table' : 'cells', expected);
}

/** How far the bounded searches after a limit got (check --iterate-preemptions). */
export function boundedLine(b: BoundedCoverage): string {
  const covered =
    b.preemptions < 0
      ? 'not complete even for the schedules without preemption'
      : `complete for every schedule with at most ${b.preemptions} preemption${b.preemptions === 1 ? '' : 's'} (${b.states} states, ${b.transitions} transitions)`;
  const then =
    b.violationAt !== undefined
      ? `; a violation with at most ${b.violationAt}`
      : b.everySchedule
        ? ': no schedule needs more (the termination check aside, which needs the unbounded search)'
        : `; with ${b.preemptions + 1}: ${whyStopped(b.stopReason!)}`;
  return `  bounded: ${covered}${then} (${(b.elapsedMs / 1000).toFixed(2)} s)`;
}

/** The sentence that says what did not finish: after the results, on stderr with --json (stdout stays JSON). */
export function finalNote(note: string | undefined, notStarted: number, json: boolean | undefined): void {
  if (!note) return;
  const text = notStarted ? `${note} (${notStarted} of them not started)` : note;
  if (json) process.stderr.write(`vmamirror: ${text}\n`);
  else console.log(text);
}

export type { CheckResult };
