/**
 * The dirty-accessed layer on catalogue scenarios that reclaim: their verdicts must not move (the
 * corrected design still holds, a broken one is still caught by the same check), every step
 * audited against its footprint and the lock discipline with the layer's paths taken.
 */
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../src/scenario/catalogue.js';
import { checkOne } from '../../src/check/run.js';
import { VARIANTS } from '../../src/mirror/variants.js';
import { EXPECTED, V } from '../helpers/catalogue-table.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { Library } from '../../src/world/registry.js';
import { KERNEL } from '../../src/kernel/library.js';
import { KVM_LIB } from '../../src/kvm/library.js';
import { kvmTdpPageFault } from '../../src/kvm/fault.js';
import { PAGE } from '../../src/kernel/structs.js';
import { defineEra, withEra } from '../../src/driver/era.js';
import { interval } from '../../src/mirror/interval.js';

const CELLS: readonly [string, string][] = [
  ['swap-cycle', 'interval'],
  ['swap-cycle', 'raw-clear'],
  ['swap-cycle', 'anon-vma'],
];

describe('catalogue scenarios with layers: [dirty-accessed]', () => {
  for (const [name, variant] of CELLS) {
    it(`${name} / ${variant} keeps its verdict`, () => {
      const spec = CATALOGUE.find((s) => s.name === name)!;
      const v = VARIANTS.find((x) => x.name === variant)!;
      const r = checkOne({ ...spec, layers: ['dirty-accessed'] }, v, { audit: true });
      const expected = EXPECTED[name][V.indexOf(variant)];
      expect(r.verdict === 'holds' ? 'holds' : r.violation?.property).toBe(expected);
    });
  }
});

/**
 * KVM's side: a guest writes through a writable spte that the host's pte never sees, so KVM must
 * dirty the folio itself (kvm_release_faultin_page with map_writable). Two reclaims race a host
 * read (which maps the kept swap-cache folio writable and clean) and a guest write. A test-local
 * era runs a KVM whose fault does not dirty the folio: the checker finds the lost write.
 */
const KVM_DIRTY: ScenarioSpec = {
  name: 'kvm-dirty',
  description: 'two reclaims race a host read and a guest write',
  pages: 1,
  sourceKvm: true,
  layers: ['dirty-accessed'],
  actors: [
    {
      name: 'kswapd',
      ops: [
        { op: 'reclaim', page: 0 },
        { op: 'reclaim', page: 0 },
      ],
    },
    { name: 'source', ops: [{ op: 'access', mm: 'source', page: 0 }] },
    { name: 'vcpu', ops: [{ op: 'guest-access', vm: 'source', page: 0, write: true, value: 5 }] },
  ],
};

const noDirtyLib = new Library('test-kvm-no-dirty', [KERNEL, KVM_LIB], { kind: 'kernel' });
const faultSteps = Object.fromEntries(kvmTdpPageFault.labels.map((label, i) => [label, kvmTdpPageFault.steps[i]]));
noDirtyLib.replace(
  'kvm_tdp_page_fault',
  noDirtyLib.routine({
    name: 'kvm_tdp_page_fault_without_dirty',
    params: [...kvmTdpPageFault.params],
    locals: kvmTdpPageFault.localNames.slice(kvmTdpPageFault.params.length),
    steps: {
      ...faultSteps,
      map: {
        ...faultSteps.map,
        at: 'arch/x86/kvm/mmu/mmu.c:kvm_tdp_mmu_page_fault kvm_tdp_mmu_map, with no kvm_release_faultin_page(…, dirty)',
        run: (w, l) => {
          const page = w.obj(PAGE, l.pfn);
          const was = page.dirty;
          const next = faultSteps.map.run(w, l as Parameters<typeof faultSteps.map.run>[1]);
          page.dirty = was;
          return next;
        },
      },
    },
  }),
);
const noDirty = defineEra({ name: 'kvm-no-dirty', summary: 'a KVM whose fault never dirties the folio it maps writable', library: noDirtyLib });

describe('KVM dirties the folio it maps writable (layer dirty-accessed)', () => {
  it('holds with KVM as it is', () => {
    expect(checkOne(KVM_DIRTY, interval).verdict).toBe('holds');
  });

  it('a KVM that does not dirty it loses the guest write: lost-write', () => {
    const r = checkOne(KVM_DIRTY, withEra(interval, noDirty));
    expect(r.violation?.property).toBe('lost-write');
    expect(r.violation?.message).toMatch(/^lost write: swap slot 1 holds \d+, but the page reclaim dropped held 5/);
  });
});

// Regression (found by the generative test with layers): with dirty-accessed, try_to_migrate holds
// the source's ptl from its unmap step to its put step, so fork's spin_lock(dst);
// spin_lock_nested(src) can find src held: a blocked attempt reads two lock words, which the lock
// discipline wrongly took for a non-atomic step.
it('fork blocking on a ptl that migration holds across its put step is no model error', () => {
  const spec = {
    name: 'fork-meets-migrate-put',
    description: 'fork, migration and MADV_DONTNEED of one page with dirty bits',
    pages: 1,
    layers: ['dirty-accessed' as const],
    actors: [
      { name: 'a0', ops: [{ op: 'fork' as const, mm: 'source' as const }] },
      { name: 'a1', ops: [{ op: 'migrate' as const, page: 0 }] },
      { name: 'a2', ops: [{ op: 'madvise-dontneed' as const, mm: 'source' as const, page: 0 }] },
    ],
  };
  const r = checkOne(spec, VARIANTS.find((x) => x.name === 'seed-2019-literal')!, { audit: true });
  expect(r.verdict).toBe('holds');
});
