/**
 * Kernel layers switched on per scenario (`layers: [cpu-tlb]`): a layer is model code that is
 * always there but only runs where the scenario asked for it, because each one adds real
 * interleavings (and states) that most scenarios do not need. Like fault points, the set is static
 * scenario data kept beside the layout, never part of the state; unlike them it is also read while
 * a world is built (a layer may add objects or change set-up).
 */
import type { Layout } from './layout.js';
import type { World } from './world.js';

const KEY = 'layers';

export function setLayers(layout: Layout, names: readonly string[]): void {
  layout.statics[KEY] = names;
}

/** Whether the scenario of this world (or layout) switched layer `name` on. */
export function hasLayer(at: World | Layout, name: string): boolean {
  const layout = 'layout' in at ? at.layout : at;
  const names = layout.statics[KEY] as readonly string[] | undefined;
  return names?.includes(name) === true;
}
