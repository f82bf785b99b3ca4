/**
 * The scenario files of one command, each read once (standard input can be read only once) and
 * with the driver modules it names (`driver`, `drivers`, `expect[i].driver`) loaded before the
 * command runs: loading a module is asynchronous, a command's action is not (main.ts loads them in
 * its preAction hook, as it does `--driver`). A file that names drivers and `--driver` on the
 * command line exclude each other: the file's expectations are about its own drivers.
 */
import { existsSync } from 'node:fs';
import type { Expectation } from '../check/expect.js';
import { DriverError } from '../driver/define.js';
import type { MirrorVariant } from '../mirror/device.js';
import type { Era } from '../driver/era.js';
import { resolveDesigns } from '../scenario/expect.js';
import { formatOf, loadScenarioFile, type LoadedScenario } from '../scenario/load.js';
import type { ScenarioSpec } from '../scenario/spec.js';
import { fail } from './exit.js';
import { shown } from './text.js';

interface Resolved {
  readonly spec: ScenarioSpec;
  readonly expectations: readonly Expectation[];
}

const resolved = new Map<string, Resolved>();

/** Whether a command-line argument names a scenario file (or `-`) rather than a built-in scenario. */
export function isScenarioFile(arg: string): boolean {
  return arg === '-' || formatOf(arg) !== undefined || existsSync(arg);
}

/** Forgets the files of the previous command. */
export function clearScenarioFiles(): void {
  resolved.clear();
}

/**
 * Reads the scenario files among `args` and loads the drivers they name with `load` (once per
 * module, whichever files name it); a driver that cannot be loaded is reported at the key that
 * names it. `cliDrivers`: the command's --driver paths.
 */
export async function preloadScenarioFiles(
  args: readonly string[],
  load: (path: string) => Promise<MirrorVariant>,
  cliDrivers: readonly string[],
  loadEra: (path: string) => Promise<Era> = () => Promise.reject(new DriverError('eras are loaded by the vmamirror command')),
): Promise<void> {
  const byPath = new Map<string, MirrorVariant>();
  const erasByPath = new Map<string, Era>();
  for (const arg of args.filter(isScenarioFile)) {
    if (resolved.has(arg)) continue;
    const loaded = loadScenarioFile(arg);
    if (loaded.drivers.length && cliDrivers.length) {
      fail(
        `${shown(loaded.file)} names its own driver${loaded.drivers.length > 1 ? 's' : ''} (${loaded.drivers.map((d) => shown(d.written)).join(', ')}); --driver would replace them: give one or the other`,
      );
    }
    await loadEach(loaded, loaded.drivers, byPath, load, '--driver');
    await loadEach(loaded, loaded.eras, erasByPath, loadEra, '--era');
    resolved.set(
      arg,
      resolveDesigns(
        loaded,
        (p) => byPath.get(p)!,
        (p) => erasByPath.get(p)!,
      ),
    );
  }
}

/**
 * Loads each module of `refs` not loaded yet into `into`; a module that cannot be loaded is the
 * file's problem at the key that names it (the loader's message names the option; here the key
 * names the module, and the message its path).
 */
async function loadEach<T>(loaded: LoadedScenario, refs: LoadedScenario['drivers'], into: Map<string, T>, load: (path: string) => Promise<T>, option: string): Promise<void> {
  for (const ref of refs) {
    if (into.has(ref.path)) continue;
    try {
      into.set(ref.path, await load(ref.path));
    } catch (e) {
      if (!(e instanceof DriverError)) throw e;
      const prefix = `${option} `;
      throw loaded.problems([{ path: ref.at, message: e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message }]);
    }
  }
}

/** A scenario file argument's scenario (with every design it names) and expectations; read now if no preload did. */
export function scenarioFile(arg: string): Resolved {
  const done = resolved.get(arg);
  if (done) return done;
  const loaded: LoadedScenario = loadScenarioFile(arg);
  if (loaded.drivers.length || loaded.eras.length) {
    fail(
      `${shown(loaded.file)} names driver or era modules (${[...loaded.drivers, ...loaded.eras].map((d) => shown(d.written)).join(', ')}), which only the vmamirror command loads (for check, replay and mutate)`,
    );
  }
  const r = resolveDesigns(loaded, () => fail('no driver loaded'));
  resolved.set(arg, r);
  return r;
}
