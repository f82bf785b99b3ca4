/**
 * `vmamirror mutate`: mutation testing of a design (src/check/mutate.ts). One line per mutant as
 * soon as it is judged — id, category, outcome, detail — a hint under each survivor, then a
 * summary; or one JSON document. Exit codes: 0 every mutant caught, accepted or not checkable; 1
 * a mutant survived without an accepted reason (or the design is violated on every selected scenario); 3
 * a limit or an interrupt left a check undecided; 4 a model error while checking a mutant.
 */
import { mutate, type Mutant, type MutantOutcome, type MutantResult, type MutateReport } from '../check/mutate.js';
import { variantsFor } from '../check/run.js';
import { VARIANTS, variantByName } from '../mirror/variants.js';
import type { MirrorVariant } from '../mirror/device.js';
import { CATALOGUE } from '../scenario/catalogue.js';
import type { ScenarioSpec } from '../scenario/spec.js';
import { Budget, type RunContext } from './budget.js';
import { EXIT_HOLDS, EXIT_INCOMPLETE, EXIT_MODEL_ERROR, EXIT_VIOLATION, fail } from './exit.js';
import { scenarioArgument } from './selection.js';
import { shown } from './text.js';

export interface MutateCliOptions {
  design?: string;
  /** Set by main from --driver: the loaded drivers (the first is the default design). */
  drivers?: readonly MirrorVariant[];
  json?: boolean;
  maxStates?: number;
  timeLimit?: number;
}

/** The design mutated when --design is not given: the corrected one. */
export const DEFAULT_DESIGN = 'interval';

const OUTCOME_TEXT: Record<MutantOutcome, string> = {
  caught: 'caught',
  survived: 'SURVIVED',
  accepted: 'accepted',
  'not-checkable': 'not checkable',
  'model-error': 'model error',
  incomplete: 'incomplete',
};

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** What a line says after the outcome. */
function detail(r: MutantResult): string {
  switch (r.outcome) {
    case 'caught': {
      const c = r.caught!;
      const how = c.shrunk ? `shrunk to ${plural(c.shrunk.steps, 'step')}, ${plural(c.shrunk.preemptions, 'preemption')}` : plural(c.steps, 'step');
      const stale = r.staleReason ? ' (the design accepts it as a valid design: that reason is wrong)' : '';
      return `${c.property} on ${c.scenario}, ${how}: ${c.shrunk?.schedule ?? c.schedule}${stale}`;
    }
    case 'survived':
      return `on ${r.scenarios.join(', ')}`;
    case 'accepted':
      return `survived on ${plural(r.scenarios.length, 'scenario')}, a valid design: ${r.reason}`;
    case 'model-error':
      return `model error: ${r.reason}`;
    default:
      return r.reason ?? '';
  }
}

/** The design, and the scenarios to judge it on: every selected one must apply to it. */
function selection(names: readonly string[], designName: string | undefined, drivers: readonly MirrorVariant[] = []): { design: MirrorVariant; scenarios: readonly ScenarioSpec[] } {
  const name = designName ?? drivers[0]?.name ?? DEFAULT_DESIGN;
  const design = variantByName(name) ?? fail(`unknown design "${shown(name)}"; known: ${VARIANTS.map((v) => v.name).join(', ')}`);
  if (names.filter((n) => n === '-').length > 1) fail('standard input (-) can be read once');
  const scenarios = names.length ? names.map(scenarioArgument) : CATALOGUE;
  const twice = scenarios.find((s, i) => scenarios.findIndex((t) => t.name === s.name) !== i);
  if (twice) fail(`scenario "${shown(twice.name)}" is given twice`);
  const other = scenarios.find((s) => !variantsFor(s).includes(design));
  if (other) {
    fail(
      `scenario "${shown(other.name)}" does not apply to design ${design.name} (it lists ${variantsFor(other)
        .map((v) => v.name)
        .join(', ')})`,
    );
  }
  return { design, scenarios };
}

function summary(report: MutateReport): Record<MutantOutcome, number> {
  const n = { caught: 0, survived: 0, accepted: 0, 'not-checkable': 0, 'model-error': 0, incomplete: 0 };
  for (const r of report.mutants) n[r.outcome]++;
  return n;
}

function exitCode(report: MutateReport): number {
  const n = summary(report);
  if (n.survived) return EXIT_VIOLATION;
  if (!report.judges.length) return report.excluded.some((e) => e.verdict === 'violation') ? EXIT_VIOLATION : EXIT_INCOMPLETE;
  if (n['model-error']) return EXIT_MODEL_ERROR;
  return n.incomplete ? EXIT_INCOMPLETE : EXIT_HOLDS;
}

function excludedLine(design: string, e: MutateReport['excluded'][number]): string {
  const why = e.verdict === 'violation' ? `it is violated there (${e.property})` : `its check did not finish (${e.stopReason ?? 'limit'})`;
  return `note: ${e.scenario} judges no mutant: ${why} for ${design} itself`;
}

function json(report: MutateReport): string {
  const mutants = report.mutants.map(({ mutant, ...r }) => ({ id: mutant.id, category: mutant.category, site: mutant.site, ...r }));
  return JSON.stringify({ ...report, mutants, summary: summary(report) }, null, 2);
}

export function mutateCommand(names: string[], opts: MutateCliOptions, ctx: RunContext): number {
  const { design, scenarios } = selection(names, opts.design, opts.drivers);
  const budget = new Budget(opts.timeLimit, ctx.shouldStop);
  let widths = [0, 0];
  const text = !opts.json;
  const report = mutate(design, scenarios, {
    maxStates: opts.maxStates,
    shouldStop: budget.shouldStop,
    remainingMs: () => budget.remainingMs(),
    onBaseline: (judges, excluded, mutants: readonly Mutant[]) => {
      if (!text) return;
      widths = [Math.max(...mutants.map((m) => m.id.length)), Math.max(...mutants.map((m) => m.category.length))];
      for (const e of excluded) console.log(excludedLine(design.name, e));
      if (judges.length) console.log(`${plural(mutants.length, 'mutant')} of ${design.name}, judged on ${judges.join(', ')}`);
    },
    onMutant: (r) => {
      if (!text) return;
      console.log(`${r.mutant.id.padEnd(widths[0])}  ${r.mutant.category.padEnd(widths[1])}  ${OUTCOME_TEXT[r.outcome].padEnd(13)}  ${detail(r)}`);
      if (r.hint) console.log(`  hint: ${r.hint}`);
    },
  });
  const n = summary(report);
  const stopped = budget.spent();
  if (opts.json) console.log(json(report));
  else {
    if (!report.judges.length) {
      console.log(`${design.name} is proved on none of the selected scenarios: no scenario can judge its mutants`);
    } else {
      const parts = (Object.keys(n) as MutantOutcome[]).filter((k) => n[k]).map((k) => `${n[k]} ${OUTCOME_TEXT[k].toLowerCase()}`);
      console.log(`\n${plural(report.mutants.length, 'mutant')}: ${parts.join(', ')}`);
      if (n.caught) console.log('replay a counterexample with: vmamirror replay SCHEDULE --mutant ID');
    }
    for (const id of report.unknownAccepted) console.log(`note: ${design.name} accepts ${id}, which is not one of its mutants`);
  }
  if (stopped) {
    const line = `incomplete: ${stopped === 'time' ? 'out of --time-limit' : 'interrupted'}; the mutants not yet decided are incomplete`;
    if (opts.json) process.stderr.write(`vmamirror: ${line}\n`);
    else console.log(line);
  }
  return exitCode(report);
}
