/**
 * Replaying a schedule: the walk strategy that follows a given list of actor choices from the
 * initial state, judging every step with the verdicts (verdict.ts) exactly as the explorer does —
 * a BUG raised by the step, then the properties, then termination (termination.ts); a deadlock
 * when the schedule ends with no actor able to step. Strict replays throw ScheduleError on an entry
 * whose actor is finished or blocked (except a blocked attempt that raises a BUG: a counterexample
 * may end with one); lenient replays ("repair") skip such entries, which is what shrinking needs.
 */
import { BLOCK_SLEEP, BLOCK_SPIN } from '../world/routine.js';
import { execStep, isEnabled, ScheduleError } from '../world/runner.js';
import type { World } from '../world/world.js';
import { verdictsOf, type CheckSelection, type Found, type Verdicts } from './verdict.js';
import { CycleWatch } from './termination.js';
import { entryActor, entryChoice, entryOf } from '../world/entry.js';

/** What a replay checks: the model's properties, deadlock at the end, termination (all on by default but the properties). */
export type ReplayOptions = CheckSelection;

/** One replay of a (possibly repaired) schedule. */
export interface Replay {
  /** The effective schedule: the entries that executed, up to and including the first violation. */
  readonly schedule: readonly number[];
  /** The first violation, if any; it is at the last entry of `schedule` (or the initial state if it is empty). */
  readonly found?: Found;
  readonly preemptions: number;
  /** Distinct actors that took a step. */
  readonly actors: number;
  readonly steps: number;
  /** The last entry is a blocked attempt that raised a kernel BUG (it changed no state). */
  readonly endsInBlockedAttempt: boolean;
  /** Entries of the input that were skipped because their actor was finished or blocked. */
  readonly skipped: number;
}

/** A schedule entry meaning "run actor a until it blocks, finishes or repeats a state" (each step checked); shrinking's candidates use it. */
export const untilStuck = (a: number): number => -1 - a;
const RUN_LIMIT = 10_000;

/**
 * Replays `entries` from `initial` on `w` (the state is left at the end of the replay), asking
 * `verdicts` after every step exactly as the explorer does. Lenient: entries of finished or
 * blocked actors are skipped; strict: they throw ScheduleError. Stops at the first violation.
 */
export function replayFrom(w: World, initial: Int32Array, entries: readonly number[], verdicts: Verdicts | undefined, strict: boolean): Replay {
  w.load(initial.slice());
  w.clearBugs();
  const eff: number[] = [];
  let preemptions = 0;
  let prev = -1;
  let skipped = 0;
  let blockedEnd = false;
  const n = w.layout.actorNames.length;
  const cycles = verdicts?.terminationOn ? new CycleWatch(w, verdicts.counters) : undefined;
  let found: Found | undefined = verdicts?.state(w) ?? cycles?.observe(w);

  /** One entry (actor `a`, alternative `c` if its step branches): true if it executed (or raised a BUG while blocked). */
  const step = (e: number, index: number): boolean => {
    const a = entryActor(e);
    const c = entryChoice(e);
    if (a < 0 || a >= n) throw new ScheduleError(`entry ${index}: no actor ${a}`);
    if (w.actorSp(a) === 0) {
      if (strict) throw new ScheduleError(`entry ${index}: actor ${w.layout.actorNames[a]} has finished`);
      skipped++;
      return false;
    }
    // Decided before the step: was the previous actor still able to run when we switched away?
    const preempts = prev >= 0 && prev !== a && isEnabled(w, prev);
    w.choice = c;
    let r: number;
    try {
      r = execStep(w, a);
    } finally {
      w.choice = 0;
    }
    if (c > 0 && w.choices <= 1 && strict) throw new ScheduleError(`entry ${index}: the step of actor ${w.layout.actorNames[a]} does not branch, so it has no alternative ${c}`);
    const taken = entryOf(a, w.choices > 1 ? w.chosen : 0);
    if (r === BLOCK_SLEEP || r === BLOCK_SPIN) {
      if (verdicts?.raised(w)) {
        eff.push(taken);
        if (preempts) preemptions++;
        prev = a;
        blockedEnd = true;
        found = verdicts.bug(w);
        return true;
      }
      if (strict) throw new ScheduleError(`entry ${index}: actor ${w.layout.actorNames[a]} is blocked`);
      skipped++;
      return false;
    }
    eff.push(taken);
    if (preempts) preemptions++;
    prev = a;
    cycles?.step(a, entryChoice(taken));
    found = verdicts?.afterStep(w) ?? cycles?.observe(w);
    return true;
  };

  for (let i = 0; i < entries.length && !found; i++) {
    const e = entries[i];
    if (e >= 0) {
      step(e, i);
      continue;
    }
    const a = -1 - e;
    // Until it blocks or finishes; an actor that spins by retrying (a state seen before in this
    // run) is stuck too: running it further would only repeat the cycle.
    const states = new Set<string>();
    for (let k = 0; !found && k < RUN_LIMIT; k++) {
      if (w.actorSp(a) === 0) break;
      const key = `${w.v[0]},${w.v[1]}`;
      if (states.has(key)) break;
      states.add(key);
      const before = skipped;
      if (!step(a, i)) {
        skipped = before; // running until stuck ends here; that is not a skipped entry
        break;
      }
    }
  }
  if (!found && verdicts?.deadlockOn) {
    let unfinished = 0;
    let enabled = 0;
    for (let a = 0; a < n; a++) {
      if (w.actorSp(a) === 0) continue;
      unfinished++;
      if (isEnabled(w, a)) enabled++;
    }
    if (enabled === 0) found = verdicts.deadlock(unfinished, w);
  }
  return {
    schedule: eff,
    found,
    preemptions,
    actors: new Set(eff.map(entryActor)).size,
    steps: eff.length,
    endsInBlockedAttempt: blockedEnd,
    skipped,
  };
}

/**
 * Replays `schedule` from `w`'s current state and restores it afterwards: the one wrapper of the
 * public replays below. Negative entries are internal (shrinking's "run until stuck"), so they are
 * refused here.
 */
function replayRestoring(w: World, schedule: readonly number[], verdicts: Verdicts | undefined, strict: boolean): Replay {
  const initial = w.snapshot();
  try {
    for (const a of schedule) if (!Number.isInteger(a) || a < 0) throw new ScheduleError(`no actor ${a}`);
    return replayFrom(w, initial, schedule, verdicts, strict);
  } finally {
    w.load(initial);
    w.clearBugs();
  }
}

/**
 * Replays `schedule` leniently (entries of finished or blocked actors are skipped) from `w`'s
 * current state, stopping at the first violation; `w` is restored afterwards.
 */
export function replayRepaired(w: World, schedule: readonly number[], opts: ReplayOptions = {}): Replay {
  return replayRestoring(w, schedule, verdictsOf(opts), false);
}

/**
 * The verdict of a whole schedule from `w`'s current state, as the explorer would give it: the
 * first BUG or failing property along it, a deadlock where it ends with nobody able to step, a
 * fair cycle it closes (termination). Strict: throws ScheduleError on an entry that cannot run.
 * `w` is restored afterwards.
 */
export function judgeSchedule(w: World, schedule: readonly number[], opts: ReplayOptions = {}): Found | undefined {
  return replayRestoring(w, schedule, verdictsOf(opts), true).found;
}

/**
 * The number of preemptions of `schedule` from `w`'s current state (`w` is restored afterwards): the
 * steps whose actor differs from the previous step's while that previous actor was not finished
 * and not blocked. Strict: throws ScheduleError if an entry's actor is finished or blocked, except
 * for a blocked attempt that raises a kernel BUG (it changes nothing; a BFS counterexample can end
 * with one; counting stops there). Properties are not checked: every other entry is counted.
 */
export function countPreemptions(w: World, schedule: readonly number[]): number {
  return replayRestoring(w, schedule, undefined, true).preemptions;
}
