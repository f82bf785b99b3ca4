/**
 * From results to the exit code, and the sentence that says why a run is incomplete: the same rules
 * for `check`, its shards and `merge`, so that a merged split exits as the unsharded check would.
 */
import { expectedViolation, tableExpectations, type CheckResult } from '../check/run.js';
import type { CellsJudgement } from '../check/expect.js';
import { EXIT_HOLDS, EXIT_INCOMPLETE, EXIT_VIOLATION } from './exit.js';

interface Judged {
  readonly scenario: string;
  readonly variant: string;
  readonly verdict: string;
  readonly stopReason?: string;
  /** A stopped breadth-first search: the runs it covered (exhaustive.ts `completeDepth`). */
  readonly completeDepth?: number;
}

/**
 * The exit code of exhaustive results. The table (the whole catalogue): 1 when an expectation
 * failed (the corrected design violated, a broken one caught nowhere); a shard of the table sees
 * only some cells, so only a violated corrected design fails it. Otherwise: 1 on a violation. Then
 * 3 if any cell is incomplete, else 0. `expected`: the judgement of the cells a scenario file states
 * an outcome for (src/check/expect.ts) — those count by it, as the table's cells count by the
 * table's: 1 if one failed, 3 if one is undecided.
 */
export function exitCodeOf(results: readonly CheckResult[], mode: 'table' | 'table-shard' | 'cells', expected?: CellsJudgement): number {
  if (mode === 'table') {
    if (tableExpectations(results).problems.length) return EXIT_VIOLATION;
  } else if (results.some((r) => r.verdict === 'violation' && !expected?.cells.has(r) && (mode === 'cells' || !expectedViolation(r.variant)))) {
    return EXIT_VIOLATION;
  }
  if (expected?.problems.length) return EXIT_VIOLATION;
  return results.some((r) => r.verdict === 'incomplete') ? EXIT_INCOMPLETE : EXIT_HOLDS;
}

/**
 * The exit code of simulation results: 1 on a violation, 3 if any is incomplete, else 0. `judged`:
 * the cells a scenario file states an expectation for count by it — 1 if one is UNEXPECTED, 3 if
 * one is undecided (a violation found as expected is not a failure).
 */
export function simulationExitCode<R extends Judged>(results: readonly R[], judged?: ReadonlyMap<R, { readonly status: string }>): number {
  const statusOf = (r: R) => judged?.get(r)?.status;
  if (results.some((r) => (statusOf(r) === undefined && r.verdict === 'violation') || statusOf(r) === 'UNEXPECTED')) return EXIT_VIOLATION;
  return results.some((r) => (statusOf(r) === undefined && r.verdict === 'incomplete') || statusOf(r) === 'undecided') ? EXIT_INCOMPLETE : EXIT_HOLDS;
}

const WHY: Record<string, string> = {
  'max-states': 'stopped at --max-states',
  time: 'out of --time-limit',
  memory: 'stopped at --max-memory',
  interrupted: 'interrupted',
  'preemption-bound': 'bounded by --preemptions',
  'max-steps': 'every run cut off at --max-steps',
};

/** Why a run stopped, as the sentences say it ("stopped at --max-states"). */
export function whyStopped(reason: string): string {
  return WHY[reason] ?? reason;
}

/** "incomplete: 3 of 54 checks did not finish (…); nothing is proved for them", or undefined. */
export function incompleteSentence(results: readonly Judged[]): string | undefined {
  const open = results.filter((r) => r.verdict === 'incomplete');
  if (!open.length) return undefined;
  const by = new Map<string, number>();
  for (const r of open) by.set(r.stopReason ?? 'limit', (by.get(r.stopReason ?? 'limit') ?? 0) + 1);
  const why = [...by].map(([k, n]) => `${n} ${WHY[k] ?? k}`).join(', ');
  const names = open.length <= 4 ? `: ${open.map((r) => `${r.scenario}/${r.variant}`).join(', ')}` : '';
  const beyond = open.some((r) => r.completeDepth !== undefined) ? ' beyond the runs each covered (`covered:`)' : '';
  return `incomplete: ${open.length} of ${results.length} checks did not finish (${why})${names}; nothing is proved for them${beyond}`;
}
