/**
 * Mutation testing's hook into the world (`vmamirror mutate`): the plan of a mutant run. The plan
 * is not state — it says which change to make at which call site, and it is consulted by the
 * kernel-API functions (src/kernel/mutation-hooks.ts) when driver code calls them; whatever a
 * mutant must remember across steps is kept in ghost fields of the state. `World.mutation` is
 * null in normal runs, so the hot path pays one branch. The runner tells the plan where each step
 * begins and ends.
 */
import type { World } from './world.js';

export interface Mutation {
  /** Before each step (after `World.enter`): counts of hooked calls restart for the new step. */
  beginStep(w: World): void;
  /** After each step that did not block: a change the plan deferred across steps may land. */
  endStep(w: World): void;
}
