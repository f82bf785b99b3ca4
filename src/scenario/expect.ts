/**
 * The designs a scenario file names and what it expects of them (`driver`/`drivers`, `expect`),
 * checked in two passes: what the file alone can tell (load.ts runs `expectIssues` with the other
 * checks beyond the schema), then, once its driver modules are loaded, what needs the designs
 * (`resolveDesigns`: a pattern must name routines and labels of the design's model). Both report
 * through the loader's `ScenarioError`: file, line, key path, one problem a line.
 */
import type { MirrorVariant } from '../mirror/device.js';
import type { Era } from '../driver/era.js';
import { onEra } from '../driver/load.js';
import { VARIANTS, variantByName } from '../mirror/variants.js';
import { HOLDS, patternParts, type Expectation, type PatternStep } from '../check/expect.js';
import { PROPERTIES } from '../check/properties.js';
import { UNBALANCED } from '../check/balance.js';
import { OUTCOME } from '../check/outcome.js';
import { Verdicts } from '../engine/verdict.js';
import { Model } from '../world/registry.js';
import { KERNEL } from '../kernel/library.js';
import { KVM_LIB } from '../kvm/library.js';
import { WORKLOAD_LIB } from './workload.js';
import type { Issue, LoadedScenario } from './load.js';
import type { ScenarioSpec } from './spec.js';

/** One `expect` entry as written (`driver` resolved against the scenario file's folder). */
export interface ExpectEntry {
  readonly index: number;
  /** A driver module, or 2..4 of them side by side (device i is the i-th). */
  readonly driver?: string | readonly string[];
  readonly variant?: string;
  /** A kernel era module the design runs on (DESIGN@ERA). */
  readonly era?: string;
  readonly verdict: string;
  readonly message?: string;
  readonly pattern?: readonly string[];
}

/** What `verdict` may say: `holds`, or any check of the verdict module (built-in ones and the properties). */
export function verdictNames(): string[] {
  // `unbalanced` is checked for every design that declares balanced counters (src/check/balance.ts).
  // `outcome` for every scenario that states expected outcomes (src/check/outcome.ts).
  return [HOLDS, ...new Verdicts(PROPERTIES).list().map((c) => c.name), UNBALANCED, OUTCOME];
}

/** The problems of the `expect` entries that the file alone shows; `actors` are the scenario's actor names. */
export function expectIssues(entries: readonly Omit<ExpectEntry, 'index'>[], actors: ReadonlySet<string>): Issue[] {
  const out: Issue[] = [];
  entries.forEach((e, i) => {
    const at = ['expect', i];
    if ((e.driver === undefined) === (e.variant === undefined)) {
      out.push({ path: at, message: `${e.driver === undefined ? 'neither "driver" nor "variant"' : 'both "driver" and "variant"'}; expected one of them: the design this expectation is for` });
    }
    if (e.verdict === HOLDS) {
      for (const k of ['message', 'pattern'] as const) {
        if (e[k] !== undefined)
          out.push({
            path: [...at, k],
            at: 'key',
            message: `a design that holds has no violation to ${k === 'message' ? 'word' : 'trace'}; expected a verdict naming the check that fails, or no ${k}`,
          });
      }
    }
    (e.pattern ?? []).forEach((text, k) => {
      const p = patternParts(text);
      if (typeof p === 'string') out.push({ path: [...at, 'pattern', k], message: `found ${JSON.stringify(text)}; ${p}` });
      else if (p.length === 3 && !actors.has(p[0])) out.push({ path: [...at, 'pattern', k], message: notAnActor(p[0], actors) });
    });
  });
  return out;
}

const notAnActor = (name: string, actors: ReadonlySet<string>) => `"${name}" is not an actor of this scenario; expected one of ${[...actors].join(', ')}`;

/**
 * A pattern element's parts read against the model of its design (every routine of its world, with
 * its labels) and the scenario's actors: two names are `routine:label` when the first is a routine,
 * else `actor:routine`. A step pattern, or what is wrong.
 */
function patternStep(text: string, parts: readonly string[], model: Model, actors: ReadonlySet<string>, design: string): PatternStep | string {
  const twoAsActor = parts.length === 2 && !model.byNameOf(parts[0]);
  if (twoAsActor && !actors.has(parts[0])) return `"${parts[0]}" is neither a routine of the model of ${design} nor an actor of this scenario`;
  const [actor, routine, label] = parts.length === 3 ? parts : twoAsActor ? [parts[0], parts[1]] : [undefined, ...parts];
  const r = model.byNameOf(routine!);
  if (!r) return `no routine "${routine}" in the model of ${design} (the kernel, KVM, the workload and the design's own routines)`;
  if (label !== undefined && !r.labels.includes(label)) return `routine ${routine} has no label "${label}"; its labels: ${r.labels.join(', ')}`;
  return { text, routine: routine!, ...(actor !== undefined && { actor }), ...(label !== undefined && { label }) };
}

/**
 * The scenario with every design it names (its variants, its drivers, its expectations' designs)
 * and its expectations, once its drivers are loaded: `designOf(path)` gives the design of a driver
 * module the file names. A pattern naming no routine or label of its design's model, or two
 * expectations for one design, is a `ScenarioError`.
 */
export function resolveDesigns(
  loaded: LoadedScenario,
  designOf: (path: string) => MirrorVariant,
  eraOf: (path: string) => Era = () => {
    throw new Error('no era loaded');
  },
): { spec: ScenarioSpec; expectations: Expectation[] } {
  const { spec } = loaded;
  // Each driver the file names runs on its own, unless it is named only as part of designs side by side.
  const single = new Set(loaded.expect.flatMap((e) => (typeof e.driver === 'string' ? [e.driver] : [])));
  const drivers = loaded.drivers.filter((d) => d.at[0] !== 'expect' || single.has(d.path)).map((d) => designOf(d.path).name);
  // The designs the expectations name run too: side by side under their joined name, on an era under their own (variantsFor).
  const named: string[] = [];
  /** An expectation's design: its driver(s) side by side or its variant, on its era. */
  const designFor = (e: ExpectEntry): MirrorVariant => {
    const base = e.driver === undefined ? variantByName(e.variant!)! : typeof e.driver === 'string' ? designOf(e.driver) : variantByName(e.driver.map((d) => designOf(d).name).join('+'))!;
    named.push(base.name);
    return e.era === undefined ? base : onEra([base], eraOf(e.era))[0];
  };
  const issues: Issue[] = [];
  const expectations: Expectation[] = [];
  const seen = new Map<string, number>();
  const actors = new Set(spec.actors.map((a) => a.name));
  for (const e of loaded.expect) {
    const key = e.driver !== undefined ? 'driver' : 'variant';
    const design = designFor(e);
    const at = ['expect', e.index];
    const first = seen.get(design.name);
    if (first !== undefined) {
      issues.push({ path: [...at, key], message: `a second expectation for ${design.name} (the first is expect[${first}]); expected one per design` });
      continue;
    }
    seen.set(design.name, e.index);
    const model = new Model([KERNEL, KVM_LIB, WORKLOAD_LIB, design.library]);
    const pattern = e.pattern?.flatMap((text, k) => {
      const p = patternStep(text, patternParts(text) as string[], model, actors, design.name);
      if (typeof p !== 'string') return [p];
      issues.push({ path: [...at, 'pattern', k], message: p });
      return [];
    });
    expectations.push({
      scenario: spec.name,
      variant: design.name,
      verdict: e.verdict,
      ...(e.message !== undefined && { message: e.message }),
      ...(pattern && { pattern }),
      source: `${loaded.place(at)}: expect[${e.index}]`,
    });
  }
  const variants = spec.variants ? [...new Set([...spec.variants, ...drivers, ...named])] : undefined;
  // The routines a case exercises must be routines of a design it runs (or of the kernel, KVM, the workload).
  if (spec.exercises?.length) {
    const designs = [...loaded.drivers.map((d) => designOf(d.path)), ...(variants ?? VARIANTS.map((v) => v.name)).flatMap((n) => variantByName(n) ?? [])];
    const model = new Model([KERNEL, KVM_LIB, WORKLOAD_LIB, ...designs.map((d) => d.library)]);
    spec.exercises.forEach((name, i) => {
      if (!model.byNameOf(name))
        issues.push({ path: ['exercises', i], message: `no routine "${name}" in the model of the designs this scenario runs (the kernel, KVM, the workload and the designs' own routines)` });
    });
  }
  if (issues.length) throw loaded.problems(issues);
  return { spec: variants ? { ...spec, variants } : spec, expectations };
}
