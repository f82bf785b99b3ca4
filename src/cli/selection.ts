/** What `check` runs: scenario arguments (names or files) × `--variant`, as the list of cells. */
import { CATALOGUE, scenarioByName } from '../scenario/catalogue.js';
import { VARIANTS, variantByName } from '../mirror/variants.js';
import { catalogueCells, variantsFor, type Cell } from '../check/run.js';
import type { MirrorVariant } from '../mirror/device.js';
import type { ScenarioSpec } from '../scenario/spec.js';
import { formatOf, loadScenarioFile } from '../scenario/load.js';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fail } from './exit.js';
import { shown } from './text.js';

export interface Selection {
  readonly scenarios: readonly ScenarioSpec[];
  readonly variants: readonly MirrorVariant[];
  readonly cells: readonly Cell[];
  /** The whole catalogue under every variant: the verdict table and its expectations. */
  readonly table: boolean;
  /** Scenario name -> the file it was read from (absolute; `-` for standard input), for those given as files. */
  readonly files: ReadonlyMap<string, string>;
}

/**
 * `drivers`: designs loaded with --driver; without --variant only they run (with it, --variant
 * picks among the built-in and loaded designs). A run with a driver is never the verdict table.
 */
export function select(names: readonly string[], variantNames: readonly string[] | undefined, drivers: readonly MirrorVariant[] = []): Selection {
  if (names.filter((n) => n === '-').length > 1) fail('standard input (-) can be read once');
  const scenarios = names.length ? names.map(scenarioArgument) : CATALOGUE;
  const twice = scenarios.find((s, i) => scenarios.findIndex((t) => t.name === s.name) !== i);
  if (twice) fail(`scenario "${shown(twice.name)}" is given twice`);
  const known = () => [...VARIANTS, ...drivers].map((v) => v.name).join(', ');
  const variants = variantNames?.length ? variantNames.map((n) => variantByName(n) ?? fail(`unknown variant "${shown(n)}"; known: ${known()}`)) : drivers.length ? drivers : VARIANTS;
  const cells = catalogueCells(scenarios, variants);
  if (!cells.length) {
    const which = scenarios
      .map(
        (s) =>
          `${s.name} (${variantsFor(s)
            .map((v) => v.name)
            .join(', ')})`,
      )
      .join('; ');
    fail(`nothing to check: no selected variant applies to the selected scenarios — ${which}`);
  }
  const files = new Map<string, string>();
  names.forEach((n, i) => {
    if (isScenarioFile(n)) files.set(scenarios[i].name, n === '-' ? n : resolve(n));
  });
  return { scenarios, variants, cells, table: names.length === 0 && !variantNames?.length && !drivers.length, files };
}

/** Whether a scenario argument names a file (or standard input), not a built-in scenario. */
function isScenarioFile(arg: string): boolean {
  return arg === '-' || formatOf(arg) !== undefined || existsSync(arg);
}

/** A built-in scenario name, or a YAML/JSON scenario file or `-` (standard input); its own `variants` restrict what runs. */
export function scenarioArgument(arg: string): ScenarioSpec {
  if (isScenarioFile(arg)) {
    const loaded = loadScenarioFile(arg);
    return { ...loaded.spec, variants: loaded.variants.map((v) => v.name) };
  }
  return scenarioByName(arg) ?? fail(`unknown scenario "${shown(arg)}"; known: ${CATALOGUE.map((s) => s.name).join(', ')} (or a .yaml/.json file)`);
}
