/**
 * The canonical form a search interns its states in, under the reductions that rename them: the
 * counter abstraction (counters.ts), then the swap-slot renumbering (symmetry.ts), then the actor
 * permutations (actor-symmetry.ts, which applies the renumbering to each candidate itself). One
 * place for the order both searches apply them in — the one-thread search (exhaustive.ts) and each
 * thread of the parallel one (parallel-expand.ts) — so that they intern the same states.
 */
import type { World } from '../world/world.js';
import { ModelError } from '../world/errors.js';
import { CounterCanon, type CounterOptions } from './counters.js';
import { RowCanon } from './symmetry.js';
import { ActorCanon } from './actor-symmetry.js';

export interface CanonicalOptions {
  readonly counters?: CounterOptions;
  readonly symmetry?: boolean;
  readonly actorGroups?: readonly (readonly number[])[];
}

export class Canonical {
  readonly counters: CounterCanon | undefined;
  readonly rows: RowCanon | undefined;
  readonly actors: ActorCanon | undefined;

  /**
   * The reductions `opts` asks for on `w`'s layout, `w` at its initial state: a ModelError where
   * the swap slots do not start alike, or the groups are not groups.
   */
  constructor(w: World, opts: CanonicalOptions) {
    this.counters = CounterCanon.of(w.layout, opts.counters);
    this.rows = RowCanon.of(w.layout, opts.symmetry);
    this.rows?.checkInitial(w);
    this.actors = ActorCanon.of(w.layout, opts.actorGroups, this.rows);
  }

  /**
   * The state the search starts from: `initial` (`w`'s state now) in canonical form, in a copy if
   * it changes. The actors must start alike (else a ModelError naming what differs).
   */
  start(w: World, initial: Int32Array, boundedByPreemptions = false): Int32Array {
    const { counters, rows, actors } = this;
    if (actors && boundedByPreemptions)
      throw new ModelError('actor symmetry with a preemption bound: a bounded state is keyed by its last actor, which the permutation renames; check without one of them');
    actors?.checkInitial(w);
    const renamed = counters ? counters.canonicalCopy(initial, new Int32Array(initial.length)) : initial;
    if (actors) return actors.canonicalCopy(renamed, new Int32Array(initial.length), w);
    return rows ? rows.canonicalCopy(renamed, new Int32Array(initial.length), w) : renamed;
  }

  /** Before the transitions from `parent`: what the checks after each compare with. */
  noteBefore(parent: Int32Array): void {
    if (this.counters?.check) this.counters.noteBefore(parent);
    this.rows?.noteBefore(parent);
  }

  /**
   * Makes the state a transition reached canonical, in place (through `w.set`: the fingerprint and
   * the undo log follow); returns the actor permutation it applied (0, the identity, without actor
   * symmetry). `mark`: the undo log's position before the transition, from a canonical state. A
   * ModelError where the renumbering is not a symmetry of this transition.
   */
  apply(w: World, mark: number): number {
    const { counters, rows, actors } = this;
    counters?.intern(w, mark);
    rows?.checkAfter(w);
    if (actors) {
      actors.canonicalize(w, mark);
      return actors.applied;
    }
    rows?.intern(w, mark);
    return 0;
  }
}
