/**
 * A test's own writes between steps ("the child unmaps it meanwhile"): done by no actor, like the
 * scenario's set-up, so the lock assertions of the helpers it calls (set_pte_at under the ptl, ...)
 * do not apply. Without this, the world still names the actor of the last step as running.
 */
import type { World } from '../../src/world/world.js';

export function betweenSteps<T>(w: World, fn: () => T): T {
  const actor = w.actor;
  w.actor = -1;
  try {
    return fn();
  } finally {
    w.actor = actor;
  }
}
