/**
 * Shrinking counterexamples for reading. Breadth-first search gives a schedule with the fewest
 * steps, which often switches actors many times; a reader wants one where each actor runs long
 * uninterrupted stretches. `shrinkSchedule` searches, from the BFS schedule, for one that still
 * violates the SAME property and is smaller in this order of priority:
 *
 *   1. preemptions — context switches away from an actor that could still have taken a step (not
 *      finished, not blocked): the switches the interleaving actually chose;
 *   2. actors — how many distinct actors take a step;
 *   3. steps.
 *
 * Method: greedy descent with delta-debugging moves over the schedule viewed as blocks (maximal
 * runs of one actor): keep a prefix of blocks and finish without preemption (each actor in turn
 * runs until it blocks or finishes, in several orders), drop an actor, remove chunks of blocks
 * (halves, quarters, … single blocks), move a block next to an earlier or later block of the same actor (the actor continues instead of
 * being preempted), let an actor run until it blocks or finishes at one of its blocks, and finally
 * drop single steps. The first candidate that is strictly better (lexicographically, by the order
 * above) becomes the current schedule and the moves start again; it stops at a fixpoint or after
 * `maxReplays` candidate replays. Everything is deterministic: the moves are tried in a fixed order
 * and replays are pure functions of the initial state.
 *
 * Candidates are replayed leniently ("repair"): an entry whose actor is finished or blocked is
 * skipped, so a move never has to be exactly right to be tried. The result is the *effective*
 * schedule — the steps that actually executed — cut right after its first violation; it replays
 * strictly with `runSchedule` (one exception, as for BFS counterexamples: a kernel BUG raised by a
 * blocked attempt — sleeping in a non-blockable context — is the last entry, and `runSchedule`
 * reports that attempt as a ScheduleError).
 *
 * "The same property": replaying step by step, the FIRST violation must be of the original's
 * property (kernel BUG, then the properties in their order, after each step — as the explorer
 * checks; `termination` when the lone unfinished actor revisits a state; deadlock when the
 * schedule ends with no actor able to step and some not done). The message may differ (e.g. another pfn) — except for kernel BUGs, which must be the same BUG
 * (messages equal with numbers masked): "kernel-bug" alone would let one BUG be swapped for
 * another (see `sameViolation`; `ShrinkOptions.same` overrides it).
 */
import { BLOCK_SLEEP, BLOCK_SPIN } from '../world/routine.js';
import { execStep, isEnabled, ScheduleError, whereIs, type TraceStep } from '../world/runner.js';
import type { World } from '../world/world.js';
import type { Property } from './explore.js';
import { PROPERTIES } from './properties.js';

/** A violation found while replaying. */
export interface Found {
  readonly property: string;
  readonly message: string;
}

/**
 * Decides whether the state reached by a step violates something. `bugs` are the kernel BUGs the
 * step raised. Called after every executed step and once on the initial state (with no bugs).
 */
export type Detector = (w: World, bugs: readonly string[]) => Found | undefined;

/** The explorer's checks: a kernel BUG raised by the step, then `properties` in order. */
export function propertyDetector(properties: readonly Property[] = PROPERTIES): Detector {
  return (w, bugs) => {
    if (bugs.length) return { property: 'kernel-bug', message: bugs.join('; ') };
    for (const p of properties) {
      const message = p.check(w);
      if (message !== undefined) return { property: p.name, message };
    }
    return undefined;
  };
}

export interface ReplayOptions {
  /** Default: `propertyDetector(PROPERTIES)`. */
  readonly detect?: Detector;
  /** Report a deadlock when the schedule ends with no actor able to step and some not done (default true). */
  readonly deadlock?: boolean;
  /**
   * Report `termination` (default true), as the explorer does: once exactly one actor is
   * unfinished, it runs alone and must not revisit a state (nor run LONE_BOUND steps alone).
   */
  readonly liveness?: boolean;
}

/** The explorer's bound on a lone actor's steps (SoloTermination.BOUND). */
const LONE_BOUND = 20_000;

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

/** In a candidate: "run actor a until it blocks, finishes or repeats a state" (each step checked). Internal. */
const untilStuck = (a: number): number => -1 - a;
const RUN_LIMIT = 10_000;

/**
 * Replays `entries` from `initial` on `w` (the state is left at the end of the replay). Lenient:
 * entries of finished or blocked actors are skipped; strict: they throw ScheduleError. Stops at the
 * first violation.
 */
interface Checks {
  readonly detect: Detector;
  readonly deadlock: boolean;
  readonly liveness: boolean;
}

const checksOf = (opts: ReplayOptions): Checks => ({
  detect: opts.detect ?? propertyDetector(),
  deadlock: opts.deadlock ?? true,
  liveness: opts.liveness ?? true,
});

const NO_CHECKS: Checks = { detect: () => undefined, deadlock: false, liveness: false };

function replayFrom(w: World, initial: Int32Array, entries: readonly number[], checks: Checks, strict: boolean): Replay {
  const { detect, deadlock, liveness } = checks;
  w.load(initial.slice());
  w.bugs.length = 0;
  const eff: number[] = [];
  let preemptions = 0;
  let prev = -1;
  let skipped = 0;
  let blockedEnd = false;
  let found = detect(w, []);
  const n = w.layout.actorNames.length;
  // Termination: the states seen since `lone` became the only unfinished actor.
  let lone = -1;
  let aloneSeen = new Set<string>();
  const checkAlone = (): void => {
    let only = -1;
    for (let a = 0; a < n; a++) {
      if (w.actorSp(a) === 0) continue;
      if (only >= 0) {
        lone = -1;
        return;
      }
      only = a;
    }
    if (only < 0) {
      lone = -1;
      return;
    }
    if (only !== lone) {
      lone = only;
      aloneSeen = new Set();
    }
    const key = `${w.v[0]},${w.v[1]}`;
    const name = w.layout.actorNames[lone];
    if (aloneSeen.has(key)) found = { property: 'termination', message: `${name} loops forever alone at ${whereIs(w, lone)}: every other actor has finished` };
    else if (aloneSeen.size > LONE_BOUND) found = { property: 'termination', message: `${name} runs ${LONE_BOUND} steps alone without finishing` };
    aloneSeen.add(key);
  };
  if (liveness && !found) checkAlone();

  /** One entry of actor `a`: true if it executed (or raised a BUG while blocked). */
  const step = (a: number, index: number): boolean => {
    if (a < 0 || a >= n) throw new ScheduleError(`entry ${index}: no actor ${a}`);
    if (w.actorSp(a) === 0) {
      if (strict) throw new ScheduleError(`entry ${index}: actor ${w.layout.actorNames[a]} has finished`);
      skipped++;
      return false;
    }
    // Decided before the step: was the previous actor still able to run when we switched away?
    const preempts = prev >= 0 && prev !== a && isEnabled(w, prev);
    const r = execStep(w, a);
    if (r === BLOCK_SLEEP || r === BLOCK_SPIN) {
      if (w.bugs.length) {
        eff.push(a);
        if (preempts) preemptions++;
        prev = a;
        blockedEnd = true;
        found = { property: 'kernel-bug', message: w.bugs.join('; ') };
        return true;
      }
      if (strict) throw new ScheduleError(`entry ${index}: actor ${w.layout.actorNames[a]} is blocked`);
      skipped++;
      return false;
    }
    eff.push(a);
    if (preempts) preemptions++;
    prev = a;
    found = detect(w, w.bugs);
    if (liveness && !found) checkAlone();
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
  if (!found && deadlock) {
    let unfinished = 0;
    let enabled = 0;
    for (let a = 0; a < n; a++) {
      if (w.actorSp(a) === 0) continue;
      unfinished++;
      if (isEnabled(w, a)) enabled++;
    }
    if (unfinished > 0 && enabled === 0) found = { property: 'deadlock', message: `no actor can step; ${unfinished} not done` };
  }
  return {
    schedule: eff,
    found,
    preemptions,
    actors: new Set(eff).size,
    steps: eff.length,
    endsInBlockedAttempt: blockedEnd,
    skipped,
  };
}

/**
 * Replays `schedule` leniently (entries of finished or blocked actors are skipped) from `w`'s
 * current state, stopping at the first violation; `w` is restored afterwards.
 */
export function replayRepaired(w: World, schedule: readonly number[], opts: ReplayOptions = {}): Replay {
  const initial = w.snapshot();
  try {
    for (const a of schedule) if (!Number.isInteger(a) || a < 0) throw new ScheduleError(`no actor ${a}`);
    return replayFrom(w, initial, schedule, checksOf(opts), false);
  } finally {
    w.load(initial);
    w.bugs.length = 0;
  }
}

/**
 * The number of preemptions of `schedule` from `w`'s current state (`w` is restored afterwards): the
 * steps whose actor differs from the previous step's while that previous actor was not finished
 * and not blocked. Strict: throws ScheduleError if an entry's actor is finished or blocked, except
 * for a blocked attempt that raises a kernel BUG (it changes nothing; a BFS counterexample can end
 * with one; counting stops there). Properties are not checked: every other entry is counted.
 */
export function countPreemptions(w: World, schedule: readonly number[]): number {
  const initial = w.snapshot();
  try {
    for (const a of schedule) if (!Number.isInteger(a) || a < 0) throw new ScheduleError(`no actor ${a}`);
    return replayFrom(w, initial, schedule, NO_CHECKS, true).preemptions;
  } finally {
    w.load(initial);
    w.bugs.length = 0;
  }
}

/**
 * Whether a candidate's first violation counts as the original's. Default (`sameViolation`): the
 * same property; for `kernel-bug`, also the same BUG — the messages equal once numbers are masked
 * (`hmm_range_register: range 1 is already on a list` ≠ `hmm_range_snapshot on range 1, which is
 * not registered`, but the range number may differ).
 */
export type SameViolation = (original: Found, candidate: Found) => boolean;

const maskNumbers = (m: string) => m.replace(/\d+/g, '#');

export const sameViolation: SameViolation = (o, c) =>
  o.property === c.property && (o.property !== 'kernel-bug' || maskNumbers(o.message) === maskNumbers(c.message));

export interface ShrinkOptions extends ReplayOptions {
  /** The property the result must violate first; default: the original schedule's first violation. */
  readonly property?: string;
  /** Default `sameViolation`. */
  readonly same?: SameViolation;
  /** Candidate replays before giving up on further improvement (default 20000). */
  readonly maxReplays?: number;
}

export interface Measure {
  readonly preemptions: number;
  readonly actors: number;
  readonly steps: number;
}

export interface ShrinkResult extends Measure {
  /** The shrunk (effective) schedule: replays to a first violation of `property` at its last step. */
  readonly schedule: readonly number[];
  readonly property: string;
  /** The violation message at the end of the shrunk schedule. */
  readonly message: string;
  /** The original schedule (cut after its first violation), measured the same way. */
  readonly original: Measure & { readonly schedule: readonly number[] };
  /** Candidate schedules replayed. */
  readonly replays: number;
  /** Improvements accepted. */
  readonly rounds: number;
  readonly endsInBlockedAttempt: boolean;
}

/** A maximal run of one actor. */
export interface Block {
  readonly actor: number;
  readonly start: number;
  readonly len: number;
}

export function blocksOf(schedule: readonly number[]): Block[] {
  const out: Block[] = [];
  for (let i = 0; i < schedule.length; ) {
    let j = i;
    while (j < schedule.length && schedule[j] === schedule[i]) j++;
    out.push({ actor: schedule[i], start: i, len: j - i });
    i = j;
  }
  return out;
}

const better = (a: Measure, b: Measure): boolean =>
  a.preemptions !== b.preemptions ? a.preemptions < b.preemptions : a.actors !== b.actors ? a.actors < b.actors : a.steps < b.steps;

/** Every ordering of `xs` (lexicographic by position), or only its rotations when there are more than `maxAll`. */
function orderings(xs: readonly number[], maxAll = 5): number[][] {
  if (xs.length > maxAll) return xs.map((_, i) => [...xs.slice(i), ...xs.slice(0, i)]);
  if (xs.length <= 1) return [[...xs]];
  const out: number[][] = [];
  xs.forEach((x, i) => {
    for (const rest of orderings([...xs.slice(0, i), ...xs.slice(i + 1)], maxAll)) out.push([x, ...rest]);
  });
  return out;
}

/** The candidate moves from schedule `s` of a world with `nActors` actors, in the order they are tried (lazily). */
function* candidates(s: readonly number[], nActors: number): Generator<number[]> {
  const B = blocksOf(s);
  const flat = (bs: readonly (readonly number[])[]): number[] => bs.flat();
  const blockSteps = B.map((b) => s.slice(b.start, b.start + b.len));

  // 0. Keep blocks 0..i-1, then finish without preemption: each actor in turn runs until it blocks
  //    or finishes, round-robin (nActors rounds) in a fixed order. The orders tried: the remaining
  //    schedule's actors in order of appearance, then the others; then every ordering (rotations
  //    only beyond 5 actors). Shortest prefix first, so fully non-preemptive schedules come first.
  for (let i = 0; i <= B.length; i++) {
    const prefix = flat(blockSteps.slice(0, i));
    const seen = new Set<number>();
    for (const b of B.slice(i)) seen.add(b.actor);
    for (let a = 0; a < nActors; a++) seen.add(a);
    const natural = [...seen];
    const key = (o: readonly number[]) => o.join(',');
    const orders = [natural, ...orderings(natural).filter((o) => key(o) !== key(natural))];
    for (const order of orders) {
      const tail: number[] = [];
      for (let round = 0; round < nActors; round++) for (const a of order) tail.push(untilStuck(a));
      yield [...prefix, ...tail];
    }
  }

  // 1. Drop an actor entirely (fewer actors), in order of first appearance.
  const actors = [...new Set(s)];
  for (const x of actors) yield s.filter((a) => a !== x);

  // 2. Remove chunks of consecutive blocks: halves, quarters, …, single blocks (ddmin's complements).
  for (let n = Math.max(1, Math.floor(B.length / 2)); n >= 1; n = n === 1 ? 0 : Math.max(1, Math.floor(n / 2))) {
    for (let i = 0; i + n <= B.length; i++) yield flat([...blockSteps.slice(0, i), ...blockSteps.slice(i + n)]);
  }

  // 3. Merge two blocks of one actor: pull the later one up to the earlier, or push the earlier down.
  for (let i = 0; i < B.length; i++) {
    for (let j = i + 1; j < B.length; j++) {
      if (B[i].actor !== B[j].actor) continue;
      const pulled = [...blockSteps.slice(0, i + 1), blockSteps[j], ...blockSteps.slice(i + 1, j), ...blockSteps.slice(j + 1)];
      yield flat(pulled);
      const pushed = [...blockSteps.slice(0, i), ...blockSteps.slice(i + 1, j), blockSteps[i], ...blockSteps.slice(j)];
      yield flat(pushed);
    }
  }

  // 4. Let the actor of block i run until it blocks or finishes there; its later steps dropped, or kept.
  for (let i = 0; i < B.length; i++) {
    const x = B[i].actor;
    const before = flat(blockSteps.slice(0, i));
    const after = flat(blockSteps.slice(i + 1));
    yield [...before, untilStuck(x), ...after.filter((a) => a !== x)];
    yield [...before, untilStuck(x), ...after];
  }

  // 5. Drop one step (fewer steps), from the end backwards.
  for (let k = s.length - 1; k >= 0; k--) yield [...s.slice(0, k), ...s.slice(k + 1)];
}

/**
 * Shrinks `schedule` (actor indices from the initial state of `makeWorld()`) to one that still
 * first violates the same property, with the fewest preemptions, then actors, then steps that the
 * moves can reach (a local minimum, not a global one). Throws if `schedule` does not violate.
 */
export function shrinkSchedule(makeWorld: () => World, schedule: readonly number[], opts: ShrinkOptions = {}): ShrinkResult {
  const w = makeWorld();
  const initial = w.snapshot();
  const checks = checksOf(opts);
  const maxReplays = opts.maxReplays ?? 20_000;
  const n = w.layout.actorNames.length;
  for (const a of schedule) if (!Number.isInteger(a) || a < 0 || a >= n) throw new ScheduleError(`no actor ${a}`);

  const original = replayFrom(w, initial, schedule, checks, false);
  if (!original.found) throw new Error('the schedule to shrink does not violate any property');
  const property = opts.property ?? original.found.property;
  if (original.found.property !== property) {
    throw new Error(`the schedule first violates ${original.found.property}, not ${property}`);
  }

  const same = opts.same ?? sameViolation;
  const target = original.found;
  let cur = original;
  let replays = 1;
  let rounds = 0;
  const tried = new Set<string>([schedule.join(',')]);
  search: for (;;) {
    for (const cand of candidates(cur.schedule, n)) {
      const key = cand.join(',');
      if (tried.has(key)) continue;
      tried.add(key);
      if (replays >= maxReplays) break search;
      replays++;
      const r = replayFrom(w, initial, cand, checks, false);
      if (r.found && same(target, r.found) && better(r, cur)) {
        cur = r;
        rounds++;
        continue search;
      }
    }
    break;
  }
  w.load(initial);
  w.bugs.length = 0;
  return {
    schedule: cur.schedule,
    property,
    message: cur.found!.message,
    preemptions: cur.preemptions,
    actors: cur.actors,
    steps: cur.steps,
    original: { schedule: original.schedule, preemptions: original.preemptions, actors: original.actors, steps: original.steps },
    replays,
    rounds,
    endsInBlockedAttempt: cur.endsInBlockedAttempt,
  };
}

/**
 * Where the interesting interleaving of a trace begins, for display (steps before it can be folded
 * as "setup"). The rule:
 *
 * - until a second actor takes its first step, one actor runs alone: a sequential prefix nobody
 *   raced with. Call k the index of that first step of a second actor (a trace with one actor has
 *   no interleaving: the result is 0, nothing is folded);
 * - the steps of that prefix right before k that changed only the running actor's own state (its
 *   call-frame locals: changes named `actor:routine.local` or `actor.nonblock`, or no change at all)
 *   are NOT folded: such steps mostly read shared state into locals (the pte snapshot, the sequence
 *   count, the lock test…), and those reads are what the other actor then races with. The fold
 *   moves back over them to just after the last step of the prefix that changed shared state.
 *
 * So the result is the smallest j ≤ k such that steps j..k-1 touch only their actor's own frames;
 * steps 0..j-1 are setup.
 */
export function foldSetup(trace: readonly TraceStep[]): number {
  if (trace.length === 0) return 0;
  const first = trace[0].actor;
  let k = trace.findIndex((s) => s.actor !== first);
  if (k < 0) return 0;
  const own = (s: TraceStep) => s.changes.every((c) => c.what.startsWith(`${s.actor}:`) || c.what === `${s.actor}.nonblock`);
  while (k > 0 && own(trace[k - 1])) k--;
  return k;
}
