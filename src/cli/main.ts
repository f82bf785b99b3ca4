/**
 * The `vmamirror` command: its subcommands and options, and the one place where errors become exit
 * codes and lines (`vmamirror: …`, never a stack trace). Exit codes: exit.ts. The process runs this
 * in a worker thread (host.ts) so that Ctrl-C and SIGTERM reach a free event loop; tests call
 * `main` in-process.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { CATALOGUE, scenarioByName } from '../scenario/catalogue.js';
import { clearLoadedVariants, VARIANTS, variantByName } from '../mirror/variants.js';
import type { MirrorVariant } from '../mirror/device.js';
import { DriverError } from '../driver/define.js';
import { clearDrivers, driverFile, driverInStack, driverNamedIn, loadDriver, loadEra, onEra } from '../driver/load.js';
import type { Era } from '../driver/era.js';
import { Model } from '../world/registry.js';
import { PROPERTIES } from '../check/properties.js';
import { productModel, shrinkCounterexample, variantsFor } from '../check/run.js';
import { decodeSchedule, encodeSchedule, ScheduleSyntaxError } from '../engine/schedule.js';
import { ScheduleError } from '../world/runner.js';
import { replayText, stateTablesText } from '../report/text.js';
import { explainRoutine, explainVariant } from '../report/explain.js';
import { Verdicts } from '../engine/verdict.js';
import { stateAfter, traceOf, type Trace } from '../report/trace.js';
import type { ScenarioSpec } from '../scenario/spec.js';
import { LOCK_ORDER } from '../engine/verdict.js';
import { readTrail, type TrailEntry } from './trail.js';
import { ScenarioError } from '../scenario/load.js';
import { ModelError } from '../world/errors.js';
import { byteSize, nonNegativeInt, positiveInt, seconds, shardArg, workerCount } from './args.js';
import type { RunContext } from './budget.js';
import { checkExhaustive, type ExhaustiveCliOptions } from './check.js';
import { EXIT_HOLDS, EXIT_MODEL_ERROR, EXIT_USAGE, EXIT_VIOLATION, fail, UsageError } from './exit.js';
import { mergeFiles } from './merge.js';
import { scenarioArgument, select } from './selection.js';
import { clearScenarioFiles, preloadScenarioFiles } from './scenario-files.js';
import { checkSimulate, type SimulateCliOptions } from './simulate.js';
import { checkSwarm } from './swarm.js';
import { printable, shown } from './text.js';
import { DEFAULT_DESIGN, mutateCommand, type MutateCliOptions } from './mutate.js';
import { mutantVariant, parseMutantId } from '../check/mutate.js';
import { MUTATION_CATEGORIES } from '../kernel/mutation-hooks.js';

export { EXIT_HOLDS, EXIT_VIOLATION, EXIT_USAGE, EXIT_INCOMPLETE, EXIT_MODEL_ERROR } from './exit.js';
export type { RunContext } from './budget.js';

type CheckCliOptions = ExhaustiveCliOptions & Omit<SimulateCliOptions, 'simulate'> & { simulate?: string | true; swarm?: boolean; variant?: string[]; driver?: string[]; era?: string };

/** Options of one mode given to the other: refused, never silently ignored. */
const SIMULATION_ONLY: [keyof CheckCliOptions, string][] = [
  ['runs', '--runs'],
  ['seed', '--seed'],
  ['depth', '--depth'],
  ['maxSteps', '--max-steps'],
];
const EXHAUSTIVE_ONLY: [keyof CheckCliOptions, string][] = [
  ['maxStates', '--max-states'],
  ['maxMemory', '--max-memory'],
  ['dfs', '--dfs'],
  ['bfs', '--bfs'],
  ['preemptions', '--preemptions'],
  ['lockOrder', '--lock-order'],
  ['exact', '--exact'],
  ['abstractCounters', '--abstract-counters'],
  ['concreteCounters', '--concrete-counters'],
  ['symmetry', '--symmetry'],
  ['workers', '--workers'],
  ['iteratePreemptions', '--iterate-preemptions'],
  ['maxViolations', '--max-violations'],
  ['allViolations', '--all-violations'],
  ['html', '--html'],
  ['junit', '--junit'],
];

/** What a swarm member decides itself (src/check/swarm.ts): refused with --swarm; the budget options apply to every member. */
const NOT_WITH_SWARM: [keyof CheckCliOptions, string][] = [
  ['simulate', '--simulate'],
  ['depth', '--depth'],
  ['trail', '--trail'],
  ...EXHAUSTIVE_ONLY.filter(([k]) => k !== 'maxStates' && k !== 'maxMemory'),
];

function check(names: string[], opts: CheckCliOptions, ctx: RunContext, drivers: readonly MirrorVariant[], era: Era | undefined): number {
  const given = (k: keyof CheckCliOptions) => opts[k] !== undefined;
  if (opts.swarm) {
    const wrong = NOT_WITH_SWARM.find(([k]) => given(k))?.[1] ?? (opts.por === false ? '--no-por' : opts.shrink === false ? '--no-shrink' : undefined);
    if (wrong) fail(`${wrong} does not apply to --swarm: each member's search is chosen by its shard index (README "Swarm")`);
    return checkSwarm(select(names, opts.variant, drivers, era), opts, ctx);
  }
  if (opts.simulate) {
    const wrong = EXHAUSTIVE_ONLY.find(([k]) => given(k))?.[1] ?? (opts.por === false ? '--no-por' : opts.shrink === false ? '--no-shrink' : undefined);
    if (wrong) fail(`${wrong} applies to exhaustive checks, not to --simulate`);
  } else {
    const wrong = SIMULATION_ONLY.find(([k]) => given(k))?.[1];
    if (wrong) fail(`${wrong} applies to --simulate only`);
  }
  const sel = select(names, opts.variant, drivers, era);
  return opts.simulate ? checkSimulate(sel, { ...opts, simulate: opts.simulate }, ctx) : checkExhaustive(sel, opts, ctx);
}

function firstSentence(text: string): string {
  return /^.*?[.!?](?=\s|$)/s.exec(text)?.[0] ?? text;
}

function list(drivers: readonly MirrorVariant[], era: Era | undefined): number {
  console.log('Scenarios:');
  for (const s of CATALOGUE) console.log(`  ${s.name.padEnd(18)} ${firstSentence(s.description)}`);
  console.log('\nVariants:');
  for (const v of VARIANTS) console.log(`  ${v.name.padEnd(18)} ${v.summary}${v.reproduces.length ? ` [${v.reproduces.join(', ')}]` : ''}`);
  if (drivers.length) {
    console.log('\nDrivers (--driver):');
    for (const d of drivers) console.log(`  ${d.name.padEnd(18)} ${d.summary} (${driverFile(d.name) ?? '?'})`);
  }
  if (era) {
    console.log(`\nEra (--era): every design above runs as DESIGN@${era.name}`);
    console.log(`  ${era.name.padEnd(18)} ${era.summary}`);
    // The model resolves the era's replacements with those of the eras it builds on (registry.ts).
    for (const [original, by] of new Model([era.library]).replaced) console.log(`  ${''.padEnd(18)} replaces ${original.name} with ${by.name}`);
  }
  console.log('\nChecks (built in, then the properties):');
  for (const c of new Verdicts(PROPERTIES).list()) console.log(`  ${c.name.padEnd(18)} ${c.description}`);
  return EXIT_HOLDS;
}

interface ReplayOptions {
  file?: string;
  shrink?: boolean;
  mutant?: string;
  dump?: number;
  /** --tables: after the last step (true) or after step N. */
  tables?: true | number;
  trail?: string;
  violation?: number;
  abstractCounters?: boolean;
}

function replay(text: string | undefined, opts: ReplayOptions): number {
  if (text !== undefined && opts.trail !== undefined) fail('give a schedule or --trail FILE, not both');
  if (opts.violation !== undefined && opts.trail === undefined) fail('--violation picks a violation of a --trail file');
  const mutant = opts.mutant === undefined ? undefined : parseMutantId(opts.mutant);
  if (typeof mutant === 'string') fail(shown(mutant, 300));
  const as = (design: MirrorVariant) => (mutant ? mutantVariant(design, mutant) : design);
  if (opts.trail !== undefined) {
    const cells = readTrail(opts.trail, opts.violation, opts.file === undefined ? undefined : scenarioArgument(opts.file));
    if (opts.dump !== undefined && cells.length > 1) fail(`--dump needs one violation: ${shown(opts.trail)} holds ${cells.length}; pick one with --violation N`);
    let violated = false;
    cells.forEach((c, i) => {
      if (cells.length > 1) console.log(`${i ? '\n' : ''}=== violation ${i + 1} of ${cells.length}: ${c.entry.scenario}/${c.entry.variant}`);
      const original = c.entry.shrunk ? decodeSchedule(c.entry.schedule).choices : undefined;
      const trace = replayTrace(c.spec, as(c.variant), c.choices, opts, original);
      console.log(reproduced(c.entry, trace));
      violated ||= trace.violated !== undefined;
    });
    return violated ? EXIT_VIOLATION : EXIT_HOLDS;
  }
  if (text === undefined) fail('give a schedule (SCENARIO/VARIANT:CHOICES) or --trail FILE');
  const s = decodeSchedule(text);
  const spec = opts.file ? scenarioArgument(opts.file) : (scenarioByName(s.scenario) ?? fail(`unknown scenario "${shown(s.scenario)}" (for a scenario file, pass --file FILE)`));
  if (spec.name !== s.scenario) fail(`the schedule is for scenario "${shown(s.scenario)}" but ${shown(opts.file!)} holds "${shown(spec.name)}"`);
  const design = variantByName(s.variant) ?? fail(`unknown variant "${shown(s.variant)}"`);
  if (!variantsFor(spec).includes(design)) fail(`variant ${design.name} does not apply to ${spec.name}`);
  return replayTrace(spec, as(design), s.choices, opts).violated ? EXIT_VIOLATION : EXIT_HOLDS;
}

/**
 * Replays `choices` (shrunk first with --shrink, unless `original` says they are the shrunk form of
 * that schedule) and prints the trace; with --tables the state tables after a step, with --dump the
 * whole state after that step.
 */
function replayTrace(spec: ScenarioSpec, variant: MirrorVariant, choices: readonly number[], opts: ReplayOptions, original?: readonly number[]): Trace {
  const counters = opts.abstractCounters ? { concrete: spec.concreteCounters } : undefined;
  let trace = traceOf(spec, variant, choices, counters);
  if (original) trace = { ...trace, shrunkFrom: encodeSchedule(spec.name, variant.name, original) };
  else if (opts.shrink && trace.violated) {
    const shrunk = shrinkCounterexample(spec, variant, choices, true, counters).schedule;
    trace = { ...traceOf(spec, variant, shrunk, counters), shrunkFrom: encodeSchedule(spec.name, variant.name, choices) };
  }
  // A schedule that cannot run at all (an unknown actor) is an input error with nothing to show.
  if (trace.replayError && !trace.steps.length) fail(trace.replayError);
  const n = trace.steps.length;
  const inTrace = (option: string, step: number) => step < n || fail(`${option} ${step}: the trace has ${n} step${n === 1 ? '' : 's'}, numbered 0 to ${n - 1}`);
  if (opts.dump !== undefined) inTrace('--dump', opts.dump);
  const tablesAt = opts.tables === true ? n - 1 : opts.tables;
  if (tablesAt !== undefined) inTrace('--tables', tablesAt);
  console.log(replayText(trace));
  if (tablesAt !== undefined) console.log(`\n${stateTablesText(trace.steps[tablesAt].tables, `after step ${tablesAt}`)}`);
  if (opts.dump !== undefined) console.log(`\nThe whole state after step ${opts.dump}:\n${JSON.stringify(stateAfter(spec, variant, decodeSchedule(trace.schedule).choices, opts.dump), null, 2)}`);
  if (trace.replayError) fail(trace.replayError);
  return trace;
}

/** Whether a trail's violation replays as it was recorded. */
function reproduced(entry: TrailEntry, trace: Trace): string {
  // A lock-order cycle is a finding of the whole search: the trace ends at the step that closed it.
  if (entry.property === LOCK_ORDER) return 'Recorded: a lock-order cycle of the whole search; the trace ends at the step that closed it.';
  if (trace.violated?.property === entry.property) return `Reproduced: ${entry.property}, as the trail recorded.`;
  return `NOT reproduced: the trail recorded ${entry.property} (${shown(entry.message, 200)}); this build gives ${trace.violated ? trace.violated.property : 'no violation'}.`;
}

function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** What a run's program reports back: its exit code, and the drivers its --driver options loaded (async runs only). */
interface Run {
  code: number;
  /** --driver paths as given -> the loaded design; undefined in a synchronous run (`main`), which cannot load modules. */
  readonly drivers: Map<string, MirrorVariant> | undefined;
  /** The --era module, once loaded. */
  era?: Era;
}

/** The designs of this command's --driver paths (loaded before the action by `mainAsync`). */
function driversOf(run: Run, paths: readonly string[] | undefined): MirrorVariant[] {
  if (!paths?.length) return [];
  if (!run.drivers) fail('--driver needs the vmamirror command (in-process: mainAsync), which can load modules');
  return paths.map((p) => run.drivers!.get(p) ?? fail(`--driver ${shown(p)}: not loaded`));
}

/**
 * How a module's path and its load error are shown: escaped like any input, but long enough for a
 * deep path and for the cause (an esbuild error, a citation the library refuses) not to be cut.
 */
const moduleText = (s: string): string => shown(s, 300);

/** The era of this command's --era path (loaded before the action by `mainAsync`). */
function eraOf(run: Run, path: string | undefined): Era | undefined {
  if (path === undefined) return undefined;
  if (!run.drivers) fail('--era needs the vmamirror command (in-process: mainAsync), which can load modules');
  return run.era ?? fail(`--era ${shown(path)}: not loaded`);
}

const ERA_HELP = 'a kernel era: a module outside the package whose default export is defineEra({...}) from vmamirror, replacing kernel routines by name; every design runs on it as DESIGN@ERA';

const DRIVER_HELP = 'a mirror design in a module outside the package (.ts, .mts, .js, .mjs): its default export is defineDriver({...}) from vmamirror';

function program(ctx: RunContext, run: Run): Command {
  const program = new Command('vmamirror')
    .description('Model-check process-memory mirroring against MMU notifiers, HMM and KVM')
    .version(version(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      // Commander's own errors (unknown option, missing argument) in the command's one format.
      outputError: (s, write) => write(`vmamirror: ${printable(s.replace(/^error: /, '').trimEnd())}\n`),
    });
  program
    .command('check')
    .description('check scenarios (default: the whole catalogue under every variant, as a verdict table)')
    .argument('[scenario...]', 'built-in scenario names or scenario files (.yaml, .yml, .json)')
    .option('--variant <name...>', 'mirror variants to check (default: all; with --driver: the loaded drivers)')
    .option('--driver <file...>', DRIVER_HELP)
    .option('--era <file>', ERA_HELP)
    .option('--bfs', 'breadth-first (default): the first counterexample is a shortest one')
    .option('--dfs', 'depth-first: less memory, counterexamples not shortest')
    .option('--no-por', 'turn off the footprint-based reduction (merging steps that touch only their own frames)')
    .option('--max-states <n>', 'stop a cell after this many states (verdict: incomplete)', positiveInt)
    .option('--max-memory <size>', "stop before the process's resident memory reaches this (e.g. 2G)", byteSize)
    .option('--time-limit <seconds>', 'stop after this long (one deadline for the whole command)', seconds)
    .option('--preemptions <k>', 'only schedules with at most k preemptions (a bounded search: verdict incomplete unless a violation is found)', nonNegativeInt)
    .option('--lock-order', 'also check the order locks are taken in over the whole search (lockdep): a cycle is a lock-order violation')
    .option('--exact', 'store whole states, not 64-bit fingerprints: no state can be missed by a collision (more memory per state)')
    .option(
      '--abstract-counters',
      'rename the live values of unbounded counters (page generations, sequence numbers: docs/reduction.md) to canonical ones, so that retry loops with a new value each time end; sound for code that only copies, bumps and compares them',
    )
    .option('--concrete-counters <domain...>', 'with --abstract-counters: keep these counter domains concrete (page-gen, kvm-seq), for a race that depends on the value itself (a wrap, a sign)')
    .option(
      '--symmetry',
      'renumber interchangeable rows (swap slots: docs/reduction.md) canonically, so that states that differ only in which slot an allocation took are one, and permute the actors a scenario file declares interchangeable (symmetric: [[a, b]]); stops with an error on a scenario where either is not a symmetry',
    )
    .option(
      '--iterate-preemptions',
      'when a limit stops the search, search again with at most 0, 1, 2, … preemptions within what is left, and report the largest bound covered completely (with --time-limit, the exhaustive attempt gets half of it)',
    )
    .option(
      '--workers <n>',
      'search each cell on n threads in all (this one and n - 1 workers; auto: one per core) sharing one fingerprint table (default 1): the same verdict, counts and counterexamples as one thread; not with --dfs or --exact',
      workerCount,
    )
    .option('--simulate [strategy]', 'random walks (random, default) or probabilistic concurrency testing (pct) instead of exhaustive search')
    .option('--runs <n>', 'simulation runs (default 1000)', positiveInt)
    .option('--seed <n>', 'simulation seed (default 1)', nonNegativeInt)
    .option('--depth <d>', 'PCT bug depth (default 3)', positiveInt)
    .option('--max-steps <n>', 'simulation: steps per run before it is cut', positiveInt)
    .option('--shard <i/N>', 'run only shard i of N (numbered from 0): catalogue cells (balanced by cost), or simulation runs', shardArg)
    .option(
      '--swarm',
      'with --shard i/N: be member i of a swarm of N diversified searches (breadth-first, depth-first with seeded orders, PCT, preemption-bounded, random) over the selected cells; `merge` their --json into one verdict with coverage',
    )
    .option('--no-shrink', 'print only the shortest counterexample, not also the one shrunk to the fewest preemptions')
    .option('--json', 'print results as JSON')
    .option('--html <file>', 'write a self-contained HTML report of the first counterexample (or of the single result)')
    .option('--junit <file>', 'write JUnit XML, one testcase per scenario × variant')
    .option('--trail <file>', 'write every violation found (cell, actors, schedules) as a JSON trail file that `replay --trail` reads back')
    .option('--max-violations <n>', 'keep searching after a violation until n distinct ones are found (distinct: another check, or a message that differs in more than its numbers)', positiveInt)
    .option('--all-violations', 'keep searching after a violation and report every distinct one (--max-violations without a bound)')
    .action((names: string[], opts: CheckCliOptions) => {
      run.code = check(names, opts, ctx, driversOf(run, opts.driver), eraOf(run, opts.era));
    });
  program
    .command('merge')
    .description('merge shard results (the JSON of `check --shard i/N --json`) into one verdict')
    .argument('<file...>')
    .option('--file <path...>', 'scenario files of the shards (to replay their counterexamples; the drivers and eras they name are loaded)')
    .option('--driver <file...>', `${DRIVER_HELP} (the --driver modules the shards were checked with)`)
    .option('--era <file>', `${ERA_HELP} (the --era module the shards were checked with)`)
    .option('--json', 'print the merged result as JSON')
    .action((files: string[], opts: { json?: boolean; file?: string[]; driver?: string[]; era?: string }) => {
      // Each shard's counterexample is replayed: its design must be known here as it was there.
      const drivers = driversOf(run, opts.driver);
      const era = eraOf(run, opts.era);
      if (era) onEra([...VARIANTS, ...drivers], era);
      run.code = mergeFiles(files, opts);
    });
  program
    .command('explain')
    .description(
      "print a variant's routines, or one kernel/KVM routine, as C-like text: labels, what each step models, the fields it reads and writes with their protections, calls and blocking points",
    )
    .argument('<variant-or-routine>')
    .option('--driver <file...>', DRIVER_HELP)
    .action((name: string, opts: { driver?: string[] }) => {
      const drivers = driversOf(run, opts.driver);
      const v = variantByName(name);
      if (v) console.log(explainVariant(v));
      else {
        const r =
          drivers.flatMap((d) => d.library.routines).find((x) => x.name === name) ??
          productModel().byNameOf(name) ??
          fail(`unknown variant or routine "${shown(name)}"; variants: ${[...VARIANTS, ...drivers].map((x) => x.name).join(', ')}; or a routine name such as handle_mm_fault`);
        console.log(explainRoutine(r));
      }
      run.code = EXIT_HOLDS;
    });
  program
    .command('mutate')
    .description(
      "mutation testing: make a design's standard mutants at its kernel-API call sites (a lock dropped, a recheck dropped, set_seq moved, a pte installed writable, ...), check each on the scenarios, and say which one survives",
    )
    .argument('[scenario...]', 'built-in scenario names or scenario files (default: the whole catalogue)')
    .option('--design <name>', `the design to mutate (default: ${DEFAULT_DESIGN}; with --driver: the first driver)`)
    .option('--driver <file...>', DRIVER_HELP)
    .option('--max-states <n>', 'stop a check after this many states (the mutant: incomplete)', positiveInt)
    .option('--time-limit <seconds>', 'stop after this long (one deadline for the whole command)', seconds)
    .option('--json', 'print the results as JSON')
    .addHelpText(
      'after',
      `
Categories: ${MUTATION_CATEGORIES.join(', ')}.
Outcomes: caught (property, scenario, shrunk counterexample: replay it with --mutant), SURVIVED (with a
hint: the actors a scenario would need), accepted (survived, and the design records why it is valid
too), not checkable (drop-barrier: the model is sequentially consistent), model error, incomplete.
Exit codes: 0 every mutant caught, accepted or not checkable; 1 a mutant survived without an accepted
reason, or the design is violated on every selected scenario; 2 usage or input error; 3 a limit or an
interrupt left a mutant undecided; 4 a model error while checking a mutant.`,
    )
    .action((names: string[], opts: MutateCliOptions & { driver?: string[] }) => {
      run.code = mutateCommand(names, { ...opts, drivers: driversOf(run, opts.driver) }, ctx);
    });
  program
    .command('list')
    .description('list scenarios, variants and properties (with --driver / --era: the loaded ones too)')
    .option('--driver <file...>', DRIVER_HELP)
    .option('--era <file>', ERA_HELP)
    .action((opts: { driver?: string[]; era?: string }) => {
      run.code = list(driversOf(run, opts.driver), eraOf(run, opts.era));
    });
  program
    .command('replay')
    .description('replay a counterexample schedule (SCENARIO/VARIANT:CHOICES) and print its trace')
    .argument('[schedule]', 'SCENARIO/VARIANT:CHOICES (or give --trail FILE)')
    .option('--trail <file>', 'replay the violations of a trail file written by `check --trail`')
    .option('--violation <n>', 'with --trail: only violation n of the file (numbered from 0)', nonNegativeInt)
    .option('--file <path>', 'the scenario file the schedule was found on (for scenarios that are not built in)')
    .option('--shrink', 'first shrink the schedule to the fewest preemptions, then actors, then steps (printed with the original)')
    .option('--abstract-counters', 'judge it as `check --abstract-counters` does: a fair cycle may close up to a renaming of page generations and sequence numbers (docs/reduction.md)')
    .option('--mutant <id>', 'replay it on a mutant of the design (an id printed by `vmamirror mutate`, e.g. drop-lock@mirror_invalidate:lock)')
    .option('--tables [step]', 'also print the notifier registrations, HMM ranges, sequence numbers, locks and their holders after the last step (or after step N)', nonNegativeInt)
    .option('--dump <step>', "also print the whole state after step N of the trace (every non-zero field of every object, every actor's frames), as JSON", nonNegativeInt)
    .option('--driver <file...>', DRIVER_HELP)
    .option('--era <file>', `${ERA_HELP} (for a schedule that names DESIGN@ERA)`)
    .action((text: string | undefined, opts: ReplayOptions & { driver?: string[]; era?: string }) => {
      const drivers = driversOf(run, opts.driver);
      const era = eraOf(run, opts.era);
      if (era) onEra([...VARIANTS, ...drivers], era);
      run.code = replay(text, opts);
    });
  return program;
}

/** An error of a run as its exit code, its one line written to stderr. */
function codeOf(e: unknown): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_HOLDS : EXIT_USAGE;
  if (e instanceof UsageError || e instanceof ScheduleSyntaxError || e instanceof ScheduleError || e instanceof ScenarioError || e instanceof DriverError) {
    process.stderr.write(`vmamirror: ${printable(e.message)}\n`);
    return EXIT_USAGE;
  }
  if (e instanceof ModelError) {
    // A driver's own model error (an unknown label, a step that blocked after writing) names its file.
    const d = driverNamedIn(e.message);
    process.stderr.write(`vmamirror: model error${d ? ` in ${d.what} ${d.file}${d.routine ? ` (routine ${d.routine})` : ''}` : ''}: ${printable(e.message)}\n`);
    return EXIT_MODEL_ERROR;
  }
  // A fault of the checker itself, or an exception of a driver's code: one line (the stack with VMAMIRROR_DEBUG=1), exit 4.
  const err = e instanceof Error ? e : new Error(String(e));
  const file = driverInStack(err.stack);
  const what = file ? `error in driver ${file}` : 'internal error';
  process.stderr.write(`vmamirror: ${what}: ${printable(err.message)}${process.env.VMAMIRROR_DEBUG ? `\n${err.stack}` : ''}\n`);
  return EXIT_MODEL_ERROR;
}

function fresh(): void {
  clearLoadedVariants();
  clearDrivers();
  clearScenarioFiles();
}

/** Runs the command in-process (tests): everything but --driver, which loads modules (`mainAsync`). */
export function main(argv: readonly string[], ctx: RunContext = { progress: process.stderr.isTTY === true }): number {
  fresh();
  const run: Run = { code: EXIT_HOLDS, drivers: undefined };
  try {
    program(ctx, run).parse(argv as string[], { from: 'user' });
  } catch (e) {
    return codeOf(e);
  }
  return run.code;
}

/** Runs the command as the binary does (worker.ts): first loads the --driver modules of the chosen command. */
export async function mainAsync(argv: readonly string[], ctx: RunContext = { progress: process.stderr.isTTY === true }): Promise<number> {
  fresh();
  const run: Run = { code: EXIT_HOLDS, drivers: new Map() };
  const p = program(ctx, run);
  p.hook('preAction', async (_p, action) => {
    const opts = action.opts() as { driver?: string[]; era?: string; file?: string | string[] };
    for (const path of opts.driver ?? []) {
      if (!run.drivers!.has(path)) run.drivers!.set(path, await loadDriver(path, moduleText));
    }
    if (opts.era !== undefined) run.era = await loadEra(opts.era, moduleText);
    // The drivers scenario files name, where the command reads scenario files and runs designs.
    const name = action.name();
    const files = name === 'check' || name === 'mutate' ? action.args : opts.file === undefined ? [] : typeof opts.file === 'string' ? [opts.file] : opts.file;
    await preloadScenarioFiles(
      files,
      (path) => loadDriver(path, moduleText),
      opts.driver ?? [],
      (path) => loadEra(path, moduleText),
    );
  });
  try {
    await p.parseAsync(argv as string[], { from: 'user' });
  } catch (e) {
    return codeOf(e);
  }
  return run.code;
}
