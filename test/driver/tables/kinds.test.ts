/**
 * Device tables as typed layers (src/layers/): for each kind, a correct driver holds and one broken
 * the way its kind forbids is caught by the generic property, with no property of the driver's;
 * and the same driver judged under another kind shows what the kind changes.
 */
import { describe, expect, it } from 'vitest';
import { checkOne } from '../../../src/check/run.js';
import type { ScenarioSpec } from '../../../src/scenario/spec.js';
import type { Op } from '../../../src/scenario/operations.js';
import { intervalTableDriver, pinningTableDriver } from './drivers.js';

/** One page; the device runs `device` while the source runs `source`. */
function scenario(name: string, device: readonly Op[], source: readonly Op[]): ScenarioSpec {
  return {
    name,
    description: name,
    pages: 1,
    actors: [
      { name: 'dev', ops: device },
      { name: 'src', ops: source },
    ],
  };
}
const access: Op = { op: 'device', call: 'access', page: 0 };
const job: Op = { op: 'device', call: 'job', page: 0 };
const munmap: Op = { op: 'munmap', mm: 'source', page: 0 };

const accessMunmap = scenario('device-access-munmap', [access], [munmap]);
const accessTwiceMunmap = scenario('device-access-twice-munmap', [access, access], [munmap]);
const jobMunmap = scenario('device-job-munmap', [job], [munmap]);
const writeReclaim = scenario('device-write-reclaim', [{ ...access, write: true }], [{ op: 'reclaim', page: 0 }]);

describe('no-page-refs (dmirror): every entry is a sub-mapping of its parent at every step', () => {
  it('holds when the callback clears the range', () => {
    for (const s of [accessMunmap, accessTwiceMunmap, writeReclaim]) expect(checkOne(s, intervalTableDriver({ name: `npr-ok-${s.name}`, kind: 'no-page-refs' })).verdict, s.name).toBe('holds');
  });

  it('catches a callback that leaves the entry: device-table, at the step the source pte goes', () => {
    const r = checkOne(accessMunmap, intervalTableDriver({ name: 'npr-noclear', kind: 'no-page-refs', clear: false }));
    expect(r.violation).toMatchObject({ property: 'device-table', message: 'device table npr-noclear-pt[0] (no-page-refs) maps pfn 1 but source@0 maps nothing' });
  });
});

describe('strict: the same check as no-page-refs', () => {
  it('holds and catches alike', () => {
    expect(checkOne(accessMunmap, intervalTableDriver({ name: 'strict-ok', kind: 'strict' })).verdict).toBe('holds');
    expect(checkOne(accessMunmap, intervalTableDriver({ name: 'strict-noclear', kind: 'strict', clear: false })).violation?.property).toBe('device-table');
  });
});

describe('cache: not checked when stale, only when used', () => {
  it('a stale entry nobody uses holds', () => {
    expect(checkOne(accessMunmap, intervalTableDriver({ name: 'cache-stale', kind: 'cache', clear: false })).verdict).toBe('holds');
  });

  it('a use of the stale entry is caught: device-access', () => {
    const r = checkOne(accessTwiceMunmap, intervalTableDriver({ name: 'cache-used', kind: 'cache', clear: false }));
    expect(r.violation).toMatchObject({ property: 'device-access', message: 'a device access through cache-used-pt[0] (cache) used pfn 1 but source@0 maps nothing' });
  });

  it('holds when the callback invalidates it', () => {
    expect(checkOne(accessTwiceMunmap, intervalTableDriver({ name: 'cache-ok', kind: 'cache' })).verdict).toBe('holds');
  });
});

describe('accesses in flight: the invalidate callback must wait for them (a fence)', () => {
  it('holds with the fence', () => {
    expect(checkOne(jobMunmap, intervalTableDriver({ name: 'job-fenced', kind: 'no-page-refs' })).verdict).toBe('holds');
  });

  it('catches the job still running after the callback cleared its entry', () => {
    const r = checkOne(jobMunmap, intervalTableDriver({ name: 'job-unfenced', kind: 'no-page-refs', fence: false }));
    expect(r.violation?.property).toBe('device-access');
    expect(r.violation?.message).toBe(
      'an access in flight through job-unfenced-pt[0] (no-page-refs) uses pfn 1 but source@0 maps nothing (its entry was cleared while it was in flight: the job still runs)',
    );
  });
});

describe('a job that never completes', () => {
  it('is still in flight once every actor has finished: device-access', () => {
    const r = checkOne(scenario('device-job-alone', [job], []), intervalTableDriver({ name: 'job-lost', kind: 'no-page-refs', complete: false }));
    expect(r.violation).toMatchObject({
      property: 'device-access',
      message: 'an access through job-lost-pt[0] (no-page-refs) is still in flight once every actor has finished: its job never completed (accessComplete)',
    });
  });
});

describe('page-refs (GUP-pinned): may lag inside an invalidation window, never maps a freed page', () => {
  it('holds when invalidate_range_end clears the entries it kept through the window', () => {
    for (const s of [accessMunmap, writeReclaim]) expect(checkOne(s, pinningTableDriver({ name: `pin-ok-${s.name}`, kind: 'page-refs' })).verdict, s.name).toBe('holds');
  });

  it('the same driver declared no-page-refs is caught: its entries outlive invalidate_range_start', () => {
    const r = checkOne(accessMunmap, pinningTableDriver({ name: 'pin-as-npr', kind: 'no-page-refs' }));
    expect(r.violation).toMatchObject({ property: 'device-table', message: 'device table pin-as-npr-pt[0] (no-page-refs) maps pfn 1 but source@0 maps nothing' });
  });

  it('catches an end that drops the reference but leaves the entry', () => {
    const r = checkOne(accessMunmap, pinningTableDriver({ name: 'pin-noclear', kind: 'page-refs', clearInEnd: false }));
    expect(r.violation?.property).toBe('device-table');
    expect(r.violation?.message).toMatch(/^device table pin-noclear-pt\[0\] \(page-refs\) maps pfn 1 (but source@0 maps nothing, and no invalidation window is open|, which has been freed)$/);
  });
});
