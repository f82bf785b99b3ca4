/**
 * Scenarios that state expected outcomes on worker threads: each thread checks its own copy of the
 * outcome check (src/check/outcome.ts), and what each learned — which allowed outcomes some final
 * state it made matched — joins the search's at the end (verdict.ts `Property.learned`), so that
 * the coverage question after a search that holds ("is each allowed outcome reached by some
 * interleaving?") has the one-thread answer. The workers run the compiled model (dist/).
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { checkOne } from '../../src/check/run.js';
import { parallelCell } from '../../src/cli/parallel-cell.js';
import { variantByName } from '../../src/mirror/variants.js';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';
import { ROOT, vmamirror } from '../helpers/cli.js';
import { parallelOutcome } from '../helpers/parallel-outcome.js';

describe('expected outcomes on worker threads', () => {
  for (const name of ['K05-memslot-move', 'K01-mprotect-ro-vcpus', 'K01-mprotect-ro-guest-write']) {
    it(`${name}: the one-thread result, every allowed outcome reached by the threads together`, { timeout: 120_000 }, () => {
      const file = join(ROOT, 'fidelity', `${name}.yaml`);
      const { spec } = loadScenarioFile(file);
      const variants = spec.variants ?? ['interval'];
      expect(variants.length).toBeGreaterThan(0);
      for (const variant of variants) {
        const design = variantByName(variant)!;
        expect(design, variant).toBeDefined();
        const one = checkOne(spec, design, { shrink: false });
        expect(one.verdict).toBe('holds');
        // Every level on both threads, three times: the threads split the final states differently each run.
        for (let run = 0; run < 3; run++) {
          const two = checkOne(spec, design, { shrink: false, parallel: { ...parallelCell(2, { scenario: spec.name, file, variant, drivers: [] }), together: true, sharedLevel: 1 } });
          expect(parallelOutcome(two)).toEqual(parallelOutcome(one));
        }
      }
    });
  }

  it('an allowed outcome no interleaving reaches is reported on two threads as on one', { timeout: 120_000 }, () => {
    const file = join(ROOT, 'fidelity', 'K01-mprotect-ro-vcpus.yaml');
    // The same case with one more allowed outcome that no run ends in: vcpu1's second access returning 99.
    const doc = parse(readFileSync(file, 'utf8'));
    const impossible = structuredClone(doc.outcomes[0]);
    impossible.name = 'impossible';
    impossible.observe.find((o: { result?: { actor: string; op: number } }) => o.result?.actor === 'vcpu1' && o.result.op === 1).value = 99;
    doc.name = 'k01-extra';
    doc.outcomes.push(impossible);
    const extra = parseScenario(stringify(doc), 'k01-extra.yaml', 'yaml').spec;
    const design = variantByName('interval')!;
    const one = checkOne(extra, design, { shrink: false });
    expect(one.verdict).toBe('violation');
    expect(one.violation?.message).toMatch(/impossible is reached by no interleaving/);
    const two = checkOne(extra, design, { shrink: false, parallel: { ...parallelCell(2, { scenario: extra.name, file: '-', spec: extra, variant: 'interval', drivers: [] }), together: true } });
    expect(parallelOutcome(two)).toEqual(parallelOutcome(one));
  });

  it('through the binary: check FILE --workers 2 on a case with outcomes, as on one thread', { timeout: 120_000 }, () => {
    const file = join(ROOT, 'fidelity', 'K05-memslot-move.yaml');
    const figures = (out: string) => out.match(/^[^\n]*: holds — \d+ states, \d+ transitions, depth \d+/m)?.[0];
    const one = vmamirror(['check', file]);
    const two = vmamirror(['check', file, '--workers', '2']);
    expect(one.code).toBe(0);
    expect(two.code).toBe(0);
    expect(figures(two.stdout)).toBe(figures(one.stdout));
    expect(figures(one.stdout)).toMatch(/^K05-memslot-move\//);
  });
});
