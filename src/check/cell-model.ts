/** One cell's model as a search builds it: the scenario's world under the design, and the design's properties. */
import type { ScenarioSpec } from '../scenario/spec.js';
import type { MirrorVariant } from '../mirror/device.js';
import type { ParallelModel } from '../engine/parallel-worker.js';
import { buildScenario } from '../scenario/build.js';
import { propertiesOf } from './properties.js';
import { outcomeCheck, type OutcomeCheck } from './outcome.js';
import type { Property } from '../engine/verdict.js';

/**
 * What `spec` is checked against under `variant`: `propertiesOf(variant)`, then, when the scenario
 * states expected outcomes, the `outcome` check (a fresh one: it records what the search reached).
 */
export function propertiesFor(spec: ScenarioSpec, variant: MirrorVariant): { properties: readonly Property[]; outcome?: OutcomeCheck } {
  if (!spec.outcomes?.length) return { properties: propertiesOf(variant) };
  const outcome = outcomeCheck();
  return { properties: [...propertiesOf(variant), outcome.property], outcome };
}

/**
 * What a worker thread of a parallel search runs (src/cli/parallel-cell.ts rebuilds the cell's
 * inputs first): the properties in `propertiesFor`'s order, the outcome check's own copy among
 * them (what it learns joins the search's: verdict.ts `Property.learned`).
 */
export function cellModel(spec: ScenarioSpec, variant: MirrorVariant): ParallelModel {
  return { world: buildScenario(spec, variant).world, properties: propertiesFor(spec, variant).properties };
}
