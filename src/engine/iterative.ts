/**
 * Iterative preemption bounding: when an exhaustive search is out of reach — a limit on states,
 * time or memory stopped it — search again with at most 0, 1, 2, … preemptions (CHESS: most
 * concurrency bugs need one or two) under the same limits, and report the largest bound searched
 * completely: "complete for every schedule with at most k preemptions". A bounded search that finds
 * a violation has found a real one (its schedule replays), and ends the iteration; one that cut no
 * transition off has searched every schedule, so a larger bound would add nothing.
 */
import type { World } from '../world/world.js';
import { explore, type ExploreOptions, type ExploreResult, type StopReason } from './exhaustive.js';

/** How far the bounded searches got. */
export interface BoundedCoverage {
  /** Every schedule with at most this many preemptions was searched (-1: not even with none). */
  readonly preemptions: number;
  /** The last complete bounded search's figures. */
  readonly states: number;
  readonly transitions: number;
  /** Whether that search cut no transition off: every schedule was searched (the termination check aside). */
  readonly everySchedule: boolean;
  /** Why the search with one more preemption did not finish (absent when `everySchedule` or a violation ended it). */
  readonly stopReason?: StopReason;
  /** The bound under which a violation was found, if one was. */
  readonly violationAt?: number;
  /** Time spent in the bounded searches. */
  readonly elapsedMs: number;
}

/** The limits that leave something to try: a stop request does not. */
export function outOfReach(r: ExploreResult): boolean {
  return r.verdict === 'incomplete' && (r.stopReason === 'max-states' || r.stopReason === 'time' || r.stopReason === 'memory');
}

/**
 * Bounded searches of `w` with 0, 1, 2, … preemptions under `opts`'s limits (its time limit is for
 * all of them together), each run by `search` (the one-thread search, or one on worker threads). Returns
 * the coverage, and the bounded search's result if it found a violation.
 */
export function iteratePreemptions(w: World, opts: ExploreOptions, search: (w: World, opts: ExploreOptions) => ExploreResult = explore): { coverage: BoundedCoverage; violation?: ExploreResult } {
  const t0 = performance.now();
  const deadline = opts.timeLimitMs === undefined ? Number.POSITIVE_INFINITY : t0 + opts.timeLimitMs;
  let last: ExploreResult | undefined;
  for (let k = 0; ; k++) {
    const timeLimitMs = deadline === Number.POSITIVE_INFINITY ? undefined : Math.max(0, deadline - performance.now());
    const r = search(w, { ...opts, preemptions: k, timeLimitMs });
    const coverage = (extra: Partial<BoundedCoverage>): BoundedCoverage => ({
      preemptions: k - 1,
      states: last?.states ?? 0,
      transitions: last?.transitions ?? 0,
      everySchedule: false,
      elapsedMs: performance.now() - t0,
      ...extra,
    });
    if (r.verdict === 'violation') return { coverage: coverage({ violationAt: k }), violation: r };
    if (r.stopReason !== 'preemption-bound') return { coverage: coverage({ stopReason: r.stopReason }) };
    last = r;
    if (r.beyondBound === 0) return { coverage: { ...coverage({}), preemptions: k, states: r.states, transitions: r.transitions, everySchedule: true } };
  }
}
