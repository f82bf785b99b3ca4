/**
 * The inputs of `merge`, checked before anything is merged: each file must be a shard document as
 * `check --shard i/N --json` writes it — by kind (a catalogue shard, or a list of simulation shard
 * results) and by content (shard numbers, cell names and indices, verdict values, counts that are
 * non-negative integers, a counterexample on every violation whose schedule replays to it). The
 * first inconsistency is exit 2 with one line naming the file and what is wrong.
 */
import type { CatalogueShardResult, CellResult } from '../check/shard.js';
import { cellName } from '../check/shard.js';
import type { ScenarioSimulateResult } from '../check/run.js';
import { variantsFor } from '../check/run.js';
import { decodeSchedule, encodeSchedule, ScheduleSyntaxError } from '../engine/schedule.js';
import { shardRuns } from '../engine/shards.js';
import { LOCK_ORDER } from '../engine/verdict.js';
import { variantByName } from '../mirror/variants.js';
import { traceOf } from '../report/trace.js';
import { scenarioByName } from '../scenario/catalogue.js';
import type { ScenarioSpec } from '../scenario/spec.js';
import { amount, At, count, obj, oneOf, text, type Obj } from './json-input.js';
import { shown } from './text.js';
import { describeMember, swarmMember, type SwarmShardResult } from '../check/swarm.js';

export type ShardDocument =
  | { readonly kind: 'catalogue'; readonly doc: CatalogueShardResult }
  | { readonly kind: 'simulate'; readonly doc: ScenarioSimulateResult[] }
  | { readonly kind: 'swarm'; readonly doc: SwarmShardResult };

function shardOf(o: Obj, at: At): { index: number; count: number } {
  const s = obj(o.shard, at.in('shard'));
  const n = count(s, 'count', at.in('shard'), 1);
  const i = count(s, 'index', at.in('shard'));
  if (i >= n) at.in('shard').bad(`index ${i} is not below the count ${n}`);
  return { index: i, count: n };
}

/** Scenarios by name: the built-in catalogue, then the files given to `merge --file`. */
export type ScenarioLookup = (name: string) => ScenarioSpec | undefined;

/**
 * The counterexample of a violating result: its schedule string names this cell and holds the same
 * steps as `violation.schedule`, and replaying them violates the same property.
 */
function checkCounterexample(o: Obj, scenario: string, variant: string, lookup: ScenarioLookup, at: At): void {
  const v = obj(o.violation, at.in('violation'));
  const property = text(v, 'property', at.in('violation'));
  text(v, 'message', at.in('violation'));
  const steps = v.schedule;
  if (!Array.isArray(steps) || !steps.every((e) => Number.isSafeInteger(e) && (e as number) >= 0)) at.in('violation').in('schedule').bad('expected a list of schedule entries (non-negative integers)');
  const string = text(o, 'schedule', at);
  let parsed: ReturnType<typeof decodeSchedule>;
  try {
    parsed = decodeSchedule(string);
  } catch (e) {
    if (!(e instanceof ScheduleSyntaxError)) throw e;
    at.in('schedule').bad(e.message);
    return;
  }
  if (parsed.scenario !== scenario || parsed.variant !== variant) at.in('schedule').bad(`names ${shown(parsed.scenario)}/${shown(parsed.variant)}, not this cell`);
  if (encodeSchedule(scenario, variant, steps as number[]) !== encodeSchedule(scenario, variant, parsed.choices)) at.in('schedule').bad('differs from violation.schedule');
  const spec = lookup(scenario) ?? at.bad(`scenario ${shown(scenario)} is not built in: give its file with --file to replay the counterexample`);
  const trace = traceOf(spec, variantByName(variant)!, parsed.choices);
  if (trace.replayError) at.in('schedule').bad(`does not replay: ${trace.replayError}`);
  // A lock-order cycle is a finding of the whole search (its schedule runs to the step that closed
  // it): it replays, but no single schedule violates it.
  if (property === LOCK_ORDER) return;
  const found = trace.violated;
  if (found?.property !== property) at.in('schedule').bad(`does not replay to a ${shown(property)} violation (replayed: ${found ? found.property : 'no violation'})`);
}

/** The scenario and variant of a result: known to this build (or a --file), the variant applying to the scenario. */
function cellOf(o: Obj, lookup: ScenarioLookup, at: At): [string, string] {
  const scenario = text(o, 'scenario', at);
  const variant = text(o, 'variant', at);
  const v =
    variantByName(variant) ??
    at
      .in('variant')
      .bad(
        `unknown variant ${shown(variant)}${variant.includes('@') ? ': give the era module with --era (and its drivers with --driver), as the shards were checked' : ": a driver's design? give its module with --driver (or its scenario file with --file), as the shards were checked"}`,
      );
  const spec = lookup(scenario);
  if (spec && !variantsFor(spec).includes(v)) at.bad(`variant ${variant} does not apply to scenario ${shown(scenario)}`);
  return [scenario, variant];
}

const EXPLORE_VERDICTS = ['holds', 'violation', 'incomplete'] as const;
const STOP_REASONS = ['max-states', 'time', 'memory', 'interrupted', 'preemption-bound'] as const;

function checkCell(c: Obj, names: readonly string[], lookup: ScenarioLookup, at: At): void {
  const index = count(c, 'cell', at);
  if (index >= names.length) at.in('cell').bad(`cell ${index} is beyond the ${names.length} cells of the split`);
  const [scenario, variant] = cellOf(c, lookup, at);
  if (`${scenario}/${variant}` !== names[index]) at.bad(`cell ${index} is ${shown(names[index])} in the split, not ${shown(scenario)}/${shown(variant)}`);
  const verdict = oneOf(c, 'verdict', EXPLORE_VERDICTS, at);
  for (const k of ['states', 'transitions', 'depth']) count(c, k, at);
  for (const k of ['elapsedMs', 'bytesPerState', 'peakBytes']) amount(c, k, at);
  for (const k of ['peakRss', 'rssGrowth']) if (c[k] !== undefined && (typeof c[k] !== 'number' || !Number.isFinite(c[k]))) at.in(k).bad('expected a number');
  if (verdict === 'incomplete') oneOf(c, 'stopReason', STOP_REASONS, at);
  if (verdict === 'violation') checkCounterexample(c, scenario, variant, lookup, at);
  else if (c.violation !== undefined) at.in('violation').bad(`a ${verdict} cell has no counterexample`);
}

function catalogueShard(o: Obj, lookup: ScenarioLookup, at: At): CatalogueShardResult {
  shardOf(o, at);
  const total = count(o, 'cellsTotal', at, 1);
  const names = o.cellNames as string[];
  if (!Array.isArray(names) || names.length !== total || !names.every((n) => typeof n === 'string')) at.in('cellNames').bad(`expected the ${total} cell names of the split`);
  if (new Set(names).size !== names.length) at.in('cellNames').bad('names a cell twice');
  if (o.table !== undefined && typeof o.table !== 'boolean') at.in('table').bad('expected true or false');
  if (!Array.isArray(o.cells)) at.in('cells').bad('expected a list of cell results');
  const seen = new Set<number>();
  (o.cells as unknown[]).forEach((c, i) => {
    const cell = obj(c, at.in('cells').in(i));
    checkCell(cell, names, lookup, at.in('cells').in(i));
    if (seen.has(cell.cell as number))
      at.in('cells')
        .in(i)
        .bad(`cell ${cell.cell as number} is reported twice`);
    seen.add(cell.cell as number);
  });
  return o as unknown as CatalogueShardResult;
}

const SIM_VERDICTS = ['violation', 'no-violation-found', 'incomplete'] as const;

function simulationResult(o: Obj, lookup: ScenarioLookup, at: At): ScenarioSimulateResult {
  if (o.kind !== 'simulate') at.in('kind').bad('expected "simulate"');
  const [scenario, variant] = cellOf(o, lookup, at);
  const shard = shardOf(o, at);
  const verdict = oneOf(o, 'verdict', SIM_VERDICTS, at);
  oneOf(o, 'strategy', ['random', 'pct'], at);
  if (o.exhaustive !== false) at.in('exhaustive').bad('expected false');
  const seed = count(o, 'seed', at);
  if (seed > 0xffffffff) at.in('seed').bad('expected a 32-bit seed');
  count(o, 'maxSteps', at, 1);
  const total = count(o, 'runsTotal', at, 1);
  const requested = count(o, 'runsRequested', at);
  if (requested !== shardRuns(total, shard)) at.in('runsRequested').bad(`shard ${shard.index}/${shard.count} of ${total} runs has ${shardRuns(total, shard)} runs, not ${requested}`);
  const runs = count(o, 'runs', at);
  if (runs > requested) at.in('runs').bad(`more runs done (${runs}) than requested (${requested})`);
  for (const k of ['truncatedRuns', 'violatingRuns']) if (count(o, k, at) > runs) at.in(k).bad(`more than the ${runs} runs done`);
  for (const k of ['steps', 'states']) count(o, k, at);
  amount(o, 'elapsedMs', at);
  if (verdict === 'incomplete') oneOf(o, 'stopReason', ['time', 'interrupted', 'max-steps'], at);
  if (verdict === 'violation') {
    checkCounterexample(o, scenario, variant, lookup, at);
    const run = count(obj(o.violation, at), 'run', at.in('violation'));
    if (run >= total || run % shard.count !== shard.index) at.in('violation').in('run').bad(`run ${run} is not one of shard ${shard.index}/${shard.count}'s`);
  } else if (o.violation !== undefined) at.in('violation').bad(`a ${verdict} result has no counterexample`);
  return o as unknown as ScenarioSimulateResult;
}

const SWARM_VERDICTS = ['holds', 'violation', 'incomplete', 'no-violation-found'] as const;

/** A swarm member's document (`check --swarm --shard i/N --json`): it ran its own search (swarm.ts). */
function swarmShard(o: Obj, lookup: ScenarioLookup, at: At): SwarmShardResult {
  const shard = shardOf(o, at);
  const seed = count(o, 'seed', at);
  if (JSON.stringify(o.member) !== JSON.stringify(swarmMember(shard.index, seed)))
    at.in('member').bad(`member ${shard.index} of a swarm with seed ${seed} runs ${describeMember(swarmMember(shard.index, seed))}`);
  if (!Array.isArray(o.cells) || !o.cells.length) at.in('cells').bad('expected a non-empty list of cell results');
  const simulation = (o.member as { kind: string }).kind === 'pct' || (o.member as { kind: string }).kind === 'random';
  const seen = new Set<string>();
  (o.cells as unknown[]).forEach((x, i) => {
    const c = obj(x, at.in('cells').in(i));
    const cat = at.in('cells').in(i);
    const [scenario, variant] = cellOf(c, lookup, cat);
    if (seen.has(`${scenario}/${variant}`)) cat.bad(`${scenario}/${variant} appears twice`);
    seen.add(`${scenario}/${variant}`);
    const verdict = oneOf(c, 'verdict', SWARM_VERDICTS, cat);
    if (verdict === (simulation ? 'holds' : 'no-violation-found')) cat.in('verdict').bad(`a ${simulation ? 'simulation' : 'search'} member cannot say ${verdict}`);
    if (typeof c.complete !== 'boolean') cat.in('complete').bad('expected true or false');
    if (c.complete && verdict !== 'holds') cat.in('complete').bad(`a ${verdict} search is not complete`);
    const kind = (o.member as { kind: string }).kind;
    if (c.complete && kind !== 'bfs' && kind !== 'dfs') cat.in('complete').bad(`a ${kind} member does not search every state`);
    for (const k of ['states', 'steps']) count(c, k, cat);
    amount(c, 'elapsedMs', cat);
    if (c.runs !== undefined || simulation) count(c, 'runs', cat);
    if (c.coveredPreemptions !== undefined && count(c, 'coveredPreemptions', cat) !== (o.member as { preemptions?: number }).preemptions)
      cat.in('coveredPreemptions').bad('is not the bound of this member');
    if (verdict === 'violation') checkCounterexample(c, scenario, variant, lookup, cat);
    else if (c.violation !== undefined) cat.in('violation').bad(`a ${verdict} result has no counterexample`);
  });
  return o as unknown as SwarmShardResult;
}

/** Checks one parsed file: a catalogue shard, a swarm member, or a non-empty list of simulation shard results. */
export function shardDocument(doc: unknown, file: string, lookup: ScenarioLookup): ShardDocument {
  const at = new At(shown(file));
  if (Array.isArray(doc)) {
    if (!doc.length) at.bad('an empty list: no simulation result to merge');
    const rs = doc.map((r, i) => simulationResult(obj(r, at.in(i)), lookup, at.in(i)));
    const twice = rs.find((r, i) => rs.findIndex((q) => cellName(q) === cellName(r)) !== i);
    if (twice) at.bad(`${cellName(twice)} appears twice`);
    return { kind: 'simulate', doc: rs };
  }
  const o = obj(doc, at);
  if (o.kind === 'catalogue') return { kind: 'catalogue', doc: catalogueShard(o, lookup, at) };
  if (o.kind === 'swarm') return { kind: 'swarm', doc: swarmShard(o, lookup, at) };
  return at.bad('not a shard result: expected the JSON of `check --shard i/N --json` (a catalogue shard, a swarm member, or a list of simulation results)');
}

export function builtInOr(files: readonly ScenarioSpec[]): ScenarioLookup {
  return (name) => scenarioByName(name) ?? files.find((s) => s.name === name);
}

export type { CellResult };
