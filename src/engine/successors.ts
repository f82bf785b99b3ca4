/**
 * The transitions out of one state, as every exhaustive breadth- or depth-first search takes them:
 * the one-thread search (exhaustive.ts) and each thread of the parallel one (parallel-expand.ts)
 * run this one loop, so that they run the same steps in the same order, count the same transitions
 * and meet each finding at the same place — what the parallel search's "the one-thread result"
 * rests on. What a search does with each outcome is its `SuccessorSink`'s.
 *
 * For each actor that has not finished (in order, or rotated by a diversified expansion order), for
 * each alternative of its step (`w.choose`): the step runs in place on the loaded state (the undo
 * log takes it back); a step that blocks is no transition (a BUG it raised is one finding); else the
 * transition is the step and the invisible steps after it (transition.ts `extendTransition`, with
 * `merge`); a BUG raised by any of them is a finding and leads nowhere; else the successor is made
 * canonical (canonical.ts) and, under a preemption bound, charged a preemption when it switched
 * away from the actor that ran last while that one could still run (a transition beyond the bound
 * is counted and dropped). With a lock-order graph, the search is asked whether the graph has a
 * cycle after the transition's first step and after its extension, when neither raised a BUG
 * (`checkpoint`); look-aheads the search runs for itself again (the preemption bound's question,
 * the equivariance check) record no lock.
 */
import { BLOCK_SLEEP, BLOCK_SPIN } from '../world/routine.js';
import { execStep } from '../world/runner.js';
import type { World } from '../world/world.js';
import type { LockOrder } from '../world/lock-order.js';
import { entryOf } from '../world/entry.js';
import type { Verdicts } from './verdict.js';
import { canStep, extendTransition, LookaheadMemo } from './transition.js';
import type { Canonical } from './canonical.js';

/**
 * What a search does with the outcomes of a state's transitions (the world is at the outcome when
 * each is called). Each returns true to stop the expansion: the search ends there.
 */
export interface SuccessorSink {
  /**
   * Transition `seq` of the state raised a BUG (left in `w.bugs`) in its first `steps` steps
   * (`blocked`: the last an attempt that blocked); `tr` transitions counted from the state by then
   * (this one included unless blocked), `beyond` cut off by the preemption bound.
   */
  bug(seq: number, entry: number, steps: number, blocked: boolean, tr: number, beyond: number): boolean;
  /** A point where one thread asks the lock-order graph for a cycle (only with a graph). */
  checkpoint(seq: number, tr: number, beyond: number): boolean;
  /**
   * Transition `seq` (actor `a`, `entry`, `steps` steps since undo mark `mark`) reached the loaded
   * state, canonical; `applied`: the actor permutation that made it so; `pre`: the preemptions it
   * was reached with (0 without a bound).
   */
  successor(seq: number, a: number, entry: number, steps: number, mark: number, applied: number, pre: number, tr: number, beyond: number): boolean;
}

export class StateExpansion {
  /** Per expansion: actors that could step, those that have not finished, the masks of the first and of those that took a lock fairly (termination.ts). */
  enabled = 0;
  unfinished = 0;
  enabledMask = 0;
  acquiringMask = 0;
  /** Transitions from the state, and those the preemption bound cut off. */
  transitions = 0;
  beyond = 0;
  /** Where the running step is, for the lock-order graph's witnesses: the state's id, the transition's number and first entry, its steps so far. */
  atId = 0;
  atSeq = 0;
  atEntry = 0;
  atSteps = 1;
  /** With a lock-order graph: its mark before the running transition (what a blocked step recorded is what came after it). */
  lockMark = 0;
  /** Look-ahead tries known to be taken back (transition.ts): only where nothing but the state observes a try. */
  private readonly memo: LookaheadMemo | undefined;
  private readonly nActors: number;
  private readonly stepsSoFar = (n: number): void => {
    this.atSteps = n;
  };

  constructor(
    private readonly w: World,
    private readonly verdicts: Verdicts,
    private readonly canonical: Canonical,
    private readonly lo: LockOrder | null,
    private readonly merge: boolean,
    /** Under actor symmetry's equivariance check: the state the checked transitions run from (its length: the layout's when checks may be due). */
    private readonly before: Int32Array,
  ) {
    this.memo = LookaheadMemo.of(w, lo);
    this.nActors = w.layout.actorNames.length;
  }

  /** Runs actor `a`'s next step taking alternative `c` if it branches (`w.choose`). */
  readonly stepWith = (a: number, c: number): number => {
    const w = this.w;
    w.choice = c;
    const r = execStep(w, a);
    w.choice = 0;
    return r;
  };

  /**
   * Expands state `id`, whose contents are `parent` (the world is loaded with it). `bound`: the
   * preemption bound (-1: none), with `pre0` the preemptions the state was reached with and `last`
   * the actor that ran last (-1 at the root); `rotate`: where the actors' order starts, modulo their
   * number (a diversified order; 0: in order); `checkHere`: check every transition's equivariance
   * (actor symmetry). Returns true
   * if the sink stopped it; the counts and masks say what was run by then.
   */
  expand(parent: Int32Array, id: number, bound: number, pre0: number, last: number, rotate: number, checkHere: boolean, sink: SuccessorSink): boolean {
    const { w, verdicts, canonical, lo, merge, nActors } = this;
    const actors = canonical.actors;
    this.enabled = 0;
    this.unfinished = 0;
    this.enabledMask = 0;
    this.acquiringMask = 0;
    canonical.noteBefore(parent);
    if (checkHere) this.before.set(parent); // the state steps run from, in place
    let lastRunnable = false;
    if (bound >= 0 && last >= 0) {
      w.load(parent);
      // A look-ahead: the search runs these steps itself, and records their locks then.
      if (lo) lo.paused = true;
      try {
        lastRunnable = canStep(w, last);
      } finally {
        if (lo) lo.paused = false;
      }
    }
    let tr = 0;
    let beyond = 0;
    let seq = 0;
    this.atId = id;
    for (let k = 0; k < nActors; k++) {
      const a = rotate === 0 ? k : (k + rotate) % nActors;
      w.load(parent);
      if (w.actorSp(a) === 0) continue;
      this.unfinished++;
      let actorEnabled = false;
      // One successor per alternative of a step that branches (`w.choose`); most steps have one.
      for (let c = 0, nc = 1; c < nc; c++, seq++) {
        w.load(parent);
        // The successor is computed in place and taken back afterwards (undo log), not on a copy.
        const mark = w.undoMark();
        const entry = entryOf(a, c);
        this.atSeq = seq;
        this.atEntry = entry;
        this.atSteps = 1;
        const locks = lo ? lo.mark() : 0;
        this.lockMark = locks;
        if (merge) w.trackActor(a);
        w.fairAcquire = false;
        const r = this.stepWith(a, c);
        w.tracking = false;
        nc = Math.max(1, w.choices);
        if (r === BLOCK_SLEEP || r === BLOCK_SPIN) {
          if (verdicts.raised(w) && sink.bug(seq, entry, 1, true, tr, beyond)) return this.stop(tr, beyond);
          w.clearBugs();
          // A step that blocked did not happen: it is retried once enabled, and records its locks then.
          lo?.rollback(locks);
          w.undoTo(mark);
          continue;
        }
        actorEnabled = true;
        if (w.fairAcquire) this.acquiringMask |= 1 << a;
        tr++;
        // A step that raised a BUG leads nowhere (the kernel has stopped): the search goes on without it.
        let raised = verdicts.raised(w);
        let steps = 1;
        if (!raised && lo && sink.checkpoint(seq, tr, beyond)) return this.stop(tr, beyond);
        if (merge && !raised) {
          const extra = extendTransition(w, verdicts, a, !w.touchedShared, lo, this.stepsSoFar, this.memo);
          if (extra < 0) {
            raised = true;
            steps = -extra; // the steps that show the BUG, the first one included
          } else {
            steps += extra;
            if (lo && sink.checkpoint(seq, tr, beyond)) return this.stop(tr, beyond);
          }
        }
        if (raised) {
          if (sink.bug(seq, entry, steps, false, tr, beyond)) return this.stop(tr, beyond);
          w.clearBugs();
          w.undoTo(mark);
          continue;
        }
        if (checkHere) {
          if (lo) lo.paused = true;
          try {
            actors!.checkTransition(w, this.before, a, c, steps, this.stepWith);
          } finally {
            if (lo) lo.paused = false;
          }
        }
        // The permutation the canonical form applied: the termination graph's edge carries it.
        const applied = canonical.apply(w, mark);
        let pre = 0;
        if (bound >= 0) {
          pre = pre0 + (lastRunnable && a !== last ? 1 : 0);
          if (pre > bound) {
            beyond++;
            w.undoTo(mark);
            continue;
          }
        }
        if (sink.successor(seq, a, entry, steps, mark, applied, pre, tr, beyond)) return this.stop(tr, beyond);
        w.undoTo(mark);
      }
      if (actorEnabled) {
        this.enabled++;
        this.enabledMask |= 1 << a;
      }
    }
    this.transitions = tr;
    this.beyond = beyond;
    return false;
  }

  private stop(tr: number, beyond: number): boolean {
    this.transitions = tr;
    this.beyond = beyond;
    return true;
  }
}
