/**
 * A step's size must not stand in for a lock: the corrected design's install is two steps
 * (mmu_interval_read_retry, then vmf_insert_pfn_prot taking the ptl), as in the C, so a callback
 * that forgets the driver's update lock is caught on the built-in catalogue, with a shrunk trace.
 */
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../src/scenario/catalogue.js';
import { checkOne } from '../../src/check/run.js';
import { forgetsUpdateLock } from '../helpers/mutants.js';

describe('a callback that forgets the update lock', () => {
  it('is caught on the catalogue with one preemption once shrunk, and the corrected design is not', { timeout: 300_000 }, () => {
    const small = CATALOGUE.filter((s) => s.name !== 'introspect-nested');
    const caught: string[] = [];
    for (const spec of small) {
      const r = checkOne(spec, forgetsUpdateLock, { shrink: true });
      if (r.verdict !== 'violation') continue;
      caught.push(spec.name);
      expect(['refinement', 'no-dangling-pfn']).toContain(r.violation!.property);
      expect(r.shrunk!.preemptions).toBeLessThanOrEqual(1);
    }
    // Every scenario whose invalidation can race with a fault catches it (exit's teardown cannot:
    // the fault holds an mm_users reference). With read_retry and the insert in one step, none did.
    expect(caught).toEqual(['introspect', 'cow', 'munmap', 'fork-introspector', 'swap-cycle', 'mirror-write', 'mprotect']);
  });
});
