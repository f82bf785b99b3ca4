/**
 * `memory: memfd` (src/scenario/memfd.ts): the source's pages are a memfd's, mapped MAP_SHARED by
 * the source and by the introspector; the memfd operations need it; a scenario without it builds
 * the world it always did. The example compares the two ways of seeing the source's memory.
 */
import { describe, expect, it } from 'vitest';
import { parseScenario, loadScenarioFile } from '../../src/scenario/load.js';
import { buildScenario } from '../../src/scenario/build.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { ANY_OP_NAMES } from '../../src/scenario/operations.js';
import { variantByName } from '../../src/mirror/variants.js';
import { checkOne } from '../../src/check/run.js';
import { ADDRESS_SPACE, iPagesSlot } from '../../src/kernel/filemap.js';
import { pte } from '../../src/kernel/pgtable.js';
import { PAGE } from '../../src/kernel/structs.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';

const interval = variantByName('interval')!;
const seed = variantByName('seed-2019-fixed')!;

const file = (memory: string, ops: string) => `
name: m
description: memfd scenario
pages: 2
${memory}
actors:
  - name: a
    ops:
${ops}
`;

describe('memory: memfd', () => {
  it('loads, and builds the memfd in the page cache: mapped by the source, mapped without ptes by the introspector', () => {
    const { spec } = parseScenario(file('memory: memfd', '      - { op: ftruncate, page: 1 }\n      - { op: memfd-access, mm: introspector, page: 0 }'), 'm.yaml', 'yaml');
    expect(spec.memory).toBe('memfd');
    const w = buildScenario(spec, interval).world;
    expect(w.obj(ADDRESS_SPACE, 0).size).toBe(2);
    for (const page of [0, 1]) {
      const pfn = iPagesSlot(w, 0, page).folio;
      expect(pte(w, 0, page).pfn).toBe(pfn);
      expect(w.obj(PAGE, pfn)).toMatchObject({ refcount: 2, mapcount: 1, anon: 0 }); // the cache's and the pte's
      expect(pte(w, 1, 2 + page).present).toBe(0); // the introspector's mapping, after its mirror VMA
    }
  });

  it('refuses a memfd operation in a scenario without a memfd, naming it', () => {
    expect(() => parseScenario(file('', '      - { op: punch-hole, page: 0 }'), 'm.yaml', 'yaml')).toThrow(/punch-hole acts on the scenario's memfd, which it does not have; expected memory: memfd/);
    expect(() => parseScenario(file('memory: tmpfs', '      - { op: access, mm: source, page: 0 }'), 'm.yaml', 'yaml')).toThrow(/memory/);
  });

  it('leaves every other scenario as it was: no page cache in its world, no memfd operation for `any`', () => {
    expect(buildScenario(scenarioByName('introspect')!, interval).world.layout.has(ADDRESS_SPACE)).toBe(false);
    expect(ANY_OP_NAMES).not.toContain('ftruncate');
    expect(ANY_OP_NAMES).not.toContain('punch-hole');
  });
});

describe("a secondary MMU of the memfd's mapping", () => {
  it("KVM mapping the source's memfd pages drops its EPT entry at a hole punch (the invalidation of the source's mm)", () => {
    const text = `
name: kvm-punch
description: the source's guest writes its memfd page while the source punches it out
pages: 1
memory: memfd
sourceKvm: true
variants: [interval]
actors:
  - name: vcpu
    ops:
      - { op: guest-access, vm: source, page: 0, write: true, value: 7 }
  - name: qemu
    ops:
      - { op: punch-hole, page: 0 }
`;
    const { spec } = parseScenario(text, 'kvm-punch.yaml', 'yaml');
    const r = checkOne(spec, interval);
    expect(r.verdict).toBe('holds');
    expect(r.states).toBeGreaterThan(50);
  }, 60_000);
});

describe('examples/memfd-share-vs-mirror.yaml: a shared memfd against the mirror', () => {
  const { spec } = loadScenarioFile(new URL('../../examples/memfd-share-vs-mirror.yaml', import.meta.url).pathname);
  const sharedOnly: ScenarioSpec = { ...spec, actors: spec.actors.filter((a) => a.name !== 'intro') };

  it('holds for the corrected design, through both the mirror and the shared mapping', () => {
    expect(checkOne(spec, interval).verdict).toBe('holds');
  }, 60_000);

  it("the seed's mirror loses the punched page's invalidation race; the shared mapping alone holds under the same design", () => {
    const mirrored = checkOne(spec, seed);
    expect(mirrored.verdict).toBe('violation');
    expect(mirrored.violation!.property).toBe('refinement');
    expect(checkOne(sharedOnly, seed).verdict).toBe('holds');
  }, 60_000);
});
