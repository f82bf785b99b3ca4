/**
 * How a worker thread of a parallel search (src/engine/parallel.ts) rebuilds the cell the command
 * checks: the scenario (by name, from its file, or as data for standard input), the design by name,
 * with the command's --driver and --era modules loaded by path in the worker as the command loaded
 * them — a worker shares no module state with the thread that started it.
 */
import type { ScenarioSpec } from '../scenario/spec.js';
import type { ParallelModel } from '../engine/parallel-worker.js';
import type { ParallelOptions } from '../engine/parallel.js';
import { scenarioByName } from '../scenario/catalogue.js';
import { variantByName } from '../mirror/variants.js';
import { cellModel } from '../check/cell-model.js';
import { loadDriver, loadEra, onEra } from '../driver/load.js';
import { preloadScenarioFiles, scenarioFile } from './scenario-files.js';
import type { Cell } from '../check/run.js';
import { parallelCellModule } from './prestart.js';

export interface CellSource {
  readonly scenario: string;
  /** The scenario's file (absolute), if it was read from one; `-`: standard input, then `spec` is the scenario. */
  readonly file?: string;
  readonly spec?: ScenarioSpec;
  readonly variant: string;
  readonly drivers: readonly string[];
  readonly era?: string;
}

/** What a worker needs to rebuild `cell` of a command run with `drivers` and `era` (paths as given). */
export function cellSource(cell: Cell, files: ReadonlyMap<string, string>, drivers: readonly string[] = [], era?: string): CellSource {
  const file = files.get(cell.scenario.name);
  return { scenario: cell.scenario.name, file, ...(file === '-' && { spec: cell.scenario }), variant: cell.variant.name, drivers, era };
}

/** The parallel-search options that run `source` on `workers` threads. */
export function parallelCell(workers: number, source: CellSource): ParallelOptions {
  return { workers, module: parallelCellModule(), data: source };
}

const keep = (s: string) => s;

/**
 * The --driver and --era modules this thread loaded, by path: a thread serves every cell of the
 * command (parallel-pool.ts), and loading a driver twice is an error (two designs of one name).
 */
const loaded = new Map<string, Promise<unknown>>();
function once<T>(path: string, load: (path: string, shown: typeof keep) => Promise<T>): Promise<T> {
  const p = (loaded.get(path) as Promise<T> | undefined) ?? load(path, keep);
  loaded.set(path, p);
  return p;
}

/** The worker's side (`ParallelModel`): the cell built afresh in this thread. */
export async function parallelModel(data: unknown): Promise<ParallelModel> {
  const src = data as CellSource;
  for (const path of src.drivers) await once(path, loadDriver);
  const era = src.era === undefined ? undefined : await once(src.era, loadEra);
  let spec = src.spec ?? scenarioByName(src.scenario);
  if (src.file !== undefined && src.file !== '-') {
    await preloadScenarioFiles(
      [src.file],
      (p) => once(p, loadDriver),
      src.drivers,
      (p) => once(p, loadEra),
    );
    spec = scenarioFile(src.file).spec;
  }
  const at = src.variant.lastIndexOf('@');
  const variant = variantByName(src.variant) ?? (era && at > 0 ? onEra([variantByName(src.variant.slice(0, at))!], era)[0] : undefined);
  if (!spec || !variant) throw new Error(`a worker thread cannot rebuild ${src.scenario} under ${src.variant}`);
  return cellModel(spec, variant);
}
