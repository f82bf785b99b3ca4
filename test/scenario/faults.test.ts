/**
 * Fault injection from scenario files: `faults: [alloc-fail]` turns every page allocation inside a
 * step into a branch (allocated / failed), so error paths are explored; off, nothing changes.
 */
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { buildScenario } from '../../src/scenario/build.js';
import { variantByName } from '../../src/mirror/variants.js';
import { explore } from '../../src/engine/exhaustive.js';
import { PROPERTIES } from '../../src/check/properties.js';
import { entryChoice } from '../../src/world/entry.js';
import { traceOf } from '../../src/report/trace.js';
import type { Property } from '../../src/engine/verdict.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';
import { pte } from '../../src/kernel/pgtable.js';
import { PAGE } from '../../src/kernel/structs.js';

const interval = variantByName('interval')!;

const swapIn = (faults?: readonly 'alloc-fail'[]): ScenarioSpec => ({
  name: 'swap-in-may-fail',
  description: 'kswapd reclaims the page, then the source faults it back in; the allocation may fail',
  pages: 1,
  ...(faults ? { faults } : {}),
  actors: [
    {
      name: 'source',
      ops: [
        { op: 'reclaim', page: 0 },
        { op: 'access', mm: 'source', page: 0, write: true, value: 9 },
      ],
    },
  ],
});

/** Once the source is done, its page is mapped and holds what it wrote: the write was not refused. */
const writeSucceeds: Property = {
  name: 'write-succeeds',
  description: 'the source process is not killed by an OOM fault',
  check: (w) => {
    if (w.actorSp(0) !== 0) return undefined;
    const p = pte(w, 0, 0);
    return p.present && w.obj(PAGE, p.pfn).contents === 9 ? undefined : 'the source finished without its write';
  },
};

describe('fault injection: alloc-fail', () => {
  it('is read from a scenario file', () => {
    const spec = parseScenario('name: f\ndescription: d\npages: 1\nfaults: [alloc-fail]\nactors:\n  - name: a\n    ops: [{ op: access, mm: source, page: 0 }]\n', 'f.yaml', 'yaml');
    expect(spec.spec.faults).toEqual(['alloc-fail']);
    expect(() => parseScenario('name: f\ndescription: d\npages: 1\nfaults: [disk-full]\nactors:\n  - name: a\n    ops: [{ op: access, mm: source, page: 0 }]\n', 'f.yaml', 'yaml')).toThrow(
      /faults\[0\]/,
    );
  });

  it('off: the swap-in always succeeds; on: the failing allocation is explored, with the fault in the schedule', () => {
    const off = explore(buildScenario(swapIn(), interval).world, { properties: [...PROPERTIES, writeSucceeds] });
    expect(off.verdict).toBe('holds');
    const on = explore(buildScenario(swapIn(['alloc-fail']), interval).world, { properties: [...PROPERTIES, writeSucceeds] });
    expect(on.verdict).toBe('violation');
    expect(on.violation!.property).toBe('write-succeeds');
    expect(on.violation!.schedule.some((e) => entryChoice(e) === 1)).toBe(true);
    // Every path explored: the fault adds states (the error paths), the normal ones stay.
    const allOff = explore(buildScenario(swapIn(), interval).world, { properties: PROPERTIES });
    const allOn = explore(buildScenario(swapIn(['alloc-fail']), interval).world, { properties: PROPERTIES });
    expect([allOff.verdict, allOn.verdict]).toEqual(['holds', 'holds']);
    expect(allOn.states).toBeGreaterThan(allOff.states);
    // The schedule replays, and the trace shows the branch taken.
    const t = traceOf(swapIn(['alloc-fail']), interval, on.violation!.schedule);
    expect(t.replayError).toBeUndefined();
    expect(t.steps.some((s) => s.choice?.taken === 1 && s.choice.of === 2)).toBe(true);
  });

  it("the corrected design still holds every property with failing allocations on the catalogue's swap cycle", () => {
    const spec: ScenarioSpec = { ...swapIn(['alloc-fail']), actors: [...swapIn().actors, { name: 'intro', ops: [{ op: 'access', mm: 'introspector', page: 0 }] }] };
    expect(explore(buildScenario(spec, interval).world, { properties: PROPERTIES }).verdict).toBe('holds');
  });
});

describe('fault injection: trylock-fail', () => {
  const introspect = (faults?: readonly ('alloc-fail' | 'trylock-fail')[]): ScenarioSpec => ({
    name: 'read-vs-reclaim-refused',
    description: 'the introspector reads the mirror while kswapd reclaims the source page; trylocks may be refused',
    pages: 1,
    ...(faults ? { faults } : {}),
    actors: [
      { name: 'intro', ops: [{ op: 'access', mm: 'introspector', page: 0 }] },
      { name: 'kswapd', ops: [{ op: 'reclaim', page: 0 }] },
    ],
  });

  it('explores the refused mmap_read_trylock (VM_FAULT_RETRY) and still holds: a fault that could recur for ever is not a livelock', () => {
    const off = explore(buildScenario(introspect(), interval).world, { properties: PROPERTIES });
    const on = explore(buildScenario(introspect(['trylock-fail']), interval).world, { properties: PROPERTIES });
    expect([off.verdict, on.verdict]).toEqual(['holds', 'holds']);
    expect(on.states).toBeGreaterThan(off.states);
  });

  it('the schema lists exactly the fault points the model has', async () => {
    const { readFileSync } = await import('node:fs');
    const { FAULT_POINTS } = await import('../../src/scenario/spec.js');
    const schema = JSON.parse(readFileSync(new URL('../../src/scenario/schema.json', import.meta.url), 'utf8')) as { properties: { faults: { items: { enum: string[] } } } };
    expect(schema.properties.faults.items.enum).toEqual([...FAULT_POINTS]);
  });
});
