/**
 * `npm run fuzz -- --seed S --runs N`: the long run of the generative test of the model
 * (test/generative/model.test.ts runs the same properties, bounded, in CI). Tries N scenarios in
 * all, dealt to the properties as the test deals them, every mutant of the corrected design
 * judged; stops at the first failure, prints the shrunk scenario and writes it as a YAML file
 * ready to commit (`--out`, default the working folder). Exit 0: nothing found; 1: a finding.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { brokenCatches, mutantCatches } from '../test/generative/catalogue-catches.js';
import { caughtOnSupersets, correctedDesign, Finding, loneActor, reduction, tally } from '../test/generative/properties.js';

const { values } = parseArgs({
  options: { seed: { type: 'string', default: String(Date.now() % 2 ** 31) }, runs: { type: 'string', default: '5000' }, out: { type: 'string', default: '.' } },
});
const seed = Number(values.seed);
const runs = Number(values.runs);
if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(runs) || runs < 1) {
  console.error(`fuzz: expected --seed INTEGER --runs POSITIVE-INTEGER, got --seed ${values.seed} --runs ${values.runs}`);
  process.exit(2);
}

const started = Date.now();
console.log(`fuzz: seed ${seed}, ${runs} scenarios; finding where the catalogue catches the broken designs and mutants…`);
/** What the run needs of fast-check's details, whatever the property's values. */
interface Outcome {
  readonly numRuns: number;
  readonly failed: boolean;
  readonly error: unknown;
  readonly numShrinks: number;
  readonly path: string | null;
}
function checked<T>(property: fc.IProperty<T>, params: fc.Parameters<T>): Outcome {
  const d = fc.check(property, params);
  return { numRuns: d.numRuns, failed: d.failed, error: d.errorInstance, numShrinks: d.numShrinks, path: d.counterexamplePath };
}
const properties: [string, number, (params: { seed: number; numRuns: number }) => Outcome][] = [
  ['one actor', 30, (p) => checked(loneActor(), p)],
  ['corrected design', 30, (p) => checked(correctedDesign(), p)],
  ['reduction', 15, (p) => checked(reduction(), p)],
  ['broken designs on supersets', 15, (p) => checked(caughtOnSupersets(brokenCatches()), p)],
  ['mutants on supersets', 10, (p) => checked(caughtOnSupersets(mutantCatches()), p)],
];
for (const [i, [name, share, run]] of properties.entries()) {
  const details = run({ seed: seed + i, numRuns: Math.ceil((runs * share) / 100) });
  const known = [...tally.known].map(([k, n]) => `${k} ×${n}`).join(', ') || 'none';
  console.log(
    `${name}: ${details.numRuns} scenarios${details.failed ? ', FAILED' : ''} (so far: ${tally.searches} searches, ${tally.states} states, ${tally.incomplete} capped, known findings: ${known})`,
  );
  if (details.failed) {
    const e = details.error;
    if (!(e instanceof Finding)) throw e;
    const file = join(values.out, `fuzz-${seed + i}.yaml`);
    writeFileSync(file, e.yaml);
    console.log(`\n${e.problem}\nshrunk ${details.numShrinks} times; replay the run with --seed ${seed} (fast-check path ${details.path})\nwritten to ${file}:\n\n${e.yaml}`);
    process.exit(1);
  }
}
console.log(`fuzz: nothing found in ${((Date.now() - started) / 1000).toFixed(0)} s`);
