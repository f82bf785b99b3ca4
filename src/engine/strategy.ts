/**
 * Search strategies, one file each, behind one interface with two families:
 *
 * - **exhaustive** (`bfs.ts`, `dfs.ts`): a `Frontier` decides the order in which discovered states
 *   are expanded; the exhaustive driver (`exhaustive.ts`) visits every reachable state once.
 *   Breadth-first gives shortest counterexamples; depth-first uses less memory.
 * - **walk** (`random.ts`, `pct.ts`): a `Scheduler` picks, at each step of one run, which actor
 *   goes next; the walk driver (`simulate.ts`) runs many runs from a seed.
 * - `replay.ts` follows a given schedule (strictly, or leniently for shrinking) and judges it with
 *   the same verdicts; it needs no choice, so it is not a `Scheduler`.
 *
 * A new strategy is one file exporting an `ExhaustiveStrategy` (pass it as `explore`'s `strategy`)
 * or a `WalkStrategy` (plus its name where `simulate` resolves `random`/`pct`).
 */
import type { Layout } from '../world/layout.js';
import type { Prng } from './prng.js';

/** Where discovered states wait to be expanded. */
export interface Frontier {
  /**
   * Adds `state` with `id`. `written`, when given, holds the slot of every write since the state
   * the frontier gave out last (`take`) at its even entries in [`from`, `to`) — the explorer's undo
   * log since its mark — so a frontier that stores differences compares only those slots.
   */
  push(state: Int32Array, id: number, written?: Int32Array, from?: number, to?: number): void;
  /** Takes the next state into `dst` and returns its id, or -1 when empty. */
  take(dst: Int32Array): number;
  readonly size: number;
  readonly bytes: number;
}

export interface ExhaustiveStrategy {
  readonly kind: 'exhaustive';
  readonly name: string;
  readonly summary: string;
  /** Whether the first counterexample found is a shortest one (in merged transitions). */
  readonly shortest: boolean;
  frontier(layout: Layout): Frontier;
}

/** Picks the next actor of one run. */
export interface Scheduler {
  /**
   * Chooses among the unfinished actors not yet tried at this step, `cand[0..m-1]`; returns an
   * index into `cand`. If that actor turns out blocked, it is removed and `pick` is asked again.
   */
  pick(cand: Int32Array, m: number): number;
  /**
   * After the run's step number `n` (1-based) by `actor`. `yielded`: the step went back to a state
   * this run had already been in (a retry loop that waits for another actor), which PCT treats as
   * an explicit yield.
   */
  stepped(actor: number, n: number, yielded: boolean): void;
}

export interface WalkContext {
  readonly nActors: number;
  /** The run's own random stream (derived from the seed and the run number alone). */
  readonly rng: Prng;
}

export interface WalkStrategy {
  readonly kind: 'walk';
  readonly name: string;
  readonly summary: string;
  /** Whether `stepped` needs to know if a step revisited a state of the run (costs a per-run set). */
  readonly tracksRevisits: boolean;
  /** A fresh scheduler for one run; draws its plan from `ctx.rng`. */
  begin(ctx: WalkContext): Scheduler;
}

export type Strategy = ExhaustiveStrategy | WalkStrategy;
