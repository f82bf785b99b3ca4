/**
 * Fault injection, switched on per scenario: the model exposes fault points (an allocation that
 * fails, …) as branches of the step that reaches them (`w.choose`): with a point on, the explorer
 * follows both the normal path and the fault; off, the step does not branch and nothing changes.
 * Points are static scenario data (like programs), never part of the state.
 */
import type { Layout } from './layout.js';
import type { World } from './world.js';

const KEY = 'faults';

export function setFaults(layout: Layout, points: readonly string[]): void {
  layout.statics[KEY] = points;
}

/** Whether the running step should offer fault `point` as an alternative (only inside a step: never while a world is built). */
export function injects(w: World, point: string): boolean {
  const points = w.layout.statics[KEY] as readonly string[] | undefined;
  return points !== undefined && w.actor >= 0 && points.includes(point);
}
