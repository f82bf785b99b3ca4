/**
 * The `vmamirror` command. Exit codes: 0 holds (for the catalogue table: every expectation met),
 * 1 a violation (table: the corrected design violated, or a broken variant not caught),
 * 2 usage or input error, 3 incomplete (a limit was hit), 4 a model error (a fault of the model or
 * of a driver's model code itself — unknown label, a frame overflow, a routine outside the model —
 * never a verdict on the design).
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { CATALOGUE, scenarioByName } from '../scenario/catalogue.js';
import { VARIANTS, variantByName } from '../mirror/variants.js';
import { PROPERTIES } from '../check/properties.js';
import { catalogueCells, checkCatalogue, shrinkCounterexample, tableExpectations, variantsFor, type CheckOptions, type CheckResult } from '../check/run.js';
import { decodeSchedule, encodeSchedule, ScheduleSyntaxError } from '../engine/schedule.js';
import { ScheduleError } from '../world/runner.js';
import { replayText, resultLine, verdictTable } from '../report/text.js';
import { ProgressLine } from './progress.js';
import { bfs } from '../engine/bfs.js';
import { dfs } from '../engine/dfs.js';
import { explainRoutine, explainVariant } from '../report/explain.js';
import { productModel } from '../check/run.js';
import { Verdicts } from '../engine/verdict.js';
import { junitReport } from '../report/junit.js';
import { renderHtmlReport } from '../report/html.js';
import { counterexampleTrace, traceOf, type Trace } from '../report/trace.js';
import { traceJson } from '../report/json.js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { simulateScenario, type ScenarioSimulateResult } from '../check/run.js';
import { checkCatalogueShard, formatShard, mergeCatalogueShards, mergeShardResults, parseShard, type CatalogueShardResult, type MergedResult, type Shard } from '../check/shard.js';
import { encodeChoices } from '../engine/schedule.js';
import type { MirrorVariant } from '../mirror/device.js';
import { formatOf, loadScenarioFile, ScenarioError } from '../scenario/load.js';
import type { ScenarioSpec } from '../scenario/spec.js';
import { ModelError } from '../world/errors.js';

export const EXIT_HOLDS = 0;
export const EXIT_VIOLATION = 1;
export const EXIT_USAGE = 2;
export const EXIT_INCOMPLETE = 3;
export const EXIT_MODEL_ERROR = 4;

class UsageError extends Error {}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

/** Parses a byte size such as 512M, 2G, 1.5G or a plain number of bytes. */
function byteSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`expected a size such as 512M or 2G, got "${value}"`);
  const scale = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.round(Number(m[1]) * scale);
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  return n;
}

function shardArg(value: string): Shard {
  try {
    return parseShard(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number of seconds, got "${value}"`);
  return n;
}

function exitCodeFor(results: readonly CheckResult[], table: boolean): number {
  if (table) {
    const { ok } = tableExpectations(results);
    if (!ok) return EXIT_VIOLATION;
  } else if (results.some((r) => r.verdict === 'violation')) {
    return EXIT_VIOLATION;
  }
  return results.some((r) => r.verdict === 'incomplete') ? EXIT_INCOMPLETE : EXIT_HOLDS;
}

interface CheckCliOptions {
  simulate?: string | boolean;
  runs?: number;
  seed?: number;
  depth?: number;
  maxSteps?: number;
  shard?: Shard;
  variant?: string[];
  maxStates?: number;
  maxMemory?: number;
  timeLimit?: number;
  dfs?: boolean;
  bfs?: boolean;
  por?: boolean;
  json?: boolean;
  html?: string;
  junit?: string;
  preemptions?: number;
  shrink?: boolean;
}

function check(names: string[], opts: CheckCliOptions): number {
  const scenarios = names.length ? names.map(scenarioArgument) : CATALOGUE;
  const variants = opts.variant?.length
    ? opts.variant.map((n) => variantByName(n) ?? fail(`unknown variant "${n}"; known: ${VARIANTS.map((v) => v.name).join(', ')}`))
    : VARIANTS;
  const table = names.length === 0 && !opts.variant?.length;
  if (opts.dfs && opts.bfs) fail('--bfs and --dfs exclude each other');
  if (opts.simulate) return simulateCheck(scenarios, variants, opts);
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  const progress = !opts.json && process.stderr.isTTY ? new ProgressLine() : undefined;
  const exploreOpts: CheckOptions = {
    maxStates: opts.maxStates,
    maxMemoryBytes: opts.maxMemory,
    timeLimitMs: opts.timeLimit !== undefined ? opts.timeLimit * 1000 : undefined,
    strategy: opts.dfs ? dfs : bfs,
    merge: opts.por !== false,
    preemptions: opts.preemptions,
    // Shrinking costs replays; the table prints shortest schedules only.
    shrink: opts.shrink !== false && !table,
    shouldStop: () => interrupted,
    onProgress: progress ? (p) => progress.show(p) : undefined,
  };
  const report = (r: CheckResult) => {
    progress?.clear();
    if (!opts.json && (!table || opts.shard)) console.log(resultLine(r));
  };
  try {
    if (opts.shard) return shardCheck(scenarios, variants, exploreOpts, opts, report);
    const results = checkCatalogue(exploreOpts, scenarios, variants, report);
    const traceFor = tracesOf(scenarios);
    writeReports(results, traceFor, opts);
    if (opts.json) console.log(JSON.stringify(withTraces(results, traceFor), null, 2));
    else if (table) {
      console.log(verdictTable(results));
      const { problems } = tableExpectations(results);
      for (const p of problems) console.log(`UNEXPECTED: ${p}`);
    }
    return exitCodeFor(results, table);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

type TraceFor = (r: CheckResult | ScenarioSimulateResult) => Trace | undefined;

/**
 * The trace of each result's counterexample (`counterexampleTrace`: the shrunk one if any), made
 * once per result however many reports render it.
 */
function tracesOf(scenarios: readonly ScenarioSpec[]): TraceFor {
  const made = new Map<object, Trace | undefined>();
  return (r) => {
    if (!made.has(r)) made.set(r, counterexampleTrace(r, scenarios.find((s) => s.name === r.scenario)));
    return made.get(r);
  };
}

/** --json: the results, each violation followed by the trace of its counterexample (src/report/json.ts). */
function withTraces<R extends CheckResult | ScenarioSimulateResult>(results: readonly R[], traceFor: TraceFor): object[] {
  return results.map((r) => {
    const t = traceFor(r);
    const { violation, ...rest } = r;
    return { ...rest, violation, ...(t && { trace: traceJson(t) }) };
  });
}

/**
 * --html: the report of the first counterexample (or of the only result, if there is one cell);
 * --junit: every cell as a testcase.
 */
function writeReports(results: readonly CheckResult[], traceFor: TraceFor, opts: CheckCliOptions): void {
  if (opts.junit) writeFileSync(opts.junit, junitReport(results));
  if (opts.html) {
    const r = results.find((x) => x.verdict === 'violation') ?? results[0];
    if (!r) return;
    writeFileSync(opts.html, renderHtmlReport({ result: r, trace: traceFor(r) }));
    if (!opts.json) console.log(`HTML report of ${r.scenario}/${r.variant}: ${opts.html}`);
  }
}

/** --simulate: random walks or PCT per cell; never claims more than "no violation found". */
function simulateCheck(scenarios: readonly ScenarioSpec[], variants: readonly MirrorVariant[], opts: CheckCliOptions): number {
  const strategy = opts.simulate === true ? 'random' : opts.simulate;
  if (strategy !== 'random' && strategy !== 'pct') fail(`--simulate takes random or pct, got "${strategy}"`);
  const results: ScenarioSimulateResult[] = [];
  for (const { scenario: spec, variant: v } of catalogueCells(scenarios, variants)) {
    const r = simulateScenario(spec, v, { runs: opts.runs ?? 1000, seed: opts.seed ?? 1, strategy, depth: opts.depth, maxSteps: opts.maxSteps, shard: opts.shard });
    results.push(r);
    if (!opts.json) {
      const head = `${r.scenario}/${r.variant}: ${r.verdict} — ${r.runs} ${strategy} runs, ${r.steps} steps, ${r.states} distinct states${opts.shard ? ` (shard ${formatShard(opts.shard)})` : ''}`;
      console.log(r.violation ? `${head}
  ${r.violation.property}: ${r.violation.message}
  schedule: ${r.schedule}` : head);
    }
  }
  if (opts.json) console.log(JSON.stringify(opts.shard ? results : withTraces(results, tracesOf(scenarios)), null, 2));
  if (results.some((r) => r.verdict === 'violation')) return EXIT_VIOLATION;
  return results.some((r) => r.verdict === 'incomplete') ? EXIT_INCOMPLETE : EXIT_HOLDS;
}

/** --shard i/N without --simulate: this machine's share of the scenario × variant cells. */
function shardCheck(
  scenarios: readonly ScenarioSpec[],
  variants: readonly MirrorVariant[],
  exploreOpts: CheckOptions,
  opts: CheckCliOptions,
  report: (r: CheckResult) => void,
): number {
  const r = checkCatalogueShard(opts.shard!, exploreOpts, scenarios, variants, report);
  if (opts.json) console.log(JSON.stringify(r, null, 2));
  return exitCodeFor(r.cells, false);
}

/** merge: shard outputs (`check --shard i/N --json`) into one verdict. */
function mergeFiles(files: string[], opts: { json?: boolean }): number {
  const docs = files.map((f) => {
    try {
      return JSON.parse(readFileSync(f, 'utf8')) as unknown;
    } catch (e) {
      return fail(`${f}: not a shard result (${(e as Error).message})`);
    }
  });
  if (docs.every((d) => (d as { kind?: string }).kind === 'catalogue')) {
    const m = mergeCatalogueShards(docs as CatalogueShardResult[]);
    if (opts.json) console.log(JSON.stringify(m, null, 2));
    else {
      console.log(verdictTable(m.results));
      if (m.missingShards.length) console.log(`missing shards: ${m.missingShards.join(', ')}`);
    }
    if (m.missingCells.length) return EXIT_INCOMPLETE;
    return exitCodeFor(m.results, false);
  }
  if (docs.every((d) => Array.isArray(d))) {
    const groups = new Map<string, ScenarioSimulateResult[]>();
    for (const r of docs.flat() as ScenarioSimulateResult[]) {
      const key = `${r.scenario}/${r.variant}`;
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    let code = EXIT_HOLDS;
    const out: Record<string, MergedResult> = {};
    for (const [key, rs] of groups) {
      const m = mergeShardResults(rs);
      out[key] = m;
      if (!opts.json) console.log(`${key}: ${m.verdict}${m.violation ? ` — ${m.violation.property}: ${m.violation.message}\n  schedule: ${key}:${encodeChoices(m.violation.schedule)}` : ''}${m.missingShards.length ? ` (missing shards ${m.missingShards.join(', ')})` : ''}`);
      if (m.verdict === 'violation') code = EXIT_VIOLATION;
      else if (m.verdict === 'incomplete' && code === EXIT_HOLDS) code = EXIT_INCOMPLETE;
    }
    if (opts.json) console.log(JSON.stringify(out, null, 2));
    return code;
  }
  return fail('merge takes the JSON outputs of `check --shard i/N --json` (all catalogue shards, or all simulation shards)');
}

/** A built-in scenario name, or a YAML/JSON scenario file (its own `variants` restrict what runs). */
function scenarioArgument(arg: string): ScenarioSpec {
  if (formatOf(arg) || existsSync(arg)) {
    const loaded = loadScenarioFile(arg);
    return { ...loaded.spec, variants: loaded.variants.map((v) => v.name) };
  }
  return scenarioByName(arg) ?? fail(`unknown scenario "${arg}"; known: ${CATALOGUE.map((s) => s.name).join(', ')} (or a .yaml/.json file)`);
}

function fail(message: string): never {
  throw new UsageError(message);
}

function firstSentence(text: string): string {
  return /^.*?[.!?](?=\s|$)/s.exec(text)?.[0] ?? text;
}

function list(): number {
  console.log('Scenarios:');
  for (const s of CATALOGUE) console.log(`  ${s.name.padEnd(18)} ${firstSentence(s.description)}`);
  console.log('\nVariants:');
  for (const v of VARIANTS) console.log(`  ${v.name.padEnd(18)} ${v.summary}${v.reproduces.length ? ` [${v.reproduces.join(', ')}]` : ''}`);
  console.log('\nChecks (built in, then the properties):');
  for (const c of new Verdicts(PROPERTIES).list()) console.log(`  ${c.name.padEnd(18)} ${c.description}`);
  return EXIT_HOLDS;
}

function replay(text: string, opts: { file?: string; shrink?: boolean }): number {
  const s = decodeSchedule(text);
  const spec = opts.file ? scenarioArgument(opts.file) : (scenarioByName(s.scenario) ?? fail(`unknown scenario "${s.scenario}" (for a scenario file, pass --file FILE)`));
  if (spec.name !== s.scenario) fail(`the schedule is for scenario "${s.scenario}" but ${opts.file} holds "${spec.name}"`);
  const variant = variantByName(s.variant) ?? fail(`unknown variant "${s.variant}"`);
  if (!variantsFor(spec).includes(variant)) fail(`variant ${variant.name} does not apply to ${spec.name}`);
  let trace = traceOf(spec, variant, s.choices);
  if (opts.shrink && trace.violated) {
    const shrunk = shrinkCounterexample(spec, variant, s.choices).schedule;
    trace = { ...traceOf(spec, variant, shrunk), shrunkFrom: encodeSchedule(spec.name, variant.name, s.choices) };
  }
  // A schedule that cannot run at all (an unknown actor) is an input error with nothing to show.
  if (trace.replayError && !trace.steps.length) fail(trace.replayError);
  console.log(replayText(trace));
  if (trace.replayError) fail(trace.replayError);
  return trace.violated ? EXIT_VIOLATION : EXIT_HOLDS;
}

export function main(argv: readonly string[]): number {
  let code = EXIT_HOLDS;
  const program = new Command('vmamirror')
    .description('Model-check process-memory mirroring against MMU notifiers, HMM and KVM')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program
    .command('check')
    .description('check scenarios (default: the whole catalogue under every variant, as a verdict table)')
    .argument('[scenario...]', 'built-in scenario names or scenario files (.yaml, .yml, .json)')
    .option('--variant <name...>', 'mirror variants to check (default: all)')
    .option('--bfs', 'breadth-first (default): the first counterexample is a shortest one')
    .option('--dfs', 'depth-first: less memory, counterexamples not shortest')
    .option('--no-por', 'turn off the footprint-based reduction (merging steps that touch only their own frames)')
    .option('--max-states <n>', 'stop after this many states (verdict: incomplete)', positiveInt)
    .option('--max-memory <size>', 'stop when the explorer holds this much (e.g. 2G)', byteSize)
    .option('--time-limit <seconds>', 'stop after this long', seconds)
    .option('--preemptions <k>', 'only schedules with at most k preemptions (a bounded search: verdict incomplete unless a violation is found)', nonNegativeInt)
    .option('--simulate [strategy]', 'random walks (random, default) or probabilistic concurrency testing (pct) instead of exhaustive search')
    .option('--runs <n>', 'simulation runs (default 1000)', positiveInt)
    .option('--seed <n>', 'simulation seed (default 1)', nonNegativeInt)
    .option('--depth <d>', 'PCT bug depth (default 3)', positiveInt)
    .option('--max-steps <n>', 'simulation: steps per run before it is cut', positiveInt)
    .option('--shard <i/N>', 'run only shard i of N (numbered from 0): catalogue cells, or simulation runs', shardArg)
    .option('--no-shrink', 'print only the shortest counterexample, not also the one shrunk to the fewest preemptions')
    .option('--json', 'print results as JSON')
    .option('--html <file>', 'write a self-contained HTML report of the first counterexample (or of the single result)')
    .option('--junit <file>', 'write JUnit XML, one testcase per scenario × variant')
    .action((names: string[], opts) => {
      code = check(names, opts);
    });
  program
    .command('merge')
    .description('merge shard results (the JSON of `check --shard i/N --json`) into one verdict')
    .argument('<file...>')
    .option('--json', 'print the merged result as JSON')
    .action((files: string[], opts: { json?: boolean }) => {
      code = mergeFiles(files, opts);
    });
  program
    .command('explain')
    .description("print a variant's routines, or one kernel/KVM routine, as C-like text: labels, what each step models, the fields it reads and writes with their protections, calls and blocking points")
    .argument('<variant-or-routine>')
    .action((name: string) => {
      const v = variantByName(name);
      if (v) console.log(explainVariant(v));
      else {
        const r = productModel().byNameOf(name) ?? fail(`unknown variant or routine "${name}"; variants: ${VARIANTS.map((x) => x.name).join(', ')}; or a routine name such as handle_mm_fault`);
        console.log(explainRoutine(r));
      }
      code = EXIT_HOLDS;
    });
  program.command('list').description('list scenarios, variants and properties').action(() => {
    code = list();
  });
  program
    .command('replay')
    .description('replay a counterexample schedule (SCENARIO/VARIANT:CHOICES) and print its trace')
    .argument('<schedule>')
    .option('--file <path>', 'the scenario file the schedule was found on (for scenarios that are not built in)')
    .option('--shrink', 'first shrink the schedule to the fewest preemptions, then actors, then steps (printed with the original)')
    .action((text: string, opts: { file?: string; shrink?: boolean }) => {
      code = replay(text, opts);
    });
  try {
    program.parse(argv as string[], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_HOLDS : EXIT_USAGE;
    if (e instanceof UsageError || e instanceof ScheduleSyntaxError || e instanceof ScheduleError || e instanceof ScenarioError) {
      process.stderr.write(`vmamirror: ${e.message}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof ModelError) {
      process.stderr.write(`vmamirror: model error: ${e.message}\n`);
      return EXIT_MODEL_ERROR;
    }
    throw e;
  }
  return code;
}
