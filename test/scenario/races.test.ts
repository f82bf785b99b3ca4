/**
 * The race catalogue of the reference (§7.2), one hand-written interleaving per broken variant:
 * each replays to a violation of a named property, and the same interleaving is harmless under
 * the corrected `interval` design.
 */
import { describe, expect, it } from 'vitest';
import { buildScenario } from '../../src/scenario/build.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { variantByName } from '../../src/mirror/variants.js';
import { scenarioByName } from '../../src/scenario/catalogue.js';
import { interval } from '../../src/mirror/interval.js';
import type { MirrorVariant } from '../../src/mirror/device.js';
import { explore } from '../../src/engine/exhaustive.js';
import { PROPERTIES } from '../../src/check/properties.js';
import { runAllToEnd, runPhases, type Phase } from '../helpers/phases.js';
import { readVsReclaim } from '../helpers/mutants.js';

const nestedVsReclaim: ScenarioSpec = {
  name: 'nested-vs-reclaim',
  description: "the introspector's guest reads the mirror through its EPT while kswapd reclaims the source page",
  pages: 1,
  introspectorKvm: true,
  actors: [
    { name: 'nested', ops: [{ op: 'guest-access', vm: 'introspector', page: 0 }] },
    { name: 'kswapd', ops: [{ op: 'reclaim', page: 0 }] },
  ],
};

/** Where each variant's fault has read the source pte and is about to take the update lock / install. */
const snapshotted: Record<string, string> = {
  interval: 'mirror_fault:lock',
  'raw-clear': 'mirror_fault:lock',
  'anon-vma': 'mirror_fault:lock',
  'seed-2019-literal': 'kvm_mirror_page_fault:lock',
  'seed-2019-fixed': 'kvm_mirror_page_fault_fixed:lock',
  'start-only': 'mirror_fault_start_only:insert',
};

/** kswapd has run the start callbacks and is about to clear the pte (the [start, end] window). */
const KSWAPD_IN_WINDOW = 'try_to_unmap:unmap';
/** kswapd has cleared the pte (try_to_unmap_one ran) and is about to end the invalidation. */
const KSWAPD_CLEARED = 'try_to_unmap:unmap';

interface Race {
  readonly id: string;
  readonly variant: string;
  readonly spec: ScenarioSpec;
  readonly phases: (variant: string) => Phase[];
  readonly property: string;
  readonly why: string;
}

const RACES: readonly Race[] = [
  {
    id: 'R1',
    variant: 'seed-2019-literal',
    spec: readVsReclaim,
    // The fault snapshots; reclaim starts (valid = false) and clears the pte; the inverted test
    // inserts the stale pfn while the range is invalid; reclaim ends and frees the page.
    phases: (v) => [
      { actor: 'intro', until: snapshotted[v] },
      { actor: 'kswapd', after: KSWAPD_CLEARED },
      { actor: 'intro', until: 'end' },
      { actor: 'kswapd', until: 'end' },
    ],
    property: 'refinement',
    why: 'inserts exactly when an invalidation is running',
  },
  {
    id: 'R2',
    variant: 'seed-2019-fixed',
    spec: readVsReclaim,
    // The fault walks the pte; a whole invalidation runs and ends (valid goes false, then true
    // again); the fault takes the lock, sees valid == true and installs the stale pfn.
    phases: (v) => [
      { actor: 'intro', until: snapshotted[v] },
      { actor: 'kswapd', until: 'end' },
      { actor: 'intro', until: 'end' },
    ],
    property: 'refinement',
    why: 'a boolean cannot tell "no invalidation" from "an invalidation came and went" (ABA)',
  },
  {
    id: 'R4',
    variant: 'start-only',
    spec: readVsReclaim,
    // Reclaim's start callback zaps (nothing there yet); the fault then GUPs the still-mapped page
    // and inserts it; reclaim clears the pte and frees the page: the mirror keeps it.
    phases: () => [
      { actor: 'kswapd', until: KSWAPD_IN_WINDOW },
      { actor: 'intro', until: 'end' },
      { actor: 'kswapd', until: 'end' },
    ],
    property: 'refinement',
    why: 'nothing marks the [start, end] window as in progress',
  },
  {
    id: 'R5',
    variant: 'raw-clear',
    spec: nestedVsReclaim,
    // The nested guest maps the page through the mirror; reclaim's callback clears the mirror pte
    // with a raw write, so the introspector's KVM never zaps its EPT entry.
    phases: () => [
      { actor: 'nested', until: 'end' },
      { actor: 'kswapd', until: 'end' },
    ],
    property: 'refinement',
    why: "the mirror's teardown fires no notifier on the introspector's mm",
  },
  {
    id: 'R14',
    variant: 'anon-vma',
    spec: readVsReclaim,
    // The fault installs the source's page as a normal pte without mapcount or refcount.
    phases: () => [{ actor: 'intro', until: 'end' }],
    property: 'frame-accounting',
    why: 'a normal pte that core mm did not account',
  },
];

describe('the race catalogue, replayed', () => {
  for (const race of RACES) {
    it(`${race.id}: ${race.variant} breaks ${race.property} (${race.why})`, () => {
      const { world } = buildScenario(race.spec, variantByName(race.variant)!);
      const run = runPhases(world, race.phases(race.variant));
      expect(run.violation?.property).toBe(race.property);
    });

    it(`${race.id}: the same interleaving is harmless under interval`, () => {
      const { world } = buildScenario(race.spec, variantByName('interval')!);
      const run = runPhases(world, race.phases('interval'));
      expect(run.violation).toBeUndefined();
      // Whatever the phases left blocked or unfinished also completes without a violation.
      expect(runAllToEnd(world).violation).toBeUndefined();
      expect(world.actorSp(0) + world.actorSp(1)).toBe(0);
    });
  }

  it('R3: start-only lets the GUP reference be the last one — madvise frees the page under the mirror', () => {
    const spec: ScenarioSpec = {
      name: 'read-vs-madvise',
      description: 'the introspector reads the mirror while the source drops its page with MADV_DONTNEED',
      pages: 1,
      actors: [
        { name: 'intro', ops: [{ op: 'access', mm: 'introspector', page: 0 }] },
        { name: 'source', ops: [{ op: 'madvise-dontneed', mm: 'source', page: 0 }] },
      ],
    };
    const phases: Phase[] = [
      { actor: 'intro', until: snapshotted['start-only'] },
      { actor: 'source', until: 'end' },
      { actor: 'intro', until: 'end' },
    ];
    const broken = buildScenario(spec, variantByName('start-only')!).world;
    const run = runPhases(broken, phases);
    expect(run.violation?.property).toMatch(/refinement|no-dangling-pfn/);
    const ok = buildScenario(spec, variantByName('interval')!).world;
    expect(runPhases(ok, [{ ...phases[0], until: snapshotted.interval }, phases[1], phases[2]]).violation).toBeUndefined();
    expect(runAllToEnd(ok).violation).toBeUndefined();
  });
});

describe('a write through a read-only mirror pte (INV-7, R8)', () => {
  it('is caught when the device has no pfn_mkwrite, and harmless with it', () => {
    const spec = scenarioByName('mirror-write')!;
    const withoutMkwrite: MirrorVariant = { ...interval, name: 'interval-without-pfn-mkwrite', pfnMkwrite: undefined };
    const r = explore(buildScenario(spec, withoutMkwrite).world, { properties: PROPERTIES });
    expect(r.violation?.property).toBe('refinement');
    expect(r.violation?.message).toMatch(/is writable but source@0 is read-only/);
    expect(explore(buildScenario(spec, interval).world, { properties: PROPERTIES }).verdict).toBe('holds');
  });
});
