/**
 * The trace of a schedule: the ONE place where a report builds a scenario's world and replays a
 * schedule. `traceOf` builds the world once, runs the schedule step by step with the runner's
 * `traceStep` (an entry may take an alternative of a step that branches), records every step
 * with every layer's snapshot and the state tables after it (`reportLayers`, `stateTables`), the
 * snapshot and tables before the first step, a replay error if the schedule stops early, and at the
 * end the verdict as the verdict module gives it (`Verdicts.afterStep`: a kernel BUG raised by the
 * last step, then the properties).
 *
 * Every rendering consumes this object and rebuilds nothing: the HTML report
 * (`renderHtmlReport`), the text of `vmamirror replay` (`replayText`) and the JSON of
 * `vmamirror check --json` (`traceJson`).
 */
import type { CheckResult } from '../check/run.js';
import { PROPERTIES } from '../check/properties.js';
import { outcomeCheck } from '../check/outcome.js';
import { LOCK_ORDER, Verdicts, type Found, type Violation } from '../engine/verdict.js';
import { decodeSchedule, encodeSchedule } from '../engine/schedule.js';
import { judgeSchedule } from '../engine/replay.js';
import type { CounterOptions } from '../engine/counters.js';
import { variantByName } from '../mirror/variants.js';
import type { MirrorVariant } from '../mirror/device.js';
import { buildScenario } from '../scenario/build.js';
import { scenarioByName } from '../scenario/catalogue.js';
import type { Op, ScenarioSpec } from '../scenario/spec.js';
import { anyText } from '../scenario/operations.js';
import { racingSteps } from './legend.js';
import { entryActor } from '../world/entry.js';
import { ScheduleError } from '../world/errors.js';
import { traceStep, type TraceStep } from '../world/runner.js';
import { reportLayers, type LayerSpec, type Snapshot } from './snapshot.js';
import { stateTables, type StateTable } from './state-tables.js';
import { dump } from '../world/describe.js';

/** One step of a trace: the runner's record of it, its actor's index, and every layer and state table after it. */
export interface TracedStep extends TraceStep {
  readonly actorIndex: number;
  readonly snapshot: Snapshot;
  /** Notifier registrations, HMM ranges, sequence numbers, locks and holders after the step (state-tables.ts). */
  readonly tables: readonly StateTable[];
}

export interface Trace {
  readonly scenario: string;
  readonly variant: string;
  /** The schedule replayed, as `SCENARIO/VARIANT:CHOICES`. */
  readonly schedule: string;
  /** Set when `schedule` is a shrunk counterexample: the schedule it was shrunk from. */
  readonly shrunkFrom?: string;
  /** Actor names, by actor index. */
  readonly actors: readonly string[];
  /** The scenario's description (a paragraph). */
  readonly description?: string;
  /** Each actor's operations as the scenario gives them (`access mm=introspector page=0`), by actor index. */
  readonly operations?: readonly (readonly string[])[];
  /** Indices into `steps` of the racing steps (legend.ts `racingSteps`), when the schedule violates. */
  readonly racing?: readonly number[];
  readonly layers: readonly LayerSpec[];
  /** Every layer before the first step. */
  readonly initial: Snapshot;
  /** The state tables before the first step (absent when the trace could not be built). */
  readonly initialTables?: readonly StateTable[];
  /** The steps that ran, in order. */
  readonly steps: readonly TracedStep[];
  /** Set when the schedule could not be replayed in full (the steps that ran are kept). */
  readonly replayError?: string;
  /** The schedule's verdict as the engine gives it (`judgeSchedule`: BUG, properties, deadlock, termination); unset when none is violated or the replay stopped early. */
  readonly violated?: Found;
}

/**
 * Builds the world of `spec` under `variant` and replays `schedule` (schedule entries: actor
 * indices, with an alternative for a step that branches) from its initial state, recording each
 * step. A schedule the world cannot run (an unknown actor, a finished or blocked one, an
 * alternative of a step that does not branch) stops the trace with `replayError`; a fault of the
 * model itself (ModelError) is thrown.
 */
export function traceOf(spec: ScenarioSpec, variant: MirrorVariant, schedule: readonly number[], counters?: CounterOptions): Trace {
  const { world: w } = buildScenario(spec, variant);
  const { layers, read } = reportLayers(w, spec);
  const actors = [...w.layout.actorNames];
  const operations = actors.map((a) => {
    const actor = spec.actors.find((x) => x.name === a);
    return actor?.any ? [anyText(actor.any)] : (actor?.ops ?? []).map(opText);
  });
  const base = {
    scenario: spec.name,
    variant: variant.name,
    schedule: encodeSchedule(spec.name, variant.name, schedule),
    actors,
    description: spec.description,
    operations,
    layers,
    initial: read(w),
    initialTables: stateTables(w),
  };
  const unknown = schedule.map(entryActor).find((a) => a >= actors.length);
  if (unknown !== undefined) {
    return { ...base, steps: [], replayError: `actor index ${unknown} out of range (actors: ${actors.map((n, i) => `${i}=${n}`).join(', ')})` };
  }
  const steps: TracedStep[] = [];
  const start = w.snapshot();
  for (let i = 0; i < schedule.length; i++) {
    try {
      // A kernel-bug schedule may end with an attempt that blocked where it must not sleep:
      // traceStep records it (outcome sleep/spin, nothing changed).
      const t = traceStep(w, schedule[i], i);
      steps.push({ ...t, actorIndex: entryActor(t.entry), snapshot: read(w), tables: stateTables(w) });
    } catch (e) {
      if (!(e instanceof ScheduleError)) throw e;
      return { ...base, steps, replayError: e.message.startsWith(`step ${i}:`) ? e.message : `step ${i}: ${e.message}` };
    }
  }
  // The verdict of the whole schedule, as the engine gives it (deadlock and termination included),
  // audited as `check` searches and as the steps above were traced (a driver's data race is a BUG).
  w.load(start);
  w.audit = true;
  // The scenario's expected outcomes are a check of its own (src/check/outcome.ts).
  // Counters renamed as the search renamed them: a fair cycle it found may close only up to renaming.
  const violated = judgeSchedule(w, schedule, { properties: spec.outcomes?.length ? [...PROPERTIES, outcomeCheck().property] : PROPERTIES, counters });
  return { ...base, steps, violated, ...(violated && { racing: racingSteps(steps, violated.message) }) };
}

/** An operation of a scenario as one line: its name, then its fields (`value` in hexadecimal). */
function opText(op: Op): string {
  const fields = Object.entries(op)
    .filter(([k]) => k !== 'op')
    .map(([k, v]) => `${k}=${k === 'value' && typeof v === 'number' ? `0x${v.toString(16)}` : String(v)}`);
  return [op.op, ...fields].join(' ');
}

/**
 * The whole state after step `step` of `schedule` (`vmamirror replay --dump`): every object's
 * non-zero fields and every actor's frames (src/world/describe.ts `dump`), the steps traced as in
 * `traceOf`. The schedule must run that far (the caller replayed it first).
 */
export function stateAfter(spec: ScenarioSpec, variant: MirrorVariant, schedule: readonly number[], step: number): Record<string, unknown> {
  const { world: w } = buildScenario(spec, variant);
  for (let i = 0; i <= step; i++) traceStep(w, schedule[i], i);
  return dump(w);
}

/** What `counterexampleTrace` reads of a check's (or a simulation's) result. */
export type CounterexampleOf = Pick<CheckResult, 'scenario' | 'variant' | 'schedule' | 'shrunk' | 'counters'> & { readonly violation?: Violation };

/**
 * The trace of a result's counterexample: the shrunk one when there is one (the search's schedule
 * in `shrunkFrom`), else the one the search found. `spec` defaults to the built-in scenario of
 * that name (pass it for a scenario loaded from a file). Undefined for a result without one.
 */
export function counterexampleTrace(result: CounterexampleOf, spec?: ScenarioSpec): Trace | undefined {
  if (!result.violation) return undefined;
  const scenario = spec ?? scenarioByName(result.scenario);
  const variant = variantByName(result.variant);
  if (!scenario || !variant) {
    const missing = !scenario ? `scenario "${result.scenario}"` : `variant "${result.variant}"`;
    const schedule = result.schedule ?? encodeSchedule(result.scenario, result.variant, result.violation.schedule);
    return { scenario: result.scenario, variant: result.variant, schedule, actors: [], layers: [], initial: {}, steps: [], replayError: `unknown ${missing}: the trace cannot be replayed` };
  }
  if (result.violation.property === LOCK_ORDER) {
    // A cycle of the whole search's lock-order graph: no schedule replays to it. Its schedule is the
    // first one through the step that closed the cycle; the trace ends at that step, with the finding.
    const { property, message } = result.violation;
    return { ...traceOf(scenario, variant, result.violation.schedule), violated: { property, message } };
  }
  if (!result.shrunk) return traceOf(scenario, variant, result.violation.schedule, result.counters);
  const original = result.schedule ?? encodeSchedule(scenario.name, variant.name, result.violation.schedule);
  return { ...traceOf(scenario, variant, decodeSchedule(result.shrunk.schedule).choices, result.counters), shrunkFrom: original };
}

/** Every check a search asks (the built-in ones, then the properties), with what each means. */
export function checkedProperties(): readonly { readonly name: string; readonly description: string }[] {
  return new Verdicts(PROPERTIES).list();
}

/** What check `name` (built-in or a property) means, from the verdict module. */
export function propertyDescription(name: string): string | undefined {
  return new Verdicts(PROPERTIES).describe(name);
}
