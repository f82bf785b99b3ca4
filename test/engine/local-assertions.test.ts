/**
 * Local assertions (verdict.ts `Property.reads`): a property that declares the fields it reads is
 * checked at a new state only when the transition that reached it wrote one of them. Proven here
 * three ways: (1) every search gives the same result as with every property checked at every state
 * — the verdict, the first violation (property, message, schedule) and the counts — on the catalogue
 * under every design and on scenarios with the kernel layers and KVM on; (2) that comparison has
 * teeth: a declaration that leaves out a field the property depends on changes a result; (3) an
 * audited search refuses a property that reads a field it does not declare, naming both.
 */
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../src/scenario/catalogue.js';
import { buildScenario } from '../../src/scenario/build.js';
import { VARIANTS } from '../../src/mirror/variants.js';
import { explore, type ExploreResult } from '../../src/engine/exhaustive.js';
import { PROPERTIES, refinement } from '../../src/check/properties.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import type { Property } from '../../src/engine/verdict.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import type { MirrorVariant } from '../../src/mirror/device.js';
import { PAGE, PTE } from '../../src/kernel/structs.js';

/** The same properties, checked at every state. */
const GLOBAL: readonly Property[] = PROPERTIES.map(({ reads: _reads, ...p }) => p);

function summary(r: ExploreResult): string {
  const v = r.violation;
  return `${r.verdict} ${r.states} states ${r.transitions} transitions${v ? ` ${v.property}: ${v.message} @ ${v.schedule.join(',')}` : ''}`;
}

function run(spec: ScenarioSpec, design: MirrorVariant, properties: readonly Property[], audit = false): ExploreResult {
  return explore(buildScenario(spec, design).world, { properties, audit, liveness: false });
}

describe('local assertions', () => {
  it('declare their reads: refinement, no-dangling-pfn, frame-accounting, page-cache-coherence, dirty-log, lost-write', () => {
    expect(PROPERTIES.filter((p) => p.reads).map((p) => p.name)).toEqual(['refinement', 'no-dangling-pfn', 'frame-accounting', 'page-cache-coherence', 'dirty-log', 'lost-write']);
  });

  it('give every catalogue cell (but introspect-nested) the result of checking every property at every state', { timeout: 300_000 }, () => {
    let violations = 0;
    for (const spec of CATALOGUE.filter((s) => s.name !== 'introspect-nested')) {
      for (const design of VARIANTS) {
        const local = run(spec, design, PROPERTIES);
        expect(`${spec.name}/${design.name}: ${summary(local)}`).toBe(`${spec.name}/${design.name}: ${summary(run(spec, design, GLOBAL))}`);
        if (local.violation && PROPERTIES.some((p) => p.name === local.violation!.property)) violations++;
      }
    }
    // The comparison covers properties that fail, not only searches where nothing does.
    expect(violations).toBeGreaterThan(15);
  });

  it('give the same results with the kernel layers and KVM on, audited (every evaluation checked against its reads)', { timeout: 300_000 }, () => {
    const files = ['H01-anon-read-zero-page', 'H16-anon-write-huge', 'K01-mprotect-ro-vcpus', 'K06-dirty-log', 'M06-mkdirty-page-migration', 'M07-migration-private-anon'];
    for (const f of files) {
      const loaded = loadScenarioFile(`fidelity/${f}.yaml`);
      for (const design of loaded.variants.slice(0, 2)) {
        expect(`${f}/${design.name}: ${summary(run(loaded.spec, design, PROPERTIES, true))}`).toBe(`${f}/${design.name}: ${summary(run(loaded.spec, design, GLOBAL, true))}`);
      }
    }
    const swap = CATALOGUE.find((s) => s.name === 'swap-cycle')!;
    for (const layers of [['cpu-tlb'], ['dirty-accessed'], ['cpu-tlb', 'dirty-accessed']] as const) {
      const spec = { ...swap, layers };
      for (const design of VARIANTS.slice(0, 3)) expect(summary(run(spec, design, PROPERTIES, true))).toBe(summary(run(spec, design, GLOBAL, true)));
    }
  });

  it('are caught by that comparison when a declaration leaves out what the property depends on', () => {
    // refinement declaring only the VMAs: a transition that changes a pte and no VMA no longer re-checks it.
    const blind: Property = { ...refinement, reads: ['vma.*'] };
    const spec = CATALOGUE.find((s) => s.name === 'introspect')!;
    const design = VARIANTS.find((v) => v.name === 'seed-2019-fixed')!;
    const honest = run(spec, design, [refinement]);
    expect(honest.violation?.property).toBe('refinement');
    expect(summary(run(spec, design, [blind]))).not.toBe(summary(honest));
  });

  it('are audited: a read of an undeclared field is a model error naming the property and the slot', () => {
    const sloppy: Property = {
      name: 'sloppy',
      description: 'reads a page while declaring only ptes',
      reads: ['pte.present'],
      check: (w) => (w.obj(PTE, 0).present && w.obj(PAGE, 1).refcount < 0 ? 'never' : undefined),
    };
    const spec = CATALOGUE.find((s) => s.name === 'cow')!;
    expect(() => run(spec, VARIANTS[0], [sloppy], true)).toThrow(/property sloppy reads page\[pfn1\]\.refcount, which its declared reads do not include \(pte\.present\)/);
    // Unaudited, the search trusts the declaration (and is fast): no error.
    expect(run(spec, VARIANTS[0], [sloppy]).verdict).toBe('holds');
  });
});
