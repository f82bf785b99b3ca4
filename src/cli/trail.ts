/**
 * Counterexample trail files (SPIN's `.trail`): `check --trail FILE` writes every violation the
 * run found — its cell (scenario, variant, and the scenario file or driver module it came from),
 * the actors by index, the check and its message, the schedule the search found and the shrunk
 * one — as one JSON document; `replay --trail FILE` reads it back and replays each. The file is
 * input like any other: a wrong kind, a truncated or altered file, a cell this build does not know
 * are exit 2 with one line naming the file and the field.
 */
import { resolve } from 'node:path';
import type { CheckResult, ScenarioSimulateResult } from '../check/run.js';
import { variantsFor } from '../check/run.js';
import { decodeSchedule, ScheduleSyntaxError } from '../engine/schedule.js';
import { variantByName } from '../mirror/variants.js';
import type { MirrorVariant } from '../mirror/device.js';
import { driverFile } from '../driver/load.js';
import { scenarioByName } from '../scenario/catalogue.js';
import type { ScenarioSpec } from '../scenario/spec.js';
import { SCHEDULE_SYNTAX } from '../report/legend.js';
import { At, count, obj, readJsonFile, text, type Obj } from './json-input.js';
import type { TraceFor } from './reports.js';
import { writeReport } from './reports.js';
import { scenarioArgument } from './selection.js';
import { fail } from './exit.js';
import { shown } from './text.js';

export const TRAIL_KIND = 'vmamirror-trail';
export const TRAIL_VERSION = 1;
/** A trail lists a run's violations: a bigger file is not one. */
const MAX_TRAIL_BYTES = 64 * 2 ** 20;

export interface TrailEntry {
  readonly scenario: string;
  readonly variant: string;
  /** The scenario file the cell was read from (absolute), for a scenario that is not built in. */
  readonly scenarioFile?: string;
  /** The module the design was loaded from with --driver (absolute). */
  readonly driver?: string;
  /** Actor names by index: what the schedule's numbers mean. */
  readonly actors: readonly string[];
  readonly property: string;
  readonly message: string;
  /** The schedule the search found (a shortest one, breadth-first). */
  readonly schedule: string;
  /** The same violation shrunk to the fewest preemptions, then actors, then steps, when it was. */
  readonly shrunk?: string;
}

export interface TrailDocument {
  readonly kind: typeof TRAIL_KIND;
  readonly version: typeof TRAIL_VERSION;
  /** How to read a schedule (for a reader of the file). */
  readonly scheduleSyntax: string;
  readonly violations: readonly TrailEntry[];
}

/**
 * The trail of a run: each violating result's violations (every distinct one with
 * --max-violations, else the one it stopped at). `files`: scenario name -> the file it was read
 * from, for the scenarios given as files.
 */
export function trailOf(results: readonly (CheckResult | ScenarioSimulateResult)[], traceFor: TraceFor, files: ReadonlyMap<string, string>): TrailDocument {
  const violations: TrailEntry[] = [];
  for (const r of results) {
    if (!r.violation || !r.schedule) continue;
    const driver = driverFile(r.variant);
    const cell = {
      scenario: r.scenario,
      variant: r.variant,
      // Standard input cannot be read again: `replay --trail` then asks for --file.
      ...(files.has(r.scenario) && files.get(r.scenario) !== '-' && { scenarioFile: files.get(r.scenario) }),
      ...(driver && { driver: resolve(driver) }),
      actors: traceFor(r)?.actors ?? [],
    };
    const found = 'violations' in r && r.violations ? r.violations : [{ property: r.violation.property, message: r.violation.message, schedule: r.schedule }];
    found.forEach((v, i) => {
      const shrunk = i === 0 && 'shrunk' in r ? r.shrunk?.schedule : undefined;
      violations.push({ ...cell, property: v.property, message: v.message, schedule: v.schedule, ...(shrunk && { shrunk }) });
    });
  }
  return { kind: TRAIL_KIND, version: TRAIL_VERSION, scheduleSyntax: SCHEDULE_SYNTAX, violations };
}

/** --trail: writes the trail (a failed write is exit 2); says where unless stdout is JSON. */
export function writeTrail(path: string, doc: TrailDocument, json: boolean | undefined): void {
  writeReport('--trail', path, `${JSON.stringify(doc, null, 2)}\n`);
  if (!json) console.log(`Trail of ${doc.violations.length} violation${doc.violations.length === 1 ? '' : 's'}: ${path} (replay it with \`vmamirror replay --trail ${path}\`)`);
}

/** A violation of a trail, resolved to this build's scenario and design. */
export interface TrailCell {
  readonly entry: TrailEntry;
  readonly spec: ScenarioSpec;
  readonly variant: MirrorVariant;
  /** The schedule to replay (the shrunk one when there is one) and its choices. */
  readonly choices: readonly number[];
}

function schedule(o: Obj, key: string, entry: { scenario: string; variant: string }, at: At): readonly number[] {
  const s = text(o, key, at);
  try {
    const parsed = decodeSchedule(s);
    if (parsed.scenario !== entry.scenario || parsed.variant !== entry.variant)
      at.in(key).bad(`names ${shown(parsed.scenario)}/${shown(parsed.variant)}, not the entry's ${shown(entry.scenario)}/${shown(entry.variant)}`);
    return parsed.choices;
  } catch (e) {
    if (e instanceof ScheduleSyntaxError) at.in(key).bad(e.message);
    throw e;
  }
}

function optionalText(o: Obj, key: string, at: At): string | undefined {
  return o[key] === undefined ? undefined : text(o, key, at);
}

/** One entry of a trail, checked and resolved (`file`: a scenario file given with --file, which wins over the entry's). */
function trailCell(o: Obj, at: At, file: ScenarioSpec | undefined): TrailCell {
  const scenario = text(o, 'scenario', at);
  const variantName = text(o, 'variant', at);
  const scenarioFile = optionalText(o, 'scenarioFile', at);
  const driver = optionalText(o, 'driver', at);
  const actors = o.actors;
  if (!Array.isArray(actors) || !actors.every((a) => typeof a === 'string')) at.in('actors').bad('expected the list of actor names');
  const property = text(o, 'property', at);
  const message = text(o, 'message', at);
  const found = schedule(o, 'schedule', { scenario, variant: variantName }, at);
  const shrunk = o.shrunk === undefined ? undefined : schedule(o, 'shrunk', { scenario, variant: variantName }, at);
  let spec: ScenarioSpec;
  if (file) {
    if (file.name !== scenario) at.in('scenario').bad(`is ${shown(scenario)}, but --file holds ${shown(file.name)}`);
    spec = file;
  } else if (scenarioFile !== undefined) spec = scenarioArgument(scenarioFile);
  else spec = scenarioByName(scenario) ?? at.in('scenario').bad(`unknown scenario ${shown(scenario)} (for a scenario file, pass --file FILE)`);
  if (spec.name !== scenario) at.in('scenarioFile').bad(`holds scenario ${shown(spec.name)}, not ${shown(scenario)}`);
  const variant = variantByName(variantName) ?? at.in('variant').bad(driver ? `${shown(variantName)} is a driver's design: pass --driver ${shown(driver)}` : `unknown variant ${shown(variantName)}`);
  if (!variantsFor(spec).includes(variant)) at.in('variant').bad(`${variant.name} does not apply to scenario ${spec.name}`);
  const entry: TrailEntry = {
    scenario,
    variant: variantName,
    ...(scenarioFile !== undefined && { scenarioFile }),
    ...(driver !== undefined && { driver }),
    actors: actors as string[],
    property,
    message,
    schedule: o.schedule as string,
    ...(shrunk && { shrunk: o.shrunk as string }),
  };
  return { entry, spec, variant, choices: shrunk ?? found };
}

/** The violations of trail file `path`, checked (exit 2 with one line on the first problem); `which`: only that one (numbered from 0). */
export function readTrail(path: string, which: number | undefined, file: ScenarioSpec | undefined): TrailCell[] {
  const at = new At(shown(path));
  const doc = obj(readJsonFile(path, 'a trail file', MAX_TRAIL_BYTES), at);
  if (doc.kind !== TRAIL_KIND) at.in('kind').bad(`expected "${TRAIL_KIND}" (a file written by \`check --trail\`), got ${shown(JSON.stringify(doc.kind) ?? 'nothing')}`);
  if (count(doc, 'version', at) !== TRAIL_VERSION) at.in('version').bad(`this build reads version ${TRAIL_VERSION}`);
  if (!Array.isArray(doc.violations)) at.in('violations').bad('expected a list');
  const list = doc.violations as unknown[];
  if (!list.length) at.in('violations').bad('is empty: the run found no violation, so there is nothing to replay');
  if (which !== undefined && which >= list.length) fail(`--violation ${which}: ${shown(path)} holds ${list.length} violation${list.length === 1 ? '' : 's'}, numbered 0 to ${list.length - 1}`);
  const picked = which === undefined ? list.map((_, i) => i) : [which];
  return picked.map((i) => trailCell(obj(list[i], at.in('violations').in(i)), at.in('violations').in(i), file));
}
