/** One cell's model as a search builds it: the scenario's world under the design, and the design's properties. */
import type { ScenarioSpec } from '../scenario/spec.js';
import type { MirrorVariant } from '../mirror/device.js';
import type { ParallelModel } from '../engine/parallel-worker.js';
import { buildScenario } from '../scenario/build.js';
import { propertiesOf } from './properties.js';

/** What a worker thread of a parallel search runs (src/cli/parallel-cell.ts rebuilds the cell's inputs first). */
export function cellModel(spec: ScenarioSpec, variant: MirrorVariant): ParallelModel {
  return { world: buildScenario(spec, variant).world, properties: propertiesOf(variant) };
}
