/**
 * Random walks: at each step, an actor chosen uniformly among the *enabled* ones. The driver tries
 * the unfinished actors in the order `pick` chooses them and runs the first that is not blocked;
 * picking uniformly among those not yet tried makes that order a uniform random permutation, whose
 * first enabled element is uniform over the enabled set. A blocked step writes nothing, so trying
 * one needs no copy of the state.
 */
import type { Scheduler, WalkContext, WalkStrategy } from './strategy.js';

export const random: WalkStrategy = {
  kind: 'walk',
  name: 'random',
  summary: 'random walks: each step runs an enabled actor chosen uniformly',
  tracksRevisits: false,
  begin(ctx: WalkContext): Scheduler {
    const rng = ctx.rng;
    return {
      pick: (_cand, m) => rng.below(m),
      stepped: () => undefined,
    };
  },
};
