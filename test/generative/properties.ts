/**
 * The generative properties, one per oracle (oracles.ts), over generated scenarios (scenarios.ts).
 * A failing property throws with the shrunk scenario as a YAML file ready to commit; fast-check
 * prints the message of the smallest failing scenario it found.
 */
import fc from 'fast-check';
import { VARIANTS } from '../../src/mirror/variants.js';
import type { MirrorVariant } from '../../src/mirror/device.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { contains, GENERATED_LAYERS, scenarios, scenarioYaml, SMALL, supersetOf, type Size } from './scenarios.js';
import { check, correctedHolds, counterexampleReplays, caughtOnSuperset, knownFinding, loneActorCompletes, reductionAgrees } from './oracles.js';
import { catchName, type Catch } from './catalogue-catches.js';

const CORRECTED = VARIANTS[0];
const BROKEN = VARIANTS.slice(1);

/** What the runs saw, for the summary line. */
export const tally = { scenarios: 0, searches: 0, states: 0, incomplete: 0, violations: 0, known: new Map<string, number>() };

function run(spec: ScenarioSpec, design: MirrorVariant, opts = {}) {
  const r = check(spec, design, opts);
  tally.searches++;
  tally.states += r.states;
  if (r.verdict === 'incomplete') tally.incomplete++;
  if (r.verdict === 'violation') tally.violations++;
  const known = knownFinding(spec, r);
  if (known) tally.known.set(known, (tally.known.get(known) ?? 0) + 1);
  return r;
}

/** A property's failure: what is wrong, and the scenario as a file to commit. */
export class Finding extends Error {
  override readonly name = 'Finding';
  constructor(
    readonly problem: string,
    readonly yaml: string,
    note: string,
  ) {
    super(`${problem}\n\n# examples/generated-finding.yaml — ${note}\n${yaml}`);
  }
}

/** Fails with `problem` and the scenario as a file to commit (`variants`: the designs it is about). */
function fail(spec: ScenarioSpec, problem: string, variants: readonly string[], note = ''): never {
  const named = { ...spec, name: 'generated-finding' };
  throw new Finding(problem, scenarioYaml(named, problem, variants), note || 'check it with: vmamirror check examples/generated-finding.yaml');
}

/** Runs `body` on `spec`; a crash of the model in it (a ModelError, a TypeError…) is a finding too, with the scenario to commit. */
function guarded(spec: ScenarioSpec, design: MirrorVariant, body: () => void): void {
  try {
    body();
  } catch (e) {
    if (e instanceof Finding) throw e;
    fail(spec, `${design.name}: the model threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`, [design.base ?? design.name]);
  }
}

function expectNone(spec: ScenarioSpec, design: MirrorVariant, ...problems: (string | undefined)[]): void {
  const p = problems.find((x) => x !== undefined);
  if (p) fail(spec, p, [design.base ?? design.name]);
}

/** One actor: under the corrected design it holds; under any design it finishes (no BUG of the corrected design, no livelock, no deadlock); counterexamples replay. */
export function loneActor(size: Size = { ...SMALL, actors: 1, ops: 4, kvm: true, layers: GENERATED_LAYERS }) {
  return fc.property(scenarios({ ...size, actors: 1 }), fc.nat(BROKEN.length - 1), (spec, which) => {
    const broken = BROKEN[which];
    tally.scenarios++;
    guarded(spec, CORRECTED, () => {
      const r = run(spec, CORRECTED);
      expectNone(spec, CORRECTED, correctedHolds(spec, CORRECTED, r), loneActorCompletes(spec, CORRECTED, r), counterexampleReplays(spec, CORRECTED, r));
    });
    guarded(spec, broken, () => {
      const b = run(spec, broken);
      expectNone(spec, broken, loneActorCompletes(spec, broken, b), counterexampleReplays(spec, broken, b));
    });
  });
}

/** Several actors: the corrected design holds (known findings aside), and every counterexample (a known finding's too) replays. */
export function correctedDesign(size: Size = { ...SMALL, ops: 2, kvm: true, layers: GENERATED_LAYERS }) {
  return fc.property(scenarios(size, { min: 2, max: size.actors }), (spec) => {
    tally.scenarios++;
    guarded(spec, CORRECTED, () => {
      const r = run(spec, CORRECTED);
      expectNone(spec, CORRECTED, correctedHolds(spec, CORRECTED, r), counterexampleReplays(spec, CORRECTED, r));
    });
  });
}

/** Any design: the verdict is the same with and without step merging, and a preemption bound never invents a violation. */
export function reduction(size: Size = { ...SMALL, ops: 2, layers: GENERATED_LAYERS }) {
  return fc.property(scenarios(size, { min: 2, max: size.actors }), fc.nat(VARIANTS.length - 1), (spec, which) => {
    const design = VARIANTS[which];
    tally.scenarios++;
    guarded(spec, design, () => {
      const r = run(spec, design);
      expectNone(spec, design, reductionAgrees(spec, design, r), counterexampleReplays(spec, design, r));
    });
  });
}

/** Each catch (a design and the catalogue scenario catching it) still catches it on generated supersets of that scenario. */
export function caughtOnSupersets(catches: readonly Catch[], size: Size = { pages: 2, actors: 1, ops: 2 }) {
  // The catch by index: fast-check prints the values it draws, and a design is a whole routine library.
  const arb = fc.nat(catches.length - 1).chain((i) =>
    supersetOf(catches[i].base, size)
      .filter((s) => contains(s, catches[i].base))
      .map((spec) => ({ i, spec })),
  );
  return fc.property(arb, ({ i, spec }) => {
    const c = catches[i];
    tally.scenarios++;
    guarded(spec, c.design, () => {
      const r = run(spec, c.design);
      const problem = caughtOnSuperset(spec, c.design, c.base.name, r) ?? counterexampleReplays(spec, c.design, r);
      if (problem) fail(spec, `${catchName(c)}: ${problem}`, [c.design.name], c.mutant ? `mutant ${c.mutant}: vmamirror mutate examples/generated-finding.yaml` : '');
    });
  });
}
