/** What `check` runs: scenario arguments (names or files) × `--variant`, as the list of cells. */
import { CATALOGUE, scenarioByName } from '../scenario/catalogue.js';
import { allVariants, variantByName } from '../mirror/variants.js';
import { catalogueCells, variantsFor, type Cell } from '../check/run.js';
import type { MirrorVariant } from '../mirror/device.js';
import type { ScenarioSpec } from '../scenario/spec.js';
import type { Expectation } from '../check/expect.js';
import { isScenarioFile, scenarioFile } from './scenario-files.js';
import { fail } from './exit.js';
import { shown } from './text.js';
import { onEra } from '../driver/load.js';
import type { Era } from '../driver/era.js';

export interface Selection {
  readonly scenarios: readonly ScenarioSpec[];
  readonly variants: readonly MirrorVariant[];
  readonly cells: readonly Cell[];
  /** The whole catalogue under every variant: the verdict table and its expectations. */
  readonly table: boolean;
  /** What the scenario files expect of their cells (`expect:`). */
  readonly expectations: readonly Expectation[];
}

/**
 * `drivers`: designs loaded with --driver; without --variant only they run (with it, --variant
 * picks among the built-in and loaded designs). `era`: every chosen design runs on it instead.
 * A run with a driver or an era is never the verdict table.
 */
export function select(names: readonly string[], variantNames: readonly string[] | undefined, drivers: readonly MirrorVariant[] = [], era?: Era): Selection {
  if (names.filter((n) => n === '-').length > 1) fail('standard input (-) can be read once');
  const scenarios = names.length ? names.map(scenarioArgument) : CATALOGUE;
  const twice = scenarios.find((s, i) => scenarios.findIndex((t) => t.name === s.name) !== i);
  if (twice) fail(`scenario "${shown(twice.name)}" is given twice`);
  const known = () =>
    allVariants()
      .map((v) => v.name)
      .join(', ');
  // Without --variant or --driver: every design, the drivers scenario files name included.
  const chosen = variantNames?.length ? variantNames.map((n) => variantByName(n) ?? fail(`unknown variant "${shown(n)}"; known: ${known()}`)) : drivers.length ? drivers : allVariants();
  // On an era every chosen design runs as DESIGN@ERA (src/driver/era.ts).
  const variants = era ? onEra(chosen, era) : chosen;
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
  const expectations = names.filter(isScenarioFile).flatMap((n) => scenarioFile(n).expectations);
  return { scenarios, variants, cells, table: names.length === 0 && !variantNames?.length && !drivers.length && !era, expectations };
}

/** A built-in scenario name, or a YAML/JSON scenario file or `-` (standard input); the designs it names restrict what runs. */
export function scenarioArgument(arg: string): ScenarioSpec {
  if (isScenarioFile(arg)) return scenarioFile(arg).spec;
  return scenarioByName(arg) ?? fail(`unknown scenario "${shown(arg)}"; known: ${CATALOGUE.map((s) => s.name).join(', ')} (or a .yaml/.json file)`);
}
