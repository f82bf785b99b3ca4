/**
 * Expected outcomes written in a scenario file (`expect:`), judged against what `check` found:
 * per cell (scenario × design), the verdict (`holds` or the check that must fail), a substring of
 * its message, and a pattern — an ordered list of steps that the counterexample's trace (the
 * shrunk one when there is one: what the reports show) must contain in that order, other steps
 * between them allowed. The judgement has the shape of the catalogue table's (`tableExpectations`):
 * problems (an expectation that definitely failed) and undecided ones (the cell did not finish),
 * so that one exit-code rule (src/cli/outcome.ts) serves both.
 */
import type { CheckResult } from './run.js';
import type { Trace } from '../report/trace.js';

/** One element of a pattern: `actor:routine:label`, `actor:routine`, `routine:label` or `routine`. */
export interface PatternStep {
  /** As written. */
  readonly text: string;
  readonly actor?: string;
  readonly routine: string;
  readonly label?: string;
}

export interface Expectation {
  readonly scenario: string;
  /** The design (built-in variant or driver) by name. */
  readonly variant: string;
  /** `holds`, or the name of the check that must report the violation (`refinement`, `kernel-bug`, …). */
  readonly verdict: string;
  /** A substring the violation's message must contain. */
  readonly message?: string;
  readonly pattern?: readonly PatternStep[];
  /** Where it is written, for messages: `file:line: expect[2]`. */
  readonly source: string;
}

/** What every expectation source gives (the catalogue table's too): the failed ones and the open ones. */
export interface Judgement {
  readonly ok: boolean;
  readonly problems: string[];
  readonly undecided: string[];
}

/** The verdict an expectation of a design that must not fail names. */
export const HOLDS = 'holds';

/** A pattern element's parts (`a:b:c` → 3 names), or what is wrong with it; which part is what needs the model (src/scenario/expect.ts). */
export function patternParts(text: string): string[] | string {
  const parts = text.split(':');
  const form = 'expected actor:routine:label, actor:routine, routine:label or routine';
  if (parts.length > 3) return `${form} (at most two colons)`;
  if (parts.some((p) => !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(p))) return `${form}, each a name`;
  return parts;
}

/** Whether trace step `s` (a step that ran: not an attempt that blocked) is an instance of `p`. */
function matches(p: PatternStep, s: Trace['steps'][number]): boolean {
  if (s.outcome === 'sleep' || s.outcome === 'spin') return false;
  if (p.actor !== undefined && s.actor !== p.actor) return false;
  return p.label !== undefined ? s.where === `${p.routine}:${p.label}` : s.where.startsWith(`${p.routine}:`);
}

/**
 * Matches `pattern` as an ordered subsequence of the trace's steps (each element at the first step
 * after the previous element's that it matches: if any placement exists, this one does). Returns
 * undefined when every element is found, else a sentence naming the first element not found.
 */
export function patternMismatch(pattern: readonly PatternStep[], trace: Trace): string | undefined {
  let at = 0;
  for (const [i, p] of pattern.entries()) {
    const found = trace.steps.findIndex((s, k) => k >= at && matches(p, s));
    if (found < 0) {
      const after = at > 0 ? ` after step ${at - 1} (${trace.steps[at - 1].actor} ${trace.steps[at - 1].where})` : '';
      return `pattern[${i}] "${p.text}" is not in the trace${after}`;
    }
    at = found + 1;
  }
  return undefined;
}

export type CellOutcome = { readonly status: 'met' | 'failed' | 'undecided'; readonly note: string };

/** A result's verdict in an expectation's words: `holds`, the check that failed, or `incomplete`. */
function found(r: Pick<CheckResult, 'verdict' | 'violation'>): string {
  return r.verdict === 'violation' ? r.violation!.property : r.verdict;
}

/** Judges one cell against its expectation; `trace` is its counterexample's (needed for a pattern). */
export function judgeCell(e: Expectation, r: Pick<CheckResult, 'verdict' | 'violation' | 'stopReason'>, trace: Trace | undefined): CellOutcome {
  if (r.verdict === 'incomplete') return { status: 'undecided', note: `expected ${e.verdict}; the check did not finish (${r.stopReason ?? 'incomplete'})` };
  const got = found(r);
  const message = r.violation ? `: ${r.violation.message}` : '';
  if (got !== e.verdict) return { status: 'failed', note: `expected ${e.verdict}, found ${got}${message}` };
  if (e.verdict === HOLDS) return { status: 'met', note: HOLDS };
  if (e.message !== undefined && !r.violation!.message.includes(e.message)) {
    return { status: 'failed', note: `${got} as expected, but its message does not contain ${JSON.stringify(e.message)}${message}` };
  }
  if (e.pattern) {
    if (!trace || trace.replayError)
      return { status: 'failed', note: `${got} as expected, but its trace could not be replayed to match the pattern${trace?.replayError ? `: ${trace.replayError}` : ''}` };
    const miss = patternMismatch(e.pattern, trace);
    if (miss) return { status: 'failed', note: `${got} as expected, but the trace (${trace.schedule}) does not follow the pattern: ${miss}` };
    return { status: 'met', note: `${got}, the trace follows the pattern (${e.pattern.length} steps)` };
  }
  return { status: 'met', note: got };
}

/** The expectation a result is judged by, if the scenario file wrote one for its cell. */
export function expectationOf(expectations: readonly Expectation[], r: Pick<CheckResult, 'scenario' | 'variant'>): Expectation | undefined {
  return expectations.find((e) => e.scenario === r.scenario && e.variant === r.variant);
}

/** How a cell compares with its expectation, in the words `check` prints. */
export interface JudgedCell {
  readonly status: 'as expected' | 'UNEXPECTED' | 'undecided';
  /** Where the expectation is written: `file:line: expect[2]`. */
  readonly source: string;
  readonly note: string;
}

/** The line `check` prints for a judged cell. */
export function judgedLine(r: Pick<CheckResult, 'scenario' | 'variant'>, j: JudgedCell): string {
  return `${j.status}: ${r.scenario}/${r.variant} (${j.source}): ${j.note}`;
}

/** A judgement of the cells that have an expectation, each judged cell's outcome by its result. */
export interface CellsJudgement extends Judgement {
  readonly cells: ReadonlyMap<CheckResult, JudgedCell>;
}

/** A cell outcome in the words `check` prints (JudgedCell.status). */
export const STATUS = { met: 'as expected', failed: 'UNEXPECTED', undecided: 'undecided' } as const;

/** Judges every result that has an expectation. */
export function judgeExpectations(expectations: readonly Expectation[], results: readonly CheckResult[], traceFor: (r: CheckResult) => Trace | undefined): CellsJudgement {
  const problems: string[] = [];
  const undecided: string[] = [];
  const cells = new Map<CheckResult, JudgedCell>();
  for (const r of results) {
    const e = expectationOf(expectations, r);
    if (!e) continue;
    const o = judgeCell(e, r, e.pattern && r.violation ? traceFor(r) : undefined);
    const judged: JudgedCell = { status: STATUS[o.status], source: e.source, note: o.note };
    const what = `${r.scenario}/${r.variant} (${e.source}): ${o.note}`;
    if (o.status === 'failed') problems.push(what);
    if (o.status === 'undecided') undecided.push(what);
    cells.set(r, judged);
  }
  return { ok: !problems.length && !undecided.length, problems, undecided, cells };
}
