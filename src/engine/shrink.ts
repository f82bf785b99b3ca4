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
import { ScheduleError, type TraceStep } from '../world/runner.js';
import type { World } from '../world/world.js';
import { KERNEL_BUG, verdictsOf, type Found } from './verdict.js';
import { replayFrom, untilStuck, type ReplayOptions } from './replay.js';
import { entryActor } from '../world/entry.js';

/**
 * Whether a candidate's first violation counts as the original's. Default (`sameViolation`): the
 * same property; for `kernel-bug`, also the same BUG — the messages equal once numbers are masked
 * (`hmm_range_register: range 1 is already on a list` ≠ `hmm_range_snapshot on range 1, which is
 * not registered`, but the range number may differ).
 */
export type SameViolation = (original: Found, candidate: Found) => boolean;

const maskNumbers = (m: string) => m.replace(/\d+/g, '#');

export const sameViolation: SameViolation = (o, c) => o.property === c.property && (o.property !== KERNEL_BUG || maskNumbers(o.message) === maskNumbers(c.message));

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
    const actor = entryActor(schedule[i]);
    let j = i;
    while (j < schedule.length && entryActor(schedule[j]) === actor) j++;
    out.push({ actor, start: i, len: j - i });
    i = j;
  }
  return out;
}

const better = (a: Measure, b: Measure): boolean => (a.preemptions !== b.preemptions ? a.preemptions < b.preemptions : a.actors !== b.actors ? a.actors < b.actors : a.steps < b.steps);

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
  const actors = [...new Set(s.map(entryActor))];
  for (const x of actors) yield s.filter((e) => entryActor(e) !== x);

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
    yield [...before, untilStuck(x), ...after.filter((e) => entryActor(e) !== x)];
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
  const verdicts = verdictsOf(opts);
  const maxReplays = opts.maxReplays ?? 20_000;
  const n = w.layout.actorNames.length;
  for (const e of schedule) if (!Number.isInteger(e) || e < 0 || entryActor(e) >= n) throw new ScheduleError(`no actor ${entryActor(e)}`);

  const original = replayFrom(w, initial, schedule, verdicts, false);
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
      const r = replayFrom(w, initial, cand, verdicts, false);
      if (r.found && same(target, r.found) && better(r, cur)) {
        cur = r;
        rounds++;
        continue search;
      }
    }
    break;
  }
  w.load(initial);
  w.clearBugs();
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
