/**
 * The cpu-tlb layer on catalogue scenarios (kept to a few small cells): the corrected design still
 * holds and a broken one is still caught by the same property, every explored step audited against
 * its footprint and the lock discipline; and the layer makes R5 (raw-clear: the mirror's ptes
 * cleared by a raw write, so with no TLB flush either) visible without the introspector's KVM — the
 * introspector's CPU keeps its translation of the page the source frees.
 */
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../src/scenario/catalogue.js';
import { checkOne } from '../../src/check/run.js';
import { variantByName } from '../../src/mirror/variants.js';
import type { ScenarioSpec } from '../../src/scenario/spec.js';

const scenario = (name: string): ScenarioSpec => CATALOGUE.find((s) => s.name === name)!;
const withTlb = (s: ScenarioSpec): ScenarioSpec => ({ ...s, layers: ['cpu-tlb'] });

describe('cpu-tlb layer on catalogue scenarios', () => {
  const cells: [string, string][] = [
    ['munmap', 'interval'],
    ['exit', 'interval'],
    ['mprotect', 'interval'],
    ['mirror-write', 'interval'],
    ['swap-cycle', 'interval'],
    ['cow', 'start-only'],
    ['exit', 'seed-2019-fixed'],
  ];
  for (const [name, design] of cells) {
    it(`${name}/${design} keeps its verdict`, { timeout: 60_000 }, () => {
      const v = variantByName(design)!;
      const off = checkOne(scenario(name), v, { audit: false, shrink: false });
      const on = checkOne(withTlb(scenario(name)), v, { audit: true, shrink: false });
      expect([on.verdict, on.violation?.property]).toEqual([off.verdict, off.violation?.property]);
      expect(on.states).toBeGreaterThan(off.states); // the layer's interleavings are there
    });
  }

  it('raw-clear (R5) is caught by the CPU TLB alone: its raw pte clear flushes nothing', { timeout: 60_000 }, () => {
    const v = variantByName('raw-clear')!;
    expect(checkOne(scenario('munmap'), v, { audit: false, shrink: false }).verdict).toBe('holds');
    const on = checkOne(withTlb(scenario('munmap')), v, { audit: false, shrink: false });
    expect(on.verdict).toBe('violation');
    expect(on.violation!.message).toMatch(/^CPU TLB entry introspector@0 maps pfn \d+ but introspector@0 maps nothing, and no TLB flush is pending/);
  });

  // The two layers meet in the access step (a store through a TLB entry walks to set the pte's
  // dirty bit) and in reclaim (the batched flush before pageout or the free of a clean folio).
  for (const design of ['interval', 'raw-clear'] as const) {
    it(`swap-cycle/${design} with cpu-tlb and dirty-accessed together: the verdict of cpu-tlb alone`, { timeout: 60_000 }, () => {
      const v = variantByName(design)!;
      const off = checkOne(withTlb(scenario('swap-cycle')), v, { audit: false, shrink: false });
      const on = checkOne({ ...scenario('swap-cycle'), layers: ['cpu-tlb', 'dirty-accessed'] }, v, { audit: true, shrink: false });
      expect([on.verdict, on.violation?.property]).toEqual([off.verdict, off.violation?.property]);
    });
  }

  // Regression (found by the generative test with layers): the introspector read through its
  // mirror, then exited; the source's MADV_DONTNEED freed the page while the dead mm's TLB still
  // named it. No CPU can use the TLB of an mm whose mm_users is 0, so it is no stale entry.
  it('the TLB of an exited mm holds no stale entry', { timeout: 60_000 }, () => {
    const spec: ScenarioSpec = {
      name: 'tlb-after-exit',
      description: 'the introspector reads its mirror and exits while the source drops the page',
      pages: 1,
      layers: ['cpu-tlb'],
      actors: [
        { name: 'a0', ops: [{ op: 'madvise-dontneed', mm: 'source', page: 0 }] },
        {
          name: 'a1',
          ops: [
            { op: 'access', mm: 'introspector', page: 0 },
            { op: 'exit', mm: 'introspector' },
          ],
        },
      ],
    };
    expect(checkOne(spec, variantByName('interval')!, { audit: true, shrink: false }).verdict).toBe('holds');
  });
});
