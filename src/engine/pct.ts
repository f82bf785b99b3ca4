/**
 * PCT, probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS
 * 2010). Each run gives the actors distinct random priorities d..d+n-1 and picks d-1 distinct
 * priority-change points in [1, k]; it always runs the highest-priority enabled actor, and after
 * the step numbered k_j it lowers the running actor's priority to d-j (below every initial one). A
 * bug of depth d is then found in each run with probability >= 1/(n k^(d-1)). k is the expected
 * run length (the driver passes it: `pctSteps`, or one calibration walk). With d = 1 there are no
 * change points: the run is the fixed-priority schedule.
 *
 * Busy-waiting: the model's retry loops (a failed trylock that goes back to retry, an `-EBUSY`
 * fault retry) are enabled steps, not blocked ones, so a strict priority scheduler would spin in
 * them for ever while the actor they wait for never runs. A step that brings the run back to a
 * state it was already in *yields* (PCT's explicit yield): the actor's priority drops below every
 * other one. A step that is a change point takes the change-point priority instead.
 */
import type { Prng } from './prng.js';
import type { Scheduler, WalkContext, WalkStrategy } from './strategy.js';

/** A PCT run's plan: initial priorities per actor and the change points (step number -> new priority). */
export interface PctPlan {
  readonly priorities: readonly number[];
  /** Sorted step numbers (1-based) after which the running actor's priority drops. */
  readonly changeSteps: readonly number[];
  /** New priority at each change step (same order as changeSteps). */
  readonly changePriorities: readonly number[];
}

/** Draws a PCT plan from `rng` (consumes it). */
export function drawPctPlan(rng: Prng, nActors: number, depth: number, k: number): PctPlan {
  const perm = rng.permutation(nActors);
  const priorities = perm.map((p) => depth + p);
  const points = Math.min(depth - 1, Math.max(0, k));
  const chosen = new Map<number, number>(); // step -> change index j (1-based)
  for (let j = 1; j <= points; j++) {
    let s: number;
    do s = 1 + rng.below(k);
    while (chosen.has(s));
    chosen.set(s, j);
  }
  const changeSteps = [...chosen.keys()].sort((a, b) => a - b);
  return { priorities, changeSteps, changePriorities: changeSteps.map((s) => depth - chosen.get(s)!) };
}

/** A PCT scheduler that also counts the yields it imposed. */
export interface PctScheduler extends Scheduler {
  readonly yields: number;
}

/** PCT with bug depth `depth` and expected run length `k`. */
export function pct(depth: number, k: number): WalkStrategy & { begin(ctx: WalkContext): PctScheduler } {
  if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`PCT depth must be an integer >= 1, got ${depth}`);
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`pctSteps must be a positive integer, got ${k}`);
  return {
    kind: 'walk',
    name: 'pct',
    summary: 'probabilistic concurrency testing: random priorities with d-1 change points',
    tracksRevisits: true,
    begin(ctx) {
      const plan = drawPctPlan(ctx.rng, ctx.nActors, depth, k);
      const priority = Int32Array.from(plan.priorities);
      let nextChange = 0;
      let lowest = 0;
      let yields = 0;
      return {
        get yields() {
          return yields;
        },
        pick(cand, m) {
          let j = 0;
          for (let i = 1; i < m; i++) if (priority[cand[i]] > priority[cand[j]]) j = i;
          return j;
        },
        stepped(actor, n, yielded) {
          if (nextChange < plan.changeSteps.length && plan.changeSteps[nextChange] === n) {
            priority[actor] = plan.changePriorities[nextChange];
            nextChange++;
          } else if (yielded) {
            priority[actor] = --lowest;
            yields++;
          }
        },
      };
    },
  };
}
